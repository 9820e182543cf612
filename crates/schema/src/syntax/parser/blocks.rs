//! Block bodies: models (and views and composite types) with their fields, enums, and
//! `datasource`/`generator` properties.

use super::{List, Parser, BLOCK_KEYWORDS};
use crate::syntax::ast::*;
use crate::syntax::lexer::{Token, TokenKind};

impl<'s> Parser<'s, '_> {
    /// `model B {` and the like: the start of the next block, which ends an unclosed one.
    // Inlined, as are the shared body lines: they are asked about at every line of a body.
    #[inline(always)]
    fn starts_block(&self, token: Token) -> bool {
        token.kind == TokenKind::Ident
            && self.peek_at(2) == Some(TokenKind::LBrace)
            && BLOCK_KEYWORDS.contains(&self.text(token))
    }

    /// The lines models and enums treat alike: blank lines, doc comments (gathered for
    /// what follows) and `@@` attributes. Returns whether `token` was one of them.
    #[inline(always)]
    fn body_line(
        &mut self,
        token: Token,
        pending_doc: &mut List<'s, DocLine<'s>>,
        attributes: &mut List<'s, Attribute<'s>>,
    ) -> bool {
        match token.kind {
            TokenKind::Newline => self.pos += 1,
            TokenKind::DocComment => {
                pending_doc.push(self.doc_line(token));
                self.pos += 1;
            }
            TokenKind::AtAt => {
                self.pos += 1;
                let doc = self.take(pending_doc);
                self.attribute(token, doc, attributes);
                self.expect_line_end("a block attribute");
            }
            _ => return false,
        }
        true
    }

    // ---- models ----------------------------------------------------------------------

    pub(super) fn model_body(
        &mut self,
        kind: ModelKind,
        keyword: Token,
        name: Ident<'s>,
        doc: &'s [DocLine<'s>],
    ) -> ModelAst<'s> {
        // Room for a typical model's fields from the start: growing from 4 moved every
        // (large) field three times over before a model's 16th field.
        let mut fields = self.list_with_capacity(16);
        let mut attributes = self.list();
        let mut pending_doc = self.list();
        while let Some(token) = self.peek() {
            match token.kind {
                TokenKind::RBrace => break,
                // A new block starts: the current one lacks its `}`.
                _ if self.starts_block(token) => break,
                TokenKind::Ident => {
                    let doc = self.take(&mut pending_doc);
                    self.field(doc, &mut fields);
                }
                TokenKind::At => {
                    let span = token.span;
                    self.error("E0012", "a field attribute needs a field", span)
                        .label("`@` attributes go after a field's type on the same line")
                        .help("for an attribute of the whole block, write `@@`");
                    self.recover_line();
                }
                _ if self.body_line(token, &mut pending_doc, &mut attributes) => {}
                _ => {
                    let found = self.describe_here();
                    let span = token.span;
                    self.error("E0013", format!("unexpected {found} in {} `{}`", kind.keyword(), name.name), span)
                        .label("expected a field, a `@@` attribute or `}`");
                    self.recover_line();
                }
            }
        }
        let span = self.close_block(keyword, &name);
        ModelAst {
            kind,
            keyword_span: keyword.span,
            name,
            fields: fields.into_bump_slice(),
            attributes: attributes.into_bump_slice(),
            doc,
            inner_doc: pending_doc.into_bump_slice(),
            span,
        }
    }

    /// A field line, pushed onto `fields` (a large value: returning it cost a copy more).
    pub(super) fn field(&mut self, doc: &'s [DocLine<'s>], fields: &mut List<'s, FieldAst<'s>>) {
        let Some(name_token) = self.bump() else { return };
        let name = self.ident(name_token);
        if let Some(colon) = self.eat(TokenKind::Colon) {
            self.error("E0014", "field declarations take no `:`", colon.span)
                .label("remove this colon")
                .help(format!("write `{} Type`", name.name));
        }
        let ty = match self.peek_kind() {
            Some(TokenKind::Ident) => self.field_type(),
            _ => {
                let span = name.span;
                let found = self.describe_here();
                self.error("E0015", format!("field `{}` has no type", name.name), span)
                    .label(format!("expected a type after the name, found {found}"))
                    .help(format!("write for example `{} String`", name.name));
                None
            }
        };
        let mut attributes = self.list_with_capacity(self.count_on_line(TokenKind::At));
        while let Some(at) = self.eat(TokenKind::At) {
            self.attribute(at, &[], &mut attributes);
        }
        let attributes = attributes.into_bump_slice();
        let last = self.tokens[self.pos.saturating_sub(1)].span;
        let span = name.span.to(last);
        if ty.is_some() {
            self.expect_line_end("a field");
        } else {
            self.recover_line();
        }
        fields.push(FieldAst { name, ty, attributes, doc, span });
    }

    pub(super) fn field_type(&mut self) -> Option<TypeAst<'s>> {
        let token = self.bump()?;
        let start = token.span;
        let name = if self.text(token) == "Unsupported" && self.at(TokenKind::LParen) {
            self.pos += 1;
            let db_type = match self.peek() {
                Some(t) if t.kind == TokenKind::Str => {
                    self.pos += 1;
                    self.unescape(self.text(t)).unwrap_or_default()
                }
                _ => {
                    let span = self.here();
                    self.error("E0016", "`Unsupported` takes the database type as a string", span)
                        .label("expected a string such as \"circle\"");
                    ""
                }
            };
            if self.eat(TokenKind::RParen).is_none() {
                let span = self.here();
                self.error("E0017", "expected `)` to close `Unsupported(`", span).label("expected `)`");
                return None;
            }
            let span = start.to(self.tokens[self.pos - 1].span);
            TypeName::Unsupported { db_type, span }
        } else {
            TypeName::Named(self.ident(token))
        };
        let mut arity = Arity::Required;
        if self.eat(TokenKind::Question).is_some() {
            arity = Arity::Optional;
        } else if self.at(TokenKind::LBracket) && self.peek_at(1) == Some(TokenKind::RBracket) {
            let open = self.tokens[self.pos].span;
            let close = self.tokens[self.pos + 1].span;
            if open.end != close.start {
                self.error("E0028", "`[]` must be written without a space inside", open.to(close)).label("write `[]`");
            }
            self.pos += 2;

            arity = Arity::List;
            if let Some(q) = self.eat(TokenKind::Question) {
                self.error("E0018", "optional lists are not supported", q.span)
                    .label("remove this `?`")
                    .help("a list field is never null: an absent list is an empty list");
            }
        } else if self.at(TokenKind::Other) && self.peek().is_some_and(|t| self.text(t) == "!") {
            let t = self.bump()?;
            self.error("E0019", "`!` is legacy syntax: fields are required by default", t.span)
                .label("remove this `!`");
        }
        let span = start.to(self.tokens[self.pos - 1].span);
        Some(TypeAst { name, arity, span })
    }

    // ---- enums and config blocks -----------------------------------------------------

    pub(super) fn enum_body(&mut self, keyword: Token, name: Ident<'s>, doc: &'s [DocLine<'s>]) -> EnumAst<'s> {
        let mut values = self.list();
        let mut attributes = self.list();
        let mut pending_doc = self.list();
        while let Some(token) = self.peek() {
            match token.kind {
                TokenKind::RBrace => break,
                _ if self.starts_block(token) => break,
                _ if self.body_line(token, &mut pending_doc, &mut attributes) => {}
                TokenKind::Ident => {
                    self.pos += 1;
                    let value_name = self.ident(token);
                    let mut value_attributes = self.list();
                    while let Some(at) = self.eat(TokenKind::At) {
                        self.attribute(at, &[], &mut value_attributes);
                    }
                    let span = token.span.to(self.tokens[self.pos - 1].span);
                    self.expect_line_end("an enum value");
                    values.push(EnumValueAst {
                        name: value_name,
                        attributes: value_attributes.into_bump_slice(),
                        doc: self.take(&mut pending_doc),
                        span,
                    });
                }
                _ => {
                    let found = self.describe_here();
                    let span = token.span;
                    self.error("E0013", format!("unexpected {found} in enum `{}`", name.name), span)
                        .label("expected an enum value, a `@@` attribute or `}`");
                    self.recover_line();
                }
            }
        }
        let span = self.close_block(keyword, &name);
        EnumAst {
            keyword_span: keyword.span,
            name,
            values: values.into_bump_slice(),
            attributes: attributes.into_bump_slice(),
            doc,
            span,
        }
    }

    pub(super) fn config_body(
        &mut self,
        kind: ConfigKind,
        keyword: Token,
        name: Ident<'s>,
        doc: &'s [DocLine<'s>],
    ) -> ConfigBlock<'s> {
        let mut properties = self.list();
        while let Some(token) = self.peek() {
            match token.kind {
                TokenKind::RBrace => break,
                TokenKind::Newline | TokenKind::DocComment => self.pos += 1,
                _ if self.starts_block(token) => break,
                // Prisma takes a whole number for a key too (`0 = "x"`), as for block names.
                TokenKind::Ident | TokenKind::Number
                    if token.kind == TokenKind::Ident || self.text(token).bytes().all(|b| b.is_ascii_digit()) =>
                {
                    self.pos += 1;
                    let key = self.ident(token);
                    if self.eat(TokenKind::Equals).is_none() {
                        let span = self.here();
                        let found = self.describe_here();
                        self.error("E0025", format!("expected `=` after `{}`, found {found}", key.name), span)
                            .label("properties are written `key = value`");
                        self.recover_line();
                        continue;
                    }
                    let value = self.expr();
                    if value.is_none() {
                        let span = self.here();
                        self.error("E0022", format!("property `{}` has no value", key.name), span)
                            .label("expected a value");
                    }
                    let end = value.as_ref().map_or(key.span, Expr::span);
                    properties.push(Property { span: key.span.to(end), key, value });
                    self.expect_line_end("a property");
                }
                _ => {
                    let found = self.describe_here();
                    let span = token.span;
                    self.error("E0013", format!("unexpected {found} in `{}`", name.name), span)
                        .label("expected `key = value` or `}`");
                    self.recover_line();
                }
            }
        }
        let span = self.close_block(keyword, &name);
        ConfigBlock { kind, keyword_span: keyword.span, name, properties: properties.into_bump_slice(), doc, span }
    }
}
