//! The connection's writer: one task that sends what is queued, the messages ready
//! together in one frame (a JSON array), pings, and a close frame last.

use super::Outgoing;
use crate::App;
use axum::extract::ws::{CloseFrame, Message, Utf8Bytes, WebSocket};
use futures_util::SinkExt;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use tokio::sync::mpsc;

/// The writer: sends queued messages, those ready together in one frame (a JSON array),
/// pings, and a close frame last.
pub(super) async fn write_frames(
    mut sink: futures_util::stream::SplitSink<WebSocket, Message>,
    mut queue: mpsc::Receiver<Outgoing>,
    mut hub: mpsc::Receiver<String>,
    app: Arc<App>,
) {
    const MAX_BATCH: usize = 64;
    let stats = &app.metrics.ws;
    // The hub's messages come straight here, not through the connection's task: one
    // hand-off per delivery instead of two. The connection's own queue goes first, so a
    // close is never stuck behind updates.
    let mut hub_open = true;
    loop {
        let first = tokio::select! {
            biased;
            item = queue.recv() => match item {
                Some(item) => item,
                None => break,
            },
            text = hub.recv(), if hub_open => match text {
                Some(text) => Outgoing::Text(text),
                None => {
                    hub_open = false;
                    continue;
                }
            },
        };
        let mut ready = vec![first];
        while ready.len() < MAX_BATCH {
            match queue.try_recv() {
                Ok(next) => ready.push(next),
                Err(_) => break,
            }
        }
        while hub_open && ready.len() < MAX_BATCH {
            match hub.try_recv() {
                Ok(text) => ready.push(Outgoing::Text(text)),
                Err(_) => break,
            }
        }
        let mut messages = Vec::new();
        let mut close = None;
        let mut ping = false;
        for item in ready {
            match item {
                Outgoing::Ping => ping = true,
                Outgoing::Message(message) => messages.push(message.to_string()),
                Outgoing::Text(text) => messages.push(text),
                Outgoing::Close(code, reason) => {
                    close = Some((code, reason));
                    break;
                }
            }
        }
        stats.messages_out.fetch_add(messages.len() as u64, Ordering::Relaxed);
        let frame = match messages.len() {
            0 => None,
            1 => messages.pop(),
            _ => Some(format!("[{}]", messages.join(","))),
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
