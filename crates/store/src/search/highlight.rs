//! Highlighted snippets (`meta.highlights`), computed in Rust from a row's text, the same on
//! both databases: the text around the first match (about [`CONTEXT`] words on each
//! side, `…` where it is cut), HTML-escaped, each matching word in `<mark>`…`</mark>`, so
//! a page may put it in `innerHTML`. Only the visible searched fields are read.

use super::query::Term;
use super::Search;
use crate::conn::{Row, Value};
use crate::entity::Entities;
use serde_json::{Map, Value as Json};

/// Words kept on each side of the first match.
pub const CONTEXT: usize = 10;

/// The snippets of one row: `{field: snippet}` for each visible searched field that matches.
pub fn row(es: &Entities, model: usize, search: &Search, raw: &Row) -> Json {
    let mut out = Map::new();
    let Some((_, fields)) = &es.storage[model].search else { return Json::Object(out) };
    for &i in &search.visible {
        let Some(&field) = fields.get(i) else { continue };
        if let Some(Value::Text(text)) = raw.get(field) {
            if let Some(snippet) = snippet(text, &search.query.terms) {
                out.insert(es.entities[model].fields[field].name.clone(), Json::String(snippet));
            }
        }
    }
    Json::Object(out)
}

/// The words of `text` with their byte ranges.
fn tokens(text: &str) -> Vec<(usize, usize, String)> {
    let mut out = Vec::new();
    let mut start = None;
    for (i, c) in text.char_indices().chain(std::iter::once((text.len(), ' '))) {
        match (c.is_alphanumeric(), start) {
            (true, None) => start = Some(i),
            (false, Some(s)) => {
                out.push((s, i, text[s..i].to_lowercase()));
                start = None;
            }
            _ => {}
        }
    }
    out
}

/// `text` around its first match with every match marked, or `None` without a match.
pub fn snippet(text: &str, terms: &[Term]) -> Option<String> {
    let tokens = tokens(text);
    let mut marked = vec![false; tokens.len()];
    for term in terms.iter().filter(|t| !t.exclude) {
        let n = term.words.len();
        for start in 0..tokens.len().saturating_sub(n - 1) {
            let hit = term.words.iter().enumerate().all(|(k, w)| {
                let token = &tokens[start + k].2;
                if term.prefix && k == n - 1 {
                    token.starts_with(w.as_str())
                } else {
                    token == w
                }
            });
            if hit {
                marked[start..start + n].iter_mut().for_each(|m| *m = true);
            }
        }
    }
    let first = marked.iter().position(|&m| m)?;
    let from = first.saturating_sub(CONTEXT);
    let last = marked[first..].iter().take_while(|&&m| m).count() + first;
    let to = (last + CONTEXT).min(tokens.len());
    let mut out = String::new();
    let mut at = if from == 0 { 0 } else { tokens[from].0 };
    if from > 0 {
        out.push('…');
    }
    for (k, (start, end, _)) in tokens.iter().enumerate().take(to).skip(from) {
        escape(&mut out, &text[at..*start]);
        if marked[k] {
            out.push_str("<mark>");
            escape(&mut out, &text[*start..*end]);
            out.push_str("</mark>");
        } else {
            escape(&mut out, &text[*start..*end]);
        }
        at = *end;
    }
    if to == tokens.len() {
        escape(&mut out, &text[at..]);
    } else {
        out.push('…');
    }
    Some(out)
}

fn escape(out: &mut String, text: &str) {
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::snippet;
    use crate::search::Query;

    fn terms(q: &str) -> Vec<crate::search::Term> {
        Query::parse(q).unwrap().terms
    }

    #[test]
    fn marks_escapes_and_cuts() {
        assert_eq!(
            snippet("Rust & <b>async</b>", &terms("async ")).unwrap(),
            "Rust &amp; &lt;b&gt;<mark>async</mark>&lt;/b&gt;"
        );
        assert_eq!(snippet("nothing here", &terms("async ")), None);
        let long: Vec<String> = (0..40).map(|i| format!("w{i}")).collect();
        let text = long.join(" ");
        let s = snippet(&text, &terms("w20 ")).unwrap();
        assert!(s.starts_with("…w10 ") && s.ends_with(" w30…"), "{s}");
        assert!(s.contains("<mark>w20</mark>"));
        assert_eq!(snippet("Typing typ", &terms("typ")).unwrap(), "<mark>Typing</mark> <mark>typ</mark>");
        assert_eq!(snippet("a b c b", &terms("\"c b\" ")).unwrap(), "a b <mark>c</mark> <mark>b</mark>");
        assert_eq!(snippet("b a", &terms("\"a b\" ")), None);
    }
}
