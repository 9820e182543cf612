//! A [`Filter`] decided in memory on one row as the change log holds it, where the
//! answer is certain to be the database's.
//!
//! The realtime gateway asks this of every changed row before running a live query again:
//! a row that matched the query's filter and the subscriber's rules neither before nor
//! after a change cannot change what the subscriber sees. So the answer must never be
//! "no" where SQL would say "yes"; where this module cannot be sure (relations, text
//! search, case-insensitive matching, JSON, decimals, a collation it does not know, a
//! value stored in a form the column's type does not promise), it says `None` and the
//! caller asks the database.
//!
//! Semantics are [`super::filter`]'s, which are two-valued: a comparison with null is
//! false (`!=` and `notIn` included), and `NOT` of something false is true.

use super::args::{Cmp, Filter};
use crate::dialect::Dialect;
use crate::entity::{Entities, Kind, ScalarField};
use serde_json::{Map, Value as Json};
use ssot_schema::ir::ScalarType;
use std::cmp::Ordering;

/// Whether `row` (a row of `model` by column, in the log's representation) passes
/// `filter`: `Some` when that is certain, `None` when only the database can tell.
pub fn matches(es: &Entities, model: usize, filter: &Filter, row: &Map<String, Json>) -> Option<bool> {
    match filter {
        Filter::True => Some(true),
        Filter::And(parts) => {
            let mut certain = true;
            for part in parts {
                match matches(es, model, part, row) {
                    Some(false) => return Some(false),
                    Some(true) => {}
                    None => certain = false,
                }
            }
            certain.then_some(true)
        }
        Filter::Or(parts) => {
            let mut certain = true;
            for part in parts {
                match matches(es, model, part, row) {
                    Some(true) => return Some(true),
                    Some(false) => {}
                    None => certain = false,
                }
            }
            certain.then_some(false)
        }
        Filter::Not(inner) => matches(es, model, inner, row).map(|b| !b),
        Filter::Compare { field, cmp, value, insensitive: false } => {
            let cast = &es.column(model, *field).cast;
            let Some(column) = stored(es, model, *field, row)? else { return Some(false) };
            let field = &es.entities[model].fields[*field];
            let wanted = crate::value::decode(field, &es.stored_enums, value.clone());
            if wanted.is_null() {
                return Some(false);
            }
            let order = compare(es.dialect, (field, cast), &column, &wanted, *cmp)?;
            Some(match cmp {
                Cmp::Eq => order == Ordering::Equal,
                Cmp::Ne => order != Ordering::Equal,
                Cmp::Lt => order == Ordering::Less,
                Cmp::Lte => order != Ordering::Greater,
                Cmp::Gt => order == Ordering::Greater,
                Cmp::Gte => order != Ordering::Less,
            })
        }
        Filter::Null { field, is_null } => {
            let column = stored(es, model, *field, row)?;
            Some(column.is_none() == *is_null)
        }
        Filter::In { field, values, negated, insensitive: false } if !values.is_empty() => {
            let cast = &es.column(model, *field).cast;
            let Some(column) = stored(es, model, *field, row)? else { return Some(false) };
            let field = &es.entities[model].fields[*field];
            let mut found = false;
            for value in values {
                let wanted = crate::value::decode(field, &es.stored_enums, value.clone());
                // SQL's `x IN (.., NULL, ..)` is null unless another value is equal.
                if !wanted.is_null()
                    && compare(es.dialect, (field, cast), &column, &wanted, Cmp::Eq)? == Ordering::Equal
                {
                    found = true;
                }
            }
            if !found && values.contains(&crate::conn::Value::Null) {
                return Some(false);
            }
            Some(found != *negated)
        }
        // Empty lists, case-insensitive matches, text search, relations, scalar lists.
        _ => None,
    }
}

