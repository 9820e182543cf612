//! An instance killed with SIGKILL while it takes writes: no acknowledged write is lost,
//! and its subscriber reconnects to another instance on the same PostgreSQL database and
//! converges to exactly what the database holds, with no gap and no duplicate.

mod serving;

use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value as Json};
use serving::Serving;
use std::collections::BTreeSet;
use std::time::{Duration, Instant};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::Message;

const SCHEMA: &str = r#"
datasource db {
  provider = "postgresql"
  url      = env("DATABASE_URL")
}

/// @@realtime(subscribe: ["list"], permissions: { list: "true" })
/// @@policy("read", rule: "true")
/// @@policy("create", rule: "true")
model Item {
  id    Int    @id @default(autoincrement())
  title String
}
"#;

type Socket = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

async fn connect(address: &str) -> Socket {
    let mut request = format!("ws://{address}/api/ws?token=key").into_client_request().expect("url");
    request.headers_mut().insert("sec-websocket-protocol", "ssot.v1".parse().expect("header"));
    tokio_tungstenite::connect_async(request).await.expect("connect").0
}

/// The subscriber's copy: titles by id, and the seq of the last message that carried it.
/// (Events are applied one by one: here rows are only ever created, at the end of the
/// list, so that gives what the protocol's two passes give.)
#[derive(Default)]
struct Copy {
    rows: Vec<(i64, String)>,
    seq: i64,
}

impl Copy {
    fn apply(&mut self, message: &Json) {
        let rows_of = |data: &Json| -> Vec<(i64, String)> {
            data.as_array()
                .into_iter()
                .flatten()
                .map(|r| (r["id"].as_i64().unwrap_or(-1), r["title"].as_str().unwrap_or_default().to_string()))
                .collect()
        };
        let events: Vec<Json> = match message["type"].as_str() {
            Some("subscribed") if message["resumed"] == true => message["replay"]
                .as_array()
                .into_iter()
                .flatten()
                .flat_map(|s| s["events"].as_array().cloned().unwrap_or_default())
                .collect(),
            Some("subscribed") => {
                self.rows = rows_of(&message["data"]);
                Vec::new()
            }
            Some("update") => message["events"].as_array().cloned().unwrap_or_default(),
            _ => return,
        };
        for e in events {
            let id = e["id"].as_i64().unwrap_or(-1);
            self.rows.retain(|(i, _)| *i != id);
            if let Some(row) = e.get("row") {
                let at = e["index"].as_u64().map_or(self.rows.len(), |i| i as usize).min(self.rows.len());
                self.rows.insert(at, (id, row["title"].as_str().unwrap_or_default().to_string()));
            }
        }
        if let Some(seq) = message["seq"].as_i64() {
            self.seq = seq;
        }
    }
}

