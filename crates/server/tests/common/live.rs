//! A subscriber's copy of a live query, for the realtime tests.

use super::ws::WsClient;
use serde_json::{json, Value as Json};
use ssot_realtime::diff::{apply, Row};

/// A subscriber's copy of one list subscription, kept by applying what the server sends.
pub struct Copy {
    pub sub: String,
    pub rows: Vec<Row>,
    pub seq: i64,
}

impl Copy {
    pub async fn subscribe(ws: &mut WsClient, sub: &str, channel: &str, args: Json) -> Copy {
        ws.send(json!({"type": "subscribe", "id": sub, "channel": channel, "args": args})).await;
        let subscribed = ws.next().await.expect("subscribed");
        assert_eq!(subscribed["type"], "subscribed", "{subscribed}");
        assert_eq!(subscribed["id"], sub);
        let rows = subscribed["data"].as_array().cloned().unwrap_or_default();
        Copy {
            sub: sub.into(),
            rows: rows.into_iter().map(|r| Row { id: r["id"].clone(), data: r }).collect(),
            seq: subscribed["seq"].as_i64().expect("seq"),
        }
    }

    /// Applies updates until the copy stands at `seq` or later; the events seen.
    pub async fn catch_up(&mut self, ws: &mut WsClient, seq: i64) -> Vec<Json> {
        let mut seen = Vec::new();
        while self.seq < seq {
            let update = ws.next().await.expect("an update");
            assert_eq!(update["type"], "update", "{update}");
            let new_seq = update["seq"].as_i64().expect("seq");
            assert!(new_seq > self.seq, "updates come in seq order: {update}");
            let events: Vec<Json> = update["events"]
                .as_array()
                .cloned()
                .unwrap_or_default()
                .into_iter()
                .filter(|e| e["sub"] == json!(self.sub))
                .collect();
            self.rows = apply(&self.rows, &events);
            self.seq = new_seq;
            seen.extend(events);
        }
        seen
    }

    pub fn data(&self) -> Vec<Json> {
        self.rows.iter().map(|r| r.data.clone()).collect()
    }
}
