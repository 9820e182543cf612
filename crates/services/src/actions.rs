//! Forwarding a call to a service's action: `POST <url>/actions/<name>` with the caller's
//! JSON body as it came, the caller's identity in `ssot-caller`, and Standard Webhooks
//! headers whose signature covers `{webhook-id}.{webhook-timestamp}.{ssot-caller}.{body}`,
//! so the service can trust both. Who may call is decided before (the action's rule, by
//! the server); this module owns the call and what its outcome means.

use crate::http::{self, Answer};
use crate::Services;
use bytes::Bytes;
use serde_json::{Map, Value as Json};

#[derive(Debug, thiserror::Error)]
pub enum ActionError {
    #[error("no service `{0}`")]
    Unknown(String),
    #[error("the service did not answer within {0} ms")]
    Timeout(u128),
    #[error("the service could not be reached: {0}")]
    Unreachable(String),
}

/// Token bookkeeping a service has no use for; everything else of `auth` is the identity.
const NOT_IDENTITY: [&str; 9] = ["exp", "iat", "nbf", "jti", "sid", "iss", "aud", "typ", "password"];

/// The `ssot-caller` value: `null` for an anonymous caller, `{"admin": true}` for the admin
/// key, else the caller as rules see `auth` (the user's row and the token's claims) without
/// the token's bookkeeping.
pub fn identity(auth: Option<&Map<String, Json>>, admin: bool) -> Json {
    match (admin, auth) {
        (true, _) => serde_json::json!({ "admin": true }),
        (false, None) => Json::Null,
        (false, Some(auth)) => Json::Object(
            auth.iter()
                .filter(|(k, _)| !NOT_IDENTITY.contains(&k.as_str()))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
        ),
    }
}

impl Services {
    /// Calls action `action` of service `service` with `body` for the caller `identity`.
    pub async fn call_action(
        &self,
        service: &str,
        action: &str,
        identity: &Json,
        body: Bytes,
    ) -> Result<Answer, ActionError> {
        let running = self
            .shared
            .running
            .iter()
            .find(|r| r.service.name == service)
            .ok_or_else(|| ActionError::Unknown(service.into()))?;
        let service = &running.service;
        let base = service.url.to_string();
        let url: hyper::Uri = format!("{}/actions/{action}", base.trim_end_matches('/'))
            .parse()
            .map_err(|_| ActionError::Unreachable("the action's URL is not valid".into()))?;
        let caller = identity.to_string();
        let mut signed = Vec::with_capacity(caller.len() + 1 + body.len());
        signed.extend_from_slice(caller.as_bytes());
        signed.push(b'.');
        signed.extend_from_slice(&body);
        let mut id = [0u8; 12];
        let _ = getrandom::fill(&mut id);
        let id = format!("act_{}_{}", service.name, id.iter().map(|b| format!("{b:02x}")).collect::<String>());
        let message = http::Message {
            url: &url,
            id: &id,
            body,
            headers: &service.headers,
            extra: vec![("ssot-caller", caller)],
            signed: Some(signed),
        };
        http::send(&self.shared.client, &service.secret, message, service.timeout).await.map_err(|e| match e {
            http::SendError::Timeout(ms) => ActionError::Timeout(ms),
            other => ActionError::Unreachable(other.to_string()),
        })
    }
}
