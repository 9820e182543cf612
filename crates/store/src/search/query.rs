//! The search language users type, parsed in Rust: words (all must match), `"phrases"`,
//! `-word` and `-"phrase"` exclusions, and the last word matched as a prefix while it is
//! being typed (the query ends inside it). Any other character separates words, so
//! nothing typed reaches FTS5's or `tsquery`'s syntax: the match text each engine gets
//! is built here from the words alone, each quoted ([`Query::fts5`], [`Query::tsquery`]).

/// The longest query, in characters, and the most words one may hold.
pub const MAX_CHARS: usize = 256;
pub const MAX_WORDS: usize = 16;

/// A parsed query: its terms in the order typed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Query {
    pub terms: Vec<Term>,
}

/// One word or phrase: its words lower-cased (several for a phrase), whether it excludes
/// rows, and whether its (single) word is a prefix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Term {
    pub words: Vec<String>,
    pub exclude: bool,
    pub prefix: bool,
}

/// Why a query cannot be run: shown to the client as a `400` with the code `invalid_search`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum QueryError {
    #[error("the search has no words")]
    Empty,
    #[error("a quote (\") is not closed")]
    Unterminated,
    #[error("the search only excludes words: add a word to look for")]
    OnlyExclusions,
    #[error("the search is longer than {MAX_CHARS} characters")]
    TooLong,
    #[error("the search has more than {MAX_WORDS} words")]
    TooManyWords,
}

/// A character words are made of: letters and digits (FTS5's `unicode61` and
/// PostgreSQL's parser also cut words at everything else).
fn is_word(c: char) -> bool {
    c.is_alphanumeric()
}

/// The words of `text`, lower-cased.
pub fn words(text: &str) -> impl Iterator<Item = String> + '_ {
    text.split(|c: char| !is_word(c)).filter(|w| !w.is_empty()).map(str::to_lowercase)
}

impl Query {
    pub fn parse(text: &str) -> Result<Query, QueryError> {
        if text.chars().count() > MAX_CHARS {
            return Err(QueryError::TooLong);
        }
        let chars: Vec<char> = text.chars().collect();
        let mut terms = Vec::new();
        let mut i = 0;
        // Whether the next term starts a new one (after a space or at the start): only
        // there does `-` exclude (`e-mail` is two words, not an exclusion).
        let mut at_start = true;
        while i < chars.len() {
            let c = chars[i];
            if c.is_whitespace() {
                at_start = true;
                i += 1;
                continue;
            }
            let exclude = at_start && c == '-' && chars.get(i + 1).is_some_and(|&n| n == '"' || is_word(n));
            let start = if exclude { i + 1 } else { i };
            if chars[start] == '"' {
                let Some(len) = chars[start + 1..].iter().position(|&c| c == '"') else {
                    return Err(QueryError::Unterminated);
                };
                let inner: String = chars[start + 1..start + 1 + len].iter().collect();
                let words: Vec<String> = words(&inner).collect();
                if !words.is_empty() {
                    terms.push(Term { words, exclude, prefix: false });
                }
                i = start + len + 2;
                at_start = false;
                continue;
            }
            if !is_word(chars[start]) {
                // Punctuation separates words (and `-` after it excludes nothing).
                at_start = false;
                i = start + 1;
                continue;
            }
            let end = chars[start..].iter().position(|&c| !is_word(c)).map_or(chars.len(), |n| start + n);
            let word: String = chars[start..end].iter().collect::<String>().to_lowercase();
            terms.push(Term { words: vec![word], exclude, prefix: false });
            i = end;
            at_start = false;
        }
        // The query ends inside its last word: the user is still typing it. A single
        // character is matched as a word (as a prefix it would match a good part of the
        // vocabulary, for no better answer).
        if let (Some(last), Some(&end)) = (terms.last_mut(), chars.last()) {
            if !last.exclude && last.words.len() == 1 && is_word(end) && last.words[0].chars().nth(1).is_some() {
                last.prefix = true;
            }
        }
        if terms.is_empty() {
            return Err(QueryError::Empty);
        }
        if terms.iter().map(|t| t.words.len()).sum::<usize>() > MAX_WORDS {
            return Err(QueryError::TooManyWords);
        }
        if terms.iter().all(|t| t.exclude) {
            return Err(QueryError::OnlyExclusions);
        }
        Ok(Query { terms })
    }

    pub fn positive(&self) -> impl Iterator<Item = &Term> {
        self.terms.iter().filter(|t| !t.exclude)
    }

    pub fn negative(&self) -> impl Iterator<Item = &Term> {
        self.terms.iter().filter(|t| t.exclude)
    }

