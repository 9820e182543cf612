//! Every REST request as one [`Operation`], read from its method, path, query and body,
//! and run against a connection inside the caller's transaction.
//!
//! The REST handlers and `POST /api/$batch` go through the same two functions
//! ([`parse`] and [`run`]), so a batched operation behaves exactly as the request it
//! stands for.

use crate::problem::Problem;
use axum::http::{Method, StatusCode};
use serde_json::{json, Map, Value as Json};
use ssot_access::{Guard, Op};
use ssot_schema::ir::ScalarType;
use ssot_store::conn::Conn;
use ssot_store::entity::{Entities, Kind};
use ssot_store::query::args::{ArgsReader, Filter, FindArgs, Selection};
use ssot_store::query::{read, write};
use ssot_store::StoreError;

#[derive(Debug, Clone)]
pub enum Operation {
    List { model: usize, args: FindArgs },
    Get { model: usize, key: write::Key, selection: Selection },
    Count { model: usize, filter: Filter },
    Create { model: usize, data: Json, selection: Selection },
    Update { model: usize, key: write::Key, data: Json, selection: Selection },
    Delete { model: usize, key: write::Key, selection: Selection },
    CreateMany { model: usize, data: Json },
    UpdateMany { model: usize, filter: Filter, data: Json },
    DeleteMany { model: usize, filter: Filter },
}

impl Operation {
    pub fn model(&self) -> usize {
        match self {
            Operation::List { model, .. }
            | Operation::Get { model, .. }
            | Operation::Count { model, .. }
            | Operation::Create { model, .. }
            | Operation::Update { model, .. }
            | Operation::Delete { model, .. }
            | Operation::CreateMany { model, .. }
            | Operation::UpdateMany { model, .. }
            | Operation::DeleteMany { model, .. } => *model,
        }
    }

    /// Whether the operation is one statement (it then needs no transaction of its own).
    pub fn single_statement(&self) -> bool {
        match self {
            Operation::Get { selection, .. } => selection.relations.is_empty(),
            // A count through relations can be slow: a transaction in the slow lane.
            Operation::Count { filter, .. } => !filter.reaches_relations(),
            _ => false,
        }
    }

    pub fn writes(&self) -> bool {
        !matches!(self, Operation::List { .. } | Operation::Get { .. } | Operation::Count { .. })
    }
}

/// The query string as JSON values: `take=10` is a number, `where={...}` an object.
pub fn query_values(raw: Option<&str>) -> Result<Map<String, Json>, Problem> {
    let mut out = Map::new();
    for (key, value) in form_urlencoded::parse(raw.unwrap_or("").as_bytes()) {
        let parsed: Json = serde_json::from_str(&value)
            .map_err(|e| Problem::bad_request(key.to_string(), format!("expected a JSON value: {e}")))?;
        if out.insert(key.to_string(), parsed).is_some() {
            return Err(Problem::bad_request(key.to_string(), "given more than once"));
        }
    }
    Ok(out)
}

fn only(query: &Map<String, Json>, allowed: &[&str]) -> Result<(), Problem> {
    for key in query.keys() {
        if !allowed.contains(&key.as_str()) {
            let expected = if allowed.is_empty() { "none".to_string() } else { allowed.join(", ") };
            return Err(Problem::bad_request(key.clone(), format!("unknown parameter; expected: {expected}")));
        }
    }
    Ok(())
}

/// `?select=` with `?include=`: the included relations are added to the selection, with
/// the arguments `include` gives them (one query-string parameter cannot exclude another,
/// so both are taken). Inside a body or a relation's arguments the two stay exclusive, as
/// in Prisma.
fn merge_shape(mut query: Map<String, Json>) -> Map<String, Json> {
    if let (Some(Json::Object(_)), Some(Json::Object(_))) = (query.get("select"), query.get("include")) {
        if let (Some(Json::Object(mut select)), Some(Json::Object(include))) =
            (query.remove("select"), query.remove("include"))
        {
            select.extend(include);
            query.insert("select".into(), Json::Object(select));
        }
    }
    query
}

fn selection(es: &Entities, model: usize, query: &Map<String, Json>) -> Result<Selection, Problem> {
    let mut reader = ArgsReader::new(es);
    let selection = reader.selection(model, query.get("select"), query.get("include"), "", 0);
    Ok(reader.finish(selection)?)
}

