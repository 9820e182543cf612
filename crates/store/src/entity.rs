//! The API's view of each model: its resource name, its fields and columns, its
//! identifier, and how each relation field reaches the other model's rows.
//!
//! Built once from the IR and the catalog; the query planner reads only this.

use crate::catalog::{stored_models, Catalog};
use crate::dialect::{qualified, Dialect};
use ssot_schema::ir::{Arity, DefaultValue, FieldType, Model, ReferentialAction, RelationKind, ScalarType, Schema};

#[derive(Debug, Clone)]
pub struct Entities {
    pub dialect: Dialect,
    pub entities: Vec<Entity>,
    pub enums: Vec<EnumDef>,
    /// `relationMode = "prisma"`: the database has no foreign keys, so ssot checks
    /// references on write and applies `onDelete` itself, as Prisma Client does.
    pub emulate_references: bool,
    /// How much relation filtering one request may ask for.
    pub limits: crate::query::args::QueryLimits,
}

#[derive(Debug, Clone)]
pub struct EnumDef {
    pub name: String,
    /// (API name, database name) pairs.
    pub values: Vec<(String, String)>,
}

impl EnumDef {
    pub fn to_db(&self, api: &str) -> Option<&str> {
        self.values.iter().find(|(a, _)| a == api).map(|(_, d)| d.as_str())
    }

    pub fn to_api<'a>(&'a self, db: &'a str) -> &'a str {
        self.values.iter().find(|(_, d)| d == db).map_or(db, |(a, _)| a.as_str())
    }
}

#[derive(Debug, Clone)]
pub struct Entity {
    pub name: String,
    /// Plural kebab-case: `QuizQuestion` → `quiz-questions`.
    pub resource: String,
    /// The table, quoted and qualified.
    pub table: String,
    pub table_name: String,
    pub fields: Vec<ScalarField>,
    pub relations: Vec<RelationField>,
    /// The fields that identify a row in URLs: the primary key, else the first unique
    /// made of required fields.
    pub id: Vec<usize>,
    /// Every set of fields that identifies one row (the id first), for `connect` and `cursor`.
    pub uniques: Vec<Vec<usize>>,
    /// Unique constraints and indexes by database name, with their fields (to say which
    /// fields a violation is about).
    pub constraints: Vec<(String, Vec<usize>)>,
}

impl Entity {
    pub fn field(&self, name: &str) -> Option<usize> {
        self.fields.iter().position(|f| f.name == name)
    }

    pub fn relation(&self, name: &str) -> Option<usize> {
        self.relations.iter().position(|r| r.name == name)
    }

    pub fn field_by_column(&self, column: &str) -> Option<&ScalarField> {
        self.fields.iter().find(|f| f.column == column)
    }

    pub fn field_names(&self) -> Vec<&str> {
        self.fields.iter().map(|f| f.name.as_str()).chain(self.relations.iter().map(|r| r.name.as_str())).collect()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Scalar(ScalarType),
    /// An index into [`Entities::enums`].
    Enum(usize),
}

/// How a value is made when a create leaves the field out.
#[derive(Debug, Clone, PartialEq)]
pub enum Generated {
    /// The database makes it (`autoincrement()`, `dbgenerated(...)`, `sequence()`).
    Database,
    Uuid {
        version: u8,
    },
    Cuid {
        version: u8,
    },
    Nanoid {
        length: usize,
    },
    Ulid,
    Now,
    /// A constant from `@default(...)`, as JSON in the API's terms.
    Value(serde_json::Value),
}

#[derive(Debug, Clone)]
pub struct ScalarField {
    pub name: String,
    pub column: String,
    pub kind: Kind,
    pub list: bool,
    pub optional: bool,
    pub default: Option<Generated>,
    pub updated_at: bool,
    /// The column's type for casts on PostgreSQL (`integer`, `"Role"`, `varchar(191)`).
    pub cast: String,
}

#[derive(Debug, Clone)]
pub struct RelationField {
    pub name: String,
    /// An index into [`Entities::entities`].
    pub target: usize,
    pub list: bool,
    pub optional: bool,
    pub link: Link,
    /// What deleting the referenced row does to the referencing rows (`onDelete`, or
    /// Prisma's default: `SetNull` for an optional foreign key, `Restrict` otherwise).
    pub on_delete: ReferentialAction,
}

/// How rows of one model reach rows of another.
#[derive(Debug, Clone)]
pub enum Link {
    /// This model holds the foreign key: `local` (this model's fields) reference `remote`
    /// (the target's fields).
    Owns { local: Vec<usize>, remote: Vec<usize> },
    /// The target holds the foreign key: its `remote` fields reference this model's `local`.
    Inverse { local: Vec<usize>, remote: Vec<usize> },
    /// An implicit many-to-many table: `this_column` holds this model's id (`local`),
    /// `other_column` the target's (`remote`). `table` is its SQL name, `label` its bare
    /// name (as the change log names it).
    Join { table: String, this_column: String, other_column: String, local: usize, remote: usize, label: String },
}

impl Entities {
    pub fn new(schema: &Schema, catalog: &Catalog) -> Entities {
        let dialect = catalog.dialect;
        let enums = schema
            .enums
            .iter()
            .map(|e| EnumDef {
                name: e.name.to_string(),
                values: e.values.iter().map(|v| (v.name.to_string(), v.db_name.to_string())).collect(),
            })
            .collect();
        let models: Vec<&Model> = stored_models(schema).filter(|m| has_identifier(m)).collect();
        let mut entities: Vec<Entity> = models.iter().map(|m| entity(schema, catalog, m)).collect();
        for (i, model) in models.iter().enumerate() {
            let relations = model
                .fields
                .iter()
                .filter(|f| !f.ignored)
                .filter_map(|f| relation_field(schema, &models, &entities, i, f))
                .collect();
            entities[i].relations = relations;
        }
        let emulate_references =
            schema.datasource.as_ref().is_some_and(|d| d.relation_mode == ssot_schema::ir::RelationMode::Prisma);
        Entities { dialect, entities, enums, emulate_references, limits: Default::default() }
    }

