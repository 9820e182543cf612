//! Recursive-descent parser for the Prisma Schema Language, with error recovery.
//!
//! Prisma is line-oriented: a field, an enum value, a block attribute and a
//! `key = value` property each take one line (attribute arguments may span several).
//! So recovery is simple and effective: on an error, report it, skip to the end of the
//! line (or over a whole unknown block at the top level) and carry on. One run reports
//! every syntax error.

use super::ast::Text;
use super::ast::*;
use super::lexer::{self, Token, TokenKind};
use crate::diagnostic::{did_you_mean, Diagnostic, Diagnostics, Report};
use crate::span::Span;

const BLOCK_KEYWORDS: [&str; 6] = ["model", "enum", "view", "type", "datasource", "generator"];

/// Parses a whole schema. Never fails: problems land in `diagnostics`.
pub fn parse(source: &str, diagnostics: &mut Diagnostics) -> SchemaAst {
    let tokens = lexer::lex(source, 0, diagnostics);
    Parser::new(source, tokens, diagnostics).schema()
}

/// Parses one expression (an annotation or attribute argument value) from tokens.
pub(crate) struct Parser<'s, 'd> {
    source: &'s str,
    tokens: Vec<Token>,
    pos: usize,
    diagnostics: &'d mut Diagnostics,
    /// The current block was opened with content on the `{` line (reported once);
    /// its `}` on a content line is then not reported again.
    one_line_block: bool,
}

impl<'s, 'd> Parser<'s, 'd> {
    pub(crate) fn new(source: &'s str, tokens: Vec<Token>, diagnostics: &'d mut Diagnostics) -> Self {
        Parser { source, tokens, pos: 0, diagnostics, one_line_block: false }
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

    fn text(&self, token: Token) -> &'s str {
        token.span.slice(self.source)
    }

