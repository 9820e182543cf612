//! `ssot-live-load`: many WebSocket subscribers against a running `ssot serve`, writes
//! over HTTP, and what it takes for each write to reach each subscriber.
//!
//! Scenarios (`--scenario`):
//! - `shared`: every subscriber holds the same live query (the newest 10 items); each
//!   write is delivered to all of them.
//! - `distinct`: subscriber `i` holds the items of owner `u{i}`; each write goes to one
//!   random owner, and is delivered to that one subscriber.
//!
//! - `resume`: every subscriber holds the same live query, misses a few writes while
//!   disconnected, and comes back with `since`: resumes per second, how many were
//!   replayed from memory, and the database jobs the comebacks cost.
//!
//! - `policy`: users' subscribers under a per-user read rule, and bulk writes of many
//!   rows: row changes checked per subscriber per second ([`policy`]).
//!
//! Latency is from just before the write's HTTP request to the arrival of the `update`
//! holding it, on the same clock. Subscribers are read by one polling thread ([`poller`];
//! `--reader task` for a task per socket). Also reported: deliveries per second while writing,
//! and the server's resident memory per connection (`--pid`, from `/proc`).
//!
//! Usage: ssot-live-load --url http://127.0.0.1:4420 --key ADMIN_KEY --scenario shared
//!        --subscribers 1000 --writes 200 --rate 50 [--pid PID]

use futures_util::{SinkExt, StreamExt};
use serde_json::json;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::Message;

mod policy;
mod poller;
mod raw;
mod record;

use record::Recorder;

pub(crate) struct Options {
    url: String,
    key: String,
    scenario: String,
    subscribers: usize,
    writes: usize,
    rate: f64,
    pid: Option<u32>,
    /// `pocketbase`: the same load against PocketBase's realtime (SSE) at `url`.
    peer: Option<String>,
    /// `policy`: users signed up, and rows per bulk write.
    users: usize,
    batch: usize,
    /// `shared`: the window's size (the newest `take` items). Writes that come faster than
    /// it can show (more than `take` between two updates) are never seen by design.
    take: usize,
    /// How ssot's subscribers are read: `poll` (one thread polling every socket, the
    /// default; see [`poller`]) or `task` (a task per socket, woken by its socket).
    reader: String,
}

fn options() -> Result<Options, String> {
    let mut o = Options {
        url: "http://127.0.0.1:4420".into(),
        key: String::new(),
        scenario: "shared".into(),
        subscribers: 100,
        writes: 100,
        rate: 50.0,
        pid: None,
        peer: None,
        users: 50,
        batch: 100,
        take: 10,
        reader: "poll".into(),
    };
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let value = args.next().ok_or_else(|| format!("{flag} needs a value"))?;
        let number = |v: &str| v.parse::<f64>().map_err(|e| format!("{flag}: {e}"));
        match flag.as_str() {
            "--url" => o.url = value,
            "--key" => o.key = value,
            "--scenario" => o.scenario = value,
            "--subscribers" => o.subscribers = number(&value)? as usize,
            "--writes" => o.writes = number(&value)? as usize,
            "--rate" => o.rate = number(&value)?,
            "--pid" => o.pid = Some(number(&value)? as u32),
            "--peer" => o.peer = Some(value),
            "--users" => o.users = number(&value)? as usize,
            "--batch" => o.batch = number(&value)? as usize,
            "--take" => o.take = number(&value)? as usize,
            "--reader" => o.reader = value,
            other => return Err(format!("unknown flag {other}")),
        }
    }
    Ok(o)
}

/// A text message a subscriber got: the latencies of the writes in it.
pub(crate) fn on_message(text: &[u8], sent: &Sent, arrived: Instant, latencies: &Recorder) {
    if contains(text, b"\"type\":\"reset\"") {
        eprintln!("a subscriber fell behind and was reset");
    }
    latencies_in(text, sent, arrived, latencies);
}

/// When each write (by its number, the `N` of its title `wN`) was sent.
pub(crate) type Sent = Arc<Vec<std::sync::OnceLock<Instant>>>;

/// The latency of each write whose title (`"title":"wN"`) is in `text`, from when it was
/// sent to `arrived`.
fn latencies_in(text: &[u8], sent: &Sent, arrived: Instant, latencies: &Recorder) {
    const MARK: &[u8] = b"\"title\":\"w";
    let mut at = 0;
    while let Some(found) = text[at..].windows(MARK.len()).position(|w| w == MARK) {
        at += found + MARK.len();
        let digits = text[at..].iter().take_while(|b| b.is_ascii_digit()).count();
        let number = std::str::from_utf8(&text[at..at + digits]).ok().and_then(|d| d.parse::<usize>().ok());
        if let Some(sent_at) = number.and_then(|n| sent.get(n)).and_then(|s| s.get()) {
            latencies.record(arrived.duration_since(*sent_at).as_secs_f64() * 1000.0, arrived);
        }
    }
}

