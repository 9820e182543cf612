//! The socket's settings on the command line: `--max-connections` refuses the handshake
//! past the limit with a 503, until a connection closes.

mod serving;

use serving::Serving;
use std::io::{Read, Write};

const SCHEMA: &str = r#"
datasource db {
  provider = "sqlite"
  url      = "file:./dev.db"
}

/// @@policy("read", rule: "true")
model Item {
  id    Int    @id @default(autoincrement())
  title String
}
"#;

/// Sends a WebSocket handshake; the open stream and the status of the answer.
fn handshake(address: &str) -> (std::net::TcpStream, String) {
    let mut stream = std::net::TcpStream::connect(address).expect("connect");
    let request = format!(
        "GET /api/ws HTTP/1.1\r\nHost: {address}\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\
         Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
         Sec-WebSocket-Protocol: ssot.v1\r\n\r\n"
    );
    stream.write_all(request.as_bytes()).expect("write");
    let mut answer = [0u8; 64];
    let n = stream.read(&mut answer).expect("read");
    let status = String::from_utf8_lossy(&answer[..n]).lines().next().unwrap_or_default().to_string();
    (stream, status)
}

#[test]
fn max_connections_refuses_the_handshake_past_the_limit() {
    let dir = tempfile::tempdir().expect("temp dir");
    let schema = dir.path().join("schema.prisma");
    std::fs::write(&schema, SCHEMA).expect("write schema");
    let database = format!("sqlite:{}", dir.path().join("dev.db").display());
    let serving = Serving::start(
        schema.to_str().unwrap_or_default(),
        &["--database", &database, "--listen", "127.0.0.1:0", "--max-connections", "1", "--idle-timeout", "60000"],
        &[],
    );
    let address = serving.address();
    let (first, status) = handshake(&address);
    assert!(status.contains("101"), "{status}");
    let (_, status) = handshake(&address);
    assert!(status.contains("503"), "the second is refused: {status}");
    drop(first);
    let admitted = (0..50).any(|_| {
        std::thread::sleep(std::time::Duration::from_millis(20));
        handshake(&address).1.contains("101")
    });
    assert!(admitted, "a place freed by a closed connection is taken again");
    let (code, _) = serving.stop();
    assert_eq!(code, Some(0));
}
