//! What shapes a returned row, as REST reads it (`docs/rest.md`, "`select` and `include`"):
//! each model's `select` and `include` arguments, and the facts the client runtime's
//! `Result` type needs to follow them (the scalar fields, and each relation's target model
//! and whether it is a list).

use super::{field_type, write_only};
use ssot_schema::ir::{Model, Schema};
use ssot_shape::{Entity, RelationField, Shape};
use std::fmt::Write;

/// The relations of `entity` the API shows (to models it serves), with their target models.
fn relations<'a>(api: &'a Shape, entity: &'a Entity) -> Vec<(&'a RelationField, &'a str)> {
    entity.relations.iter().map(|r| (r, api.entities[r.target].name.as_str())).collect()
}

/// `$ModelScalars` (a row without `select`/`include`: every relation of the row type left
/// out, those to models the API does not serve too) and `$ModelRelations`.
pub(super) fn facts(out: &mut String, api: &Shape, model: &Model, entity: &Entity) {
    let name = &model.name;
    let all: Vec<String> =
        model.fields.iter().filter(|f| !f.ignored && f.is_relation()).map(|f| super::quote(&f.name)).collect();
    let _ = writeln!(out, "\n/** A `{name}` as it comes without `select` or `include`: its scalar fields. */");
    if all.is_empty() {
        let _ = writeln!(out, "export type ${name}Scalars = {name};");
    } else {
        let _ = writeln!(out, "export type ${name}Scalars = $Omit<{name}, {}>;", all.join(" | "));
    }
    let relations = relations(api, entity);
    let _ = writeln!(out, "/** The relations of `{name}`: the model each leads to, and whether it holds many rows. */");
    let _ = write!(out, "export type ${name}Relations = {{");
    for (field, target) in &relations {
        let _ = write!(out, "\n  {}: {{ model: {}; many: {} }};", field.name, super::quote(target), field.list);
    }
    out.push_str(if relations.is_empty() { "};\n" } else { "\n};\n" });
}

/// `$ModelSelect` and `$ModelInclude`: what a `select` may name (fields and relations) and
/// what an `include` may add (relations); a relation takes `true` or its arguments.
pub(super) fn select_include(out: &mut String, schema: &Schema, api: &Shape, model: &Model, entity: &Entity) {
    let name = &model.name;
    let relations = relations(api, entity);
    let _ = writeln!(out, "\n/** What a `select` on `{name}` may name. */\nexport type ${name}Select = {{");
    for field in model.fields.iter().filter(|f| !f.ignored && !write_only(model, f) && !f.is_relation()) {
        if field_type(schema, &field.ty).is_some() {
            let _ = writeln!(out, "  {}?: boolean;", field.name);
        }
    }
    for (field, target) in &relations {
        let _ = writeln!(out, "  {}?: boolean | {};", field.name, arguments(field.list, target));
    }
    out.push_str("};\n");
    let _ = writeln!(out, "/** The relations an `include` on `{name}` may add. */\nexport type ${name}Include = {{");
    for (field, target) in &relations {
        let _ = writeln!(out, "  {}?: boolean | {};", field.name, arguments(field.list, target));
    }
    out.push_str("};\n");
}

/// A relation's arguments: a to-many one filters, orders and pages its rows.
fn arguments(list: bool, target: &str) -> String {
    if list {
        format!(
            "{{ where?: ${target}Where; orderBy?: ${target}OrderBy | ${target}OrderBy[]; take?: number; skip?: number; \
             select?: ${target}Select; include?: ${target}Include }}"
        )
    } else {
        format!("{{ select?: ${target}Select; include?: ${target}Include }}")
    }
}
