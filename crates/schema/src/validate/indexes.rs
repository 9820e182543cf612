//! Primary keys, unique constraints and indexes: `@id`/`@unique` options and the
//! `@@id`, `@@unique`, `@@index` and `@@fulltext` block attributes.

use super::{args, Cx};
use crate::ir::Text;
use crate::ir::{
    Arity, Field, FieldType, Index, IndexFieldOptions, Model, ModelKindIr, OperatorClass, PrimaryKey, Provider,
    ScalarType, SortOrder,
};
use crate::syntax::ast::{Argument, Attribute, Expr, FieldAst};

const INDEX_TYPES: [&str; 6] = ["BTree", "Hash", "Gist", "Gin", "SpGist", "Brin"];

/// The per-field options of a field list (`[title(sort: Desc, length: 10)]`), or an
/// empty list when no field has any. Values were checked when the attribute was read.
pub(crate) fn field_options(fields: &Expr) -> Vec<IndexFieldOptions> {
    // Plain names have no options, and most lists hold only those: no list to build.
    if !fields.as_list().iter().any(|item| matches!(item, Expr::Call { .. })) {
        return Vec::new();
    }
    let options: Vec<IndexFieldOptions> = fields
        .as_list()
        .iter()
        .map(|item| match item {
            Expr::Call { args, .. } => options_of(args),
            _ => IndexFieldOptions::default(),
        })
        .collect();
    if options.iter().all(|o| *o == IndexFieldOptions::default()) {
        Vec::new()
    } else {
        options
    }
}

/// `sort:`, `length:` and `ops:` among an attribute's or a field call's arguments.
pub(crate) fn options_of(args: &[Argument]) -> IndexFieldOptions {
    let get = |key: &str| args.iter().find(|a| a.name.as_ref().is_some_and(|n| n.name == key)).map(|a| &a.value);
    IndexFieldOptions {
        sort: match get("sort").and_then(Expr::as_path) {
            Some("Asc") => Some(SortOrder::Asc),
            Some("Desc") => Some(SortOrder::Desc),
            _ => None,
        },
        length: match get("length") {
            Some(Expr::Number(n, _)) => n.parse().ok(),
            _ => None,
        },
        ops: match get("ops") {
            Some(Expr::Path(name, _)) => Some(OperatorClass::Named(Text::from(*name))),
            Some(Expr::Call { args, .. }) => {
                args.first().and_then(|a| a.value.as_str()).map(|sql| OperatorClass::Raw(Text::from(sql)))
            }
            _ => None,
        },
    }
}

/// The `map:` and the options (`sort:`, `length:`) of a field's `@id` or `@unique`; the
/// options are empty when none is given.
pub(crate) fn field_key(ast: &FieldAst, attribute: &str) -> (Option<Text>, Vec<IndexFieldOptions>) {
    let Some(found) = ast.attributes.iter().find(|a| a.name.name == attribute && !a.malformed) else {
        return (None, Vec::new());
    };
    let map = found.named("map").and_then(|a| a.value.as_str()).map(Text::from);
    let options = options_of(found.args);
    (map, if options == IndexFieldOptions::default() { Vec::new() } else { vec![options] })
}

/// Options shared by keys and indexes, on a field (`@id(sort: Desc, map: "pk")`, with
/// `field`) or on the model (`@@unique([a, b], map: "x")`).
pub(crate) fn check_key_options(kind: &str, a: &args::Args<'_>, field: Option<&Field>, cx: &mut Cx<'_, '_>) {
    if let Some(value) = a.get("length") {
        length_option(value, field, cx);
    }
    match (a.get("sort"), kind) {
        (Some(value), "id") => sort_on_id(value, cx),
        (Some(value), _) if !matches!(value.as_path(), Some("Asc" | "Desc")) => {
            cx.diagnostics.error("E0166", "`sort` must be `Asc` or `Desc`", value.span()).label("unknown sort order");
        }
        _ => {}
    }
    if let Some(value) = a.get("clustered") {
        clustered_option(value, cx);
    }
    if let Some(value) = a.get("map") {
        map_option(value, kind == "id", field.is_some(), cx);
    }
}

