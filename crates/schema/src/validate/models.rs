//! Models and enums: fields, block attributes (`@@id`, `@@unique`, `@@index`, `@@map`,
//! ...), the unique-criterion rule, and clashes between physical names.

use super::{args, fields, Cx};
use crate::ir::{self, Arity, Field, FieldType, Index, Model, PrimaryKey, Provider};
use crate::span::Span;
use crate::syntax::ast::{Attribute, EnumAst, Expr, ModelAst, ModelKind};
use std::collections::HashMap;

const BLOCK_ATTRIBUTES: [&str; 7] = [
    "id", "unique", "index", "map", "ignore", "fulltext", "schema",
];
const INDEX_TYPES: [&str; 6] = ["BTree", "Hash", "Gist", "Gin", "SpGist", "Brin"];

pub(crate) fn enum_(ast: &EnumAst, cx: &mut Cx<'_, '_>) -> ir::Enum {
    if ast.values.is_empty() {
        cx.diagnostics
            .error(
                "E0115",
                format!("enum `{}` has no values", ast.name.name),
                ast.name.span,
            )
            .label("an enum needs at least one value");
    }
    let mut values: Vec<ir::EnumValue> = Vec::new();
    for value in &ast.values {
        if !super::is_valid_name(&value.name.name) {
            cx.diagnostics
                .error(
                    "E0112",
                    format!("`{}` is not a valid enum value name", value.name.name),
                    value.name.span,
                )
                .label("names start with a letter and contain only letters, digits and `_`");
        }
        if let Some(first) = values.iter().find(|v| v.name == value.name.name) {
            cx.diagnostics
                .error(
                    "E0116",
                    format!("enum value `{}` is defined twice", value.name.name),
                    value.name.span,
                )
                .label("duplicate value")
                .secondary(first.span, "first defined here");
            continue;
        }
        let mut db_name = value.name.name.clone();
        for attribute in &value.attributes {
            if attribute.name.name == "map" {
                if let Some(name) = map_name(attribute, "@", cx) {
                    db_name = name;
                }
            } else {
                unknown_attribute(attribute, "@", &["map"], cx);
            }
        }
        values.push(ir::EnumValue {
            name: value.name.name.clone(),
            db_name,
            span: value.span,
        });
    }
    let mut db_name = ast.name.name.clone();
    check_duplicate_block_attributes(&ast.attributes, cx);
    for attribute in &ast.attributes {
        match attribute.name.name.as_str() {
            "map" => {
                if let Some(name) = map_name(attribute, "@@", cx) {
                    db_name = name;
                }
            }
            "schema" => schema_attribute(attribute, cx),
            _ => unknown_attribute(attribute, "@@", &["map", "schema"], cx),
        }
    }
    ir::Enum {
        name: ast.name.name.clone(),
        db_name,
        values,
        documentation: crate::annotations::documentation(&ast.doc),
        span: ast.span,
    }
}

fn unknown_attribute(attribute: &Attribute, prefix: &str, known: &[&str], cx: &mut Cx<'_, '_>) {
    let name = &attribute.name.name;
    cx.diagnostics
        .error(
            "E0135",
            format!("unknown attribute `{prefix}{name}` here"),
            attribute.name.span,
        )
        .label("not valid in this position")
        .suggest(name, known.iter().copied());
}

fn map_name(attribute: &Attribute, prefix: &str, cx: &mut Cx<'_, '_>) -> Option<String> {
    let a = args::read(attribute, prefix, &["name"], &["name"], cx.diagnostics);
    match a.get("name") {
        Some(value) => args::string(value, &format!("the name in `{prefix}map`"), cx.diagnostics)
            .map(str::to_string),
        None => {
            cx.diagnostics
                .error(
                    "E0143",
                    format!("`{prefix}map` needs a name"),
                    attribute.span,
                )
                .label("missing the name")
                .help(format!("write for example `{prefix}map(\"users\")`"));
            None
        }
    }
}

