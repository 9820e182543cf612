//! A minimal core-NATS client over one TCP connection: the text protocol's frames
//! ([`Parser`]), the handshake (`INFO`, `CONNECT`, `PING`/`PONG`), one subscription, and
//! publishing. [`run`] keeps the connection up: it reconnects with backoff when the
//! connection drops, and drops what is published meanwhile (the bus carries ephemeral
//! messages; the change log is re-read after a reconnect). No TLS, no JetStream.

use serde_json::json;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::mpsc;

/// The largest frame accepted from the server (NATS's default `max_payload` is 1 MiB).
const MAX_FRAME: usize = 8 << 20;
/// How long a connection may stay silent before it is considered dead (the client pings
/// every third of that).
const SILENCE: Duration = Duration::from_secs(15);
/// The longest wait between two connection attempts.
const MAX_BACKOFF: Duration = Duration::from_secs(5);

#[derive(Debug, thiserror::Error)]
pub enum NatsError {
    #[error("NATS connection: {0}")]
    Io(#[from] std::io::Error),
    #[error("NATS protocol: {0}")]
    Protocol(String),
    #[error("NATS server: {0}")]
    Server(String),
    #[error("the NATS server closed the connection")]
    Closed,
}

/// Where and how to connect.
#[derive(Clone, PartialEq, Eq)]
pub struct Endpoint {
    /// `host:port`.
    pub address: String,
    pub user: Option<String>,
    pub pass: Option<String>,
    pub token: Option<String>,
}

/// Never shows the password or the token: settings may be printed whole.
impl std::fmt::Debug for Endpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let hidden = |secret: &Option<String>| secret.as_ref().map(|_| "<hidden>");
        f.debug_struct("Endpoint")
            .field("address", &self.address)
            .field("user", &self.user)
            .field("pass", &hidden(&self.pass))
            .field("token", &hidden(&self.token))
            .finish()
    }
}

/// One frame from the server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Frame {
    Info(String),
    Msg { subject: String, sid: String, reply: Option<String>, payload: Vec<u8> },
    Ping,
    Pong,
    Ok,
    Err(String),
}

/// Splits the bytes read from the server into frames, however the reads cut them.
#[derive(Debug, Default)]
pub struct Parser {
    buffer: Vec<u8>,
}

impl Parser {
    pub fn push(&mut self, bytes: &[u8]) {
        self.buffer.extend_from_slice(bytes);
    }

    /// The next complete frame, `None` when more bytes are needed.
    pub fn next_frame(&mut self) -> Result<Option<Frame>, NatsError> {
        let Some(end) = self.buffer.windows(2).position(|w| w == b"\r\n") else {
            if self.buffer.len() > MAX_FRAME {
                return Err(NatsError::Protocol("a line longer than any frame".into()));
            }
            return Ok(None);
        };
        let line = String::from_utf8_lossy(&self.buffer[..end]).into_owned();
        let (op, rest) = line.split_once([' ', '\t']).unwrap_or((line.as_str(), ""));
        let rest = rest.trim();
        let frame = match op.to_ascii_uppercase().as_str() {
            "MSG" => {
                let parts: Vec<&str> = rest.split_whitespace().collect();
                let (subject, sid, reply, size) = match parts.as_slice() {
                    [subject, sid, size] => (*subject, *sid, None, *size),
                    [subject, sid, reply, size] => (*subject, *sid, Some(reply.to_string()), *size),
                    _ => return Err(NatsError::Protocol(format!("malformed MSG: {line}"))),
                };
                let size: usize =
                    size.parse().map_err(|_| NatsError::Protocol(format!("malformed MSG size: {line}")))?;
                if size > MAX_FRAME {
                    return Err(NatsError::Protocol(format!("a message of {size} bytes")));
                }
                let start = end + 2;
                // The payload and its own line end must be there too.
                if self.buffer.len() < start + size + 2 {
                    return Ok(None);
                }
                if &self.buffer[start + size..start + size + 2] != b"\r\n" {
                    return Err(NatsError::Protocol("a message payload not followed by CRLF".into()));
                }
                let payload = self.buffer[start..start + size].to_vec();
                let frame = Frame::Msg { subject: subject.to_string(), sid: sid.to_string(), reply, payload };
                self.buffer.drain(..start + size + 2);
                return Ok(Some(frame));
            }
            "INFO" => Frame::Info(rest.to_string()),
            "PING" => Frame::Ping,
            "PONG" => Frame::Pong,
            "+OK" => Frame::Ok,
            "-ERR" => Frame::Err(rest.trim_matches('\'').to_string()),
            _ => return Err(NatsError::Protocol(format!("unknown operation: {line}"))),
        };
        self.buffer.drain(..end + 2);
        Ok(Some(frame))
    }
}

