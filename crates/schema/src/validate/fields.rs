//! One model field: its type, arity and field attributes.

use super::{args, defaults, native_types, Cx, Top};
use crate::ir::Text;
use crate::ir::{Field, FieldType, ScalarType};
use crate::syntax::ast::{Arity, Attribute, FieldAst, ModelAst, ModelKind, TypeName};

const FIELD_ATTRIBUTES: [&str; 7] = ["id", "unique", "default", "map", "relation", "updatedAt", "ignore"];

/// Builds the IR field onto `fields`, or nothing when its type cannot be resolved (already
/// reported). Relation fields get a placeholder relation index that relation resolution
/// fills in. The field is pushed first and its attributes applied in place: returning
/// it, a large value, and pushing it cost a copy more.
/// `model_ignored`: the model has `@@ignore` (Prisma Client leaves it out, so its id need
/// not be usable).
pub(crate) fn field(
    model: &ModelAst,
    model_ignored: bool,
    ast: &FieldAst,
    fields: &mut Vec<Field>,
    cx: &mut Cx<'_, '_>,
) {
    if !super::is_valid_name(ast.name.name) {
        cx.diagnostics
            .error("E0112", format!("`{}` is not a valid field name", ast.name.name), ast.name.span)
            .label("names start with a letter and contain only letters, digits and `_`");
    }
    let Some(type_ast) = ast.ty.as_ref() else { return };
    let Some(ty) = resolve_type(&type_ast.name, cx) else { return };
    let arity = type_ast.arity;
    check_type_support(model, ast, &ty, arity, cx);

    // Copied from the source once: cloning an inline string is a plain copy, where
    // building one from a `&str` calls `memcpy`.
    let name = Text::from(ast.name.name);
    fields.push(Field {
        db_name: name.clone(),
        name,
        ty,
        arity,
        default: None,
        is_id: false,
        is_unique: false,
        is_updated_at: false,
        native_type: None,
        ignored: false,
        documentation: crate::annotations::documentation(ast.doc),
        span: ast.span,
    });
    let Some(field) = fields.last_mut() else { return };
    let first_native = ast.attributes.iter().position(|a| is_native_type(a.name.name, &cx.native_prefix));
    for (i, attribute) in ast.attributes.iter().enumerate() {
        let earlier = &ast.attributes[..i];
        let second_native = first_native.filter(|&f| f < i && is_native_type(attribute.name.name, &cx.native_prefix));
        if let Some(first) = second_native.map(|f| &ast.attributes[f]) {
            cx.diagnostics
                .error("E0136", "a field can have only one native type", attribute.span)
                .label("second native type")
                .secondary(first.span, "first one here");
            continue;
        }
        if let Some(first) = earlier.iter().find(|a| a.name.name == attribute.name.name) {
            cx.diagnostics
                .error("E0136", format!("`@{}` is given twice", attribute.name.name), attribute.span)
                .label("duplicate attribute")
                .secondary(first.span, "first given here");
            continue;
        }
        field_attribute(ast, attribute, field, model_ignored, cx);
    }
}

fn resolve_type(name: &TypeName, cx: &mut Cx<'_, '_>) -> Option<FieldType> {
    let ident = match name {
        TypeName::Unsupported { db_type, .. } => return Some(FieldType::Unsupported { db_type: Text::from(*db_type) }),
        TypeName::Named(ident) => ident,
    };
    if let Some(scalar) = ScalarType::parse(ident.name) {
        return Some(FieldType::Scalar { scalar });
    }
    match cx.tops.get(ident.name) {
        Some(Top::Enum(e)) => Some(FieldType::Enum { name: Text::from(e.name.name) }),
        Some(Top::Model(m)) if m.kind == ModelKind::Type => {
            Some(FieldType::Composite { name: Text::from(m.name.name) })
        }
        Some(Top::Model(m)) => Some(FieldType::Relation { model: Text::from(m.name.name), relation: usize::MAX }),
        None => {
            let candidates: Vec<&str> =
                ScalarType::ALL.iter().map(|s| s.name()).chain(cx.tops.keys().copied()).collect();
            cx.diagnostics
                .error("E0120", format!("unknown type `{}`", ident.name), ident.span)
                .label("not a scalar type, model, enum or composite type")
                .suggest(ident.name, candidates);
            None
        }
    }
}

