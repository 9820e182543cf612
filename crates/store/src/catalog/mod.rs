//! The physical database a schema describes: tables, columns, keys, indexes, foreign keys
//! and enum types, named exactly as Prisma Migrate names them.
//!
//! Following Prisma to the letter is what lets ssot serve a database Prisma migrated and
//! lets Prisma Client use one ssot created: the same table and column names (`@@map`,
//! `@map`), the same column types, the same implicit many-to-many tables (`_AToB` with
//! columns `A` and `B`) and the same constraint and index names.

use crate::dialect::Dialect;
use ssot_schema::ir::{
    Arity, DefaultValue, FieldType, Model, ModelKindIr, ReferentialAction, RelationKind, Schema, SortOrder,
};
use ssot_schema::validate::default_constraint_name;

mod columns;

use columns::{column_default, column_type};
pub use columns::{postgres_type, sqlite_type};

/// Every table, and on PostgreSQL every enum type, of one schema.
#[derive(Debug, Clone)]
pub struct Catalog {
    pub dialect: Dialect,
    pub tables: Vec<Table>,
    pub enums: Vec<EnumType>,
    /// PostgreSQL extensions the columns' types come from (`postgis` for `geography`).
    pub extensions: Vec<String>,
    /// The full-text indexes of the models with `@@search` (`search`): introspection
    /// leaves them empty, `search::ddl` reads the database's own.
    pub searches: Vec<crate::search::Index>,
}

#[derive(Debug, Clone)]
pub struct EnumType {
    pub name: String,
    pub schema: Option<String>,
    pub values: Vec<String>,
}

#[derive(Debug, Clone)]
pub struct Table {
    pub name: String,
    pub schema: Option<String>,
    /// The model it stores, or `None` for an implicit many-to-many join table.
    pub model: Option<String>,
    pub columns: Vec<Column>,
    pub primary_key: Option<Key>,
    pub indexes: Vec<IndexDef>,
    pub foreign_keys: Vec<ForeignKey>,
}

impl Table {
    pub fn column(&self, name: &str) -> Option<&Column> {
        self.columns.iter().find(|c| c.name == name)
    }
}

#[derive(Debug, Clone)]
pub struct Column {
    pub name: String,
    /// The SQL type as written in `CREATE TABLE` (`TEXT`, `VARCHAR(191)`, `"Role"`, `INTEGER[]`).
    pub sql_type: String,
    pub nullable: bool,
    /// A default the database applies (`DEFAULT ...` in the DDL).
    pub default: Option<String>,
    /// `autoincrement()`: `INTEGER PRIMARY KEY AUTOINCREMENT` on SQLite, `SERIAL` on PostgreSQL.
    pub autoincrement: bool,
}

#[derive(Debug, Clone)]
pub struct Key {
    pub name: Option<String>,
    pub columns: Vec<String>,
}

#[derive(Debug, Clone)]
pub struct IndexDef {
    pub name: String,
    pub unique: bool,
    pub columns: Vec<(String, Option<SortOrder>)>,
    /// PostgreSQL index method (`Hash`, `Gin`, ...), when not the default B-tree.
    pub method: Option<String>,
    /// A partial index's predicate, as [`crate::partial`] writes it.
    pub condition: Option<String>,
}

#[derive(Debug, Clone)]
pub struct ForeignKey {
    pub name: String,
    pub columns: Vec<String>,
    pub referenced_schema: Option<String>,
    pub referenced_table: String,
    pub referenced_columns: Vec<String>,
    pub on_delete: ReferentialAction,
    pub on_update: ReferentialAction,
}

/// Why a schema cannot be stored.
#[derive(Debug, thiserror::Error)]
pub enum CatalogError {
    #[error("the schema has no datasource, so there is no database to store it in")]
    NoDatasource,
    #[error("ssot stores data in SQLite and PostgreSQL; this schema's provider is {0}")]
    UnsupportedProvider(&'static str),
    #[error("`@@search(engine: {engine})` on `{model}` does not run on {database}: use `auto`")]
    SearchEngine { model: String, engine: &'static str, database: &'static str },
}

impl Catalog {
    pub fn of(schema: &Schema) -> Result<Catalog, CatalogError> {
        let provider = schema.provider().ok_or(CatalogError::NoDatasource)?;
        let dialect = Dialect::of(provider).ok_or(CatalogError::UnsupportedProvider(provider.display_name()))?;
        let searches = crate::search::indexes(schema, dialect)?;
        Ok(Catalog { searches, ..Catalog::for_dialect(schema, dialect) })
    }

