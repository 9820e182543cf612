//! HTTP plumbing: the router, the `observe` middleware (request ids, access logs,
//! metrics), the JSON body reader, and the small fixed routes (health, metrics, the
//! index and the OpenAPI document).

use crate::problem::Problem;
use crate::App;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{header, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get, post};
use axum::Router;
use serde_json::{json, Value as Json};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Instant;

/// The route a response answered, for metrics (ids collapse to `{id}`).
#[derive(Clone)]
pub(crate) struct RouteLabel(pub(crate) String);

pub fn router(app: Arc<App>) -> Router {
    // Only with actions: `/api/actions/...` would otherwise shadow a model served as `actions`.
    let actions = if app.access.policies.actions.is_empty() { Router::new() } else { crate::actions::routes() };
    Router::new()
        .route("/", get(index_json))
        .route("/api", get(index_json))
        .route("/healthz", get(healthz))
        .route("/metrics", get(metrics_text))
        .route("/api/$batch", post(crate::batch::handle))
        .route("/api/openapi.json", get(openapi_json))
        .route("/api/ws", get(crate::ws::upgrade))
        .merge(crate::auth::routes())
        .merge(crate::services::routes())
        .merge(crate::studio::routes())
        .merge(actions)
        .route("/api/{*path}", any(crate::rest::resource))
        .fallback(|| async { Problem::not_found("no such route; the API is under /api") })
        .method_not_allowed_fallback(|method: Method| async move {
            Problem::new(StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed", format!("{method} is not allowed here"))
        })
        .layer(axum::middleware::from_fn_with_state(Arc::clone(&app), crate::cors::layer))
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
        "/" | "/api" | "/healthz" | "/metrics" | "/api/$batch" | "/api/openapi.json" | "/api/ws" | "/api/_services" => {
            path.to_string()
        }
        _ if path.starts_with("/api/_services/") => "/api/_services/{name}/dead".to_string(),
        _ if path.starts_with("/api/actions/") => "/api/actions/{name}".to_string(),
        "/api/auth/signup" | "/api/auth/login" | "/api/auth/refresh" | "/api/auth/logout" | "/api/auth/me" => {
            path.to_string()
        }
        "/_"
        | "/_/"
        | "/_/studio.js"
        | "/_/studio.css"
        | "/api/_studio/access"
        | "/api/_studio/changes"
        | "/api/_studio/clients" => path.to_string(),
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
    let mut text = app.metrics.render(&app.store.pool_stats(), &app.hub.stats());
    if let Some(services) = &app.services {
        services.render_metrics(&mut text);
    }
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
