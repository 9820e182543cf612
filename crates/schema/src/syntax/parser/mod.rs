//! Recursive-descent parser for the Prisma Schema Language, with error recovery.
//!
//! This module holds the parser's state, token helpers, recovery and the top level;
//! `blocks.rs` parses block bodies (models, enums, configuration) and `attributes.rs`
//! attributes, argument lists and values.
//!
//! Prisma is line-oriented: a field, an enum value, a block attribute and a
//! `key = value` property each take one line (attribute arguments may span several).
//! So recovery is simple and effective: on an error, report it, skip to the end of the
//! line (or over a whole unknown block at the top level) and carry on. One run reports
//! every syntax error.

mod attributes;
mod blocks;

use bumpalo::Bump;

use super::ast::*;
use super::lexer::{self, Token, TokenKind};
use crate::diagnostic::{Diagnostic, Diagnostics, Report};
use crate::span::Span;

const BLOCK_KEYWORDS: [&str; 6] = ["model", "enum", "view", "type", "datasource", "generator"];

/// Parses a whole schema into a tree allocated in `arena`. Never fails: problems land in
/// `diagnostics`.
pub fn parse<'s>(source: &'s str, arena: &'s Bump, diagnostics: &mut Diagnostics) -> SchemaAst<'s> {
    let tokens = lexer::lex_schema(source, diagnostics);
    Parser::new(source, arena, tokens, diagnostics).schema()
}

/// A list being built in the arena; it becomes one of the tree's slices when complete.
pub(crate) type List<'s, T> = bumpalo::collections::Vec<'s, T>;

/// Parses one expression (an annotation or attribute argument value) from tokens.
pub(crate) struct Parser<'s, 'd> {
    source: &'s str,
    /// Where the tree's lists (and its rare copied text) are allocated.
    arena: &'s Bump,
    tokens: Vec<Token>,
    pos: usize,
    /// Set by a malformed object, so that the attribute holding it is marked malformed and
    /// not checked further (its members would only give errors caused by the first).
    malformed_object: bool,
    diagnostics: &'d mut Diagnostics,
}

impl<'s, 'd> Parser<'s, 'd> {
    pub(crate) fn new(source: &'s str, arena: &'s Bump, tokens: Vec<Token>, diagnostics: &'d mut Diagnostics) -> Self {
        Parser { source, arena, tokens, pos: 0, malformed_object: false, diagnostics }
    }

    // ---- lists in the arena ----------------------------------------------------------

