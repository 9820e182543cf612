//! Cross-origin requests from browsers (CORS): which page origins may call the API, the
//! preflight answered before any route, token or policy is looked at, and the headers a
//! script may read on every answer.
//!
//! Origins are listed exactly (`https://app.example.com`), or `*` for any origin, in which
//! case no credentials are allowed (the Fetch standard forbids both at once). An origin
//! not on the list gets no CORS header at all, so the browser withholds the answer from
//! its script; the request itself is handled as any other (CORS protects readers, not the
//! server: access is the policies' job).

use crate::problem::Problem;
use crate::App;
use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use std::sync::Arc;

/// The methods of the API's routes.
const ALLOW_METHODS: &str = "GET, POST, PUT, PATCH, DELETE";
/// The request headers a client sends beyond the CORS-safelisted ones.
const ALLOW_HEADERS: &str = "Authorization, Content-Type, X-Request-Id";
/// The response headers a script needs beyond the safelisted ones (`Content-Type`, ...):
/// the request id to quote in a bug report, how long to wait after a 429, a 405's methods,
/// and the change-log position a write committed at (read-your-writes: a browser's client
/// waits until its live queries reach it).
const EXPOSE_HEADERS: &str = "X-Request-Id, Retry-After, Allow, X-Ssot-Seq";
/// How long a browser may reuse a preflight's answer, in seconds (browsers cap it: two
/// hours in Chromium).
const MAX_AGE: &str = "7200";

/// The origins allowed to call the API from a browser.
#[derive(Debug, Clone, Default)]
pub struct Cors {
    /// `*`: any origin, without credentials.
    any: bool,
    /// Exact origins, lowercase, without a trailing `/`.
    origins: Vec<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum CorsError {
    #[error("`{0}` is not an origin: use scheme://host or scheme://host:port (no path), or * for any origin")]
    NotAnOrigin(String),
}

impl Cors {
    /// The allowed origins from their settings (`--cors-origin`, `SSOT_CORS_ORIGINS`);
    /// none allows no cross-origin request.
    pub fn new(origins: &[String]) -> Result<Cors, CorsError> {
        let mut cors = Cors::default();
        for origin in origins.iter().map(|o| o.trim()).filter(|o| !o.is_empty()) {
            if origin == "*" {
                cors.any = true;
                continue;
            }
            let normal = origin.strip_suffix('/').unwrap_or(origin).to_ascii_lowercase();
            if !is_origin(&normal) {
                return Err(CorsError::NotAnOrigin(origin.to_string()));
            }
            cors.origins.push(normal);
        }
        Ok(cors)
    }

    pub fn enabled(&self) -> bool {
        self.any || !self.origins.is_empty()
    }

    /// The `Access-Control-Allow-Origin` value for a request from `origin`, if allowed.
    fn allow(&self, origin: &HeaderValue) -> Option<HeaderValue> {
        if self.any {
            return Some(HeaderValue::from_static("*"));
        }
        let text = origin.to_str().ok()?.to_ascii_lowercase();
        self.origins.contains(&text).then(|| origin.clone())
    }
}

impl std::fmt::Display for Cors {
    /// The allowed origins as `ssot serve` prints them at start.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.any {
            return f.write_str("any origin (*), without credentials");
        }
        f.write_str(&self.origins.join(", "))
    }
}

/// `scheme://host[:port]`: a scheme of letters, digits, `+`, `-`, `.`, then a host (with
/// an optional port) and nothing else.
fn is_origin(text: &str) -> bool {
    let Some((scheme, host)) = text.split_once("://") else { return false };
    let scheme_ok = scheme.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
        && scheme.chars().all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c));
    let host_ok = !host.is_empty()
        && host.chars().all(|c| c.is_ascii_alphanumeric() || "-.:[]_".contains(c))
        && !host.starts_with(':');
    scheme_ok && host_ok
}

/// Answers preflights itself; adds the CORS headers to every other answer to an allowed
/// origin. Runs before routing, so a preflight never meets a token check or a policy.
pub async fn layer(State(app): State<Arc<App>>, request: Request, next: Next) -> Response {
    let cors = &app.cors;
    let origin = request.headers().get(header::ORIGIN).cloned();
    let preflight = request.method() == Method::OPTIONS
        && request.headers().contains_key(header::ACCESS_CONTROL_REQUEST_METHOD)
        && origin.is_some();
    if preflight {
        return preflight_answer(cors, origin.as_ref());
    }
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    // With a list of origins, the answer differs by origin: caches must know.
    if !cors.origins.is_empty() && !cors.any {
        headers.append(header::VARY, HeaderValue::from_static("Origin"));
    }
    if let Some(allowed) = origin.as_ref().and_then(|o| cors.allow(o)) {
        allow_headers(cors, headers, allowed);
        headers.insert(header::ACCESS_CONTROL_EXPOSE_HEADERS, HeaderValue::from_static(EXPOSE_HEADERS));
    }
    response
}

fn preflight_answer(cors: &Cors, origin: Option<&HeaderValue>) -> Response {
    let Some(allowed) = origin.and_then(|o| cors.allow(o)) else {
        let detail = if cors.enabled() {
            "this origin may not call the API from a browser (see --cors-origin)"
        } else {
            "cross-origin requests are not enabled on this server (see --cors-origin)"
        };
        let mut response = Problem::new(StatusCode::FORBIDDEN, "origin_not_allowed", detail).into_response();
        response.headers_mut().append(header::VARY, HeaderValue::from_static("Origin"));
        return response;
    };
    let mut response = StatusCode::NO_CONTENT.into_response();
    let headers = response.headers_mut();
    allow_headers(cors, headers, allowed);
    headers.insert(header::ACCESS_CONTROL_ALLOW_METHODS, HeaderValue::from_static(ALLOW_METHODS));
    headers.insert(header::ACCESS_CONTROL_ALLOW_HEADERS, HeaderValue::from_static(ALLOW_HEADERS));
    headers.insert(header::ACCESS_CONTROL_MAX_AGE, HeaderValue::from_static(MAX_AGE));
    headers.append(
        header::VARY,
        HeaderValue::from_static("Origin, Access-Control-Request-Method, Access-Control-Request-Headers"),
    );
    response
}

/// The headers every answer to an allowed origin carries: the origin, and credentials
/// unless any origin is allowed.
fn allow_headers(cors: &Cors, headers: &mut HeaderMap, allowed: HeaderValue) {
    headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, allowed);
    if !cors.any {
        headers.insert(header::ACCESS_CONTROL_ALLOW_CREDENTIALS, HeaderValue::from_static("true"));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origins_are_checked_and_normalised() {
        let cors = Cors::new(&["https://App.example.com/".into(), "http://localhost:5173".into()]).expect("valid");
        assert_eq!(cors.origins, ["https://app.example.com", "http://localhost:5173"]);
        assert!(cors.allow(&HeaderValue::from_static("https://app.example.com")).is_some());
        assert!(cors.allow(&HeaderValue::from_static("https://evil.example.com")).is_none());
        for bad in ["app.example.com", "https://app.example.com/path", "https://", "://x", "https://a b"] {
            assert!(Cors::new(&[bad.into()]).is_err(), "{bad}");
        }
        let any = Cors::new(&["*".into()]).expect("valid");
        assert_eq!(any.allow(&HeaderValue::from_static("https://x.example")), Some(HeaderValue::from_static("*")));
        assert!(!Cors::new(&[]).expect("valid").enabled());
    }
}
