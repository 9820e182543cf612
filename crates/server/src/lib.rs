//! `ssot-server`: the HTTP face of a store.
//!
//! Requests enter through [`router`]: the REST routes of DESIGN.md under `/api`, plus
//! `/healthz`, `/metrics`, the `$batch` endpoint and the index at `/` and `/api`
//! ([`index`]); browsers' cross-origin preflights are answered by [`cors`] before
//! routing. Each REST request becomes one [`operation::Operation`], is authorized
//! ([`access`]), and runs on a database worker in one transaction. Errors leave as `problem+json` ([`problem`]). Every response
//! carries a request id, which every log line of the request carries too.

pub mod access;
pub mod auth;
mod batch;
pub mod cors;
mod index;
pub mod metrics;
pub mod openapi;
pub mod operation;
pub mod problem;

use access::Access;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode, Uri};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get, post};
use axum::Router;
use problem::Problem;
use serde_json::{json, Value as Json};
use ssot_store::Store;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Instant;

/// The largest request body accepted (1 MiB): larger ones are answered 413.
pub const MAX_BODY_BYTES: usize = 1 << 20;

pub struct App {
    pub store: Arc<Store>,
    pub access: Access,
    /// Users, when a model has `@@auth`.
    pub auth: Option<auth::Auth>,
    pub metrics: metrics::Metrics,
    pub max_body_bytes: usize,
    /// How long a shutdown waits for requests in flight before it stops them.
    pub shutdown_grace: std::time::Duration,
    /// The OpenAPI document, rendered once.
    openapi: String,
    /// The index at `/` and `/api`, rendered once.
    index: String,
    pub cors: cors::Cors,
}

/// How long a shutdown waits for the requests in flight when not told otherwise: longer
/// than a request's default time budget, so every one of them can end by itself.
pub const DEFAULT_SHUTDOWN_GRACE: std::time::Duration = std::time::Duration::from_secs(10);

