//! `ssot dev` as a user runs it: the schema file edited under a running server. Each valid
//! version is migrated, its client written, and served without dropping the socket that
//! watches it (its subscription answered again in the new shape, its channel left with
//! `reloaded`); an invalid version is reported and the running one goes on; a step that
//! loses data is asked about, and a "no" keeps the data and the running version.

mod serving;

use serde_json::{json, Value as Json};
use serving::socket::Client;
use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

const V1: &str = r#"
datasource db {
  provider = "sqlite"
  url      = env("DATABASE_URL")
}

/// @@realtime(subscribe: ["list"], permissions: { list: "true" }, channel: "true")
/// @@policy("read", rule: "true")
/// @@policy("create", rule: "true")
model Post {
  id    Int    @id @default(autoincrement())
  title String
}
"#;

/// `ssot dev` running, its stderr read line by line as it comes.
struct Dev {
    child: Child,
    stdin: ChildStdin,
    lines: mpsc::Receiver<String>,
    /// Everything it printed so far.
    printed: String,
}

impl Dev {
    /// On the SQLite file `dev.db` in `dir`, or on `database`.
    fn start(dir: &Path, database: Option<&str>) -> Dev {
        let database = database.map_or_else(|| format!("sqlite:{}", dir.join("dev.db").display()), str::to_string);
        let client = dir.join("client");
        let mut child = Command::new(env!("CARGO_BIN_EXE_ssot"))
            .arg("dev")
            .arg(dir.join("schema.prisma"))
            .args(["--database", &database, "--listen", "127.0.0.1:0", "--admin-key", "key", "--client"])
            .arg(&client)
            .env("NO_COLOR", "1")
            .env_remove("SSOT_JWT_SECRET")
            .env_remove("SSOT_DATABASE_URL")
            .stdin(Stdio::piped())
            .stderr(Stdio::piped())
            .stdout(Stdio::null())
            .spawn()
            .expect("start ssot dev");
        let stdin = child.stdin.take().expect("stdin");
        let stderr = std::io::BufReader::new(child.stderr.take().expect("stderr"));
        let (send, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in stderr.lines().map_while(Result::ok) {
                if send.send(line).is_err() {
                    break;
                }
            }
        });
        Dev { child, stdin, lines, printed: String::new() }
    }

    /// Reads until a line holds `text`; panics, with what it printed, after 20 s.
    fn expect(&mut self, text: &str) -> String {
        let deadline = std::time::Instant::now() + Duration::from_secs(20);
        loop {
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => {
                    self.printed.push_str(&line);
                    self.printed.push('\n');
                    if line.contains(text) {
                        return line;
                    }
                }
                Err(_) => panic!("`ssot dev` did not print `{text}`; it printed:\n{}", self.printed),
            }
        }
    }

    fn answer(&mut self, text: &str) {
        writeln!(self.stdin, "{text}").expect("answer");
    }

    fn stop(mut self) -> Option<i32> {
        let killed = Command::new("kill").args(["-TERM", &self.child.id().to_string()]).status().expect("kill");
        assert!(killed.success());
        self.child.wait().expect("wait").code()
    }
}