pub(crate) fn rss_kib(pid: Option<u32>) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{}/status", pid?)).ok()?;
    status.lines().find(|l| l.starts_with("VmRSS:"))?.split_whitespace().nth(1)?.parse().ok()
}

#[tokio::main]
async fn main() {
    let o = match options() {
        Ok(o) => o,
        Err(e) => {
            eprintln!("ssot-live-load: {e}");
            std::process::exit(2);
        }
    };
    let ws_url = format!("{}/api/ws?token={}", o.url.replacen("http", "ws", 1), o.key);
    if o.scenario == "policy" {
        policy::run(&o).await;
        return;
    }
    if o.scenario == "resume" {
        resume(&o, &ws_url).await;
        return;
    }
    let sent: Sent = Arc::new((0..o.writes).map(|_| std::sync::OnceLock::new()).collect());
    let expected = match o.scenario.as_str() {
        "distinct" => o.writes,
        _ => o.writes * o.subscribers,
    };
    let latencies_tx = Arc::new(Recorder::new(expected));
    let rss_before = rss_kib(o.pid);

    // Connect and subscribe, a few at a time.
    let started = Instant::now();
    let mut ready = Vec::new();
    for i in 0..o.subscribers {
        let args = match o.scenario.as_str() {
            "distinct" => json!({"where": {"owner": format!("u{i}")}, "orderBy": {"id": "desc"}, "take": 10}),
            _ => json!({"orderBy": {"id": "desc"}, "take": o.take}),
        };
        let (sent, latencies, url) = (Arc::clone(&sent), Arc::clone(&latencies_tx), ws_url.clone());
        let (up_tx, up_rx) = tokio::sync::oneshot::channel::<Option<poller::Subscriber>>();
        ready.push(up_rx);
        if o.peer.as_deref() == Some("pocketbase") {
            tokio::spawn(pocketbase_subscriber(o.url.clone(), sent, latencies, up_tx, o.reader == "task"));
            continue;
        }
        let by_task = o.reader == "task";
        tokio::spawn(async move {
            let (address, path) = split_url(&url);
            let mut ws = match raw::RawSocket::connect(address, path).await {
                Ok(ws) => ws,
                Err(e) => {
                    eprintln!("connect: {e}");
                    drop(up_tx);
                    return;
                }
            };
            let subscribe = json!({"type": "subscribe", "id": "q", "channel": "Item:list", "args": args});
            if ws.send_text(&subscribe.to_string()).await.is_err() {
                return;
            }
            let mut subscribed = false;
            while !subscribed {
                let read = ws.read_messages(|text| subscribed |= contains(text, b"\"subscribed\""));
                if !matches!(read.await, Ok(true)) {
                    return;
                }
            }
            if !by_task {
                match ws.into_subscriber() {
                    Ok(subscriber) => drop(up_tx.send(Some(subscriber))),
                    Err(e) => eprintln!("poller: {e}"),
                }
                return;
            }
            let _ = up_tx.send(None);
            loop {
                let read = ws.read_messages(|text| on_message(text, &sent, Instant::now(), &latencies));
                if !matches!(read.await, Ok(true)) {
                    return;
                }
            }
        });
        if i % 64 == 63 {
            tokio::task::yield_now().await;
        }
    }
    let mut polled = Vec::new();
    for up in ready {
        if let Ok(Some(subscriber)) = up.await {
            polled.push(subscriber);
        }
    }
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let poller = (!polled.is_empty()).then(|| {
        let (sent, latencies, stop) = (Arc::clone(&sent), Arc::clone(&latencies_tx), Arc::clone(&stop));
        std::thread::spawn(move || poller::run(polled, sent, latencies, stop))
    });
    let connect_time = started.elapsed();
    tokio::time::sleep(Duration::from_millis(500)).await;
    let rss_after = rss_kib(o.pid);

    // Write at the rate asked, one item per request.
    let client = reqwest::Client::new();
    let interval = Duration::from_secs_f64(1.0 / o.rate.max(0.001));
    let writing = Instant::now();
    let mut write_ms = Vec::with_capacity(o.writes);
    for w in 0..o.writes {
        let due = writing + interval * w as u32;
        tokio::time::sleep_until(due.into()).await;
        let owner = match o.scenario.as_str() {
            "distinct" => format!("u{}", (w * 7919) % o.subscribers.max(1)),
            _ => "u0".to_string(),
        };
        let title = format!("w{w}");
        let at = Instant::now();
        let _ = sent[w].set(at);
        let body = json!({"owner": owner, "score": w, "title": title}).to_string();
        let path = match o.peer.as_deref() {
            Some("pocketbase") => "/api/collections/items/records",
            _ => "/api/items",
        };
        let response = client
            .post(format!("{}{path}", o.url))
            .header("authorization", format!("Bearer {}", o.key))
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await;
        if !response.is_ok_and(|r| matches!(r.status().as_u16(), 200 | 201)) {
            eprintln!("write {w} failed");
        }
        write_ms.push(at.elapsed().as_secs_f64() * 1000.0);
    }
    let (latencies, last) = latencies_tx.collect(expected, Instant::now() + Duration::from_secs(30)).await;
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    if let Some(poller) = poller {
        let _ = poller.join();
    }
    let last = last.max(writing);
    // From the first write to the last delivery (not to the deadline, when some never came).
    let elapsed = last.duration_since(writing).as_secs_f64().max(1e-9);
    write_ms.sort_by(f64::total_cmp);
    let pct = |v: &[f64], p: f64| v.get(((v.len() as f64 - 1.0) * p).round() as usize).copied().unwrap_or(f64::NAN);
    let per_conn = match (rss_before, rss_after) {
        (Some(a), Some(b)) if o.subscribers > 0 => {
            format!("{:.1} KiB", (b.saturating_sub(a)) as f64 / o.subscribers as f64)
        }
        _ => "n/a".into(),
    };
    println!(
        "{}scenario={} subscribers={} writes={} rate={}/s | connect {:.1}s | deliveries {}/{} | latency p50 {:.1} ms p99 {:.1} ms max {:.1} ms | deliveries/s {:.0} | write p50 {:.1} ms p99 {:.1} ms | server RSS per subscribed connection {}",
        o.peer.as_deref().map(|p| format!("peer={p} ")).unwrap_or_default(),
        o.scenario,
        o.subscribers,
        o.writes,
        o.rate,
        connect_time.as_secs_f64(),
        latencies.len(),
        expected,
        pct(&latencies, 0.5),
        pct(&latencies, 0.99),
        latencies.last().copied().unwrap_or(f64::NAN),
        latencies.len() as f64 / elapsed,
        pct(&write_ms, 0.5),
        pct(&write_ms, 0.99),
        per_conn,
    );
}

