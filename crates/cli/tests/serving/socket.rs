//! A WebSocket client for the CLI tests: messages read one by one, waited for by what
//! they are.

use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value as Json};
use std::collections::VecDeque;
use std::time::Duration;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::Message;

type Socket = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// A socket, its messages taken one by one (a batch is split).
pub struct Client {
    ws: Socket,
    queue: VecDeque<Json>,
}

impl Client {
    /// A socket of the admin key `key`, as the tests give it.
    pub async fn connect_admin(address: &str) -> Client {
        Client::connect(address, "key").await
    }

    pub async fn connect(address: &str, token: &str) -> Client {
        let mut request = format!("ws://{address}/api/ws?token={token}").into_client_request().expect("url");
        request.headers_mut().insert("sec-websocket-protocol", "ssot.v1".parse().expect("header"));
        Client { ws: tokio_tungstenite::connect_async(request).await.expect("connect").0, queue: VecDeque::new() }
    }

    pub async fn send(&mut self, message: Json) {
        self.ws.send(Message::Text(message.to_string().into())).await.expect("send");
    }

    /// The first message within `wait` that `wanted` picks (the others are skipped).
    pub async fn wait_for(&mut self, wait: Duration, wanted: impl Fn(&Json) -> bool) -> Option<Json> {
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            while let Some(message) = self.queue.pop_front() {
                if wanted(&message) {
                    return Some(message);
                }
            }
            match tokio::time::timeout_at(deadline, self.ws.next()).await {
                Ok(Some(Ok(Message::Text(text)))) => match serde_json::from_str(&text).expect("JSON") {
                    Json::Array(messages) => self.queue.extend(messages),
                    message => self.queue.push_back(message),
                },
                Ok(Some(Ok(_))) => {}
                _ => return None,
            }
        }
    }

    /// Joins `channel`: its `joined` answer.
    pub async fn join(&mut self, channel: &str, state: Json) -> Json {
        self.send(json!({"type": "join", "channel": channel, "state": state})).await;
        self.wait_for(Duration::from_secs(5), |m| m["type"] == "joined").await.expect("joined")
    }
}