    /// The FTS5 match text over `columns` (quoted column names): `{"a" "b"} : ("x" AND
    /// "y" *) NOT "z"`. Every word is quoted (words hold letters and digits only).
    pub fn fts5(&self, columns: &[String]) -> String {
        let term = |t: &Term| {
            let quoted: Vec<String> = t.words.iter().map(|w| format!("\"{w}\"")).collect();
            let mut out = quoted.join(" + ");
            if t.prefix {
                out.push_str(" *");
            }
            out
        };
        let filter = format!("{{{}}} : ", columns.join(" "));
        let positive: Vec<String> = self.positive().map(term).collect();
        let mut out = format!("{filter}({})", positive.join(" AND "));
        for t in self.negative() {
            out.push_str(&format!(" NOT {filter}({})", term(t)));
        }
        out
    }

    /// The `tsquery` text (for `to_tsquery('simple', ...)`): `'x' & 'y':* & !('a' <-> 'b')`;
    /// with `positive_only`, the exclusions are left out (a necessary condition).
    pub fn tsquery(&self, positive_only: bool) -> String {
        let term = |t: &Term| {
            let quoted: Vec<String> = t.words.iter().map(|w| format!("'{w}'")).collect();
            let mut out = quoted.join(" <-> ");
            if t.prefix {
                out.push_str(":*");
            }
            if t.words.len() > 1 {
                out = format!("({out})");
            }
            out
        };
        let mut parts: Vec<String> = self.positive().map(term).collect();
        if !positive_only {
            parts.extend(self.negative().map(|t| format!("!{}", term(t))));
        }
        parts.join(" & ")
    }
}

#[cfg(test)]
mod tests {
    use super::{Query, QueryError, Term};

    fn word(w: &str, exclude: bool, prefix: bool) -> Term {
        Term { words: vec![w.into()], exclude, prefix }
    }

    #[test]
    fn words_phrases_exclusions_and_prefix() {
        let q = Query::parse("Rust \"async io\" -java -\"old news\" tok").unwrap();
        assert_eq!(
            q.terms,
            vec![
                word("rust", false, false),
                Term { words: vec!["async".into(), "io".into()], exclude: false, prefix: false },
                word("java", true, false),
                Term { words: vec!["old".into(), "news".into()], exclude: true, prefix: false },
                word("tok", false, true),
            ]
        );
        assert!(!Query::parse("rust ").unwrap().terms[0].prefix);
        assert!(!Query::parse("rust.").unwrap().terms[0].prefix);
    }

    #[test]
    fn punctuation_separates_and_never_reaches_the_engines() {
        let q = Query::parse("e-mail NEAR(a b) x* ' OR 1=1 -- {col}:y ").unwrap();
        let words: Vec<&str> = q.terms.iter().flat_map(|t| t.words.iter().map(String::as_str)).collect();
        assert_eq!(words, ["e", "mail", "near", "a", "b", "x", "or", "1", "1", "col", "y"]);
        assert!(q.terms.iter().all(|t| !t.exclude));
        assert_eq!(Query::parse("ab").unwrap().fts5(&["\"t\"".into()]), "{\"t\"} : (\"ab\" *)");
        assert_eq!(Query::parse("a").unwrap().fts5(&["\"t\"".into()]), "{\"t\"} : (\"a\")");
        assert_eq!(
            Query::parse("a \"b c\" -d ").unwrap().fts5(&["\"t\"".into(), "\"u\"".into()]),
            "{\"t\" \"u\"} : (\"a\" AND \"b\" + \"c\") NOT {\"t\" \"u\"} : (\"d\")"
        );
        assert_eq!(Query::parse("a \"b c\" -d xy").unwrap().tsquery(false), "'a' & ('b' <-> 'c') & 'xy':* & !'d'");
        assert_eq!(Query::parse("a -d ").unwrap().tsquery(true), "'a'");
    }

    #[test]
    fn errors() {
        assert_eq!(Query::parse(""), Err(QueryError::Empty));
        assert_eq!(Query::parse(" .,; \"\" "), Err(QueryError::Empty));
        assert_eq!(Query::parse("\"open"), Err(QueryError::Unterminated));
        assert_eq!(Query::parse("-a -\"b\""), Err(QueryError::OnlyExclusions));
        assert_eq!(Query::parse(&"a".repeat(257)), Err(QueryError::TooLong));
        assert_eq!(Query::parse(&"a ".repeat(17)), Err(QueryError::TooManyWords));
        assert!(Query::parse(&"a ".repeat(16)).is_ok());
    }
}
