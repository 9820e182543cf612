//! `ssot-shape`: the shape of the API, below any database.
//!
//! Per model the API serves: its resource name (`QuizQuestion` → `/api/quiz-questions`),
//! its scalar fields as the API shows them (type, list, optional, how a create that leaves
//! one out fills it), the fields that identify a row in URLs, every set of fields that
//! identifies one, and each relation field as a [`Link`] to the other model's rows. Built
//! once from the checked IR, it holds no database fact: no column, table, column type or
//! dialect. The store builds its view on it (`ssot_store::entity::Entities` adds where
//! each part is stored); the rules (`ssot_policy::rules`) and the generators
//! (`ssot_codegen`, the OpenAPI document among them) read it alone, so they are the same
//! whatever database serves the schema.
//!
//! Indices are the currency: an entity is an index into [`Shape::entities`], a field an
//! index into [`Entity::fields`], a relation into [`Entity::relations`], an enum into
//! [`Shape::enums`]; every crate above uses the same ones.

pub mod limits;
mod names;

pub use names::{pluralize, resource_name};

pub use ssot_schema::ir::ScalarType;
use ssot_schema::ir::{Arity, DefaultValue, FieldType, Model, ModelKindIr, ReferentialAction, RelationKind, Schema};

/// Every model the API serves, and the enums their fields take.
#[derive(Debug, Clone)]
pub struct Shape {
    pub entities: Vec<Entity>,
    pub enums: Vec<EnumDef>,
}

/// An enum as the API shows it.
#[derive(Debug, Clone)]
pub struct EnumDef {
    pub name: String,
    /// Its values' names in the schema (what the API reads and answers).
    pub values: Vec<String>,
}

/// One model the API serves.
#[derive(Debug, Clone)]
pub struct Entity {
    pub name: String,
    /// Plural kebab-case: `QuizQuestion` → `quiz-questions`.
    pub resource: String,
    pub fields: Vec<ScalarField>,
    pub relations: Vec<RelationField>,
    /// The fields that identify a row in URLs: the primary key, else the first unique
    /// made of required fields.
    pub id: Vec<usize>,
    /// Every set of fields that identifies one row (the id first), for `connect` and `cursor`.
    pub uniques: Vec<Vec<usize>>,
    /// The fields `@@search` searches, in its order (empty: the model is not searchable).
    pub searched: Vec<usize>,
}

impl Entity {
    pub fn field(&self, name: &str) -> Option<usize> {
        self.fields.iter().position(|f| f.name == name)
    }

    pub fn relation(&self, name: &str) -> Option<usize> {
        self.relations.iter().position(|r| r.name == name)
    }

    pub fn field_names(&self) -> Vec<&str> {
        self.fields.iter().map(|f| f.name.as_str()).chain(self.relations.iter().map(|r| r.name.as_str())).collect()
    }
}

/// A scalar field's type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Scalar(ScalarType),
    /// An index into [`Shape::enums`].
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
    pub kind: Kind,
    pub list: bool,
    pub optional: bool,
    pub default: Option<Generated>,
    pub updated_at: bool,
}

#[derive(Debug, Clone)]
pub struct RelationField {
    pub name: String,
    /// An index into [`Shape::entities`].
    pub target: usize,
    pub list: bool,
    pub optional: bool,
    pub link: Link,
    /// What deleting the referenced row does to the referencing rows (`onDelete`, or
    /// Prisma's default: `SetNull` for an optional foreign key, `Restrict` otherwise).
    pub on_delete: ReferentialAction,
}

/// How rows of one model reach rows of another.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Link {
    /// This model holds the foreign key: `local` (this model's fields) reference `remote`
    /// (the target's fields).
    Owns { local: Vec<usize>, remote: Vec<usize> },
    /// The target holds the foreign key: its `remote` fields reference this model's `local`.
    Inverse { local: Vec<usize>, remote: Vec<usize> },
    /// An implicit many-to-many relation: rows are linked by this model's id field
    /// `local` and the target's `remote` (through a table the store knows).
    Join { local: usize, remote: usize },
}

