//! Writes: create (with nested `create`/`connect`), update (with `connect`,
//! `disconnect`, `set` and numeric operators), delete, and their bulk forms.
//!
//! Each runs inside the caller's transaction, so a failure anywhere leaves nothing
//! behind. Foreign keys are checked before writing, which names the offending field
//! (SQLite's own error does not) and keeps integrity under `relationMode = "prisma"`,
//! where the database has no foreign keys.

use super::args::{join, unknown_field, ArgsReader, Filter, Selection};
use super::read::{get, raw_row, unique_filter};
use crate::conn::{Conn, DbError, Row, Value};
use crate::dialect::Dialect;
use crate::entity::{Entities, Entity, Generated, Kind, Link};
use crate::error::{FieldError, StoreError};
use crate::sql::Sql;
use crate::value::encode;
use crate::{ids, time};
use serde_json::{Map, Value as Json};
use ssot_schema::ir::ScalarType;

/// The identifier of a written row: its id fields and their values.
pub type Key = Vec<(usize, Value)>;

fn object<'j>(value: &'j Json, path: &str) -> Result<&'j Map<String, Json>, StoreError> {
    value.as_object().ok_or_else(|| StoreError::invalid(path, "expected an object"))
}

fn items<'j>(value: &'j Json) -> Vec<&'j Json> {
    match value {
        Json::Array(items) => items.iter().collect(),
        other => vec![other],
    }
}

fn now_value(dialect: Dialect) -> Value {
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
    model: usize,
    data: &Json,
    selection: &Selection,
) -> Result<Json, StoreError> {
    let key = insert(conn, es, model, data, "data", &[])?;
    get(conn, es, model, &key, selection)?.ok_or_else(|| StoreError::NotFound("the created row is gone".into()))
}

/// Inserts one row (and its nested writes); `fixed` are fields a parent relation sets.
pub fn insert(
    conn: &mut dyn Conn,
    es: &Entities,
    model: usize,
    data: &Json,
    path: &str,
    fixed: &[(usize, Value)],
) -> Result<Key, StoreError> {
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
            match encode(&entity.fields[f], &es.enums, es.dialect, value) {
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
        let target = resolve_one(conn, es, relation.target, value, here, remote)?;
        for (l, v) in local.iter().zip(target) {
            values[*l] = Some(v);
        }
    }
    fill_defaults(es, entity, &mut values, &mut errors, path, true);
    if !errors.is_empty() {
        return Err(StoreError::Invalid(errors));
    }
    check_references(conn, es, model, &values, path, None)?;

    let mut sql = Sql::new(es.dialect);
    sql.push("INSERT INTO ").push(&entity.table);
    let given: Vec<usize> = (0..values.len()).filter(|&i| values[i].is_some()).collect();
    if given.is_empty() {
        sql.push(" DEFAULT VALUES");
    } else {
        sql.push(" (");
        for (n, &i) in given.iter().enumerate() {
            if n > 0 {
                sql.push(", ");
            }
            sql.ident(&entity.fields[i].column);
        }
        sql.push(") VALUES (");
        for (n, &i) in given.iter().enumerate() {
            if n > 0 {
                sql.push(", ");
            }
            let value = values[i].take().unwrap_or(Value::Null);
            write_value(&mut sql, &entity.fields[i], value);
        }
        sql.push(")");
    }
    sql.push(" RETURNING ");
    write_returning(&mut sql, entity);
    let rows = conn.query(&sql.text, &sql.params).map_err(|e| conflict(es, model, e, path))?;
    let row = rows.into_iter().next().ok_or_else(|| StoreError::Database(DbError::Other("INSERT returned no row".into())))?;

    for (r, value, here) in after {
        relate(conn, es, model, &row, r, value, &here, false)?;
    }
    Ok(entity.id.iter().map(|&f| (f, row[f].clone())).collect())
}

/// Writes a value, wrapped for list columns on PostgreSQL (they travel as a JSON array of texts).
fn write_value(sql: &mut Sql, field: &crate::entity::ScalarField, value: Value) {
    if field.list && sql.dialect == Dialect::Postgres && value != Value::Null {
        sql.push("ARRAY(SELECT jsonb_array_elements_text(");
        sql.param(value, "jsonb");
        sql.push("))::").push(&field.cast);
    } else {
        sql.param(value, &field.cast);
    }
}