fn length_option(value: &Expr, field: Option<&Field>, cx: &mut Cx<'_, '_>) {
    if !matches!(value, Expr::Number(..)) {
        cx.diagnostics
            .error("E0167", "`length` must be a number", value.span())
            .label(format!("expected a prefix length, found {}", value.describe()));
        return;
    }
    if cx.provider != Some(Provider::Mysql) {
        cx.diagnostics
            .error("E0167", "index `length` is only supported on MySQL", value.span())
            .label("not supported by this provider");
        return;
    }
    let text_like = |f: &Field| matches!(f.ty, FieldType::Scalar { scalar: ScalarType::String | ScalarType::Bytes });
    if let Some(field) = field.filter(|f| !text_like(f)) {
        cx.diagnostics
            .error(
                "E0173",
                format!("`length` needs a `String` or `Bytes` field, and `{}` is not one", field.name),
                value.span(),
            )
            .label("a prefix length only applies to text and bytes");
    }
}

fn sort_on_id(value: &Expr, cx: &mut Cx<'_, '_>) {
    if cx.provider != Some(Provider::Sqlserver) {
        cx.diagnostics
            .error("E0168", "`sort` on a primary key is not supported by this provider", value.span())
            .label("only SQL Server supports it");
    }
}

fn clustered_option(value: &Expr, cx: &mut Cx<'_, '_>) {
    if cx.provider != Some(Provider::Sqlserver) {
        cx.diagnostics
            .error("E0174", "`clustered` is only supported on SQL Server", value.span())
            .label("not supported by this provider");
    }
}

/// An explicit constraint name must fit the database's identifier length.
pub(crate) fn check_map_length(value: &Expr, cx: &mut Cx<'_, '_>) {
    let limit = match cx.provider {
        Some(Provider::Postgresql | Provider::Cockroachdb) => 63,
        Some(Provider::Mysql) => 64,
        _ => return,
    };
    if let Some(name) = value.as_str().filter(|n| n.len() > limit) {
        cx.diagnostics
            .error(
                "E0192",
                format!("the constraint name is {} bytes long, over the database's limit of {limit}", name.len()),
                value.span(),
            )
            .label("too long")
            .help("choose a shorter name: the database would cut it and could clash");
    }
}

/// A constraint name: never empty, and for a primary key only where the database names them.
/// `on_field`: a field-level `map:`, whose type no other check reports.
fn map_option(value: &Expr, primary_key: bool, on_field: bool, cx: &mut Cx<'_, '_>) {
    if value.as_str().is_none() {
        if on_field {
            args::string(value, "`map`", cx.diagnostics);
        }
        return;
    }
    check_map_length(value, cx);

    if value.as_str() == Some("") {
        cx.diagnostics
            .error("E0175", "`map` cannot be an empty string", value.span())
            .label("give a name, or remove `map`");
    }
    if primary_key && matches!(cx.provider, Some(Provider::Mysql | Provider::Sqlite) | None) {
        cx.diagnostics
            .error("E0176", "this provider does not name primary keys", value.span())
            .label("remove `map`: MySQL and SQLite primary keys have no name of their own");
    }
}