    fn list<T>(&self) -> List<'s, T> {
        List::new_in(self.arena)
    }

    fn list_with_capacity<T>(&self, capacity: usize) -> List<'s, T> {
        List::with_capacity_in(capacity, self.arena)
    }

    /// The items gathered so far in `list`, which starts again empty.
    fn take<T>(&self, list: &mut List<'s, T>) -> &'s [T] {
        std::mem::replace(list, List::new_in(self.arena)).into_bump_slice()
    }

    // ---- token helpers -------------------------------------------------------------

    fn peek(&self) -> Option<Token> {
        self.tokens.get(self.pos).copied()
    }

    fn peek_kind(&self) -> Option<TokenKind> {
        self.peek().map(|t| t.kind)
    }

    fn peek_at(&self, ahead: usize) -> Option<TokenKind> {
        self.tokens.get(self.pos + ahead).map(|t| t.kind)
    }

    fn at(&self, kind: TokenKind) -> bool {
        self.peek_kind() == Some(kind)
    }

    fn bump(&mut self) -> Option<Token> {
        let token = self.peek();
        if token.is_some() {
            self.pos += 1;
        }
        token
    }

    fn eat(&mut self, kind: TokenKind) -> Option<Token> {
        if self.at(kind) {
            self.bump()
        } else {
            None
        }
    }

    /// At most how many items the list that starts at the current token holds: the commas
    /// at its own depth plus one, up to its closer or the end of the line. A capacity hint:
    /// growing a list on its first push costs more than allocating it at its size.
    fn list_len_hint(&self) -> usize {
        let mut depth = 0usize;
        let mut items = 1;
        for token in self.tokens.get(self.pos..).unwrap_or_default() {
            match token.kind {
                TokenKind::LParen | TokenKind::LBracket => depth += 1,
                TokenKind::RParen | TokenKind::RBracket if depth == 0 => break,
                TokenKind::RParen | TokenKind::RBracket => depth -= 1,
                TokenKind::Comma if depth == 0 => items += 1,
                TokenKind::Newline | TokenKind::LBrace | TokenKind::RBrace => break,
                _ => {}
            }
        }
        items
    }

    /// How many `kind` tokens the rest of the current line holds (a capacity hint too).
    fn count_on_line(&self, kind: TokenKind) -> usize {
        let rest = self.tokens.get(self.pos..).unwrap_or_default();
        rest.iter().take_while(|t| t.kind != TokenKind::Newline).filter(|t| t.kind == kind).count()
    }

    fn text(&self, token: Token) -> &'s str {
        token.span.slice(self.source)
    }

    fn ident(&self, token: Token) -> Ident<'s> {
        Ident { name: self.text(token), span: token.span }
    }

    /// Span of the current token, or an empty span at the end of input.
    fn here(&self) -> Span {
        match self.peek() {
            Some(t) => t.span,
            None => {
                let end = self.source.len();
                Span::new(end, end)
            }
        }
    }

    fn describe_here(&self) -> String {
        match self.peek() {
            None => "end of file".to_string(),
            Some(t) if t.kind == TokenKind::Newline => "end of line".to_string(),
            Some(t) if t.kind == TokenKind::DocComment => "a doc comment".to_string(),
            Some(t) => format!("`{}`", self.text(t)),
        }
    }

    fn error(&mut self, code: &'static str, message: impl Into<String>, span: Span) -> Report<'_> {
        self.diagnostics.error(code, message, span)
    }

    /// Skips the rest of the current line, stopping before a `}` so that the
    /// enclosing block still closes.
    fn recover_line(&mut self) {
        while let Some(kind) = self.peek_kind() {
            match kind {
                TokenKind::Newline => {
                    self.pos += 1;
                    return;
                }
                TokenKind::RBrace => return,
                _ => self.pos += 1,
            }
        }
    }

    /// The end of the line must come next (or the block's `}` on the next token).
    // Inlined: every field and attribute line ends here, nearly always well.
    #[inline]
    fn expect_line_end(&mut self, what: &str) {
        match self.peek_kind() {
            None => {}
            Some(TokenKind::Newline) => self.pos += 1,
            Some(_) => self.line_end_missing(what),
        }
    }

    fn line_end_missing(&mut self, what: &str) {
        match self.peek_kind() {
            None | Some(TokenKind::Newline) => {
                self.bump();
            }
            Some(TokenKind::RBrace) => {
                let span = self.here();
                self.error("E0010", format!("{what} must end with a line break"), span)
                    .label("expected a new line before this `}`");
            }
            Some(TokenKind::Error) => self.recover_line(),
            Some(_) => {
                let span = self.here();
                let found = self.describe_here();
                self.error("E0011", format!("unexpected {found} after {what}"), span)
                    .label("expected the end of the line");
                self.recover_line();
            }
        }
    }

    // ---- top level -----------------------------------------------------------------

    fn schema(mut self) -> SchemaAst<'s> {
        let mut items = self.list();
        let mut doc = self.list();
        while let Some(token) = self.peek() {
            match token.kind {
                TokenKind::Newline => self.pos += 1,
                TokenKind::DocComment => {
                    doc.push(self.doc_line(token));
                    self.pos += 1;
                }
                TokenKind::Ident if BLOCK_KEYWORDS.contains(&self.text(token)) => {
                    let doc = self.take(&mut doc);
                    if let Some(item) = self.block(doc) {
                        items.push(item);
                    }
                }
                TokenKind::Ident if self.glued_keyword(token).is_some() => {
                    let doc = self.take(&mut doc);
                    if let Some(item) = self.block(doc) {
                        items.push(item);
                    }
                }
                _ => {
                    doc.clear();
                    self.unknown_top_level(token);
                }
            }
        }
        SchemaAst { items: items.into_bump_slice() }
    }

    fn doc_line(&self, token: Token) -> DocLine<'s> {
        DocLine { text: self.text(token), span: token.span }
    }

    fn unknown_top_level(&mut self, token: Token) {
        let text = self.text(token).to_string();
        let diagnostic = if token.kind == TokenKind::Ident {
            Diagnostic::error("E0003", format!("unknown block type `{text}`"), token.span)
                .label("expected `model`, `enum`, `view`, `type`, `datasource` or `generator`")
                .suggest(&text, BLOCK_KEYWORDS)
        } else {
            Diagnostic::error("E0004", format!("unexpected `{text}` at the top level"), token.span)
                .label("expected a block such as `model Name { ... }`")
        };
        // The lexer has reported an error token already.
        if token.kind != TokenKind::Error {
            self.diagnostics.push(diagnostic);
        }
        self.unknown_block_rest();
    }

    fn skip_balanced_block(&mut self) {
        let mut depth = 0usize;
        while let Some(kind) = self.bump().map(|t| t.kind) {
            match kind {
                TokenKind::LBrace => depth += 1,
                TokenKind::RBrace => {
                    depth = depth.saturating_sub(1);
                    if depth == 0 {
                        return;
                    }
                }
                _ => {}
            }
        }
    }

    /// `modelUser {`: Prisma's grammar reads a keyword glued to the name as both. Returns
    /// the keyword's length when `token` is such a word followed by `{`.
    fn glued_keyword(&self, token: Token) -> Option<usize> {
        let text = self.text(token);
        let keyword = BLOCK_KEYWORDS.iter().find(|k| text.len() > k.len() && text.starts_with(*k))?;
        (self.peek_at(1) == Some(TokenKind::LBrace)).then_some(keyword.len())
    }

    fn block(&mut self, doc: &'s [DocLine<'s>]) -> Option<Item<'s>> {
        let first = self.peek()?;
        let glued = self.glued_keyword(first).filter(|_| !BLOCK_KEYWORDS.contains(&self.text(first)));
        self.pos += 1;

        let (keyword, glued_name) = match glued {
            Some(len) => {
                let split = first.span.lo() + len;
                let name =
                    Ident { name: &self.source[split..first.span.hi()], span: Span::new(split, first.span.hi()) };
                self.diagnostics
                    .warning(
                        "W0009",
                        format!("write a space between `{}` and `{}`", &self.source[first.span.lo()..split], name.name),
                        first.span,
                    )
                    .label("keyword and name run together")
                    .help("Prisma reads this as a keyword and a name; other tools may not");
                (Token { kind: TokenKind::Ident, span: Span::new(first.span.lo(), split) }, Some(name))
            }
            None => (first, None),
        };
        let keyword_text = self.text(keyword);
        let name = match self.peek() {
            _ if glued_name.is_some() => glued_name?,
            // Prisma takes any word for a datasource or generator name, a number included.
            Some(t)
                if t.kind == TokenKind::Ident
                    || (t.kind == TokenKind::Number
                        && matches!(keyword_text, "datasource" | "generator")
                        && self.text(t).bytes().all(|b| b.is_ascii_digit())) =>
            {
                self.pos += 1;
                self.ident(t)
            }
            _ => {
                let span = self.here();
                let found = self.describe_here();
                self.error("E0005", format!("expected a name after `{keyword_text}`, found {found}"), span)
                    .label("the block needs a name");
                self.unknown_block_rest();
                return None;
            }
        };
        if self.eat(TokenKind::LBrace).is_none() {
            let span = self.here();
            let found = self.describe_here();
            self.error("E0006", format!("expected `{{` after `{keyword_text} {}`, found {found}", name.name), span)
                .label("the block's body must start here");
            self.unknown_block_rest();
            return None;
        }
        if let Some(skipped) = self.eat(TokenKind::Skipped) {
            // Prisma skips whatever follows `{` on its line. Say so: a field written there
            // is silently lost otherwise.
            self.diagnostics
                .warning("W0008", "text after `{` is ignored", skipped.span)
                .label("Prisma skips the rest of this line")
                .help("start the block's body on the next line");
        }
        let item = match keyword_text {
            "model" => Item::Model(self.model_body(ModelKind::Model, keyword, name, doc)),
            "view" => Item::Model(self.model_body(ModelKind::View, keyword, name, doc)),
            "type" => Item::Model(self.model_body(ModelKind::Type, keyword, name, doc)),
            "enum" => Item::Enum(self.enum_body(keyword, name, doc)),
            "datasource" => Item::Config(self.config_body(ConfigKind::Datasource, keyword, name, doc)),
            _ => Item::Config(self.config_body(ConfigKind::Generator, keyword, name, doc)),
        };
        Some(item)
    }

    /// After something that is not a block (or a malformed block header): skip the rest of
    /// the line, and over the whole `{ ... }` block if the line opens one.
    fn unknown_block_rest(&mut self) {
        while let Some(kind) = self.peek_kind() {
            match kind {
                TokenKind::Newline => {
                    self.pos += 1;
                    return;
                }
                TokenKind::LBrace => {
                    self.skip_balanced_block();
                    return;
                }
                _ => self.pos += 1,
            }
        }
    }

    /// Consumes the closing `}`; reports an unclosed block at its keyword otherwise.
    fn close_block(&mut self, keyword: Token, name: &Ident) -> Span {
        match self.eat(TokenKind::RBrace) {
            // Another block may follow on the same line (`} model B {`), as in Prisma.
            Some(t) => keyword.span.to(t.span),

            None => {
                let kw = self.text(keyword).to_string();
                let end = self.source.len();
                self.error("E0007", format!("`{kw} {}` is never closed", name.name), keyword.span.to(name.span))
                    .label("this block has no closing `}`")
                    .help("add a `}` on its own line after the block's last line");
                keyword.span.to(Span::new(end, end))
            }
        }
    }
}
