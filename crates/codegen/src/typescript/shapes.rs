//! What shapes a returned row, as REST reads it (`docs/rest.md`, "`select` and `include`"):
//! each model's `select` and `include` arguments, and the facts the client runtime's
//! `Result` type needs to follow them (the scalar fields, and each relation's target model
//! and whether it is a list).

use super::{field_type, write_only};
use ssot_schema::ir::{Arity, Field, FieldType, Model, Schema};
use std::fmt::Write;

/// The relations of `model` the API shows, with their target models.
fn relations<'a>(schema: &Schema, model: &'a Model) -> Vec<(&'a Field, &'a str)> {
    model
        .fields
        .iter()
        .filter(|f| !f.ignored)
        .filter_map(|f| match &f.ty {
            FieldType::Relation { model: target, .. } => field_type(schema, &f.ty).map(|_| (f, target.as_ref())),
            _ => None,
        })
        .collect()
}

/// `$ModelScalars` (a row without `select`/`include`) and `$ModelRelations`.
pub(super) fn facts(out: &mut String, schema: &Schema, model: &Model) {
    let name = &model.name;
    let relations = relations(schema, model);
    let _ = writeln!(out, "\n/** A `{name}` as it comes without `select` or `include`: its scalar fields. */");
    if relations.is_empty() {
        let _ = writeln!(out, "export type ${name}Scalars = {name};");
    } else {
        let names: Vec<String> = relations.iter().map(|(f, _)| super::quote(&f.name)).collect();
        let _ = writeln!(out, "export type ${name}Scalars = $Omit<{name}, {}>;", names.join(" | "));
    }
    let _ = writeln!(out, "/** The relations of `{name}`: the model each leads to, and whether it holds many rows. */");
    let _ = write!(out, "export type ${name}Relations = {{");
    for (field, target) in &relations {
        let many = field.arity == Arity::List;
        let _ = write!(out, "\n  {}: {{ model: {}; many: {many} }};", field.name, super::quote(target));
    }
    out.push_str(if relations.is_empty() { "};\n" } else { "\n};\n" });
}

/// `$ModelSelect` and `$ModelInclude`: what a `select` may name (fields and relations) and
/// what an `include` may add (relations); a relation takes `true` or its arguments.
pub(super) fn select_include(out: &mut String, schema: &Schema, model: &Model) {
    let name = &model.name;
    let relations = relations(schema, model);
    let _ = writeln!(out, "\n/** What a `select` on `{name}` may name. */\nexport type ${name}Select = {{");
    for field in model.fields.iter().filter(|f| !f.ignored && !write_only(model, f) && !f.is_relation()) {
        if field_type(schema, &field.ty).is_some() {
            let _ = writeln!(out, "  {}?: boolean;", field.name);
        }
    }
    for (field, target) in &relations {
        let _ = writeln!(out, "  {}?: boolean | {};", field.name, arguments(field, target));
    }
    out.push_str("};\n");
    let _ = writeln!(out, "/** The relations an `include` on `{name}` may add. */\nexport type ${name}Include = {{");
    for (field, target) in &relations {
        let _ = writeln!(out, "  {}?: boolean | {};", field.name, arguments(field, target));
    }
    out.push_str("};\n");
}

/// A relation's arguments: a to-many one filters, orders and pages its rows.
fn arguments(field: &Field, target: &str) -> String {
    if field.arity == Arity::List {
        format!(
            "{{ where?: ${target}Where; orderBy?: ${target}OrderBy | ${target}OrderBy[]; take?: number; skip?: number; \
             select?: ${target}Select; include?: ${target}Include }}"
        )
    } else {
        format!("{{ select?: ${target}Select; include?: ${target}Include }}")
    }
}
