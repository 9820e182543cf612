//! Rendering diagnostics: rustc-style text for people, JSON for editors and CI.

use crate::diagnostic::{Diagnostic, Severity};
use crate::span::{LineIndex, Span};
use annotate_snippets::{Level, Renderer, Snippet};
use serde_json::{json, Value};

/// Widens an empty span to one character (or the last one at the end of the file) and
/// snaps it to character boundaries, so that there is always something to underline.
fn visible(span: Span, source: &str) -> std::ops::Range<usize> {
    let len = source.len();
    let mut start = span.lo().min(len);
    while start > 0 && !source.is_char_boundary(start) {
        start -= 1;
    }
    let mut end = span.hi().clamp(start, len);
    while end < len && !source.is_char_boundary(end) {
        end += 1;
    }
    if start == end {
        match source[start..].chars().next() {
            Some(c) => end = start + c.len_utf8(),
            None => {
                if let Some(c) = source[..start].chars().next_back() {
                    start -= c.len_utf8();
                }
            }
        }
    }
    start..end
}

/// Renders diagnostics in the rustc style:
/// `error[CODE]: message`, `--> file:line:col`, the source line, a caret label, help.
pub fn human(diagnostics: &[Diagnostic], source: &str, path: &str, color: bool) -> String {
    let renderer = if color { Renderer::styled() } else { Renderer::plain() };
    let mut out = String::new();
    for d in diagnostics {
        let level = match d.severity {
            Severity::Error => Level::Error,
            Severity::Warning => Level::Warning,
        };
        let mut snippet = Snippet::source(source)
            .line_start(1)
            .origin(path)
            .fold(true)
            // annotate-snippets 0.11 picks the underline by level: `^` only for errors,
            // `-` for the rest. rustc underlines every primary span with `^` and secondary
            // ones with `-`, so the levels here encode primary/secondary, not severity.
            .annotation(Level::Error.span(visible(d.span, source)).label(&d.label));
        for secondary in &d.secondary {
            // Warning level: a `-` underline, and (unlike info or note) no level prefix.
            snippet =
                snippet.annotation(Level::Warning.span(visible(secondary.span, source)).label(&secondary.message));
        }
        let mut message = level.title(&d.message).id(d.code).snippet(snippet);
        if let Some(help) = &d.help {
            message = message.footer(Level::Help.title(help));
        }
        out.push_str(&renderer.render(message).to_string());
        out.push_str("\n\n");
    }
    let errors = diagnostics.iter().filter(|d| d.is_error()).count();
    let warnings = diagnostics.len() - errors;
    if errors > 0 {
        out.push_str(&format!("error: {path} is invalid: {errors} error(s), {warnings} warning(s)\n"));
    } else if warnings > 0 {
        out.push_str(&format!("{path} is valid, with {warnings} warning(s)\n"));
    }
    out
}

/// The JSON form: one object per file with positions as 1-based lines and columns.
pub fn json(diagnostics: &[Diagnostic], source: &str, path: &str) -> Value {
    let index = LineIndex::new(source);
    let position = |span: Span| {
        let (line, column) = index.line_col(span.lo());
        let (end_line, end_column) = index.line_col(span.hi());
        json!({
            "start": span.lo(), "end": span.hi(),
            "line": line, "column": column, "endLine": end_line, "endColumn": end_column,
        })
    };
    let items: Vec<Value> = diagnostics
        .iter()
        .map(|d| {
            json!({
                "severity": d.severity,
                "code": d.code,
                "message": d.message,
                "label": d.label,
                "help": d.help,
                "span": position(d.span),
                "secondary": d.secondary.iter().map(|s| json!({"message": s.message, "span": position(s.span)})).collect::<Vec<_>>(),
            })
        })
        .collect();
    let errors = diagnostics.iter().filter(|d| d.is_error()).count();
    json!({
        "file": path,
        "valid": errors == 0,
        "errors": errors,
        "warnings": diagnostics.len() - errors,
        "diagnostics": items,
    })
}