fn write_returning(sql: &mut Sql, entity: &Entity) {
    for (i, f) in entity.fields.iter().enumerate() {
        if i > 0 {
            sql.push(", ");
        }
        sql.ident(&f.column);
        if sql.dialect == Dialect::Postgres {
            sql.push("::text");
        }
    }
}

/// Defaults for fields a create leaves out; errors for required fields with none.
fn fill_defaults(
    es: &Entities,
    entity: &Entity,
    values: &mut [Option<Value>],
    errors: &mut Vec<FieldError>,
    path: &str,
    creating: bool,
) {
    let dialect = es.dialect;
    for (i, field) in entity.fields.iter().enumerate() {
        if values[i].is_some() {
            continue;
        }
        if field.updated_at {
            values[i] = Some(now_value(dialect));
            continue;
        }
        if !creating {
            continue;
        }
        let generated = match &field.default {
            Some(Generated::Database) => continue,
            Some(Generated::Uuid { version }) => Value::Text(ids::uuid(*version)),
            Some(Generated::Cuid { version }) => Value::Text(ids::cuid(*version)),
            Some(Generated::Nanoid { length }) => Value::Text(ids::nanoid(*length)),
            Some(Generated::Ulid) => Value::Text(ids::ulid()),
            Some(Generated::Now) => now_value(dialect),
            Some(Generated::Value(json)) => match encode(field, &es.enums, dialect, json) {
                Ok(v) => v,
                // A default the API cannot express (a list literal, say): the database's applies.
                Err(_) => continue,
            },
            None if field.optional || field.list => continue,
            None => {
                errors.push(FieldError::new(join(path, &field.name), "is required"));
                continue;
            }
        };
        values[i] = Some(generated);
    }
}

/// The values of `wanted` fields in the one row of `target` that `value` (`{create}` or
/// `{connect}`) names, creating it first if asked.
fn resolve_one(
    conn: &mut dyn Conn,
    es: &Entities,
    target: usize,
    value: &Json,
    path: &str,
    wanted: &[usize],
) -> Result<Vec<Value>, StoreError> {
    let ops = object(value, path)?;
    if ops.len() != 1 {
        return Err(StoreError::invalid(path, "expected exactly one of `create` or `connect`"));
    }
    let (op, operand) = ops.iter().next().ok_or_else(|| StoreError::invalid(path, "expected `create` or `connect`"))?;
    let here = join(path, op);
    let filter = match op.as_str() {
        "create" => unique_filter(&insert(conn, es, target, operand, &here, &[])?),
        "connect" => unique_filter(&unique_of(es, target, operand, &here)?),
        other => {
            return Err(StoreError::invalid(here, format!("unknown operation `{other}`; expected `create` or `connect`")));
        }
    };
    let row = raw_row(conn, es, target, &filter)?
        .ok_or_else(|| StoreError::NotFound(format!("{here}: no `{}` record matches", es.entities[target].name)))?;
    Ok(wanted.iter().map(|&f| row[f].clone()).collect())
}

fn unique_of(es: &Entities, model: usize, value: &Json, path: &str) -> Result<Key, StoreError> {
    let mut reader = ArgsReader::new(es);
    let unique = reader.unique(model, value, path);
    reader.finish(unique)?.ok_or_else(|| StoreError::invalid(path, "expected a unique selector"))
}