fn filter(es: &Entities, model: usize, value: Option<&Json>, path: &str) -> Result<Filter, Problem> {
    let mut reader = ArgsReader::new(es);
    let filter = match value {
        Some(w) => reader.filter(model, w, path, 0),
        None => Filter::True,
    };
    Ok(reader.finish(filter)?)
}

fn body_object(body: Option<Json>) -> Result<Map<String, Json>, Problem> {
    match body {
        None => Ok(Map::new()),
        Some(Json::Object(o)) => Ok(o),
        Some(_) => Err(Problem::bad_request("", "the body must be a JSON object")),
    }
}

/// A path's id segment (`5`, or `a,b` for a compound id, each part percent-encoded)
/// as the id fields' values.
pub fn parse_id(es: &Entities, model: usize, raw: &str) -> Result<write::Key, Problem> {
    let entity = &es.entities[model];
    let parts: Vec<String> =
        raw.split(',').map(|p| percent_encoding::percent_decode_str(p).decode_utf8_lossy().into_owned()).collect();
    if parts.len() != entity.id.len() {
        let names: Vec<&str> = entity.id.iter().map(|&f| entity.fields[f].name.as_str()).collect();
        return Err(Problem::bad_request(
            "id",
            format!(
                "`{}` is identified by {} joined by commas; got {} value(s)",
                entity.name,
                names.join(", "),
                parts.len()
            ),
        ));
    }
    let mut key = Vec::with_capacity(parts.len());
    for (&f, part) in entity.id.iter().zip(parts) {
        let field = &entity.fields[f];
        let json = match field.kind {
            Kind::Scalar(ScalarType::Int | ScalarType::Float) => match serde_json::from_str::<Json>(&part) {
                Ok(n @ Json::Number(_)) => n,
                _ => {
                    return Err(Problem::not_found(format!("no `{}` record with {} = {part}", entity.name, field.name)))
                }
            },
            Kind::Scalar(ScalarType::Boolean) => Json::Bool(part == "true"),
            _ => Json::String(part.clone()),
        };
        // An id that cannot be of the field's type names no record.
        let none = || Problem::not_found(format!("no `{}` record with {} = {part}", entity.name, field.name));
        let value = ssot_store::value::encode_one(field.kind, &es.enums, es.dialect, &json).map_err(|_| none())?;
        if !ssot_store::value::fits_column(field, es.dialect, &value) {
            return Err(none());
        }
        key.push((f, value));
    }
    Ok(key)
}

