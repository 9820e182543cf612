//! Writes: create (with nested `create`/`connect`), update (with `connect`,
//! `disconnect`, `set` and numeric operators), delete, and their bulk forms.
//!
//! Each runs inside the caller's transaction, so a failure anywhere leaves nothing
//! behind. Foreign keys are checked before writing, which names the offending field
//! (SQLite's own error does not) and keeps integrity under `relationMode = "prisma"`,
//! where the database has no foreign keys.

mod assign;
mod checks;
mod nested;

use super::args::{join, unknown_field, ArgsReader, Filter, Selection};
use crate::conn::{Conn, DbError, Row, Value};
use crate::dialect::Dialect;
use crate::entity::{Entities, Entity, Generated, Kind, Link};
use crate::error::{FieldError, StoreError};
use crate::query::read::{get, raw_row, unique_filter};
use crate::sql::Sql;
use crate::value::encode;
use crate::{ids, time};
use assign::{assignments, fill_defaults, update_sql, write_id_in, write_returning, write_value, Assign};
use checks::{check_references, conflict};
use nested::{relate, resolve_one};
use serde_json::{Map, Value as Json};
use ssot_schema::ir::ScalarType;

/// The identifier of a written row: its id fields and their values.
pub type Key = Vec<(usize, Value)>;

/// Which rows a write may find by name: the targets of `connect`, `disconnect`, `set` and
/// `connectOrCreate`, and the rows foreign keys point at. A row outside it is answered
/// exactly as a missing one, because it is looked up as if it were one (the policies of
/// `ssot-access` hide rows this way; for the admin key, the view is every row).
pub trait Visible {
    /// The rows of `model` a write may see, as a filter.
    fn visible(&self, model: usize) -> Result<Filter, StoreError>;

    /// The rows of `model` a write may name by the values of `fields` (a unique selector,
    /// a foreign key's target fields): by default, the visible ones. A view that hides
    /// some fields on some rows narrows it, so that naming a row by a value one may not
    /// read there finds nothing, whether or not the row exists.
    fn nameable(&self, model: usize, fields: &[usize]) -> Result<Filter, StoreError> {
        let _ = fields;
        self.visible(model)
    }
}

/// `filter` on `model`, narrowed to the rows `vis` lets the write see.
pub(super) fn scoped(vis: &dyn Visible, model: usize, filter: Filter) -> Result<Filter, StoreError> {
    Ok(crate::query::policy::simplify(Filter::And(vec![filter, vis.visible(model)?])))
}

/// The row of `model` with these unique values, as far as `vis` lets the write name it.
pub(super) fn named(vis: &dyn Visible, model: usize, unique: &[(usize, Value)]) -> Result<Filter, StoreError> {
    let fields: Vec<usize> = unique.iter().map(|(f, _)| *f).collect();
    Ok(crate::query::policy::simplify(Filter::And(vec![unique_filter(unique), vis.nameable(model, &fields)?])))
}

pub(super) fn object<'j>(value: &'j Json, path: &str) -> Result<&'j Map<String, Json>, StoreError> {
    value.as_object().ok_or_else(|| StoreError::invalid(path, "expected an object"))
}

/// A value that may be one item or a list of them (`connect: {..}` or `connect: [..]`), as a list.
pub fn items(value: &Json) -> Vec<&Json> {
    match value {
        Json::Array(items) => items.iter().collect(),
        other => vec![other],
    }
}

pub(super) fn now_value(dialect: Dialect) -> Value {
    let ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX));
    match dialect {
        Dialect::Sqlite => Value::Int(ms),
        Dialect::Postgres => Value::Text(time::format(ms)),
    }
}

/// Creates a row from `data` and returns it shaped by `selection`.
pub fn create(
    conn: &mut dyn Conn,
    es: &Entities,
    vis: &dyn Visible,
    model: usize,
    data: &Json,
    selection: &Selection,
) -> Result<Json, StoreError> {
    let (key, row) = insert(conn, es, vis, model, data, "data", &[])?;
    if selection.relations.is_empty() {
        // The inserted row, as returned, is final: nested writes run before it (to rows
        // it points at) or after it (to rows that point at it), never to its own columns.
        return Ok(Json::Object(crate::query::read::scalar_fields(es, model, &selection.fields, row)));
    }
    get(conn, es, model, &key, selection)?.ok_or_else(|| StoreError::NotFound("the created row is gone".into()))
}

