//! Errors as `application/problem+json` (RFC 9457): `type`, `title`, `status`, `detail`,
//! a stable `code`, and `errors: [{path, message}]` naming each bad input.

use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::json;
use ssot_store::{FieldError, StoreError};

#[derive(Debug)]
pub struct Problem {
    pub status: StatusCode,
    pub code: &'static str,
    pub detail: String,
    pub errors: Vec<FieldError>,
    /// For 405: the methods the route takes (the `Allow` header).
    pub allow: Option<&'static str>,
}

impl Problem {
    pub fn new(status: StatusCode, code: &'static str, detail: impl Into<String>) -> Problem {
        Problem { status, code, detail: detail.into(), errors: Vec::new(), allow: None }
    }

    pub fn bad_request(path: impl Into<String>, message: impl Into<String>) -> Problem {
        let error = FieldError::new(path, message);
        let detail = error.to_string();
        Problem { status: StatusCode::BAD_REQUEST, code: "invalid_request", detail, errors: vec![error], allow: None }
    }

    /// 405, naming the methods the route takes.
    pub fn method_not_allowed(method: &str, allow: &'static str) -> Problem {
        Problem {
            allow: Some(allow),
            ..Problem::new(
                StatusCode::METHOD_NOT_ALLOWED,
                "method_not_allowed",
                format!("{method} is not allowed here; use {allow}"),
            )
        }
    }

    pub fn not_found(detail: impl Into<String>) -> Problem {
        Problem::new(StatusCode::NOT_FOUND, "not_found", detail)
    }

    /// Paths of every error, prefixed (for `$batch`: `operations[2].data.title`).
    pub fn prefixed(mut self, prefix: &str) -> Problem {
        for e in &mut self.errors {
            e.path = if e.path.is_empty() { prefix.to_string() } else { format!("{prefix}.{}", e.path) };
        }
        self.detail = format!("{prefix}: {}", self.detail);
        self
    }

    pub fn body(&self) -> serde_json::Value {
        json!({
            "type": format!("urn:ssot:problem:{}", self.code),
            "title": self.status.canonical_reason().unwrap_or("Error"),
            "status": self.status.as_u16(),
            "detail": self.detail,
            "code": self.code,
            "errors": self.errors,
        })
    }
}

impl From<StoreError> for Problem {
    fn from(e: StoreError) -> Problem {
        match e {
            StoreError::Invalid(errors) => {
                let detail = ssot_store::error::summary(&errors);
                Problem { status: StatusCode::BAD_REQUEST, code: "invalid_request", detail, errors, allow: None }
            }
            StoreError::InvalidSearch(error) => Problem {
                status: StatusCode::BAD_REQUEST,
                code: "invalid_search",
                detail: error.to_string(),
                errors: vec![error],
                allow: None,
            },
            StoreError::NotFound(detail) => Problem::not_found(detail),
            StoreError::Forbidden(error) => Problem {
                status: StatusCode::FORBIDDEN,
                code: "forbidden",
                detail: error.to_string(),
                errors: if error.path.is_empty() { Vec::new() } else { vec![error] },
                allow: None,
            },
            StoreError::Conflict { message, fields } => Problem {
                allow: None,
                status: StatusCode::CONFLICT,
                code: "conflict",
                errors: fields
                    .iter()
                    .map(|f| FieldError::new(f.clone(), "conflicts with an existing record"))
                    .collect(),
                detail: message,
            },
            StoreError::Closed(ssot_store::conn::PoolClosed::Stopped) => {
                Problem::new(StatusCode::SERVICE_UNAVAILABLE, "unavailable", "the server is shutting down")
            }
            StoreError::Closed(ssot_store::conn::PoolClosed::CommitFailed) => {
                tracing::error!(request_id = %crate::request_id(), "a group commit failed; its writes were not kept");
                Problem::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "unavailable",
                    "the write could not be committed; nothing was written, try again",
                )
            }
            StoreError::Closed(ssot_store::conn::PoolClosed::Panicked) => {
                tracing::error!(request_id = %crate::request_id(), "a database job panicked; its transaction was rolled back");
                Problem::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "internal",
                    "the request failed unexpectedly; the error is logged",
                )
            }
            StoreError::TooComplex { code, message } => Problem::new(StatusCode::UNPROCESSABLE_ENTITY, code, message),
            StoreError::Database(ssot_store::conn::DbError::Timeout) => {
                tracing::warn!(request_id = %crate::request_id(), "a request ran out of its time budget");
                Problem::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "query_timeout",
                    "the query took longer than the server allows (its time budget) and was stopped; \
                     narrow it (fewer relation filters, a smaller `take`) or try again later",
                )
            }
            StoreError::Database(ssot_store::conn::DbError::Cancelled) => Problem::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "cancelled",
                "the query was stopped: the server is shutting down or the request was abandoned",
            ),
            StoreError::Refused { conflict, message, cause } => {
                // The database's words can name tables and SQL: logged, not shown.
                tracing::warn!(request_id = %crate::request_id(), %cause, "the database refused a write");
                if conflict {
                    Problem::new(StatusCode::CONFLICT, "conflict", message)
                } else {
                    Problem::bad_request("", message)
                }
            }
            StoreError::Database(error) => {
                // The database's own message can name tables and SQL: logged, not shown.
                tracing::error!(request_id = %crate::request_id(), %error, "database error");
                Problem::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "internal",
                    "the database failed to answer; the error is logged",
                )
            }
        }
    }
}

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        let mut response = (self.status, axum::Json(self.body())).into_response();
        response
            .headers_mut()
            .insert(header::CONTENT_TYPE, header::HeaderValue::from_static("application/problem+json"));
        if let Some(allow) = self.allow {
            response.headers_mut().insert(header::ALLOW, header::HeaderValue::from_static(allow));
        }
        // RFC 9110: a 401 names the scheme that would admit the caller.
        if self.status == StatusCode::UNAUTHORIZED {
            response.headers_mut().insert(header::WWW_AUTHENTICATE, header::HeaderValue::from_static("Bearer"));
        }
        response
    }
}