/// How a server authenticates callers.
#[derive(Debug, Clone, Default)]
pub struct Settings {
    pub admin_key: Option<String>,
    pub tokens: auth::TokenSettings,
    pub limits: auth::limits::LimitSettings,
    /// See [`App::shutdown_grace`]; `None`: [`DEFAULT_SHUTDOWN_GRACE`].
    pub shutdown_grace: Option<std::time::Duration>,
    /// The origins browsers may call the API from (`*` for any); none by default.
    pub cors_origins: Vec<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error(transparent)]
    Policies(#[from] ssot_access::CompileError),
    #[error("`@@auth` on `{0}` needs a signing secret: set SSOT_JWT_SECRET (or --jwt-secret)")]
    NoSecret(String),
    #[error(transparent)]
    Cors(#[from] cors::CorsError),
}

impl App {
    pub fn new(store: Arc<Store>, schema: &ssot_schema::ir::Schema, settings: Settings) -> Result<App, AppError> {
        let policies = ssot_access::Policies::compile(schema, &store.entities)?;
        let auth_annotation =
            schema.auth_model().and_then(|m| m.annotations.auth.clone().map(|a| (m.name.to_string(), a)));
        let auth = match &auth_annotation {
            Some((_, a)) => auth::Auth::new(&policies, &store.entities, a.refresh, settings.limits),
            None => None,
        };
        if let (Some((name, _)), None) = (&auth_annotation, &settings.tokens.secret) {
            return Err(AppError::NoSecret(name.clone()));
        }
        let expiry = auth_annotation.as_ref().map_or(15 * 60, |(_, a)| a.expiry_seconds);
        let tokens = (settings.tokens.secret.is_some() || settings.tokens.jwks.is_some())
            .then(|| auth::Tokens::new(settings.tokens.clone(), expiry));
        let openapi = openapi::document(&store.entities, &policies).to_string();
        let index = index::document(&store.entities, auth.is_some()).to_string();
        let cors = cors::Cors::new(&settings.cors_origins)?;
        Ok(App {
            store,
            access: Access::new(settings.admin_key, policies, tokens),
            auth,
            metrics: metrics::Metrics::default(),
            max_body_bytes: MAX_BODY_BYTES,
            shutdown_grace: settings.shutdown_grace.unwrap_or(DEFAULT_SHUTDOWN_GRACE),
            openapi,
            index,
            cors,
        })
    }
}

/// The route a response answered, for metrics (ids collapse to `{id}`).
#[derive(Clone)]
struct RouteLabel(String);

pub fn router(app: Arc<App>) -> Router {
    Router::new()
        .route("/", get(index_json))
        .route("/api", get(index_json))
        .route("/healthz", get(healthz))
        .route("/metrics", get(metrics_text))
        .route("/api/$batch", post(batch::handle))
        .route("/api/openapi.json", get(openapi_json))
        .merge(auth::routes())
        .route("/api/{*path}", any(resource))
        .fallback(|| async { Problem::not_found("no such route; the API is under /api") })
        .method_not_allowed_fallback(|method: Method| async move {
            Problem::new(StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed", format!("{method} is not allowed here"))
        })
        .layer(axum::middleware::from_fn_with_state(Arc::clone(&app), cors::layer))
        .layer(axum::middleware::from_fn_with_state(Arc::clone(&app), observe))
        .with_state(app)
}

static REQUEST_IDS: AtomicU64 = AtomicU64::new(1);

tokio::task_local! {
    static REQUEST_ID: String;
}

/// The id of the request being handled on this task, for log lines.
pub fn request_id() -> String {
    REQUEST_ID.try_with(Clone::clone).unwrap_or_default()
}

/// Gives each request an id (or keeps a sane `x-request-id` from the client), logs it
/// with its outcome, and counts it in the metrics.
async fn observe(State(app): State<Arc<App>>, mut request: Request, next: Next) -> Response {
    let started = Instant::now();
    let incoming = request
        .headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .filter(|v| {
            !v.is_empty() && v.len() <= 64 && v.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        })
        .map(String::from);
    let id = incoming.unwrap_or_else(|| format!("r{:x}", REQUEST_IDS.fetch_add(1, Ordering::Relaxed)));
    if let Ok(value) = HeaderValue::from_str(&id) {
        request.headers_mut().insert("x-request-id", value);
    }
    let method = request.method().clone();
    let path = request.uri().path().to_string();
    // Lines logged while handling the request carry its id, read from a task-local (a
    // tracing span per request costs a fifth of the throughput).
    let mut response = REQUEST_ID.scope(id.clone(), next.run(request)).await;
    let elapsed = started.elapsed();
    let route = response.extensions().get::<RouteLabel>().map_or_else(|| fixed_route(&path), |r| r.0.clone());
    let status = response.status().as_u16();
    app.metrics.record(method.as_str(), &route, status, elapsed);
    tracing::info!(request_id = %id, %method, route = %route, status, elapsed_us = elapsed.as_micros() as u64, "request");
    if let Ok(value) = HeaderValue::from_str(&id) {
        response.headers_mut().insert("x-request-id", value);
    }
    response
}

fn fixed_route(path: &str) -> String {
    match path {
        "/" | "/api" | "/healthz" | "/metrics" | "/api/$batch" | "/api/openapi.json" => path.to_string(),
        "/api/auth/signup" | "/api/auth/login" | "/api/auth/refresh" | "/api/auth/logout" | "/api/auth/me" => {
            path.to_string()
        }
        _ => "other".to_string(),
    }
}

async fn healthz(State(app): State<Arc<App>>) -> Response {
    // Outside the slow lane: health answers however many slow queries run.
    match app.store.read_single(|conn, _| Ok(conn.query("SELECT 1", &[])?)).await {
        Ok(_) => (StatusCode::OK, axum::Json(json!({"status": "ok"}))).into_response(),
        Err(e) => {
            tracing::error!(request_id = %request_id(), error = %e, "health check failed");
            Problem::new(StatusCode::SERVICE_UNAVAILABLE, "unavailable", "the database does not answer").into_response()
        }
    }
}

async fn index_json(State(app): State<Arc<App>>) -> Response {
    ([(header::CONTENT_TYPE, "application/json")], app.index.clone()).into_response()
}

async fn openapi_json(State(app): State<Arc<App>>) -> Response {
    ([(header::CONTENT_TYPE, "application/json")], app.openapi.clone()).into_response()
}

async fn metrics_text(State(app): State<Arc<App>>) -> Response {
    let text = app.metrics.render(&app.store.pool_stats());
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], text).into_response()
}

/// Reads a JSON body: absent when empty; 413 past the limit; 400 naming where the JSON breaks.
pub async fn json_body(body: Body, limit: usize) -> Result<Option<Json>, Problem> {
    let bytes = axum::body::to_bytes(body, limit).await.map_err(|_| {
        Problem::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
            format!("the body is larger than {limit} bytes"),
        )
    })?;
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(None);
    }
    serde_json::from_slice(&bytes).map(Some).map_err(|e| {
        Problem::new(
            StatusCode::BAD_REQUEST,
            "invalid_json",
            format!("the body is not valid JSON: {e} (line {}, column {})", e.line(), e.column()),
        )
    })
}

