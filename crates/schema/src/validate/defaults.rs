//! `@default(...)`: the value must fit the field's type, and functions their types
//! and the provider.

use super::{Cx, Top};
use crate::ir::Text;
use crate::ir::{DefaultValue, Field, FieldType, Provider, ScalarType};
use crate::syntax::ast::{Arity, Expr};
use serde_json::Value;

const FUNCTIONS: [&str; 9] =
    ["autoincrement", "now", "uuid", "cuid", "nanoid", "ulid", "dbgenerated", "sequence", "auto"];

pub(crate) fn check(field: &Field, value: &Expr, cx: &mut Cx<'_, '_>) -> Option<DefaultValue> {
    if let Expr::Call { name, args, span } = value {
        return function(field, name.name, args, *span, cx);
    }
    if matches!(field.ty, FieldType::Unsupported { .. }) {
        cx.diagnostics
            .error(
                "E0144",
                format!("`{}` has an `Unsupported` type, so only `dbgenerated(...)` can be its default", field.name),
                value.span(),
            )
            .label("not allowed for `Unsupported` fields");
        return None;
    }
    if field.arity == Arity::List {
        let Expr::Array(items, _) = value else {
            mismatch(field, value, "a list", cx);
            return None;
        };
        let mut values = Vec::new();
        let mut enum_values = Vec::new();
        for item in *items {
            match literal(field, item, cx)? {
                DefaultValue::Value { value } => values.push(value),
                DefaultValue::Enum { values } => enum_values.extend(values),
                DefaultValue::Function { .. } => return None,
            }
        }
        if matches!(field.ty, FieldType::Enum { .. }) {
            return Some(DefaultValue::Enum { values: enum_values });
        }
        return Some(DefaultValue::Value { value: Value::Array(values) });
    }
    if let Expr::Array(..) = value {
        mismatch(field, value, "a single value, not a list", cx);
        return None;
    }
    literal(field, value, cx)
}

fn mismatch(field: &Field, value: &Expr, expected: &str, cx: &mut Cx<'_, '_>) {
    let type_name = match &field.ty {
        FieldType::Scalar { scalar } => scalar.name(),
        FieldType::Enum { name } => name.as_str(),
        _ => "this",
    };
    cx.diagnostics
        .error(
            "E0141",
            format!("the default value does not fit the `{type_name}` field `{}`", field.name),
            value.span(),
        )
        .label(format!("expected {expected}, found {}", value.describe()));
}

/// One literal of the field's element type.
fn literal(field: &Field, value: &Expr, cx: &mut Cx<'_, '_>) -> Option<DefaultValue> {
    let scalar = match &field.ty {
        FieldType::Scalar { scalar } => *scalar,
        FieldType::Enum { name } => return enum_literal(field, name, value, cx),
        _ => return None,
    };
    let ok = |value: Value| Some(DefaultValue::Value { value });
    match (scalar, value) {
        (ScalarType::String, Expr::Str(s, _)) => ok(Value::String(s.to_string())),
        (ScalarType::Int | ScalarType::BigInt, Expr::Number(n, _)) => match n.parse::<i64>() {
            Ok(i) => {
                if scalar == ScalarType::Int && i32::try_from(i).is_err() {
                    // Prisma accepts it; the database's 32-bit column will not hold it.
                    cx.diagnostics
                        .warning(
                            "W0141",
                            format!("`{i}` does not fit the 32-bit column of the `Int` field `{}`", field.name),
                            value.span(),
                        )
                        .label("out of the 32-bit range")
                        .help("use `BigInt` for values beyond ±2,147,483,647");
                }
                ok(Value::from(i))
            }
            Err(_) => {
                mismatch(field, value, "an integer", cx);
                None
            }
        },
        (ScalarType::Float, Expr::Number(n, _)) => match n.parse::<f64>() {
            Ok(f) => ok(serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number)),
            Err(_) => {
                mismatch(field, value, "a number", cx);
                None
            }
        },
        (ScalarType::Decimal, Expr::Number(n, _) | Expr::Str(n, _)) if n.parse::<f64>().is_ok() => {
            ok(Value::String(n.to_string()))
        }
        (ScalarType::Boolean, Expr::Path(p, _)) if *p == "true" || *p == "false" => ok(Value::Bool(*p == "true")),
        (ScalarType::DateTime, Expr::Str(s, _)) if is_rfc3339(s) => ok(Value::String(s.to_string())),
        (ScalarType::Json, Expr::Str(s, _)) if serde_json::from_str::<Value>(s).is_ok() => {
            ok(Value::String(s.to_string()))
        }
        (ScalarType::Bytes, Expr::Str(s, _)) if is_base64(s) => ok(Value::String(s.to_string())),
        _ => {
            let expected = match scalar {
                ScalarType::String => "a string",
                ScalarType::Int | ScalarType::BigInt => "an integer",
                ScalarType::Float | ScalarType::Decimal => "a number",
                ScalarType::Boolean => "`true` or `false`",
                ScalarType::DateTime => "an RFC 3339 date string or `now()`",
                ScalarType::Json => "a string holding valid JSON",
                ScalarType::Bytes => "a base64 string",
            };
            mismatch(field, value, expected, cx);
            None
        }
    }
}