fn check_type_support(model: &ModelAst, ast: &FieldAst, ty: &FieldType, arity: Arity, cx: &mut Cx<'_, '_>) {
    // Without a datasource Prisma assumes no database features: no lists, no composite types.
    let Some(provider) = cx.provider else {
        if matches!(ty, FieldType::Scalar { scalar: ScalarType::Decimal }) {
            cx.diagnostics
                .error("E0125", format!("field `{}` cannot be `Decimal` without a datasource", ast.name.name), ast.span)
                .label("`Decimal` needs a database that has it")
                .help("add a `datasource` block");
        }
        if arity == Arity::List && !matches!(ty, FieldType::Relation { .. }) {
            cx.diagnostics
                .error("E0121", format!("field `{}` cannot be a list without a datasource", ast.name.name), ast.span)
                .label("lists of scalars need a database that has them")
                .help("add a `datasource` block with `provider = \"postgresql\"`");
        }
        return;
    };
    let span = ast.ty.as_ref().map_or(ast.span, |t| t.span);
    let is_scalar_list = arity == Arity::List
        && matches!(ty, FieldType::Scalar { .. } | FieldType::Enum { .. } | FieldType::Unsupported { .. });
    if is_scalar_list && !provider.supports_scalar_lists() {
        cx.diagnostics
            .error("E0121", format!("field `{}` cannot be a list on {}", ast.name.name, provider.display_name()), span)
            .label("this database has no lists of scalars")
            .help("use a relation to another model, or a `Json` field");
    }
    if matches!(ty, FieldType::Enum { .. }) && !provider.supports_enums() {
        cx.diagnostics
            .error("E0122", format!("enums are not supported on {}", provider.display_name()), span)
            .label("this database has no enums");
    }
    if matches!(ty, FieldType::Scalar { scalar: ScalarType::Json }) && provider == crate::ir::Provider::Sqlserver {
        cx.diagnostics.error("E0124", "SQL Server has no `Json` type", span).label("not supported by this provider");
    }
    if matches!(ty, FieldType::Relation { .. }) && model.kind == ModelKind::Type {
        cx.diagnostics
            .error("E0123", "composite types cannot have relation fields", span)
            .label("relations are only allowed in models");
    }
}