/// `@@id`, `@@unique`, `@@index` or `@@fulltext`.
pub(crate) fn block_index(attribute: &Attribute, model: &mut Model, cx: &mut Cx<'_, '_>) {
    let kind = attribute.name.name;
    let accepted: &[&'static str] = match kind {
        "id" => &["fields", "name", "map", "length", "sort", "clustered"],
        "unique" => &["fields", "name", "map", "length", "sort", "clustered", "where"],
        "index" => &["fields", "name", "map", "type", "length", "sort", "clustered", "ops", "where"],
        _ => &["fields", "map"],
    };
    let a = args::read(attribute, "@@", accepted, &["fields"], cx.diagnostics);
    let what = match kind {
        "id" => "`@@id`",
        "unique" => "`@@unique`",
        "index" => "`@@index`",
        _ => "`@@fulltext`",
    };

    let Some(fields_expr) = a.get("fields") else {
        cx.diagnostics
            .error("E0165", format!("{what} needs a list of fields"), attribute.span)
            .label("missing `fields`")
            .help(format!("write for example `@@{kind}([a, b])`"));
        return;
    };
    let mut resolved: Vec<Text> = Vec::with_capacity(fields_expr.as_list().len());
    let mut any_name = false;
    for item in fields_expr.as_list() {
        let Some((name, span)) = args::field_name(item, what, cx.diagnostics) else { continue };
        any_name = true;
        if resolved.iter().any(|r| r == name) {
            cx.diagnostics
                .error("E0177", format!("{what} names `{name}` more than once"), span)
                .label("repeated field");
            continue;
        }
        let Some(field) = model.field(name) else {
            cx.diagnostics
                .error("E0160", format!("{what} names `{name}`, which is not a field of `{}`", model.name), span)
                .label("unknown field")
                .suggest(name, model.fields.iter().map(|f| f.name.as_str()));
            continue;
        };
        if field.is_relation() {
            cx.diagnostics
                .error("E0161", format!("{what} names the relation field `{name}`"), span)
                .label("only scalar fields can be indexed")
                .help("name the scalar fields that hold the foreign key instead");
            continue;
        }
        if kind == "id" && field.arity == Arity::List && !model.ignored {
            cx.diagnostics
                .error("E0131", format!("the primary key includes the list field `{name}`"), span)
                .label("id fields must be single values");
        }
        if kind == "id" && field.arity == Arity::Optional && !model.ignored {
            cx.diagnostics
                .error("E0162", format!("the primary key includes the optional field `{name}`"), span)
                .label("id fields must be required");
        }
        resolved.push(Text::from(name));
    }
    if !any_name && matches!(fields_expr, Expr::Array(..)) {
        cx.diagnostics
            .error("E0165", format!("{what} needs at least one field"), fields_expr.span())
            .label("empty list");
    }
    check_block_options(kind, &a, model, cx);
    check_field_options(kind, fields_expr, model, cx);
    let string = |key: &str, cx: &mut Cx<'_, '_>| {
        a.get(key).and_then(|v| args::string(v, &format!("`{key}`"), cx.diagnostics)).map(Text::from)
    };
    let mut name = string("name", cx);
    let mut db_name = string("map", cx);
    if kind == "index" {
        // On `@@index`, `name:` is the older spelling of `map:`.
        if let (Some(_), Some(_), Some(value)) = (&name, &db_name, a.get("name")) {
            cx.diagnostics
                .error("E0190", "`@@index` takes `name:` or `map:`, not both", value.span())
                .label("`name:` is an alias of `map:` here")
                .help("keep `map:`");
        }
        db_name = db_name.or(name.take());
    } else if let (Some(custom), Some(value)) = (&name, a.get("name")) {
        check_custom_name(custom, value, model, cx);
    }
    if let (Some(value), "index", None) = (a.get("name"), kind, a.get("map")) {
        check_map_length(value, cx);
    }
    if model.kind == ModelKindIr::View && kind != "id" {
        let message = match (kind, &db_name) {
            ("unique", Some(_)) => {
                Some("a `@@unique` on a view has no index in the database, so it cannot take `map:`")
            }
            ("unique", None) => None,
            _ => Some("views cannot have indexes"),
        };
        if let Some(message) = message {
            cx.diagnostics.error("E0180", message, attribute.span).label("not backed by the database on a view");
        }
    }

    if kind == "id" {
        if let Some(existing) = &model.primary_key {
            cx.diagnostics
                .error("E0163", format!("model `{}` has both `@id` and `@@id`", model.name), attribute.span)
                .label("second primary key")
                .secondary(existing.span, "`@id` is here")
                .help("keep one: `@id` for one field, `@@id` for several");
            return;
        }
        let options = field_options(fields_expr);
        model.primary_key = Some(PrimaryKey { fields: resolved, options, name, db_name, span: attribute.span });
        return;
    }
    let index_type = a.get("type").and_then(|t| t.as_path()).map(Text::from);
    let options = field_options(fields_expr);
    let condition = a.get("where").and_then(|value| super::partial::condition(value, attribute.span, model, cx));
    let index = Index {
        fields: resolved,
        options,
        name,
        db_name,
        index_type,
        fulltext: kind == "fulltext",
        condition,
        span: attribute.span,
    };
    if kind == "unique" {
        model.uniques.push(index);
    } else {
        model.indexes.push(index);
    }
}

