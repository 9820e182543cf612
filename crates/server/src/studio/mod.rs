//! The admin studio: a small page at `/_/` (HTML, script and style compiled into the
//! binary; no build step at run time) and the JSON it reads besides the REST API: who may
//! do what (`/api/_studio/access`), the change log as it grows (`/api/_studio/changes`), and
//! the sockets' clients and subscriptions (`/api/_studio/clients`, the admin key's alone).
//! The first two are open to the users `@@auth(studio: ...)` admits too
//! (`execute::require_studio`), under their own read rules.
//! Rows are browsed and edited through the REST API itself, with the same credentials, so
//! the studio can do nothing the API does not allow: a user does it under their own rules.
//!
//! The page holds the admin key, or a user's tokens, in the tab's `sessionStorage` and
//! sends them as a bearer token: no cookie, so no other site can make a browser call these
//! routes for it. Every value is put on the page as text, never as HTML.

use crate::problem::Problem;
use crate::App;
use axum::extract::{RawQuery, State};
use axum::http::{header, HeaderMap};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::Router;
use serde_json::{json, Value as Json};
use ssot_access::Caller;
use std::sync::Arc;

const PAGE: &str = include_str!("index.html");
const SCRIPT: &str = include_str!("studio.js");
const STYLE: &str = include_str!("studio.css");

/// The page's own files may load; nothing else, from nowhere else; never in a frame.
const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; \
                   base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/// The most change-log entries one answer holds.
const MAX_CHANGES: i64 = 500;

pub fn routes() -> Router<Arc<App>> {
    Router::new()
        .route("/_", get(|| async { Redirect::permanent("/_/") }))
        .route("/_/", get(|| async { asset(PAGE, "text/html; charset=utf-8") }))
        .route("/_/studio.js", get(|| async { asset(SCRIPT, "text/javascript; charset=utf-8") }))
        .route("/_/studio.css", get(|| async { asset(STYLE, "text/css; charset=utf-8") }))
        .route("/api/_studio/access", get(access))
        .route("/api/_studio/changes", get(changes))
        .route("/api/_studio/clients", get(clients))
}

