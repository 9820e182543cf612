//! The services' admin endpoints (admin key only): `GET /api/_services` (each service's
//! cursor, lag and counters), `GET`/`DELETE /api/_services/{name}/dead` (list, drop all),
//! `DELETE /api/_services/{name}/dead/{id}`, `POST .../dead/replay` and
//! `.../dead/{id}/replay`, and `POST /api/_services/{name}/enable` (after a 410 disabled it).
//! Delivery itself is `ssot-services`'.

use crate::problem::Problem;
use crate::App;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use axum::Router;
use serde_json::{json, Value as Json};
use std::sync::Arc;

pub(crate) fn routes() -> Router<Arc<App>> {
    Router::new()
        .route("/api/_services", get(list))
        .route("/api/_services/{name}/dead", get(dead).delete(drop_all))
        .route("/api/_services/{name}/dead/replay", post(replay_all))
        .route("/api/_services/{name}/dead/{id}", delete(drop_one))
        .route("/api/_services/{name}/dead/{id}/replay", post(replay_one))
        .route("/api/_services/{name}/enable", post(enable))
}

/// The admin key (dead letters hold rows as they were sent), else 401 (anonymous) or 403;
/// and the services, else 404.
async fn admin(app: &App, headers: &HeaderMap) -> Result<Arc<ssot_services::Services>, Problem> {
    crate::execute::require_admin(app, headers, "the services' endpoints").await?;
    app.services.clone().ok_or_else(|| Problem::not_found("the schema has no @@service"))
}

fn failed(e: ssot_services::ServiceError) -> Problem {
    match e {
        ssot_services::ServiceError::Unknown(name) => Problem::not_found(format!("no service `{name}`")),
        other => {
            tracing::error!(request_id = %crate::http::request_id(), error = %other, "services: admin request failed");
            Problem::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", "the services' state could not be read")
        }
    }
}

fn ok(value: Json) -> Response {
    (StatusCode::OK, axum::Json(value)).into_response()
}

async fn list(State(app): State<Arc<App>>, headers: HeaderMap) -> Result<Response, Problem> {
    let services = admin(&app, &headers).await?;
    let status = services.status().await.map_err(failed)?;
    Ok(ok(json!({ "data": status.iter().map(|s| s.to_json()).collect::<Vec<_>>() })))
}

async fn dead(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    Path(name): Path<String>,
    Query(query): Query<std::collections::HashMap<String, String>>,
) -> Result<Response, Problem> {
    let services = admin(&app, &headers).await?;
    let take = match query.get("take") {
        Some(text) => text
            .parse::<i64>()
            .map_err(|_| Problem::new(StatusCode::BAD_REQUEST, "invalid_take", "`take` is a number from 1 to 1000"))?,
        None => 100,
    }
    .clamp(1, 1000);
    let letters = services.dead_letters(&name, take).await.map_err(failed)?;
    Ok(ok(json!({ "data": letters.iter().map(|d| d.to_json()).collect::<Vec<_>>() })))
}

fn replayed(r: ssot_services::Replayed) -> Response {
    ok(json!({ "delivered": r.delivered, "failed": r.failed }))
}

async fn replay_all(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    Path(name): Path<String>,
) -> Result<Response, Problem> {
    let services = admin(&app, &headers).await?;
    let result = services.replay(&name, None).await.map_err(failed)?;
    Ok(replayed(result.unwrap_or_default()))
}

async fn replay_one(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    Path((name, id)): Path<(String, String)>,
) -> Result<Response, Problem> {
    let services = admin(&app, &headers).await?;
    let id = dead_id(&id)?;
    match services.replay(&name, Some(id)).await.map_err(failed)? {
        Some(result) => Ok(replayed(result)),
        None => Err(Problem::not_found(format!("no dead letter {id} for `{name}`"))),
    }
}

async fn drop_all(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    Path(name): Path<String>,
) -> Result<Response, Problem> {
    let services = admin(&app, &headers).await?;
    let dropped = services.drop_dead(&name, None).await.map_err(failed)?;
    Ok(ok(json!({ "dropped": dropped })))
}

async fn drop_one(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    Path((name, id)): Path<(String, String)>,
) -> Result<Response, Problem> {
    let services = admin(&app, &headers).await?;
    let id = dead_id(&id)?;
    match services.drop_dead(&name, Some(id)).await.map_err(failed)? {
        0 => Err(Problem::not_found(format!("no dead letter {id} for `{name}`"))),
        dropped => Ok(ok(json!({ "dropped": dropped }))),
    }
}

async fn enable(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    Path(name): Path<String>,
) -> Result<Response, Problem> {
    let services = admin(&app, &headers).await?;
    let enabled = services.enable(&name).await.map_err(failed)?;
    Ok(ok(json!({ "enabled": enabled })))
}

fn dead_id(text: &str) -> Result<i64, Problem> {
    text.parse().map_err(|_| Problem::new(StatusCode::BAD_REQUEST, "invalid_id", "a dead letter's id is a number"))
}
