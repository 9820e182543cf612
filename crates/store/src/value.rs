//! Values between the API's JSON and the database, per field type.
//!
//! The API's forms: `BigInt` and `Decimal` as JSON strings (no precision lost in
//! JavaScript), `DateTime` as ISO-8601 UTC, `Bytes` as base64, enums by their schema
//! names. The database's forms follow Prisma: on SQLite a `DateTime` is epoch
//! milliseconds and a `Boolean` 0 or 1; on PostgreSQL every value goes as text.

use crate::conn::Value;
use crate::dialect::Dialect;
use crate::entity::{Kind, ScalarField, StoredEnum};
use crate::time;
use base64::Engine;
use serde_json::Value as Json;
use ssot_schema::ir::ScalarType;

const BASE64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;

/// The API value `json` for `field`, as the database takes it; `Err` says what was expected.
pub fn encode(field: &ScalarField, enums: &[StoredEnum], dialect: Dialect, json: &Json) -> Result<Value, String> {
    if json.is_null() {
        return if field.optional { Ok(Value::Null) } else { Err("cannot be null: the field is required".into()) };
    }
    if field.list {
        let Json::Array(items) = json else { return Err("expected a list".into()) };
        let mut texts = Vec::with_capacity(items.len());
        for (i, item) in items.iter().enumerate() {
            let value = encode_one(field.kind, enums, Dialect::Postgres, item).map_err(|e| format!("item {i}: {e}"))?;
            texts.push(match value {
                Value::Text(t) => Json::String(t),
                Value::Int(n) => Json::String(n.to_string()),
                Value::Float(f) => Json::String(f.to_string()),
                Value::Null => Json::Null,
                Value::Bytes(b) => Json::String(format!("\\x{}", hex(&b))),
            });
        }
        return Ok(Value::Text(Json::Array(texts).to_string()));
    }
    encode_one(field.kind, enums, dialect, json)
}

/// A JSON number that is a whole number: `10`, or `10.0` (JSON Schema's `integer`
/// admits both, and so do JSON's own numbers); a fraction, or a float past 2^53 (where it
/// is no longer exact), is not.
pub fn whole(json: &Json) -> Option<i64> {
    const EXACT: f64 = 9_007_199_254_740_992.0;
    json.as_i64().or_else(|| json.as_f64().filter(|f| f.fract() == 0.0 && f.abs() <= EXACT).map(|f| f as i64))
}

pub fn encode_one(kind: Kind, enums: &[StoredEnum], dialect: Dialect, json: &Json) -> Result<Value, String> {
    let scalar = match kind {
        Kind::Enum(e) => {
            let def = &enums[e];
            let text = json.as_str().ok_or_else(|| format!("expected one of the {} values", def.name))?;
            return def.to_db(text).map(|db| Value::Text(db.to_string())).ok_or_else(|| {
                let names: Vec<&str> = def.values.iter().map(|(a, _)| a.as_str()).collect();
                format!("`{text}` is not a {} value; expected one of: {}", def.name, names.join(", "))
            });
        }
        Kind::Scalar(scalar) => scalar,
    };
    match scalar {
        ScalarType::String => text(json).map(|s| Value::Text(s.to_string())),
        ScalarType::Int => {
            let n = whole(json).ok_or("expected a whole number")?;
            i32::try_from(n).map(|n| Value::Int(i64::from(n))).map_err(|_| "out of range for Int (32 bits)".into())
        }
        ScalarType::BigInt => match json {
            Json::Number(_) => whole(json).map(Value::Int).ok_or_else(|| "expected a whole number (64 bits)".into()),
            Json::String(s) => {
                s.trim().parse::<i64>().map(Value::Int).map_err(|_| "expected a whole number (64 bits)".into())
            }
            _ => Err("expected a whole number (64 bits), as a number or a string".into()),
        },
        ScalarType::Float => json.as_f64().map(Value::Float).ok_or_else(|| "expected a number".into()),
        ScalarType::Decimal => {
            let text = match json {
                Json::Number(n) => n.to_string(),
                Json::String(s) => s.trim().to_string(),
                _ => return Err("expected a decimal number, as a string or a number".into()),
            };
            if is_decimal(&text) {
                Ok(Value::Text(text))
            } else {
                Err("expected a decimal number such as \"12.50\"".into())
            }
        }
        ScalarType::Boolean => {
            json.as_bool().map(|b| Value::Int(i64::from(b))).ok_or_else(|| "expected true or false".into())
        }
        ScalarType::DateTime => {
            let text = json.as_str().ok_or("expected an ISO-8601 date-time string such as \"2024-05-01T12:30:00Z\"")?;
            let ms = time::parse(text).ok_or("expected an ISO-8601 date-time such as \"2024-05-01T12:30:00Z\"")?;
            Ok(match dialect {
                Dialect::Sqlite => Value::Int(ms),
                Dialect::Postgres => Value::Text(time::format(ms)),
            })
        }
        ScalarType::Json if holds_nul(json) => Err(NUL.into()),
        ScalarType::Json => Ok(Value::Text(json.to_string())),
        ScalarType::Bytes => {
            let text = json.as_str().ok_or("expected base64 text")?;
            BASE64.decode(text).map(Value::Bytes).map_err(|_| "expected base64 text".into())
        }
    }
}