/// The value of field `index` of `model` in `row` in the API's form: `Some(None)` when it is null, `None`
/// when the row lacks it, its type cannot be decided here, or it is stored in a form its
/// type does not promise (SQLite keeps whatever another program wrote, and compares
/// values of different storage classes by class, not by value).
fn stored(es: &Entities, model: usize, index: usize, row: &Map<String, Json>) -> Option<Option<Json>> {
    let field = &es.entities[model].fields[index];
    if field.list {
        return None;
    }
    let raw = row.get(&es.column(model, index).name)?;
    if raw.is_null() {
        return Some(None);
    }
    let postgres = es.dialect == Dialect::Postgres;
    let as_promised = match field.kind {
        // A value not of the enum (written by another program) compares by its text in SQL.
        Kind::Enum(e) => raw.as_str().is_some_and(|v| es.stored_enums[e].values.iter().any(|(_, db)| db == v)),
        Kind::Scalar(ScalarType::String) => raw.is_string(),
        Kind::Scalar(ScalarType::Int | ScalarType::BigInt) => raw.is_i64(),
        Kind::Scalar(ScalarType::Float) => raw.is_number(),
        // SQLite compares a stored 2 with the 1 a `true` binds to as unequal.
        Kind::Scalar(ScalarType::Boolean) => {
            if postgres {
                raw.is_boolean()
            } else {
                matches!(raw.as_i64(), Some(0 | 1))
            }
        }
        Kind::Scalar(ScalarType::DateTime) => {
            if postgres {
                raw.is_string()
            } else {
                raw.is_i64()
            }
        }
        Kind::Scalar(ScalarType::Decimal | ScalarType::Json | ScalarType::Bytes) => false,
    };
    as_promised.then(|| Some(crate::changelog::api_value(es, field, raw)))
}

/// Whether SQL's equality on a text column of type `cast` is byte equality: not PostgreSQL's
/// `citext`, padded `char(n)` or `uuid` (which read other spellings as equal), nor
/// `varchar(n)` (a longer value is cut to `n` characters when it is cast).
pub fn byte_equal_text(dialect: Dialect, cast: &str) -> bool {
    match dialect {
        Dialect::Sqlite => true,
        Dialect::Postgres => {
            matches!(cast.to_ascii_lowercase().as_str(), "text" | "varchar" | "character varying")
        }
    }
}

/// How `column` compares with `wanted` (both in the API's form) as the database would
/// compare them for `cmp`; `None` when that is not certain.
fn compare(
    dialect: Dialect,
    (field, cast): (&ScalarField, &str),
    column: &Json,
    wanted: &Json,
    cmp: Cmp,
) -> Option<Ordering> {
    let equality = matches!(cmp, Cmp::Eq | Cmp::Ne);
    let lowered = cast.to_ascii_lowercase();
    match field.kind {
        // PostgreSQL orders an enum's values as declared; equality is exact everywhere.
        Kind::Enum(_) if equality => Some(column.as_str()?.cmp(wanted.as_str()?)),
        Kind::Enum(_) => None,
        Kind::Scalar(ScalarType::String) => {
            // Byte order only under SQLite's BINARY collation.
            let plain = byte_equal_text(dialect, cast) && (equality || dialect == Dialect::Sqlite);
            plain.then(|| column.as_str().zip(wanted.as_str()).map(|(a, b)| a.cmp(b)))?
        }
        Kind::Scalar(ScalarType::Int) => Some(column.as_i64()?.cmp(&wanted.as_i64()?)),
        Kind::Scalar(ScalarType::BigInt) => {
            let number = |v: &Json| v.as_str().and_then(|s| s.parse::<i64>().ok()).or_else(|| v.as_i64());
            Some(number(column)?.cmp(&number(wanted)?))
        }
        // The log's float text is read back to within one unit in the last place, not exactly:
        // an equality or a bound at that very value could come out the other way.
        Kind::Scalar(ScalarType::Float) => None,
        Kind::Scalar(ScalarType::Boolean) if equality => Some(column.as_bool()?.cmp(&wanted.as_bool()?)),
        Kind::Scalar(ScalarType::DateTime) => {
            // The API shows milliseconds: only columns that hold no finer time compare alike.
            let millis =
                dialect == Dialect::Sqlite || lowered.starts_with("timestamp(3)") || lowered == "timestamptz(3)";
            if !millis {
                return None;
            }
            Some(crate::time::parse(column.as_str()?)?.cmp(&crate::time::parse(wanted.as_str()?)?))
        }
        _ => None,
    }
}
