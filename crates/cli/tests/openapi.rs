//! `ssot generate --target openapi` writes exactly the bytes `ssot serve` answers
//! `GET /api/openapi.json` with, over a real socket: for the example schema and fixtures
//! with policies, field rules and `@@auth` (on SQLite, and a schema of scalar lists on
//! PostgreSQL). A second run writes the same bytes, and `--check` finds them current.

mod serving;

use serving::Serving;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn repo(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").join(path)
}

fn ssot(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_ssot")).args(args).env("NO_COLOR", "1").output().expect("the ssot binary runs")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// `ssot generate SCHEMA --target openapi --out DIR [--check]`, which must succeed; its stdout.
fn generate(schema: &Path, out: &Path, check: bool) -> String {
    let (schema, out) = (schema.to_str().unwrap_or_default(), out.to_str().unwrap_or_default());
    let mut args = vec!["generate", schema, "--target", "openapi", "--out", out];
    if check {
        args.push("--check");
    }
    let output = ssot(&args);
    assert_eq!(output.status.code(), Some(0), "generate {schema}:\n{}", text(&output.stderr));
    text(&output.stdout)
}

/// `GET path` over HTTP/1.1 on a plain TCP connection: the status line, the headers
/// (names lowercased) and the body's bytes as they were sent.
fn get(address: &str, path: &str) -> (String, Vec<(String, String)>, Vec<u8>) {
    let mut stream = std::net::TcpStream::connect(address).expect("connect");
    write!(stream, "GET {path} HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n\r\n").expect("write");
    let mut response = Vec::new();
    stream.read_to_end(&mut response).expect("read");
    let end = response.windows(4).position(|w| w == b"\r\n\r\n").expect("the end of the headers");
    let head = text(&response[..end]);
    let mut lines = head.split("\r\n");
    let status = lines.next().unwrap_or_default().to_string();
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(name, value)| (name.trim().to_ascii_lowercase(), value.trim().to_string()))
        .collect();
    (status, headers, response[end + 4..].to_vec())
}

/// Serves `schema` on `database` and compares what it serves with what `generate` wrote
/// for it, byte for byte; then generates again and checks.
fn served_equals_generated(schema: &Path, database: &str) {
    let out = tempfile::tempdir().expect("temp dir");
    let wrote = generate(schema, out.path(), false);
    assert!(wrote.contains("wrote"), "{wrote}");
    let generated = std::fs::read(out.path().join("openapi.json")).expect("openapi.json");

    let migrated = ssot(&["migrate", schema.to_str().unwrap_or_default(), "--database", database]);
    assert_eq!(migrated.status.code(), Some(0), "migrate {}:\n{}", schema.display(), text(&migrated.stderr));
    let args =
        ["--database", database, "--listen", "127.0.0.1:0", "--jwt-secret", "openapi-test-secret-0123456789abcdef"];
    // The SDK's fixture has a `@@service` (actions): its settings come from the environment.
    let service = [("SDK_SERVICE_URL", "http://127.0.0.1:9"), ("SDK_SERVICE_SECRET", "openapi-test-service-secret")];
    let serving = Serving::start(schema.to_str().unwrap_or_default(), &args, &service);
    let (status, headers, body) = get(&serving.address(), "/api/openapi.json");
    let (code, rest) = serving.stop();
    assert_eq!(code, Some(0), "graceful exit:\n{rest}");
    assert!(status.starts_with("HTTP/1.1 200"), "{status}");
    let header = |name: &str| headers.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str());
    assert_eq!(header("content-type"), Some("application/json"));
    assert_eq!(header("transfer-encoding"), None, "the body as one piece");
    assert_eq!(header("content-length"), Some(body.len().to_string().as_str()));
    assert!(
        body == generated,
        "{}: served ({} bytes) and generated ({} bytes) differ at byte {:?}",
        schema.display(),
        body.len(),
        generated.len(),
        body.iter().zip(&generated).position(|(a, b)| a != b)
    );
    let document: serde_json::Value = serde_json::from_slice(&body).expect("JSON");
    assert_eq!(document["openapi"], "3.1.0");

    // A second run: the same bytes, so nothing is written; `--check` finds it current.
    let again = generate(schema, out.path(), false);
    assert!(again.contains("unchanged"), "{again}");
    assert_eq!(std::fs::read(out.path().join("openapi.json")).expect("openapi.json"), generated);
    let checked = generate(schema, out.path(), true);
    assert!(checked.contains("unchanged"), "{checked}");
}

#[test]
fn generated_openapi_is_what_sqlite_serve_answers() {
    let schemas = [
        "examples/blog/schema.prisma",
        "crates/server/tests/fixtures/blog.prisma",
        "crates/server/tests/fixtures/policy.prisma",
        "crates/server/tests/fixtures/rooms.prisma",
        "crates/server/tests/fixtures/live.prisma",
        "crates/server/tests/fixtures/emulated.prisma",
        "crates/cli/tests/fixtures/migrate/auth.prisma",
        "sdk/test/fixtures/app.prisma",
        "bench/policy/schema.prisma",
    ];
    for schema in schemas {
        let dir = tempfile::tempdir().expect("temp dir");
        let database = format!("sqlite:{}", dir.path().join("test.db").display());
        served_equals_generated(&repo(schema), &database);
    }
}

#[test]
fn generated_openapi_is_what_postgres_serve_answers() {
    let test = "generated_openapi_is_what_postgres_serve_answers";
    let Some(database) = ssot_testkit::TestDatabase::create(test) else { return };
    // Scalar lists are PostgreSQL's.
    served_equals_generated(&repo("crates/server/tests/fixtures/lists.prisma"), &database.url);
    // The example, with its policies and `@@auth`, on PostgreSQL.
    let Some(database) = ssot_testkit::TestDatabase::create(test) else { return };
    let dir = tempfile::tempdir().expect("temp dir");
    let source = std::fs::read_to_string(repo("examples/blog/schema.prisma")).expect("the example");
    let schema = dir.path().join("schema.prisma");
    std::fs::write(&schema, source.replacen("\"sqlite\"", "\"postgresql\"", 1)).expect("write schema");
    served_equals_generated(&schema, &database.url);
}