/// Nested writes through a relation whose rows point at this one (`Inverse`) or share a
/// join table with it (`Join`), after this row exists.
#[allow(clippy::too_many_arguments)]
fn relate(
    conn: &mut dyn Conn,
    es: &Entities,
    model: usize,
    row: &Row,
    r: usize,
    value: &Json,
    path: &str,
    updating: bool,
) -> Result<(), StoreError> {
    let entity = &es.entities[model];
    let relation = &entity.relations[r];
    let target = relation.target;
    let target_entity = &es.entities[target];
    let ops = object(value, path)?;
    for (op, operand) in ops {
        let here = join(path, op);
        let allowed: &[&str] = if updating { &["create", "connect", "disconnect", "set"] } else { &["create", "connect"] };
        if !allowed.contains(&op.as_str()) {
            return Err(StoreError::invalid(here, format!("unknown operation `{op}`; expected one of: {}", allowed.join(", "))));
        }
        let operands = if relation.list { items(operand) } else { vec![operand] };
        match &relation.link {
            Link::Inverse { local, remote } => {
                let fixed: Vec<(usize, Value)> = remote.iter().zip(local).map(|(&rm, &l)| (rm, row[l].clone())).collect();
                match op.as_str() {
                    "create" => {
                        for (i, item) in operands.iter().enumerate() {
                            let p = if relation.list { format!("{here}[{i}]") } else { here.clone() };
                            insert(conn, es, target, item, &p, &fixed)?;
                        }
                    }
                    "set" | "disconnect" => {
                        let nullable = remote.iter().all(|&f| target_entity.fields[f].optional);
                        if !nullable {
                            return Err(StoreError::invalid(
                                here,
                                format!("`{}` rows cannot be disconnected: their foreign key is required", target_entity.name),
                            ));
                        }
                        let nulls: Vec<(usize, Value)> = remote.iter().map(|&f| (f, Value::Null)).collect();
                        let linked = Filter::And(fixed.iter().map(|(f, v)| eq(*f, v.clone())).collect());
                        if op == "set" {
                            update_where(conn, es, target, &nulls, &linked)?;
                        } else if !relation.list && operand == &Json::Bool(true) {
                            update_where(conn, es, target, &nulls, &linked)?;
                            continue;
                        } else {
                            for (i, item) in operands.iter().enumerate() {
                                let unique = unique_of(es, target, item, &format!("{here}[{i}]"))?;
                                let filter = Filter::And(vec![unique_filter(&unique), linked.clone()]);
                                update_where(conn, es, target, &nulls, &filter)?;
                            }
                            continue;
                        }
                        for (i, item) in operands.iter().enumerate() {
                            connect_inverse(conn, es, target, item, &format!("{here}[{i}]"), &fixed)?;
                        }
                    }
                    _ => {
                        for (i, item) in operands.iter().enumerate() {
                            let p = if relation.list { format!("{here}[{i}]") } else { here.clone() };
                            connect_inverse(conn, es, target, item, &p, &fixed)?;
                        }
                    }
                }
            }
            Link::Join { table, this_column, other_column, local, remote } => {
                let this_id = row[*local].clone();
                let link = |conn: &mut dyn Conn, other: Value| -> Result<(), StoreError> {
                    let mut sql = Sql::new(es.dialect);
                    sql.push("INSERT INTO ").push(table).push(" (").ident(this_column).push(", ").ident(other_column);
                    sql.push(") VALUES (");
                    sql.param(this_id.clone(), &entity.fields[*local].cast).push(", ");
                    sql.param(other, &target_entity.fields[*remote].cast).push(") ON CONFLICT DO NOTHING");
                    conn.execute(&sql.text, &sql.params)?;
                    Ok(())
                };
                let unlink_all = |conn: &mut dyn Conn, other: Option<Value>| -> Result<(), StoreError> {
                    let mut sql = Sql::new(es.dialect);
                    sql.push("DELETE FROM ").push(table).push(" WHERE ").ident(this_column).push(" = ");
                    sql.param(this_id.clone(), &entity.fields[*local].cast);
                    if let Some(other) = other {
                        sql.push(" AND ").ident(other_column).push(" = ");
                        sql.param(other, &target_entity.fields[*remote].cast);
                    }
                    conn.execute(&sql.text, &sql.params)?;
                    Ok(())
                };
                if op == "set" {
                    unlink_all(conn, None)?;
                }
                for (i, item) in operands.iter().enumerate() {
                    let p = format!("{here}[{i}]");
                    let other = match op.as_str() {
                        "create" => {
                            let key = insert(conn, es, target, item, &p, &[])?;
                            raw_row(conn, es, target, &unique_filter(&key))?.map(|r| r[*remote].clone())
                        }
                        _ => {
                            let unique = unique_of(es, target, item, &p)?;
                            raw_row(conn, es, target, &unique_filter(&unique))?.map(|r| r[*remote].clone())
                        }
                    };
                    let other = other.ok_or_else(|| StoreError::NotFound(format!("{p}: no `{}` record matches", target_entity.name)))?;
                    if op == "disconnect" {
                        unlink_all(conn, Some(other))?;
                    } else {
                        link(conn, other)?;
                    }
                }
            }
            Link::Owns { .. } => {}
        }
    }
    Ok(())
}

fn eq(field: usize, value: Value) -> Filter {
    Filter::Compare { field, cmp: super::args::Cmp::Eq, value, insensitive: false }
}

