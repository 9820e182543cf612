//! `@@service` actions: `POST /api/actions/{name}` and the socket's `$action` request take
//! this one path: the action's rule decided for the caller (fail-closed: 401 anonymous, 403
//! otherwise; the admin key may call any), the body forwarded by `ssot-services` with the
//! caller's identity signed, and the service's answer mapped to ours (its JSON and status;
//! its 4xx problem passed through; its failure 502 `action_failed`; its silence 504
//! `action_timeout`).

use crate::problem::Problem;
use crate::App;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::Value as Json;
use ssot_access::Caller;
use std::sync::Arc;

/// What an action answered.
pub enum Reply {
    /// The service's 2xx, with its JSON (`null` for an empty body).
    Ok(u16, Json),
    /// The service's own problem+json for a 4xx, passed through.
    Passed(u16, Json),
    Problem(Problem),
}

pub(crate) fn routes() -> axum::Router<Arc<App>> {
    axum::Router::new().route("/api/actions/{name}", axum::routing::post(handle))
}

async fn handle(State(app): State<Arc<App>>, headers: HeaderMap, Path(name): Path<String>, body: Body) -> Response {
    let caller = match crate::execute::caller(&app, &headers).await {
        Ok(caller) => caller,
        Err(problem) => return problem.into_response(),
    };
    // The rule first: a caller with no access learns nothing from validation errors.
    if let Err(problem) = authorize(&app, &caller, &name) {
        return problem.into_response();
    }
    let body = match crate::http::json_body(body, app.max_body_bytes).await {
        Ok(body) => body,
        Err(problem) => return problem.into_response(),
    };
    match call(&app, &caller, &name, body).await {
        Reply::Ok(204, _) => StatusCode::NO_CONTENT.into_response(),
        Reply::Ok(status, json) => (status_code(status), axum::Json(json)).into_response(),
        Reply::Passed(status, json) => {
            (status_code(status), [(header::CONTENT_TYPE, "application/problem+json")], json.to_string())
                .into_response()
        }
        Reply::Problem(problem) => problem.into_response(),
    }
}

fn status_code(status: u16) -> StatusCode {
    StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_GATEWAY)
}

/// The action's rule for `caller`: 404 for no such action, 401 or 403 when it does not hold.
pub fn authorize(app: &App, caller: &Caller, name: &str) -> Result<(), Problem> {
    let Some(action) = app.access.policies.action(name) else {
        return Err(Problem::not_found(format!("no action `{name}`")));
    };
    let allowed =
        matches!(caller, Caller::Admin) || ssot_policy::eval::decided(&action.rule, caller.auth()) == Some(true);
    match (allowed, caller) {
        (true, _) => Ok(()),
        (false, Caller::Anonymous) => Err(Problem::new(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            format!("the action `{name}` needs credentials"),
        )),
        (false, _) => {
            Err(Problem::new(StatusCode::FORBIDDEN, "forbidden", format!("the action `{name}` is not open to you")))
        }
    }
}

/// Calls an action the caller was authorized for ([`authorize`]).
pub async fn call(app: &App, caller: &Caller, name: &str, body: Option<Json>) -> Reply {
    let (Some(action), Some(services)) = (app.access.policies.action(name), &app.services) else {
        return Reply::Problem(Problem::not_found(format!("no action `{name}`")));
    };
    let identity = ssot_services::actions::identity(caller.auth(), matches!(caller, Caller::Admin));
    let body = body.unwrap_or_else(|| Json::Object(Default::default())).to_string();
    let answer = match services.call_action(&action.service, name, &identity, body.into()).await {
        Ok(answer) => answer,
        Err(ssot_services::actions::ActionError::Timeout(ms)) => {
            return Reply::Problem(Problem::new(
                StatusCode::GATEWAY_TIMEOUT,
                "action_timeout",
                format!("the service did not answer within {ms} ms"),
            ))
        }
        Err(e) => {
            tracing::warn!(request_id = %crate::http::request_id(), action = name, error = %e, "action failed");
            return Reply::Problem(failed("the service could not be reached"));
        }
    };
    let json = || -> Option<Json> {
        if answer.body.iter().all(u8::is_ascii_whitespace) {
            return Some(Json::Null);
        }
        serde_json::from_slice(&answer.body).ok()
    };
    match answer.status {
        200..=299 => match json() {
            Some(json) => Reply::Ok(answer.status, json),
            None => Reply::Problem(failed("the service's answer is not JSON")),
        },
        400..=499 => {
            let problem = answer.content_type.as_deref().is_some_and(|t| t.starts_with("application/problem+json"));
            match json() {
                Some(json @ Json::Object(_)) if problem => Reply::Passed(answer.status, json),
                _ => Reply::Problem(Problem::new(
                    status_code(answer.status),
                    "action_refused",
                    format!("the service refused the action ({})", answer.status),
                )),
            }
        }
        status => Reply::Problem(failed(&format!("the service failed (it answered {status})"))),
    }
}

fn failed(detail: &str) -> Problem {
    Problem::new(StatusCode::BAD_GATEWAY, "action_failed", detail.to_string())
}