/// Whether `needle` occurs in `haystack`.
fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

/// `ws://host:port/path?query` as the address and the path with its query.
fn split_url(url: &str) -> (&str, &str) {
    let rest = url.split_once("://").map_or(url, |(_, rest)| rest);
    rest.split_once('/').map_or((rest, "/"), |(address, _)| (address, &rest[address.len()..]))
}

type Socket = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

pub(crate) async fn open(url: &str) -> Option<Socket> {
    let mut request = url.into_client_request().ok()?;
    request.headers_mut().insert("sec-websocket-protocol", "ssot.v1".parse().ok()?);
    Some(tokio_tungstenite::connect_async(request).await.ok()?.0)
}

/// The `seq` in a message's text (the last one, for a frame of several).
fn seq_in(text: &str) -> Option<i64> {
    let at = text.rfind("\"seq\":")? + 6;
    let digits: String = text[at..].chars().take_while(char::is_ascii_digit).collect();
    digits.parse().ok()
}

/// Reads until a message of `kind` comes; the text.
async fn until(ws: &mut Socket, kind: &str) -> Option<String> {
    let marker = format!("\"type\":\"{kind}\"");
    loop {
        match tokio::time::timeout(Duration::from_secs(30), ws.next()).await.ok()?? {
            Ok(Message::Text(text)) if text.contains(&marker) => return Some(text.to_string()),
            Ok(_) => {}
            Err(_) => return None,
        }
    }
}

