//! The data a create and an update take for each model, and its unique selectors, as REST
//! reads them (`docs/rest.md`, "Writes"): values in the API's forms, operators on numbers,
//! nested writes through relations.
//!
//! A foreign-key field is optional in a create: the row may be linked through its relation
//! instead (`author: {connect: ...}`), and a row created inside its parent's relation is
//! linked by it.

use super::field_type;
use ssot_schema::ir::{Arity, FieldType, Model, ScalarType, Schema};
use std::fmt::Write;

pub(super) const HELPERS: &str = "
/** A number field's change in an update: a value, or an operator. */
export type $NumberUpdate<T> = T | { set?: T; increment?: T; decrement?: T; multiply?: T; divide?: T };
/** A to-one relation in a create: exactly one of these. */
export type $OneCreate<C, U> = { create?: C; connect?: U; connectOrCreate?: { where: U; create: C } };
/** A to-many relation in a create: one or a list of each. */
export type $ManyCreate<C, U> = {
  create?: C | C[];
  connect?: U | U[];
  connectOrCreate?: { where: U; create: C } | { where: U; create: C }[];
};
/** A to-one relation in an update (`disconnect` only where the relation is optional). */
export type $OneUpdate<C, U> = $OneCreate<C, U> & { disconnect?: boolean };
/** A to-many relation in an update. */
export type $ManyUpdate<C, U> = $ManyCreate<C, U> & { disconnect?: U | U[]; set?: U[] };
";

/// The fields of `model` that hold a foreign key.
fn foreign_keys<'a>(schema: &'a Schema, model: &Model) -> Vec<&'a str> {
    schema
        .relations
        .iter()
        .filter(|r| r.referencing.model == model.name)
        .flat_map(|r| r.fields.iter().map(|f| f.as_str()))
        .collect()
}

/// `$ModelUnique`: a unique selector (its id, or a unique field).
pub(super) fn unique_type(out: &mut String, schema: &Schema, model: &Model) {
    let name = &model.name;
    let mut unique: Vec<&str> =
        model.fields.iter().filter(|f| f.is_id || f.is_unique).map(|f| f.name.as_ref()).collect();
    for key in model.primary_key.iter().map(|k| &k.fields).chain(model.uniques.iter().map(|u| &u.fields)) {
        unique.extend(key.iter().map(|f| f.as_str()));
    }
    let _ = writeln!(
        out,
        "\n/** A unique selector of `{name}`: its id, or a unique field. */\nexport type ${name}Unique = {{"
    );
    for field in model.fields.iter().filter(|f| !f.ignored && unique.contains(&f.name.as_ref())) {
        if let (Some(ty), false) = (field_type(schema, &field.ty), field.is_relation()) {
            let _ = writeln!(out, "  {}?: {ty};", field.name);
        }
    }
    out.push_str("};\n");
}

/// `$ModelCreate`: the record a create takes.
pub(super) fn create_type(out: &mut String, schema: &Schema, model: &Model) {
    let name = &model.name;
    let keys = foreign_keys(schema, model);
    let _ = writeln!(out, "\n/** A new `{name}`. */\nexport type ${name}Create = {{");
    for field in model.fields.iter().filter(|f| !f.ignored) {
        let Some(ty) = field_type(schema, &field.ty) else { continue };
        let line = match (&field.ty, field.arity) {
            (FieldType::Relation { model: target, .. }, Arity::List) => {
                format!("?: $ManyCreate<${target}Create, ${target}Unique>")
            }
            (FieldType::Relation { model: target, .. }, _) => {
                format!("?: $OneCreate<${target}Create, ${target}Unique>")
            }
            (FieldType::Composite { .. } | FieldType::Unsupported { .. }, _) => continue,
            (_, Arity::List) => format!("?: {ty}[]"),
            (_, Arity::Optional) => format!("?: {ty} | null"),
            (_, Arity::Required) => {
                let given_by_server = field.default.is_some() || field.is_updated_at;
                let linked = keys.contains(&field.name.as_str());
                if given_by_server || linked {
                    format!("?: {ty}")
                } else {
                    format!(": {ty}")
                }
            }
        };
        let _ = writeln!(out, "  {}{line};", field.name);
    }
    out.push_str("};\n");
}

/// `$ModelUpdate`: the changes an update takes.
pub(super) fn update_type(out: &mut String, schema: &Schema, model: &Model) {
    let name = &model.name;
    let _ = writeln!(out, "\n/** Changes to a `{name}`. */\nexport type ${name}Update = {{");
    for field in model.fields.iter().filter(|f| !f.ignored) {
        let Some(ty) = field_type(schema, &field.ty) else { continue };
        let null = if field.arity == Arity::Optional { " | null" } else { "" };
        let value = match (&field.ty, field.arity) {
            (FieldType::Relation { model: target, .. }, Arity::List) => {
                format!("$ManyUpdate<${target}Create, ${target}Unique>")
            }
            (FieldType::Relation { model: target, .. }, _) => format!("$OneUpdate<${target}Create, ${target}Unique>"),
            (FieldType::Composite { .. } | FieldType::Unsupported { .. }, _) => continue,
            (_, Arity::List) => format!("{ty}[] | {{ set: {ty}[] }}"),
            (
                FieldType::Scalar {
                    scalar: ScalarType::Int | ScalarType::Float | ScalarType::BigInt | ScalarType::Decimal,
                },
                _,
            ) => {
                format!("$NumberUpdate<{ty}>{null}")
            }
            _ => format!("{ty}{null} | {{ set: {ty}{null} }}"),
        };
        let _ = writeln!(out, "  {}?: {value};", field.name);
    }
    out.push_str("};\n");
}