impl Shape {
    pub fn new(schema: &Schema) -> Shape {
        let enums = schema
            .enums
            .iter()
            .map(|e| EnumDef {
                name: e.name.to_string(),
                values: e.values.iter().map(|v| v.name.to_string()).collect(),
            })
            .collect();
        let models = served_models(schema);
        let mut entities: Vec<Entity> = models.iter().map(|m| entity(schema, m)).collect();
        for (i, model) in models.iter().enumerate() {
            let relations = model
                .fields
                .iter()
                .filter(|f| !f.ignored)
                .filter_map(|f| relation_field(schema, &models, &entities, i, f))
                .collect();
            entities[i].relations = relations;
        }
        Shape { entities, enums }
    }

    pub fn by_resource(&self, resource: &str) -> Option<usize> {
        self.entities.iter().position(|e| e.resource == resource)
    }

    pub fn by_name(&self, name: &str) -> Option<usize> {
        self.entities.iter().position(|e| e.name == name)
    }
}

/// The models the API serves, in the schema's order (entity `i` is the `i`th of these):
/// those stored in a table of their own (not views, composite types or `@@ignore`d
/// models) that have an identifier.
pub fn served_models(schema: &Schema) -> Vec<&Model> {
    schema.models.iter().filter(|m| m.kind == ModelKindIr::Model && !m.ignored && has_identifier(m)).collect()
}

/// A model without an id or a unique made of required fields cannot be addressed; Prisma
/// Client leaves such models out too. Only fields the API shows count (an `@ignore`d id
/// identifies nothing the API can name).
fn has_identifier(model: &Model) -> bool {
    let shown = |name: &ssot_schema::ir::Text, required: bool| {
        model.field(name).is_some_and(|f| {
            !f.ignored
                && matches!(f.ty, FieldType::Scalar { .. } | FieldType::Enum { .. })
                && (!required || f.arity == Arity::Required)
        })
    };
    model.primary_key.as_ref().is_some_and(|pk| pk.fields.iter().all(|f| shown(f, false)))
        || model.uniques.iter().any(|u| u.fields.iter().all(|f| shown(f, true)))
}

fn entity(schema: &Schema, model: &Model) -> Entity {
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
            Some(ScalarField {
                name: f.name.to_string(),
                kind,
                list: f.arity == Arity::List,
                optional: f.arity == Arity::Optional,
                default: f.default.as_ref().map(generated),
                updated_at: f.is_updated_at,
            })
        })
        .collect();
    let index_of = |name: &str| fields.iter().position(|f| f.name == name);
    let key = |names: &[ssot_schema::ir::Text]| -> Option<Vec<usize>> { names.iter().map(|n| index_of(n)).collect() };
    let mut uniques: Vec<Vec<usize>> = Vec::new();
    if let Some(pk) = &model.primary_key {
        uniques.extend(key(&pk.fields));
    }
    for unique in &model.uniques {
        if let Some(k) = key(&unique.fields) {
            let required = k.iter().all(|&i| !fields[i].optional);
            if required && !uniques.contains(&k) {
                uniques.push(k);
            }
        }
    }
    let searched = model
        .annotations
        .search
        .as_ref()
        .and_then(|s| s.fields.iter().map(|f| index_of(f)).collect::<Option<Vec<usize>>>())
        .unwrap_or_default();
    Entity {
        name: model.name.to_string(),
        resource: resource_name(&model.name),
        id: uniques.first().cloned().unwrap_or_default(),
        fields,
        relations: Vec::new(),
        uniques,
        searched,
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
        // Reached through its join table: without one there is no way to its rows.
        relation.join_table.as_ref()?;
        Link::Join { local: *entities[this].id.first()?, remote: *entities[target].id.first()? }
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
