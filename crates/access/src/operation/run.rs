//! Running an [`Operation`] under the caller's [`Guard`]: the read or write it is, the
//! rows the rules let it touch, and its answer as an [`Outcome`].

use super::{Operation, Outcome};
use crate::{After, Guard, Op};
use serde_json::{json, Value as Json};
use ssot_store::conn::Conn;
use ssot_store::query::args::{Filter, Selection};
use ssot_store::query::{read, write};
use ssot_store::StoreError;

/// Runs `op` on `conn` (inside the caller's transaction) under `guard`.
pub fn run(conn: &mut dyn Conn, guard: &Guard<'_>, op: &Operation) -> Result<Outcome, StoreError> {
    let es = guard.entities;
    let not_found = |model: usize| StoreError::no_record(&es.entities[model].name);
    let ok = |body: Json| Outcome { created: false, body, key: None };
    Ok(match op {
        Operation::List { model, args } => {
            let mut args = args.clone();
            guard.find(*model, &mut args)?;
            let page = read::list(conn, es, *model, &args)?;
            let mut meta = json!({ "total": page.total, "skip": page.skip, "take": page.take, "hasMore": page.has_more, "seq": page.seq });
            if let Json::Object(meta) = &mut meta {
                if let Some(highlights) = page.highlights {
                    meta.insert("highlights".into(), Json::Array(highlights));
                }
                if page.capped {
                    meta.insert("capped".into(), Json::Bool(true));
                }
            }
            ok(json!({ "data": page.rows, "meta": meta }))
        }
        Operation::Get { model, key, selection } => {
            let mut args = read::key_args(key, selection);
            guard.find(*model, &mut args)?;
            match read::find(conn, es, *model, &args)?.into_iter().next() {
                Some(row) => ok(row),
                None => return Err(not_found(*model)),
            }
        }
        Operation::Count { model, filter } => {
            let filter = guard.count_filter(*model, filter.clone())?;
            ok(json!({ "count": read::count(conn, es, *model, &filter)? }))
        }
        Operation::Create { model, data, selection } => {
            let since = capture(conn, guard)?;
            let after = guard.check_data(conn, *model, data, Op::Create, "data")?;
            let (key, row) = write::insert(conn, es, guard, *model, data, "data", &[])?;
            guard.verify_changes(conn, since, &after)?;
            let body = written(conn, guard, *model, &key, row, selection)?;
            Outcome { created: true, body, key: Some(key) }
        }
        Operation::Update { model, key, data, selection } => {
            let since = capture(conn, guard)?;
            let after = guard.check_data(conn, *model, data, Op::Update, "data")?;
            let mut allowed = vec![guard.rows(*model, Op::Update)?];
            allowed.extend(after.conditions(*model, Op::Update));
            target(conn, guard, *model, key, Filter::And(allowed), "update")?;
            let (key, row) = write::update(conn, es, guard, *model, key, data)?;
            guard.verify_changes(conn, since, &after)?;
            let body = written(conn, guard, *model, &key, row, selection)?;
            Outcome { created: false, body, key: Some(key) }
        }
        // A delete changes other rows only by the schema's referential actions
        // (`onDelete`), which are not the caller's doing: nothing to check after.
        Operation::Delete { model, key, selection } => {
            target(conn, guard, *model, key, guard.rows(*model, Op::Delete)?, "delete")?;
            let mut selection = selection.clone();
            guard.selection(*model, &mut selection)?;
            let body = write::delete(conn, es, *model, key, &selection)?;
            Outcome { created: false, body, key: Some(key.clone()) }
        }
        Operation::CreateMany { model, data } => {
            let since = capture(conn, guard)?;
            let mut after = After::default();
            if let Json::Array(items) = data {
                for (i, item) in items.iter().enumerate() {
                    after.merge(guard.check_data(conn, *model, item, Op::Create, &format!("data[{i}]"))?);
                }
            }
            let count = write::create_many(conn, es, guard, *model, data)?;
            guard.verify_changes(conn, since, &after)?;
            ok(json!({ "count": count }))
        }
        Operation::UpdateMany { model, filter, data } => {
            let since = capture(conn, guard)?;
            let after = guard.check_data(conn, *model, data, Op::Update, "data")?;
            let mut parts = vec![guard.count_filter(*model, filter.clone())?, guard.rows(*model, Op::Update)?];
            parts.extend(after.conditions(*model, Op::Update));
            let count = write::update_many(conn, es, guard, *model, &Filter::And(parts), data)?;
            guard.verify_changes(conn, since, &after)?;
            ok(json!({ "count": count }))
        }
        Operation::DeleteMany { model, filter } => {
            let since = capture(conn, guard)?;
            let filter =
                Filter::And(vec![guard.count_filter(*model, filter.clone())?, guard.rows(*model, Op::Delete)?]);
            let count = write::delete_where(conn, es, *model, &filter)?;
            guard.verify_changes(conn, since, &Default::default())?;
            ok(json!({ "count": count }))
        }
    })
}

/// The change-log position a checked write starts from (nothing to check for the admin).
fn capture(conn: &mut dyn Conn, guard: &Guard<'_>) -> Result<i64, StoreError> {
    if guard.is_admin() {
        Ok(0)
    } else {
        ssot_store::changelog::capture_start(conn)
    }
}

/// The row a single-row update or delete targets must be readable (else it is "not
/// found", as if it did not exist) and match `allowed` (else 403).
fn target(
    conn: &mut dyn Conn,
    guard: &Guard<'_>,
    model: usize,
    key: &write::Key,
    allowed: Filter,
    verb: &str,
) -> Result<(), StoreError> {
    if guard.is_admin() {
        return Ok(());
    }
    let es = guard.entities;
    let entity = &es.entities[model];
    let this = read::unique_filter(key);
    let readable = Filter::And(vec![this.clone(), guard.rows(model, Op::Read)?]);
    if read::count(conn, es, model, &readable)? == 0 {
        return Err(StoreError::no_record(&entity.name));
    }
    if read::count(conn, es, model, &Filter::And(vec![this, allowed]))? == 0 {
        return Err(StoreError::forbidden(
            "",
            format!("no policy lets this caller {verb} this `{}` record", entity.name),
        ));
    }
    Ok(())
}

/// The answer to a create or an update: the row as written. For the admin without
/// relations that is the stored row itself (final: nested writes touch other rows);
/// otherwise it is read back as the caller may read it.
fn written(
    conn: &mut dyn Conn,
    guard: &Guard<'_>,
    model: usize,
    key: &write::Key,
    row: ssot_store::conn::Row,
    selection: &Selection,
) -> Result<Json, StoreError> {
    if guard.is_admin() && selection.relations.is_empty() {
        let mut selection = selection.clone();
        guard.selection(model, &mut selection)?;
        return Ok(Json::Object(read::scalar_fields(guard.entities, model, &selection.fields, row)));
    }
    read_back(conn, guard, model, key, selection)
}

/// A written row as the caller may read it; only its id when they may not read it.
fn read_back(
    conn: &mut dyn Conn,
    guard: &Guard<'_>,
    model: usize,
    key: &write::Key,
    selection: &Selection,
) -> Result<Json, StoreError> {
    let es = guard.entities;
    let mut args = read::key_args(key, selection);
    guard.find(model, &mut args)?;
    if let Some(row) = read::find(conn, es, model, &args)?.into_iter().next() {
        return Ok(row);
    }
    let id = Selection::fields(es.entities[model].id.clone());
    read::get(conn, es, model, key, &id)?.ok_or_else(|| StoreError::no_record(&es.entities[model].name))
}
