//! A minimal WebSocket subscriber for the load tool: the handshake written by hand, then
//! the server's frames read straight from the socket (a server's frames are not masked),
//! each text message handed over as bytes.
//!
//! Why not tokio-tungstenite, as the other scenarios' setup does: with 10,000 subscribers
//! on the same two cores as the server, the load tool's own cost per message is part of
//! every latency it reports. This reader does one `read` per wake-up and no allocation per
//! message, so more of the machine is left to the server being measured.

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// A connected, upgraded socket.
pub struct RawSocket {
    stream: TcpStream,
    buffer: Vec<u8>,
    /// Bytes of `buffer` already handed over.
    start: usize,
}

impl RawSocket {
    /// Connects to `host:port` and upgrades `path` (with its query) to the `ssot.v1` protocol.
    pub async fn connect(address: &str, path: &str) -> std::io::Result<RawSocket> {
        let mut stream = TcpStream::connect(address).await?;
        stream.set_nodelay(true)?;
        let request = format!(
            "GET {path} HTTP/1.1\r\nHost: {address}\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\
             Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
             Sec-WebSocket-Protocol: ssot.v1\r\n\r\n"
        );
        stream.write_all(request.as_bytes()).await?;
        let mut buffer = Vec::with_capacity(16 * 1024);
        loop {
            let mut chunk = [0u8; 1024];
            let n = stream.read(&mut chunk).await?;
            if n == 0 {
                return Err(std::io::Error::other("closed during the handshake"));
            }
            buffer.extend_from_slice(&chunk[..n]);
            if let Some(end) = buffer.windows(4).position(|w| w == b"\r\n\r\n") {
                if !buffer.starts_with(b"HTTP/1.1 101") {
                    return Err(std::io::Error::other(String::from_utf8_lossy(&buffer[..end]).to_string()));
                }
                buffer.drain(..end + 4);
                return Ok(RawSocket { stream, buffer, start: 0 });
            }
        }
    }

    /// Sends one text message (masked, as a client must; the mask is zero: this is a
    /// load tool talking to its own loopback).
    pub async fn send_text(&mut self, text: &str) -> std::io::Result<()> {
        let payload = text.as_bytes();
        let mut frame = Vec::with_capacity(payload.len() + 14);
        frame.push(0x81);
        match payload.len() {
            n if n < 126 => frame.push(0x80 | n as u8),
            n if n <= 0xFFFF => {
                frame.push(0x80 | 126);
                frame.extend_from_slice(&(n as u16).to_be_bytes());
            }
            n => {
                frame.push(0x80 | 127);
                frame.extend_from_slice(&(n as u64).to_be_bytes());
            }
        }
        frame.extend_from_slice(&[0, 0, 0, 0]);
        frame.extend_from_slice(payload);
        self.stream.write_all(&frame).await
    }

    /// The socket, for a thread that reads it without tokio ([`crate::poller`]), and the
    /// bytes read already.
    pub fn into_subscriber(self) -> std::io::Result<crate::poller::Subscriber> {
        let pending = self.buffer[self.start..].to_vec();
        Ok(crate::poller::Subscriber {
            stream: self.stream.into_std()?,
            pending,
            framing: crate::poller::Framing::WebSocket,
        })
    }

    /// Reads until at least one whole message is buffered, and hands each text message's
    /// payload to `each`; `false` once the server has closed.
    pub async fn read_messages(&mut self, mut each: impl FnMut(&[u8])) -> std::io::Result<bool> {
        loop {
            let mut handed = false;
            while let Some((header, length, opcode)) = frame_at(&self.buffer[self.start..]) {
                let body = self.start + header;
                if opcode == 0x1 {
                    each(&self.buffer[body..body + length]);
                    handed = true;
                } else if opcode == 0x8 {
                    return Ok(false);
                }
                // Pings are answered by the load tool's idleness never lasting 60 s; other
                // opcodes (continuations of long messages) do not occur in these scenarios.
                self.start = body + length;
            }
            if self.start > 0 {
                self.buffer.drain(..self.start);
                self.start = 0;
            }
            if handed {
                return Ok(true);
            }
            // Into the buffer's spare capacity, which is not zeroed first (a `resize` would
            // write 16 KiB per message).
            self.buffer.reserve(16 * 1024);
            let n = self.stream.read_buf(&mut self.buffer).await?;
            if n == 0 {
                return Ok(false);
            }
        }
    }
}

/// A whole frame at the start of `bytes`: its header's length, its payload's, its opcode.
pub(crate) fn frame_at(bytes: &[u8]) -> Option<(usize, usize, u8)> {
    let (first, second) = (*bytes.first()?, *bytes.get(1)?);
    let opcode = first & 0x0F;
    let (header, length) = match second & 0x7F {
        126 => (4, u16::from_be_bytes([*bytes.get(2)?, *bytes.get(3)?]) as usize),
        127 => {
            let raw: [u8; 8] = bytes.get(2..10)?.try_into().ok()?;
            (10, u64::from_be_bytes(raw) as usize)
        }
        n => (2, n as usize),
    };
    (bytes.len() >= header + length).then_some((header, length, opcode))
}
