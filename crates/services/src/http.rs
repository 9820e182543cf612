//! The HTTP client the services share (hyper, HTTP/1.1, connections kept alive), one signed
//! POST with its timeout, and the outcome as a service sees it. This module owns what
//! counts as delivered: a 2xx within the timeout; anything else is a failure with a reason
//! that is safe to log and to store (never the secret, never the body sent).

use crate::sign::Secret;
use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use std::time::Duration;

pub type Client = hyper_util::client::legacy::Client<
    hyper_rustls::HttpsConnector<hyper_util::client::legacy::connect::HttpConnector>,
    Full<Bytes>,
>;

/// `http://` and `https://` (rustls with the ring provider, Mozilla's roots from `webpki-roots`:
/// no system certificate store is read).
pub fn client() -> Result<Client, rustls::Error> {
    let mut connector = hyper_util::client::legacy::connect::HttpConnector::new();
    connector.set_nodelay(true);
    connector.set_connect_timeout(Some(Duration::from_secs(10)));
    connector.enforce_http(false);
    // ring keeps the build lean (aws-lc-rs needs cmake and a C toolchain); rustls marks its
    // provider deprecated only for lacking post-quantum key exchange.
    #[allow(deprecated)]
    let provider = rustls::crypto::ring::default_provider();
    let https = hyper_rustls::HttpsConnectorBuilder::new()
        .with_provider_and_webpki_roots(std::sync::Arc::new(provider))?
        .https_or_http()
        .enable_http1()
        .wrap_connector(connector);
    Ok(hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
        .pool_idle_timeout(Duration::from_secs(30))
        .build(https))
}

/// The most of an answer's body read (an action's answer; a webhook's is drained and dropped).
pub const MAX_ANSWER_BYTES: usize = 1 << 20;

/// One message: where to, its Standard Webhooks id, its body, extra headers.
pub struct Message<'a> {
    pub url: &'a hyper::Uri,
    pub id: &'a str,
    pub body: Bytes,
    pub headers: &'a [(hyper::header::HeaderName, hyper::header::HeaderValue)],
    pub extra: Vec<(&'static str, String)>,
    /// What the signature covers in place of the body (an action's: the caller, then the body).
    pub signed: Option<Vec<u8>>,
}

#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    pub content_type: Option<String>,
    pub body: Bytes,
}

#[derive(Debug, thiserror::Error)]
pub enum SendError {
    #[error("no answer within {0} ms")]
    Timeout(u128),
    #[error("connection failed: {0}")]
    Connect(String),
    #[error("the answer's body could not be read: {0}")]
    Body(String),
    #[error("the request could not be built")]
    Request,
}

/// POSTs `message`, signed with `secret` at the current time, and reads the answer, all
/// within `timeout`.
pub async fn send(
    client: &Client,
    secret: &Secret,
    message: Message<'_>,
    timeout: Duration,
) -> Result<Answer, SendError> {
    let timestamp = ssot_store::time::now() / 1000;
    let signature = secret.sign(message.id, timestamp, message.signed.as_deref().unwrap_or(&message.body));
    let mut request = hyper::Request::post(message.url.clone())
        .header(hyper::header::CONTENT_TYPE, "application/json")
        .header(hyper::header::USER_AGENT, concat!("ssot/", env!("CARGO_PKG_VERSION")))
        .header("webhook-id", message.id)
        .header("webhook-timestamp", timestamp.to_string())
        .header("webhook-signature", signature);
    for (name, value) in message.headers {
        request = request.header(name, value);
    }
    for (name, value) in &message.extra {
        request = request.header(*name, value);
    }
    let request = request.body(Full::new(message.body)).map_err(|_| SendError::Request)?;
    let exchange = async {
        let response = client.request(request).await.map_err(|e| SendError::Connect(reason(&e)))?;
        let status = response.status().as_u16();
        let content_type =
            response.headers().get(hyper::header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).map(str::to_string);
        let body = Limited::new(response.into_body(), MAX_ANSWER_BYTES)
            .collect()
            .await
            .map_err(|e| SendError::Body(e.to_string()))?
            .to_bytes();
        Ok(Answer { status, content_type, body })
    };
    tokio::time::timeout(timeout, exchange).await.map_err(|_| SendError::Timeout(timeout.as_millis()))?
}

/// The innermost cause, which says what went wrong (refused, reset, ...).
fn reason(error: &(dyn std::error::Error + 'static)) -> String {
    let mut last = error;
    while let Some(source) = last.source() {
        last = source;
    }
    last.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An `https://` URL goes through TLS: a server that answers plain HTTP fails the handshake.
    #[tokio::test]
    async fn https_urls_go_through_tls() {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let port = listener.local_addr().expect("address").port();
        tokio::spawn(async move {
            while let Ok((mut stream, _)) = listener.accept().await {
                let mut buffer = [0u8; 1024];
                let _ = stream.read(&mut buffer).await;
                let _ = stream.write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n").await;
            }
        });
        let client = client().expect("client");
        let secret = Secret::parse("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").expect("secret");
        let send_to =
            |scheme: &str| -> hyper::Uri { format!("{scheme}://127.0.0.1:{port}/hooks").parse().expect("url") };
        let (plain, tls) = (send_to("http"), send_to("https"));
        let message = |url| Message {
            url,
            id: "evt_t_1",
            body: Bytes::from_static(b"{}"),
            headers: &[],
            extra: Vec::new(),
            signed: None,
        };
        let answer = send(&client, &secret, message(&plain), Duration::from_secs(5)).await.expect("plain http");
        assert_eq!(answer.status, 200);
        let refused = send(&client, &secret, message(&tls), Duration::from_secs(5)).await;
        assert!(matches!(refused, Err(SendError::Connect(_))), "{refused:?}");
    }
}
