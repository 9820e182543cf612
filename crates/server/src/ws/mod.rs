//! The WebSocket gateway at `GET /api/ws` (subprotocol `ssot.v1`, JSON text frames; the
//! protocol is written down in `docs/protocol.md`).
//!
//! A connection speaks for one caller at a time: the token of `?token=` or of an
//! `Authorization` header at the handshake, then of each `auth` message. Requests run
//! through the one guarded path ([`crate::execute`]) exactly as REST runs them, the
//! caller resolved again for each (a session ended or a token expired refuses the next
//! one, and closes the connection with 4401). Each request runs in a task of its own,
//! at most [`WsSettings::max_in_flight`] at once per connection; one writer task sends
//! what is ready, several messages in one frame (a JSON array) when they are ready
//! together. The server pings; a connection that sends nothing for
//! [`WsSettings::idle_timeout`] (not even a pong) is closed.

mod messages;

use crate::execute::{self, Executed};
use crate::problem::Problem;
use crate::App;
use axum::extract::ws::{CloseFrame, Message, Utf8Bytes, WebSocket, WebSocketUpgrade};
use axum::extract::{Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use futures_util::{SinkExt, StreamExt};
use messages::{Call, Incoming, Refused};
use serde_json::{json, Value as Json};
use ssot_access::Caller;
use std::collections::HashMap;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;

/// The protocol's name and version, as the `Sec-WebSocket-Protocol` a client offers.
pub const SUBPROTOCOL: &str = "ssot.v1";
/// Close code: the token was refused, has expired, or its session has ended.
pub const CLOSE_UNAUTHORIZED: u16 = 4401;
/// Close code: nothing came from the client for longer than the idle timeout.
pub const CLOSE_IDLE: u16 = 4408;
/// Close code: the server is shutting down.
pub const CLOSE_GOING_AWAY: u16 = 1001;
/// Close code: a frame larger than the server takes.
pub const CLOSE_TOO_BIG: u16 = 1009;

/// The socket's limits and timers.
#[derive(Debug, Clone, Copy)]
pub struct WsSettings {
    /// How often the server pings.
    pub heartbeat: Duration,
    /// How long a connection may stay silent (no frame, no pong) before it is closed.
    pub idle_timeout: Duration,
    /// The largest message a client may send.
    pub max_message_bytes: usize,
    /// Requests of one connection running at once; more wait (the connection is not read).
    pub max_in_flight: usize,
    /// Messages waiting to be sent to one connection.
    pub send_queue: usize,
}

impl Default for WsSettings {
    fn default() -> WsSettings {
        WsSettings {
            heartbeat: Duration::from_secs(25),
            idle_timeout: Duration::from_secs(60),
            max_message_bytes: crate::MAX_BODY_BYTES,
            max_in_flight: 16,
            send_queue: 1024,
        }
    }
}

/// `GET /api/ws`: the upgrade. A client that offers subprotocols must offer `ssot.v1`.
pub async fn upgrade(
    State(app): State<Arc<App>>,
    upgrade: WebSocketUpgrade,
    headers: HeaderMap,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    let offered = headers.get(header::SEC_WEBSOCKET_PROTOCOL).and_then(|v| v.to_str().ok());
    if offered.is_some_and(|list| !list.split(',').any(|p| p.trim() == SUBPROTOCOL)) {
        return Problem::new(
            StatusCode::BAD_REQUEST,
            "unsupported_protocol",
            format!("this server speaks the subprotocol `{SUBPROTOCOL}`"),
        )
        .into_response();
    }
    // A refused token is told after the upgrade, as close code 4401: a browser cannot
    // read the status of a failed handshake.
    let token = match query.get("token") {
        Some(token) => Ok(Some(token.clone())),
        None => crate::access::bearer(&headers).map(|t| t.map(str::to_string)),
    };
    let settings = app.ws;
    upgrade
        .protocols([SUBPROTOCOL])
        .max_message_size(settings.max_message_bytes)
        .max_frame_size(settings.max_message_bytes)
        .read_buffer_size(4096)
        .write_buffer_size(0)
        .on_upgrade(move |socket| connection(app, socket, token))
}

/// What the writer task sends.
enum Outgoing {
    Message(Json),
    Ping,
    Close(u16, String),
}

/// The caller a connection speaks for: the token it gave (verified again for each
/// request, so that an ended session or an expired token stops it at once).
struct Speaker {
    token: Option<String>,
    /// When the token expires (epoch seconds), for the timer that closes the connection.
    expires: Option<u64>,
}

async fn connection(app: Arc<App>, socket: WebSocket, token: Result<Option<String>, Problem>) {
    let settings = app.ws;
    let stats = &app.metrics.ws;
    stats.connections.fetch_add(1, Ordering::Relaxed);
    stats.opened.fetch_add(1, Ordering::Relaxed);
    let (sink, mut stream) = socket.split();
    let (out, queue) = mpsc::channel::<Outgoing>(settings.send_queue);
    let writer = tokio::spawn(write_frames(sink, queue, Arc::clone(&app)));
    let in_flight = Arc::new(tokio::sync::Semaphore::new(settings.max_in_flight));

    let mut speaker = Speaker { token: None, expires: None };
    let first = match token {
        Ok(token) => authenticate(&app, &mut speaker, token).await,
        Err(problem) => Err(problem),
    };
    let mut closing = app.closing.subscribe();
    let first_ok = first.is_ok();
    match first {
        Ok(ready) => send(&out, json!({"type": "ready", "protocol": SUBPROTOCOL, "caller": ready})).await,
        Err(problem) => {
            let _ = out.send(Outgoing::Close(CLOSE_UNAUTHORIZED, problem.detail)).await;
        }
    }

    let mut heartbeat = tokio::time::interval(settings.heartbeat);
    heartbeat.tick().await;
    let mut last_heard = tokio::time::Instant::now();
    let mut open = first_ok;
    let mut client_closed = false;
    while open {
        let expiry = expiry_sleep(speaker.expires);
        tokio::select! {
            frame = stream.next() => {
                last_heard = tokio::time::Instant::now();
                match frame {
                    None | Some(Ok(Message::Close(_))) => {
                        client_closed = true;
                        open = false;
                    }
                    Some(Err(error)) => {
                        let too_big = error.to_string().contains("too long") || error.to_string().contains("too big");
                        if too_big {
                            let _ = out
                                .send(Outgoing::Close(CLOSE_TOO_BIG, format!("a message is at most {} bytes", settings.max_message_bytes)))
                                .await;
                        }
                        open = false;
                    }
                    Some(Ok(Message::Text(text))) => {
                        stats.messages_in.fetch_add(1, Ordering::Relaxed);
                        open = handle(&app, &out, &in_flight, &mut speaker, text.as_str()).await;
                    }
                    Some(Ok(Message::Binary(_))) => {
                        refuse(&out, Refused { code: "binary_not_supported", message: "send JSON text frames".into(), id: None }).await;
                    }
                    Some(Ok(Message::Ping(_) | Message::Pong(_))) => {}
                }
            }
            _ = heartbeat.tick() => {
                if last_heard.elapsed() >= settings.idle_timeout {
                    let _ = out.send(Outgoing::Close(CLOSE_IDLE, "idle for too long".into())).await;
                    open = false;
                } else {
                    // A full queue means the client does not read: the ping can wait.
                    let _ = out.try_send(Outgoing::Ping);
                }
            }
            () = expiry => {
                let _ = out.send(Outgoing::Close(CLOSE_UNAUTHORIZED, "the token has expired; send `auth` with a fresh one before it does".into())).await;
                open = false;
            }
            _ = closing.changed() => {
                let _ = out.send(Outgoing::Close(CLOSE_GOING_AWAY, "the server is shutting down".into())).await;
                open = false;
            }
        }
        open &= !out.is_closed();
    }
    drop(out);
    // The writer sends what is queued (a close frame last) and ends; requests still
    // running hold senders and end on their own.
    let _ = tokio::time::timeout(Duration::from_secs(5), writer).await;
    stats.connections.fetch_sub(1, Ordering::Relaxed);
    if !client_closed {
        // The closing handshake: the client answers the close frame. Until then its
        // socket stays open, so that it reads the close (and its code) rather than a reset.
        let _ = tokio::time::timeout(Duration::from_secs(5), async {
            while let Some(Ok(frame)) = stream.next().await {
                if matches!(frame, Message::Close(_)) {
                    break;
                }
            }
        })
        .await;
    }
}

/// Sleeps until `expires` (epoch seconds), or forever.
async fn expiry_sleep(expires: Option<u64>) {
    match expires {
        Some(at) => {
            let now = crate::auth::tokens::now_seconds();
            tokio::time::sleep(Duration::from_secs(at.saturating_sub(now))).await;
        }
        None => std::future::pending().await,
    }
}

/// Verifies `token` and makes it the connection's: the caller's description for `ready`
/// or `authenticated`.
async fn authenticate(app: &App, speaker: &mut Speaker, token: Option<String>) -> Result<Json, Problem> {
    let caller = execute::caller_for_token(app, token.as_deref()).await?;
    let expires = match &caller {
        Caller::User(claims) => claims.get("exp").and_then(Json::as_u64),
        _ => None,
    };
    *speaker = Speaker { token, expires };
    Ok(describe(&caller, expires))
}

fn describe(caller: &Caller, expires: Option<u64>) -> Json {
    match caller {
        Caller::Anonymous => json!({"kind": "anonymous"}),
        Caller::Admin => json!({"kind": "admin"}),
        Caller::User(claims) => json!({"kind": "user", "sub": claims.get("sub"), "expiresAt": expires}),
    }
}

/// Handles one text frame; `false` when the connection is to end.
async fn handle(
    app: &Arc<App>,
    out: &mpsc::Sender<Outgoing>,
    in_flight: &Arc<tokio::sync::Semaphore>,
    speaker: &mut Speaker,
    text: &str,
) -> bool {
    match messages::read(&app.store.entities, text) {
        Err(refused) => refuse(out, refused).await,
        Ok(Incoming::Ping) => send(out, json!({"type": "pong"})).await,
        Ok(Incoming::Auth { token }) => match authenticate(app, speaker, Some(token)).await {
            Ok(caller) => send(out, json!({"type": "authenticated", "caller": caller})).await,
            Err(problem) => {
                let _ = out.send(Outgoing::Close(CLOSE_UNAUTHORIZED, problem.detail)).await;
                return false;
            }
        },
        Ok(Incoming::Request { id, call }) => {
            let Ok(permit) = Arc::clone(in_flight).acquire_owned().await else { return false };
            let (app, out, token) = (Arc::clone(app), out.clone(), speaker.token.clone());
            tokio::spawn(async move {
                let answer = respond(&app, token.as_deref(), id, *call).await;
                let _ = out.send(answer).await;
                drop(permit);
            });
        }
    }
    true
}

/// Runs a request as its caller is now: its `response`, or a close when the caller's
/// token no longer holds.
async fn respond(app: &App, token: Option<&str>, id: Json, call: Call) -> Outgoing {
    let caller = match execute::caller_for_token(app, token).await {
        Ok(caller) => caller,
        Err(problem) => return Outgoing::Close(CLOSE_UNAUTHORIZED, problem.detail),
    };
    let result = match call {
        Call::One(request) => match execute::authorize(app, &caller, &request) {
            Ok(known) => execute::execute(app, caller, known, request).await.map(|Executed { outcome, seq }| {
                let status = if outcome.created { 201 } else { 200 };
                (status, outcome.body, seq)
            }),
            Err(problem) => Err(problem),
        },
        Call::Batch(requests) => crate::batch::run(app, caller, requests)
            .await
            .map(|(results, seq)| (200, json!({ "results": results }), Some(seq))),
    };
    Outgoing::Message(match result {
        Ok((status, body, seq)) => {
            let mut message = json!({"type": "response", "id": id, "status": status, "body": body});
            if let Some(seq) = seq {
                message["seq"] = json!(seq);
            }
            message
        }
        Err(problem) => {
            json!({"type": "response", "id": id, "status": problem.status.as_u16(), "problem": problem.body()})
        }
    })
}

async fn send(out: &mpsc::Sender<Outgoing>, message: Json) {
    let _ = out.send(Outgoing::Message(message)).await;
}

async fn refuse(out: &mpsc::Sender<Outgoing>, refused: Refused) {
    send(out, refused.to_json()).await;
}

/// The writer: sends queued messages, those ready together in one frame (a JSON array),
/// pings, and a close frame last.
async fn write_frames(
    mut sink: futures_util::stream::SplitSink<WebSocket, Message>,
    mut queue: mpsc::Receiver<Outgoing>,
    app: Arc<App>,
) {
    const MAX_BATCH: usize = 64;
    let stats = &app.metrics.ws;
    while let Some(first) = queue.recv().await {
        let mut ready = vec![first];
        while ready.len() < MAX_BATCH {
            match queue.try_recv() {
                Ok(next) => ready.push(next),
                Err(_) => break,
            }
        }
        let mut messages = Vec::new();
        let mut close = None;
        let mut ping = false;
        for item in ready {
            match item {
                Outgoing::Ping => ping = true,
                Outgoing::Message(message) => messages.push(message),
                Outgoing::Close(code, reason) => {
                    close = Some((code, reason));
                    break;
                }
            }
        }
        stats.messages_out.fetch_add(messages.len() as u64, Ordering::Relaxed);
        let frame = match messages.len() {
            0 => None,
            1 => messages.pop().map(|m| m.to_string()),
            _ => Some(Json::Array(messages).to_string()),
        };
        if let Some(frame) = frame {
            if sink.send(Message::Text(Utf8Bytes::from(frame))).await.is_err() {
                return;
            }
        }
        if ping && sink.send(Message::Ping(Default::default())).await.is_err() {
            return;
        }
        if let Some((code, reason)) = close {
            // A close reason is at most 123 bytes.
            let reason: String = reason
                .chars()
                .scan(0, |n, c| {
                    *n += c.len_utf8();
                    (*n <= 123).then_some(c)
                })
                .collect();
            let _ = sink.send(Message::Close(Some(CloseFrame { code, reason: Utf8Bytes::from(reason) }))).await;
            let _ = sink.close().await;
            return;
        }
    }
    let _ = sink.close().await;
}
