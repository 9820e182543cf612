//! The SQL of a partial index's condition (`where:` on `@@index`, `@@unique`, `@unique`).
//!
//! `raw("...")` goes to the database as written. An object of field conditions becomes
//! the conjunction of one comparison per field, with each value in the database's own
//! form (the same forms [`crate::value`] writes): on SQLite a `Boolean` is `1`/`0` and a
//! `DateTime` epoch milliseconds; an enum value is its mapped (`@map`) name.
//!
//! The text is also what migrations compare (see `migrate::introspect`), so it is built
//! the same way every time.

use crate::dialect::{literal, quote, Dialect};
use crate::time;
use ssot_schema::ir::{ConditionValue, FieldType, IndexCondition, Model, ScalarType, Schema};

/// The marker a PostgreSQL index's comment starts with when it holds the condition ssot
/// wrote (PostgreSQL keeps a predicate only in its own normalized form).
pub const COMMENT_MARKER: &str = "ssot where: ";

/// The predicate of `condition` on `model`'s table, in `dialect`.
pub fn condition_sql(schema: &Schema, model: &Model, condition: &IndexCondition, dialect: Dialect) -> String {
    let fields = match condition {
        IndexCondition::Raw(sql) => return sql.to_string(),
        IndexCondition::Fields(fields) => fields,
    };
    let parts: Vec<String> = fields
        .iter()
        .map(|c| {
            let field = model.field(&c.field);
            let column = quote(field.map_or(c.field.as_str(), |f| f.db_name.as_str()));
            let ty = field.map(|f| &f.ty);
            match (&c.value, c.negated) {
                (ConditionValue::Null, false) => format!("{column} IS NULL"),
                (ConditionValue::Null, true) => format!("{column} IS NOT NULL"),
                (value, negated) => {
                    let operator = if negated { "<>" } else { "=" };
                    format!("{column} {operator} {}", value_sql(schema, ty, value, dialect))
                }
            }
        })
        .collect();
    parts.join(" AND ")
}

fn value_sql(schema: &Schema, ty: Option<&FieldType>, value: &ConditionValue, dialect: Dialect) -> String {
    match value {
        ConditionValue::Null => "NULL".into(),
        ConditionValue::Boolean(b) => match dialect {
            Dialect::Sqlite => u8::from(*b).to_string(),
            Dialect::Postgres => b.to_string(),
        },
        ConditionValue::Number(n) => n.to_string(),
        ConditionValue::String(s) => match ty {
            Some(FieldType::Scalar { scalar: ScalarType::DateTime }) => match (time::parse(s), dialect) {
                (Some(ms), Dialect::Sqlite) => ms.to_string(),
                (Some(ms), Dialect::Postgres) => literal(&time::format(ms)),
                (None, _) => literal(s),
            },
            Some(FieldType::Enum { name }) => {
                let mapped = schema
                    .enum_(name)
                    .and_then(|e| e.values.iter().find(|v| v.name == s.as_str()))
                    .map_or(s.as_str(), |v| v.db_name.as_str());
                literal(mapped)
            }
            _ => literal(s),
        },
    }
}