/// Inserts one row (and its nested writes); `fixed` are fields a parent relation sets.
/// Returns the row's id and its columns as stored.
#[allow(clippy::too_many_arguments)]
pub fn insert(
    conn: &mut dyn Conn,
    es: &Entities,
    vis: &dyn Visible,
    model: usize,
    data: &Json,
    path: &str,
    fixed: &[(usize, Value)],
) -> Result<(Key, Row), StoreError> {
    let entity = &es.entities[model];
    let data = object(data, path)?;
    let mut errors = Vec::new();
    let mut values: Vec<Option<Value>> = vec![None; entity.fields.len()];
    for (f, v) in fixed {
        values[*f] = Some(v.clone());
    }
    let mut owned = Vec::new();
    let mut after = Vec::new();
    for (name, value) in data {
        let here = join(path, name);
        if let Some(f) = entity.field(name) {
            if fixed.iter().any(|(x, _)| *x == f) {
                errors.push(FieldError::new(here, "is set by the relation this row is created through"));
                continue;
            }
            match encode(&entity.fields[f], &es.stored_enums, es.dialect, value) {
                Ok(v) => values[f] = Some(v),
                Err(message) => errors.push(FieldError::new(here, message)),
            }
        } else if let Some(r) = entity.relation(name) {
            match entity.relations[r].link {
                Link::Owns { .. } => owned.push((r, value, here)),
                _ => after.push((r, value, here)),
            }
        } else {
            errors.push(unknown_field(entity, &here, name));
        }
    }
    for (r, value, here) in &owned {
        let relation = &entity.relations[*r];
        let Link::Owns { local, remote } = &relation.link else { continue };
        if local.iter().any(|l| data.contains_key(&entity.fields[*l].name)) {
            errors.push(FieldError::new(here.clone(), "set either the relation or its foreign-key fields, not both"));
            continue;
        }
        if value.is_null() {
            continue;
        }
        let target = resolve_one(conn, es, vis, relation.target, value, here, remote)?;
        for (l, v) in local.iter().zip(target) {
            values[*l] = Some(v);
        }
    }
    fill_defaults(es, entity, &mut values, &mut errors, path, true);
    if !errors.is_empty() {
        return Err(StoreError::Invalid(errors));
    }
    check_references(conn, es, vis, model, &values, path, None, fixed)?;

    let mut sql = Sql::new(es.dialect);
    sql.push("INSERT INTO ").push(es.table(model));
    let given: Vec<usize> = (0..values.len()).filter(|&i| values[i].is_some()).collect();
    if given.is_empty() {
        sql.push(" DEFAULT VALUES");
    } else {
        sql.push(" (");
        for (n, &i) in given.iter().enumerate() {
            if n > 0 {
                sql.push(", ");
            }
            sql.ident(&es.column(model, i).name);
        }
        sql.push(") VALUES (");
        for (n, &i) in given.iter().enumerate() {
            if n > 0 {
                sql.push(", ");
            }
            let value = values[i].take().unwrap_or(Value::Null);
            write_value(&mut sql, es, (model, i), value);
        }
        sql.push(")");
    }
    sql.push(" RETURNING ");
    write_returning(&mut sql, es, model);
    let rows = conn.query(&sql.text, &sql.params).map_err(|e| conflict(es, model, e, path))?;
    let row =
        rows.into_iter().next().ok_or_else(|| StoreError::Database(DbError::Other("INSERT returned no row".into())))?;

    for (r, value, here) in after {
        relate(conn, es, vis, model, &row, r, value, &here, false)?;
    }
    let key = entity.id.iter().map(|&f| (f, row[f].clone())).collect();
    Ok((key, row))
}

