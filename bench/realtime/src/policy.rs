//! The `policy` scenario: row changes checked against each subscriber's read rule on
//! their way into live queries.
//!
//! `--users` users sign up; `--subscribers` connections, each as one of them (in turn),
//! hold `Note:list` (the newest 10 notes they may read) under the rule
//! `published || ownerId == auth.id`, so each user's subscribers are a group of their own.
//! One writer sends `--writes` bulk creates of `--batch` notes at `--rate` per second:
//! one note in ten published, the others owned by random users. Every note is a row
//! change the hub decides for every group, in memory where it can.
//!
//! Reported: rows written per second; and for each bulk request and subscriber, the time
//! from just before the request to the first `update` that shows it or a later one (updates
//! come in commit order, so a window that skipped a request past has still seen it).

use crate::record::Recorder;
use crate::{open, rss_kib, Options};
use futures_util::{SinkExt, StreamExt};
use serde_json::json;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio_tungstenite::tungstenite::Message;

/// When each bulk request was sent, by its number.
type Sent = Arc<Mutex<Vec<Option<Instant>>>>;

pub async fn run(o: &Options) {
    let client = reqwest::Client::new();
    let ws_base = format!("{}/api/ws?token=", o.url.replacen("http", "ws", 1));
    let mut tokens = Vec::with_capacity(o.users);
    let mut owners = Vec::with_capacity(o.users);
    let signing_up = Instant::now();
    for u in 0..o.users {
        let body = json!({"email": format!("u{u}@bench.test"), "password": "bench password"});
        let answer = client
            .post(format!("{}/api/auth/signup", o.url))
            .header("content-type", "application/json")
            .body(body.to_string())
            .send()
            .await;
        let Ok(answer) = answer else { continue };
        let Ok(text) = answer.text().await else { continue };
        let Ok(session) = serde_json::from_str::<serde_json::Value>(&text) else { continue };
        if let (Some(token), Some(id)) = (session["accessToken"].as_str(), session["user"]["id"].as_str()) {
            tokens.push(token.to_string());
            owners.push(id.to_string());
        }
    }
    if tokens.is_empty() {
        eprintln!("policy: no user could sign up");
        return;
    }
    let signup_time = signing_up.elapsed();

    let sent: Sent = Arc::new(Mutex::new(vec![None; o.writes]));
    let latencies_tx = Arc::new(Recorder::new(o.writes * o.subscribers));
    let rss_before = rss_kib(o.pid);
    let mut ready = Vec::new();
    for i in 0..o.subscribers {
        let url = format!("{ws_base}{}", tokens[i % tokens.len()]);
        let (sent, latencies, o_writes) = (Arc::clone(&sent), Arc::clone(&latencies_tx), o.writes);
        let (up_tx, up_rx) = tokio::sync::oneshot::channel::<()>();
        ready.push(up_rx);
        tokio::spawn(async move {
            let Some(mut ws) = open(&url).await else {
                eprintln!("connect failed");
                return;
            };
            let args = json!({"orderBy": {"id": "desc"}, "take": 10});
            let subscribe = json!({"type": "subscribe", "id": "n", "channel": "Note:list", "args": args});
            let _ = ws.send(Message::Text(subscribe.to_string().into())).await;
            let mut up = Some(up_tx);
            // The next request this subscriber has not seen yet.
            let mut next = 0usize;
            while let Some(Ok(frame)) = ws.next().await {
                let Message::Text(text) = frame else { continue };
                let arrived = Instant::now();
                if text.contains("\"subscribed\"") {
                    if let Some(up) = up.take() {
                        let _ = up.send(());
                    }
                    continue;
                }
                if text.contains("\"reset\"") {
                    eprintln!("a subscriber fell behind and was reset");
                }
                let Some(newest) = newest_request(&text) else { continue };
                if newest < next || newest >= o_writes {
                    continue;
                }
                let sent = sent.lock().map(|s| s[next..=newest.min(s.len() - 1)].to_vec()).unwrap_or_default();
                for at in sent.into_iter().flatten() {
                    latencies.record(arrived.duration_since(at).as_secs_f64() * 1000.0, arrived);
                }
                next = newest + 1;
            }
        });
        if i % 64 == 63 {
            tokio::task::yield_now().await;
        }
    }
    for up in ready {
        let _ = up.await;
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let rss_after = rss_kib(o.pid);

    let interval = Duration::from_secs_f64(1.0 / o.rate.max(0.001));
    let writing = Instant::now();
    let mut write_ms = Vec::with_capacity(o.writes);
    let mut rows = 0usize;
    for w in 0..o.writes {
        tokio::time::sleep_until((writing + interval * w as u32).into()).await;
        let notes: Vec<serde_json::Value> = (0..o.batch)
            .map(|j| {
                let owner = &owners[(w * 7919 + j * 104_729) % owners.len()];
                json!({"ownerId": owner, "published": j % 10 == 0, "title": format!("w{w}-{j}")})
            })
            .collect();
        let at = Instant::now();
        if let Ok(mut s) = sent.lock() {
            s[w] = Some(at);
        }
        let response = client
            .post(format!("{}/api/notes/bulk", o.url))
            .header("authorization", format!("Bearer {}", o.key))
            .header("content-type", "application/json")
            .body(json!({"data": notes}).to_string())
            .send()
            .await;
        if response.is_ok_and(|r| r.status().as_u16() == 200) {
            rows += o.batch;
        } else {
            eprintln!("bulk write {w} failed");
        }
        write_ms.push(at.elapsed().as_secs_f64() * 1000.0);
    }
    let written_in = writing.elapsed().as_secs_f64();
    let expected = o.writes * o.subscribers;
    let (latencies, _) = latencies_tx.collect(expected, Instant::now() + Duration::from_secs(30)).await;
    write_ms.sort_by(f64::total_cmp);
    let pct = |v: &[f64], p: f64| v.get(((v.len() as f64 - 1.0) * p).round() as usize).copied().unwrap_or(f64::NAN);
    let per_conn = match (rss_before, rss_after) {
        (Some(a), Some(b)) if o.subscribers > 0 => {
            format!("{:.1} KiB", b.saturating_sub(a) as f64 / o.subscribers as f64)
        }
        _ => "n/a".into(),
    };
    println!(
        "scenario=policy users={} subscribers={} writes={}x{} rows rate={}/s | sign-up {:.1}s | rows written/s {:.0} | requests seen {}/{} | latency p50 {:.1} ms p99 {:.1} ms max {:.1} ms | bulk write p50 {:.1} ms p99 {:.1} ms | server RSS per subscribed connection {}",
        tokens.len(),
        o.subscribers,
        o.writes,
        o.batch,
        o.rate,
        signup_time.as_secs_f64(),
        rows as f64 / written_in.max(1e-9),
        latencies.len(),
        expected,
        pct(&latencies, 0.5),
        pct(&latencies, 0.99),
        latencies.last().copied().unwrap_or(f64::NAN),
        pct(&write_ms, 0.5),
        pct(&write_ms, 0.99),
        per_conn,
    );
}

/// The highest request number among the note titles (`w<request>-<row>`) in a frame.
fn newest_request(text: &str) -> Option<usize> {
    let mut newest = None;
    let mut rest = text;
    while let Some(at) = rest.find("\"title\":\"w") {
        rest = &rest[at + 10..];
        let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
        if let Ok(n) = digits.parse::<usize>() {
            newest = newest.max(Some(n));
        }
    }
    newest
}
