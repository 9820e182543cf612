//! The annotation value grammar: `@@name(arg, key: value, ...)` where values are
//! strings (with escapes), numbers, booleans, `null`, bare names, `env("VAR")`,
//! `[lists]` and `{ nested: objects }`. Annotations may span several `///` lines;
//! trailing commas are allowed.

use crate::diagnostic::Diagnostics;
use crate::span::Span;
use crate::syntax::lexer::{unescape, Token, TokenKind};
use serde::Serialize;

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind", content = "value", rename_all = "lowercase")]
pub enum Value {
    Str(String),
    Number(f64),
    Bool(bool),
    Null,
    /// A bare name, such as `fts5` in `engine: fts5`.
    Name(String),
    /// `env("VAR")`: read from the environment when the server starts.
    Env(String),
    List(Vec<Spanned>),
    Object(Vec<(String, Span, Spanned)>),
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Spanned {
    #[serde(flatten)]
    pub value: Value,
    pub span: Span,
}

impl Spanned {
    pub fn describe(&self) -> &'static str {
        match self.value {
            Value::Str(_) => "a string",
            Value::Number(_) => "a number",
            Value::Bool(_) => "a boolean",
            Value::Null => "null",
            Value::Name(_) => "a name",
            Value::Env(_) => "env(...)",
            Value::List(_) => "a list",
            Value::Object(_) => "an object",
        }
    }

    /// The span of a string literal's contents (inside the quotes).
    pub fn inner_span(&self) -> Span {
        match self.value {
            Value::Str(_) if self.span.len() >= 2 => Span::new(self.span.lo() + 1, self.span.hi() - 1),
            _ => self.span,
        }
    }
}

/// One argument: positional (`name` is `None`) or named.
#[derive(Debug, Clone, PartialEq)]
pub struct Arg {
    pub name: Option<(String, Span)>,
    pub value: Spanned,
}

/// A parsed `@@name(...)`.
#[derive(Debug, Clone, PartialEq)]
pub struct RawAnnotation {
    pub name: String,
    pub name_span: Span,
    pub args: Vec<Arg>,
    pub span: Span,
}

pub(crate) struct ValueParser<'s, 'd> {
    source: &'s str,
    tokens: Vec<Token>,
    pos: usize,
    diagnostics: &'d mut Diagnostics,
}

impl<'s, 'd> ValueParser<'s, 'd> {
    pub fn new(source: &'s str, tokens: Vec<Token>, diagnostics: &'d mut Diagnostics) -> Self {
        ValueParser { source, tokens, pos: 0, diagnostics }
    }

    fn peek(&self) -> Option<Token> {
        self.tokens.get(self.pos).copied()
    }

    fn at(&self, kind: TokenKind) -> bool {
        self.peek().is_some_and(|t| t.kind == kind)
    }

    fn eat(&mut self, kind: TokenKind) -> Option<Token> {
        let token = self.peek().filter(|t| t.kind == kind)?;
        self.pos += 1;
        Some(token)
    }

