//! Sending on a connection: what is ready, and whatever else is queued by then, in one
//! frame (a JSON array when there are several messages), pings, and a close frame last.
//!
//! The connection's task owns its socket whole and writes from here itself: no writer
//! task, no lock around the socket, one hand-off per delivery (the hub's queue).

use super::Outgoing;
use crate::App;
use axum::body::Bytes;
use axum::extract::ws::{CloseFrame, Message, Utf8Bytes, WebSocket};
use ssot_realtime::Frame;
use std::sync::atomic::Ordering;
use tokio::sync::mpsc;

/// The most messages sent in one frame.
const MAX_BATCH: usize = 64;

/// The messages waiting to be sent: those the connection's task made itself (sent at its
/// next turn), and the sender through which the tasks it spawned (requests, subscribes)
/// hand theirs back.
pub(super) struct Outbox {
    pub ready: Vec<Outgoing>,
    pub tasks: mpsc::Sender<Outgoing>,
}

impl Outbox {
    pub fn push(&mut self, message: serde_json::Value) {
        self.ready.push(Outgoing::message(&message));
    }
}

/// The connection's queues: its tasks' answers, and the hub's messages (already JSON text).
pub(super) struct Queues {
    pub tasks: mpsc::Receiver<Outgoing>,
    pub hub: mpsc::Receiver<Frame>,
    /// Whether the hub still holds the other end (it lets go when the connection leaves it).
    pub hub_open: bool,
}

/// Sends `ready` and what else the queues hold (up to [`MAX_BATCH`] messages) as one
/// frame; `false` when the connection is to end: a close was sent, the client is gone, or
/// it has not taken a frame within the idle timeout.
pub(super) async fn send(socket: &mut WebSocket, mut ready: Vec<Outgoing>, queues: &mut Queues, app: &App) -> bool {
    while ready.len() < MAX_BATCH {
        match queues.tasks.try_recv() {
            Ok(next) => ready.push(next),
            Err(_) => break,
        }
    }
    while queues.hub_open && ready.len() < MAX_BATCH {
        match queues.hub.try_recv() {
            Ok(text) => ready.push(Outgoing::Text(text)),
            Err(_) => break,
        }
    }
    let mut messages: Vec<Frame> = Vec::new();
    let mut close = None;
    let mut ping = false;
    for item in ready {
        match item {
            Outgoing::Ping => ping = true,
            Outgoing::Text(text) => messages.push(text),
            Outgoing::Close(frame) => {
                close = Some(*frame);
                break;
            }
        }
    }
    app.metrics.ws.messages_out.fetch_add(messages.len() as u64, Ordering::Relaxed);
    let frame = match messages.len() {
        0 => None,
        // A frame the hub shares among connections is sent as it is, not copied.
        1 => messages.pop().and_then(|text| Utf8Bytes::try_from(Bytes::from_owner(Shared(text))).ok()),
        _ => Some(Utf8Bytes::from(format!("[{}]", messages.join(",")))),
    };
    let wait = app.ws.idle_timeout;
    if let Some(frame) = frame {
        if !write(socket, wait, Message::Text(frame)).await {
            return false;
        }
    }
    if ping && !write(socket, wait, Message::Ping(Default::default())).await {
        return false;
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
        write(socket, wait, Message::Close(Some(CloseFrame { code, reason: Utf8Bytes::from(reason) }))).await;
        return false;
    }
    true
}

/// A shared frame's text as the bytes of a WebSocket message.
struct Shared(Frame);

impl AsRef<[u8]> for Shared {
    fn as_ref(&self) -> &[u8] {
        self.0.as_bytes()
    }
}

/// Writes one frame; whether it went within `wait`.
async fn write(socket: &mut WebSocket, wait: std::time::Duration, message: Message) -> bool {
    matches!(tokio::time::timeout(wait, socket.send(message)).await, Ok(Ok(())))
}
