//! Nested writes: `create`, `connect`, `disconnect` and `set` through relations.

use super::*;

use super::assign::update_where;
use crate::entity::JoinTable;

/// The values of `wanted` fields in the one row of `target` that `value` (`{create}` or
/// `{connect}`) names, creating it first if asked.
pub(super) fn resolve_one(
    conn: &mut dyn Conn,
    es: &Entities,
    vis: &dyn Visible,
    target: usize,
    value: &Json,
    path: &str,
    wanted: &[usize],
) -> Result<Vec<Value>, StoreError> {
    let ops = object(value, path)?;
    if ops.len() != 1 {
        return Err(StoreError::invalid(path, "expected exactly one of `create`, `connect` or `connectOrCreate`"));
    }
    let (op, operand) = ops.iter().next().ok_or_else(|| StoreError::invalid(path, "expected `create` or `connect`"))?;
    let here = join(path, op);
    let row = match op.as_str() {
        "create" => insert(conn, es, vis, target, operand, &here, &[])?.1,
        "connectOrCreate" => find_or_create(conn, es, vis, target, operand, &here, &[])?.0,
        "connect" => {
            let filter = named(vis, target, &unique_of(es, target, operand, &here)?)?;
            raw_row(conn, es, target, &filter)?.ok_or_else(|| {
                StoreError::NotFound(format!("{here}: no `{}` record matches", es.entities[target].name))
            })?
        }
        other => {
            return Err(StoreError::invalid(
                here,
                format!("unknown operation `{other}`; expected `create`, `connect` or `connectOrCreate`"),
            ));
        }
    };
    Ok(wanted.iter().map(|&f| row[f].clone()).collect())
}

/// `connectOrCreate: {where, create}`: the row `where` names, or else a new one from
/// `create` (with `fixed` set by the relation). Also says whether it existed.
pub(super) fn find_or_create(
    conn: &mut dyn Conn,
    es: &Entities,
    vis: &dyn Visible,
    target: usize,
    operand: &Json,
    path: &str,
    fixed: &[(usize, Value)],
) -> Result<(Row, bool), StoreError> {
    let args = object(operand, path)?;
    let (Some(where_), Some(create)) = (args.get("where"), args.get("create")) else {
        return Err(StoreError::invalid(path, "expected {\"where\": {unique fields}, \"create\": {record}}"));
    };
    if let Some(key) = args.keys().find(|k| *k != "where" && *k != "create") {
        return Err(StoreError::invalid(join(path, key), "unknown argument; expected where, create"));
    }
    let unique = unique_of(es, target, where_, &join(path, "where"))?;
    if let Some(row) = raw_row(conn, es, target, &named(vis, target, &unique)?)? {
        return Ok((row, true));
    }
    Ok((insert(conn, es, vis, target, create, &join(path, "create"), fixed)?.1, false))
}

pub(super) fn unique_of(es: &Entities, model: usize, value: &Json, path: &str) -> Result<Key, StoreError> {
    let mut reader = ArgsReader::new(es);
    let unique = reader.unique(model, value, path);
    reader.finish(unique)?.ok_or_else(|| StoreError::invalid(path, "expected a unique selector"))
}

