//! REST under `/api/{resource}`: a request's method, path, query string and body written
//! down as a transport-neutral [`Request`] and handed to the one guarded path
//! ([`crate::execute`]). `$batch` reads its operations with the same functions.

use crate::execute::{self, Executed};
use crate::http::{json_body, RouteLabel};
use crate::problem::Problem;
use crate::App;
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value as Json};
use ssot_access::operation::{Action, Request};
use ssot_store::entity::Entities;
use std::sync::Arc;

/// The response header carrying the change-log position a write committed at.
pub const SEQ_HEADER: &str = "x-ssot-seq";

pub async fn resource(
    State(app): State<Arc<App>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let path = uri.path().strip_prefix("/api/").unwrap_or("");
    let (resource, rest) = match path.split_once('/') {
        Some((resource, rest)) if !rest.contains('/') && !rest.is_empty() => (resource, Some(rest)),
        Some(_) => return Problem::not_found("no such route").into_response(),
        None => (path, None),
    };
    let route = match rest {
        None => format!("/api/{resource}"),
        Some(r @ ("query" | "count" | "bulk" | "search")) => format!("/api/{resource}/{r}"),
        Some(_) => format!("/api/{resource}/{{id}}"),
    };
    let known = app.store.entities.by_resource(resource).is_some();
    let mut response = match handle(&app, &method, resource, rest, uri.query(), &headers, body).await {
        Ok(response) => response,
        Err(problem) => problem.into_response(),
    };
    response.extensions_mut().insert(RouteLabel(if known { route } else { "/api/{unknown}".into() }));
    response
}

async fn handle(
    app: &Arc<App>,
    method: &Method,
    resource: &str,
    rest: Option<&str>,
    query: Option<&str>,
    headers: &HeaderMap,
    body: Body,
) -> Result<Response, Problem> {
    let model = model(&app.store.entities, resource)?;
    let action = action(method, rest)?;
    let caller = execute::caller(app, headers).await?;
    let known = execute::authorize(app, &caller, model, action)?;
    let query = query_values(query, rest)?;
    let body = json_body(body, app.max_body_bytes).await?;
    let request = request(model, action, rest, query, body)?;
    let Executed { outcome, seq } = execute::execute(app, caller, known, request).await?;
    let status = if outcome.created { StatusCode::CREATED } else { StatusCode::OK };
    let mut response = (status, axum::Json(outcome.body)).into_response();
    if let Some(seq) = seq {
        response.headers_mut().insert(SEQ_HEADER, HeaderValue::from(seq));
    }
    Ok(response)
}

/// The model a resource name stands for.
pub fn model(es: &Entities, resource: &str) -> Result<usize, Problem> {
    es.by_resource(resource)
        .ok_or_else(|| Problem::not_found(format!("no resource `{resource}`; see /api/openapi.json for the routes")))
}

/// The action a method and path ask for (`rest` is the path after `/api/{resource}`),
/// known before any input is read; a method the route does not take is a 405 with
/// `Allow`, whoever asks.
pub fn action(method: &Method, rest: Option<&str>) -> Result<Action, Problem> {
    let action = match (rest, method.as_str()) {
        (None, "GET") | (Some("query"), "POST") | (Some("search"), "GET") => Action::List,
        (None, "POST") => Action::Create,
        (Some("count"), "GET") => Action::Count,
        (Some("bulk"), "POST") => Action::CreateMany,
        (Some("bulk"), "PATCH") => Action::UpdateMany,
        (Some("bulk"), "DELETE") => Action::DeleteMany,
        (Some("query" | "count" | "bulk" | "search"), _) => return Err(not_allowed(method, rest)),
        (Some(_), "GET") => Action::Get,
        (Some(_), "PATCH" | "PUT") => Action::Update,
        (Some(_), "DELETE") => Action::Delete,
        _ => return Err(not_allowed(method, rest)),
    };
    Ok(action)
}

fn not_allowed(method: &Method, rest: Option<&str>) -> Problem {
    Problem::method_not_allowed(method.as_str(), allowed_methods(rest))
}

/// The methods a resource route takes (`rest` is the path after `/api/{resource}`), as
/// the `Allow` header lists them.
pub fn allowed_methods(rest: Option<&str>) -> &'static str {
    match rest {
        None => "GET, POST",
        Some("query") => "POST",
        Some("count" | "search") => "GET",
        Some("bulk") => "POST, PATCH, DELETE",
        Some(_) => "GET, PATCH, PUT, DELETE",
    }
}

