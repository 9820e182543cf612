//! A signed-in user's account: changing the password (which ends every other session),
//! and listing and ending sessions (one's own; any user's with the admin key).

use super::{enabled, new_session, object_body, respond, sessions, string_field, unauthorized};
use crate::problem::Problem;
use crate::App;
use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{json, Map, Value as Json};
use ssot_access::Caller;
use ssot_store::query::read;
use std::collections::HashMap;
use std::sync::Arc;

/// Who is asking: a user (their subject and session), or the admin key.
enum Asker {
    User { sub: String, sid: String },
    Admin,
}

async fn asker(app: &Arc<App>, headers: &HeaderMap) -> Result<Asker, Problem> {
    match crate::caller(app, headers).await? {
        Caller::Admin => Ok(Asker::Admin),
        Caller::User(claims) => {
            let text = |n: &str| claims.get(n).and_then(Json::as_str).map(String::from);
            match (text("sub"), text("sid")) {
                (Some(sub), Some(sid)) => Ok(Asker::User { sub, sid }),
                _ => Err(unauthorized("sign in: this needs an access token of ssot's own")),
            }
        }
        Caller::Anonymous => Err(unauthorized("sign in: this needs a user's access token")),
    }
}

/// `POST /api/auth/password {currentPassword, newPassword}`: a new session for the caller;
/// every session opened before (this one included) is over.
pub async fn change_password(State(app): State<Arc<App>>, headers: HeaderMap, body: Body) -> Response {
    respond(change_password_inner(app, headers, body).await)
}

async fn change_password_inner(app: Arc<App>, headers: HeaderMap, body: Body) -> Result<Response, Problem> {
    let (auth, _) = enabled(&app)?;
    let Asker::User { sub, .. } = asker(&app, &headers).await? else {
        return Err(Problem::bad_request(
            "",
            "the admin key sets passwords with PATCH on the user; this is a user's own",
        ));
    };
    let data = object_body(&app, body).await?;
    let current = string_field(&data, "currentPassword")?;
    let new = string_field(&data, "newPassword")?;
    if let Some(wait) = auth.limits.account_attempt(&format!("password:{sub}")) {
        return Err(Problem::new(
            StatusCode::TOO_MANY_REQUESTS,
            "rate_limited",
            format!("too many password attempts; try again in {wait} s"),
        ));
    }
    let Some(row) = super::load_user(&app, sub.clone()).await? else {
        return Err(unauthorized("the token's user no longer exists"));
    };
    let es = Arc::clone(&app.store.entities);
    let model = auth.user.model;
    let password_name = es.entities[model].fields[auth.user.password].name.clone();
    let hash = row.get(&password_name).and_then(Json::as_str).map(String::from);
    if !auth.passwords.verify(current, hash).await {
        let mut problem = Problem::new(StatusCode::FORBIDDEN, "wrong_password", "the current password is wrong");
        problem.errors.push(ssot_store::FieldError::new("currentPassword", "is wrong"));
        return Err(problem);
    }
    auth.limits.succeeded(&format!("password:{sub}"));
    let hashed = auth.passwords.hash(new).await.map_err(|e| Problem::bad_request("newPassword", e.to_string()))?;
    let key = crate::execute::parse_id(&es, model, &sub)?;
    let mut changes = Map::new();
    changes.insert(password_name, Json::String(hashed));
    let every = ssot_store::query::args::Selection::every_field(&es.entities[model]);
    // The server's own update, once the current password is proven: on the one guarded
    // path, as the admin key's would be.
    let op = ssot_access::operation::Operation::Update { model, key, data: Json::Object(changes), selection: every };
    let policies = Arc::clone(&app.access.policies);
    let row = crate::write_and_settle(&app, move |conn, es| {
        let admin = ssot_access::Guard::new(&policies, es, &Caller::Admin);
        let outcome = ssot_access::operation::run(conn, &admin, &op)?;
        let key = outcome.key.ok_or_else(|| ssot_store::StoreError::no_record(&es.entities[model].name))?;
        // Whole, with the new password's hash, for the new session.
        read::get(conn, es, model, &key, &ssot_store::query::args::Selection::every_field(&es.entities[model]))
    })
    .await?;
    let Some(Json::Object(row)) = row else { return Err(unauthorized("the token's user no longer exists")) };
    Ok((StatusCode::OK, axum::Json(new_session(&app, row).await?)).into_response())
}

/// Whose sessions: the caller's own, or (admin key) `?userId=`'s.
fn whose(asker: &Asker, query: &HashMap<String, String>) -> Result<String, Problem> {
    match (asker, query.get("userId")) {
        (Asker::Admin, Some(user)) => Ok(user.clone()),
        (Asker::Admin, None) => Err(Problem::bad_request("userId", "is required with the admin key")),
        (Asker::User { sub, .. }, None) => Ok(sub.clone()),
        (Asker::User { sub, .. }, Some(user)) if user == sub => Ok(sub.clone()),
        (Asker::User { .. }, Some(_)) => {
            Err(Problem::new(StatusCode::FORBIDDEN, "forbidden", "only the admin key sees other users' sessions"))
        }
    }
}

/// `GET /api/auth/sessions[?userId=]`: the live sessions, newest first.
pub async fn list_sessions(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    respond(
        async {
            enabled(&app)?;
            let asker = asker(&app, &headers).await?;
            let user = whose(&asker, &query)?;
            let current = match &asker {
                Asker::User { sid, .. } => Some(sid.clone()),
                Asker::Admin => None,
            };
            let list = app.store.read_single(move |conn, _| sessions::list(conn, &user)).await?;
            let data: Vec<Json> = list.iter().map(|s| s.to_json(current.as_deref())).collect();
            Ok((StatusCode::OK, axum::Json(json!({ "data": data }))).into_response())
        }
        .await,
    )
}

/// `DELETE /api/auth/sessions[?userId=]`: ends every session of the user (the caller's
/// own, the current one included; any user's with the admin key).
pub async fn end_sessions(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    respond(
        async {
            enabled(&app)?;
            let user = whose(&asker(&app, &headers).await?, &query)?;
            let count = crate::write_and_settle(&app, move |conn, _| sessions::end_all(conn, &user)).await?;
            Ok((StatusCode::OK, axum::Json(json!({ "count": count }))).into_response())
        }
        .await,
    )
}

/// `DELETE /api/auth/sessions/{id}`: ends one session (one's own; any with the admin key).
/// Another user's session is "not found", as a missing one.
pub async fn end_session(State(app): State<Arc<App>>, headers: HeaderMap, Path(id): Path<String>) -> Response {
    respond(
        async {
            enabled(&app)?;
            let asker = asker(&app, &headers).await?;
            let owner = match &asker {
                Asker::User { sub, .. } => Some(sub.clone()),
                Asker::Admin => None,
            };
            let ended = crate::write_and_settle(&app, move |conn, _| match sessions::get(conn, &id)? {
                Some(s) if owner.as_ref().is_none_or(|o| *o == s.user) => sessions::end(conn, &s.id),
                _ => Ok(false),
            })
            .await?;
            if !ended {
                return Err(Problem::not_found("no live session with this id"));
            }
            Ok(StatusCode::NO_CONTENT.into_response())
        }
        .await,
    )
}