/// Nested writes through a relation whose rows point at this one (`Inverse`) or share a
/// join table with it (`Join`), after this row exists.
#[allow(clippy::too_many_arguments)]
pub(super) fn relate(
    conn: &mut dyn Conn,
    es: &Entities,
    vis: &dyn Visible,
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
        let allowed: &[&str] = if updating {
            &["create", "connect", "connectOrCreate", "disconnect", "set"]
        } else {
            &["create", "connect", "connectOrCreate"]
        };
        if !allowed.contains(&op.as_str()) {
            return Err(StoreError::invalid(
                here,
                format!("unknown operation `{op}`; expected one of: {}", allowed.join(", ")),
            ));
        }
        let operands = if relation.list { items(operand) } else { vec![operand] };
        match &relation.link {
            Link::Inverse { local, remote } => {
                let fixed: Vec<(usize, Value)> =
                    remote.iter().zip(local).map(|(&rm, &l)| (rm, row[l].clone())).collect();
                match op.as_str() {
                    "create" => {
                        for (i, item) in operands.iter().enumerate() {
                            let p = if relation.list { format!("{here}[{i}]") } else { here.clone() };
                            insert(conn, es, vis, target, item, &p, &fixed)?;
                        }
                    }
                    "connectOrCreate" => {
                        for (i, item) in operands.iter().enumerate() {
                            let p = if relation.list { format!("{here}[{i}]") } else { here.clone() };
                            let (_, existed) = find_or_create(conn, es, vis, target, item, &p, &fixed)?;
                            if existed {
                                let connect = object(item, &p)?.get("where").cloned().unwrap_or(Json::Null);
                                connect_inverse(conn, es, vis, target, &connect, &join(&p, "where"), &fixed)?;
                            }
                        }
                    }
                    "set" | "disconnect" => {
                        let nullable = remote.iter().all(|&f| target_entity.fields[f].optional);
                        if !nullable {
                            return Err(StoreError::invalid(
                                here,
                                format!(
                                    "`{}` rows cannot be disconnected: their foreign key is required",
                                    target_entity.name
                                ),
                            ));
                        }
                        let nulls: Vec<(usize, Value)> = remote.iter().map(|&f| (f, Value::Null)).collect();
                        // Only rows the write may see are unlinked; others stay as they are.
                        let linked =
                            scoped(vis, target, Filter::And(fixed.iter().map(|(f, v)| eq(*f, v.clone())).collect()))?;
                        if op == "set" {
                            update_where(conn, es, target, &nulls, &linked)?;
                        } else if !relation.list && operand == &Json::Bool(true) {
                            update_where(conn, es, target, &nulls, &linked)?;
                            continue;
                        } else {
                            for (i, item) in operands.iter().enumerate() {
                                let unique = unique_of(es, target, item, &format!("{here}[{i}]"))?;
                                let filter = Filter::And(vec![named(vis, target, &unique)?, linked.clone()]);
                                update_where(conn, es, target, &nulls, &filter)?;
                            }
                            continue;
                        }
                        for (i, item) in operands.iter().enumerate() {
                            connect_inverse(conn, es, vis, target, item, &format!("{here}[{i}]"), &fixed)?;
                        }
                    }
                    _ => {
                        for (i, item) in operands.iter().enumerate() {
                            let p = if relation.list { format!("{here}[{i}]") } else { here.clone() };
                            connect_inverse(conn, es, vis, target, item, &p, &fixed)?;
                        }
                    }
                }
            }
            Link::Join { local, remote } => {
                // Every `Join` link has its table (`Entities::new`).
                let Some(JoinTable { table, this_column, other_column, .. }) = es.join(model, r) else {
                    return Err(StoreError::invalid(path, "this relation has no join table"));
                };
                let (this_cast, other_cast) = (&es.column(model, *local).cast, &es.column(target, *remote).cast);
                let this_id = row[*local].clone();
                let link = |conn: &mut dyn Conn, other: Value| -> Result<(), StoreError> {
                    let mut sql = Sql::new(es.dialect);
                    sql.push("INSERT INTO ").push(table).push(" (").ident(this_column).push(", ").ident(other_column);
                    sql.push(") VALUES (");
                    sql.param(this_id.clone(), this_cast).push(", ");
                    sql.param(other, other_cast).push(") ON CONFLICT DO NOTHING");
                    conn.execute(&sql.text, &sql.params)?;
                    Ok(())
                };
                let visible = vis.visible(target)?;
                let unlink_all = |conn: &mut dyn Conn, other: Option<Value>| -> Result<(), StoreError> {
                    let mut sql = Sql::new(es.dialect);
                    sql.push("DELETE FROM ").push(table).push(" WHERE ").ident(this_column).push(" = ");
                    sql.param(this_id.clone(), this_cast);
                    if let Some(other) = other {
                        sql.push(" AND ").ident(other_column).push(" = ");
                        sql.param(other, other_cast);
                    } else if !matches!(visible, Filter::True) {
                        // `set` unlinks only the rows the write may see.
                        sql.push(" AND ").ident(other_column).push(" IN (SELECT ");
                        sql.column("t0", &es.column(target, *remote).name);
                        sql.push(" FROM ").push(es.table(target)).push(" AS t0 WHERE ");
                        let mut aliases = crate::query::filter::Aliases::default();
                        crate::query::filter::write_filter(&mut sql, es, target, "t0", &visible, &mut aliases);
                        sql.push(")");
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
                        "create" => Some(insert(conn, es, vis, target, item, &p, &[])?.1[*remote].clone()),
                        "connectOrCreate" => {
                            Some(find_or_create(conn, es, vis, target, item, &p, &[])?.0[*remote].clone())
                        }
                        _ => {
                            let unique = unique_of(es, target, item, &p)?;
                            raw_row(conn, es, target, &named(vis, target, &unique)?)?.map(|r| r[*remote].clone())
                        }
                    };
                    let other = other.ok_or_else(|| {
                        StoreError::NotFound(format!("{p}: no `{}` record matches", target_entity.name))
                    })?;
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

pub(super) fn eq(field: usize, value: Value) -> Filter {
    Filter::Compare { field, cmp: crate::query::args::Cmp::Eq, value, insensitive: false }
}

pub(super) fn connect_inverse(
    conn: &mut dyn Conn,
    es: &Entities,
    vis: &dyn Visible,
    target: usize,
    item: &Json,
    path: &str,
    fixed: &[(usize, Value)],
) -> Result<(), StoreError> {
    let unique = unique_of(es, target, item, path)?;
    let changed = update_where(conn, es, target, fixed, &named(vis, target, &unique)?)?;
    if changed == 0 {
        return Err(StoreError::NotFound(format!("{path}: no `{}` record matches", es.entities[target].name)));
    }
    Ok(())
}