fn schema_attribute(attribute: &Attribute, cx: &mut Cx<'_, '_>) {
    let a = args::read(attribute, "@@", &["name"], &["name"], cx.diagnostics);
    let Some(value) = a.get("name") else { return };
    let Some(schema) = args::string(value, "the schema name in `@@schema`", cx.diagnostics) else {
        return;
    };
    if !cx.schemas.iter().any(|s| s == schema) {
        cx.diagnostics
            .error(
                "E0117",
                format!("schema `{schema}` is not listed in the datasource's `schemas`"),
                value.span(),
            )
            .label("unknown schema")
            .help("add it to `schemas = [...]` in the datasource block");
    }
}

fn check_duplicate_block_attributes(attributes: &[Attribute], cx: &mut Cx<'_, '_>) {
    for (i, attribute) in attributes.iter().enumerate() {
        let repeatable = matches!(
            attribute.name.name.as_str(),
            "unique" | "index" | "fulltext"
        );
        if repeatable {
            continue;
        }
        if let Some(first) = attributes[..i]
            .iter()
            .find(|a| a.name.name == attribute.name.name)
        {
            cx.diagnostics
                .error(
                    "E0136",
                    format!("`@@{}` is given twice", attribute.name.name),
                    attribute.span,
                )
                .label("duplicate attribute")
                .secondary(first.span, "first given here");
        }
    }
}

pub(crate) fn model(ast: &ModelAst, cx: &mut Cx<'_, '_>) -> Model {
    let mut fields: Vec<Field> = Vec::new();
    for field_ast in &ast.fields {
        if let Some(first) = ast
            .fields
            .iter()
            .find(|f| f.name.name == field_ast.name.name)
        {
            if !std::ptr::eq(first, field_ast) {
                cx.diagnostics
                    .error(
                        "E0118",
                        format!(
                            "field `{}` is defined twice in `{}`",
                            field_ast.name.name, ast.name.name
                        ),
                        field_ast.name.span,
                    )
                    .label("duplicate field")
                    .secondary(first.name.span, "first defined here");
                continue;
            }
        }
        if let Some(field) = fields::field(ast, field_ast, cx) {
            fields.push(field);
        }
    }
    if ast.kind == ModelKind::View && !cx.has_preview("views") {
        cx.diagnostics
            .error(
                "E0114",
                "views need the `views` preview feature",
                ast.keyword_span.to(ast.name.span),
            )
            .label("`view` blocks are a preview feature")
            .help("add `previewFeatures = [\"views\"]` to the generator block");
    }
    let mut model = Model {
        name: ast.name.name.clone(),
        db_name: ast.name.name.clone(),
        kind: ast.kind.into(),
        primary_key: None,
        uniques: Vec::new(),
        indexes: Vec::new(),
        ignored: false,
        documentation: crate::annotations::documentation(&ast.doc),
        annotations: Default::default(),
        span: ast.span,
        fields,
    };
    let id_fields: Vec<&Field> = model.fields.iter().filter(|f| f.is_id).collect();
    if id_fields.len() > 1 {
        let spans: Vec<Span> = id_fields.iter().map(|f| f.span).collect();
        cx.diagnostics
            .error(
                "E0163",
                format!(
                    "model `{}` marks more than one field with `@id`",
                    model.name
                ),
                spans[1],
            )
            .label("second `@id`")
            .secondary(spans[0], "first `@id`")
            .help("for a compound primary key, use `@@id([a, b])` on the model");
    }
    if let Some(id) = id_fields.first() {
        model.primary_key = Some(PrimaryKey {
            fields: vec![id.name.clone()],
            name: None,
            db_name: None,
            span: id.span,
        });
    }
    for field in model.fields.iter().filter(|f| f.is_unique) {
        model.uniques.push(Index {
            fields: vec![field.name.clone()],
            name: None,
            db_name: None,
            index_type: None,
            fulltext: false,
            span: field.span,
        });
    }
    check_duplicate_block_attributes(&ast.attributes, cx);
    for attribute in ast.attributes.iter().filter(|a| !a.malformed) {
        block_attribute(attribute, &mut model, cx);
    }
    let malformed = ast
        .attributes
        .iter()
        .chain(ast.fields.iter().flat_map(|f| &f.attributes))
        .any(|a| a.malformed);
    if model.kind == ir::ModelKindIr::Model
        && !model.ignored
        && !malformed
        && !has_unique_criterion(&model)
    {
        cx.diagnostics
            .error("E0164", format!("model `{}` has no unique criterion", model.name), ast.name.span)
            .label("every model needs an `@id`, `@@id`, or a `@unique`/`@@unique` over required fields")
            .help("add for example `id Int @id @default(autoincrement())`");
    }
    model
}