/// Reads the socket into `copy` until `done` holds or `wait` passes without a message.
async fn read_until(ws: &mut Socket, copy: &mut Copy, wait: Duration, done: impl Fn(&Copy) -> bool) -> bool {
    while !done(copy) {
        match tokio::time::timeout(wait, ws.next()).await {
            Ok(Some(Ok(Message::Text(text)))) => {
                let value: Json = serde_json::from_str(&text).expect("JSON");
                match value {
                    Json::Array(messages) => messages.iter().for_each(|m| copy.apply(m)),
                    message => copy.apply(&message),
                }
            }
            Ok(Some(Ok(_))) => {}
            _ => return false,
        }
    }
    true
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_instance_loses_nothing_and_its_subscriber_resumes_elsewhere() {
    let Some(database) = ssot_testkit::TestDatabase::create("failover") else { return };
    let dir = tempfile::tempdir().expect("temp dir");
    let schema = dir.path().join("schema.prisma");
    std::fs::write(&schema, SCHEMA).expect("write schema");
    let schema = schema.to_str().unwrap_or_default().to_string();
    let migrated = std::process::Command::new(env!("CARGO_BIN_EXE_ssot"))
        .args(["migrate", &schema, "--database", &database.url])
        .output()
        .expect("migrate");
    assert_eq!(migrated.status.code(), Some(0), "{}", String::from_utf8_lossy(&migrated.stderr));
    let args = ["--database", database.url.as_str(), "--listen", "127.0.0.1:0", "--admin-key", "key"];
    let first = Serving::start(&schema, &args, &[]);
    let second = Serving::start(&schema, &args, &[]);
    let (a, b) = (first.address(), second.address());

    let mut ws = connect(&a).await;
    let subscribe = json!({"type": "subscribe", "id": "all", "channel": "Item:list", "args": {"orderBy": {"id": "asc"}, "take": 1000}});
    ws.send(Message::Text(subscribe.to_string().into())).await.expect("subscribe");
    let mut copy = Copy::default();

    // Writes to the first instance; it is killed half-way, with writes in flight.
    let http = reqwest::Client::new();
    let acknowledged = std::sync::Arc::new(std::sync::Mutex::new(BTreeSet::new()));
    let writer = {
        let (http, acknowledged, a, b) = (http.clone(), std::sync::Arc::clone(&acknowledged), a.clone(), b.clone());
        tokio::spawn(async move {
            for i in 0..200 {
                // After the kill the writer goes on against the second instance.
                let target = if i < 100 { &a } else { &b };
                let body = json!({"title": format!("t{i}")}).to_string();
                let response = http
                    .post(format!("http://{target}/api/items"))
                    .header("authorization", "Bearer key")
                    .header("content-type", "application/json")
                    .body(body)
                    .send()
                    .await;
                if let Ok(response) = response {
                    if response.status().as_u16() == 201 {
                        if let Ok(text) = response.text().await {
                            let row: Json = serde_json::from_str(&text).unwrap_or_default();
                            if let Ok(mut set) = acknowledged.lock() {
                                set.insert(row["id"].as_i64().unwrap_or(-1));
                            }
                        }
                    }
                }
            }
        })
    };
    // Let some writes through, then kill the first instance without warning.
    let waited = Instant::now();
    while acknowledged.lock().map(|s| s.len()).unwrap_or(0) < 40 && waited.elapsed() < Duration::from_secs(20) {
        read_until(&mut ws, &mut copy, Duration::from_millis(20), |_| false).await;
    }
    first.kill();
    // The subscriber sees its connection end, and comes back on the second instance.
    read_until(&mut ws, &mut copy, Duration::from_secs(5), |_| false).await;
    let mut ws = connect(&b).await;
    let resume = json!({"type": "subscribe", "id": "all", "channel": "Item:list", "since": copy.seq,
        "args": {"orderBy": {"id": "asc"}, "take": 1000}});
    ws.send(Message::Text(resume.to_string().into())).await.expect("resubscribe");
    writer.await.expect("writer");

    // What the database holds, read on the second instance.
    let list = http
        .get(format!("http://{b}/api/items?take=1000&orderBy=%7B%22id%22%3A%22asc%22%7D"))
        .header("authorization", "Bearer key")
        .send()
        .await
        .expect("list");
    let list: Json = serde_json::from_str(&list.text().await.expect("body")).expect("JSON");
    let stored: Vec<(i64, String)> = list["data"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|r| (r["id"].as_i64().unwrap_or(-1), r["title"].as_str().unwrap_or_default().to_string()))
        .collect();
    let ids: BTreeSet<i64> = stored.iter().map(|(id, _)| *id).collect();
    let acknowledged = acknowledged.lock().map(|s| s.clone()).unwrap_or_default();
    assert!(acknowledged.len() >= 140, "most writes were acknowledged: {}", acknowledged.len());
    assert!(acknowledged.is_subset(&ids), "every acknowledged write is stored: {:?}", acknowledged.difference(&ids));
    // The subscriber converges to exactly that: nothing missing, nothing twice.
    let converged = read_until(&mut ws, &mut copy, Duration::from_secs(10), |c| c.rows == stored).await;
    assert!(converged, "the copy ({} rows) equals the database ({} rows)", copy.rows.len(), stored.len());
    second.stop();
}
