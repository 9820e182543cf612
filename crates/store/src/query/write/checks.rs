//! Integrity in the API's terms: foreign keys checked before writing, and database
//! constraint errors named by field.

use super::*;

/// Every foreign key this write sets must point at an existing row (409 otherwise), looked
/// up through the caller's view. A key wholly `fixed` by the parent a nested create runs under
/// is not looked up: that parent is the row this write just created (perhaps readable only
/// through the row being created, as a private room through its first membership) or the one
/// it updates, already found through the caller's view; the rules after the write decide.
#[allow(clippy::too_many_arguments)]
pub(super) fn check_references(
    conn: &mut dyn Conn,
    es: &Entities,
    vis: &dyn Visible,
    model: usize,
    values: &[Option<Value>],
    path: &str,
    before: Option<&Row>,
    fixed: &[(usize, Value)],
) -> Result<(), StoreError> {
    let entity = &es.entities[model];
    for relation in &entity.relations {
        let Link::Owns { local, remote } = &relation.link else { continue };
        if !local.iter().any(|&l| values[l].is_some()) {
            continue;
        }
        if local.iter().all(|&l| fixed.iter().any(|(f, _)| *f == l)) {
            continue;
        }
        let key: Vec<Value> = local
            .iter()
            .map(|&l| values[l].clone().or_else(|| before.map(|b| b[l].clone())).unwrap_or(Value::Null))
            .collect();
        if key.contains(&Value::Null) {
            continue;
        }
        let target_key: Vec<(usize, Value)> = remote.iter().copied().zip(key).collect();
        let filter = named(vis, relation.target, &target_key)?;
        if crate::query::read::count(conn, es, relation.target, &filter)? == 0 {
            return Err(missing_reference(es, model, relation, path));
        }
    }
    Ok(())
}

/// The answer to a foreign key that points at no row (409), naming the fields.
fn missing_reference(es: &Entities, model: usize, relation: &crate::entity::RelationField, path: &str) -> StoreError {
    let entity = &es.entities[model];
    let Link::Owns { local, remote } = &relation.link else {
        return StoreError::invalid(path, format!("`{}` holds no foreign key", relation.name));
    };
    let fields: Vec<String> = local.iter().map(|&l| entity.fields[l].name.clone()).collect();
    let target = &es.entities[relation.target];
    StoreError::Conflict {
        message: format!(
            "{}: no `{}` record has this {} (foreign key of `{}`)",
            join(path, &fields.join(", ")),
            target.name,
            remote.iter().map(|&r| target.fields[r].name.as_str()).collect::<Vec<_>>().join(", "),
            relation.name
        ),
        fields,
    }
}

/// A database error from a write, in the API's terms: a unique violation names its fields.
pub(super) fn conflict(es: &Entities, model: usize, error: DbError, path: &str) -> StoreError {
    let (entity, stored) = (&es.entities[model], &es.storage[model]);
    match error {
        DbError::Unique(detail) => {
            let fields: Vec<String> = match es.dialect {
                // SQLite names the columns: `User.email, User.name`.
                Dialect::Sqlite => detail
                    .split(", ")
                    .filter_map(|qualified| qualified.rsplit('.').next())
                    .map(|column| stored.field_by_column(column).map(|f| entity.fields[f].name.clone()))
                    .collect::<Option<Vec<_>>>()
                    .unwrap_or_default(),
                // PostgreSQL names the constraint; one the schema does not know (made by
                // another program) is not named to the client.
                Dialect::Postgres => stored
                    .constraints
                    .iter()
                    .find(|(name, _)| *name == detail)
                    .map(|(_, fields)| fields.iter().map(|&f| entity.fields[f].name.clone()).collect())
                    .unwrap_or_default(),
            };
            let what =
                if fields.is_empty() { "these values".to_string() } else { format!("this {}", fields.join(", ")) };
            StoreError::Conflict {
                message: format!("{}: a `{}` record with {what} already exists", path, entity.name),
                fields,
            }
        }
        // The constraint's name is the database's, not the API's: not shown.
        DbError::ForeignKey(_) => StoreError::Conflict {
            message: format!("{path}: a foreign key does not match any record"),
            fields: Vec::new(),
        },
        DbError::NotNull(column) => {
            match stored.field_by_column(column.rsplit('.').next().unwrap_or(&column)) {
                Some(field) => StoreError::invalid(join(path, &entity.fields[field].name), "is required"),
                // A column the API does not show (added by another program).
                None => StoreError::invalid(path, "a value the database requires is missing"),
            }
        }
        other => StoreError::from(other),
    }
}