fn has_unique_criterion(model: &Model) -> bool {
    let usable = |names: &[String]| {
        names.iter().all(|n| {
            model
                .field(n)
                .is_some_and(|f| f.arity == Arity::Required && f.is_scalar_like())
        })
    };
    model.primary_key.is_some() || model.uniques.iter().any(|u| usable(&u.fields))
}

fn block_attribute(attribute: &Attribute, model: &mut Model, cx: &mut Cx<'_, '_>) {
    let name = attribute.name.name.as_str();
    match name {
        "id" | "unique" | "index" | "fulltext" => index_attribute(attribute, model, cx),
        "map" => {
            if let Some(db_name) = map_name(attribute, "@@", cx) {
                model.db_name = db_name;
            }
        }
        "ignore" => {
            args::read(attribute, "@@", &[], &[], cx.diagnostics);
            model.ignored = true;
        }
        "schema" => schema_attribute(attribute, cx),
        _ => unknown_attribute(attribute, "@@", &BLOCK_ATTRIBUTES, cx),
    }
}

fn index_attribute(attribute: &Attribute, model: &mut Model, cx: &mut Cx<'_, '_>) {
    let kind = attribute.name.name.as_str();
    let accepted: &[&'static str] = match kind {
        "id" => &["fields", "name", "map", "length", "sort", "clustered"],
        "unique" => &["fields", "name", "map", "length", "sort", "clustered"],
        "index" => &[
            "fields",
            "name",
            "map",
            "type",
            "length",
            "sort",
            "clustered",
            "ops",
        ],
        _ => &["fields", "map"],
    };
    let a = args::read(attribute, "@@", accepted, &["fields"], cx.diagnostics);
    let Some(fields_expr) = a.get("fields") else {
        cx.diagnostics
            .error(
                "E0165",
                format!("`@@{kind}` needs a list of fields"),
                attribute.span,
            )
            .label("missing `fields`")
            .help(format!("write for example `@@{kind}([a, b])`"));
        return;
    };
    let what = format!("`@@{kind}`");
    let names = args::field_names(fields_expr, &what, cx.diagnostics);
    let mut resolved = Vec::new();
    for (name, span) in &names {
        let Some(field) = model.field(name) else {
            cx.diagnostics
                .error(
                    "E0160",
                    format!(
                        "{what} names `{name}`, which is not a field of `{}`",
                        model.name
                    ),
                    *span,
                )
                .label("unknown field")
                .suggest(name, model.fields.iter().map(|f| f.name.as_str()));
            continue;
        };
        if field.is_relation() {
            cx.diagnostics
                .error(
                    "E0161",
                    format!("{what} names the relation field `{name}`"),
                    *span,
                )
                .label("only scalar fields can be indexed")
                .help("name the scalar fields that hold the foreign key instead");
            continue;
        }
        if kind == "id" && field.arity == Arity::Optional {
            cx.diagnostics
                .error(
                    "E0162",
                    format!("the primary key includes the optional field `{name}`"),
                    *span,
                )
                .label("id fields must be required");
        }
        resolved.push(name.to_string());
    }
    check_index_options(kind, &a, cx);
    check_field_options(kind, fields_expr, cx);
    let string = |key: &str, cx: &mut Cx<'_, '_>| {
        a.get(key)
            .and_then(|v| args::string(v, &format!("`{key}`"), cx.diagnostics))
            .map(str::to_string)
    };
    let name = string("name", cx);
    let db_name = string("map", cx);
    if kind == "id" {
        if let Some(existing) = &model.primary_key {
            cx.diagnostics
                .error(
                    "E0163",
                    format!("model `{}` has both `@id` and `@@id`", model.name),
                    attribute.span,
                )
                .label("second primary key")
                .secondary(existing.span, "`@id` is here")
                .help("keep one: `@id` for one field, `@@id` for several");
            return;
        }
        model.primary_key = Some(PrimaryKey {
            fields: resolved,
            name,
            db_name,
            span: attribute.span,
        });
        return;
    }
    let index_type = a.get("type").and_then(|t| t.as_path()).map(str::to_string);
    let index = Index {
        fields: resolved,
        name,
        db_name,
        index_type,
        fulltext: kind == "fulltext",
        span: attribute.span,
    };
    if kind == "unique" {
        model.uniques.push(index);
    } else {
        model.indexes.push(index);
    }
}