/// A compound key's client name (`name:`) becomes an argument name in Prisma Client,
/// so it must differ from the fields and from the other compound keys' names.
fn check_custom_name(custom: &str, value: &Expr, model: &Model, cx: &mut Cx<'_, '_>) {
    if custom.is_empty() || !custom.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
        cx.diagnostics
            .error("E0191", format!("`{custom}` is not a valid key name"), value.span())
            .label("names may contain only letters, digits and `_`");
        return;
    }
    if model.field(custom).is_some() {
        cx.diagnostics
            .error("E0178", format!("the key name `{custom}` is already the name of a field"), value.span())
            .label("clashes with a field");
        return;
    }
    let taken = model
        .primary_key
        .iter()
        .filter_map(|p| p.name.as_deref())
        .chain(model.uniques.iter().filter_map(|u| u.name.as_deref()));
    if taken.into_iter().any(|n| n == custom) {
        cx.diagnostics
            .error("E0179", format!("the key name `{custom}` is used twice on `{}`", model.name), value.span())
            .label("already names another key of this model");
    }
}

/// Per-field options inside a field list: `@@index([title(length: 10, sort: Desc)])`.
/// Options unknown to us are left to the database, as Prisma does.
fn check_field_options(kind: &str, fields: &Expr, model: &Model, cx: &mut Cx<'_, '_>) {
    for item in fields.as_list() {
        let Expr::Call { name, args, .. } = item else { continue };
        let field = model.field(name.name);
        for arg in *args {
            if let (Expr::Empty(_), Some(name)) = (&arg.value, &arg.name) {
                cx.diagnostics
                    .error("E0022", format!("argument `{}` has no value", name.name), arg.span)
                    .label("expected a value after `:`");
                continue;
            }
            match arg.name.as_ref().map(|n| n.name) {
                Some("length") => length_option(&arg.value, field, cx),
                Some("sort") if kind == "id" => sort_on_id(&arg.value, cx),
                Some("sort") if kind == "fulltext" => {
                    cx.diagnostics
                        .error("E0166", "a `@@fulltext` index takes no `sort`", arg.value.span())
                        .label("full-text indexes are not ordered");
                }
                Some("ops") => operator_class(&arg.value, cx),

                Some("sort") if !matches!(arg.value.as_path(), Some("Asc" | "Desc")) => {
                    cx.diagnostics
                        .error("E0166", "`sort` must be `Asc` or `Desc`", arg.value.span())
                        .label("unknown sort order");
                }
                _ => {}
            }
        }
    }
}

