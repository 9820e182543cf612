//! A real webhook receiver for the services' tests: HTTP/1.1 on 127.0.0.1 (keep-alive,
//! content-length bodies), failing at random from a seed, answering slowly sometimes, able
//! to go away and come back on the same port. It records every request it answered, and
//! verifies Standard Webhooks signatures.
#![allow(dead_code)]

use base64::Engine;
use hmac::{KeyInit, Mac};
use serde_json::Value as Json;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};

/// The signing secret the tests give their services (a Standard Webhooks `whsec_` key).
pub const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

/// One request as received, and what it was answered.
#[derive(Debug, Clone)]
pub struct Received {
    pub path: String,
    pub headers: Vec<(String, String)>,
    pub body: String,
    pub status: u16,
    /// When the request arrived (its answer may have gone later, or too late).
    pub at: Instant,
}

impl Received {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }

    pub fn json(&self) -> Json {
        serde_json::from_str(&self.body).unwrap_or(Json::Null)
    }

    pub fn accepted(&self) -> bool {
        (200..300).contains(&self.status)
    }
}

/// How it answers: a status for a request (from the seeded random numbers), and a delay.
#[derive(Clone)]
pub struct Behaviour {
    /// Share of requests answered 500.
    pub fail: f64,
    /// Share of requests answered after `slow_for`.
    pub slow: f64,
    pub slow_for: Duration,
    /// Requests whose body contains this are always answered 500 (a poison event).
    pub poison: Option<String>,
    /// An action's answer: (status, content type, body) for a request to `/actions/...`.
    pub action: Option<(u16, &'static str, String)>,
    /// Requests whose body contains this are answered 410 Gone (an endpoint removed).
    pub gone: Option<String>,
}

impl Default for Behaviour {
    fn default() -> Behaviour {
        Behaviour { fail: 0.0, slow: 0.0, slow_for: Duration::from_millis(0), poison: None, action: None, gone: None }
    }
}

struct State {
    received: Vec<Received>,
    behaviour: Behaviour,
    rng: u64,
}

pub struct Receiver {
    pub port: u16,
    state: Arc<Mutex<State>>,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl Receiver {
    pub async fn start(seed: u64, behaviour: Behaviour) -> Receiver {
        let state = Arc::new(Mutex::new(State { received: Vec::new(), behaviour, rng: seed.max(1) }));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let port = listener.local_addr().expect("address").port();
        let task = Some(tokio::spawn(accept(listener, Arc::clone(&state))));
        Receiver { port, state, task }
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}/hooks", self.port)
    }

    pub fn base_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Goes away: the port refuses connections (and open connections are dropped).
    pub fn down(&mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }

    /// Comes back on the same port.
    pub async fn up(&mut self) {
        let listener = loop {
            match tokio::net::TcpListener::bind(("127.0.0.1", self.port)).await {
                Ok(l) => break l,
                Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
            }
        };
        self.task = Some(tokio::spawn(accept(listener, Arc::clone(&self.state))));
    }

    pub fn set(&self, behaviour: Behaviour) {
        self.state.lock().expect("lock").behaviour = behaviour;
    }

    pub fn received(&self) -> Vec<Received> {
        self.state.lock().expect("lock").received.clone()
    }

    /// Waits until `done` holds for what was received, at most `wait`.
    pub async fn wait_for(&self, wait: Duration, done: impl Fn(&[Received]) -> bool) -> bool {
        let until = Instant::now() + wait;
        while Instant::now() < until {
            if done(&self.received()) {
                return true;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        done(&self.received())
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.down();
    }
}

async fn accept(listener: tokio::net::TcpListener, state: Arc<Mutex<State>>) {
    let mut connections = tokio::task::JoinSet::new();
    while let Ok((stream, _)) = listener.accept().await {
        connections.spawn(connection(stream, Arc::clone(&state)));
    }
}

async fn connection(stream: tokio::net::TcpStream, state: Arc<Mutex<State>>) {
    let (read, mut write) = stream.into_split();
    let mut read = BufReader::new(read);
    loop {
        let mut request_line = String::new();
        if read.read_line(&mut request_line).await.unwrap_or(0) == 0 {
            return;
        }
        let path = request_line.split_whitespace().nth(1).unwrap_or_default().to_string();
        let mut headers = Vec::new();
        loop {
            let mut line = String::new();
            if read.read_line(&mut line).await.unwrap_or(0) == 0 {
                return;
            }
            let line = line.trim_end();
            if line.is_empty() {
                break;
            }
            if let Some((k, v)) = line.split_once(':') {
                headers.push((k.trim().to_string(), v.trim().to_string()));
            }
        }
        let length: usize = headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case("content-length"))
            .and_then(|(_, v)| v.parse().ok())
            .unwrap_or(0);
        let mut body = vec![0u8; length];
        if read.read_exact(&mut body).await.is_err() {
            return;
        }
        let body = String::from_utf8_lossy(&body).into_owned();
        let arrived = Instant::now();
        let (status, delay, content_type, answer) = {
            let mut s = state.lock().expect("lock");
            let (fail_roll, slow_roll) = (next(&mut s.rng), next(&mut s.rng));
            let b = s.behaviour.clone();
            let poisoned = b.poison.as_ref().is_some_and(|p| body.contains(p.as_str()));
            let delay = if slow_roll < b.slow { b.slow_for } else { Duration::ZERO };
            match (&b.action, path.starts_with("/actions/")) {
                (Some((status, ct, answer)), true) => (*status, delay, *ct, answer.clone()),
                _ if b.gone.as_ref().is_some_and(|g| body.contains(g.as_str())) => {
                    (410, delay, "text/plain", "gone".to_string())
                }
                _ if poisoned || fail_roll < b.fail => (500, delay, "text/plain", "no".to_string()),
                _ => (200, delay, "application/json", "{}".to_string()),
            }
        };
        if !delay.is_zero() {
            tokio::time::sleep(delay).await;
        }
        state.lock().expect("lock").received.push(Received { path, headers, body, status, at: arrived });
        let reason = if status < 300 { "OK" } else { "Error" };
        let response = format!(
            "HTTP/1.1 {status} {reason}\r\ncontent-type: {content_type}\r\ncontent-length: {}\r\n\r\n{answer}",
            answer.len()
        );
        if write.write_all(response.as_bytes()).await.is_err() {
            return;
        }
    }
}

/// xorshift64: a seeded sequence in [0, 1).
fn next(state: &mut u64) -> f64 {
    let mut x = *state;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    *state = x;
    (x >> 11) as f64 / (1u64 << 53) as f64
}

/// Whether `received` carries a valid Standard Webhooks signature for `secret` (given as
/// `whsec_<base64>`), over `signed` (its body, or what an action signs).
pub fn verify(secret: &str, received: &Received, signed: &str) -> bool {
    let Some(key) =
        secret.strip_prefix("whsec_").and_then(|b| base64::engine::general_purpose::STANDARD.decode(b).ok())
    else {
        return false;
    };
    let (Some(id), Some(timestamp), Some(signature)) =
        (received.header("webhook-id"), received.header("webhook-timestamp"), received.header("webhook-signature"))
    else {
        return false;
    };
    let Ok(mut mac) = hmac::Hmac::<sha2::Sha256>::new_from_slice(&key) else { return false };
    mac.update(format!("{id}.{timestamp}.{signed}").as_bytes());
    let expected = format!("v1,{}", base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes()));
    signature.split(' ').any(|s| s == expected)
}