    fn ident(&self, token: Token) -> Ident {
        Ident { name: Text::from(self.text(token)), span: token.span }
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
    fn expect_line_end(&mut self, what: &str) {
        match self.peek_kind() {
            None | Some(TokenKind::Newline) => {
                self.bump();
            }
            Some(TokenKind::RBrace) if self.one_line_block => {}
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

    fn schema(mut self) -> SchemaAst {
        let mut items = Vec::new();
        let mut doc = Vec::new();
        while let Some(token) = self.peek() {
            match token.kind {
                TokenKind::Newline => self.pos += 1,
                TokenKind::DocComment => {
                    doc.push(self.doc_line(token));
                    self.pos += 1;
                }
                TokenKind::Ident if BLOCK_KEYWORDS.contains(&self.text(token)) => {
                    let doc = std::mem::take(&mut doc);
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
        SchemaAst { items }
    }

    fn doc_line(&self, token: Token) -> DocLine {
        DocLine { text: Text::from(self.text(token)), span: token.span }
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
        // Skip the rest of the line, and the whole `{ ... }` block if the line opens one.
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

    fn block(&mut self, doc: Vec<DocLine>) -> Option<Item> {
        self.one_line_block = false;
        let keyword = self.bump()?;

        let keyword_text = self.text(keyword);
        let name = match self.peek() {
            Some(t) if t.kind == TokenKind::Ident => {
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
        if !matches!(self.peek_kind(), Some(TokenKind::Newline) | None) {
            let span = self.here();
            self.error("E0008", "a block's body must start on a new line", span)
                .label("expected a line break after `{`")
                .help("put each field, value or property on its own line");
            self.one_line_block = true;
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

    /// After a malformed block header: skip to and over the block if one opens on this line.
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
            Some(t) => {
                let end = t.span;
                match self.peek_kind() {
                    None | Some(TokenKind::Newline) => {}
                    Some(_) => {
                        let span = self.here();
                        self.error("E0011", "unexpected text after the closing `}`", span)
                            .label("expected the end of the line");
                        self.recover_line();
                    }
                }
                keyword.span.to(end)
            }
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

    // ---- models ----------------------------------------------------------------------

    fn model_body(&mut self, kind: ModelKind, keyword: Token, name: Ident, doc: Vec<DocLine>) -> ModelAst {
        let mut fields = Vec::new();
        let mut attributes = Vec::new();
        let mut pending_doc = Vec::new();
        while let Some(token) = self.peek() {
            match token.kind {
                TokenKind::RBrace => break,
                TokenKind::Newline => self.pos += 1,
                TokenKind::DocComment => {
                    pending_doc.push(self.doc_line(token));
                    self.pos += 1;
                }
                TokenKind::AtAt => {
                    self.pos += 1;
                    let doc = std::mem::take(&mut pending_doc);
                    attributes.push(self.attribute(token, doc));
                    self.expect_line_end("a block attribute");
                }
                TokenKind::Ident
                    if self.peek_at(2) == Some(TokenKind::LBrace) && BLOCK_KEYWORDS.contains(&self.text(token)) =>
                {
                    // A new block starts: the current one lacks its `}`.
                    break;
                }
                TokenKind::Ident => {
                    let doc = std::mem::take(&mut pending_doc);
                    if let Some(field) = self.field(doc) {
                        fields.push(field);
                    }
                }
                TokenKind::At => {
                    let span = token.span;
                    self.error("E0012", "a field attribute needs a field", span)
                        .label("`@` attributes go after a field's type on the same line")
                        .help("for an attribute of the whole block, write `@@`");
                    self.recover_line();
                }
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
        ModelAst { kind, keyword_span: keyword.span, name, fields, attributes, doc, inner_doc: pending_doc, span }
    }

    fn field(&mut self, doc: Vec<DocLine>) -> Option<FieldAst> {
        let name_token = self.bump()?;
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
        let mut attributes = Vec::new();
        while let Some(at) = self.eat(TokenKind::At) {
            attributes.push(self.attribute(at, Vec::new()));
        }
        let last = self.tokens[self.pos.saturating_sub(1)].span;
        let span = name.span.to(last);
        if ty.is_some() {
            self.expect_line_end("a field");
        } else {
            self.recover_line();
        }
        Some(FieldAst { name, ty, attributes, doc, span })
    }

    fn field_type(&mut self) -> Option<TypeAst> {
        let token = self.bump()?;
        let start = token.span;
        let name = if self.text(token) == "Unsupported" && self.at(TokenKind::LParen) {
            self.pos += 1;
            let db_type = match self.peek() {
                Some(t) if t.kind == TokenKind::Str => {
                    self.pos += 1;
                    lexer::unescape(self.text(t)).unwrap_or_default()
                }
                _ => {
                    let span = self.here();
                    self.error("E0016", "`Unsupported` takes the database type as a string", span)
                        .label("expected a string such as \"circle\"");
                    String::new()
                }
            };
            if self.eat(TokenKind::RParen).is_none() {
                let span = self.here();
                self.error("E0017", "expected `)` to close `Unsupported(`", span).label("expected `)`");
                return None;
            }
            let span = start.to(self.tokens[self.pos - 1].span);
            TypeName::Unsupported { db_type: db_type.into(), span }
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

    // ---- attributes and expressions ------------------------------------------------

    /// An attribute whose `@` or `@@` token (`at`) has just been consumed.
    fn attribute(&mut self, at: Token, doc: Vec<DocLine>) -> Attribute {
        let block = at.kind == TokenKind::AtAt;
        let name = match self.path() {
            Some((path, span)) => Ident { name: path, span },
            None => {
                let span = self.here();
                self.error("E0020", "expected an attribute name after `@`", span)
                    .label("expected a name such as `id` or `default`");
                Ident { name: Text::default(), span: at.span }
            }
        };
        let mut args = Vec::new();
        let mut args_span = None;
        let mut malformed = name.name.is_empty();
        if let Some(open) = self.eat(TokenKind::LParen) {
            let (parsed, close, ok) = self.arguments(open.span, TokenKind::RParen);
            args = parsed;
            args_span = Some(open.span.to(close));
            malformed |= !ok;
        }
        let end = args_span.unwrap_or(name.span);
        Attribute { name, block, args, args_span, malformed, doc, span: at.span.to(end) }
    }

    /// `ident(.ident)*`, returned as one dotted string.
    fn path(&mut self) -> Option<(Text, Span)> {
        let first = self.eat(TokenKind::Ident)?;
        let mut path = Text::from(self.text(first));

        let mut span = first.span;
        while self.at(TokenKind::Dot) && self.peek_at(1) == Some(TokenKind::Ident) {
            self.pos += 1;
            let next = self.bump()?;
            path.push('.');
            path.push_str(self.text(next));
            span = span.to(next.span);
        }
        Some((path, span))
    }

    /// Arguments up to `close`; returns them, the closing token's span, and whether the
    /// list was well-formed. Like Prisma, the list must stay on one line and takes no
    /// trailing comma.
    pub(crate) fn arguments(&mut self, open: Span, close: TokenKind) -> (Vec<Argument>, Span, bool) {
        let mut args = Vec::new();
        if let Some(t) = self.eat(close) {
            return (args, t.span, true);
        }
        loop {
            match self.argument() {
                Some(arg) => args.push(arg),
                None => return (args, self.unclosed(open, close), false),
            }
            if let Some(t) = self.eat(close) {
                return (args, t.span, true);
            }
            let Some(comma) = self.eat(TokenKind::Comma) else {
                return (args, self.unclosed(open, close), false);
            };
            if let Some(t) = self.eat(close) {
                self.error("E0026", "trailing commas are not allowed", comma.span).label("remove this comma");
                return (args, t.span, false);
            }
        }
    }

    fn unclosed(&mut self, open: Span, close: TokenKind) -> Span {
        let closer = if close == TokenKind::RParen { ")" } else { "]" };
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
    fn skip_to_closer(&mut self, open: Span, close: TokenKind) -> Span {
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

    fn argument(&mut self) -> Option<Argument> {
        if self.at(TokenKind::Ident) && self.peek_at(1) == Some(TokenKind::Colon) {
            let name_token = self.bump()?;
            let name = self.ident(name_token);
            self.pos += 1;
            let value = match self.expr() {
                Some(value) => value,
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
    pub(crate) fn expr(&mut self) -> Option<Expr> {
        let token = self.peek()?;
        match token.kind {
            TokenKind::Str => {
                self.pos += 1;
                let raw = self.text(token);
                let value = match lexer::unescape(raw) {
                    Ok(v) => v,
                    Err(offset) => {
                        let at = token.span.start + offset;
                        self.error("E0023", "unknown escape sequence in string", Span::new(at - 1, at + 1))
                            .label("not a valid escape")
                            .help("valid escapes are \\\" \\\\ \\n \\t \\r \\0 and \\uXXXX");
                        String::new()
                    }
                };
                Some(Expr::Str(value.into(), token.span))
            }
            TokenKind::Number => {
                self.pos += 1;
                Some(Expr::Number(Text::from(self.text(token)), token.span))
            }
            TokenKind::Ident => {
                let (path, span) = self.path()?;
                if let Some(open) = self.eat(TokenKind::LParen) {
                    let (args, close, _) = self.arguments(open.span, TokenKind::RParen);
                    return Some(Expr::Call { name: Ident { name: path, span }, args, span: span.to(close) });
                }
                Some(Expr::Path(path, span))
            }
            TokenKind::LBracket => {
                self.pos += 1;
                let (args, close, _) = self.arguments(token.span, TokenKind::RBracket);
                let mut items = Vec::with_capacity(args.len());
                for arg in args {
                    if let Some(name) = &arg.name {
                        self.error("E0024", "list elements cannot be named", name.span)
                            .label("remove this name and its `:`");
                    }
                    items.push(arg.value);
                }
                Some(Expr::Array(items, token.span.to(close)))
            }
            _ => None,
        }
    }

    // ---- enums and config blocks -----------------------------------------------------

    fn enum_body(&mut self, keyword: Token, name: Ident, doc: Vec<DocLine>) -> EnumAst {
        let mut values = Vec::new();
        let mut attributes = Vec::new();
        let mut pending_doc = Vec::new();
        while let Some(token) = self.peek() {
            match token.kind {
                TokenKind::RBrace => break,
                TokenKind::Newline => self.pos += 1,
                TokenKind::DocComment => {
                    pending_doc.push(self.doc_line(token));
                    self.pos += 1;
                }
                TokenKind::AtAt => {
                    self.pos += 1;
                    let doc = std::mem::take(&mut pending_doc);
                    attributes.push(self.attribute(token, doc));
                    self.expect_line_end("a block attribute");
                }
                TokenKind::Ident
                    if self.peek_at(2) == Some(TokenKind::LBrace) && BLOCK_KEYWORDS.contains(&self.text(token)) =>
                {
                    break
                }
                TokenKind::Ident => {
                    self.pos += 1;
                    let value_name = self.ident(token);
                    let mut value_attributes = Vec::new();
                    while let Some(at) = self.eat(TokenKind::At) {
                        value_attributes.push(self.attribute(at, Vec::new()));
                    }
                    let span = token.span.to(self.tokens[self.pos - 1].span);
                    self.expect_line_end("an enum value");
                    values.push(EnumValueAst {
                        name: value_name,
                        attributes: value_attributes,
                        doc: std::mem::take(&mut pending_doc),
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
        EnumAst { keyword_span: keyword.span, name, values, attributes, doc, span }
    }

    fn config_body(&mut self, kind: ConfigKind, keyword: Token, name: Ident, doc: Vec<DocLine>) -> ConfigBlock {
        let mut properties = Vec::new();
        while let Some(token) = self.peek() {
            match token.kind {
                TokenKind::RBrace => break,
                TokenKind::Newline | TokenKind::DocComment => self.pos += 1,
                TokenKind::Ident
                    if self.peek_at(2) == Some(TokenKind::LBrace) && BLOCK_KEYWORDS.contains(&self.text(token)) =>
                {
                    break
                }
                TokenKind::Ident => {
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
        ConfigBlock { kind, keyword_span: keyword.span, name, properties, doc, span }
    }
}

/// Suggests the block keyword a misspelt one was meant to be.
pub fn suggest_keyword(word: &str) -> Option<&'static str> {
    did_you_mean(word, BLOCK_KEYWORDS)
}