fn field_attribute(ast: &FieldAst, attribute: &Attribute, field: &mut Field, model_ignored: bool, cx: &mut Cx<'_, '_>) {
    let name = attribute.name.name;
    if attribute.malformed {
        // Keep what the attribute means for later rules, without checking its arguments again.
        field.is_id |= name == "id";
        field.is_unique |= name == "unique";
        return;
    }

    if is_native_type(name, &cx.native_prefix) {
        let native = &name[cx.native_prefix.len()..];
        field.native_type = native_types::check(native, attribute, field, cx);
        return;
    }
    let is_relation = field.is_relation();
    if is_relation && !matches!(name, "relation" | "ignore") && FIELD_ATTRIBUTES.contains(&name) {
        cx.diagnostics
            .error("E0137", format!("`@{name}` cannot be used on the relation field `{}`", field.name), attribute.span)
            .label("only `@relation` and `@ignore` apply to relation fields")
            .help("put it on the scalar field that holds the foreign key");
        return;
    }
    match name {
        "id" | "unique" => {
            // `@unique(where: ...)` is a partial index, checked with the model's other keys
            // (`models::model`), once every field it may name is known.
            let accepted: &[&'static str] = match name {
                "id" => &["map", "length", "sort", "clustered"],
                _ => &["map", "length", "sort", "clustered", "where"],
            };
            let a = args::read(attribute, "@", accepted, &[], cx.diagnostics);
            super::indexes::check_key_options(name, &a, Some(field), cx);
            if name == "id" {
                if field.arity == Arity::Optional && !model_ignored {
                    cx.diagnostics
                        .error("E0130", format!("the id field `{}` cannot be optional", field.name), attribute.span)
                        .label("`@id` needs a required field")
                        .help(format!("remove the `?` from `{}`'s type", field.name));
                }
                if field.arity == Arity::List && !model_ignored {
                    cx.diagnostics
                        .error("E0131", format!("the id field `{}` cannot be a list", field.name), attribute.span)
                        .label("`@id` needs a single value");
                }
                if cx.provider == Some(crate::ir::Provider::Mongodb)
                    && !ast
                        .attributes
                        .iter()
                        .any(|a| a.name.name == "map" && a.arg("name").and_then(|v| v.value.as_str()) == Some("_id"))
                {
                    cx.diagnostics
                        .error("E0138", "MongoDB ids must be mapped to `_id`", attribute.span)
                        .label("add `@map(\"_id\")` to this field");
                }
                field.is_id = true;
            } else {
                field.is_unique = true;
            }
        }
        "default" => {
            let a = args::read(attribute, "@", &["value", "map"], &["value"], cx.diagnostics);
            match a.get("value") {
                Some(value) => field.default = defaults::check(field, value, cx),
                None => {
                    cx.diagnostics
                        .error("E0142", "`@default` needs a value", attribute.span)
                        .label("missing the default value")
                        .help("write for example `@default(0)`, `@default(\"\")` or `@default(now())`");
                }
            }
            if let Some(map) = a.get("map") {
                match args::string(map, "`map`", cx.diagnostics) {
                    Some("") => {
                        cx.diagnostics
                            .error("E0175", "`map` cannot be an empty string", map.span())
                            .label("give a name, or remove `map`");
                    }
                    Some(_) if cx.provider.is_none_or(|p| p != crate::ir::Provider::Sqlserver) => {
                        cx.diagnostics
                            .error("E0189", "this provider does not name default values", map.span())
                            .label("only SQL Server has named default constraints");
                    }
                    _ => {}
                }
            }
        }
        "map" => {
            let a = args::read(attribute, "@", &["name"], &["name"], cx.diagnostics);
            match a.get("name") {
                Some(value) => {
                    if let Some(db_name) = args::string(value, "the column name in `@map`", cx.diagnostics) {
                        field.db_name = Text::from(db_name);
                        cx.field_mapped = true;
                    }
                }
                None => {
                    cx.diagnostics
                        .error("E0143", "`@map` needs the column name", attribute.span)
                        .label("missing the name")
                        .help("write for example `@map(\"user_id\")`");
                }
            }
        }
        "relation" => {
            if !is_relation {
                cx.diagnostics
                    .error(
                        "E0133",
                        format!("`@relation` can only be used on relation fields, and `{}` is not one", field.name),
                        attribute.span,
                    )
                    .label("this field's type is not a model");
            }
            // The arguments are read when relations are resolved.
        }
        "updatedAt" => {
            args::read(attribute, "@", &[], &[], cx.diagnostics);
            let is_datetime = matches!(field.ty, FieldType::Scalar { scalar: ScalarType::DateTime });
            if !is_datetime || field.arity == Arity::List {
                cx.diagnostics
                    .error(
                        "E0134",
                        format!("`@updatedAt` needs a `DateTime` field, and `{}` is not one", field.name),
                        attribute.span,
                    )
                    .label("only `DateTime` fields can track the update time");
            }
            field.is_updated_at = true;
        }
        "ignore" => {
            args::read(attribute, "@", &[], &[], cx.diagnostics);
            // Prisma takes `@ignore` on a relation field there, not on a scalar one.
            if model_ignored && !field.is_relation() {
                cx.diagnostics
                    .error(
                        "E0139",
                        format!("`{}` is in an `@@ignore`d model, so `@ignore` on it is redundant", field.name),
                        attribute.span,
                    )
                    .label("remove this `@ignore`")
                    .help("Prisma rejects an `@ignore` inside an ignored model");
            }
            field.ignored = true;
        }

        _ => {
            let mut candidates: Vec<String> = FIELD_ATTRIBUTES.iter().map(|s| s.to_string()).collect();
            candidates.push(format!("{}Text", cx.native_prefix));

            cx.diagnostics
                .error("E0135", format!("unknown field attribute `@{name}`"), attribute.name.span)
                .label("not a Prisma field attribute")
                .suggest(name, candidates.iter().map(String::as_str));
        }
    }
}

/// `db.VarChar` when the datasource is `db`: the prefix includes the dot.
fn is_native_type(attribute: &str, prefix: &str) -> bool {
    !prefix.is_empty() && attribute.len() > prefix.len() && attribute.starts_with(prefix)
}
