//! `POST /api/$batch`: several operations in one transaction, all or nothing.
//!
//! Body: `{"operations": [{"method": "POST", "path": "/api/posts", "body": {...}}, ...]}`.
//! Answer: `{"results": [{"status": 201, "body": {...}}, ...]}`, or, when one fails, that
//! operation's problem (its paths prefixed with `operations[i]`) and nothing written.

use crate::execute;
use crate::problem::Problem;
use crate::rest;
use crate::{json_body, App};
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{json, Value as Json};
use ssot_access::operation::{self, Operation, Request};
use ssot_access::{Caller, KnownRows};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

/// The most operations one batch may hold.
pub use ssot_shape::limits::MAX_BATCH_OPERATIONS as MAX_OPERATIONS;

/// The keys of one operation. Any other is refused: a misspelt `bdoy` silently ignored
/// would run the operation without its body.
const OPERATION_KEYS: [&str; 3] = ["method", "path", "body"];

pub async fn handle(State(app): State<Arc<App>>, headers: HeaderMap, body: Body) -> Response {
    match handle_http(&app, &headers, body).await {
        Ok(response) => response,
        Err(problem) => problem.into_response(),
    }
}

async fn handle_http(app: &Arc<App>, headers: &HeaderMap, body: Body) -> Result<Response, Problem> {
    let caller = execute::caller(app, headers).await?;
    let body = json_body(body, app.max_body_bytes).await?;
    if let Some(key) = body.as_ref().and_then(Json::as_object).and_then(|b| b.keys().find(|k| *k != "operations")) {
        return Err(Problem::bad_request(key.clone(), "unknown key; expected: operations"));
    }
    let operations = body
        .as_ref()
        .and_then(|b| b.get("operations"))
        .and_then(Json::as_array)
        .ok_or_else(|| Problem::bad_request("operations", "expected {\"operations\": [{method, path, body}]}"))?;
    if operations.len() > MAX_OPERATIONS {
        return Err(Problem::bad_request("operations", format!("at most {MAX_OPERATIONS} operations per batch")));
    }
    let es = &app.store.entities;
    let mut requests = Vec::with_capacity(operations.len());
    let mut known = Vec::new();
    for (i, item) in operations.iter().enumerate() {
        let prefix = format!("operations[{i}]");
        let fields = item
            .as_object()
            .ok_or_else(|| Problem::bad_request(prefix.clone(), "expected an object: {method, path, body}"))?;
        if let Some(key) = fields.keys().find(|k| !OPERATION_KEYS.contains(&k.as_str())) {
            return Err(Problem::bad_request(
                format!("{prefix}.{key}"),
                format!("unknown key; expected: {}", OPERATION_KEYS.join(", ")),
            ));
        }
        let method = item
            .get("method")
            .and_then(Json::as_str)
            .and_then(|m| Method::from_bytes(m.to_ascii_uppercase().as_bytes()).ok())
            .ok_or_else(|| {
                Problem::bad_request(format!("{prefix}.method"), "expected GET, POST, PATCH, PUT or DELETE")
            })?;
        let path = item
            .get("path")
            .and_then(Json::as_str)
            .ok_or_else(|| Problem::bad_request(format!("{prefix}.path"), "expected a path such as /api/posts"))?;
        let (path, query) = path.split_once('?').map_or((path, None), |(p, q)| (p, Some(q)));
        let route = path.strip_prefix("/api/").unwrap_or(path);
        let (resource, rest) = match route.split_once('/') {
            Some((r, rest)) if !rest.contains('/') && !rest.is_empty() => (r, Some(rest)),
            Some(_) => return Err(Problem::not_found(format!("{prefix}: no such route {path}"))),
            None => (route, None),
        };
        let model = es
            .by_resource(resource)
            .ok_or_else(|| Problem::not_found(format!("{prefix}: no resource `{resource}`")))?;
        let action = rest::action(&method, rest).map_err(|p| p.prefixed(&prefix))?;
        // Refused before its input is read, as a request of its own would be.
        known.extend(execute::authorize(app, &caller, model, action).map_err(|p| p.prefixed(&prefix))?);
        let query = rest::query_values(query, rest).map_err(|p| p.prefixed(&prefix))?;
        let request =
            rest::request(model, action, rest, query, item.get("body").cloned()).map_err(|p| p.prefixed(&prefix))?;
        requests.push(request);
    }
    let (results, seq) = run(app, caller, requests, known).await?;
    let mut response = (StatusCode::OK, axum::Json(json!({ "results": results }))).into_response();
    response.headers_mut().insert(rest::SEQ_HEADER, HeaderValue::from(seq));
    Ok(response)
}

/// Refuses the batch when no rule can open one of its operations to `caller` (naming it,
/// `operations[i]`); the row filters built, for [`run`].
pub fn authorize(app: &App, caller: &Caller, requests: &[Request]) -> Result<Vec<KnownRows>, Problem> {
    let mut known = Vec::new();
    for (i, request) in requests.iter().enumerate() {
        let rows = execute::authorize(app, caller, request.model, request.action)
            .map_err(|p| p.prefixed(&format!("operations[{i}]")))?;
        known.extend(rows);
    }
    Ok(known)
}

/// Runs `requests`, authorized ([`authorize`]; `known` the row filters it built), in one
/// write transaction under `caller`, all or nothing: each operation's `{status, body}`,
/// and the `seq` the batch committed at. A refusal names the operation (`operations[i]`).
pub async fn run(
    app: &App,
    caller: Caller,
    requests: Vec<Request>,
    known: Vec<KnownRows>,
) -> Result<(Vec<Json>, i64), Problem> {
    if requests.len() > MAX_OPERATIONS {
        return Err(Problem::bad_request("operations", format!("at most {MAX_OPERATIONS} operations per batch")));
    }
    let es = &app.store.entities;
    let mut ops: Vec<Operation> = Vec::with_capacity(requests.len());
    let mut passwords = crate::auth::MAX_PASSWORDS_PER_REQUEST;
    for (i, request) in requests.into_iter().enumerate() {
        let prefix = format!("operations[{i}]");
        let mut op = Operation::read(es, request).map_err(|e| Problem::from(e).prefixed(&prefix))?;
        execute::prepare(app, &caller, &mut op, &mut passwords).await.map_err(|p| p.prefixed(&prefix))?;
        ops.push(op);
    }
    let failed_at = Arc::new(AtomicUsize::new(usize::MAX));
    let failed = Arc::clone(&failed_at);
    let policies = Arc::clone(&app.access.policies);
    let results = execute::write_at_seq(app, move |conn, es| {
        let guard = ssot_access::Guard::new(&policies, es, &caller).with_known_rows(known);
        let mut results = Vec::with_capacity(ops.len());
        for (i, op) in ops.iter().enumerate() {
            match operation::run(conn, &guard, op) {
                Ok(outcome) => {
                    let status = if outcome.created { StatusCode::CREATED } else { StatusCode::OK };
                    results.push(json!({"status": status.as_u16(), "body": outcome.body}));
                }
                Err(e) => {
                    failed.store(i, Ordering::Relaxed);
                    return Err(e);
                }
            }
        }
        Ok(results)
    })
    .await;
    match results {
        Ok(done) => Ok(done),
        Err(e) => {
            let problem = Problem::from(e);
            match failed_at.load(Ordering::Relaxed) {
                usize::MAX => Err(problem),
                i => Err(problem.prefixed(&format!("operations[{i}]"))),
            }
        }
    }
}
