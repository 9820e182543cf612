//! ssot's annotations: `@@policy`, `@@realtime`, `@@auth`, `@@search` and `@@service`,
//! written in `///` doc comments above a model or inside its body, on one line or
//! continued over several.
//!
//! Prisma sees these lines as documentation, so the schema stays a valid Prisma schema.
//! Here they are cut out of the documentation, parsed with the value grammar in
//! [`value`], and checked into typed IR ([`Annotations`]) against the model they sit on.

mod options;
mod service;
mod typed;
pub mod value;

use crate::diagnostic::Diagnostics;
use crate::ir::Model;
use crate::span::Span;
use crate::syntax::ast::{DocLine, ModelAst};
use crate::syntax::lexer::{self, TokenKind};
use serde::Serialize;
pub use service::{Action, Service, Setting};
pub use typed::{Auth, Operation, Policy, Realtime, RealtimeEvent, Rule, Search, SearchEngine, SubscribeKind};
use value::{RawAnnotation, ValueParser};

/// Every annotation on one model, typed.
#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Annotations {
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub policies: Vec<Policy>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub realtime: Option<Realtime>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub auth: Option<Auth>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub search: Option<Search>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub services: Vec<Service>,
}

/// The known annotation names, for typo suggestions.
pub const NAMES: [&str; 5] = ["policy", "realtime", "auth", "search", "service"];

fn is_annotation_start(line: &DocLine) -> bool {
    line.text.trim_start().starts_with("@@")
}

/// The documentation text of doc lines, without annotation lines.
// Inlined: nearly every field and model has no doc lines, and the call cost more than that.
#[inline(always)]
pub(crate) fn documentation(lines: &[DocLine]) -> Option<String> {
    if lines.is_empty() {
        return None;
    }
    documentation_of(lines)
}

fn documentation_of(lines: &[DocLine]) -> Option<String> {
    // Most documented items carry no annotation: their text is joined straight into one
    // string, without first grouping the lines into lists.
    if !lines.iter().any(is_annotation_start) {
        return join_doc_lines(lines.iter());
    }
    let lines: Vec<&DocLine> = lines.iter().collect();
    let groups = group_lines(&lines);
    join_doc_lines(groups.iter().filter_map(|group| match group {
        Group::Doc(line) => Some(*line),
        Group::Annotation(_) => None,
    }))
}

/// Doc lines' text (one leading space dropped from each) joined by line ends and trimmed,
/// built in one allocation.
fn join_doc_lines<'a>(lines: impl Iterator<Item = &'a DocLine<'a>> + Clone) -> Option<String> {
    let text = |line: &'a DocLine| line.text.strip_prefix(' ').unwrap_or(line.text);
    let len: usize = lines.clone().map(|line| text(line).len() + 1).sum();
    let mut joined = String::with_capacity(len);
    for (i, line) in lines.enumerate() {
        if i > 0 {
            joined.push('\n');
        }
        joined.push_str(text(line));
    }
    let trimmed = joined.trim();
    if trimmed.is_empty() {
        return None;
    }
    if trimmed.len() == joined.len() {
        return Some(joined);
    }
    Some(trimmed.to_string())
}

enum Group<'a> {
    Doc(&'a DocLine<'a>),
    Annotation(Vec<&'a DocLine<'a>>),
}

/// Splits doc lines into documentation and annotations. An annotation starts at a line
/// beginning with `@@` and continues while its brackets are open.
fn group_lines<'a>(lines: &[&'a DocLine]) -> Vec<Group<'a>> {
    let mut groups = Vec::new();
    let mut iter = lines.iter().copied().peekable();
    while let Some(line) = iter.next() {
        if !is_annotation_start(line) {
            groups.push(Group::Doc(line));
            continue;
        }
        let mut members = vec![line];
        let mut depth = bracket_depth(line.text);
        while depth > 0 {
            match iter.peek() {
                Some(next) if !is_annotation_start(next) => {
                    depth += bracket_depth(next.text);
                    members.push(next);
                    iter.next();
                }
                _ => break,
            }
        }
        groups.push(Group::Annotation(members));
    }
    groups
}

/// Net count of opening brackets on a line, ignoring those inside strings.
fn bracket_depth(text: &str) -> i32 {
    let mut depth = 0;
    let mut in_string = false;
    let mut escaped = false;
    for c in text.chars() {
        if in_string {
            match (escaped, c) {
                (true, _) => escaped = false,
                (false, '\\') => escaped = true,
                (false, '"') => in_string = false,
                _ => {}
            }
            continue;
        }
        match c {
            '"' => in_string = true,
            '(' | '[' | '{' => depth += 1,
            ')' | ']' | '}' => depth -= 1,
            _ => {}
        }
    }
    depth
}

/// All doc lines that belong to a model, in source order: above it, on its fields and
/// block attributes, and trailing inside its body.
fn model_doc_lines<'a>(ast: &'a ModelAst<'a>) -> Vec<&'a DocLine<'a>> {
    let mut lines: Vec<&DocLine> = ast.doc.iter().collect();
    lines.extend(ast.fields.iter().flat_map(|f| f.doc.iter()));
    lines.extend(ast.attributes.iter().flat_map(|a| a.doc.iter()));
    lines.extend(ast.inner_doc.iter());
    lines.sort_by_key(|l| l.span.lo());
    lines
}

