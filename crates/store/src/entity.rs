//! The store's view of each model: the API's [`Shape`] (`ssot-shape`: resource names,
//! fields, ids, uniques, relations as links; re-exported here) and where each part of it
//! is stored: the table, a column per field and its type for casts, the join table of a
//! many-to-many relation, unique constraints by name, enum values as stored.
//!
//! Built once from the IR and the catalog; the query planner reads only this. It derefs
//! to its [`Shape`], so what reads the API's shape reads it the same here, and what
//! reads where things are stored says so (`es.storage[model]`, `es.column(model, field)`).

use crate::catalog::Catalog;
use crate::dialect::{qualified, Dialect};
use ssot_schema::ir::{FieldType, Schema};

pub use ssot_shape::{resource_name, Entity, EnumDef, Generated, Kind, Link, RelationField, ScalarField, Shape};

#[derive(Debug, Clone)]
pub struct Entities {
    /// The API's shape: every model served, its fields and relations.
    pub shape: Shape,
    pub dialect: Dialect,
    /// Where each entity is stored, by entity index.
    pub storage: Vec<Storage>,
    /// Each enum's values as stored, by enum index.
    pub stored_enums: Vec<StoredEnum>,
    /// `relationMode = "prisma"`: the database has no foreign keys, so ssot checks
    /// references on write and applies `onDelete` itself, as Prisma Client does.
    pub emulate_references: bool,
    /// How much relation filtering one request may ask for.
    pub limits: crate::query::args::QueryLimits,
}

impl std::ops::Deref for Entities {
    type Target = Shape;

    fn deref(&self) -> &Shape {
        &self.shape
    }
}

/// An enum's values: (API name, database name) pairs (`@map` on a value).
#[derive(Debug, Clone)]
pub struct StoredEnum {
    pub name: String,
    pub values: Vec<(String, String)>,
}

impl StoredEnum {
    pub fn to_db(&self, api: &str) -> Option<&str> {
        self.values.iter().find(|(a, _)| a == api).map(|(_, d)| d.as_str())
    }

    pub fn to_api<'a>(&'a self, db: &'a str) -> &'a str {
        self.values.iter().find(|(_, d)| d == db).map_or(db, |(a, _)| a.as_str())
    }
}

/// Where one entity's rows are stored.
#[derive(Debug, Clone)]
pub struct Storage {
    /// The table, quoted and qualified.
    pub table: String,
    pub table_name: String,
    /// Each scalar field's column, by field index.
    pub columns: Vec<FieldColumn>,
    /// Each relation's join table, by relation index (`Some` for a [`Link::Join`]).
    pub joins: Vec<Option<JoinTable>>,
    /// Unique constraints and indexes by database name, with their fields (to say which
    /// fields a violation is about).
    pub constraints: Vec<(String, Vec<usize>)>,
    /// The full-text index of a `@@search` model, and the field of each of its columns.
    pub search: Option<(crate::search::Index, Vec<usize>)>,
}

impl Storage {
    /// The field stored in `column`.
    pub fn field_by_column(&self, column: &str) -> Option<usize> {
        self.columns.iter().position(|c| c.name == column)
    }
}

/// A scalar field's column.
#[derive(Debug, Clone)]
pub struct FieldColumn {
    pub name: String,
    /// The column's type for casts on PostgreSQL (`integer`, `"Role"`, `varchar(191)`).
    pub cast: String,
}

/// The table of an implicit many-to-many relation: `this_column` holds this model's id
/// (the link's `local`), `other_column` the target's (`remote`). `table` is its SQL name,
/// `label` its bare name (as the change log names it).
#[derive(Debug, Clone)]
pub struct JoinTable {
    pub table: String,
    pub this_column: String,
    pub other_column: String,
    pub label: String,
}

impl Entities {
    pub fn new(schema: &Schema, catalog: &Catalog) -> Entities {
        let shape = Shape::new(schema);
        let stored_enums = schema
            .enums
            .iter()
            .map(|e| StoredEnum {
                name: e.name.to_string(),
                values: e.values.iter().map(|v| (v.name.to_string(), v.db_name.to_string())).collect(),
            })
            .collect();
        let storage = ssot_shape::served_models(schema)
            .into_iter()
            .zip(&shape.entities)
            .map(|(model, entity)| storage(schema, catalog, model, entity))
            .collect();
        let emulate_references =
            schema.datasource.as_ref().is_some_and(|d| d.relation_mode == ssot_schema::ir::RelationMode::Prisma);
        Entities {
            shape,
            dialect: catalog.dialect,
            storage,
            stored_enums,
            emulate_references,
            limits: Default::default(),
        }
    }