/// Why text with a NUL character is refused.
const NUL: &str = "contains the NUL character (U+0000), which text in the database cannot hold";

/// A string the API takes as text (a value, a filter's operand): any JSON string but one
/// holding NUL. PostgreSQL cannot store NUL in text (nor in `jsonb`), so no stored string
/// can contain it; SQLite would store it but cuts a `LIKE` pattern at it. Refusing it on
/// both keeps one behaviour: a 400 naming the value's path.
pub fn text(json: &Json) -> Result<&str, String> {
    let text = json.as_str().ok_or("expected a string")?;
    if text.contains('\0') {
        return Err(NUL.into());
    }
    Ok(text)
}

/// Whether a JSON value holds NUL in a string or a key, at any depth.
fn holds_nul(json: &Json) -> bool {
    match json {
        Json::String(s) => s.contains('\0'),
        Json::Array(items) => items.iter().any(holds_nul),
        Json::Object(o) => o.iter().any(|(k, v)| k.contains('\0') || holds_nul(v)),
        _ => false,
    }
}

fn is_decimal(text: &str) -> bool {
    let digits = text.strip_prefix(['-', '+']).unwrap_or(text);
    let (whole, frac) = digits.split_once('.').unwrap_or((digits, ""));
    !(whole.is_empty() && frac.is_empty())
        && whole.bytes().all(|b| b.is_ascii_digit())
        && frac.bytes().all(|b| b.is_ascii_digit())
}

pub fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(out, "{b:02x}");
    }
    out
}

fn unhex(text: &str) -> Option<Vec<u8>> {
    let text = text.strip_prefix("\\x").unwrap_or(text);
    if !text.len().is_multiple_of(2) {
        return None;
    }
    (0..text.len()).step_by(2).map(|i| u8::from_str_radix(text.get(i..i + 2)?, 16).ok()).collect()
}

/// A database value of `field` as the API shows it.
pub fn decode(field: &ScalarField, enums: &[StoredEnum], value: Value) -> Json {
    if field.list {
        let Value::Text(text) = value else { return Json::Null };
        let Ok(Json::Array(items)) = serde_json::from_str::<Json>(&text) else { return Json::Null };
        return Json::Array(items.into_iter().map(|item| decode_list_item(field.kind, enums, item)).collect());
    }
    decode_one(field.kind, enums, value)
}

/// Lists come back from PostgreSQL through `to_json`, already JSON; only some types need
/// the API's form.
fn decode_list_item(kind: Kind, enums: &[StoredEnum], item: Json) -> Json {
    match (kind, item) {
        (_, Json::Null) => Json::Null,
        (Kind::Scalar(ScalarType::BigInt | ScalarType::Decimal), Json::Number(n)) => Json::String(n.to_string()),
        (Kind::Scalar(ScalarType::DateTime), Json::String(s)) => {
            time::parse(&s).map_or(Json::String(s), |ms| Json::String(time::format(ms)))
        }
        (Kind::Scalar(ScalarType::Bytes), Json::String(s)) => {
            unhex(&s).map_or(Json::String(s), |b| Json::String(BASE64.encode(b)))
        }
        (Kind::Enum(e), Json::String(s)) => Json::String(enums[e].to_api(&s).to_string()),
        (_, other) => other,
    }
}