/// Parses one annotation from its doc lines. Each line is lexed on its own, with its
/// real offset, so every token and diagnostic points into the schema file.
fn parse(source: &str, lines: &[&DocLine], diagnostics: &mut Diagnostics) -> Option<RawAnnotation> {
    let mut tokens = Vec::new();
    for line in lines {
        let text = line.span.slice(source);
        tokens
            .extend(lexer::lex(text, line.span.lo(), diagnostics).into_iter().filter(|t| t.kind != TokenKind::Newline));
    }
    if tokens.iter().any(|t| t.kind == TokenKind::Error) {
        return None;
    }
    ValueParser::new(source, tokens, diagnostics).annotation()
}

/// Annotations in the doc comments of enums, enum values, datasources and generators
/// have nothing to apply to: say so rather than drop them silently.
pub(crate) fn warn_misplaced(ast: &crate::syntax::ast::SchemaAst, diagnostics: &mut Diagnostics) {
    use crate::syntax::ast::Item;
    for item in ast.items {
        let (what, lines): (&str, Vec<&DocLine>) = match item {
            Item::Enum(e) => ("an enum", e.doc.iter().chain(e.values.iter().flat_map(|v| v.doc)).collect()),
            Item::Config(c) => ("a datasource or generator", c.doc.iter().collect()),
            Item::Model(_) => continue,
        };
        for line in lines.into_iter().filter(|l| is_annotation_start(l)) {
            diagnostics
                .warning(
                    "W0402",
                    format!("annotations on {what} have no effect; it is kept as documentation"),
                    line.span,
                )
                .label("not on a model")
                .help("ssot annotations belong above a model or inside its body");
        }
    }
}

/// Reads and checks the annotations of every model; `@@auth` may appear on one model only.
pub(crate) fn attach(source: &str, asts: &[&ModelAst], models: &mut [Model], diagnostics: &mut Diagnostics) {
    let mut auth_seen: Option<(crate::ir::Text, Span)> = None;
    for (ast, model) in asts.iter().zip(models.iter_mut()) {
        let lines = model_doc_lines(ast);
        for group in group_lines(&lines) {
            let Group::Annotation(members) = group else {
                continue;
            };
            let Some(raw) = parse(source, &members, diagnostics) else {
                continue;
            };
            if raw.name == "auth" {
                match &auth_seen {
                    Some((first_model, first_span)) if *first_model != model.name => {
                        diagnostics
                            .error(
                                "E0430",
                                format!("`@@auth` is on both `{first_model}` and `{}`", model.name),
                                raw.span,
                            )
                            .label("second user model")
                            .secondary(*first_span, "first `@@auth` here")
                            .help("one model holds the users; keep `@@auth` on that one");
                        continue;
                    }
                    Some(_) => {}
                    None => auth_seen = Some((model.name.clone(), raw.span)),
                }
            }
            typed::apply(&raw, model, diagnostics);
        }
    }
    unique_service_names(models, diagnostics);
}

/// A service's name keys its cursor, its dead letters and its admin routes: one per schema.
fn unique_service_names(models: &[Model], diagnostics: &mut Diagnostics) {
    let mut seen: Vec<(&str, Span)> = Vec::new();
    for service in models.iter().flat_map(|m| &m.annotations.services) {
        match seen.iter().find(|(name, _)| *name == service.name) {
            Some((_, first)) => {
                diagnostics
                    .error("E0435", format!("two services are named `{}`", service.name), service.span)
                    .label("second service of that name")
                    .secondary(*first, "first here")
                    .help("give each `@@service` its own `name:`");
            }
            None => seen.push((&service.name, service.span)),
        }
    }
    // `POST /api/actions/{name}`: an action's name is unique across services.
    let mut actions: Vec<(&str, Span)> = Vec::new();
    for service in models.iter().flat_map(|m| &m.annotations.services) {
        for action in &service.actions {
            match actions.iter().find(|(name, _)| *name == action.name) {
                Some((_, first)) => {
                    diagnostics
                        .error("E0438", format!("two actions are named `{}`", action.name), action.rule.span)
                        .label("second action of that name")
                        .secondary(*first, "first here")
                        .help("actions are called as `POST /api/actions/{name}`: give each its own name");
                }
                None => actions.push((&action.name, action.rule.span)),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(text: &str, start: usize) -> DocLine<'_> {
        DocLine { text, span: Span::new(start, start + text.len()) }
    }

    #[test]
    fn groups_multi_line_annotations() {
        let lines = vec![
            line(" A post.", 0),
            line(" @@realtime(", 10),
            line("   subscribe: [\"list\"],", 30),
            line(" )", 60),
            line(" @@policy(\"read\", rule: \"a(\")", 70),
            line(" more docs", 100),
        ];
        let refs: Vec<&DocLine> = lines.iter().collect();
        let groups = group_lines(&refs);
        let shape: Vec<usize> = groups
            .iter()
            .map(|g| match g {
                Group::Doc(_) => 0,
                Group::Annotation(m) => m.len(),
            })
            .collect();
        assert_eq!(shape, vec![0, 3, 1, 0]);
        assert_eq!(documentation(&lines).as_deref(), Some("A post.\nmore docs"));
    }

    #[test]
    fn bracket_depth_ignores_strings() {
        assert_eq!(bracket_depth("@@x(\"(((\""), 1);
        assert_eq!(bracket_depth("a: { b: [1] }"), 0);
        assert_eq!(bracket_depth(r#""\")" )"#), -1);
    }
}