/// `length`/`sort` on a field-level `@id`/`@unique`, as in `@id(sort: Desc)`.
pub(crate) fn check_key_options(kind: &str, a: &args::Args<'_>, cx: &mut Cx<'_, '_>) {
    if let Some(value) = a.get("length") {
        length_option(value, cx);
    }
    if let (Some(value), "id") = (a.get("sort"), kind) {
        sort_on_id(value, cx);
    }
}

fn length_option(value: &Expr, cx: &mut Cx<'_, '_>) {
    if !matches!(cx.provider, Some(Provider::Mysql) | None) {
        cx.diagnostics
            .error(
                "E0167",
                "index `length` is only supported on MySQL",
                value.span(),
            )
            .label("not supported by this provider");
    }
}

fn sort_on_id(value: &Expr, cx: &mut Cx<'_, '_>) {
    if !matches!(
        cx.provider,
        Some(Provider::Mysql | Provider::Sqlserver) | None
    ) {
        cx.diagnostics
            .error(
                "E0168",
                "`sort` on a primary key is not supported by this provider",
                value.span(),
            )
            .label("only MySQL and SQL Server support it");
    }
}

/// Per-field options inside an index list: `@@index([title(length: 10, sort: Desc)])`.
fn check_field_options(kind: &str, fields: &Expr, cx: &mut Cx<'_, '_>) {
    for item in fields.as_list() {
        let Expr::Call { args, .. } = item else {
            continue;
        };
        for arg in args {
            match arg.name.as_ref().map(|n| n.name.as_str()) {
                Some("length") => length_option(&arg.value, cx),
                Some("sort") if kind == "id" => sort_on_id(&arg.value, cx),
                Some("sort") if !matches!(arg.value.as_path(), Some("Asc" | "Desc")) => {
                    cx.diagnostics
                        .error("E0166", "`sort` must be `Asc` or `Desc`", arg.value.span())
                        .label("unknown sort order");
                }
                Some("sort" | "ops") => {}
                _ => {
                    cx.diagnostics
                        .error("E0206", "unknown index field option", arg.span)
                        .label("expected `sort`, `length` or `ops`");
                }
            }
        }
    }
}

fn check_index_options(kind: &str, a: &args::Args<'_>, cx: &mut Cx<'_, '_>) {
    let provider = cx.provider;
    if let Some(value) = a.get("type") {
        let ok = provider == Some(Provider::Postgresql)
            && value.as_path().is_some_and(|t| INDEX_TYPES.contains(&t));
        if !ok {
            let label = if provider == Some(Provider::Postgresql) {
                "expected one of BTree, Hash, Gist, Gin, SpGist, Brin"
            } else {
                "index types are only supported on PostgreSQL"
            };
            cx.diagnostics
                .error("E0166", "invalid index `type`", value.span())
                .label(label);
        }
    }
    if let Some(value) = a.get("length") {
        length_option(value, cx);
    }
    if let (Some(value), "id") = (a.get("sort"), kind) {
        sort_on_id(value, cx);
    }
    if kind == "fulltext" && !matches!(provider, Some(Provider::Mysql | Provider::Mongodb)) {
        if let Some(value) = a.get("fields") {
            cx.diagnostics
                .error("E0169", "full-text indexes are only supported on MySQL and MongoDB", value.span())
                .label("not supported by this provider")
                .help("ssot's `@@search` annotation gives ranked full-text search on SQLite and PostgreSQL");
        }
    }
}

