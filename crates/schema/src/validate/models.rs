//! Models and enums: their fields, block attributes (`@@map`, `@@ignore`, `@@schema`,
//! and the keys and indexes that `indexes.rs` reads), and the unique-criterion rule.

use super::{args, fields, indexes, Cx};
use crate::ir::Text;
use crate::ir::{self, Arity, Field, FieldType, Index, Model, PrimaryKey};
use crate::span::Span;
use crate::syntax::ast::{Attribute, EnumAst, ModelAst, ModelKind};
use std::collections::hash_map::Entry;

const BLOCK_ATTRIBUTES: [&str; 7] = ["id", "unique", "index", "map", "ignore", "fulltext", "schema"];

pub(crate) fn enum_(ast: &EnumAst, cx: &mut Cx<'_, '_>) -> ir::Enum {
    if ast.values.is_empty() {
        cx.diagnostics
            .error("E0115", format!("enum `{}` has no values", ast.name.name), ast.name.span)
            .label("an enum needs at least one value");
    }
    let mut values: Vec<ir::EnumValue> = Vec::with_capacity(ast.values.len());
    for value in ast.values {
        if !super::is_valid_name(value.name.name) {
            cx.diagnostics
                .error("E0112", format!("`{}` is not a valid enum value name", value.name.name), value.name.span)
                .label("names start with a letter and contain only letters, digits and `_`");
        }
        if let Some(first) = values.iter().find(|v| v.name == value.name.name) {
            cx.diagnostics
                .error("E0116", format!("enum value `{}` is defined twice", value.name.name), value.name.span)
                .label("duplicate value")
                .secondary(first.span, "first defined here");
            continue;
        }
        let name = Text::from(value.name.name);
        let mut db_name = name.clone();
        for (i, attribute) in value.attributes.iter().enumerate() {
            if let Some(first) = value.attributes[..i].iter().find(|a| a.name.name == attribute.name.name) {
                cx.diagnostics
                    .error("E0136", format!("`@{}` is given twice", attribute.name.name), attribute.span)
                    .label("duplicate attribute")
                    .secondary(first.span, "first given here");
            } else if attribute.name.name == "map" {
                if let Some(name) = map_name(attribute, "@", cx) {
                    db_name = name;
                }
            } else {
                unknown_attribute(attribute, "@", &["map"], cx);
            }
        }
        values.push(ir::EnumValue { name, db_name, span: value.span });
    }
    let name = Text::from(ast.name.name);
    let mut db_name = name.clone();
    let mut schema = None;
    check_duplicate_block_attributes(ast.attributes, cx);
    for attribute in ast.attributes {
        match attribute.name.name {
            "map" => {
                if let Some(name) = map_name(attribute, "@@", cx) {
                    db_name = name;
                }
            }
            "schema" => schema = schema_attribute(attribute, cx),
            _ => unknown_attribute(attribute, "@@", &["map", "schema"], cx),
        }
    }
    require_schema(schema.is_some(), ast.attributes, "enum", ast.name.span, cx);
    ir::Enum {
        name,
        db_name,
        schema,
        values,
        documentation: crate::annotations::documentation(ast.doc),
        span: ast.span,
    }
}

fn unknown_attribute(attribute: &Attribute, prefix: &str, known: &[&str], cx: &mut Cx<'_, '_>) {
    let name = &attribute.name.name;
    cx.diagnostics
        .error("E0135", format!("unknown attribute `{prefix}{name}` here"), attribute.name.span)
        .label("not valid in this position")
        .suggest(name, known.iter().copied());
}

fn map_name(attribute: &Attribute, prefix: &str, cx: &mut Cx<'_, '_>) -> Option<Text> {
    let a = args::read(attribute, prefix, &["name"], &["name"], cx.diagnostics);
    match a.get("name") {
        Some(value) => args::string(value, &format!("the name in `{prefix}map`"), cx.diagnostics).map(Text::from),
        None => {
            cx.diagnostics
                .error("E0143", format!("`{prefix}map` needs a name"), attribute.span)
                .label("missing the name")
                .help(format!("write for example `{prefix}map(\"users\")`"));
            None
        }
    }
}