fn enum_literal(field: &Field, enum_name: &str, value: &Expr, cx: &mut Cx<'_, '_>) -> Option<DefaultValue> {
    let Some(Top::Enum(e)) = cx.tops.get(enum_name).copied() else {
        return None;
    };
    let Expr::Path(name, span) = value else {
        mismatch(field, value, &format!("a value of enum `{enum_name}`"), cx);
        return None;
    };
    if e.values.iter().any(|v| v.name.name == *name) {
        return Some(DefaultValue::Enum { values: vec![Text::from(*name)] });
    }
    cx.diagnostics
        .error("E0145", format!("`{name}` is not a value of enum `{enum_name}`"), *span)
        .label("unknown enum value")
        .suggest(name, e.values.iter().map(|v| v.name.name));
    None
}

fn function(
    field: &Field,
    name: &str,
    args: &[crate::syntax::ast::Argument],
    span: crate::Span,
    cx: &mut Cx<'_, '_>,
) -> Option<DefaultValue> {
    let scalar = match &field.ty {
        FieldType::Scalar { scalar } => Some(*scalar),
        _ => None,
    };
    let is_string = scalar == Some(ScalarType::String);
    let (fits, expected) = match name {
        "autoincrement" => (matches!(scalar, Some(ScalarType::Int | ScalarType::BigInt)), "an `Int` or `BigInt` field"),
        "now" => (scalar == Some(ScalarType::DateTime), "a `DateTime` field"),
        "uuid" | "cuid" | "nanoid" | "ulid" => (is_string, "a `String` field"),
        "dbgenerated" => (true, ""),
        "sequence" => (matches!(scalar, Some(ScalarType::Int | ScalarType::BigInt)), "an `Int` or `BigInt` field"),
        "auto" => (true, ""),
        _ => {
            cx.diagnostics
                .error("E0140", format!("unknown function `{name}()` in `@default`"), span)
                .label("not a default function")
                .suggest(name, FUNCTIONS);
            return None;
        }
    };
    let provider_ok = match name {
        "sequence" => cx.provider == Some(Provider::Cockroachdb),
        "auto" => cx.provider == Some(Provider::Mongodb),
        _ => true,
    };
    if !provider_ok {
        cx.diagnostics
            .error("E0146", format!("`{name}()` is not supported by this datasource's provider"), span)
            .label(if name == "auto" { "only MongoDB has `auto()`" } else { "only CockroachDB has `sequence()`" });
        return None;
    }
    if matches!(field.ty, FieldType::Unsupported { .. }) && name != "dbgenerated" {
        cx.diagnostics
            .error(
                "E0144",
                format!("`{}` has an `Unsupported` type, so only `dbgenerated(...)` can be its default", field.name),
                span,
            )
            .label("not allowed for `Unsupported` fields");
        return None;
    }
    if !fits {
        cx.diagnostics
            .error("E0147", format!("`{name}()` cannot be the default of `{}`", field.name), span)
            .label(format!("`{name}()` only fits {expected}"));
        return None;
    }
    let values: Vec<Value> = args
        .iter()
        .map(|a| match &a.value {
            Expr::Str(s, _) => Value::String(s.to_string()),
            // Only whole numbers are function arguments (`uuid(7)`, `nanoid(16)`).
            Expr::Number(n, _) => n.parse::<i64>().map_or(Value::Null, Value::from),
            // Not a literal: no function takes it, so it fails the check below.
            _ => Value::Null,
        })
        .collect();

    let version_ok = match (name, values.as_slice()) {
        (_, []) => true,
        ("uuid", [Value::Number(n)]) => n.as_i64() == Some(4) || n.as_i64() == Some(7),
        ("cuid", [Value::Number(n)]) => n.as_i64() == Some(1) || n.as_i64() == Some(2),
        ("nanoid", [Value::Number(n)]) => n.as_i64().is_some_and(|l| (2..=255).contains(&l)),
        ("dbgenerated", [Value::String(sql)]) => !sql.is_empty(),

        _ => false,
    };
    if !version_ok {
        let help = match name {
            "uuid" => "`uuid()` takes no argument, 4 or 7",
            "cuid" => "`cuid()` takes no argument, 1 or 2",
            "nanoid" => "`nanoid()` takes no argument or a length from 2 to 255",
            "dbgenerated" => "`dbgenerated()` takes no argument or an SQL expression as a string",
            _ => "this function takes no arguments",
        };
        cx.diagnostics
            .error("E0148", format!("invalid arguments for `{name}()`"), span)
            .label("not accepted here")
            .help(help);
        return None;
    }
    Some(DefaultValue::Function { name: Text::from(name), args: values })
}

