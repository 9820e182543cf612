//! Checking an attribute's arguments against what it accepts: the one place that
//! reports unknown, duplicate and surplus arguments.

use crate::diagnostic::Diagnostics;
use crate::syntax::ast::{Argument, Attribute, Expr};

/// The arguments of one attribute, by name (positional ones under the name they stand for).
pub(crate) struct Args<'a> {
    values: Vec<(&'static str, &'a Argument<'a>)>,
}

impl<'a> Args<'a> {
    pub fn get(&self, name: &str) -> Option<&'a Expr<'a>> {
        self.values.iter().find(|(n, _)| *n == name).map(|(_, a)| &a.value)
    }
}

/// Reads `attribute`'s arguments. `accepted` lists the names it takes; `positional` the
/// names that positional arguments stand for, in order (`@relation("name")` is `name`).
pub(crate) fn read<'a>(
    attribute: &'a Attribute,
    prefix: &str,
    accepted: &[&'static str],
    positional: &[&'static str],
    diagnostics: &mut Diagnostics,
) -> Args<'a> {
    // Sized up front: a first push that allocates costs more than the allocation itself.
    let mut values: Vec<(&'static str, &'a Argument)> = Vec::with_capacity(attribute.args.len());
    let mut next_positional = positional.iter();
    // Only needed for messages: built when one is reported.
    let shown = || format!("{prefix}{}", attribute.name.name);
    for argument in attribute.args {
        if let (Expr::Empty(_), Some(name)) = (&argument.value, &argument.name) {
            diagnostics
                .error("E0022", format!("argument `{}` has no value", name.name), argument.span)
                .label("expected a value after `:`");
            continue;
        }
        let name = match &argument.name {
            Some(ident) => match accepted.iter().find(|a| **a == ident.name) {
                Some(known) => *known,
                None => {
                    let mut report = diagnostics
                        .error("E0201", format!("`{}` has no argument `{}`", shown(), ident.name), ident.span)
                        .label("unknown argument")
                        .suggest(ident.name, accepted.iter().copied());
                    if accepted.is_empty() {
                        report = report.help(format!("`{}` takes no arguments", shown()));
                    }
                    drop(report);
                    continue;
                }
            },
            None => match next_positional.next() {
                Some(name) => *name,
                None => {
                    let help = match positional.len() {
                        0 if accepted.is_empty() => format!("`{}` takes no arguments", shown()),
                        0 => format!("name the argument: `{}` takes {}", shown(), list(accepted)),
                        _ => format!("`{}` takes {} positional argument(s)", shown(), positional.len()),
                    };
                    diagnostics
                        .error("E0202", format!("too many arguments for `{}`", shown()), argument.span)
                        .label("unexpected argument")
                        .help(help);
                    continue;
                }
            },
        };
        if let Some((_, first)) = values.iter().find(|(n, _)| *n == name) {
            diagnostics
                .error("E0203", format!("argument `{name}` is given twice in `{}`", shown()), argument.span)
                .label("duplicate argument")
                .secondary(first.span, "first given here");
            continue;
        }
        values.push((name, argument));
    }
    Args { values }
}

fn list(names: &[&str]) -> String {
    names.iter().map(|n| format!("`{n}`")).collect::<Vec<_>>().join(", ")
}

/// One element of a `fields: [...]`-style list: a field name, or a name with options
/// (`@@index([title(ops: raw("..."))])`). Anything else is reported and gives `None`.
/// Callers walk the list themselves rather than collect the names first.
pub(crate) fn field_name<'a>(
    item: &'a Expr,
    what: &str,
    diagnostics: &mut Diagnostics,
) -> Option<(&'a str, crate::Span)> {
    match item {
        Expr::Path(name, span) => Some((*name, *span)),
        Expr::Call { name, .. } => Some((name.name, name.span)),
        other => {
            diagnostics
                .error("E0204", format!("{what} must list field names"), other.span())
                .label(format!("expected a field name, found {}", other.describe()));
            None
        }
    }
}

/// A string argument; reports anything else.
pub(crate) fn string<'a>(expr: &'a Expr, what: &str, diagnostics: &mut Diagnostics) -> Option<&'a str> {
    match expr {
        Expr::Str(s, _) => Some(s),
        other => {
            diagnostics
                .error("E0205", format!("{what} must be a string"), other.span())
                .label(format!("expected a string, found {}", other.describe()));
            None
        }
    }
}