    /// The catalog of `schema` in `dialect`, whatever the schema's own provider.
    pub fn for_dialect(schema: &Schema, dialect: Dialect) -> Catalog {
        let enums = match dialect {
            Dialect::Postgres => schema
                .enums
                .iter()
                .map(|e| EnumType {
                    name: e.db_name.to_string(),
                    schema: e.schema.as_ref().map(ToString::to_string),
                    values: e.values.iter().map(|v| v.db_name.to_string()).collect(),
                })
                .collect(),
            Dialect::Sqlite => Vec::new(),
        };
        let mut tables: Vec<Table> = stored_models(schema).map(|model| model_table(schema, model, dialect)).collect();
        add_foreign_keys(schema, &mut tables);
        tables.extend(join_tables(schema, dialect));
        let extensions = if dialect == Dialect::Postgres { extensions(&tables) } else { Vec::new() };
        // An engine the dialect lacks is `Catalog::of`'s error; here it is no index.
        let searches = crate::search::indexes(schema, dialect).unwrap_or_default();
        Catalog { dialect, tables, enums, extensions, searches }
    }

    pub fn table(&self, name: &str) -> Option<&Table> {
        self.tables.iter().find(|t| t.name == name)
    }

    pub fn model_table(&self, model: &str) -> Option<&Table> {
        self.tables.iter().find(|t| t.model.as_deref() == Some(model))
    }
}

/// Extensions that provide column types PostgreSQL lacks out of the box: a schema
/// with `Unsupported("geography")` works once PostGIS is there, so migrations create it.
fn extensions(tables: &[Table]) -> Vec<String> {
    const PROVIDERS: [(&str, &str); 6] = [
        ("geography", "postgis"),
        ("geometry", "postgis"),
        ("citext", "citext"),
        ("hstore", "hstore"),
        ("ltree", "ltree"),
        ("vector", "vector"),
    ];
    let mut out: Vec<String> = Vec::new();
    for column in tables.iter().flat_map(|t| &t.columns) {
        let ty = column.sql_type.to_ascii_lowercase();
        let base = ty.rsplit('.').next().unwrap_or(&ty).trim_matches('"');
        let base = base.split(['(', '[']).next().unwrap_or(base).trim();
        for (type_name, extension) in PROVIDERS {
            if base == type_name && !out.iter().any(|e| e == extension) {
                out.push(extension.to_string());
            }
        }
    }
    out
}

/// Models that have a table: not views or composite types, not `@@ignore`d.
pub fn stored_models(schema: &Schema) -> impl Iterator<Item = &Model> {
    schema.models.iter().filter(|m| m.kind == ModelKindIr::Model && !m.ignored)
}

fn model_table(schema: &Schema, model: &Model, dialect: Dialect) -> Table {
    let pk_fields: Vec<&str> =
        model.primary_key.as_ref().map(|pk| pk.fields.iter().map(|f| f.as_str()).collect()).unwrap_or_default();
    let columns = model
        .fields
        .iter()
        .filter(|f| !f.is_relation() && !matches!(f.ty, FieldType::Composite { .. }))
        .map(|field| {
            let autoincrement =
                matches!(&field.default, Some(DefaultValue::Function { name, .. }) if name == "autoincrement");
            Column {
                name: field.db_name.to_string(),
                sql_type: column_type(schema, field, dialect, autoincrement),
                nullable: field.arity == Arity::Optional,
                default: column_default(schema, field, dialect),
                autoincrement,
            }
        })
        .collect();
    let primary_key = model.primary_key.as_ref().map(|pk| Key {
        name: pk.db_name.as_ref().map(ToString::to_string),
        columns: pk_fields.iter().map(|f| column_of(model, f)).collect(),
    });
    let index = |index: &ssot_schema::ir::Index, unique: bool| IndexDef {
        name: index.db_name.as_ref().map(ToString::to_string).unwrap_or_default(),
        unique,
        columns: index
            .fields
            .iter()
            .enumerate()
            .map(|(i, f)| (column_of(model, f), index.options.get(i).and_then(|o| o.sort)))
            .collect(),
        method: index.index_type.as_ref().map(ToString::to_string),
        condition: index.condition.as_ref().map(|c| crate::partial::condition_sql(schema, model, c, dialect)),
    };
    let indexes = model
        .uniques
        .iter()
        .map(|u| index(u, true))
        .chain(model.indexes.iter().filter(|i| !i.fulltext).map(|i| index(i, false)))
        .collect();
    Table {
        name: model.db_name.to_string(),
        schema: model.schema.as_ref().map(ToString::to_string),
        model: Some(model.name.to_string()),
        columns,
        primary_key,
        indexes,
        foreign_keys: Vec::new(),
    }
}

/// The column a scalar field is stored in.
pub fn column_of(model: &Model, field: &str) -> String {
    model.field(field).map_or_else(|| field.to_string(), |f| f.db_name.to_string())
}

fn action_or(action: Option<ReferentialAction>, default: ReferentialAction) -> ReferentialAction {
    action.unwrap_or(default)
}

fn add_foreign_keys(schema: &Schema, tables: &mut [Table]) {
    let relation_mode_prisma =
        schema.datasource.as_ref().is_some_and(|d| d.relation_mode == ssot_schema::ir::RelationMode::Prisma);
    if relation_mode_prisma {
        return;
    }
    for relation in &schema.relations {
        if relation.kind == RelationKind::ManyToMany || relation.fields.is_empty() {
            continue;
        }
        let (Some(referencing), Some(referenced)) =
            (schema.model(&relation.referencing.model), schema.model(&relation.referenced.model))
        else {
            continue;
        };
        if !stored_models(schema).any(|m| m.name == referenced.name) {
            continue;
        }
        let columns: Vec<String> = relation.fields.iter().map(|f| column_of(referencing, f)).collect();
        let column_refs: Vec<&str> = columns.iter().map(String::as_str).collect();
        let name = relation.db_name.as_ref().map(ToString::to_string).unwrap_or_else(|| {
            default_constraint_name(
                &mut String::new(),
                &referencing.db_name,
                column_refs.iter().copied(),
                "fkey",
                usize::MAX,
            )
            .to_string()
        });
        // Prisma's defaults: a required relation restricts deletes, an optional one sets null.
        let optional = relation.fields.iter().any(|f| referencing.field(f).is_some_and(|f| f.arity == Arity::Optional));
        let on_delete = action_or(
            relation.on_delete,
            if optional { ReferentialAction::SetNull } else { ReferentialAction::Restrict },
        );
        let on_update = action_or(relation.on_update, ReferentialAction::Cascade);
        let fk = ForeignKey {
            name,
            columns,
            referenced_schema: referenced.schema.as_ref().map(ToString::to_string),
            referenced_table: referenced.db_name.to_string(),
            referenced_columns: relation.references.iter().map(|f| column_of(referenced, f)).collect(),
            on_delete,
            on_update,
        };
        if let Some(table) = tables.iter_mut().find(|t| t.model.as_deref() == Some(referencing.name.as_str())) {
            table.foreign_keys.push(fk);
        }
    }
}

/// The implicit many-to-many tables: `_AToB` (or `_Name` for a named relation), column
/// `A` referencing the model whose name sorts first, `B` the other, with Prisma's
/// unique (SQLite) or primary key (PostgreSQL) and index on `B`.
fn join_tables(schema: &Schema, dialect: Dialect) -> Vec<Table> {
    let mut out = Vec::new();
    for relation in schema.relations.iter().filter(|r| r.kind == RelationKind::ManyToMany) {
        let Some(table_name) = relation.join_table.as_ref() else { continue };
        let (first, second) = if relation.referencing.model <= relation.referenced.model {
            (&relation.referencing.model, &relation.referenced.model)
        } else {
            (&relation.referenced.model, &relation.referencing.model)
        };
        let (Some(a), Some(b)) = (schema.model(first), schema.model(second)) else { continue };
        let id_column = |model: &Model| -> Option<(String, String)> {
            let pk = model.primary_key.as_ref()?;
            let field = model.field(pk.fields.first()?)?;
            let mut sql_type = column_type(schema, field, dialect, false);
            sql_type = match sql_type.as_str() {
                "SERIAL" => "INTEGER".to_string(),
                "BIGSERIAL" => "BIGINT".to_string(),
                "SMALLSERIAL" => "SMALLINT".to_string(),
                _ => sql_type,
            };
            Some((field.db_name.to_string(), sql_type))
        };
        let (Some((a_id, a_type)), Some((b_id, b_type))) = (id_column(a), id_column(b)) else { continue };
        let name = table_name.to_string();
        let column = |n: &str, t: String| Column {
            name: n.to_string(),
            sql_type: t,
            nullable: false,
            default: None,
            autoincrement: false,
        };
        let fk = |col: &str, model: &Model, id: String| ForeignKey {
            name: format!("{name}_{col}_fkey"),
            columns: vec![col.to_string()],
            referenced_schema: model.schema.as_ref().map(ToString::to_string),
            referenced_table: model.db_name.to_string(),
            referenced_columns: vec![id],
            on_delete: ReferentialAction::Cascade,
            on_update: ReferentialAction::Cascade,
        };
        let (primary_key, mut indexes) = match dialect {
            Dialect::Postgres => {
                (Some(Key { name: Some(format!("{name}_AB_pkey")), columns: vec!["A".into(), "B".into()] }), Vec::new())
            }
            Dialect::Sqlite => (
                None,
                vec![IndexDef {
                    name: format!("{name}_AB_unique"),
                    unique: true,
                    columns: vec![("A".into(), None), ("B".into(), None)],
                    method: None,
                    condition: None,
                }],
            ),
        };
        indexes.push(IndexDef {
            name: format!("{name}_B_index"),
            unique: false,
            columns: vec![("B".into(), None)],
            method: None,
            condition: None,
        });
        out.push(Table {
            name: name.clone(),
            schema: a.schema.as_ref().map(ToString::to_string),
            model: None,
            columns: vec![column("A", a_type), column("B", b_type)],
            primary_key,
            indexes,
            foreign_keys: if schema
                .datasource
                .as_ref()
                .is_some_and(|d| d.relation_mode == ssot_schema::ir::RelationMode::Prisma)
            {
                Vec::new()
            } else {
                vec![fk("A", a, a_id), fk("B", b, b_id)]
            },
        });
    }
    out
}