fn connect_inverse(
    conn: &mut dyn Conn,
    es: &Entities,
    target: usize,
    item: &Json,
    path: &str,
    fixed: &[(usize, Value)],
) -> Result<(), StoreError> {
    let unique = unique_of(es, target, item, path)?;
    let changed = update_where(conn, es, target, fixed, &unique_filter(&unique))?;
    if changed == 0 {
        return Err(StoreError::NotFound(format!("{path}: no `{}` record matches", es.entities[target].name)));
    }
    Ok(())
}

/// `UPDATE target SET fields WHERE <filter>` (the filter on the table's own columns).
fn update_where(
    conn: &mut dyn Conn,
    es: &Entities,
    model: usize,
    sets: &[(usize, Value)],
    filter: &Filter,
) -> Result<u64, StoreError> {
    let sets: Vec<(usize, Assign)> = sets.iter().map(|(f, v)| (*f, Assign::Set(v.clone()))).collect();
    update_sql(conn, es, model, &sets, filter, "data")
}

#[derive(Debug, Clone)]
enum Assign {
    Set(Value),
    Add(Value),
    Subtract(Value),
    Multiply(Value),
    Divide(Value),
}

fn update_sql(
    conn: &mut dyn Conn,
    es: &Entities,
    model: usize,
    sets: &[(usize, Assign)],
    filter: &Filter,
    path: &str,
) -> Result<u64, StoreError> {
    if sets.is_empty() {
        return super::read::count(conn, es, model, filter).map(|n| n as u64);
    }
    let entity = &es.entities[model];
    let mut sql = Sql::new(es.dialect);
    sql.push("UPDATE ").push(&entity.table).push(" SET ");
    for (n, (f, assign)) in sets.iter().enumerate() {
        if n > 0 {
            sql.push(", ");
        }
        let field = &entity.fields[*f];
        sql.ident(&field.column).push(" = ");
        let (op, value) = match assign {
            Assign::Set(v) => {
                write_value(&mut sql, field, v.clone());
                continue;
            }
            Assign::Add(v) => (" + ", v),
            Assign::Subtract(v) => (" - ", v),
            Assign::Multiply(v) => (" * ", v),
            Assign::Divide(v) => (" / ", v),
        };
        sql.ident(&field.column).push(op);
        sql.param(value.clone(), &field.cast);
    }
    // Rows are chosen by a filter over an aliased scan, then updated by their id.
    sql.push(" WHERE ");
    write_id_in(&mut sql, es, model, filter);
    conn.execute(&sql.text, &sql.params).map_err(|e| conflict(es, model, e, path))
}

/// `(id columns) IN (SELECT id columns FROM table AS t0 WHERE filter)`.
fn write_id_in(sql: &mut Sql, es: &Entities, model: usize, filter: &Filter) {
    let entity = &es.entities[model];
    let tuple = entity.id.len() > 1;
    if tuple {
        sql.push("(");
    }
    for (n, &f) in entity.id.iter().enumerate() {
        if n > 0 {
            sql.push(", ");
        }
        sql.ident(&entity.fields[f].column);
    }
    if tuple {
        sql.push(")");
    }
    sql.push(" IN (SELECT ");
    for (n, &f) in entity.id.iter().enumerate() {
        if n > 0 {
            sql.push(", ");
        }
        sql.column("t0", &entity.fields[f].column);
    }
    sql.push(" FROM ").push(&entity.table).push(" AS t0 WHERE ");
    super::filter::write_filter(sql, es, model, "t0", filter, &mut super::filter::Aliases::default());
    sql.push(")");
}

/// Updates the row with `unique` from `data`; returns it shaped by `selection`.
pub fn update(
    conn: &mut dyn Conn,
    es: &Entities,
    model: usize,
    unique: &Key,
    data: &Json,
    selection: &Selection,
) -> Result<Json, StoreError> {
    let entity = &es.entities[model];
    let filter = unique_filter(unique);
    let Some(before) = raw_row(conn, es, model, &filter)? else {
        return Err(StoreError::NotFound(format!("no `{}` record with this id", entity.name)));
    };
    let data = object(data, "data")?;
    let (mut sets, after) = assignments(conn, es, model, data, "data", false)?;
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
    check_references(conn, es, model, &values, "data", Some(&before))?;
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
    let row = raw_row(conn, es, model, &new_filter)?
        .ok_or_else(|| StoreError::NotFound(format!("no `{}` record with this id", entity.name)))?;
    for (r, value, here) in after {
        relate(conn, es, model, &row, r, value, &here, true)?;
    }
    get(conn, es, model, &new_id, selection)?
        .ok_or_else(|| StoreError::NotFound(format!("no `{}` record with this id", entity.name)))
}

