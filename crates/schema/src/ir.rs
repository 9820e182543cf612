//! The semantic model (IR): a validated schema with every name resolved.
//!
//! This is the contract the rest of ssot builds on (`ssot inspect` prints it as JSON):
//! models with their fields, physical names, keys and indexes; enums; relations with
//! their shape, foreign keys and referential actions; and ssot's annotations as typed
//! values. Every item keeps the span of the text it came from.

use crate::annotations::Annotations;
use crate::span::Span;
pub use crate::syntax::ast::Arity;
use crate::syntax::ast::ModelKind;
use serde::Serialize;

/// Names in the IR: short, so stored inline (see [`crate::syntax::ast::Text`]).
pub use crate::syntax::ast::Text;

#[derive(Debug, Clone, Serialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct Schema {
    pub datasource: Option<Datasource>,
    pub generators: Vec<Generator>,
    pub models: Vec<Model>,
    pub enums: Vec<Enum>,
    pub relations: Vec<Relation>,
}

impl Schema {
    pub fn model(&self, name: &str) -> Option<&Model> {
        self.models.iter().find(|m| m.name == name)
    }

    pub fn enum_(&self, name: &str) -> Option<&Enum> {
        self.enums.iter().find(|e| e.name == name)
    }

    /// The model carrying `@@auth`, if any (validation allows at most one).
    pub fn auth_model(&self) -> Option<&Model> {
        self.models.iter().find(|m| m.annotations.auth.is_some())
    }

