//! The syntax tree of a Prisma schema: what was written, where, and nothing resolved yet.
//!
//! Lossless in the sense that matters downstream: every node keeps its byte span, and
//! `///` doc comments stay attached to the item they document (model, field, enum value,
//! block attribute), or to their block when nothing follows them inside it.

//!
//! The tree lives in an arena (`'a`, a [`bumpalo::Bump`] the caller owns) and borrows its
//! text from the source: names, doc lines, numbers, and string literals without escapes
//! are slices of it, lists are slices in the arena, and only text not written as one run
//! of the source (a string with escapes, a dotted path with blanks between its parts) is
//! copied, into the arena too. So no node owns anything: building the tree allocates
//! nothing from the heap beyond the arena's few chunks, and dropping it is freeing them.

use crate::span::Span;

/// Text in the IR, which outlives the source: names and literals are short, so they are
/// stored inline (no heap allocation up to 24 bytes).
pub type Text = compact_str::CompactString;

#[derive(Debug, Clone, Default)]
pub struct SchemaAst<'a> {
    pub items: &'a [Item<'a>],
}

#[derive(Debug, Clone)]
pub enum Item<'a> {
    Model(ModelAst<'a>),
    Enum(EnumAst<'a>),
    Config(ConfigBlock<'a>),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ModelKind {
    Model,
    View,
    /// A composite `type` block (MongoDB only).
    Type,
}

impl ModelKind {
    pub fn keyword(self) -> &'static str {
        match self {
            ModelKind::Model => "model",
            ModelKind::View => "view",
            ModelKind::Type => "type",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ident<'a> {
    pub name: &'a str,
    pub span: Span,
}

/// One `///` line: its text after the slashes and that text's span.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DocLine<'a> {
    pub text: &'a str,
    pub span: Span,
}

#[derive(Debug, Clone)]
pub struct ModelAst<'a> {
    pub kind: ModelKind,
    pub keyword_span: Span,
    pub name: Ident<'a>,
    pub fields: &'a [FieldAst<'a>],
    pub attributes: &'a [Attribute<'a>],
    /// Doc comments above the block.
    pub doc: &'a [DocLine<'a>],
    /// Doc comments inside the body that document no field (trailing ones, typically).
    pub inner_doc: &'a [DocLine<'a>],
    pub span: Span,
}

#[derive(Debug, Clone)]
pub struct FieldAst<'a> {
    pub name: Ident<'a>,
    /// `None` when the type is missing (already reported).
    pub ty: Option<TypeAst<'a>>,
    pub attributes: &'a [Attribute<'a>],
    pub doc: &'a [DocLine<'a>],
    pub span: Span,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Arity {
    Required,
    Optional,
    List,
}

#[derive(Debug, Clone)]
pub struct TypeAst<'a> {
    pub name: TypeName<'a>,
    pub arity: Arity,
    pub span: Span,
}

#[derive(Debug, Clone)]
pub enum TypeName<'a> {
    Named(Ident<'a>),
    /// `Unsupported("...")`: the database type as written.
    Unsupported {
        db_type: &'a str,
        span: Span,
    },
}

#[derive(Debug, Clone)]
pub struct Attribute<'a> {
    /// `id`, `default`, `db.VarChar`, ... (without the `@`/`@@`).
    pub name: Ident<'a>,
    pub block: bool,
    pub args: &'a [Argument<'a>],
    /// Span of the argument list's parentheses, when there are any.
    pub args_span: Option<Span>,
    /// The argument list had a syntax error (already reported): later stages skip
    /// checks that would only repeat it.
    pub malformed: bool,
    pub doc: &'a [DocLine<'a>],
    pub span: Span,
}

