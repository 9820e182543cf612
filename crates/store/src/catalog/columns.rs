//! Columns as Prisma Migrate writes them: each field's SQL type (scalars, enums, native
//! `@db.X` types, `SERIAL` for autoincrement on PostgreSQL) and its `DEFAULT` clause.

use crate::dialect::Dialect;
use ssot_schema::ir::{Arity, DefaultValue, FieldType, ScalarType, Schema};

pub(super) fn column_type(
    schema: &Schema,
    field: &ssot_schema::ir::Field,
    dialect: Dialect,
    autoincrement: bool,
) -> String {
    let base = match (&field.ty, dialect) {
        (FieldType::Unsupported { db_type }, _) => db_type.to_string(),
        (FieldType::Enum { name }, Dialect::Postgres) => match schema.enums.iter().find(|e| e.name == *name) {
            Some(e) => crate::dialect::qualified(e.schema.as_deref(), &e.db_name),
            None => crate::dialect::quote(name),
        },
        (FieldType::Enum { .. }, Dialect::Sqlite) => "TEXT".to_string(),
        (FieldType::Scalar { scalar }, Dialect::Postgres) => match &field.native_type {
            Some(native) => postgres_native_type(&native.name, &native.args, autoincrement),
            None if autoincrement && *scalar == ScalarType::BigInt => "BIGSERIAL".to_string(),
            None if autoincrement => "SERIAL".to_string(),
            None => postgres_type(*scalar).to_string(),
        },
        (FieldType::Scalar { scalar }, Dialect::Sqlite) => sqlite_type(*scalar).to_string(),
        (FieldType::Relation { .. } | FieldType::Composite { .. }, _) => "TEXT".to_string(),
    };
    if field.arity == Arity::List {
        format!("{base}[]")
    } else {
        base
    }
}

pub fn sqlite_type(scalar: ScalarType) -> &'static str {
    match scalar {
        ScalarType::String => "TEXT",
        ScalarType::Int => "INTEGER",
        ScalarType::BigInt => "BIGINT",
        ScalarType::Float => "REAL",
        ScalarType::Decimal => "DECIMAL",
        ScalarType::Boolean => "BOOLEAN",
        ScalarType::DateTime => "DATETIME",
        ScalarType::Json => "JSONB",
        ScalarType::Bytes => "BLOB",
    }
}

pub fn postgres_type(scalar: ScalarType) -> &'static str {
    match scalar {
        ScalarType::String => "TEXT",
        ScalarType::Int => "INTEGER",
        ScalarType::BigInt => "BIGINT",
        ScalarType::Float => "DOUBLE PRECISION",
        ScalarType::Decimal => "DECIMAL(65,30)",
        ScalarType::Boolean => "BOOLEAN",
        ScalarType::DateTime => "TIMESTAMP(3)",
        ScalarType::Json => "JSONB",
        ScalarType::Bytes => "BYTEA",
    }
}

/// `@db.X(args)` on PostgreSQL, spelled as Prisma Migrate spells it.
fn postgres_native_type(name: &str, args: &[ssot_schema::ir::Text], autoincrement: bool) -> String {
    let args = if args.is_empty() { String::new() } else { format!("({})", args.join(",")) };
    let base = match name {
        "SmallInt" if autoincrement => return "SMALLSERIAL".to_string(),
        "Integer" if autoincrement => return "SERIAL".to_string(),
        "BigInt" if autoincrement => return "BIGSERIAL".to_string(),
        "VarChar" => "VARCHAR",
        "Char" => "CHAR",
        "Text" => "TEXT",
        "Uuid" => "UUID",
        "Xml" => "XML",
        "Inet" => "INET",
        "Citext" => "CITEXT",
        "Timestamp" => "TIMESTAMP",
        "Timestamptz" => "TIMESTAMPTZ",
        "Date" => "DATE",
        "Time" => "TIME",
        "Timetz" => "TIMETZ",
        "SmallInt" => "SMALLINT",
        "Integer" => "INTEGER",
        "BigInt" => "BIGINT",
        "Oid" => "OID",
        "DoublePrecision" => "DOUBLE PRECISION",
        "Real" => "REAL",
        "Decimal" => "DECIMAL",
        "Money" => "MONEY",
        "Boolean" => "BOOLEAN",
        "Bit" => "BIT",
        "VarBit" => "VARBIT",
        "Json" => "JSON",
        "JsonB" => "JSONB",
        "ByteA" => "BYTEA",
        other => other,
    };
    format!("{base}{args}")
}

/// The `DEFAULT` clause the database applies. Generated ids (`uuid()`, `cuid()`, ...) have
/// none: like Prisma Client, ssot makes them when it inserts.
pub(super) fn column_default(schema: &Schema, field: &ssot_schema::ir::Field, dialect: Dialect) -> Option<String> {
    use crate::dialect::literal;
    let default = field.default.as_ref()?;
    let scalar = match &field.ty {
        FieldType::Scalar { scalar } => Some(*scalar),
        _ => None,
    };
    let list = field.arity == Arity::List;
    let one = |value: &serde_json::Value| -> Option<String> {
        Some(match value {
            serde_json::Value::String(s) if scalar == Some(ScalarType::Json) => literal(s),
            serde_json::Value::String(s) => literal(s),
            serde_json::Value::Bool(b) => b.to_string(),
            serde_json::Value::Number(n)
                if scalar == Some(ScalarType::BigInt) || scalar == Some(ScalarType::Decimal) =>
            {
                n.to_string()
            }
            serde_json::Value::Number(n) => n.to_string(),
            _ => return None,
        })
    };
    let enum_db = |value: &str| -> String {
        let FieldType::Enum { name } = &field.ty else { return value.to_string() };
        schema
            .enums
            .iter()
            .find(|e| e.name == *name)
            .and_then(|e| e.values.iter().find(|v| v.name == value))
            .map_or_else(|| value.to_string(), |v| v.db_name.to_string())
    };
    match default {
        DefaultValue::Value { value: serde_json::Value::Array(items) } if list => {
            let items: Option<Vec<String>> = items.iter().map(one).collect();
            let element = column_type(schema, field, dialect, false);
            Some(format!("ARRAY[{}]::{}", items?.join(", "), element))
        }
        DefaultValue::Value { value } => one(value),
        DefaultValue::Enum { values } if list => {
            let items: Vec<String> = values.iter().map(|v| literal(&enum_db(v))).collect();
            Some(format!("ARRAY[{}]::{}", items.join(", "), column_type(schema, field, dialect, false)))
        }
        DefaultValue::Enum { values } => values.first().map(|v| literal(&enum_db(v))),
        DefaultValue::Function { name, args } => match name.as_str() {
            "now" => Some("CURRENT_TIMESTAMP".to_string()),
            "dbgenerated" => args.first().and_then(|a| a.as_str()).map(ToString::to_string),
            "sequence" => None,
            _ => None,
        },
    }
}