async fn db_jobs(client: &reqwest::Client, url: &str) -> u64 {
    let Ok(response) = client.get(format!("{url}/metrics")).send().await else { return 0 };
    let text = response.text().await.unwrap_or_default();
    text.lines()
        .find(|l| l.starts_with("ssot_db_jobs_total "))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

async fn resume(o: &Options, ws_url: &str) {
    let args = json!({"orderBy": {"id": "desc"}, "take": 10});
    let subscribe = |since: Option<i64>| {
        let mut m = json!({"type": "subscribe", "id": "q", "channel": "Item:list", "args": args});
        if let Some(since) = since {
            m["since"] = json!(since);
        }
        Message::Text(m.to_string().into())
    };
    // Connect and subscribe everyone; remember each one's seq.
    let mut sockets = Vec::with_capacity(o.subscribers);
    let mut seqs = Vec::with_capacity(o.subscribers);
    for _ in 0..o.subscribers {
        let Some(mut ws) = open(ws_url).await else { continue };
        let _ = ws.send(subscribe(None)).await;
        let Some(text) = until(&mut ws, "subscribed").await else { continue };
        seqs.push(seq_in(&text).unwrap_or(0));
        sockets.push(ws);
    }
    // Everyone goes away; a few writes happen meanwhile.
    for ws in &mut sockets {
        let _ = ws.close(None).await;
    }
    drop(sockets);
    let client = reqwest::Client::new();
    for w in 0..o.writes {
        let body = json!({"owner": "u0", "score": w, "title": format!("w{w}")}).to_string();
        let _ = client
            .post(format!("{}/api/items", o.url))
            .header("authorization", format!("Bearer {}", o.key))
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await;
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    // Everyone comes back with `since`, all at once.
    let jobs_before = db_jobs(&client, &o.url).await;
    let started = Instant::now();
    let mut comebacks = Vec::with_capacity(seqs.len());
    for since in seqs {
        let (url, message) = (ws_url.to_string(), subscribe(Some(since)));
        comebacks.push(tokio::spawn(async move {
            let mut ws = open(&url).await?;
            ws.send(message).await.ok()?;
            let text = until(&mut ws, "subscribed").await?;
            Some((text.contains("\"resumed\":true"), ws))
        }));
    }
    let (mut resumed, mut reset, mut kept) = (0, 0, Vec::new());
    for comeback in comebacks {
        match comeback.await.ok().flatten() {
            Some((true, ws)) => {
                resumed += 1;
                kept.push(ws);
            }
            Some((false, ws)) => {
                reset += 1;
                kept.push(ws);
            }
            None => {}
        }
    }
    let elapsed = started.elapsed().as_secs_f64();
    let jobs = db_jobs(&client, &o.url).await.saturating_sub(jobs_before);
    println!(
        "scenario=resume subscribers={} missed writes={} | comebacks {} in {:.2}s: {:.0}/s | replayed from memory {} reset {} | database jobs during the comebacks {} ({:.3} per comeback)",
        o.subscribers,
        o.writes,
        resumed + reset,
        elapsed,
        (resumed + reset) as f64 / elapsed.max(1e-9),
        resumed,
        reset,
        jobs,
        jobs as f64 / f64::from((resumed + reset).max(1)),
    );
}

/// One subscriber of PocketBase's realtime: an SSE stream (`GET /api/realtime`), its
/// client id, and a subscription to the `items` collection (`POST /api/realtime`); then
/// the titles of created records found in the stream, as for ssot.
async fn pocketbase_subscriber(
    base: String,
    sent: Sent,
    latencies: Arc<Recorder>,
    up: tokio::sync::oneshot::Sender<Option<poller::Subscriber>>,
    by_task: bool,
) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let host = base.trim_start_matches("http://").to_string();
    let Ok(mut stream) = tokio::net::TcpStream::connect(&host).await else {
        eprintln!("pocketbase: connect failed");
        return;
    };
    let request = format!("GET /api/realtime HTTP/1.1\r\nHost: {host}\r\nAccept: text/event-stream\r\n\r\n");
    if stream.write_all(request.as_bytes()).await.is_err() {
        return;
    }
    let mut buffer = String::new();
    let mut chunk = vec![0u8; 16 * 1024];
    let mut up = Some(up);
    loop {
        let Ok(n) = stream.read(&mut chunk).await else { return };
        if n == 0 {
            return;
        }
        let arrived = Instant::now();
        buffer.push_str(&String::from_utf8_lossy(&chunk[..n]));
        if let Some(up_tx) = up.take() {
            let Some(at) = buffer.find("\"clientId\":\"") else {
                up = Some(up_tx);
                continue;
            };
            let rest = &buffer[at + 12..];
            let id: String = rest.chars().take_while(|c| *c != '"').collect();
            let body = json!({"clientId": id, "subscriptions": ["items"]}).to_string();
            let client = reqwest::Client::new();
            let answer = client
                .post(format!("{base}/api/realtime"))
                .header("content-type", "application/json")
                .body(body)
                .send()
                .await;
            if !answer.is_ok_and(|r| r.status().is_success()) {
                eprintln!("pocketbase: subscribe failed");
            }
            if !by_task {
                match stream.into_std() {
                    Ok(stream) => {
                        let framing = poller::Framing::Sse;
                        let _ = up_tx.send(Some(poller::Subscriber { stream, pending: Vec::new(), framing }));
                    }
                    Err(e) => eprintln!("poller: {e}"),
                }
                return;
            }
            let _ = up_tx.send(None);
            buffer.clear();
            continue;
        }
        // Whole events only (an event ends with a blank line); a tail cut between two
        // reads waits for the next.
        let complete = buffer.rfind("\n\n").map_or(0, |i| i + 2);
        latencies_in(&buffer.as_bytes()[..complete], &sent, arrived, &latencies);
        buffer.drain(..complete);
    }
}