fn asset(body: &'static str, kind: &'static str) -> Response {
    (
        [
            (header::CONTENT_TYPE, kind),
            (header::CONTENT_SECURITY_POLICY, CSP),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
            (header::REFERRER_POLICY, "no-referrer"),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        body,
    )
        .into_response()
}

fn json_answer(value: &Json) -> Response {
    ([(header::CACHE_CONTROL, "no-store")], axum::Json(value)).into_response()
}

/// Per model, each operation's rules and the field rules, as `ssot serve` prints them at start.
async fn access(State(app): State<Arc<App>>, headers: HeaderMap) -> Result<Response, Problem> {
    let caller = crate::execute::require_studio(&app, &headers, "the studio's data").await?;
    let es = &app.store.entities;
    let mut table = app.access.policies.table(es);
    // The page edits rows by id and shows each field's type beside its input.
    if let Some(models) = table["models"].as_array_mut() {
        for (model, (entry, entity)) in models.iter_mut().zip(&es.entities).enumerate() {
            let fields: Vec<Json> = entity
                .fields
                .iter()
                .enumerate()
                .filter(|(index, _)| !app.access.policies.write_only(model, *index))
                .map(|(_, f)| {
                    let kind = match &f.kind {
                        ssot_shape::Kind::Scalar(scalar) => format!("{scalar:?}"),
                        ssot_shape::Kind::Enum(e) => es.enums.get(*e).map_or_else(String::new, |e| e.name.clone()),
                    };
                    json!({"name": f.name, "type": kind, "list": f.list, "optional": f.optional})
                })
                .collect();
            entry["id"] = json!(entity.id.iter().map(|&i| entity.fields[i].name.as_str()).collect::<Vec<_>>());
            entry["fields"] = json!(fields);
        }
    }
    // Who the page speaks for: a user browses and edits rows under their own rules.
    table["caller"] = match caller.auth() {
        Some(claims) => json!({"kind": "user", "sub": claims.get("sub")}),
        None => json!({"kind": "admin"}),
    };
    Ok(json_answer(&table))
}

/// A whole number parameter of the query string, when given, within `range`.
fn number(
    query: &serde_json::Map<String, Json>,
    name: &str,
    range: std::ops::RangeInclusive<i64>,
) -> Result<Option<i64>, Problem> {
    match query.get(name) {
        None => Ok(None),
        Some(value) => match value.as_i64() {
            Some(n) if range.contains(&n) => Ok(Some(n)),
            _ => Err(Problem::bad_request(
                name,
                format!("expected a whole number from {} to {}", range.start(), range.end()),
            )),
        },
    }
}

/// The change log: `{"changes": [{seq, at, model, op, old?, new?}], "seq"}`, oldest
/// first: the entries after `?after=` (a `seq`), or without it the newest `?take=` (at
/// most 500, default 100). Rows are in the API's form without write-only fields (a
/// password's hash never leaves); entries of ssot's own (sessions) and of join tables
/// carry no row. A user sees what their read rules show them ([`Reader`]); the admin key
/// sees every row.
async fn changes(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> Result<Response, Problem> {
    let caller = crate::execute::require_studio(&app, &headers, "the studio's data").await?;
    let query = crate::rest::query_values(raw.as_deref(), None)?;
    crate::rest::only(&query, &["after", "take"])?;
    let after = number(&query, "after", 0..=i64::MAX)?;
    let take = number(&query, "take", 1..=MAX_CHANGES)?.unwrap_or(100);
    let policies = Arc::clone(&app.access.policies);
    let answer = app
        .store
        .read(move |conn, es| {
            let after = match after {
                Some(after) => after,
                None => (ssot_store::query::read::current_seq(conn)? - take).max(0),
            };
            let page = ssot_store::changelog::records_after(conn, after, take)?;
            let now = ssot_store::time::format(ssot_store::time::now());
            let reader =
                Reader { policies: &policies, auth: caller.auth().filter(|_| caller != Caller::Admin), now: &now };
            let changes: Vec<Json> = page.records.iter().filter_map(|r| reader.record(es, r)).collect();
            Ok(json!({"changes": changes, "seq": page.reached}))
        })
        .await
        .map_err(Problem::from)?;
    Ok(json_answer(&answer))
}

/// Who reads the change log: the admin key (`auth: None`), or a user, who sees an entry
/// only where their read rule, decided on the row alone, says yes for the row before or
/// after the change, and of it only the fields their field rules show them. A rule that
/// reaches through a relation cannot be decided on the row: such rows are not shown to a
/// user here (fail-closed; the Data tab reads them through the API, where it can).
struct Reader<'a> {
    policies: &'a ssot_access::Policies,
    auth: Option<&'a serde_json::Map<String, Json>>,
    now: &'a str,
}

impl Reader<'_> {
    fn record(&self, es: &ssot_store::entity::Entities, r: &ssot_store::changelog::Record) -> Option<Json> {
        let mut entry = json!({"seq": r.seq, "at": ssot_store::time::format(r.at), "model": r.label, "op": r.op});
        let Some(model) = es.by_name(&r.label) else {
            // ssot's own tables and join tables: no row; a user sees none of them.
            return self.auth.is_none().then_some(entry);
        };
        let (old, new) = (
            r.old.as_ref().and_then(|row| self.row(es, model, row)),
            r.new.as_ref().and_then(|row| self.row(es, model, row)),
        );
        if self.auth.is_some() && old.is_none() && new.is_none() {
            return None;
        }
        if let Some(old) = old {
            entry["old"] = old;
        }
        if let Some(new) = new {
            entry["new"] = new;
        }
        Some(entry)
    }

    /// The row as this reader may see it; `None` when they may not.
    fn row(
        &self,
        es: &ssot_store::entity::Entities,
        model: usize,
        row: &serde_json::Map<String, Json>,
    ) -> Option<Json> {
        use ssot_policy::eval::{evaluate, Context, Verdict};
        let mut full = ssot_store::changelog::api_row(es, model, row);
        let Some(auth) = self.auth else {
            // The admin key: every field but the write-only ones.
            for (index, field) in es.entities[model].fields.iter().enumerate() {
                if self.policies.write_only(model, index) {
                    full.remove(&field.name);
                }
            }
            return Some(Json::Object(full));
        };
        let cx = Context { auth: Some(auth), now: self.now };
        let rule = self.policies.rule(model, ssot_access::Op::Read)?;
        if evaluate(rule, &full, &cx) != Verdict::Allow {
            return None;
        }
        Some(Json::Object(crate::auth::readable_fields(self.policies, es, model, &full, Some(auth))))
    }
}

/// This instance's sockets: each connection, its subscriptions and channels.
async fn clients(State(app): State<Arc<App>>, headers: HeaderMap) -> Result<Response, Problem> {
    // The admin key's alone: subscriptions' options may hold values from rows.
    crate::execute::require_admin(&app, &headers, "the sockets' clients").await?;
    Ok(json_answer(&app.hub.clients()))
}
