//! Partial indexes: the `where:` of `@@index`, `@@unique` and `@unique`, the latest Prisma's
//! `partialIndexes` preview feature. The condition is either SQL (`where: raw("...")`) or an
//! object of field conditions (`where: { deletedAt: null, status: { not: "gone" } }`), read
//! with Prisma's rules: each key a scalar field of the model, each value `true`, `false`,
//! `null`, a string or a number of the field's type, or `{ not: value }`.

use super::Cx;
use crate::ir::{ConditionValue, FieldCondition, FieldType, IndexCondition, Model, Provider, ScalarType};
use crate::span::Span;
use crate::syntax::ast::{Expr, Member, Text};

/// Checks a `where:` argument (`attribute` is the attribute's span, for what concerns all
/// of it) and returns the condition when it is sound. `model` holds every field already.
pub(crate) fn condition(value: &Expr, attribute: Span, model: &Model, cx: &mut Cx<'_, '_>) -> Option<IndexCondition> {
    if !cx.has_preview("partialIndexes") {
        cx.diagnostics
            .error("E0199", "partial indexes need the `partialIndexes` preview feature", attribute)
            .label("`where:` makes this a partial index")
            .help("add `previewFeatures = [\"partialIndexes\"]` to the generator block");
    }
    // Prisma's connectors that can build one; without a datasource there is none.
    if !matches!(
        cx.provider,
        Some(Provider::Postgresql | Provider::Cockroachdb | Provider::Sqlite | Provider::Sqlserver)
    ) {
        cx.diagnostics
            .error("E0126", "partial indexes are not supported by this provider", value.span())
            .label("a `where:` needs PostgreSQL, CockroachDB, SQLite or SQL Server");
    }
    match value {
        Expr::Object([], span) => {
            cx.diagnostics.error("E0206", "`where` cannot be an empty object", *span).label("name at least one field");
            None
        }
        Expr::Object(members, _) => {
            // Every member is checked (and reported), as one run reports every error.
            let conditions: Vec<Option<FieldCondition>> =
                members.iter().map(|m| field_condition(m, model, cx)).collect();
            conditions.into_iter().collect::<Option<Vec<_>>>().map(IndexCondition::Fields)
        }
        Expr::Call { name, args, span } if name.name == "raw" => {
            // Prisma reads the first argument, whatever its name, and ignores the others.
            match args.first().map(|a| &a.value) {
                Some(Expr::Str(sql, _)) if !sql.is_empty() => Some(IndexCondition::Raw(crate::ir::Text::from(*sql))),
                Some(Expr::Str(_, span)) => {
                    cx.diagnostics
                        .error("E0207", "`raw()` in `where` needs SQL, not an empty string", *span)
                        .label("empty condition");
                    None
                }
                other => {
                    let (span, found) = other.map_or((*span, "nothing"), |v| (v.span(), v.describe()));
                    cx.diagnostics
                        .error("E0207", "`raw()` in `where` takes the condition as a string", span)
                        .label(format!("expected a string, found {found}"))
                        .help("write for example `where: raw(\"status = 'active'\")`");
                    None
                }
            }
        }
        other => {
            cx.diagnostics
                .error("E0206", "`where` must be `raw(\"...\")` or an object of field conditions", other.span())
                .label(format!("found {}", other.describe()))
                .help("write for example `where: raw(\"status = 'active'\")` or `where: { active: true }`");
            None
        }
    }
}

/// One `field: value` member of an object condition.
fn field_condition(member: &Member, model: &Model, cx: &mut Cx<'_, '_>) -> Option<FieldCondition> {
    let name = member.key.name;
    let Some(field) = model.field(name) else {
        cx.diagnostics
            .error(
                "E0208",
                format!("`where` names `{name}`, which is not a field of `{}`", model.name),
                member.key.span,
            )
            .label("unknown field")
            .suggest(name, model.fields.iter().map(|f| f.name.as_str()));
        return None;
    };
    if field.is_relation() {
        cx.diagnostics
            .error("E0208", format!("`where` names the relation field `{name}`"), member.key.span)
            .label("only scalar fields can be used in a partial index's condition");
        return None;
    }
    let (negated, value) = match &member.value {
        Expr::Object(inner, span) => match *inner {
            [only] if only.key.name == "not" => (true, &only.value),
            [only] => {
                cx.diagnostics
                    .error("E0209", format!("unknown condition `{}`", only.key.name), only.key.span)
                    .label("only `not` is supported");
                return None;
            }
            _ => {
                cx.diagnostics
                    .error("E0209", "a nested condition takes exactly one key, `not`", *span)
                    .label("write `{ not: null }` or `{ not: value }`");
                return None;
            }
        },
        value => (false, value),
    };
    let value = condition_value(value, &field.ty, name, cx)?;
    Some(FieldCondition { field: Text::from(name), negated, value })
}

/// A condition's value, checked against the field's type: a boolean for `Boolean`, a
/// string for `String`, `DateTime` and enums, a number for the numeric types, `null` for
/// any field.
fn condition_value(value: &Expr, ty: &FieldType, field: &str, cx: &mut Cx<'_, '_>) -> Option<ConditionValue> {
    let (found, fits) = match value {
        Expr::Path(p, _) if *p == "null" => return Some(ConditionValue::Null),
        Expr::Path(p, _) if *p == "true" || *p == "false" => {
            ("a boolean", matches!(ty, FieldType::Scalar { scalar: ScalarType::Boolean }))
        }
        Expr::Str(..) => (
            "a string",
            matches!(
                ty,
                FieldType::Scalar { scalar: ScalarType::String | ScalarType::DateTime } | FieldType::Enum { .. }
            ),
        ),
        Expr::Number(..) => (
            "a number",
            matches!(
                ty,
                FieldType::Scalar {
                    scalar: ScalarType::Int | ScalarType::BigInt | ScalarType::Float | ScalarType::Decimal
                }
            ),
        ),
        other => {
            cx.diagnostics
                .error(
                    "E0209",
                    "a condition's value must be `true`, `false`, `null`, a string or a number",
                    other.span(),
                )
                .label(format!("found {}", other.describe()))
                .help("or `{ not: value }`; anything else needs `where: raw(\"...\")`");
            return None;
        }
    };
    if !fits {
        let expected = match ty {
            FieldType::Enum { .. } => "a string",
            FieldType::Scalar { scalar: ScalarType::Boolean } => "a boolean",
            FieldType::Scalar { scalar: ScalarType::String | ScalarType::DateTime } => "a string",
            FieldType::Scalar {
                scalar: ScalarType::Int | ScalarType::BigInt | ScalarType::Float | ScalarType::Decimal,
            } => "a number",
            // Json, Bytes, Unsupported and composite types compare with nothing but `null`.
            _ => "only `null`",
        };
        cx.diagnostics
            .error("E0209", format!("`{field}` takes {expected} in a condition, not {found}"), value.span())
            .label("wrong type for this field")
            .help("any other condition can be written as SQL: `where: raw(\"...\")`");
        return None;
    }
    Some(match value {
        Expr::Str(s, _) => ConditionValue::String(crate::ir::Text::from(*s)),
        Expr::Number(n, _) => ConditionValue::Number(crate::ir::Text::from(*n)),
        _ => ConditionValue::Boolean(value.as_path() == Some("true")),
    })
}
