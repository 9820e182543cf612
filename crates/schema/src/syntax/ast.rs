//! The syntax tree of a Prisma schema: what was written, where, and nothing resolved yet.
//!
//! Lossless in the sense that matters downstream: every node keeps its byte span, and
//! `///` doc comments stay attached to the item they document (model, field, enum value,
//! block attribute), or to their block when nothing follows them inside it.

use crate::span::Span;

/// Text in the tree: names and literals are short, so they are stored inline (no heap
/// allocation up to 24 bytes), which is most of what parsing a schema allocates.
pub type Text = compact_str::CompactString;

#[derive(Debug, Clone, Default)]
pub struct SchemaAst {
    pub items: Vec<Item>,
}

#[derive(Debug, Clone)]
pub enum Item {
    Model(ModelAst),
    Enum(EnumAst),
    Config(ConfigBlock),
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

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ident {
    pub name: Text,
    pub span: Span,
}

/// One `///` line: its text after the slashes and that text's span.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DocLine {
    pub text: Text,
    pub span: Span,
}

#[derive(Debug, Clone)]
pub struct ModelAst {
    pub kind: ModelKind,
    pub keyword_span: Span,
    pub name: Ident,
    pub fields: Vec<FieldAst>,
    pub attributes: Vec<Attribute>,
    /// Doc comments above the block.
    pub doc: Vec<DocLine>,
    /// Doc comments inside the body that document no field (trailing ones, typically).
    pub inner_doc: Vec<DocLine>,
    pub span: Span,
}

#[derive(Debug, Clone)]
pub struct FieldAst {
    pub name: Ident,
    /// `None` when the type is missing (already reported).
    pub ty: Option<TypeAst>,
    pub attributes: Vec<Attribute>,
    pub doc: Vec<DocLine>,
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
pub struct TypeAst {
    pub name: TypeName,
    pub arity: Arity,
    pub span: Span,
}

#[derive(Debug, Clone)]
pub enum TypeName {
    Named(Ident),
    /// `Unsupported("...")`: the database type as written.
    Unsupported {
        db_type: Text,
        span: Span,
    },
}

#[derive(Debug, Clone)]
pub struct Attribute {
    /// `id`, `default`, `db.VarChar`, ... (without the `@`/`@@`).
    pub name: Ident,
    pub block: bool,
    pub args: Vec<Argument>,
    /// Span of the argument list's parentheses, when there are any.
    pub args_span: Option<Span>,
    /// The argument list had a syntax error (already reported): later stages skip
    /// checks that would only repeat it.
    pub malformed: bool,
    pub doc: Vec<DocLine>,
    pub span: Span,
}

impl Attribute {
    /// The first positional argument, or the named argument `name`.
    pub fn arg(&self, name: &str) -> Option<&Argument> {
        self.args.iter().find(|a| a.name.as_ref().is_some_and(|n| n.name == name)).or_else(|| self.positional(0))
    }

    pub fn positional(&self, index: usize) -> Option<&Argument> {
        self.args.iter().filter(|a| a.name.is_none()).nth(index)
    }

    pub fn named(&self, name: &str) -> Option<&Argument> {
        self.args.iter().find(|a| a.name.as_ref().is_some_and(|n| n.name == name))
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Argument {
    pub name: Option<Ident>,
    pub value: Expr,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    /// The decoded value and the literal's span (quotes included).
    Str(Text, Span),
    /// The number as written.
    Number(Text, Span),
    /// A name or dotted path: `Cascade`, `true`, `db.Text`.
    Path(Text, Span),
    Array(Vec<Expr>, Span),
    Call {
        name: Ident,
        args: Vec<Argument>,
        span: Span,
    },
    /// The missing value of a named argument written as `name:` (Prisma's grammar takes it;
    /// each attribute decides whether that is an error).
    Empty(Span),
    /// `{ key: value, ... }`: the latest Prisma's grammar takes one wherever a value goes;
    /// only a partial index's `where:` (and generator properties, which nothing reads) accept it.
    Object(Vec<Member>, Span),
}

/// One `key: value` of an [`Expr::Object`].
#[derive(Debug, Clone, PartialEq)]
pub struct Member {
    pub key: Ident,
    pub value: Expr,
}

impl Expr {
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
            Expr::Path(p, _) if p == "true" || p == "false" => "a boolean",
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
    pub fn as_list(&self) -> &[Expr] {
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
pub struct ConfigBlock {
    pub kind: ConfigKind,
    pub keyword_span: Span,
    pub name: Ident,
    pub properties: Vec<Property>,
    pub doc: Vec<DocLine>,
    pub span: Span,
}

#[derive(Debug, Clone)]
pub struct Property {
    pub key: Ident,
    /// `None` when the value is missing (already reported).
    pub value: Option<Expr>,
    pub span: Span,
}

impl ConfigBlock {
    pub fn property(&self, key: &str) -> Option<&Property> {
        self.properties.iter().find(|p| p.key.name == key)
    }
}

#[derive(Debug, Clone)]
pub struct EnumAst {
    pub keyword_span: Span,
    pub name: Ident,
    pub values: Vec<EnumValueAst>,
    pub attributes: Vec<Attribute>,
    pub doc: Vec<DocLine>,
    pub span: Span,
}

#[derive(Debug, Clone)]
pub struct EnumValueAst {
    pub name: Ident,
    pub attributes: Vec<Attribute>,
    pub doc: Vec<DocLine>,
    pub span: Span,
}