async fn resource(State(app): State<Arc<App>>, method: Method, uri: Uri, headers: HeaderMap, body: Body) -> Response {
    let path = uri.path().strip_prefix("/api/").unwrap_or("");
    let (resource, rest) = match path.split_once('/') {
        Some((resource, rest)) if !rest.contains('/') && !rest.is_empty() => (resource, Some(rest)),
        Some(_) => return Problem::not_found("no such route").into_response(),
        None => (path, None),
    };
    let route = match rest {
        None => format!("/api/{resource}"),
        Some(r @ ("query" | "count" | "bulk")) => format!("/api/{resource}/{r}"),
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
    let es = &app.store.entities;
    let model = es
        .by_resource(resource)
        .ok_or_else(|| Problem::not_found(format!("no resource `{resource}`; see /api/openapi.json for the routes")))?;
    operation::check_method(method, rest)?;
    let caller = caller(app, headers).await?;
    // Refuse what no rule opens before reading the input: a caller with no access
    // learns nothing from validation errors.
    let known = app.access.authorize(&caller, es, model, operation::policy_op(method, rest))?;
    let query = operation::query_values(query)?;
    let body = json_body(body, app.max_body_bytes).await?;
    let mut op = operation::parse(es, method, resource, rest, query, body)?;
    if let Some(auth) = &app.auth {
        let mut budget = auth::MAX_PASSWORDS_PER_REQUEST;
        auth::prepare_user_fields(auth, es, &caller, &mut op, &mut budget).await?;
    }
    let store = &app.store;
    let (writes, single) = (op.writes(), op.single_statement());
    let policies = Arc::clone(&app.access.policies);
    let run = move |conn: &mut dyn ssot_store::conn::Conn, es: &ssot_store::entity::Entities| {
        operation::run(conn, &ssot_access::Guard::new(&policies, es, &caller).with_known_rows(known), &op)
    };
    let result = if writes {
        write_and_settle(app, run).await
    } else if single {
        store.read_single(run).await
    } else {
        store.read(run).await
    };
    let (status, body) = result.map_err(Problem::from)?;
    Ok((status, axum::Json(body)).into_response())
}

/// The caller of a request: the `Authorization` header verified ([`Access::caller`]),
/// and, for a token of ssot's own, its session checked and `auth` made the user's
/// current row ([`auth::current`]).
pub async fn caller(app: &App, headers: &HeaderMap) -> Result<ssot_access::Caller, Problem> {
    let caller = app.access.caller(headers)?;
    match (&caller, &app.auth) {
        (ssot_access::Caller::User(claims), Some(auth))
            if claims.get("iss").and_then(Json::as_str) == Some(auth::tokens::ISSUER) =>
        {
            Ok(ssot_access::Caller::User(auth.current.resolve(app, claims).await?))
        }
        _ => Ok(caller),
    }
}

/// Runs a write job, then, when the server has users, waits until the cache of users and
/// sessions has read the log past it: a change to a user (a role, a deletion) holds for
/// the very next request.
pub async fn write_and_settle<T: Send + 'static>(
    app: &App,
    f: impl FnOnce(&mut dyn ssot_store::conn::Conn, &ssot_store::entity::Entities) -> Result<T, ssot_store::StoreError>
        + Send
        + 'static,
) -> Result<T, ssot_store::StoreError> {
    let Some(auth) = &app.auth else { return app.store.write(f).await };
    let (value, seq) = app
        .store
        .write(move |conn, es| {
            let value = f(conn, es)?;
            Ok((value, ssot_store::query::read::current_seq(conn)?))
        })
        .await?;
    auth.current.wait_for(&app.store, seq).await;
    Ok(value)
}

/// Serves `app` on `listener` until `shutdown` resolves, then finishes the requests in
/// flight and stops the database workers after their queued jobs. Whatever still runs
/// when [`App::shutdown_grace`] is over is stopped (its database work interrupted, its
/// client answered 503 where it still can), so a shutdown always ends.
pub async fn serve(
    listener: tokio::net::TcpListener,
    app: Arc<App>,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let store = Arc::clone(&app.store);
    let grace = app.shutdown_grace;
    let mut follower = None;
    if let Some(auth) = &app.auth {
        store
            .write(|conn, _| {
                auth::refresh::create_table(conn)?;
                auth::sessions::create_table(conn)
            })
            .await
            .map_err(std::io::Error::other)?;
        store.listen_for_changes()?;
        follower = Some(tokio::spawn(Arc::clone(&auth.current).follow(Arc::clone(&store))));
    }
    let (stopping, stopped) = tokio::sync::oneshot::channel::<()>();
    let signal = async move {
        shutdown.await;
        let _ = stopping.send(());
    };
    let service = router(app).into_make_service_with_connect_info::<std::net::SocketAddr>();
    let server = std::future::IntoFuture::into_future(axum::serve(listener, service).with_graceful_shutdown(signal));
    tokio::pin!(server);
    let overdue = async move {
        if stopped.await.is_err() {
            std::future::pending::<()>().await;
        }
        tokio::time::sleep(grace).await;
    };
    tokio::select! {
        result = &mut server => result?,
        () = overdue => {
            tracing::warn!(grace_ms = grace.as_millis() as u64, "shutdown: the grace period is over; stopping the requests still running");
            store.halt();
            // The stopped requests answer 503 as their work ends; connections that still
            // do not close are dropped with the server.
            let _ = tokio::time::timeout(std::time::Duration::from_secs(1), &mut server).await;
        }
    }
    if let Some(follower) = follower {
        follower.abort();
    }
    let drained = tokio::task::spawn_blocking(move || store.shutdown());
    if tokio::time::timeout(grace, drained).await.is_err() {
        tracing::warn!("shutdown: a database worker did not stop in time; leaving it");
    }
    Ok(())
}