/// `PUB subject len\r\npayload\r\n`.
pub fn publish_frame(subject: &str, payload: &[u8]) -> Vec<u8> {
    let mut frame = format!("PUB {subject} {}\r\n", payload.len()).into_bytes();
    frame.extend_from_slice(payload);
    frame.extend_from_slice(b"\r\n");
    frame
}

/// A message received on the subscription.
#[derive(Debug)]
pub struct Received {
    pub subject: String,
    pub payload: Vec<u8>,
}

/// What the connection task tells its owner.
#[derive(Debug)]
pub enum Event {
    /// A connection was (re)established and subscribed: messages may have been missed.
    Connected,
    Message(Received),
}

/// An open connection: the socket and what was read past the handshake.
struct Connection {
    socket: TcpStream,
    parser: Parser,
}

impl Connection {
    /// Connects, reads `INFO`, sends `CONNECT` and subscribes to `subject`; the `PONG`
    /// to a `PING` sent after them proves the server accepted both.
    async fn open(endpoint: &Endpoint, subject: &str) -> Result<Connection, NatsError> {
        let socket = tokio::time::timeout(SILENCE, TcpStream::connect(&endpoint.address))
            .await
            .map_err(|_| NatsError::Protocol("connection timed out".into()))??;
        let _ = socket.set_nodelay(true);
        let mut connection = Connection { socket, parser: Parser::default() };
        match connection.read_frame().await? {
            Frame::Info(info) => {
                let info: serde_json::Value = serde_json::from_str(&info).unwrap_or_default();
                if info["tls_required"] == true {
                    return Err(NatsError::Protocol("the server requires TLS, which ssot's bus does not speak".into()));
                }
            }
            other => return Err(NatsError::Protocol(format!("expected INFO, got {other:?}"))),
        }
        let mut options = json!({"verbose": false, "pedantic": false, "name": "ssot", "lang": "rust", "version": env!("CARGO_PKG_VERSION"), "protocol": 1, "echo": false});
        if let Some(user) = &endpoint.user {
            options["user"] = json!(user);
        }
        if let Some(pass) = &endpoint.pass {
            options["pass"] = json!(pass);
        }
        if let Some(token) = &endpoint.token {
            options["auth_token"] = json!(token);
        }
        let hello = format!("CONNECT {options}\r\nSUB {subject} 1\r\nPING\r\n");
        connection.socket.write_all(hello.as_bytes()).await?;
        loop {
            match connection.read_frame().await? {
                Frame::Pong => return Ok(connection),
                Frame::Err(e) => return Err(NatsError::Server(e)),
                Frame::Ping => connection.socket.write_all(b"PONG\r\n").await?,
                _ => {}
            }
        }
    }

    async fn read_frame(&mut self) -> Result<Frame, NatsError> {
        loop {
            if let Some(frame) = self.parser.next_frame()? {
                return Ok(frame);
            }
            let mut chunk = [0u8; 16 * 1024];
            let read = tokio::time::timeout(SILENCE, self.socket.read(&mut chunk))
                .await
                .map_err(|_| NatsError::Protocol("the server did not answer".into()))??;
            if read == 0 {
                return Err(NatsError::Closed);
            }
            self.parser.push(&chunk[..read]);
        }
    }
}

/// Keeps a connection to `endpoint` subscribed to `subject` until `outgoing` closes:
/// publishes what `outgoing` yields (subject, payload) and hands received messages and
/// reconnections to `events`.
pub async fn run(
    endpoint: Endpoint,
    subject: String,
    mut outgoing: mpsc::Receiver<(String, Vec<u8>)>,
    events: mpsc::Sender<Event>,
) {
    let mut backoff = Duration::from_millis(100);
    loop {
        match Connection::open(&endpoint, &subject).await {
            Ok(connection) => {
                tracing::info!(server = %endpoint.address, "bus: connected to NATS");
                backoff = Duration::from_millis(100);
                if events.send(Event::Connected).await.is_err() {
                    return;
                }
                match serve(connection, &mut outgoing, &events).await {
                    Ok(()) => return,
                    Err(e) => {
                        tracing::warn!(error = %e, server = %endpoint.address, "bus: NATS connection lost; reconnecting")
                    }
                }
            }
            Err(e) => {
                tracing::warn!(error = %e, server = %endpoint.address, retry_ms = backoff.as_millis() as u64, "bus: cannot connect to NATS")
            }
        }
        // Messages published while disconnected are dropped: they are ephemeral.
        let wait = tokio::time::sleep(backoff);
        tokio::pin!(wait);
        loop {
            tokio::select! {
                () = &mut wait => break,
                message = outgoing.recv() => if message.is_none() { return },
            }
        }
        backoff = (backoff * 2).min(MAX_BACKOFF);
    }
}

