//! The lexer shared by the Prisma grammar and the annotation grammar.
//!
//! Hand-written rather than generated: the token set is small, and owning it lets us
//! keep newlines (Prisma is line-oriented), keep `///` doc comments as tokens, and turn
//! every malformed character into an error token instead of stopping.

use std::borrow::Cow;

use super::letters::is_letter;
use super::scan::{ascii_name_end, is_wide_blank, line_end, skip_blanks};
use crate::diagnostic::{Diagnostic, Diagnostics};
use crate::span::Span;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenKind {
    /// A letter or `_`, then letters, digits, `_` and `-` (letters in any script).
    Ident,
    /// `-?[0-9]+(\.[0-9]+)?`
    Number,
    /// A double-quoted string, quotes included in the span.
    Str,

    /// `/// ...`: the span covers the text after the three slashes.
    DocComment,
    Newline,
    LBrace,
    RBrace,
    /// A `{` where a value is expected (after `:`, `=`, `(`, `[` or `,` on the same line):
    /// an object, as in a partial index's `where: { deletedAt: null }`, not a block.
    ObjectOpen,
    /// The `}` that closes an [`TokenKind::ObjectOpen`] on the same line.
    ObjectClose,
    LParen,
    RParen,
    LBracket,
    RBracket,
    Comma,
    Colon,
    Equals,
    Question,
    Dot,
    At,
    AtAt,
    /// Operators that only the annotation grammar uses, kept as one token kind.
    Other,
    /// A character no grammar accepts; already reported.
    Error,
    /// Text after a block's `{` on the same line, which Prisma does not read.
    Skipped,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Token {
    pub kind: TokenKind,
    pub span: Span,
}

/// Splits `source[range]` into tokens; offsets in spans are absolute (`base` is added).
pub fn lex(source: &str, base: usize, diagnostics: &mut Diagnostics) -> Vec<Token> {
    lex_mode(source, base, Mode::Values, diagnostics)
}

/// A whole Prisma schema: as in Prisma's grammar, whatever follows a block's `{` on its
/// line is not read; it becomes one [`TokenKind::Skipped`] token.
pub fn lex_schema(source: &str, diagnostics: &mut Diagnostics) -> Vec<Token> {
    lex_mode(source, 0, Mode::Schema, diagnostics)
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    Schema,
    /// Annotation text, where `{` opens an object.
    Values,
}

fn lex_mode(source: &str, base: usize, mode: Mode, diagnostics: &mut Diagnostics) -> Vec<Token> {
    // About one token per three bytes of schema text.
    let tokens = Vec::with_capacity(source.len() / 3 + 8);
    Lexer { bytes: source.as_bytes(), source, pos: 0, base, mode, objects: 0, tokens, diagnostics }.run()
}

struct Lexer<'a, 'd> {
    bytes: &'a [u8],
    source: &'a str,
    pos: usize,
    base: usize,
    mode: Mode,
    /// Objects open on this line (schema mode): their `}` closes them, not a block. An
    /// object never spans lines, so a line end closes them all.
    objects: u32,
    tokens: Vec<Token>,
    diagnostics: &'d mut Diagnostics,
}

impl Lexer<'_, '_> {
    fn run(mut self) -> Vec<Token> {
        while let Some(&b) = self.bytes.get(self.pos) {
            let start = self.pos;
            match b {
                // A lone carriage return ends a line, as in Prisma (old Mac line endings).
                b'\r' if self.peek(1) != Some(b'\n') => self.newline(),
                b'\r' => self.pos += 1,
                b' ' | b'\t' => self.pos = skip_blanks(self.bytes, self.pos + 1),

                b'\n' => self.newline(),
                b'/' if self.peek(1) == Some(b'/') => self.comment(),
                b'/' if self.peek(1) == Some(b'*') => self.block_comment(),
                b'"' => self.string(),
                b'@' if self.peek(1) == Some(b'@') => {
                    self.pos += 2;
                    self.push(TokenKind::AtAt, start);
                }
                b'@' => self.single(TokenKind::At),
                b'{' if self.mode == Mode::Schema && self.expects_value() => {
                    self.objects += 1;
                    self.single(TokenKind::ObjectOpen);
                }
                b'{' => {
                    self.single(TokenKind::LBrace);
                    if self.mode == Mode::Schema {
                        self.rest_of_block_line();
                    }
                }
                b'}' if self.objects > 0 => {
                    self.objects -= 1;
                    self.single(TokenKind::ObjectClose);
                }
                b'}' => self.single(TokenKind::RBrace),
                b'(' => self.single(TokenKind::LParen),
                b')' => self.single(TokenKind::RParen),
                b'[' => self.single(TokenKind::LBracket),
                b']' => self.single(TokenKind::RBracket),
                b',' => self.single(TokenKind::Comma),
                b':' => self.single(TokenKind::Colon),
                b'?' => self.single(TokenKind::Question),
                b'.' => self.single(TokenKind::Dot),
                b'=' if self.peek(1) == Some(b'=') => self.operator(2),
                b'=' => self.single(TokenKind::Equals),
                b'!' | b'<' | b'>' if self.peek(1) == Some(b'=') => self.operator(2),
                b'&' if self.peek(1) == Some(b'&') => self.operator(2),
                b'|' if self.peek(1) == Some(b'|') => self.operator(2),
                b'!' | b'<' | b'>' | b'+' | b'*' | b'/' | b'%' => self.operator(1),
                b'-' if self.peek(1).is_some_and(|c| c.is_ascii_digit()) => self.number(),
                b'-' => self.operator(1),
                b'0'..=b'9' => self.number(),
                b'a'..=b'z' | b'A'..=b'Z' | b'_' => self.ident(),
                _ => {
                    let ch = self.source[start..].chars().next().unwrap_or('\u{fffd}');
                    if is_letter(ch) {
                        self.ident();
                        continue;
                    }
                    if is_wide_blank(ch) {
                        self.pos += ch.len_utf8();
                        continue;
                    }
                    self.pos += ch.len_utf8();
                    let span = self.span(start);
                    let shown = if ch.is_control() || ch == '\u{feff}' || ch.is_whitespace() {
                        format!("U+{:04X}", u32::from(ch))
                    } else {
                        format!("`{ch}`")
                    };
                    let mut diagnostic = Diagnostic::error("E0001", format!("unexpected character {shown}"), span)
                        .label("not valid here");
                    if ch == '\u{feff}' {
                        diagnostic = diagnostic.help(
                            "this is a byte-order mark, which Prisma rejects: save the file as UTF-8 without BOM",
                        );
                    }
                    self.diagnostics.push(diagnostic);

                    self.push(TokenKind::Error, start);
                }
            }
        }
        self.tokens
    }

    fn peek(&self, ahead: usize) -> Option<u8> {
        self.bytes.get(self.pos + ahead).copied()
    }

    fn span(&self, start: usize) -> Span {
        Span::new(self.base + start, self.base + self.pos)
    }

    fn push(&mut self, kind: TokenKind, start: usize) {
        let span = self.span(start);
        self.tokens.push(Token { kind, span });
    }

    fn newline(&mut self) {
        self.objects = 0;
        self.single(TokenKind::Newline);
    }

    /// Whether the last token on this line is one after which Prisma's grammar reads a value.
    fn expects_value(&self) -> bool {
        self.tokens.last().is_some_and(|t| {
            matches!(
                t.kind,
                TokenKind::Colon
                    | TokenKind::Equals
                    | TokenKind::LParen
                    | TokenKind::LBracket
                    | TokenKind::Comma
                    | TokenKind::ObjectOpen
            )
        })
    }

    fn single(&mut self, kind: TokenKind) {
        self.pos += 1;
        self.push(kind, self.pos - 1);
    }

    fn operator(&mut self, len: usize) {
        self.pos += len;
        self.push(TokenKind::Other, self.pos - len);
    }

    fn comment(&mut self) {
        let start = self.pos;
        // `///` documents what follows only when it starts its line; after code on the
        // same line it is a plain comment (as in Prisma).
        let starts_line = self.tokens.last().is_none_or(|t| t.kind == TokenKind::Newline);
        let is_doc = starts_line && self.peek(2) == Some(b'/') && self.peek(3) != Some(b'/');
        self.pos = line_end(self.bytes, self.pos);

        // Plain comments carry nothing any stage needs, so they leave no token.
        if is_doc {
            let span = Span::new(self.base + start + 3, self.base + self.pos);
            self.tokens.push(Token { kind: TokenKind::DocComment, span });
        }
    }

    /// After a block's `{`: text other than blanks and comments up to the end of the
    /// line is skipped unread, as one token (the parser warns about it).
    fn rest_of_block_line(&mut self) {
        let rest = &self.bytes[self.pos..];
        let len = rest.iter().position(|&b| b == b'\n' || b == b'\r').unwrap_or(rest.len());
        let text =
            self.source[self.pos..self.pos + len].trim_matches(|c: char| c.is_ascii_whitespace() || is_wide_blank(c));
        if text.is_empty() || text.starts_with("//") || text.starts_with("/*") {
            return;
        }
        let start = self.pos;
        self.pos += len;
        self.push(TokenKind::Skipped, start);
    }

    /// `/* ... */`, possibly over several lines (not nested). It keeps one line break
    /// when it spans lines, so that the lines around it stay apart.
    fn block_comment(&mut self) {
        let start = self.pos;
        match self.source[self.pos + 2..].find("*/") {
            Some(offset) => {
                let end = self.pos + 2 + offset + 2;
                let spans_lines = self.bytes[start..end].contains(&b'\n');
                // Prisma takes a block comment only where a line comment could be too: at
                // the start of a line, or ending it.
                let starts_line = self.tokens.last().is_none_or(|t| t.kind == TokenKind::Newline);
                let rest = &self.bytes[end..];
                let line_rest = &rest[..rest.iter().position(|&b| b == b'\n').unwrap_or(rest.len())];
                // Not even a `//` comment may follow one that ends a line of code.
                let ends_line = line_rest.iter().all(|b| b.is_ascii_whitespace());

                if !starts_line && !ends_line {
                    let span = Span::new(self.base + start, self.base + end);
                    self.diagnostics
                        .error("E0030", "a block comment can only stand at the start or the end of a line", span)
                        .label("not allowed between the parts of a line")
                        .help("move it to the end of the line, or to a line of its own");
                }
                self.pos = end;

                if spans_lines && self.tokens.last().is_some_and(|t| t.kind != TokenKind::Newline) {
                    self.tokens
                        .push(Token { kind: TokenKind::Newline, span: Span::new(self.base + end, self.base + end) });
                }
            }
            None => {
                self.pos = self.bytes.len();
                let span = Span::new(self.base + start, self.base + start + 2);
                self.diagnostics
                    .error("E0029", "unterminated block comment", span)
                    .label("this `/*` is never closed")
                    .help("close it with `*/`");
            }
        }
    }

    fn string(&mut self) {
        let start = self.pos;
        self.pos += 1;
        loop {
            match self.bytes.get(self.pos) {
                None | Some(b'\n') => {
                    let span = self.span(start);
                    self.diagnostics.push(
                        Diagnostic::error("E0002", "unterminated string literal", span)
                            .label("this string is never closed")
                            .help("add a closing `\"` before the end of the line"),
                    );
                    self.push(TokenKind::Error, start);
                    return;
                }
                // An escape takes the next byte too, unless the line or the input ends.
                Some(b'\\') if matches!(self.peek(1), None | Some(b'\n')) => self.pos += 1,
                Some(b'\\') => self.pos += 2,

                Some(b'"') => {
                    self.pos += 1;
                    self.push(TokenKind::Str, start);
                    return;
                }
                Some(&b) if b < 0x20 => {
                    // Prisma rejects raw control characters (a tab, say) inside strings.
                    let at = self.base + self.pos;
                    self.diagnostics
                        .error("E0027", "a string cannot contain a raw control character", Span::new(at, at + 1))
                        .label("write it as an escape, such as `\\t`");
                    self.pos += 1;
                }
                Some(_) => self.pos += 1,
            }
        }
    }

    fn digits(&mut self) {
        while self.bytes.get(self.pos).is_some_and(u8::is_ascii_digit) {
            self.pos += 1;
        }
    }

    fn number(&mut self) {
        let start = self.pos;
        if self.bytes[self.pos] == b'-' {
            self.pos += 1;
        }
        self.digits();
        if self.peek(0) == Some(b'.') && self.peek(1).is_some_and(|c| c.is_ascii_digit()) {
            self.pos += 1;
            self.digits();
        }

        // `1abc` (or `1e3`, which Prisma does not read as a number) is one malformed
        // word, not a number followed by a name; a word never starts with `-`.
        let negative = self.bytes[start] == b'-';
        if !negative
            && self.source[self.pos..]
                .chars()
                .next()
                .is_some_and(|c| c.is_ascii_alphanumeric() || c == '_' || is_letter(c))
        {
            self.ident_tail();
            self.push(TokenKind::Ident, start);
        } else {
            self.push(TokenKind::Number, start);
        }
    }

    // Inlined: names are a third of all tokens, and a call per name cost more than the scan.
    #[inline(always)]
    fn ident_tail(&mut self) {
        loop {
            self.pos = ascii_name_end(self.bytes, self.pos);
            if self.bytes.get(self.pos).is_none_or(|b| b.is_ascii()) {
                return;
            }

            // Letters beyond ASCII are rare: decode only then.
            match self.source.get(self.pos..).and_then(|rest| rest.chars().next()) {
                Some(c) if is_letter(c) => self.pos += c.len_utf8(),
                _ => break,
            }
        }
    }

    // Inlined into the main loop, as names are the commonest token but one.
    #[inline(always)]
    fn ident(&mut self) {
        let start = self.pos;
        self.ident_tail();
        self.push(TokenKind::Ident, start);
    }
}

/// [`unescape`], borrowing the text between the quotes when it holds no escape (most
/// strings), so that the syntax tree copies nothing.
pub fn unescape_borrowed(raw: &str) -> Result<Cow<'_, str>, usize> {
    let inner = raw.strip_prefix('"').and_then(|s| s.strip_suffix('"')).unwrap_or(raw);
    if inner.as_bytes().contains(&b'\\') {
        unescape(raw).map(Cow::Owned)
    } else {
        Ok(Cow::Borrowed(inner))
    }
}