/// The operation a request asks for. `rest` is the path after `/api/{resource}`.
pub fn parse(
    es: &Entities,
    method: &Method,
    resource: &str,
    rest: Option<&str>,
    query: Map<String, Json>,
    body: Option<Json>,
) -> Result<Operation, Problem> {
    let model = es
        .by_resource(resource)
        .ok_or_else(|| Problem::not_found(format!("no resource `{resource}`; see /api/openapi.json for the routes")))?;
    let not_allowed = || Problem::method_not_allowed(method.as_str(), allowed_methods(rest));
    let find_keys = ["where", "orderBy", "take", "skip", "cursor", "select", "include"];
    let query = merge_shape(query);
    match (rest, method.as_str()) {
        (None, "GET") => {
            only(&query, &find_keys)?;
            let mut reader = ArgsReader::new(es);
            let args = reader.find(model, &query, "", 0);
            Ok(Operation::List { model, args: reader.finish(args)? })
        }
        (Some("query"), "POST") => {
            only(&query, &[])?;
            // An empty body is more likely a client's mistake than a wish for every row.
            let body = body_object(Some(body.ok_or_else(|| {
                Problem::bad_request("", "the body must be the list's arguments, as a JSON object ({} for every row)")
            })?))?;
            let mut reader = ArgsReader::new(es);
            let args = reader.find(model, &body, "", 0);
            Ok(Operation::List { model, args: reader.finish(args)? })
        }
        (None, "POST") => {
            only(&query, &["select", "include"])?;
            let data =
                body.ok_or_else(|| Problem::bad_request("", "the body must be the new record, as a JSON object"))?;
            Ok(Operation::Create { model, data, selection: selection(es, model, &query)? })
        }
        (Some("count"), "GET") => {
            only(&query, &["where"])?;
            Ok(Operation::Count { model, filter: filter(es, model, query.get("where"), "where")? })
        }
        (Some("bulk"), "POST") => {
            only(&query, &[])?;
            let data = match body {
                Some(Json::Object(mut o)) => {
                    o.remove("data").ok_or_else(|| Problem::bad_request("data", "is required: a list of records"))?
                }
                Some(list @ Json::Array(_)) => list,
                _ => return Err(Problem::bad_request("data", "expected {\"data\": [records]}")),
            };
            Ok(Operation::CreateMany { model, data })
        }
        (Some("bulk"), "PATCH") => {
            only(&query, &[])?;
            let mut body = body_object(body)?;
            let data = body.remove("data").ok_or_else(|| Problem::bad_request("data", "is required"))?;
            let where_ = body
                .remove("where")
                .ok_or_else(|| Problem::bad_request("where", "is required (use {} for every record)"))?;
            if let Some(key) = body.keys().next() {
                return Err(Problem::bad_request(key.clone(), "unknown argument; expected: where, data"));
            }
            Ok(Operation::UpdateMany { model, filter: filter(es, model, Some(&where_), "where")?, data })
        }
        (Some("bulk"), "DELETE") => {
            only(&query, &["where"])?;
            let mut body = body_object(body)?;
            if let Some(key) = body.keys().find(|k| *k != "where") {
                return Err(Problem::bad_request(key.clone(), "unknown argument; expected: where"));
            }
            let where_ = match (body.remove("where"), query.get("where")) {
                (Some(_), Some(_)) => {
                    return Err(Problem::bad_request("where", "given both in the query string and in the body"))
                }
                (Some(w), None) => w,
                (None, Some(w)) => w.clone(),
                (None, None) => return Err(Problem::bad_request("where", "is required (use {} for every record)")),
            };
            Ok(Operation::DeleteMany { model, filter: filter(es, model, Some(&where_), "where")? })
        }
        (Some("query" | "count" | "bulk"), _) => Err(not_allowed()),
        (Some(id), "GET") => {
            only(&query, &["select", "include"])?;
            Ok(Operation::Get { model, key: parse_id(es, model, id)?, selection: selection(es, model, &query)? })
        }
        (Some(id), "PATCH" | "PUT") => {
            only(&query, &["select", "include"])?;
            let data =
                body.ok_or_else(|| Problem::bad_request("", "the body must be the changes, as a JSON object"))?;
            Ok(Operation::Update {
                model,
                key: parse_id(es, model, id)?,
                data,
                selection: selection(es, model, &query)?,
            })
        }
        (Some(id), "DELETE") => {
            only(&query, &["select", "include"])?;
            Ok(Operation::Delete { model, key: parse_id(es, model, id)?, selection: selection(es, model, &query)? })
        }
        _ => Err(not_allowed()),
    }
}

/// The methods a resource route takes (`rest` is the path after `/api/{resource}`), as
/// the `Allow` header lists them.
pub fn allowed_methods(rest: Option<&str>) -> &'static str {
    match rest {
        None => "GET, POST",
        Some("query") => "POST",
        Some("count") => "GET",
        Some("bulk") => "POST, PATCH, DELETE",
        Some(_) => "GET, PATCH, PUT, DELETE",
    }
}

/// Refuses a method the route does not take (405 with `Allow`), before the caller or
/// their rights are looked at: the answer depends on the route alone.
pub fn check_method(method: &Method, rest: Option<&str>) -> Result<(), Problem> {
    let allow = allowed_methods(rest);
    if allow.split(", ").any(|m| m == method.as_str()) {
        Ok(())
    } else {
        Err(Problem::method_not_allowed(method.as_str(), allow))
    }
}

/// Which policy operation a request stands for, from its method and path alone (known
/// before its input is read).
pub fn policy_op(method: &Method, rest: Option<&str>) -> Op {
    match (rest, method.as_str()) {
        (_, "GET") | (Some("query"), _) => Op::Read,
        (_, "POST") => Op::Create,
        (_, "DELETE") => Op::Delete,
        _ => Op::Update,
    }
}