    pub fn provider(&self) -> Option<Provider> {
        self.datasource.as_ref().map(|d| d.provider)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Provider {
    Sqlite,
    Postgresql,
    Mysql,
    Sqlserver,
    Cockroachdb,
    Mongodb,
}

impl Provider {
    pub fn parse(name: &str) -> Option<Provider> {
        Some(match name {
            "sqlite" => Provider::Sqlite,
            "postgresql" | "postgres" => Provider::Postgresql,
            "mysql" => Provider::Mysql,
            "sqlserver" => Provider::Sqlserver,
            "cockroachdb" => Provider::Cockroachdb,
            "mongodb" => Provider::Mongodb,
            _ => return None,
        })
    }

    pub const NAMES: [&'static str; 7] =
        ["sqlite", "postgresql", "postgres", "mysql", "sqlserver", "cockroachdb", "mongodb"];

    /// The provider's name for people: "SQLite", "PostgreSQL", ...
    pub fn display_name(self) -> &'static str {
        match self {
            Provider::Sqlite => "SQLite",
            Provider::Postgresql => "PostgreSQL",
            Provider::Mysql => "MySQL",
            Provider::Sqlserver => "SQL Server",
            Provider::Cockroachdb => "CockroachDB",
            Provider::Mongodb => "MongoDB",
        }
    }

    pub fn supports_scalar_lists(self) -> bool {
        matches!(self, Provider::Postgresql | Provider::Cockroachdb | Provider::Mongodb)
    }

    pub fn supports_enums(self) -> bool {
        !matches!(self, Provider::Sqlserver)
    }

    pub fn supports_composite_types(self) -> bool {
        self == Provider::Mongodb
    }
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Datasource {
    pub name: Text,
    pub provider: Provider,
    /// `"prisma"` emulates foreign keys in the client; `"foreignKeys"` (the default) uses the database's.
    pub relation_mode: RelationMode,
    /// `schemas = [...]` (PostgreSQL multi-schema).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub schemas: Vec<Text>,
    pub span: Span,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum RelationMode {
    ForeignKeys,
    Prisma,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Generator {
    pub name: Text,
    pub provider: Text,
    pub preview_features: Vec<Text>,
    pub span: Span,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Model {
    pub name: Text,
    /// The table (or view) name: `@@map` or the model name.
    pub db_name: Text,
    /// The database schema (`@@schema`), when the datasource lists `schemas`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub schema: Option<Text>,
    pub kind: ModelKindIr,
    pub fields: Vec<Field>,
    pub primary_key: Option<PrimaryKey>,
    /// `@unique` fields and `@@unique` blocks, in that order.
    pub uniques: Vec<Index>,
    pub indexes: Vec<Index>,
    /// `@@ignore`: Prisma Client and ssot leave the model out of the API.
    pub ignored: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub documentation: Option<String>,
    pub annotations: Annotations,
    pub span: Span,
}

impl Model {
    pub fn field(&self, name: &str) -> Option<&Field> {
        self.fields.iter().find(|f| f.name == name)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ModelKindIr {
    Model,
    View,
    Type,
}

impl From<ModelKind> for ModelKindIr {
    fn from(kind: ModelKind) -> Self {
        match kind {
            ModelKind::Model => ModelKindIr::Model,
            ModelKind::View => ModelKindIr::View,
            ModelKind::Type => ModelKindIr::Type,
        }
    }
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Field {
    pub name: Text,
    /// The column name: `@map` or the field name.
    pub db_name: Text,
    #[serde(rename = "type")]
    pub ty: FieldType,
    pub arity: Arity,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub default: Option<DefaultValue>,
    pub is_id: bool,
    pub is_unique: bool,
    pub is_updated_at: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub native_type: Option<NativeType>,
    pub ignored: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub documentation: Option<String>,
    pub span: Span,
}

impl Field {
    pub fn is_relation(&self) -> bool {
        matches!(self.ty, FieldType::Relation { .. })
    }

    pub fn is_scalar_like(&self) -> bool {
        matches!(self.ty, FieldType::Scalar { .. } | FieldType::Enum { .. })
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum FieldType {
    Scalar {
        scalar: ScalarType,
    },
    Enum {
        name: Text,
    },
    /// `relation` indexes [`Schema::relations`].
    Relation {
        model: Text,
        relation: usize,
    },
    Composite {
        name: Text,
    },
    Unsupported {
        db_type: Text,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum ScalarType {
    String,
    Int,
    BigInt,
    Float,
    Decimal,
    Boolean,
    DateTime,
    Json,
    Bytes,
}

impl ScalarType {
    pub const ALL: [ScalarType; 9] = [
        ScalarType::String,
        ScalarType::Int,
        ScalarType::BigInt,
        ScalarType::Float,
        ScalarType::Decimal,
        ScalarType::Boolean,
        ScalarType::DateTime,
        ScalarType::Json,
        ScalarType::Bytes,
    ];

    pub fn parse(name: &str) -> Option<ScalarType> {
        Some(match name {
            "String" => ScalarType::String,
            "Int" => ScalarType::Int,
            "BigInt" => ScalarType::BigInt,
            "Float" => ScalarType::Float,
            "Decimal" => ScalarType::Decimal,
            "Boolean" => ScalarType::Boolean,
            "DateTime" => ScalarType::DateTime,
            "Json" => ScalarType::Json,
            "Bytes" => ScalarType::Bytes,
            _ => return None,
        })
    }

    pub fn name(self) -> &'static str {
        match self {
            ScalarType::String => "String",
            ScalarType::Int => "Int",
            ScalarType::BigInt => "BigInt",
            ScalarType::Float => "Float",
            ScalarType::Decimal => "Decimal",
            ScalarType::Boolean => "Boolean",
            ScalarType::DateTime => "DateTime",
            ScalarType::Json => "Json",
            ScalarType::Bytes => "Bytes",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum DefaultValue {
    /// A constant: string, number, boolean, or a list of them.
    Value { value: serde_json::Value },
    /// An enum value (or a list of them).
    Enum { values: Vec<Text> },
    /// `now()`, `uuid(7)`, `autoincrement()`, `dbgenerated("...")`, ...
    Function { name: Text, args: Vec<serde_json::Value> },
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct NativeType {
    pub name: Text,
    pub args: Vec<Text>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PrimaryKey {
    pub fields: Vec<Text>,
    /// Per-field options (`@@id([a(sort: Desc)])`): empty, or one entry per field.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub options: Vec<IndexFieldOptions>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<Text>,
    /// `map:`, or the derived `{table}_pkey` where the provider names primary keys.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub db_name: Option<Text>,
    pub span: Span,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Index {
    pub fields: Vec<Text>,
    /// Per-field options (`@@index([title(length: 10, sort: Desc)])`): empty, or one
    /// entry per field.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub options: Vec<IndexFieldOptions>,
    /// The client-side name (`name:`), for compound uniques.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<Text>,
    /// The constraint or index name in the database: `map:`, or the name Prisma derives
    /// (`User_email_key`), where the provider names them.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub db_name: Option<Text>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub index_type: Option<Text>,
    pub fulltext: bool,
    /// A partial index's condition (`where:`): the rows it covers.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub condition: Option<IndexCondition>,
    pub span: Span,
}

/// The `where:` of a partial index (the `partialIndexes` preview feature).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum IndexCondition {
    /// `raw("...")`: the database's own SQL, as written.
    Raw(Text),
    /// `{ field: value, ... }`: every condition holds.
    Fields(Vec<FieldCondition>),
}

/// `field: value` (equal) or `field: { not: value }` (not equal) in a partial index's
/// `where:`; `null` means `IS NULL` (`IS NOT NULL` negated).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FieldCondition {
    /// The field's name in the schema (its column is the field's `db_name`).
    pub field: Text,
    pub negated: bool,
    pub value: ConditionValue,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum ConditionValue {
    Null,
    Boolean(bool),
    String(Text),
    /// The number as written.
    Number(Text),
}

/// How one field takes part in an index or key.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct IndexFieldOptions {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sort: Option<SortOrder>,
    /// Prefix length (MySQL).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub length: Option<u32>,
    /// Operator class (PostgreSQL).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ops: Option<OperatorClass>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum OperatorClass {
    /// One Prisma knows by name, such as `JsonbPathOps`.
    Named(Text),
    /// `raw("...")`: the database's own name for it.
    Raw(Text),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum SortOrder {
    Asc,
    Desc,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum RelationKind {
    OneToOne,
    OneToMany,
    ManyToMany,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum ReferentialAction {
    Cascade,
    Restrict,
    NoAction,
    SetNull,
    SetDefault,
}

impl ReferentialAction {
    pub const NAMES: [&'static str; 5] = ["Cascade", "Restrict", "NoAction", "SetNull", "SetDefault"];

    pub fn parse(name: &str) -> Option<Self> {
        Some(match name {
            "Cascade" => ReferentialAction::Cascade,
            "Restrict" => ReferentialAction::Restrict,
            "NoAction" => ReferentialAction::NoAction,
            "SetNull" => ReferentialAction::SetNull,
            "SetDefault" => ReferentialAction::SetDefault,
            _ => return None,
        })
    }
}

/// One end of a relation: a relation field on a model (absent for a one-sided relation
/// to an ignored model).
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RelationEnd {
    pub model: Text,
    pub field: Text,
}

/// A relation between two models (or a model and itself).
///
/// For one-to-one and one-to-many, `referencing` is the side holding the foreign key
/// (`fields` are its columns, `references` the referenced model's unique fields) and
/// `referenced` the other. For many-to-many both ends are lists, and `join_table`
/// names Prisma's implicit table (`_AToB`, columns `A` and `B`).
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Relation {
    pub name: Text,
    pub kind: RelationKind,
    pub referencing: RelationEnd,
    pub referenced: RelationEnd,
    pub fields: Vec<Text>,
    pub references: Vec<Text>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub on_delete: Option<ReferentialAction>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub on_update: Option<ReferentialAction>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub db_name: Option<Text>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub join_table: Option<Text>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Enum {
    pub name: Text,
    pub db_name: Text,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub schema: Option<Text>,
    pub values: Vec<EnumValue>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub documentation: Option<String>,
    pub span: Span,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct EnumValue {
    pub name: Text,
    pub db_name: Text,
    pub span: Span,
}
