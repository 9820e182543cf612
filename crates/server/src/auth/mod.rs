//! Users from `@@auth`: `POST /api/auth/signup`, `/login`, `/refresh`, `/logout` and
//! `GET /api/auth/me`.
//!
//! Passwords are hashed with Argon2id off the async workers ([`passwords`]) and never
//! leave the server: no response, token, filter or rule shows them. Access tokens are
//! JWTs ([`tokens`]); refresh tokens are opaque, stored hashed and rotated ([`refresh`]).
//! Logins are rate-limited per account and per address ([`limits`]). Every sign-in opens
//! a session ([`sessions`]) that logout, a password change or an admin ends; `auth` in
//! rules is the caller's current row ([`current`]). Password changes and the session
//! list live in [`account`].

mod account;
pub mod current;
mod fields;
pub mod limits;
pub mod passwords;
pub mod refresh;
pub mod sessions;
pub mod tokens;

use crate::problem::Problem;
use crate::{json_body, App};
use axum::body::Body;
use axum::extract::{ConnectInfo, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
pub use fields::prepare_user_fields;
use limits::Limits;
use passwords::Passwords;
pub use passwords::MAX_PASSWORDS_PER_REQUEST;
use serde_json::{json, Map, Value as Json};
use ssot_access::operation::{self, Action, Operation, Request};
use ssot_access::{AuthModel, Caller, Door, Guard, Op, Policies};
use ssot_policy::eval::{evaluate, Context, Verdict};
use ssot_store::entity::Entities;
use ssot_store::query::args::Selection;
use ssot_store::query::read;
use ssot_store::StoreError;
use std::net::SocketAddr;
use std::sync::Arc;
pub use tokens::{TokenSettings, Tokens};

/// The `@@auth` model and what its endpoints need.
pub struct Auth {
    /// The user model, its login and password fields (as the policies know them).
    pub user: AuthModel,
    pub refresh: bool,
    pub passwords: Passwords,
    pub limits: Limits,
    /// Users and sessions as they are now (see [`current`]).
    pub current: Arc<current::Current>,
    /// Whether the login identity is an e-mail address (its field is named so).
    email: bool,
}

impl Auth {
    pub fn new(policies: &Policies, es: &Entities, refresh: bool, limits: limits::LimitSettings) -> Option<Auth> {
        let user = policies.auth.clone()?;
        let entity = &es.entities[user.model];
        let email = entity.fields[user.identity].name.to_ascii_lowercase().contains("email");
        let current = Arc::new(current::Current::new(user.model, entity.name.clone()));
        Some(Auth { user, refresh, passwords: Passwords::new(), limits: Limits::new(limits), current, email })
    }
}

pub fn routes() -> axum::Router<Arc<App>> {
    use axum::routing::{get, post};
    axum::Router::new()
        .route("/api/auth/signup", post(signup))
        .route("/api/auth/login", post(login))
        .route("/api/auth/refresh", post(refresh_tokens))
        .route("/api/auth/logout", post(logout))
        .route("/api/auth/me", get(me))
        .route("/api/auth/password", post(account::change_password))
        .route("/api/auth/sessions", get(account::list_sessions).delete(account::end_sessions))
        .route("/api/auth/sessions/{id}", axum::routing::delete(account::end_session))
}

fn enabled(app: &App) -> Result<(&Auth, &Tokens), Problem> {
    match (&app.auth, &app.access.tokens) {
        (Some(auth), Some(tokens)) => Ok((auth, tokens)),
        _ => Err(Problem::not_found("authentication is off: no model has `@@auth`")),
    }
}

fn unauthorized(detail: &str) -> Problem {
    Problem::new(StatusCode::UNAUTHORIZED, "unauthorized", detail)
}

fn respond(result: Result<Response, Problem>) -> Response {
    result.unwrap_or_else(IntoResponse::into_response)
}

async fn object_body(app: &App, body: Body) -> Result<Map<String, Json>, Problem> {
    match json_body(body, app.max_body_bytes).await? {
        Some(Json::Object(o)) => Ok(o),
        _ => Err(Problem::bad_request("", "the body must be a JSON object")),
    }
}

fn string_field(body: &Map<String, Json>, name: &str) -> Result<String, Problem> {
    match body.get(name) {
        Some(Json::String(s)) => Ok(s.clone()),
        Some(_) => Err(Problem::bad_request(name, "expected a string")),
        None => Err(Problem::bad_request(name, "is required")),
    }
}

/// A user's row as their token and the auth responses show it: no password, and a
/// field with a field-level read rule only when the rule lets the user read it on their
/// own row.
fn public_fields(policies: &Policies, es: &Entities, model: usize, row: &Map<String, Json>) -> Map<String, Json> {
    let entity = &es.entities[model];
    let mut own = row.clone();
    for (i, field) in entity.fields.iter().enumerate() {
        if policies.write_only(model, i) {
            own.shift_remove(&field.name);
        }
    }
    readable_fields(policies, es, model, &own, Some(&own))
}

/// The fields of a `row` of `model` that the caller `auth` may read on it: write-only fields
/// never, a field with a read rule when the rule holds on the row.
pub(crate) fn readable_fields(
    policies: &Policies,
    es: &Entities,
    model: usize,
    row: &Map<String, Json>,
    auth: Option<&Map<String, Json>>,
) -> Map<String, Json> {
    let entity = &es.entities[model];
    let now = ssot_store::time::format(i64::try_from(tokens::now_seconds()).unwrap_or(0).saturating_mul(1000));
    let cx = Context { auth, now: &now };
    let mut out = Map::new();
    for (i, field) in entity.fields.iter().enumerate() {
        if policies.write_only(model, i) {
            continue;
        }
        if let Some(rule) = policies.field_rule(model, i, Op::Read) {
            if evaluate(rule, row, &cx) != Verdict::Allow {
                continue;
            }
        }
        if let Some(v) = row.get(&field.name) {
            out.insert(field.name.clone(), v.clone());
        }
    }
    out
}

/// A user's id as a token's subject: the id fields' values joined by `,`, each
/// percent-encoded, exactly as an id in a REST path (and read back by the same parser).
fn subject(es: &Entities, model: usize, row: &Map<String, Json>) -> String {
    const PART: &percent_encoding::AsciiSet = &percent_encoding::CONTROLS.add(b',').add(b'%');
    let entity = &es.entities[model];
    let ids: Vec<String> = entity
        .id
        .iter()
        .map(|&f| {
            let text = match row.get(&entity.fields[f].name) {
                Some(Json::String(s)) => s.clone(),
                Some(other) => other.to_string(),
                None => String::new(),
            };
            percent_encoding::utf8_percent_encode(&text, PART).to_string()
        })
        .collect();
    ids.join(",")
}

/// An open session: its id, and its refresh token (when refresh tokens are on).
pub struct Opened {
    pub id: String,
    pub refresh: Option<String>,
}

/// Opens a session for the user `row` (with its first refresh token, when they are on).
async fn open_session(app: &Arc<App>, row: &Map<String, Json>) -> Result<Opened, Problem> {
    let (auth, tokens) = enabled(app)?;
    let es = &app.store.entities;
    let sub = subject(es, auth.user.model, row);
    let password = &es.entities[auth.user.model].fields[auth.user.password].name;
    let credential = sessions::credential(row.get(password).and_then(Json::as_str));
    let with_refresh = auth.refresh;
    let lifetime =
        if with_refresh { refresh::LIFETIME_SECONDS } else { i64::try_from(tokens.expiry_seconds).unwrap_or(i64::MAX) };
    let opened = app
        .store
        .write(move |conn, _| {
            let id = sessions::open(conn, &sub, &credential, lifetime)?;
            let refresh = if with_refresh { Some(refresh::issue(conn, &sub, &id)?) } else { None };
            Ok(Opened { id, refresh })
        })
        .await?;
    Ok(opened)
}

/// Tokens for a user's row in session `opened`: `{accessToken, refreshToken?, tokenType,
/// expiresIn, sessionId, user}`.
async fn session(app: &Arc<App>, row: Map<String, Json>, opened: Opened) -> Result<Json, Problem> {
    let (auth, tokens) = enabled(app)?;
    let es = &app.store.entities;
    let user = public_fields(&app.access.policies, es, auth.user.model, &row);
    let sub = subject(es, auth.user.model, &row);
    let access = tokens.issue(&sub, &opened.id, &user).ok_or_else(|| {
        Problem::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", "no signing secret is set (SSOT_JWT_SECRET)")
    })?;
    let mut body = json!({
        "accessToken": access,
        "tokenType": "Bearer",
        "expiresIn": tokens.expiry_seconds,
        "sessionId": opened.id,
        "user": user,
    });
    if let Some(refresh) = opened.refresh {
        body["refreshToken"] = Json::String(refresh);
    }
    Ok(body)
}

/// A new session for the user `row`, as sign-up and login answer it.
async fn new_session(app: &Arc<App>, row: Map<String, Json>) -> Result<Json, Problem> {
    let opened = open_session(app, &row).await?;
    session(app, row, opened).await
}

/// A `429` with `Retry-After`.
fn too_many(wait: u64, detail: &str) -> Response {
    let mut response = Problem::new(StatusCode::TOO_MANY_REQUESTS, "rate_limited", detail).into_response();
    if let Ok(v) = HeaderValue::from_str(&wait.to_string()) {
        response.headers_mut().insert(header::RETRY_AFTER, v);
    }
    response
}

async fn signup(State(app): State<Arc<App>>, ConnectInfo(peer): ConnectInfo<SocketAddr>, body: Body) -> Response {
    respond(signup_inner(app, peer, body).await)
}

async fn signup_inner(app: Arc<App>, peer: SocketAddr, body: Body) -> Result<Response, Problem> {
    let (auth, _) = enabled(&app)?;
    if let Some(wait) = auth.limits.sign_up(peer.ip()) {
        return Ok(too_many(wait, "too many sign-ups from this address; try again later"));
    }
    let mut data = object_body(&app, body).await?;
    let es = Arc::clone(&app.store.entities);
    let entity = &es.entities[auth.user.model];
    let identity = &entity.fields[auth.user.identity].name;
    let password_name = entity.fields[auth.user.password].name.clone();
    let normalized = auth.identity(identity, &string_field(&data, identity)?)?;
    data.insert(identity.clone(), Json::String(normalized));
    let password = string_field(&data, &password_name)?;
    if let Some(key) = data.keys().find(|k| entity.relation(k).is_some()) {
        return Err(Problem::bad_request(key.clone(), "sign-up takes the user's own fields, not relations"));
    }
    let hash =
        auth.passwords.hash(password).await.map_err(|e| Problem::bad_request(password_name.clone(), e.to_string()))?;
    data.insert(password_name, Json::String(hash));
    // Signing up is a create on the one guarded path, by an anonymous caller, through the
    // auth model's own door (see `Door`: its row-level `create` rule does not apply).
    let model = auth.user.model;
    let door = Door { model, fields: vec![auth.user.identity, auth.user.password] };
    let request = Request { model, action: Action::Create, id: None, args: Map::new(), data: Some(Json::Object(data)) };
    let op = Operation::read(&es, request).map_err(Problem::from)?;
    let policies = Arc::clone(&app.access.policies);
    let row = crate::write_and_settle(&app, move |conn, es| {
        let guard = Guard::new(&policies, es, &Caller::Anonymous).through(door);
        let outcome = operation::run(conn, &guard, &op)?;
        // The new user whole, for their session: the answer shows what a visitor may read.
        let key = outcome.key.ok_or_else(|| StoreError::no_record(&es.entities[model].name))?;
        read::get(conn, es, model, &key, &Selection::every_field(&es.entities[model]))
    })
    .await
    .map_err(|e| body_paths(Problem::from(e)))?;
    let Some(Json::Object(row)) = row else {
        return Err(Problem::from(StoreError::no_record(&entity.name)));
    };
    let body = new_session(&app, row).await?;
    Ok((StatusCode::CREATED, axum::Json(body)).into_response())
}

/// Sign-up's body is the new record itself: its errors name fields as `role`, where the
/// operation names them within its data (`data.role`).
fn body_paths(mut problem: Problem) -> Problem {
    for error in &mut problem.errors {
        if let Some(path) = error.path.strip_prefix("data.") {
            error.path = path.to_string();
        } else if error.path == "data" {
            error.path.clear();
        }
    }
    problem
}

async fn login(State(app): State<Arc<App>>, ConnectInfo(peer): ConnectInfo<SocketAddr>, body: Body) -> Response {
    respond(login_inner(app, peer, body).await)
}

async fn login_inner(app: Arc<App>, peer: SocketAddr, body: Body) -> Result<Response, Problem> {
    let (auth, _) = enabled(&app)?;
    let data = object_body(&app, body).await?;
    let es = Arc::clone(&app.store.entities);
    let entity = &es.entities[auth.user.model];
    let identity_name = entity.fields[auth.user.identity].name.clone();
    let identity = auth.identity(&identity_name, &string_field(&data, &identity_name)?)?;
    let password = string_field(&data, &entity.fields[auth.user.password].name)?;
    // Counted by the identity exactly as it is looked up (normalized as at sign-up: the
    // spellings of one address are one account).
    let account = identity.clone();
    if let Some(wait) = auth.limits.attempt(&account, peer.ip()) {
        return Ok(too_many(wait, "too many login attempts; try again later"));
    }
    let (model, field) = (auth.user.model, auth.user.identity);
    let row = app
        .store
        .read_single(move |conn, es| {
            let value = ssot_store::value::encode_one(
                es.entities[model].fields[field].kind,
                &es.stored_enums,
                es.dialect,
                &Json::String(identity),
            )
            .map_err(|m| StoreError::invalid(identity_name, m))?;
            read::get(conn, es, model, &[(field, value)], &Selection::every_field(&es.entities[model]))
        })
        .await?;
    let row = match row {
        Some(Json::Object(row)) => Some(row),
        _ => None,
    };
    let hash = row
        .as_ref()
        .and_then(|r| r.get(&entity.fields[auth.user.password].name))
        .and_then(Json::as_str)
        .map(String::from);
    if !auth.passwords.verify(password, hash).await {
        return Err(unauthorized("the email or the password is wrong"));
    }
    auth.limits.succeeded(&account);
    let row = row.unwrap_or_default();
    Ok((StatusCode::OK, axum::Json(new_session(&app, row).await?)).into_response())
}

/// The user whose id a token's subject or a refresh token names (read as a REST path's
/// id is: the right number of parts, each of its field's type), or `None`.
pub(crate) async fn load_user(app: &Arc<App>, sub: String) -> Result<Option<Map<String, Json>>, Problem> {
    let (auth, _) = enabled(app)?;
    let model = auth.user.model;
    let Ok(key) = crate::execute::parse_id(&app.store.entities, model, &sub) else { return Ok(None) };
    let row = app
        .store
        .read_single(move |conn, es| read::get(conn, es, model, &key, &Selection::every_field(&es.entities[model])))
        .await?;
    Ok(match row {
        Some(Json::Object(row)) => Some(row),
        _ => None,
    })
}

async fn refresh_tokens(State(app): State<Arc<App>>, body: Body) -> Response {
    respond(refresh_inner(app, body).await)
}

async fn refresh_inner(app: Arc<App>, body: Body) -> Result<Response, Problem> {
    enabled(&app)?;
    let data = object_body(&app, body).await?;
    let token = string_field(&data, "refreshToken")?;
    // Using the token, checking its session and issuing its successor is one transaction:
    // a replay of the old token either comes first (and this use fails) or finds its
    // family already moved on. The family is the session: it must still be live, and
    // opened with the password the user has now.
    let (auth, _) = enabled(&app)?;
    let (model, current) = (auth.user.model, Arc::clone(&auth.current));
    let app_for_job = Arc::clone(&app);
    let rotated = app
        .store
        .write(move |conn, es| {
            // Before any row: the order `sessions::end` keeps too (see there).
            ssot_store::changelog::capture_start(conn)?;
            match refresh::use_token(conn, &token)? {
                refresh::Used::Fresh { user, family } => {
                    let key = crate::execute::parse_id(es, model, &user).ok();
                    let row = match key {
                        Some(key) => read::get(conn, es, model, &key, &Selection::every_field(&es.entities[model]))?,
                        None => None,
                    };
                    let Some(Json::Object(row)) = row else {
                        return Ok(Err("the refresh token's user no longer exists"));
                    };
                    let credential = current.user(&app_for_job, &row).credential;
                    let now = i64::try_from(tokens::now_seconds()).unwrap_or(i64::MAX);
                    let live = sessions::get(conn, &family)?
                        .is_some_and(|s| s.is_live(now) && s.user == user && s.credential == credential);
                    if !live {
                        sessions::end(conn, &family)?;
                        return Ok(Err("the session has ended (logged out, or the password changed): sign in again"));
                    }
                    let next = refresh::issue(conn, &user, &family)?;
                    Ok(Ok((row, family, next)))
                }
                refresh::Used::Refused => Ok(Err("the refresh token is not valid (unknown, expired, used or revoked)")),
            }
        })
        .await?;
    let (row, family, next) = rotated.map_err(unauthorized)?;
    let opened = Opened { id: family, refresh: Some(next) };
    Ok((StatusCode::OK, axum::Json(session(&app, row, opened).await?)).into_response())
}

async fn logout(State(app): State<Arc<App>>, headers: HeaderMap, body: Body) -> Response {
    respond(logout_inner(app, headers, body).await)
}

/// Ends the session the access token (`Authorization`) names, and the one the refresh
/// token in the body (`{"refreshToken"}`) belongs to: either or both.
async fn logout_inner(app: Arc<App>, headers: HeaderMap, body: Body) -> Result<Response, Problem> {
    enabled(&app)?;
    let data = match json_body(body, app.max_body_bytes).await? {
        None => Map::new(),
        Some(Json::Object(o)) => o,
        Some(_) => return Err(Problem::bad_request("", "the body must be a JSON object")),
    };
    let refresh = match data.get("refreshToken") {
        None => None,
        Some(Json::String(t)) => Some(t.clone()),
        Some(_) => return Err(Problem::bad_request("refreshToken", "expected a string")),
    };
    let session = match headers.contains_key(header::AUTHORIZATION) {
        true => match crate::caller(&app, &headers).await? {
            Caller::User(claims) => claims.get("sid").and_then(Json::as_str).map(String::from),
            _ => None,
        },
        false => None,
    };
    if refresh.is_none() && session.is_none() {
        return Err(Problem::bad_request(
            "refreshToken",
            "name the session to end: a user's access token in `Authorization`, or `{\"refreshToken\"}`",
        ));
    }
    crate::write_and_settle(&app, move |conn, _| {
        if let Some(token) = refresh {
            if let Some(family) = refresh::family(conn, &token)? {
                sessions::end(conn, &family)?;
            }
        }
        if let Some(id) = session {
            sessions::end(conn, &id)?;
        }
        Ok(())
    })
    .await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

async fn me(State(app): State<Arc<App>>, headers: HeaderMap) -> Response {
    respond(me_inner(app, headers).await)
}

async fn me_inner(app: Arc<App>, headers: HeaderMap) -> Result<Response, Problem> {
    let (auth, _) = enabled(&app)?;
    let caller = crate::caller(&app, &headers).await?;
    let Caller::User(claims) = &caller else {
        return Err(unauthorized("sign in: `/api/auth/me` needs a user's access token"));
    };
    let sub = match claims.get("sub") {
        Some(Json::String(s)) => s.clone(),
        _ => return Err(unauthorized("the token names no user")),
    };
    let row = load_user(&app, sub).await?.ok_or_else(|| Problem::not_found("the token's user no longer exists"))?;
    // The caller's own row, with the fields they may read on it.
    let user = readable_fields(&app.access.policies, &app.store.entities, auth.user.model, &row, caller.auth());
    Ok((StatusCode::OK, axum::Json(Json::Object(user))).into_response())
}
