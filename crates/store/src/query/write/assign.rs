//! Column assignments: values with defaults filled in, update operators, and the
//! `INSERT`/`UPDATE` pieces that carry them.

use super::*;

/// Writes a value of field `field` of `model`, wrapped for list columns on PostgreSQL
/// (they travel as a JSON array of texts).
pub(super) fn write_value(sql: &mut Sql, es: &Entities, (model, field): (usize, usize), value: Value) {
    let cast = &es.column(model, field).cast;
    if es.entities[model].fields[field].list && sql.dialect == Dialect::Postgres && value != Value::Null {
        sql.push("ARRAY(SELECT jsonb_array_elements_text(");
        sql.param(value, "jsonb");
        sql.push("))::").push(cast);
    } else {
        sql.param(value, cast);
    }
}

pub(super) fn write_returning(sql: &mut Sql, es: &Entities, model: usize) {
    // The same column forms as reads, so one decoder serves both.
    crate::query::read::write_columns(sql, es, model, "");
}

/// Defaults for fields a create leaves out; errors for required fields with none.
pub(super) fn fill_defaults(
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
            Some(Generated::Value(json)) => match encode(field, &es.stored_enums, dialect, json) {
                Ok(v) => v,
                // A default the API cannot express (a list literal, say): the database's applies.
                Err(_) => continue,
            },
            None if field.optional || field.list => continue,
            None => {
                let here = join(path, &field.name);
                // A field given with a bad value is already reported.
                if !errors.iter().any(|e| e.path == here) {
                    errors.push(FieldError::new(here, "is required"));
                }
                continue;
            }
        };
        values[i] = Some(generated);
    }
}

/// `UPDATE target SET fields WHERE <filter>` (the filter on the table's own columns).
pub(super) fn update_where(
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
pub(super) enum Assign {
    Set(Value),
    Add(Value),
    Subtract(Value),
    Multiply(Value),
    Divide(Value),
}

pub(super) fn update_sql(
    conn: &mut dyn Conn,
    es: &Entities,
    model: usize,
    sets: &[(usize, Assign)],
    filter: &Filter,
    path: &str,
) -> Result<u64, StoreError> {
    if sets.is_empty() {
        return crate::query::read::count(conn, es, model, filter).map(|n| n as u64);
    }
    let mut sql = Sql::new(es.dialect);
    sql.push("UPDATE ").push(es.table(model)).push(" SET ");
    for (n, (f, assign)) in sets.iter().enumerate() {
        if n > 0 {
            sql.push(", ");
        }
        let column = es.column(model, *f);
        sql.ident(&column.name).push(" = ");
        let (op, value) = match assign {
            Assign::Set(v) => {
                write_value(&mut sql, es, (model, *f), v.clone());
                continue;
            }
            Assign::Add(v) => (" + ", v),
            Assign::Subtract(v) => (" - ", v),
            Assign::Multiply(v) => (" * ", v),
            Assign::Divide(v) => (" / ", v),
        };
        sql.ident(&column.name).push(op);
        sql.param(value.clone(), &column.cast);
    }
    // Rows are chosen by a filter over an aliased scan, then updated by their id.
    sql.push(" WHERE ");
    write_id_in(&mut sql, es, model, filter);
    conn.execute(&sql.text, &sql.params).map_err(|e| conflict(es, model, e, path))
}

/// `(id columns) IN (SELECT id columns FROM table AS t0 WHERE filter)`.
pub(super) fn write_id_in(sql: &mut Sql, es: &Entities, model: usize, filter: &Filter) {
    let entity = &es.entities[model];
    let tuple = entity.id.len() > 1;
    if tuple {
        sql.push("(");
    }
    for (n, &f) in entity.id.iter().enumerate() {
        if n > 0 {
            sql.push(", ");
        }
        sql.ident(&es.column(model, f).name);
    }
    if tuple {
        sql.push(")");
    }
    sql.push(" IN (SELECT ");
    for (n, &f) in entity.id.iter().enumerate() {
        if n > 0 {
            sql.push(", ");
        }
        sql.column("t0", &es.column(model, f).name);
    }
    sql.push(" FROM ").push(es.table(model)).push(" AS t0 WHERE ");
    crate::query::filter::write_filter(sql, es, model, "t0", filter, &mut crate::query::filter::Aliases::default());
    sql.push(")");
}

pub(super) type Deferred<'j> = Vec<(usize, &'j Json, String)>;

/// The column assignments of an update's `data`, and the relation writes that must wait
/// until the row is updated. `bulk` allows scalar fields only.
pub(super) fn assignments<'j>(
    conn: &mut dyn Conn,
    es: &Entities,
    vis: &dyn Visible,
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
                            errors.push(FieldError::new(
                                op_path,
                                format!("`{op}` applies only to numeric fields; use `set`"),
                            ));
                            continue;
                        }
                        let encoded = match encode(field, &es.stored_enums, es.dialect, operand) {
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
                            // Refused here: SQLite would answer null, PostgreSQL an error.
                            "divide" if is_zero(&encoded) => {
                                errors.push(FieldError::new(op_path, "cannot divide by zero"));
                                continue;
                            }
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
                _ => match encode(field, &es.stored_enums, es.dialect, value) {
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
                            "connect" | "create" | "connectOrCreate" => {
                                let single = Json::Object(Map::from_iter([(op.clone(), operand.clone())]));
                                let values = resolve_one(conn, es, vis, relation.target, &single, &here, remote)?;
                                sets.extend(local.iter().zip(values).map(|(l, v)| (*l, Assign::Set(v))));
                            }
                            "disconnect" if relation.optional => {
                                if operand == &Json::Bool(true) {
                                    sets.extend(local.iter().map(|l| (*l, Assign::Set(Value::Null))));
                                }
                            }
                            "disconnect" => {
                                errors.push(FieldError::new(op_path, "a required relation cannot be disconnected"))
                            }
                            other => errors.push(FieldError::new(
                                op_path,
                                format!("unknown operation `{other}`; expected one of: connect, create, connectOrCreate, disconnect"),
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
    // A column set twice (a field and its relation, or two operations on one field) has
    // no single meaning.
    for (i, (f, _)) in sets.iter().enumerate() {
        if sets[..i].iter().any(|(g, _)| g == f) {
            errors.push(FieldError::new(
                join(path, &entity.fields[*f].name),
                "is set more than once (by two operations, or as a field and through its relation)",
            ));
        }
    }
    if errors.is_empty() {
        Ok((sets, after))
    } else {
        Err(StoreError::Invalid(errors))
    }
}

/// Whether a number, as encoded for the database, is zero (`0`, `0.0`, `"0.00"`).
fn is_zero(value: &Value) -> bool {
    match value {
        Value::Int(n) => *n == 0,
        Value::Float(f) => *f == 0.0,
        Value::Text(t) => t.parse::<f64>().is_ok_and(|f| f == 0.0),
        _ => false,
    }
}