/// How deep `onDelete: Cascade` may reach through emulated references.
const MAX_CASCADE: usize = 32;

/// `relationMode = "prisma"`: before rows of `model` matching `filter` are deleted, what
/// their `onDelete` says happens to the rows pointing at them (Cascade deletes them, SetNull
/// clears their foreign key, Restrict and NoAction refuse while any exist), and their
/// implicit many-to-many links go. The database would do this with foreign keys.
pub(super) fn on_delete(
    conn: &mut dyn Conn,
    es: &Entities,
    model: usize,
    filter: &Filter,
    depth: usize,
) -> Result<(), StoreError> {
    use ssot_schema::ir::ReferentialAction;
    if depth > MAX_CASCADE {
        return Err(StoreError::Conflict {
            message: format!("deleting `{}` cascades more than {MAX_CASCADE} levels deep", es.entities[model].name),
            fields: Vec::new(),
        });
    }
    let entity = &es.entities[model];
    for (relation, r) in entity.relations.iter().enumerate() {
        match &r.link {
            Link::Inverse { remote, .. } => {
                let child = &es.entities[r.target];
                // The child's side of this relation: it owns the foreign key to `model`.
                let Some(back) = child
                    .relations
                    .iter()
                    .position(|c| c.target == model && matches!(&c.link, Link::Owns { local, .. } if local == remote))
                else {
                    continue;
                };
                let linked = Filter::Relation {
                    relation: back,
                    quantifier: crate::query::args::Quantifier::Is,
                    filter: Box::new(filter.clone()),
                };
                match child.relations[back].on_delete {
                    ReferentialAction::Cascade => {
                        on_delete(conn, es, r.target, &linked, depth + 1)?;
                        let mut sql = Sql::new(es.dialect);
                        sql.push("DELETE FROM ").push(es.table(r.target)).push(" WHERE ");
                        write_id_in(&mut sql, es, r.target, &linked);
                        conn.execute(&sql.text, &sql.params)?;
                    }
                    ReferentialAction::SetNull => {
                        let nulls: Vec<(usize, Value)> = remote.iter().map(|&f| (f, Value::Null)).collect();
                        super::assign::update_where(conn, es, r.target, &nulls, &linked)?;
                    }
                    _ => {
                        if crate::query::read::count(conn, es, r.target, &linked)? > 0 {
                            let fields: Vec<String> =
                                remote.iter().map(|&f| format!("{}.{}", child.name, child.fields[f].name)).collect();
                            return Err(StoreError::Conflict {
                                message: format!(
                                    "the `{}` record is still referenced ({}); delete or reassign those rows first",
                                    entity.name,
                                    fields.join(", ")
                                ),
                                fields,
                            });
                        }
                    }
                }
            }
            Link::Join { local, .. } => {
                // Every `Join` link has its table (`Entities::new`); without one there are no links.
                let Some(join) = es.join(model, relation) else { continue };
                let mut sql = Sql::new(es.dialect);
                sql.push("DELETE FROM ").push(&join.table).push(" WHERE ").ident(&join.this_column);
                sql.push(" IN (SELECT ").column("t0", &es.column(model, *local).name);
                sql.push(" FROM ").push(es.table(model)).push(" AS t0 WHERE ");
                crate::query::filter::write_filter(
                    &mut sql,
                    es,
                    model,
                    "t0",
                    filter,
                    &mut crate::query::filter::Aliases::default(),
                );
                sql.push(")");
                conn.execute(&sql.text, &sql.params)?;
            }
            Link::Owns { .. } => {}
        }
    }
    Ok(())
}