    /// The table of `model`, quoted and qualified.
    pub fn table(&self, model: usize) -> &str {
        &self.storage[model].table
    }

    /// The column of `field` of `model`.
    pub fn column(&self, model: usize, field: usize) -> &FieldColumn {
        &self.storage[model].columns[field]
    }

    /// The join table of `relation` of `model`, when it is a [`Link::Join`].
    pub fn join(&self, model: usize, relation: usize) -> Option<&JoinTable> {
        self.storage[model].joins.get(relation).and_then(Option::as_ref)
    }
}

fn storage(schema: &Schema, catalog: &Catalog, model: &ssot_schema::ir::Model, entity: &Entity) -> Storage {
    let table = catalog.model_table(&model.name);
    let columns = entity
        .fields
        .iter()
        .map(|f| {
            let column = model.field(&f.name).map_or_else(|| f.name.clone(), |f| f.db_name.to_string());
            let sql_type = table.and_then(|t| t.column(&column)).map(|c| c.sql_type.clone()).unwrap_or_default();
            FieldColumn { name: column, cast: cast_type(&sql_type) }
        })
        .collect();
    let index_of = |name: &str| entity.field(name);
    let key = |names: &[ssot_schema::ir::Text]| -> Option<Vec<usize>> { names.iter().map(|n| index_of(n)).collect() };
    let mut constraints = Vec::new();
    if let Some(pk) = &model.primary_key {
        let name = pk.db_name.as_ref().map_or_else(|| format!("{}_pkey", model.db_name), ToString::to_string);
        constraints.extend(key(&pk.fields).map(|k| (name, k)));
    }
    for unique in &model.uniques {
        if let (Some(name), Some(k)) = (&unique.db_name, key(&unique.fields)) {
            constraints.push((name.to_string(), k));
        }
    }
    let joins = entity.relations.iter().map(|r| join_table(schema, model, r)).collect();
    let search = catalog
        .searches
        .iter()
        .find(|i| i.table == model.db_name.as_str() && i.schema.as_deref() == model.schema.as_deref())
        .and_then(|index| {
            let fields: Option<Vec<usize>> =
                model.annotations.search.as_ref()?.fields.iter().map(|f| index_of(f)).collect();
            Some((index.clone(), fields?))
        });
    Storage {
        table: qualified(model.schema.as_deref(), &model.db_name),
        table_name: model.db_name.to_string(),
        columns,
        joins,
        constraints,
        search,
    }
}

/// The join table of `relation` (a field of `model`), when its link is one.
fn join_table(schema: &Schema, model: &ssot_schema::ir::Model, relation: &RelationField) -> Option<JoinTable> {
    if !matches!(relation.link, Link::Join { .. }) {
        return None;
    }
    let field = model.field(&relation.name)?;
    let FieldType::Relation { model: target_name, relation: index } = &field.ty else { return None };
    let ir = schema.relations.get(*index)?;
    let table = ir.join_table.as_ref()?;
    let this_first = if ir.referencing.model == ir.referenced.model {
        // A self-relation: the field that sorts first takes column A (as in Prisma).
        field.name == ir.referencing.field.as_str().min(ir.referenced.field.as_str())
    } else {
        model.name.as_str() <= target_name.as_str()
    };
    let (this_column, other_column) = if this_first { ("A", "B") } else { ("B", "A") };
    Some(JoinTable {
        table: qualified(model.schema.as_deref(), table),
        label: table.to_string(),
        this_column: this_column.to_string(),
        other_column: other_column.to_string(),
    })
}

/// The type to cast a text parameter to on PostgreSQL: the column type, with the
/// pseudo-types of `CREATE TABLE` (`SERIAL`) replaced by real ones.
fn cast_type(sql_type: &str) -> String {
    match sql_type {
        "SERIAL" => "INTEGER".to_string(),
        "BIGSERIAL" => "BIGINT".to_string(),
        "SMALLSERIAL" => "SMALLINT".to_string(),
        other => other.to_string(),
    }
}
