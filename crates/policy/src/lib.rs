//! `ssot-policy`: the rule language of `@@policy` and `@@realtime` permissions.
//!
//! A rule string enters as text with its span in the schema file ([`ssot_schema::annotations::Rule`]),
//! is parsed ([`syntax`]), checked against its model and the `@@auth` model ([`check`]),
//! and leaves as a typed [`predicate::Predicate`], or as diagnostics whose spans point
//! inside the rule string. `ssot check` reports them with the schema's own.
//!
//! [`rules::Policies`] holds every rule of a schema compiled once, per model of the API's
//! shape (`ssot-shape`), operation and guarded field; [`eval`] evaluates a predicate in
//! memory, on a row, or on the caller alone before any row is read.

pub mod check;
pub mod eval;
pub mod predicate;
pub mod rules;
pub mod syntax;

use ssot_schema::annotations::Rule;
use ssot_schema::ir::{Model, Schema};
use ssot_schema::{Diagnostic, Span};

/// Compiles one rule of `model`; `source` is the schema text (to place diagnostics).
pub fn compile(
    schema: &Schema,
    model: &Model,
    rule: &Rule,
    source: &str,
) -> Result<predicate::Predicate, Vec<Diagnostic>> {
    let place = Placer::new(source, rule);
    let expr = match syntax::parse(&rule.text) {
        Ok(expr) => expr,
        Err(e) => {
            return Err(vec![Diagnostic::error(
                "E0501",
                format!("this rule does not parse: {}", e.message),
                place.span(e.at),
            )
            .label("here")
            .help("rules read like `published || auth.id == authorId`; see docs/policies.md")]);
        }
    };
    let mut checker = check::Checker::new(schema);
    match checker.predicate(&expr, model) {
        Some(predicate) if checker.problems.is_empty() => Ok(predicate),
        _ => Err(checker
            .problems
            .into_iter()
            .map(|p| {
                let d = Diagnostic::error(p.code, p.message, place.span(p.at)).label("in this rule");
                match p.help {
                    Some(help) => d.help(help),
                    None => d,
                }
            })
            .collect()),
    }
}

/// Every rule of every model (policies and realtime permissions), checked.
pub fn check_schema(schema: &Schema, source: &str) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    for model in &schema.models {
        let rules = model
            .annotations
            .policies
            .iter()
            .map(|p| &p.rule)
            .chain(model.annotations.realtime.iter().flat_map(|r| r.permissions.iter().map(|p| &p.rule)))
            .chain(model.annotations.realtime.iter().filter_map(|r| r.channel.as_ref()));
        for rule in rules {
            if let Err(diagnostics) = compile(schema, model, rule, source) {
                out.extend(diagnostics);
            }
        }
        for service in &model.annotations.services {
            check_service(schema, model, service, source, &mut out);
        }
        if let Some(studio) = model.annotations.auth.as_ref().and_then(|a| a.studio.as_ref()) {
            match compile(schema, model, studio, source) {
                Ok(p) if p.reads_row() => out.push(
                    Diagnostic::error("E0439", "the studio's rule reads a row", studio.span)
                        .label("the studio has no row")
                        .help("the studio's rule reads the caller alone: `auth.role == \"admin\"`"),
                ),
                Ok(_) => {}
                Err(diagnostics) => out.extend(diagnostics),
            }
        }
    }
    out
}

/// A service's filter decides on the row the change log holds, so it cannot reach through
/// relations; an action's rule decides on the caller alone, before any row is read.
fn check_service(
    schema: &Schema,
    model: &Model,
    service: &ssot_schema::annotations::Service,
    source: &str,
    out: &mut Vec<Diagnostic>,
) {
    if let Some(filter) = &service.filter {
        match compile(schema, model, filter, source) {
            Ok(p) if p.reads_relations() => out.push(
                Diagnostic::error("E0436", "a service's filter cannot read related rows", filter.span)
                    .label("reaches through a relation")
                    .help("a filter sees the changed row alone; compare its own fields"),
            ),
            Ok(_) => {}
            Err(diagnostics) => out.extend(diagnostics),
        }
    }
    for action in &service.actions {
        match compile(schema, model, &action.rule, source) {
            Ok(p) if p.reads_row() => out.push(
                Diagnostic::error(
                    "E0437",
                    format!("the rule of action `{}` reads a row", action.name),
                    action.rule.span,
                )
                .label("an action has no row")
                .help("an action's rule reads the caller alone: `auth != null`, `auth.role == \"admin\"`"),
            ),
            Ok(_) => {}
            Err(diagnostics) => out.extend(diagnostics),
        }
    }
}

/// Maps offsets in a rule's text (escapes resolved) to spans in the schema file.
struct Placer {
    /// For each byte offset of the text, the file offset it came from (one more entry:
    /// the end).
    offsets: Vec<usize>,
}

impl Placer {
    fn new(source: &str, rule: &Rule) -> Placer {
        let raw = source.get(rule.span.lo()..rule.span.hi()).unwrap_or("");
        let mut offsets = Vec::with_capacity(rule.text.len() + 1);
        let mut chars = raw.char_indices().peekable();
        while let Some((i, c)) = chars.next() {
            let start = rule.span.lo() + i;
            let produced = if c == '\\' {
                // An escape makes one character of two (or more) in the file.
                match chars.next() {
                    Some((_, escaped)) => escaped.len_utf8(),
                    None => 1,
                }
            } else {
                c.len_utf8()
            };
            offsets.extend(std::iter::repeat_n(start, produced));
        }
        offsets.push(rule.span.hi());
        Placer { offsets }
    }

    fn span(&self, at: std::ops::Range<usize>) -> Span {
        let last = self.offsets.len() - 1;
        let lo = self.offsets[at.start.min(last)];
        let hi = self.offsets[at.end.min(last)].max(lo);
        Span::new(lo, if hi == lo && lo < self.offsets[last] { lo + 1 } else { hi })
    }
}

#[cfg(test)]
mod tests {
    fn diagnostics(rule: &str) -> Vec<String> {
        let source = format!(
            "datasource db {{\n  provider = \"sqlite\"\n  url = \"file:x.db\"\n}}\n\n/// @@auth(\"JWT\")\nmodel User {{\n  id String @id\n  email String @unique\n  password String\n}}\n\n/// @@realtime(channel: \"{rule}\")\nmodel Room {{\n  id Int @id\n  ownerId String\n}}\n"
        );
        let checked = ssot_schema::check(&source);
        assert!(!checked.has_errors(), "{:?}", checked.diagnostics);
        super::check_schema(&checked.schema, &source).into_iter().map(|d| d.message).collect()
    }

    #[test]
    fn channel_rules_are_checked_like_every_rule() {
        assert_eq!(diagnostics("ownerId == auth.id"), Vec::<String>::new());
        let errors = diagnostics("members.some(userId == auth.id)");
        assert!(errors.iter().any(|e| e.contains("members")), "{errors:?}");
    }
}