/// Decodes a string token's text (quotes included) into its value, resolving escapes.
/// Returns the offending escape's offset within `raw` when one is not understood.
pub fn unescape(raw: &str) -> Result<String, usize> {
    let inner = raw.strip_prefix('"').and_then(|s| s.strip_suffix('"')).unwrap_or(raw);
    let mut out = String::with_capacity(inner.len());
    let mut chars = inner.char_indices();
    while let Some((i, c)) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some((_, 'n')) => out.push('\n'),
            Some((_, 't')) => out.push('\t'),
            Some((_, 'r')) => out.push('\r'),
            Some((_, '0')) => out.push('\0'),
            Some((_, c @ ('"' | '\\' | '\'' | '/'))) => out.push(c),
            Some((_, 'u')) => {
                let hex: String = chars.by_ref().take(4).map(|(_, c)| c).collect();
                match u32::from_str_radix(&hex, 16).ok().and_then(char::from_u32) {
                    Some(c) if hex.len() == 4 => out.push(c),
                    _ => return Err(i + 1),
                }
            }
            _ => return Err(i + 1),
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(src: &str) -> Vec<TokenKind> {
        let mut d = Diagnostics::default();
        lex(src, 0, &mut d).into_iter().map(|t| t.kind).collect()
    }

    #[test]
    fn tokens_of_a_field_line() {
        use TokenKind::*;
        assert_eq!(
            kinds("id Int @id @default(autoincrement()) // x\n"),
            vec![Ident, Ident, At, Ident, At, Ident, LParen, Ident, LParen, RParen, RParen, Newline]
        );
    }

    #[test]
    fn doc_comment_span_excludes_slashes() {
        let mut d = Diagnostics::default();
        let src = "/// hello\n//// not doc";
        let tokens = lex(src, 0, &mut d);
        assert_eq!(tokens[0].kind, TokenKind::DocComment);
        assert_eq!(tokens[0].span.slice(src), " hello");
        assert_eq!(tokens[1].kind, TokenKind::Newline);
        assert_eq!(tokens.len(), 2, "a plain comment leaves no token");
    }

    #[test]
    fn numbers_and_operators() {
        use TokenKind::*;
        assert_eq!(kinds("-1 2.5 1e3 a==b"), vec![Number, Number, Ident, Ident, Other, Ident]);
        assert_eq!(kinds("1abc"), vec![Ident]);
    }

    #[test]
    fn unterminated_string_is_reported() {
        let mut d = Diagnostics::default();
        let tokens = lex("x \"abc\ny", 0, &mut d);
        assert_eq!(d.len(), 1);
        assert_eq!(tokens[1].kind, TokenKind::Error);
        assert_eq!(tokens[2].kind, TokenKind::Newline);
    }

    #[test]
    fn unescape_handles_escapes() {
        assert_eq!(unescape(r#""a\"b\\c\n""#), Ok("a\"b\\c\n".to_string()));
        assert_eq!(unescape(r#""\u00e9""#), Ok("é".to_string()));
        assert!(unescape(r#""\q""#).is_err());
    }
}