impl<'a> Attribute<'a> {
    /// The first positional argument, or the named argument `name`.
    pub fn arg(&self, name: &str) -> Option<&Argument<'a>> {
        self.args.iter().find(|a| a.name.as_ref().is_some_and(|n| n.name == name)).or_else(|| self.positional(0))
    }

    pub fn positional(&self, index: usize) -> Option<&Argument<'a>> {
        self.args.iter().filter(|a| a.name.is_none()).nth(index)
    }

    pub fn named(&self, name: &str) -> Option<&Argument<'a>> {
        self.args.iter().find(|a| a.name.as_ref().is_some_and(|n| n.name == name))
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Argument<'a> {
    pub name: Option<Ident<'a>>,
    pub value: Expr<'a>,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Expr<'a> {
    /// The decoded value and the literal's span (quotes included).
    Str(&'a str, Span),
    /// The number as written.
    Number(&'a str, Span),
    /// A name or dotted path: `Cascade`, `true`, `db.Text`.
    Path(&'a str, Span),
    Array(&'a [Expr<'a>], Span),
    Call {
        name: Ident<'a>,
        args: &'a [Argument<'a>],
        span: Span,
    },
    /// The missing value of a named argument written as `name:` (Prisma's grammar takes it;
    /// each attribute decides whether that is an error).
    Empty(Span),
    /// `{ key: value, ... }`: the latest Prisma's grammar takes one wherever a value goes;
    /// only a partial index's `where:` (and generator properties, which nothing reads) accept it.
    Object(&'a [Member<'a>], Span),
}

/// One `key: value` of an [`Expr::Object`].
#[derive(Debug, Clone, PartialEq)]
pub struct Member<'a> {
    pub key: Ident<'a>,
    pub value: Expr<'a>,
}

impl<'a> Expr<'a> {
    pub fn span(&self) -> Span {
        match self {
            Expr::Str(_, s)
            | Expr::Number(_, s)
            | Expr::Path(_, s)
            | Expr::Array(_, s)
            | Expr::Empty(s)
            | Expr::Object(_, s) => *s,
            Expr::Call { span, .. } => *span,
        }
    }

    /// A short description for messages: "a string", "a number", ...
    pub fn describe(&self) -> &'static str {
        match self {
            Expr::Str(..) => "a string",
            Expr::Number(..) => "a number",
            Expr::Path(p, _) if *p == "true" || *p == "false" => "a boolean",
            Expr::Path(..) => "a name",
            Expr::Array(..) => "a list",
            Expr::Call { .. } => "a function call",
            Expr::Empty(_) => "nothing",
            Expr::Object(..) => "an object",
        }
    }

    pub fn as_str(&self) -> Option<&str> {
        match self {
            Expr::Str(s, _) => Some(s),
            _ => None,
        }
    }

    pub fn as_path(&self) -> Option<&str> {
        match self {
            Expr::Path(p, _) => Some(p),
            _ => None,
        }
    }

    /// The elements of a list, or the value itself as a one-element list
    /// (Prisma accepts `fields: id` for `fields: [id]` in a few places).
    pub fn as_list(&self) -> &[Expr<'a>] {
        match self {
            Expr::Array(items, _) => items,
            other => std::slice::from_ref(other),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConfigKind {
    Datasource,
    Generator,
}

/// A `datasource` or `generator` block: `key = value` lines.
#[derive(Debug, Clone)]
pub struct ConfigBlock<'a> {
    pub kind: ConfigKind,
    pub keyword_span: Span,
    pub name: Ident<'a>,
    pub properties: &'a [Property<'a>],
    pub doc: &'a [DocLine<'a>],
    pub span: Span,
}

#[derive(Debug, Clone)]
pub struct Property<'a> {
    pub key: Ident<'a>,
    /// `None` when the value is missing (already reported).
    pub value: Option<Expr<'a>>,
    pub span: Span,
}

impl<'a> ConfigBlock<'a> {
    pub fn property(&self, key: &str) -> Option<&Property<'a>> {
        self.properties.iter().find(|p| p.key.name == key)
    }
}

#[derive(Debug, Clone)]
pub struct EnumAst<'a> {
    pub keyword_span: Span,
    pub name: Ident<'a>,
    pub values: &'a [EnumValueAst<'a>],
    pub attributes: &'a [Attribute<'a>],
    pub doc: &'a [DocLine<'a>],
    pub span: Span,
}

#[derive(Debug, Clone)]
pub struct EnumValueAst<'a> {
    pub name: Ident<'a>,
    pub attributes: &'a [Attribute<'a>],
    pub doc: &'a [DocLine<'a>],
    pub span: Span,
}