/// Where the database can autoincrement depends on the keys of the whole model.
pub(crate) fn check_autoincrement(model: &crate::ir::Model, cx: &mut Cx<'_, '_>) {
    // A view's columns are computed by its query: nothing to autoincrement.
    if model.kind == crate::ir::ModelKindIr::View {
        return;
    }
    let is_autoincrement =
        |f: &&Field| matches!(&f.default, Some(DefaultValue::Function { name, .. }) if name == "autoincrement");
    for field in model.fields.iter().filter(is_autoincrement) {
        let single_id = model.primary_key.as_ref().is_some_and(|pk| pk.fields == [field.name.clone()]);
        let indexed = model
            .primary_key
            .iter()
            .map(|pk| &pk.fields)
            .chain(model.uniques.iter().map(|u| &u.fields))
            .chain(model.indexes.iter().map(|i| &i.fields))
            .any(|fields| fields.first() == Some(&field.name));
        match cx.provider {
            Some(Provider::Sqlite) | None if !single_id => {
                cx.diagnostics
                    .error(
                        "E0149",
                        format!(
                            "on SQLite, `autoincrement()` is only allowed on the id field, and `{}` is not it",
                            field.name
                        ),
                        field.span,
                    )
                    .label("SQLite only autoincrements a single-field primary key");
            }
            Some(Provider::Mysql) if !indexed => {
                cx.diagnostics
                    .error(
                        "E0149",
                        format!("on MySQL, an `autoincrement()` field must be indexed, and `{}` is not", field.name),
                        field.span,
                    )
                    .label("add `@unique`, `@id` or an `@@index` covering it");
            }
            _ => {}
        }
    }
}

/// `YYYY-MM-DDTHH:MM:SS(.frac)?(Z|±HH:MM)`, with ranges checked.
fn is_rfc3339(s: &str) -> bool {
    let b = s.as_bytes();
    let digits = |range: std::ops::Range<usize>| b.get(range.clone()).is_some_and(|d| d.iter().all(u8::is_ascii_digit));
    let num = |range: std::ops::Range<usize>| s.get(range).and_then(|d| d.parse::<u32>().ok()).unwrap_or(99);
    if b.len() < 20 || !digits(0..4) || b[4] != b'-' || !digits(5..7) || b[7] != b'-' || !digits(8..10) {
        return false;
    }
    if !matches!(b[10], b'T' | b't' | b' ')
        || !digits(11..13)
        || b[13] != b':'
        || !digits(14..16)
        || b[16] != b':'
        || !digits(17..19)
    {
        return false;
    }
    let (year, month) = (num(0..4), num(5..7));
    let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0);
    let days_in_month = match month {
        2 if leap => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    };
    if !(1..=12).contains(&month)
        || !(1..=days_in_month).contains(&num(8..10))
        || num(11..13) > 23
        || num(14..16) > 59
        || num(17..19) > 60
    {
        return false;
    }
    let mut rest = &s[19..];
    if let Some(frac) = rest.strip_prefix('.') {
        let n = frac.bytes().take_while(u8::is_ascii_digit).count();
        if n == 0 {
            return false;
        }
        rest = &frac[n..];
    }
    match rest.as_bytes() {
        [b'Z' | b'z'] => true,
        [b'+' | b'-', h1, h2, b':', m1, m2] => [h1, h2, m1, m2].iter().all(|d| d.is_ascii_digit()),
        _ => false,
    }
}

/// Standard base64 as Prisma reads it: padded to a multiple of four, and canonical
/// (the bits a final partial group leaves unused are zero).
fn is_base64(s: &str) -> bool {
    let value = |b: u8| match b {
        b'A'..=b'Z' => Some(b - b'A'),
        b'a'..=b'z' => Some(b - b'a' + 26),
        b'0'..=b'9' => Some(b - b'0' + 52),
        b'+' => Some(62),
        b'/' => Some(63),
        _ => None,
    };
    let bytes = s.as_bytes();
    if !bytes.len().is_multiple_of(4) {
        return false;
    }
    let data = s.trim_end_matches('=').as_bytes();
    let padding = bytes.len() - data.len();
    if padding > 2 || data.iter().any(|b| value(*b).is_none()) {
        return false;
    }
    let last = data.last().and_then(|b| value(*b)).unwrap_or(0);
    match padding {
        1 => last & 0b11 == 0,
        2 => last & 0b1111 == 0,
        _ => true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates() {
        assert!(is_rfc3339("2020-01-01T00:00:00Z"));
        assert!(is_rfc3339("2020-01-01T00:00:00.123+02:00"));
        assert!(!is_rfc3339("2020-13-01T00:00:00Z"));
        assert!(!is_rfc3339("yesterday"));
        assert!(!is_rfc3339("2020-01-01"));
    }

    #[test]
    fn base64() {
        assert!(is_base64("aGVsbG8="));
        assert!(is_base64(""));
        assert!(!is_base64("not base64!"));
        assert!(!is_base64("aGVsbG8"), "padding is required");
        assert!(!is_base64("Zh=="), "unused bits must be zero");
        assert!(is_base64("Zg=="));
    }
}