/// Runs `op` on `conn` (inside the caller's transaction) under `guard`: the status and
/// body to answer.
pub fn run(conn: &mut dyn Conn, guard: &Guard<'_>, op: &Operation) -> Result<(StatusCode, Json), StoreError> {
    let es = guard.entities;
    let not_found = |model: usize| StoreError::no_record(&es.entities[model].name);
    Ok(match op {
        Operation::List { model, args } => {
            let mut args = args.clone();
            guard.find(*model, &mut args)?;
            let page = read::list(conn, es, *model, &args)?;
            let body = json!({
                "data": page.rows,
                "meta": { "total": page.total, "skip": page.skip, "take": page.take, "hasMore": page.has_more, "seq": page.seq },
            });
            (StatusCode::OK, body)
        }
        Operation::Get { model, key, selection } => {
            let mut args = read::key_args(key, selection);
            guard.find(*model, &mut args)?;
            match read::find(conn, es, *model, &args)?.into_iter().next() {
                Some(row) => (StatusCode::OK, row),
                None => return Err(not_found(*model)),
            }
        }
        Operation::Count { model, filter } => {
            let filter = guard.count_filter(*model, filter.clone())?;
            (StatusCode::OK, json!({ "count": read::count(conn, es, *model, &filter)? }))
        }
        Operation::Create { model, data, selection } => {
            let since = capture(conn, guard)?;
            let after = guard.check_data(conn, *model, data, Op::Create, "data")?;
            let (key, row) = write::insert(conn, es, guard, *model, data, "data", &[])?;
            guard.verify_changes(conn, since, &after)?;
            (StatusCode::CREATED, written(conn, guard, *model, &key, row, selection)?)
        }
        Operation::Update { model, key, data, selection } => {
            let since = capture(conn, guard)?;
            let after = guard.check_data(conn, *model, data, Op::Update, "data")?;
            let mut allowed = vec![guard.rows(*model, Op::Update)?];
            allowed.extend(after.conditions(*model, Op::Update));
            target(conn, guard, *model, key, Filter::And(allowed), "update")?;
            let (key, row) = write::update(conn, es, guard, *model, key, data)?;
            guard.verify_changes(conn, since, &after)?;
            (StatusCode::OK, written(conn, guard, *model, &key, row, selection)?)
        }
        // A delete changes other rows only by the schema's referential actions
        // (`onDelete`), which are not the caller's doing: nothing to check after.
        Operation::Delete { model, key, selection } => {
            target(conn, guard, *model, key, guard.rows(*model, Op::Delete)?, "delete")?;
            let mut selection = selection.clone();
            guard.selection(*model, &mut selection)?;
            (StatusCode::OK, write::delete(conn, es, *model, key, &selection)?)
        }
        Operation::CreateMany { model, data } => {
            let since = capture(conn, guard)?;
            let mut after = ssot_access::After::default();
            if let Json::Array(items) = data {
                for (i, item) in items.iter().enumerate() {
                    after.merge(guard.check_data(conn, *model, item, Op::Create, &format!("data[{i}]"))?);
                }
            }
            let count = write::create_many(conn, es, guard, *model, data)?;
            guard.verify_changes(conn, since, &after)?;
            (StatusCode::OK, json!({ "count": count }))
        }
        Operation::UpdateMany { model, filter, data } => {
            let since = capture(conn, guard)?;
            let after = guard.check_data(conn, *model, data, Op::Update, "data")?;
            let mut parts = vec![guard.count_filter(*model, filter.clone())?, guard.rows(*model, Op::Update)?];
            parts.extend(after.conditions(*model, Op::Update));
            let count = write::update_many(conn, es, guard, *model, &Filter::And(parts), data)?;
            guard.verify_changes(conn, since, &after)?;
            (StatusCode::OK, json!({ "count": count }))
        }
        Operation::DeleteMany { model, filter } => {
            let since = capture(conn, guard)?;
            let filter =
                Filter::And(vec![guard.count_filter(*model, filter.clone())?, guard.rows(*model, Op::Delete)?]);
            let count = write::delete_where(conn, es, *model, &filter)?;
            guard.verify_changes(conn, since, &Default::default())?;
            (StatusCode::OK, json!({ "count": count }))
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
