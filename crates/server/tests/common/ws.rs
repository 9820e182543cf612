//! A WebSocket client for the socket's tests: a real connection to the test server,
//! speaking `ssot.v1`.

use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value as Json};
use std::collections::VecDeque;
use std::time::Duration;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::Message;

type Stream = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

pub struct WsClient {
    stream: Stream,
    /// Messages of a frame read but not yet taken (a frame may hold several).
    pending: VecDeque<Json>,
    next_id: u64,
}

/// How a connection ended, as the server closed it.
#[derive(Debug, PartialEq)]
pub struct Closed {
    pub code: u16,
    pub reason: String,
}

impl WsClient {
    /// Connects to `base` (`http://...`) at `/api/ws`, with `?token=` when given.
    pub async fn connect(base: &str, token: Option<&str>) -> WsClient {
        let mut url = format!("{}/api/ws", base.replacen("http", "ws", 1));
        if let Some(token) = token {
            url.push_str(&format!("?token={}", super::percent_encode(token)));
        }
        let mut request = url.into_client_request().expect("request");
        request.headers_mut().insert("sec-websocket-protocol", "ssot.v1".parse().expect("header"));
        let (stream, response) = tokio_tungstenite::connect_async(request).await.expect("connect");
        assert_eq!(
            response.headers().get("sec-websocket-protocol").and_then(|v| v.to_str().ok()),
            Some("ssot.v1"),
            "the server speaks ssot.v1"
        );
        WsClient { stream, pending: VecDeque::new(), next_id: 1 }
    }

    /// [`WsClient::connect`], then the `ready` message.
    pub async fn ready(base: &str, token: Option<&str>) -> (WsClient, Json) {
        let mut client = WsClient::connect(base, token).await;
        let ready = client.next().await.expect("ready");
        assert_eq!(ready["type"], "ready", "{ready}");
        (client, ready)
    }

    pub async fn send(&mut self, message: Json) {
        self.send_text(message.to_string()).await;
    }

    pub async fn send_text(&mut self, text: String) {
        self.stream.send(Message::Text(text.into())).await.expect("send");
    }

    /// Sends, telling whether the frame went out (the server may close while it is sent).
    pub async fn try_send_text(&mut self, text: String) -> bool {
        self.stream.send(Message::Text(text.into())).await.is_ok()
    }

    pub async fn send_binary(&mut self, bytes: Vec<u8>) {
        self.stream.send(Message::Binary(bytes.into())).await.expect("send");
    }

    /// The next message (of a frame holding one, or the next of a list), or how the
    /// server closed the connection. Fails after 10 s.
    pub async fn next(&mut self) -> Result<Json, Closed> {
        loop {
            if let Some(message) = self.pending.pop_front() {
                return Ok(message);
            }
            let frame =
                tokio::time::timeout(Duration::from_secs(10), self.stream.next()).await.expect("a message within 10 s");
            match frame {
                Some(Ok(Message::Text(text))) => match serde_json::from_str(&text).expect("JSON") {
                    Json::Array(messages) => self.pending.extend(messages),
                    message => self.pending.push_back(message),
                },
                Some(Ok(Message::Close(frame))) => {
                    return Err(frame.map_or(Closed { code: 1005, reason: String::new() }, |f| Closed {
                        code: f.code.into(),
                        reason: f.reason.to_string(),
                    }))
                }
                Some(Ok(_)) => {}
                Some(Err(e)) => return Err(Closed { code: 1006, reason: e.to_string() }),
                None => return Err(Closed { code: 1006, reason: "ended".into() }),
            }
        }
    }

    /// The next message if one comes within `wait`.
    pub async fn next_within(&mut self, wait: Duration) -> Option<Result<Json, Closed>> {
        if let Some(message) = self.pending.pop_front() {
            return Some(Ok(message));
        }
        let frame = tokio::time::timeout(wait, self.stream.next()).await.ok()?;
        match frame {
            Some(Ok(Message::Text(text))) => {
                match serde_json::from_str(&text).expect("JSON") {
                    Json::Array(messages) => self.pending.extend(messages),
                    message => self.pending.push_back(message),
                }
                self.pending.pop_front().map(Ok)
            }
            Some(Ok(Message::Close(frame))) => {
                Some(Err(frame.map_or(Closed { code: 1005, reason: String::new() }, |f| Closed {
                    code: f.code.into(),
                    reason: f.reason.to_string(),
                })))
            }
            Some(Ok(_)) => None,
            Some(Err(e)) => Some(Err(Closed { code: 1006, reason: e.to_string() })),
            None => Some(Err(Closed { code: 1006, reason: "ended".into() })),
        }
    }

    /// The close the server sends next, skipping other messages.
    pub async fn closed(&mut self) -> Closed {
        loop {
            if let Err(closed) = self.next().await {
                return closed;
            }
        }
    }

    /// Sends a request and waits for its response; other messages that come meanwhile
    /// stay for [`WsClient::next`], in order.
    pub async fn request(&mut self, mut request: Json) -> Json {
        let id = self.next_id.to_string();
        self.next_id += 1;
        request["type"] = json!("request");
        request["id"] = json!(id);
        self.send(request).await;
        let mut others = Vec::new();
        loop {
            let message = self.next().await.unwrap_or_else(|c| panic!("closed while waiting for {id}: {c:?}"));
            if message["type"] == "response" && message["id"] == json!(id) {
                for other in others.into_iter().rev() {
                    self.pending.push_front(other);
                }
                return message;
            }
            others.push(message);
        }
    }
}