/// `@@schema("name")`: the database schema, which the datasource must list. Prisma names
/// its argument `map` (`@@schema(map: "auth")`), not `name` as `@@map` does.
fn schema_attribute(attribute: &Attribute, cx: &mut Cx<'_, '_>) -> Option<Text> {
    let a = args::read(attribute, "@@", &["map"], &["map"], cx.diagnostics);
    let Some(value) = a.get("map") else {
        cx.diagnostics
            .error("E0198", "`@@schema` needs the name of a schema", attribute.span)
            .label("missing the schema's name")
            .help("write for example `@@schema(\"public\")`");
        return None;
    };
    let schema = args::string(value, "the schema name in `@@schema`", cx.diagnostics)?;
    if !cx.schemas.iter().any(|s| s == schema) {
        cx.diagnostics
            .error("E0117", format!("schema `{schema}` is not listed in the datasource's `schemas`"), value.span())
            .label("unknown schema")
            .help("add it to `schemas = [...]` in the datasource block");
    }
    Some(Text::from(schema))
}

/// With `schemas = [...]` in the datasource, every model and enum says which one it is in.
/// A `@@schema` that gave no schema (`attributes` holds it) has been reported already.
fn require_schema(has_schema: bool, attributes: &[Attribute], what: &str, span: Span, cx: &mut Cx<'_, '_>) {
    let attempted = || attributes.iter().any(|a| a.name.name == "schema");
    if !has_schema && !cx.schemas.is_empty() && !attempted() {
        cx.diagnostics
            .error("E0185", format!("this {what} has no `@@schema`"), span)
            .label("the datasource lists `schemas`, so every model and enum needs one")
            .help(format!("add `@@schema(\"{}\")`", cx.schemas[0]));
    }
}

fn check_duplicate_block_attributes(attributes: &[Attribute], cx: &mut Cx<'_, '_>) {
    for (i, attribute) in attributes.iter().enumerate() {
        let repeatable = matches!(attribute.name.name, "unique" | "index" | "fulltext");
        if repeatable {
            continue;
        }
        if let Some(first) = attributes[..i].iter().find(|a| a.name.name == attribute.name.name) {
            cx.diagnostics
                .error("E0136", format!("`@@{}` is given twice", attribute.name.name), attribute.span)
                .label("duplicate attribute")
                .secondary(first.span, "first given here");
        }
    }
}

