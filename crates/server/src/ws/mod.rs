//! The WebSocket gateway at `GET /api/ws` (subprotocol `ssot.v1`, JSON text frames; the
//! protocol is written down in `docs/protocol.md`).
//!
//! A connection speaks for one caller at a time: the token of `?token=` or of an
//! `Authorization` header at the handshake, then of each `auth` message. Requests run
//! through the one guarded path ([`crate::execute`]) exactly as REST runs them, the
//! caller resolved again for each (a session ended or a token expired refuses the next
//! one, and closes the connection with 4401). Each request runs in a task of its own,
//! at most [`WsSettings::max_in_flight`] at once per connection. The connection's own task
//! owns its socket ([`connection`]): it reads, hands each message to [`handle`], and writes
//! what is ready ([`writer`]), several messages in one frame (a JSON array) when they are
//! ready together. The server pings; a connection that sends nothing for
//! [`WsSettings::idle_timeout`] (not even a pong) is closed.

mod alarms;
pub(crate) use alarms::{MOVED, SHUTDOWN};
mod connection;
mod handle;
mod messages;
pub(crate) mod runtime;
mod writer;

use crate::execute::{self, Executed};
use crate::problem::Problem;
use crate::App;
use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::extract::{Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
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
    /// Connections open at once; more are refused (503) until some close. Each holds a
    /// file descriptor, and a process may hold 20,000 here.
    pub max_connections: usize,
}

impl Default for WsSettings {
    fn default() -> WsSettings {
        WsSettings {
            heartbeat: Duration::from_secs(25),
            idle_timeout: Duration::from_secs(60),
            max_message_bytes: crate::MAX_BODY_BYTES,
            max_in_flight: 16,
            send_queue: 1024,
            max_connections: 19_000,
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
    let Some(seat) = Seat::take(&app) else {
        return Problem::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "too_many_connections",
            format!("the server holds {} WebSocket connections, its limit; try again later", app.ws.max_connections),
        )
        .into_response();
    };
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
        // Clients send small messages; a larger one is read in several calls.
        .read_buffer_size(1024)
        .write_buffer_size(0)
        .on_upgrade(move |socket| async move {
            let sockets = Arc::clone(&app);
            sockets.sockets.spawn(connection::connection(app, socket, token, seat));
        })
}

/// A place among the server's `max_connections`, taken at the handshake (so that two
/// handshakes at once cannot both take the last one) and given back when dropped: when
/// the connection ends, or when the upgrade never happens. It holds the metrics, not the
/// app: a connection outlives the app it started on when `ssot dev` swaps it.
struct Seat(Arc<crate::metrics::Metrics>);

impl Seat {
    fn take(app: &App) -> Option<Seat> {
        let limit = i64::try_from(app.ws.max_connections).unwrap_or(i64::MAX);
        let connections = &app.metrics.ws.connections;
        connections
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |open| (open < limit).then_some(open + 1))
            .ok()
            .map(|_| Seat(Arc::clone(&app.metrics)))
    }
}

impl Drop for Seat {
    fn drop(&mut self) {
        self.0.ws.connections.fetch_sub(1, Ordering::AcqRel);
    }
}

/// What a connection sends: each item is small (its queue holds a block of them whether
/// or not they are used).
enum Outgoing {
    /// A message's JSON text (the hub's perhaps shared with other connections).
    Text(ssot_realtime::Frame),
    Ping,
    /// A close frame: its code and reason.
    Close(Box<(u16, String)>),
}

impl Outgoing {
    fn message(message: &Json) -> Outgoing {
        Outgoing::Text(ssot_realtime::Frame::from(message.to_string()))
    }

    fn close(code: u16, reason: impl Into<String>) -> Outgoing {
        Outgoing::Close(Box::new((code, reason.into())))
    }
}

/// A subscription as the client asked for it: its id, its channel and its options (as
/// JSON text: kept for every open subscription, read again only after an `auth`).
#[derive(Debug, Clone)]
struct Asked {
    id: String,
    channel: String,
    args: String,
}

/// The caller a connection speaks for: the token it gave (verified again for each
/// request, so that an ended session or an expired token stops it at once).
struct Speaker {
    token: Option<String>,
    /// When the token expires (epoch seconds), for the timer that closes the connection.
    expires: Option<u64>,
    /// Who the caller is to the rules ([`who`]): an `auth` that changes it takes the
    /// connection out of its channels and asks its subscriptions again.
    who: Json,
    /// The connection's place in the hub of live queries.
    conn: ssot_realtime::ConnId,
    /// Its subscriptions as asked for (channel and options): asked again for a new caller.
    subs: Arc<std::sync::Mutex<Vec<Asked>>>,
}