type Deferred<'j> = Vec<(usize, &'j Json, String)>;

/// The column assignments of an update's `data`, and the relation writes that must wait
/// until the row is updated. `bulk` allows scalar fields only.
fn assignments<'j>(
    conn: &mut dyn Conn,
    es: &Entities,
    model: usize,
    data: &'j Map<String, Json>,
    path: &str,
    bulk: bool,
) -> Result<(Vec<(usize, Assign)>, Deferred<'j>), StoreError> {
    let entity = &es.entities[model];
    let mut errors = Vec::new();
    let mut sets = Vec::new();
    let mut after = Vec::new();
    for (name, value) in data {
        let here = join(path, name);
        if let Some(f) = entity.field(name) {
            let field = &entity.fields[f];
            let is_json = field.kind == Kind::Scalar(ScalarType::Json);
            match value {
                Json::Object(ops) if !is_json => {
                    let numeric = matches!(
                        field.kind,
                        Kind::Scalar(ScalarType::Int | ScalarType::BigInt | ScalarType::Float | ScalarType::Decimal)
                    );
                    for (op, operand) in ops {
                        let op_path = join(&here, op);
                        if op != "set" && !numeric {
                            errors.push(FieldError::new(op_path, format!("`{op}` applies only to numeric fields; use `set`")));
                            continue;
                        }
                        let encoded = match encode(field, &es.enums, es.dialect, operand) {
                            Ok(v) => v,
                            Err(message) => {
                                errors.push(FieldError::new(op_path, message));
                                continue;
                            }
                        };
                        let assign = match op.as_str() {
                            "set" => Assign::Set(encoded),
                            "increment" => Assign::Add(encoded),
                            "decrement" => Assign::Subtract(encoded),
                            "multiply" => Assign::Multiply(encoded),
                            "divide" => Assign::Divide(encoded),
                            other => {
                                errors.push(FieldError::new(
                                    op_path,
                                    format!("unknown operation `{other}`; expected one of: set, increment, decrement, multiply, divide"),
                                ));
                                continue;
                            }
                        };
                        sets.push((f, assign));
                    }
                }
                _ => match encode(field, &es.enums, es.dialect, value) {
                    Ok(v) => sets.push((f, Assign::Set(v))),
                    Err(message) => errors.push(FieldError::new(here, message)),
                },
            }
        } else if let Some(r) = entity.relation(name) {
            if bulk {
                errors.push(FieldError::new(here, "bulk updates take scalar fields only"));
                continue;
            }
            let relation = &entity.relations[r];
            match &relation.link {
                Link::Owns { local, remote } => {
                    let ops = object(value, &here)?;
                    for (op, operand) in ops {
                        let op_path = join(&here, op);
                        match op.as_str() {
                            "connect" | "create" => {
                                let single = Json::Object(Map::from_iter([(op.clone(), operand.clone())]));
                                let values = resolve_one(conn, es, relation.target, &single, &here, remote)?;
                                sets.extend(local.iter().zip(values).map(|(l, v)| (*l, Assign::Set(v))));
                            }
                            "disconnect" if relation.optional => {
                                if operand == &Json::Bool(true) {
                                    sets.extend(local.iter().map(|l| (*l, Assign::Set(Value::Null))));
                                }
                            }
                            "disconnect" => errors.push(FieldError::new(op_path, "a required relation cannot be disconnected")),
                            other => errors.push(FieldError::new(
                                op_path,
                                format!("unknown operation `{other}`; expected one of: connect, create, disconnect"),
                            )),
                        }
                    }
                }
                _ => after.push((r, value, here)),
            }
        } else {
            errors.push(unknown_field(entity, &here, name));
        }
    }
    if errors.is_empty() {
        Ok((sets, after))
    } else {
        Err(StoreError::Invalid(errors))
    }
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
        return Err(StoreError::NotFound(format!("no `{}` record with this id", entity.name)));
    };
    delete_where(conn, es, model, &unique_filter(unique))?;
    Ok(row)
}

