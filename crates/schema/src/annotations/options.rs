//! Reading an annotation's options: the one place that reports unknown, duplicate and
//! missing options, and the value shapes (strings, name lists, rules, choices).

use super::typed::Rule;
use super::value::{Arg, RawAnnotation, Spanned, Value};
use crate::diagnostic::Diagnostics;
use crate::span::Span;

/// Named and positional arguments of one annotation, checked against what it accepts.
pub(super) struct Args<'a> {
    annotation: &'a RawAnnotation,
    pub(super) values: Vec<(&'static str, &'a Spanned)>,
}

impl<'a> Args<'a> {
    pub(super) fn read(
        annotation: &'a RawAnnotation,
        accepted: &[&'static str],
        positional: &[&'static str],
        d: &mut Diagnostics,
    ) -> Self {
        let mut values: Vec<(&'static str, &'a Spanned)> = Vec::new();
        let mut next = positional.iter();
        let shown = format!("@@{}", annotation.name);
        for Arg { name, value } in &annotation.args {
            let key = match name {
                Some((name, span)) => match accepted.iter().find(|a| *a == name) {
                    Some(known) => *known,
                    None => {
                        d.error("E0410", format!("`{shown}` has no option `{name}`"), *span)
                            .label("unknown option")
                            .suggest(name, accepted.iter().copied())
                            .help(format!("`{shown}` takes {}", list(accepted)));
                        continue;
                    }
                },
                None => match next.next() {
                    Some(key) => *key,
                    None => {
                        d.error("E0411", format!("too many positional arguments for `{shown}`"), value.span)
                            .label("unexpected argument")
                            .help(format!("name it: `{shown}` takes {}", list(accepted)));
                        continue;
                    }
                },
            };
            if let Some((_, first)) = values.iter().find(|(k, _)| *k == key) {
                d.error("E0412", format!("option `{key}` is given twice in `{shown}`"), value.span)
                    .label("duplicate")
                    .secondary(first.span, "first given here");
                continue;
            }
            values.push((key, value));
        }
        Args { annotation, values }
    }

    pub(super) fn get(&self, key: &str) -> Option<&'a Spanned> {
        self.values.iter().find(|(k, _)| *k == key).map(|(_, v)| *v)
    }

    pub(super) fn required(&self, key: &str, example: &str, d: &mut Diagnostics) -> Option<&'a Spanned> {
        let value = self.get(key);
        if value.is_none() {
            d.error("E0413", format!("`@@{}` needs `{key}`", self.annotation.name), self.annotation.span)
                .label(format!("missing `{key}`"))
                .help(format!("for example: {example}"));
        }
        value
    }
}

pub(super) fn list(names: &[&str]) -> String {
    names.iter().map(|n| format!("`{n}`")).collect::<Vec<_>>().join(", ")
}

pub(super) fn expect_str<'a>(value: &'a Spanned, what: &str, d: &mut Diagnostics) -> Option<&'a str> {
    match &value.value {
        Value::Str(s) => Some(s),
        _ => {
            d.error("E0414", format!("{what} must be a string"), value.span)
                .label(format!("found {}", value.describe()));
            None
        }
    }
}

/// A list of strings (a single string counts as a one-element list); bare names are
/// accepted too, so `fields: [title]` and `fields: ["title"]` mean the same.
pub(super) fn expect_names<'a>(value: &'a Spanned, what: &str, d: &mut Diagnostics) -> Vec<(&'a str, Span)> {
    let items: Vec<&Spanned> = match &value.value {
        Value::List(items) => items.iter().collect(),
        _ => vec![value],
    };
    let mut out = Vec::new();
    for item in items {
        match &item.value {
            Value::Str(s) | Value::Name(s) => out.push((s.as_str(), item.inner_span())),
            _ => {
                d.error("E0414", format!("{what} must be a list of strings"), item.span)
                    .label(format!("found {}", item.describe()));
            }
        }
    }
    out
}

pub(super) fn rule(value: &Spanned, what: &str, d: &mut Diagnostics) -> Option<Rule> {
    let text = expect_str(value, what, d)?;
    if text.trim().is_empty() {
        d.error("E0415", format!("{what} is empty"), value.span)
            .label("write a rule such as \"authenticated\" or \"auth.id == authorId\"");
        return None;
    }
    Some(Rule { text: text.to_string(), span: value.inner_span() })
}

pub(super) fn pick<T: Copy>(
    name: &str,
    span: Span,
    options: &[(&str, T)],
    what: &str,
    d: &mut Diagnostics,
) -> Option<T> {
    if let Some((_, v)) = options.iter().find(|(n, _)| *n == name) {
        return Some(*v);
    }
    let names: Vec<&str> = options.iter().map(|(n, _)| *n).collect();
    d.error("E0416", format!("unknown {what} `{name}`"), span)
        .label(format!("expected {}", list(&names)))
        .suggest(name, names.iter().copied());
    None
}

/// `fields: [...]` names something that is not a field of `model` (`E0420`), with the nearest name.
pub(super) fn unknown_field(name: &str, span: Span, model: &crate::ir::Model, d: &mut Diagnostics) {
    d.error("E0420", format!("`fields` names `{name}`, which is not a field of `{}`", model.name), span)
        .label("unknown field")
        .suggest(name, model.fields.iter().map(|f| f.name.as_str()));
}