/// Physical names must not collide: columns within a table, tables across models,
/// and constraint and index names where the database puts them in one namespace.
pub(crate) fn check_database_names(
    models: &[Model],
    _enums: &[ir::Enum],
    asts: &[&ModelAst],
    cx: &mut Cx<'_, '_>,
) {
    let mut tables: HashMap<&str, &Model> = HashMap::new();
    let mut seen_names = std::collections::HashSet::new();
    // A model whose name is taken twice is reported as such (E0110), not again here.
    let distinct = models.iter().filter(|m| seen_names.insert(m.name.as_str()));
    for model in distinct.filter(|m| m.kind != ir::ModelKindIr::Type) {
        if let Some(first) = tables.get(model.db_name.as_str()) {
            cx.diagnostics
                .error(
                    "E0171",
                    format!(
                        "`{}` and `{}` both use the table name `{}`",
                        first.name, model.name, model.db_name
                    ),
                    name_span(asts, &model.name),
                )
                .label("table name already taken")
                .secondary(name_span(asts, &first.name), "taken here");
        } else {
            tables.insert(model.db_name.as_str(), model);
        }
        let mut columns: HashMap<&str, &Field> = HashMap::new();
        for field in model.fields.iter().filter(|f| !f.is_relation()) {
            if let Some(first) = columns.get(field.db_name.as_str()) {
                cx.diagnostics
                    .error(
                        "E0170",
                        format!(
                            "fields `{}` and `{}` of `{}` both use the column `{}`",
                            first.name, field.name, model.name, field.db_name
                        ),
                        field.span,
                    )
                    .label("column name already taken")
                    .secondary(first.span, "taken here");
            } else {
                columns.insert(field.db_name.as_str(), field);
            }
        }
    }
    let global = cx.provider != Some(Provider::Mysql);
    let mut constraints: HashMap<(String, String), Span> = HashMap::new();
    for model in models.iter().filter(|m| m.kind == ir::ModelKindIr::Model) {
        let scope = if global {
            String::new()
        } else {
            model.db_name.clone()
        };
        let explicit = model
            .uniques
            .iter()
            .chain(&model.indexes)
            .filter_map(|i| i.db_name.as_ref().map(|n| (n.clone(), i.span)))
            .chain(
                model
                    .primary_key
                    .iter()
                    .filter_map(|p| p.db_name.as_ref().map(|n| (n.clone(), p.span))),
            );
        for (name, span) in explicit {
            if let Some(first) = constraints.insert((scope.clone(), name.clone()), span) {
                cx.diagnostics
                    .error(
                        "E0172",
                        format!("the constraint or index name `{name}` is used twice"),
                        span,
                    )
                    .label("name already taken")
                    .secondary(first, "taken here");
            }
        }
    }
}

fn name_span(asts: &[&ModelAst], name: &str) -> Span {
    asts.iter()
        .find(|m| m.name.name == name)
        .map_or_else(Span::default, |m| m.name.span)
}

pub(crate) fn scalar_type_name(field: &Field) -> String {
    match &field.ty {
        FieldType::Scalar { scalar } => scalar.name().to_string(),
        FieldType::Enum { name } | FieldType::Composite { name } => name.clone(),
        FieldType::Relation { model, .. } => model.clone(),
        FieldType::Unsupported { db_type } => format!("Unsupported(\"{db_type}\")"),
    }
}