fn check_block_options(kind: &str, a: &args::Args<'_>, model: &Model, cx: &mut Cx<'_, '_>) {
    let provider = cx.provider;
    if let Some(value) = a.get("type") {
        let index_type = value.as_path().filter(|t| INDEX_TYPES.contains(t));
        match (provider, index_type) {
            (_, Some("BTree")) => {}
            (Some(Provider::Postgresql), Some(algorithm @ ("Gin" | "Gist" | "SpGist"))) => {
                super::index_algorithms::check_fields(algorithm, a, model, cx)
            }
            (Some(Provider::Postgresql), Some(_)) => {}
            (Some(Provider::Postgresql), None) => {
                cx.diagnostics
                    .error("E0166", "invalid index `type`", value.span())
                    .label("expected one of BTree, Hash, Gist, Gin, SpGist, Brin");
            }
            _ => {
                cx.diagnostics
                    .error("E0166", "invalid index `type`", value.span())
                    .label("index types are only supported on PostgreSQL");
            }
        }
    }
    check_key_options(kind, a, None, cx);
    if kind == "id" && model.kind == ModelKindIr::View {
        if let Some(value) = a.get("fields") {
            cx.diagnostics
                .error("E0180", "views cannot have primary keys", value.span())
                .label("use `@unique` or `@@unique` on a view");
        }
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

/// PostgreSQL operator classes Prisma knows, for `ops:` (or `raw("...")` for any other).
const OPERATOR_CLASSES: [&str; 62] = [
    "ArrayOps",
    "JsonbOps",
    "JsonbPathOps",
    "InetOps",
    "TextOps",
    "BitMinMaxOps",
    "VarBitMinMaxOps",
    "BpcharBloomOps",
    "BpcharMinMaxOps",
    "ByteaBloomOps",
    "ByteaMinMaxOps",
    "DateBloomOps",
    "DateMinMaxOps",
    "DateMinMaxMultiOps",
    "Float4BloomOps",
    "Float4MinMaxOps",
    "Float4MinMaxMultiOps",
    "Float8BloomOps",
    "Float8MinMaxOps",
    "Float8MinMaxMultiOps",
    "InetInclusionOps",
    "InetBloomOps",
    "InetMinMaxOps",
    "InetMinMaxMultiOps",
    "Int2BloomOps",
    "Int2MinMaxOps",
    "Int2MinMaxMultiOps",
    "Int4BloomOps",
    "Int4MinMaxOps",
    "Int4MinMaxMultiOps",
    "Int8BloomOps",
    "Int8MinMaxOps",
    "Int8MinMaxMultiOps",
    "NumericBloomOps",
    "NumericMinMaxOps",
    "NumericMinMaxMultiOps",
    "OidBloomOps",
    "OidMinMaxOps",
    "OidMinMaxMultiOps",
    "TextBloomOps",
    "TextMinMaxOps",
    "TimestampBloomOps",
    "TimestampMinMaxOps",
    "TimestampMinMaxMultiOps",
    "TimestampTzBloomOps",
    "TimestampTzMinMaxOps",
    "TimestampTzMinMaxMultiOps",
    "TimeBloomOps",
    "TimeMinMaxOps",
    "TimeMinMaxMultiOps",
    "TimeTzBloomOps",
    "TimeTzMinMaxOps",
    "TimeTzMinMaxMultiOps",
    "UuidBloomOps",
    "UuidMinMaxOps",
    "UuidMinMaxMultiOps",
    "CharBloomOps",
    "CharMinMaxOps",
    "NameBloomOps",
    "NameMinMaxOps",
    "MacAddrBloomOps",
    "MacAddrMinMaxOps",
];

fn operator_class(value: &Expr, cx: &mut Cx<'_, '_>) {
    let known = match value {
        Expr::Path(name, _) => OPERATOR_CLASSES.contains(name),
        Expr::Call { name, args, .. } => name.name == "raw" && args.len() == 1 && args[0].value.as_str().is_some(),
        _ => false,
    };
    if !known {
        let name = value.as_path().unwrap_or("this value");
        cx.diagnostics
            .error("E0193", format!("unknown operator class `{name}`"), value.span())
            .label("not an operator class Prisma knows")
            .suggest(name, OPERATOR_CLASSES)
            .help("for another class, write `ops: raw(\"class_name\")`");
    }
}