impl Drop for Dev {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn request(method: &str, url: &str, body: Option<Json>) -> (u16, Json) {
    let client = reqwest::Client::new();
    let mut request = client
        .request(method.parse().expect("method"), url)
        .header("authorization", "Bearer key")
        .header("content-type", "application/json");
    if let Some(body) = body {
        request = request.body(body.to_string());
    }
    let response = request.send().await.expect("request");
    let status = response.status().as_u16();
    let text = response.text().await.expect("body");
    (status, serde_json::from_str(&text).unwrap_or(Json::Null))
}

fn write_schema(path: &Path, text: &str) {
    // Whole, at once: as an editor that saves by renaming does.
    let staged = path.with_extension("tmp");
    std::fs::write(&staged, text).expect("write schema");
    std::fs::rename(&staged, path).expect("rename schema");
}

fn subscribed(id: &'static str) -> impl Fn(&Json) -> bool {
    move |m: &Json| m["type"] == "subscribed" && m["id"] == id
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn editing_the_schema_swaps_the_api_under_open_sockets_on_sqlite() {
    swaps_under_open_sockets("sqlite", None).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn editing_the_schema_swaps_the_api_under_open_sockets_on_postgres() {
    let Some(pg) = ssot_testkit::TestDatabase::create("dev_swaps") else {
        eprintln!("SKIPPED on PostgreSQL (ssot dev): no server at SSOT_TEST_DATABASE_URL");
        return;
    };
    swaps_under_open_sockets("postgresql", Some(&pg.url)).await;
}

/// The whole story on one database: `provider` in the schema, `database` (default: a
/// SQLite file).
async fn swaps_under_open_sockets(provider: &str, database: Option<&str>) {
    let v1 = V1.replace("provider = \"sqlite\"", &format!("provider = \"{provider}\""));
    let v1 = v1.as_str();
    let dir = tempfile::tempdir().expect("temp dir");
    let schema: PathBuf = dir.path().join("schema.prisma");
    write_schema(&schema, v1);
    let mut dev = Dev::start(dir.path(), database);
    let line = dev.expect("listening on http://");
    let address: String = line.rsplit("http://").next().unwrap_or_default().trim().to_string();
    let api = format!("http://{address}/api");
    let client_file = dir.path().join("client/ssot.ts");
    let client_text = std::fs::read_to_string(&client_file).expect("the client is written at start");
    assert!(client_text.contains("title") && !client_text.contains("body"));

    let (status, first) = request("POST", &format!("{api}/posts"), Some(json!({"title": "first"}))).await;
    assert_eq!(status, 201, "{first}");
    let mut socket = Client::connect_admin(&address).await;
    socket.send(json!({"type": "subscribe", "id": "posts", "channel": "Post:list"})).await;
    let snapshot = socket.wait_for(Duration::from_secs(5), subscribed("posts")).await.expect("subscribed");
    assert_eq!(snapshot["data"], json!([{"id": 1, "title": "first"}]));
    let channel = format!("Post:channel:{}", first["id"]);
    socket.send(json!({"type": "join", "channel": channel, "state": null})).await;
    socket.wait_for(Duration::from_secs(5), |m| m["type"] == "joined").await.expect("joined");

    // A new field: migrated, the client written again, the socket's subscription answered
    // again in the new shape, over the same connection.
    let v2 = v1.replace("  title String\n", "  title String\n  body  String @default(\"\")\n");
    write_schema(&schema, &v2);
    dev.expect("serving the new version");
    let left = socket.wait_for(Duration::from_secs(5), |m| m["type"] == "left").await.expect("left the channel");
    assert_eq!(left["code"], "reloaded", "{left}");
    let again = socket.wait_for(Duration::from_secs(5), subscribed("posts")).await.expect("subscribed again");
    assert_eq!(again["data"], json!([{"id": 1, "title": "first", "body": ""}]));
    assert_eq!(again["reset"], true, "its rows changed: a reset");
    assert!(std::fs::read_to_string(&client_file).expect("client").contains("body"), "the client was written again");
    let (status, second) =
        request("POST", &format!("{api}/posts"), Some(json!({"title": "second", "body": "hello"}))).await;
    assert_eq!(status, 201, "{second}");
    let update = socket
        .wait_for(Duration::from_secs(5), |m| m["type"] == "update" && m["events"][0]["row"]["body"] == "hello")
        .await;
    assert!(update.is_some(), "live updates come from the new version");
    // The channel is there to join again in the new version.
    socket.send(json!({"type": "join", "channel": channel, "state": null})).await;
    socket.wait_for(Duration::from_secs(5), |m| m["type"] == "joined").await.expect("joined again");

    // A version that changes nothing this subscription shows: nothing to replace.
    write_schema(&schema, &format!("{v2}\n// a comment\n"));
    dev.expect("serving the new version");
    let same = socket.wait_for(Duration::from_secs(5), subscribed("posts")).await.expect("subscribed again");
    assert_eq!((same["resumed"].clone(), same["replay"].clone()), (json!(true), json!([])), "{same}");
    assert!(same.get("data").is_none(), "no rows sent again: {same}");

    // An invalid version: its diagnostics printed, the running version goes on.
    write_schema(&schema, &v2.replace("model Post {", "model Post {\n  broken Strin"));
    dev.expect("Strin");
    dev.expect("the running version goes on serving");
    let (status, rows) = request("GET", &format!("{api}/posts"), None).await;
    assert_eq!(status, 200);
    assert_eq!(rows["data"][1]["body"], "hello", "{rows}");

    // Dropping the field loses data: asked, and "no" keeps it.
    write_schema(&schema, v1);
    dev.expect("loses data");
    dev.answer("n");
    dev.expect("not migrated");
    let (_, rows) = request("GET", &format!("{api}/posts"), None).await;
    assert_eq!(rows["data"][1]["body"], "hello", "{rows}");
    // Saved again, and "yes": the field is gone, everywhere.
    write_schema(&schema, &format!("{v1}\n// saved again\n"));
    dev.expect("loses data");
    dev.answer("y");
    dev.expect("serving the new version");
    let again = socket.wait_for(Duration::from_secs(5), subscribed("posts")).await.expect("subscribed again");
    assert_eq!(again["data"], json!([{"id": 1, "title": "first"}, {"id": 2, "title": "second"}]));
    let (_, rows) = request("GET", &format!("{api}/posts"), None).await;
    assert_eq!(rows["data"][1], json!({"id": 2, "title": "second"}));
    assert!(!std::fs::read_to_string(&client_file).expect("client").contains("body"));

    // Still the first connection: it asks and is answered.
    socket.send(json!({"type": "ping"})).await;
    assert!(socket.wait_for(Duration::from_secs(5), |m| m["type"] == "pong").await.is_some());
    assert_eq!(dev.stop(), Some(0));
}

#[test]
fn a_schema_invalid_at_start_is_waited_for_and_a_signal_still_stops_it() {
    let dir = tempfile::tempdir().expect("temp dir");
    let schema = dir.path().join("schema.prisma");
    write_schema(&schema, &V1.replace("  title String\n", "  title Strin\n"));
    let mut dev = Dev::start(dir.path(), None);
    dev.expect("Strin");
    dev.expect("waiting for");
    // Fixed: it starts serving.
    write_schema(&schema, V1);
    dev.expect("listening on http://");
    assert_eq!(dev.stop(), Some(0));

    // Never fixed: SIGTERM still ends it.
    let dir = tempfile::tempdir().expect("temp dir");
    write_schema(&dir.path().join("schema.prisma"), "model {");
    let mut dev = Dev::start(dir.path(), None);
    dev.expect("waiting for");
    let started = std::time::Instant::now();
    assert_eq!(dev.stop(), Some(0));
    assert!(started.elapsed() < Duration::from_secs(5), "stopped at once");
}