pub fn decode_one(kind: Kind, enums: &[StoredEnum], value: Value) -> Json {
    if value == Value::Null {
        return Json::Null;
    }
    let scalar = match kind {
        Kind::Enum(e) => {
            return match value {
                Value::Text(t) => Json::String(enums[e].to_api(&t).to_string()),
                other => text_of(other).map_or(Json::Null, Json::String),
            };
        }
        Kind::Scalar(s) => s,
    };
    match (scalar, value) {
        (ScalarType::Int, Value::Int(i)) => Json::from(i),
        (ScalarType::Int, Value::Float(f)) => Json::from(f as i64),
        (ScalarType::BigInt, Value::Int(i)) => Json::String(i.to_string()),
        (ScalarType::Float, Value::Float(f)) => Json::from(f),
        (ScalarType::Float, Value::Int(i)) => Json::from(i as f64),
        (ScalarType::Float, Value::Text(t)) => t.parse::<f64>().ok().map_or(Json::String(t), Json::from),
        (ScalarType::Boolean, Value::Int(i)) => Json::Bool(i != 0),
        (ScalarType::Boolean, Value::Text(t)) => Json::Bool(matches!(t.as_str(), "t" | "true" | "1")),
        (ScalarType::DateTime, Value::Int(ms)) => Json::String(time::format(ms)),
        (ScalarType::DateTime, Value::Float(ms)) => Json::String(time::format(ms as i64)),
        (ScalarType::DateTime, Value::Text(t)) => {
            time::parse(&t).map_or(Json::String(t), |ms| Json::String(time::format(ms)))
        }
        (ScalarType::Json, Value::Text(t)) => serde_json::from_str(&t).unwrap_or(Json::String(t)),
        (ScalarType::Bytes, Value::Bytes(b)) => Json::String(BASE64.encode(b)),
        (ScalarType::Bytes, Value::Text(t)) => unhex(&t).map_or(Json::String(t), |b| Json::String(BASE64.encode(b))),
        (ScalarType::Int, Value::Text(t)) => t.parse::<i64>().map_or(Json::String(t), Json::from),
        // PostgreSQL pads to the column's scale (`12.500…0`); Prisma shows `12.5`.
        (ScalarType::Decimal, Value::Text(t)) => Json::String(trim_decimal(t)),
        (_, other) => text_of(other).map_or(Json::Null, Json::String),
    }
}

fn trim_decimal(text: String) -> String {
    if !text.contains('.') || text.contains(['e', 'E']) {
        return text;
    }
    text.trim_end_matches('0').trim_end_matches('.').to_string()
}

fn text_of(value: Value) -> Option<String> {
    match value {
        Value::Null => None,
        Value::Int(i) => Some(i.to_string()),
        Value::Float(f) => Some(f.to_string()),
        Value::Text(t) => Some(t),
        Value::Bytes(b) => Some(BASE64.encode(b)),
    }
}

/// Whether `value` can be written to a column of type `cast` as it is bound. Values are bound as
/// text and cast by PostgreSQL; a text its native type does not read (a `uuid` column
/// given `abc`) would fail the whole statement, where the API means "no such value".
pub fn fits_column(cast: &str, dialect: Dialect, value: &Value) -> bool {
    match (dialect, value) {
        (Dialect::Postgres, Value::Text(text)) if cast.to_ascii_lowercase().starts_with("uuid") => is_uuid(text),
        _ => true,
    }
}

/// `8-4-4-4-12` hexadecimal digits, or 32 in a row (what PostgreSQL's `uuid` reads).
fn is_uuid(text: &str) -> bool {
    let dashed = text.contains('-');
    let dashes_ok = !dashed || [8, 13, 18, 23].iter().all(|&i| text.as_bytes().get(i) == Some(&b'-'));
    let hex = text.chars().filter(|c| *c != '-').count();
    hex == 32
        && text.chars().all(|c| c == '-' || c.is_ascii_hexdigit())
        && dashes_ok
        && text.len() == if dashed { 36 } else { 32 }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field(kind: Kind) -> ScalarField {
        ScalarField { name: "f".into(), kind, list: false, optional: true, default: None, updated_at: false }
    }

    #[test]
    fn round_trips_through_sqlite_forms() {
        let cases = [
            (ScalarType::String, serde_json::json!("hi")),
            (ScalarType::Int, serde_json::json!(-7)),
            (ScalarType::BigInt, serde_json::json!("9007199254740993")),
            (ScalarType::Float, serde_json::json!(1.5)),
            (ScalarType::Boolean, serde_json::json!(true)),
            (ScalarType::DateTime, serde_json::json!("2024-05-01T12:30:00.000Z")),
            (ScalarType::Json, serde_json::json!({"a": [1, 2]})),
            (ScalarType::Bytes, serde_json::json!("AAEC")),
        ];
        for (scalar, json) in cases {
            let f = field(Kind::Scalar(scalar));
            let encoded = encode(&f, &[], Dialect::Sqlite, &json).unwrap();
            assert_eq!(decode(&f, &[], encoded), json, "{scalar:?}");
        }
    }

    #[test]
    fn rejects_wrong_types() {
        let int = field(Kind::Scalar(ScalarType::Int));
        assert!(encode(&int, &[], Dialect::Sqlite, &serde_json::json!("1")).is_err());
        assert!(encode(&int, &[], Dialect::Sqlite, &serde_json::json!(3_000_000_000_i64)).is_err());
        let date = field(Kind::Scalar(ScalarType::DateTime));
        assert!(encode(&date, &[], Dialect::Sqlite, &serde_json::json!("tomorrow")).is_err());
        let decimal = field(Kind::Scalar(ScalarType::Decimal));
        assert!(encode(&decimal, &[], Dialect::Sqlite, &serde_json::json!("1e5")).is_err());
        assert!(encode(&decimal, &[], Dialect::Sqlite, &serde_json::json!("12.50")).is_ok());
    }
}
