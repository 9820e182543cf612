//! Attributes (`@id`, `@@index([a, b], map: "x")`), argument lists and values.

use std::borrow::Cow;

use super::{List, Parser};
use crate::span::Span;
use crate::syntax::ast::*;
use crate::syntax::lexer::{self, Token, TokenKind};

impl<'s> Parser<'s, '_> {
    // ---- attributes and expressions ------------------------------------------------

    /// An attribute whose `@` or `@@` token (`at`) has just been consumed, pushed onto
    /// `attributes` (a large value: returning it cost a copy more).
    pub(super) fn attribute(&mut self, at: Token, doc: &'s [DocLine<'s>], attributes: &mut List<'s, Attribute<'s>>) {
        let block = at.kind == TokenKind::AtAt;
        let name = match self.path() {
            Some((path, span)) => Ident { name: path, span },
            None => {
                let span = self.here();
                self.error("E0020", "expected an attribute name after `@`", span)
                    .label("expected a name such as `id` or `default`");
                Ident { name: "", span: at.span }
            }
        };
        let mut args: &[Argument] = &[];
        let mut args_span = None;
        let mut malformed = name.name.is_empty();
        if let Some(open) = self.eat(TokenKind::LParen) {
            // A dotted name is a native type (`@db.VarChar`).
            let native = name.name.contains('.');
            // Left set by an object in a datasource or generator property, perhaps.
            self.malformed_object = false;
            let (parsed, close, ok) = self.arguments(open.span, TokenKind::RParen, native);
            args = parsed;
            args_span = Some(open.span.to(close));
            malformed |= !ok | std::mem::take(&mut self.malformed_object);
        }
        let end = args_span.unwrap_or(name.span);
        attributes.push(Attribute { name, block, args, args_span, malformed, doc, span: at.span.to(end) });
    }

    /// `ident(.ident)*`, returned as one dotted string.
    pub(super) fn path(&mut self) -> Option<(&'s str, Span)> {
        let (path, span) = self.path_parts()?;
        Some((self.settle(path), span))
    }

    /// [`Self::path`], the text not yet settled in the arena (a value's path may go on).
    fn path_parts(&mut self) -> Option<(Cow<'s, str>, Span)> {
        let first = self.eat(TokenKind::Ident)?;
        let mut path = Cow::Borrowed(self.text(first));
        let mut span = first.span;
        while self.at(TokenKind::Dot) && self.peek_at(1) == Some(TokenKind::Ident) {
            let dot = self.bump()?;
            let next = self.bump()?;
            span = self.extend_path(&mut path, span, dot.span);
            span = self.extend_path(&mut path, span, next.span);
        }
        Some((path, span))
    }

    /// Text for the tree: a slice of the source as it is, or a copy in the arena.
    fn settle(&self, text: Cow<'s, str>) -> &'s str {
        match text {
            Cow::Borrowed(text) => text,
            Cow::Owned(text) => self.arena.alloc_str(&text),
        }
    }

    /// A string literal's value: [`lexer::unescape_borrowed`], settled in the arena.
    pub(super) fn unescape(&self, raw: &'s str) -> Result<&'s str, usize> {
        lexer::unescape_borrowed(raw).map(|text| self.settle(text))
    }

    /// Appends the token at `token` (a dot or a name) to `path`, which spans `span`, and
    /// returns the span of both. The path stays a slice of the source while its parts touch
    /// (`db.VarChar`); blanks or a comment between them (`db . VarChar`) make it a joined copy,
    /// as Prisma reads the parts without what lies between.
    fn extend_path(&self, path: &mut Cow<'s, str>, span: Span, token: Span) -> Span {
        match path {
            Cow::Borrowed(_) if span.hi() == token.lo() => *path = Cow::Borrowed(span.to(token).slice(self.source)),
            _ => path.to_mut().push_str(token.slice(self.source)),
        }
        span.to(token)
    }

    /// Arguments up to `close`; returns them, the closing token's span, and whether the
    /// list was well-formed. Like Prisma, the list must stay on one line and takes no
    /// trailing comma.
    /// `trailing_comma_ok`: Prisma takes one in a native type's arguments (`@db.Decimal(10, 2, )`)
    /// and nowhere else.
    pub(crate) fn arguments(
        &mut self,
        open: Span,
        close: TokenKind,
        trailing_comma_ok: bool,
    ) -> (&'s [Argument<'s>], Span, bool) {
        let mut args = self.list();
        let (close, ok) = self.items(open, close, trailing_comma_ok, &mut args, |arg| arg);
        (args.into_bump_slice(), close, ok)
    }

    /// The loop of [`Self::arguments`], with each argument turned into an item by `item` as it
    /// is parsed: a list's elements go straight into its list of values, not through a list of
    /// arguments first.
    fn items<T>(
        &mut self,
        open: Span,
        close: TokenKind,
        trailing_comma_ok: bool,
        items: &mut List<'s, T>,
        mut item: impl FnMut(Argument<'s>) -> T,
    ) -> (Span, bool) {
        if let Some(t) = self.eat(close) {
            return (t.span, true);
        }
        items.reserve_exact(self.list_len_hint());
        loop {
            match self.argument() {
                Some(arg) => items.push(item(arg)),
                None => return (self.unclosed(open, close), false),
            }
            if let Some(t) = self.eat(close) {
                return (t.span, true);
            }
            let Some(comma) = self.eat(TokenKind::Comma) else {
                return (self.unclosed(open, close), false);
            };
            if let Some(t) = self.eat(close) {
                if trailing_comma_ok {
                    return (t.span, true);
                }
                self.error("E0026", "trailing commas are not allowed", comma.span).label("remove this comma");
                return (t.span, false);
            }
        }
    }

    pub(super) fn unclosed(&mut self, open: Span, close: TokenKind) -> Span {
        let closer = match close {
            TokenKind::RParen => ")",
            TokenKind::ObjectClose => "}",
            _ => "]",
        };
        if self.at(TokenKind::Error) {
            // The lexer has reported this token; a second message would only repeat it.
            return self.skip_to_closer(open, close);
        }

        let span = self.here();
        let found = self.describe_here();
        let help = if self.at(TokenKind::Newline) {
            "Prisma requires an attribute's arguments (and a list) to stay on one line"
        } else {
            "separate arguments with `,`"
        };
        self.error("E0021", format!("expected `,` or `{closer}`, found {found}"), span)
            .label(format!("expected `{closer}` to close the list"))
            .secondary(open, "opened here")
            .help(help);
        self.skip_to_closer(open, close)
    }

    /// Skips to the closer on this line, if any, and returns its span.
    pub(super) fn skip_to_closer(&mut self, open: Span, close: TokenKind) -> Span {
        while let Some(kind) = self.peek_kind() {
            if kind == close {
                let t = self.bump();
                return t.map_or(open, |t| t.span);
            }
            if matches!(kind, TokenKind::Newline | TokenKind::RBrace) {
                break;
            }
            self.pos += 1;
        }
        open
    }

    pub(super) fn argument(&mut self) -> Option<Argument<'s>> {
        if self.at(TokenKind::Ident) && self.peek_at(1) == Some(TokenKind::Colon) {
            let name_token = self.bump()?;
            let name = self.ident(name_token);
            let colon = self.bump()?;
            let value = match self.expr() {
                Some(value) => value,
                None if matches!(self.peek_kind(), Some(TokenKind::Comma | TokenKind::RParen)) => {
                    Expr::Empty(Span::new(colon.span.hi(), colon.span.hi()))
                }
                None => {
                    let span = self.here();
                    let found = self.describe_here();
                    self.error("E0022", format!("argument `{}` has no value", name.name), span)
                        .label(format!("expected a value, found {found}"));
                    return None;
                }
            };
            let span = name.span.to(value.span());
            return Some(Argument { name: Some(name), value, span });
        }
        let value = self.expr()?;
        Some(Argument { name: None, span: value.span(), value })
    }

    /// One value: string, number, path, function call or list. Reports nothing when
    /// no value starts here; the caller knows what was expected.
    pub(crate) fn expr(&mut self) -> Option<Expr<'s>> {
        let token = self.peek()?;
        match token.kind {
            TokenKind::Str => {
                self.pos += 1;
                let raw = self.text(token);
                let value = match self.unescape(raw) {
                    Ok(v) => v,
                    Err(offset) => {
                        let at = token.span.lo() + offset;
                        self.error("E0023", "unknown escape sequence in string", Span::new(at - 1, at + 1))
                            .label("not a valid escape")
                            .help("valid escapes are \\\" \\\\ \\n \\t \\r \\0 and \\uXXXX");
                        ""
                    }
                };
                Some(Expr::Str(value, token.span))
            }
            TokenKind::Number => {
                self.pos += 1;
                Some(Expr::Number(self.text(token), token.span))
            }
            TokenKind::Ident => {
                let (mut path, mut span) = self.path_parts()?;
                // Prisma's grammar lets a value's path end in a dot or skip a part (`ext.`,
                // `a..b`); only extension names take one, but all of them parse.
                while let Some(dot) = self.eat(TokenKind::Dot) {
                    span = self.extend_path(&mut path, span, dot.span);
                    if let Some(next) = self.eat(TokenKind::Ident) {
                        span = self.extend_path(&mut path, span, next.span);
                    }
                }
                if path.as_bytes().first().is_some_and(u8::is_ascii_digit) {
                    // `1length`: Prisma reads a number, then stray text.
                    self.error("E0031", format!("`{path}` is neither a number nor a name"), span)
                        .label("a name cannot start with a digit here");
                }
                let path = self.settle(path);
                if let Some(open) = self.eat(TokenKind::LParen) {
                    let (args, close, _) = self.arguments(open.span, TokenKind::RParen, false);
                    return Some(Expr::Call { name: Ident { name: path, span }, args, span: span.to(close) });
                }
                Some(Expr::Path(path, span))
            }
            TokenKind::LBracket => {
                self.pos += 1;
                let mut items = self.list();
                // Named elements are reported after the list, as their (rare) spans come in.
                let mut named = Vec::new();
                let (close, _) = self.items(token.span, TokenKind::RBracket, false, &mut items, |arg| {
                    if let Some(name) = arg.name {
                        named.push(name.span);
                    }
                    arg.value
                });
                for span in named {
                    self.error("E0024", "list elements cannot be named", span).label("remove this name and its `:`");
                }
                Some(Expr::Array(items.into_bump_slice(), token.span.to(close)))
            }
            TokenKind::ObjectOpen => {
                self.pos += 1;
                Some(self.object(token.span))
            }
            _ => None,
        }
    }

    /// The members of an object whose `{` (at `open`) has just been consumed, up to its `}`.
    /// As in Prisma's grammar: each key a name, each value present, commas between members
    /// and none after the last, all on one line.
    fn object(&mut self, open: Span) -> Expr<'s> {
        let mut members = self.list();
        if let Some(close) = self.eat(TokenKind::ObjectClose) {
            return Expr::Object(members.into_bump_slice(), open.to(close.span));
        }
        loop {
            let key = match (self.peek(), self.peek_at(1)) {
                (Some(key), Some(TokenKind::Colon)) if key.kind == TokenKind::Ident => key,
                _ => return self.unclosed_object(open, members, "expected `key: value`"),
            };
            self.pos += 2;
            let key = self.ident(key);
            let Some(value) = self.expr() else {
                return self.unclosed_object(open, members, "expected a value after `:`");
            };
            members.push(Member { key, value });
            if let Some(close) = self.eat(TokenKind::ObjectClose) {
                return Expr::Object(members.into_bump_slice(), open.to(close.span));
            }
            if self.eat(TokenKind::Comma).is_none() || self.at(TokenKind::ObjectClose) {
                return self.unclosed_object(open, members, "separate members with `,`, and end with `}`");
            }
        }
    }

    /// Reports a malformed object and skips to its `}` on this line, if any.
    fn unclosed_object(&mut self, open: Span, members: List<'s, Member<'s>>, label: &str) -> Expr<'s> {
        self.malformed_object = true;
        let span = self.here();
        let found = self.describe_here();
        self.error("E0032", format!("malformed object: found {found}"), span)
            .label(label.to_string())
            .secondary(open, "object opened here")
            .help("an object is `{ key: value, ... }` on one line, without a trailing comma");
        let close = self.skip_to_closer(open, TokenKind::ObjectClose);
        Expr::Object(members.into_bump_slice(), open.to(close))
    }
}