    pub fn by_resource(&self, resource: &str) -> Option<usize> {
        self.entities.iter().position(|e| e.resource == resource)
    }

    pub fn by_name(&self, name: &str) -> Option<usize> {
        self.entities.iter().position(|e| e.name == name)
    }
}

/// A model without an id or a unique made of required fields cannot be addressed; Prisma
/// Client leaves such models out too.
fn has_identifier(model: &Model) -> bool {
    model.primary_key.is_some()
        || model
            .uniques
            .iter()
            .any(|u| u.fields.iter().all(|f| model.field(f).is_some_and(|f| f.arity == Arity::Required)))
}

fn entity(schema: &Schema, catalog: &Catalog, model: &Model) -> Entity {
    let table = catalog.model_table(&model.name);
    let fields: Vec<ScalarField> = model
        .fields
        .iter()
        .filter(|f| !f.ignored)
        .filter_map(|f| {
            let kind = match &f.ty {
                FieldType::Scalar { scalar } => Kind::Scalar(*scalar),
                FieldType::Enum { name } => Kind::Enum(schema.enums.iter().position(|e| e.name == *name)?),
                _ => return None,
            };
            let sql_type = table.and_then(|t| t.column(&f.db_name)).map(|c| c.sql_type.clone()).unwrap_or_default();
            Some(ScalarField {
                name: f.name.to_string(),
                column: f.db_name.to_string(),
                kind,
                list: f.arity == Arity::List,
                optional: f.arity == Arity::Optional,
                default: f.default.as_ref().map(generated),
                updated_at: f.is_updated_at,
                cast: cast_type(&sql_type),
            })
        })
        .collect();
    let index_of = |name: &str| fields.iter().position(|f| f.name == name);
    let key = |names: &[ssot_schema::ir::Text]| -> Option<Vec<usize>> { names.iter().map(|n| index_of(n)).collect() };
    let mut uniques: Vec<Vec<usize>> = Vec::new();
    let mut constraints = Vec::new();
    if let Some(pk) = &model.primary_key {
        uniques.extend(key(&pk.fields));
        let name = pk.db_name.as_ref().map_or_else(|| format!("{}_pkey", model.db_name), ToString::to_string);
        constraints.extend(key(&pk.fields).map(|k| (name, k)));
    }
    for unique in &model.uniques {
        if let (Some(name), Some(k)) = (&unique.db_name, key(&unique.fields)) {
            constraints.push((name.to_string(), k));
        }
        if let Some(k) = key(&unique.fields) {
            let required = k.iter().all(|&i| !fields[i].optional);
            if required && !uniques.contains(&k) {
                uniques.push(k);
            }
        }
    }
    Entity {
        name: model.name.to_string(),
        resource: resource_name(&model.name),
        table: qualified(model.schema.as_deref(), &model.db_name),
        table_name: model.db_name.to_string(),
        id: uniques.first().cloned().unwrap_or_default(),
        fields,
        relations: Vec::new(),
        uniques,
        constraints,
    }
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

fn generated(default: &DefaultValue) -> Generated {
    match default {
        DefaultValue::Value { value } => Generated::Value(value.clone()),
        DefaultValue::Enum { values } if values.len() == 1 => {
            Generated::Value(serde_json::Value::from(values[0].as_str()))
        }
        DefaultValue::Enum { values } => Generated::Value(serde_json::Value::Array(
            values.iter().map(|v| serde_json::Value::from(v.as_str())).collect(),
        )),
        DefaultValue::Function { name, args } => {
            let number = |default: u64| args.first().and_then(serde_json::Value::as_u64).unwrap_or(default);
            match name.as_str() {
                "uuid" => Generated::Uuid { version: u8::try_from(number(4)).unwrap_or(4) },
                "cuid" => Generated::Cuid { version: u8::try_from(number(1)).unwrap_or(1) },
                "nanoid" => Generated::Nanoid { length: usize::try_from(number(21)).unwrap_or(21) },
                "ulid" => Generated::Ulid,
                "now" => Generated::Now,
                _ => Generated::Database,
            }
        }
    }
}

fn relation_field(
    schema: &Schema,
    models: &[&Model],
    entities: &[Entity],
    this: usize,
    field: &ssot_schema::ir::Field,
) -> Option<RelationField> {
    let FieldType::Relation { model: target_name, relation } = &field.ty else { return None };
    let target = models.iter().position(|m| m.name == *target_name)?;
    let relation = schema.relations.get(*relation)?;
    let this_model = models[this];
    let fields_of = |entity: &Entity, names: &[ssot_schema::ir::Text]| -> Option<Vec<usize>> {
        names.iter().map(|n| entity.field(n)).collect()
    };
    let link = if relation.kind == RelationKind::ManyToMany {
        let table = relation.join_table.as_ref()?;
        let this_first = if relation.referencing.model == relation.referenced.model {
            // A self-relation: the field that sorts first takes column A (as in Prisma).
            field.name == relation.referencing.field.as_str().min(relation.referenced.field.as_str())
        } else {
            this_model.name.as_str() <= target_name.as_str()
        };
        let (this_column, other_column) = if this_first { ("A", "B") } else { ("B", "A") };
        let schema_of = this_model.schema.as_deref();
        Link::Join {
            table: qualified(schema_of, table),
            label: table.to_string(),
            this_column: this_column.to_string(),
            other_column: other_column.to_string(),
            local: *entities[this].id.first()?,
            remote: *entities[target].id.first()?,
        }
    } else {
        let owns = relation.referencing.model == this_model.name && relation.referencing.field == field.name;
        if owns {
            Link::Owns {
                local: fields_of(&entities[this], &relation.fields)?,
                remote: fields_of(&entities[target], &relation.references)?,
            }
        } else {
            Link::Inverse {
                local: fields_of(&entities[this], &relation.references)?,
                remote: fields_of(&entities[target], &relation.fields)?,
            }
        }
    };
    let fk_optional = relation.fields.iter().any(|f| {
        schema.model(&relation.referencing.model).and_then(|m| m.field(f)).is_some_and(|f| f.arity == Arity::Optional)
    });
    let on_delete = relation.on_delete.unwrap_or(if fk_optional {
        ReferentialAction::SetNull
    } else {
        ReferentialAction::Restrict
    });
    Some(RelationField {
        name: field.name.to_string(),
        target,
        list: field.arity == Arity::List,
        optional: field.arity == Arity::Optional,
        link,
        on_delete,
    })
}

/// `Post` → `posts`, `QuizQuestion` → `quiz-questions`, `Category` → `categories`.
pub fn resource_name(model: &str) -> String {
    let mut kebab = String::with_capacity(model.len() + 4);
    let chars: Vec<char> = model.chars().collect();
    for (i, &c) in chars.iter().enumerate() {
        if c.is_uppercase() {
            let after_lower = i > 0 && (chars[i - 1].is_lowercase() || chars[i - 1].is_ascii_digit());
            let before_lower =
                i > 0 && chars[i - 1].is_uppercase() && chars.get(i + 1).is_some_and(|n| n.is_lowercase());
            if after_lower || before_lower {
                kebab.push('-');
            }
            kebab.extend(c.to_lowercase());
        } else if c == '_' {
            kebab.push('-');
        } else {
            kebab.push(c);
        }
    }
    pluralize(&kebab)
}

/// A word's plural, as resource names and generated hook names (`usePosts`) take it.
pub fn pluralize(word: &str) -> String {
    let vowel = |c: char| "aeiou".contains(c);
    if word.ends_with('s') || word.ends_with('x') || word.ends_with('z') || word.ends_with("ch") || word.ends_with("sh")
    {
        format!("{word}es")
    } else if word.ends_with('y') && word.chars().rev().nth(1).is_some_and(|c| !vowel(c)) {
        format!("{}ies", &word[..word.len() - 1])
    } else {
        format!("{word}s")
    }
}

#[cfg(test)]
mod tests {
    use super::resource_name;

    #[test]
    fn resource_names() {
        assert_eq!(resource_name("Post"), "posts");
        assert_eq!(resource_name("QuizQuestion"), "quiz-questions");
        assert_eq!(resource_name("Category"), "categories");
        assert_eq!(resource_name("Day"), "days");
        assert_eq!(resource_name("Box"), "boxes");
        assert_eq!(resource_name("Address"), "addresses");
        assert_eq!(resource_name("APIKey"), "api-keys");
        assert_eq!(resource_name("user_profile"), "user-profiles");
    }
}