pub fn delete_where(conn: &mut dyn Conn, es: &Entities, model: usize, filter: &Filter) -> Result<u64, StoreError> {
    let entity = &es.entities[model];
    let mut sql = Sql::new(es.dialect);
    sql.push("DELETE FROM ").push(&entity.table).push(" WHERE ");
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
                    entity.name,
                    referencing.join("; ")
                ),
                fields: referencing,
            }
        }
        other => StoreError::from(other),
    })
}

/// `createMany`: every row in one transaction; returns how many.
pub fn create_many(conn: &mut dyn Conn, es: &Entities, model: usize, data: &Json) -> Result<u64, StoreError> {
    let Json::Array(rows) = data else {
        return Err(StoreError::invalid("data", "expected a list of rows"));
    };
    for (i, row) in rows.iter().enumerate() {
        insert(conn, es, model, row, &format!("data[{i}]"), &[])?;
    }
    Ok(rows.len() as u64)
}

/// `updateMany`: scalar fields only; returns how many rows matched.
pub fn update_many(conn: &mut dyn Conn, es: &Entities, model: usize, filter: &Filter, data: &Json) -> Result<u64, StoreError> {
    let entity = &es.entities[model];
    let data = object(data, "data")?;
    let (mut sets, _) = assignments(conn, es, model, data, "data", true)?;
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
    check_references(conn, es, model, &values, "data", None)?;
    update_sql(conn, es, model, &sets, filter, "data")
}

/// Every foreign key this write sets must point at an existing row (409 otherwise).
fn check_references(
    conn: &mut dyn Conn,
    es: &Entities,
    model: usize,
    values: &[Option<Value>],
    path: &str,
    before: Option<&Row>,
) -> Result<(), StoreError> {
    let entity = &es.entities[model];
    for relation in &entity.relations {
        let Link::Owns { local, remote } = &relation.link else { continue };
        if !local.iter().any(|&l| values[l].is_some()) {
            continue;
        }
        let key: Vec<Value> = local
            .iter()
            .map(|&l| values[l].clone().or_else(|| before.map(|b| b[l].clone())).unwrap_or(Value::Null))
            .collect();
        if key.iter().any(|v| *v == Value::Null) {
            continue;
        }
        let filter = Filter::And(remote.iter().zip(key).map(|(&rm, v)| eq(rm, v)).collect());
        if super::read::count(conn, es, relation.target, &filter)? == 0 {
            let fields: Vec<String> = local.iter().map(|&l| entity.fields[l].name.clone()).collect();
            return Err(StoreError::Conflict {
                message: format!(
                    "{}: no `{}` record has this {} (foreign key of `{}`)",
                    join(path, &fields.join(", ")),
                    es.entities[relation.target].name,
                    remote.iter().map(|&r| es.entities[relation.target].fields[r].name.as_str()).collect::<Vec<_>>().join(", "),
                    relation.name
                ),
                fields,
            });
        }
    }
    Ok(())
}

/// A database error from a write, in the API's terms: a unique violation names its fields.
fn conflict(es: &Entities, model: usize, error: DbError, path: &str) -> StoreError {
    let entity = &es.entities[model];
    match error {
        DbError::Unique(detail) => {
            let fields: Vec<String> = match es.dialect {
                // SQLite names the columns: `User.email, User.name`.
                Dialect::Sqlite => detail
                    .split(", ")
                    .filter_map(|qualified| qualified.rsplit('.').next())
                    .map(|column| entity.field_by_column(column).map_or_else(|| column.to_string(), |f| f.name.clone()))
                    .collect(),
                // PostgreSQL names the constraint.
                Dialect::Postgres => entity
                    .constraints
                    .iter()
                    .find(|(name, _)| *name == detail)
                    .map(|(_, fields)| fields.iter().map(|&f| entity.fields[f].name.clone()).collect())
                    .unwrap_or_else(|| vec![detail.clone()]),
            };
            StoreError::Conflict {
                message: format!(
                    "{}: a `{}` record with this {} already exists",
                    path,
                    entity.name,
                    fields.join(", ")
                ),
                fields,
            }
        }
        DbError::ForeignKey(name) => StoreError::Conflict {
            message: format!("{path}: a foreign key does not match any record{}", name.map(|n| format!(" ({n})")).unwrap_or_default()),
            fields: Vec::new(),
        },
        DbError::NotNull(column) => {
            let field = entity.field_by_column(column.rsplit('.').next().unwrap_or(&column)).map_or(column.clone(), |f| f.name.clone());
            StoreError::invalid(join(path, &field), "is required")
        }
        other => StoreError::from(other),
    }
}