    fn text(&self, token: Token) -> &'s str {
        token.span.slice(self.source)
    }

    fn end_span(&self) -> Span {
        self.tokens.last().map_or_else(Span::default, |t| Span::new(t.span.hi(), t.span.hi()))
    }

    fn here(&self) -> Span {
        self.peek().map_or_else(|| self.end_span(), |t| t.span)
    }

    fn found(&self) -> String {
        match self.peek() {
            Some(t) => format!("`{}`", self.text(t)),
            None => "the end of the annotation".to_string(),
        }
    }

    /// `@@name(args)`; `None` after reporting a malformed annotation.
    pub fn annotation(mut self) -> Option<RawAnnotation> {
        let at = self.eat(TokenKind::AtAt)?;
        let Some(name) = self.eat(TokenKind::Ident) else {
            let span = self.here();
            self.diagnostics
                .error("E0401", "expected an annotation name after `@@`", span)
                .label("expected a name such as `policy`");
            return None;
        };
        let mut args = Vec::new();
        let mut end = name.span;
        if let Some(open) = self.eat(TokenKind::LParen) {
            let (parsed, close) = self.args(open.span)?;
            args = parsed;
            end = close;
        }
        if let Some(extra) = self.peek() {
            let found = self.found();
            self.diagnostics
                .error("E0402", format!("unexpected {found} after the annotation"), extra.span)
                .label("expected the end of the annotation")
                .help("write one annotation per `///` line (or continue its arguments on the next lines)");
        }
        Some(RawAnnotation { name: self.text(name).to_string(), name_span: name.span, args, span: at.span.to(end) })
    }

    fn args(&mut self, open: Span) -> Option<(Vec<Arg>, Span)> {
        let mut args = Vec::new();
        loop {
            if let Some(close) = self.eat(TokenKind::RParen) {
                return Some((args, close.span));
            }
            let name = match (self.peek(), self.tokens.get(self.pos + 1)) {
                (Some(t), Some(next)) if t.kind == TokenKind::Ident && next.kind == TokenKind::Colon => {
                    self.pos += 2;
                    Some((self.text(t).to_string(), t.span))
                }
                _ => None,
            };
            let value = self.value()?;
            args.push(Arg { name, value });
            if self.eat(TokenKind::Comma).is_none() && !self.at(TokenKind::RParen) {
                return self.unclosed(open, ")");
            }
        }
    }

    fn unclosed<T>(&mut self, open: Span, closer: &str) -> Option<T> {
        let span = self.here();
        let found = self.found();
        self.diagnostics
            .error("E0403", format!("expected `,` or `{closer}`, found {found}"), span)
            .label(format!("expected `{closer}`"))
            .secondary(open, "opened here");
        None
    }

    fn value(&mut self) -> Option<Spanned> {
        let Some(token) = self.peek() else {
            let span = self.end_span();
            self.diagnostics.error("E0404", "expected a value", span).label("the annotation ends here");
            return None;
        };
        self.pos += 1;
        let spanned = |value| Some(Spanned { value, span: token.span });
        match token.kind {
            TokenKind::Str => match unescape(self.text(token)) {
                Ok(s) => spanned(Value::Str(s)),
                Err(offset) => {
                    let at = token.span.lo() + offset;
                    self.diagnostics
                        .error("E0405", "unknown escape sequence in string", Span::new(at - 1, at + 1))
                        .label("not a valid escape")
                        .help("valid escapes are \\\" \\\\ \\n \\t \\r \\0 and \\uXXXX");
                    None
                }
            },
            TokenKind::Number => match self.text(token).parse::<f64>() {
                Ok(n) => spanned(Value::Number(n)),
                Err(_) => spanned(Value::Name(self.text(token).to_string())),
            },
            TokenKind::Ident => match self.text(token) {
                "true" => spanned(Value::Bool(true)),
                "false" => spanned(Value::Bool(false)),
                "null" => spanned(Value::Null),
                "env" if self.at(TokenKind::LParen) => self.env(token),
                name => spanned(Value::Name(name.to_string())),
            },
            TokenKind::LBracket => self.list(token.span),
            TokenKind::LBrace => self.object(token.span),
            _ => {
                let found = self.text(token).to_string();
                self.diagnostics
                    .error("E0404", format!("expected a value, found `{found}`"), token.span)
                    .label("expected a string, number, boolean, list or object");
                None
            }
        }
    }

    fn env(&mut self, name: Token) -> Option<Spanned> {
        let open = self.eat(TokenKind::LParen)?;
        let var = self.value()?;
        let close = match self.eat(TokenKind::RParen) {
            Some(close) => close,
            None => return self.unclosed(open.span, ")"),
        };
        match var.value {
            Value::Str(var) => Some(Spanned { value: Value::Env(var), span: name.span.to(close.span) }),
            _ => {
                self.diagnostics
                    .error("E0406", "`env(...)` takes the variable's name as a string", var.span)
                    .label("expected a string such as \"WEBHOOK_SECRET\"");
                None
            }
        }
    }

    fn list(&mut self, open: Span) -> Option<Spanned> {
        let mut items = Vec::new();
        loop {
            if let Some(close) = self.eat(TokenKind::RBracket) {
                return Some(Spanned { value: Value::List(items), span: open.to(close.span) });
            }
            items.push(self.value()?);
            if self.eat(TokenKind::Comma).is_none() && !self.at(TokenKind::RBracket) {
                return self.unclosed(open, "]");
            }
        }
    }

    fn object(&mut self, open: Span) -> Option<Spanned> {
        let mut entries: Vec<(String, Span, Spanned)> = Vec::new();
        loop {
            if let Some(close) = self.eat(TokenKind::RBrace) {
                return Some(Spanned { value: Value::Object(entries), span: open.to(close.span) });
            }
            let key = match self.peek() {
                Some(t) if t.kind == TokenKind::Ident => (self.text(t).to_string(), t.span),
                Some(t) if t.kind == TokenKind::Str => (unescape(self.text(t)).unwrap_or_default(), t.span),
                _ => {
                    let span = self.here();
                    let found = self.found();
                    self.diagnostics
                        .error("E0407", format!("expected a key, found {found}"), span)
                        .label("object entries are written `key: value`");
                    return None;
                }
            };
            self.pos += 1;
            if self.eat(TokenKind::Colon).is_none() {
                let span = self.here();
                self.diagnostics
                    .error("E0407", format!("expected `:` after the key `{}`", key.0), span)
                    .label("object entries are written `key: value`");
                return None;
            }
            let value = self.value()?;
            if let Some((_, first, _)) = entries.iter().find(|(k, _, _)| *k == key.0) {
                self.diagnostics
                    .error("E0408", format!("key `{}` is given twice", key.0), key.1)
                    .label("duplicate key")
                    .secondary(*first, "first given here");
            }
            entries.push((key.0, key.1, value));
            if self.eat(TokenKind::Comma).is_none() && !self.at(TokenKind::RBrace) {
                return self.unclosed(open, "}");
            }
        }
    }
}