pub(crate) fn model<'a>(ast: &'a ModelAst, cx: &mut Cx<'a, '_>) -> Model {
    let mut fields: Vec<Field> = Vec::with_capacity(ast.fields.len());
    let ignored = ast.attributes.iter().any(|a| a.name.name == "ignore");
    cx.first_field.clear();
    cx.field_mapped = false;
    for field_ast in ast.fields {
        let first = match cx.first_field.entry(field_ast.name.name) {
            Entry::Occupied(first) => Some(*first.get()),
            Entry::Vacant(slot) => {
                slot.insert(field_ast);
                None
            }
        };
        if let Some(first) = first {
            cx.diagnostics
                .error(
                    "E0118",
                    format!("field `{}` is defined twice in `{}`", field_ast.name.name, ast.name.name),
                    field_ast.name.span,
                )
                .label("duplicate field")
                .secondary(first.name.span, "first defined here");
            continue;
        }
        fields::field(ast, ignored, field_ast, &mut fields, cx);
    }
    cx.models_mapped.push(cx.field_mapped);
    if ast.kind == ModelKind::View && !cx.has_preview("views") {
        cx.diagnostics
            .error("E0114", "views need the `views` preview feature", ast.keyword_span.to(ast.name.span))
            .label("`view` blocks are a preview feature")
            .help("add `previewFeatures = [\"views\"]` to the generator block");
    }
    let name = Text::from(ast.name.name);
    let mut model = Model {
        db_name: name.clone(),
        name,
        schema: None,
        kind: ast.kind.into(),
        primary_key: None,
        // Sized up front (`@unique` fields are counted below, as they are pushed first).
        uniques: Vec::with_capacity(count_block_attributes(ast, &["unique"])),
        indexes: Vec::with_capacity(count_block_attributes(ast, &["index", "fulltext"])),
        ignored,
        documentation: crate::annotations::documentation(ast.doc),
        annotations: Default::default(),
        span: ast.span,
        fields,
    };
    model.uniques.reserve(model.fields.iter().filter(|f| f.is_unique).count());
    let mut id_fields = model.fields.iter().filter(|f| f.is_id);
    let (first_id, second_id) = (id_fields.next(), id_fields.next());
    if let (Some(first), Some(second)) = (first_id, second_id) {
        cx.diagnostics
            .error("E0163", format!("model `{}` marks more than one field with `@id`", model.name), second.span)
            .label("second `@id`")
            .secondary(first.span, "first `@id`")
            .help("for a compound primary key, use `@@id([a, b])` on the model");
    }
    // IR fields keep their AST field's span.
    let key = |field: &Field, attribute: &str| {
        ast.fields.iter().find(|f| f.span == field.span).map(|f| indexes::field_key(f, attribute)).unwrap_or_default()
    };
    if let Some(id) = first_id {
        if model.kind == ir::ModelKindIr::View {
            cx.diagnostics.error("E0180", "views cannot have primary keys", id.span).label("use `@unique` on a view");
        }
        let (db_name, options) = key(id, "id");
        model.primary_key =
            Some(PrimaryKey { fields: vec![id.name.clone()], options, name: None, db_name, span: id.span });
    }
    for i in (0..model.fields.len()).filter(|&i| model.fields[i].is_unique) {
        let field = &model.fields[i];
        let (db_name, options) = key(field, "unique");
        let span = field.span;
        let condition = ast
            .fields
            .iter()
            .find(|f| f.span == span)
            .and_then(|f| f.attributes.iter().find(|a| a.name.name == "unique" && !a.malformed))
            .and_then(|a| Some((a.named("where")?, a.span)))
            .and_then(|(argument, span)| super::partial::condition(&argument.value, span, &model, cx));
        let field = &model.fields[i];
        if db_name.is_some() && model.kind == ir::ModelKindIr::View {
            cx.diagnostics
                .error(
                    "E0180",
                    "a `@unique` on a view has no index in the database, so it cannot take `map:`",
                    field.span,
                )
                .label("not backed by the database on a view");
        }

        model.uniques.push(Index {
            fields: vec![field.name.clone()],
            options,
            name: None,
            db_name,
            index_type: None,
            fulltext: false,
            condition,
            span: field.span,
        });
    }
    check_duplicate_block_attributes(ast.attributes, cx);
    for attribute in ast.attributes.iter().filter(|a| !a.malformed) {
        block_attribute(attribute, &mut model, cx);
    }
    if model.kind != ir::ModelKindIr::Type {
        require_schema(model.schema.is_some(), ast.attributes, "model", ast.name.span, cx);
    }
    super::defaults::check_autoincrement(&model, cx);
    super::native_types::check_model(ast, &model, cx);

    let malformed = ast.attributes.iter().chain(ast.fields.iter().flat_map(|f| f.attributes)).any(|a| a.malformed);
    if model.kind == ir::ModelKindIr::Model && !model.ignored && !malformed && !has_unique_criterion(&model) {
        cx.diagnostics
            .error("E0164", format!("model `{}` has no unique criterion", model.name), ast.name.span)
            .label("every model needs an `@id`, `@@id`, or a `@unique`/`@@unique` over required fields")
            .help("add for example `id Int @id @default(autoincrement())`");
    }
    model
}

/// How many of the block's attributes are named one of `names`.
fn count_block_attributes(ast: &ModelAst, names: &[&str]) -> usize {
    ast.attributes.iter().filter(|a| names.contains(&a.name.name)).count()
}

/// An id, or a unique over required scalar fields (`Unsupported` ones do not count).
fn has_unique_criterion(model: &Model) -> bool {
    let usable = |names: &[Text]| {
        !names.is_empty()
            && names.iter().all(|n| model.field(n).is_some_and(|f| f.arity != Arity::Optional && f.is_scalar_like()))
    };
    model.primary_key.as_ref().is_some_and(|pk| usable(&pk.fields)) || model.uniques.iter().any(|u| usable(&u.fields))
}

fn block_attribute(attribute: &Attribute, model: &mut Model, cx: &mut Cx<'_, '_>) {
    let name = attribute.name.name;
    match name {
        "id" | "unique" | "index" | "fulltext" => indexes::block_index(attribute, model, cx),
        "map" => {
            if let Some(db_name) = map_name(attribute, "@@", cx) {
                model.db_name = db_name;
            }
        }
        "ignore" => {
            args::read(attribute, "@@", &[], &[], cx.diagnostics);
            model.ignored = true;
        }
        "schema" => model.schema = schema_attribute(attribute, cx),
        _ => unknown_attribute(attribute, "@@", &BLOCK_ATTRIBUTES, cx),
    }
}

pub(crate) fn scalar_type_name(field: &Field) -> String {
    match &field.ty {
        FieldType::Scalar { scalar } => scalar.name().to_string(),
        FieldType::Enum { name } | FieldType::Composite { name } => name.to_string(),
        FieldType::Relation { model, .. } => model.to_string(),
        FieldType::Unsupported { db_type } => format!("Unsupported(\"{db_type}\")"),
    }
}