/// Reads and writes on one connection until it fails (`Err`) or `outgoing` closes (`Ok`).
async fn serve(
    mut connection: Connection,
    outgoing: &mut mpsc::Receiver<(String, Vec<u8>)>,
    events: &mpsc::Sender<Event>,
) -> Result<(), NatsError> {
    let mut ping = tokio::time::interval(SILENCE / 3);
    ping.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut heard = tokio::time::Instant::now();
    let mut chunk = vec![0u8; 64 * 1024];
    loop {
        // Frames already read come first.
        while let Some(frame) = connection.parser.next_frame()? {
            match frame {
                Frame::Msg { subject, payload, .. } => {
                    if events.send(Event::Message(Received { subject, payload })).await.is_err() {
                        return Ok(());
                    }
                }
                Frame::Ping => connection.socket.write_all(b"PONG\r\n").await?,
                Frame::Err(e) => return Err(NatsError::Server(e)),
                Frame::Info(_) | Frame::Pong | Frame::Ok => {}
            }
        }
        tokio::select! {
            read = connection.socket.read(&mut chunk) => {
                let read = read?;
                if read == 0 {
                    return Err(NatsError::Closed);
                }
                heard = tokio::time::Instant::now();
                connection.parser.push(&chunk[..read]);
            }
            message = outgoing.recv() => {
                let Some((subject, payload)) = message else { return Ok(()) };
                connection.socket.write_all(&publish_frame(&subject, &payload)).await?;
            }
            _ = ping.tick() => {
                if heard.elapsed() > SILENCE {
                    return Err(NatsError::Protocol("the server stopped answering pings".into()));
                }
                connection.socket.write_all(b"PING\r\n").await?;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frames(parser: &mut Parser) -> Vec<Frame> {
        let mut out = Vec::new();
        while let Some(frame) = parser.next_frame().expect("valid frames") {
            out.push(frame);
        }
        out
    }

    #[test]
    fn frames_split_anywhere_are_put_back_together() {
        let wire = b"INFO {\"server_id\":\"x\"}\r\nPING\r\nMSG ssot.a 1 5\r\nhe\r\no\r\n+OK\r\nPONG\r\n";
        for cut in 0..wire.len() {
            let mut parser = Parser::default();
            let mut got = Vec::new();
            parser.push(&wire[..cut]);
            got.extend(frames(&mut parser));
            parser.push(&wire[cut..]);
            got.extend(frames(&mut parser));
            assert_eq!(
                got,
                vec![
                    Frame::Info("{\"server_id\":\"x\"}".into()),
                    Frame::Ping,
                    Frame::Msg { subject: "ssot.a".into(), sid: "1".into(), reply: None, payload: b"he\r\no".to_vec() },
                    Frame::Ok,
                    Frame::Pong,
                ],
                "cut at {cut}"
            );
        }
    }

    #[test]
    fn a_message_with_a_reply_subject() {
        let mut parser = Parser::default();
        parser.push(b"MSG ssot.x 7 _INBOX.abc 3\r\n{}!\r\n");
        assert_eq!(
            frames(&mut parser),
            vec![Frame::Msg {
                subject: "ssot.x".into(),
                sid: "7".into(),
                reply: Some("_INBOX.abc".into()),
                payload: b"{}!".to_vec()
            }]
        );
    }

    #[test]
    fn an_empty_message_and_an_error() {
        let mut parser = Parser::default();
        parser.push(b"MSG a 1 0\r\n\r\n-ERR 'Authorization Violation'\r\n");
        assert_eq!(
            frames(&mut parser),
            vec![
                Frame::Msg { subject: "a".into(), sid: "1".into(), reply: None, payload: Vec::new() },
                Frame::Err("Authorization Violation".into())
            ]
        );
    }

    #[test]
    fn malformed_input_is_an_error_not_a_panic() {
        for wire in
            [&b"MSG a\r\n"[..], b"MSG a 1 x\r\n", b"MSG a 1 2\r\nabcd\r\n", b"HELLO\r\n", b"MSG a 1 99999999999\r\n"]
        {
            let mut parser = Parser::default();
            parser.push(wire);
            assert!(parser.next_frame().is_err(), "{:?}", String::from_utf8_lossy(wire));
        }
    }

    #[test]
    fn publish_frames_carry_the_payload_length() {
        assert_eq!(publish_frame("ssot.changes", b"{}"), b"PUB ssot.changes 2\r\n{}\r\n".to_vec());
    }
}