/// Updates the row with `unique` from `data`; returns its key (changed when the data
/// sets an id field) and its columns as stored.
pub fn update(
    conn: &mut dyn Conn,
    es: &Entities,
    vis: &dyn Visible,
    model: usize,
    unique: &Key,
    data: &Json,
) -> Result<(Key, Row), StoreError> {
    let entity = &es.entities[model];
    let filter = unique_filter(unique);
    let Some(before) = raw_row(conn, es, model, &filter)? else {
        return Err(StoreError::no_record(&entity.name));
    };
    let data = object(data, "data")?;
    let (mut sets, after) = assignments(conn, es, vis, model, data, "data", false)?;
    let mut new_id: Key = entity.id.iter().map(|&f| (f, before[f].clone())).collect();
    for (f, assign) in &sets {
        if let (Some(slot), Assign::Set(v)) = (new_id.iter_mut().find(|(x, _)| x == f), assign) {
            slot.1 = v.clone();
        }
    }
    let id_filter = unique_filter(&entity.id.iter().map(|&f| (f, before[f].clone())).collect::<Key>());
    let mut values: Vec<Option<Value>> = vec![None; entity.fields.len()];
    for (f, assign) in &sets {
        if let Assign::Set(v) = assign {
            values[*f] = Some(v.clone());
        }
    }
    check_references(conn, es, vis, model, &values, "data", Some(&before), &[])?;
    let mut errors = Vec::new();
    let given: Vec<usize> = sets.iter().map(|(f, _)| *f).collect();
    fill_defaults(es, entity, &mut values, &mut errors, "data", false);
    for (i, v) in values.into_iter().enumerate() {
        if let (false, Some(v)) = (given.contains(&i), v) {
            sets.push((i, Assign::Set(v)));
        }
    }
    update_sql(conn, es, model, &sets, &id_filter, "data")?;
    let new_filter = unique_filter(&new_id);
    let row = raw_row(conn, es, model, &new_filter)?.ok_or_else(|| StoreError::no_record(&entity.name))?;
    for (r, value, here) in after {
        relate(conn, es, vis, model, &row, r, value, &here, true)?;
    }
    Ok((new_id, row))
}

/// Deletes the row with `unique` and returns it as it was.
pub fn delete(
    conn: &mut dyn Conn,
    es: &Entities,
    model: usize,
    unique: &Key,
    selection: &Selection,
) -> Result<Json, StoreError> {
    let entity = &es.entities[model];
    let Some(row) = get(conn, es, model, unique, selection)? else {
        return Err(StoreError::no_record(&entity.name));
    };
    delete_where(conn, es, model, &unique_filter(unique))?;
    Ok(row)
}

pub fn delete_where(conn: &mut dyn Conn, es: &Entities, model: usize, filter: &Filter) -> Result<u64, StoreError> {
    if es.emulate_references {
        checks::on_delete(conn, es, model, filter, 0)?;
    }
    let mut sql = Sql::new(es.dialect);
    sql.push("DELETE FROM ").push(es.table(model)).push(" WHERE ");
    write_id_in(&mut sql, es, model, filter);
    conn.execute(&sql.text, &sql.params).map_err(|e| match e {
        DbError::ForeignKey(_) => {
            let referencing: Vec<String> = es
                .entities
                .iter()
                .flat_map(|other| {
                    other.relations.iter().filter_map(move |r| match &r.link {
                        Link::Owns { local, .. } if r.target == model => Some(format!(
                            "{}.{}",
                            other.name,
                            local.iter().map(|&l| other.fields[l].name.as_str()).collect::<Vec<_>>().join(", ")
                        )),
                        _ => None,
                    })
                })
                .collect();
            StoreError::Conflict {
                message: format!(
                    "the `{}` record is still referenced ({}); delete or reassign those rows first",
                    es.entities[model].name,
                    referencing.join("; ")
                ),
                fields: referencing,
            }
        }
        other => StoreError::from(other),
    })
}

/// `createMany`: every row in one transaction; returns how many.
pub fn create_many(
    conn: &mut dyn Conn,
    es: &Entities,
    vis: &dyn Visible,
    model: usize,
    data: &Json,
) -> Result<u64, StoreError> {
    let Json::Array(rows) = data else {
        return Err(StoreError::invalid("data", "expected a list of rows"));
    };
    for (i, row) in rows.iter().enumerate() {
        insert(conn, es, vis, model, row, &format!("data[{i}]"), &[])?;
    }
    Ok(rows.len() as u64)
}

/// `updateMany`: scalar fields only; returns how many rows matched.
pub fn update_many(
    conn: &mut dyn Conn,
    es: &Entities,
    vis: &dyn Visible,
    model: usize,
    filter: &Filter,
    data: &Json,
) -> Result<u64, StoreError> {
    let entity = &es.entities[model];
    let data = object(data, "data")?;
    let (mut sets, _) = assignments(conn, es, vis, model, data, "data", true)?;
    for (i, f) in entity.fields.iter().enumerate() {
        if f.updated_at && !sets.iter().any(|(x, _)| *x == i) {
            sets.push((i, Assign::Set(now_value(es.dialect))));
        }
    }
    let mut values: Vec<Option<Value>> = vec![None; entity.fields.len()];
    for (f, assign) in &sets {
        if let Assign::Set(v) = assign {
            values[*f] = Some(v.clone());
        }
    }
    check_references(conn, es, vis, model, &values, "data", None, &[])?;
    update_sql(conn, es, model, &sets, filter, "data")
}