/// The query string as JSON values: `take=10` is a number, `where={...}` an object; on
/// `/search` (`rest`), `q` is the plain text typed, a string.
pub fn query_values(raw: Option<&str>, rest: Option<&str>) -> Result<Map<String, Json>, Problem> {
    let mut out = Map::new();
    for (key, value) in form_urlencoded::parse(raw.unwrap_or("").as_bytes()) {
        let parsed: Json = if key == "q" && rest == Some("search") {
            Json::String(value.into_owned())
        } else {
            serde_json::from_str(&value)
                .map_err(|e| Problem::bad_request(key.to_string(), format!("expected a JSON value: {e}")))?
        };
        if out.insert(key.to_string(), parsed).is_some() {
            return Err(Problem::bad_request(key.to_string(), "given more than once"));
        }
    }
    Ok(out)
}

/// Where REST puts each part of an action: the options in the query string (or, for
/// `POST /query`, the body), the data in the body, the id in the path.
pub fn request(
    model: usize,
    action: Action,
    rest: Option<&str>,
    query: Map<String, Json>,
    body: Option<Json>,
) -> Result<Request, Problem> {
    let request = |args: Map<String, Json>, data: Option<Json>| {
        let id = action.takes_id().then(|| rest.map(id_parts).unwrap_or_default());
        Ok(Request { model, action, id, args, data })
    };
    match (action, rest) {
        (Action::List, Some("query")) => {
            only(&query, &[])?;
            // An empty body is more likely a client's mistake than a wish for every row.
            let body = body_object(Some(body.ok_or_else(|| {
                Problem::bad_request("", "the body must be the list's arguments, as a JSON object ({} for every row)")
            })?))?;
            request(body, None)
        }
        (Action::List, Some("search")) => {
            // `q` is the search; the list's other options as on `GET /api/{resource}`.
            let allowed: Vec<&str> = std::iter::once("q")
                .chain(action.argument_names().iter().copied().filter(|a| *a != "search"))
                .collect();
            only(&query, &allowed)?;
            let mut args = merge_shape(query);
            let q = args.remove("q").ok_or_else(|| Problem::bad_request("q", "is required: the words to look for"))?;
            args.insert("search".into(), q);
            request(args, None)
        }
        (Action::List | Action::Count | Action::Get | Action::Delete, _) => {
            only(&query, action.argument_names())?;
            request(merge_shape(query), None)
        }
        (Action::Create | Action::Update, _) => {
            only(&query, action.argument_names())?;
            let what = if action == Action::Create { "the new record" } else { "the changes" };
            let data =
                body.ok_or_else(|| Problem::bad_request("", format!("the body must be {what}, as a JSON object")))?;
            request(merge_shape(query), Some(data))
        }
        (Action::CreateMany, _) => {
            only(&query, &[])?;
            let data = match body {
                Some(Json::Object(mut o)) => {
                    o.remove("data").ok_or_else(|| Problem::bad_request("data", "is required: a list of records"))?
                }
                Some(list @ Json::Array(_)) => list,
                _ => return Err(Problem::bad_request("data", "expected {\"data\": [records]}")),
            };
            request(Map::new(), Some(data))
        }
        (Action::UpdateMany, _) => {
            only(&query, &[])?;
            let mut body = body_object(body)?;
            let data = body.remove("data").ok_or_else(|| Problem::bad_request("data", "is required"))?;
            let where_ = body
                .remove("where")
                .ok_or_else(|| Problem::bad_request("where", "is required (use {} for every record)"))?;
            if let Some(key) = body.keys().next() {
                return Err(Problem::bad_request(key.clone(), "unknown argument; expected: where, data"));
            }
            request(Map::from_iter([("where".to_string(), where_)]), Some(data))
        }
        (Action::DeleteMany, _) => {
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
            request(Map::from_iter([("where".to_string(), where_)]), None)
        }
    }
}

/// A path's id segment (`5`, or `a,b` for a compound id, each part percent-encoded) as
/// its parts.
pub(crate) fn id_parts(raw: &str) -> Vec<String> {
    raw.split(',').map(|p| percent_encoding::percent_decode_str(p).decode_utf8_lossy().into_owned()).collect()
}

pub(crate) fn only(query: &Map<String, Json>, allowed: &[&str]) -> Result<(), Problem> {
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

fn body_object(body: Option<Json>) -> Result<Map<String, Json>, Problem> {
    match body {
        None => Ok(Map::new()),
        Some(Json::Object(o)) => Ok(o),
        Some(_) => Err(Problem::bad_request("", "the body must be a JSON object")),
    }
}
