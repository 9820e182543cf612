//! Several `ssot serve` processes on one database with `--bus nats://...` (a real NATS
//! server): a write made on one instance reaches live queries on the others without
//! their polling the log, broadcasts and presence cross instances, and the members of
//! an instance killed without a word leave the channels everywhere once its heartbeats
//! stop. Each test has a subject prefix of its own, so tests in parallel do not cross.
//! Without a NATS server (`SSOT_TEST_NATS_URL`, default nats://127.0.0.1:4222) the
//! tests say, visibly, that they skipped.

mod serving;

use serde_json::{json, Value as Json};
use serving::socket::Client;
use serving::Serving;
use std::time::Duration;

const SCHEMA: &str = r#"
datasource db {
  provider = "PROVIDER"
  url      = env("DATABASE_URL")
}

/// @@realtime(subscribe: ["list"], permissions: { list: "true" }, channel: "true")
/// @@policy("read", rule: "true")
/// @@policy("create", rule: "true")
model Room {
  id   Int    @id @default(autoincrement())
  name String
}
"#;

/// Long enough that a live query woken by nothing but its own polling would fail the test.
const NO_POLLING: (&str, &str) = ("SSOT_LOG_POLL_MS", "600000");

/// The bus URL with a prefix of its own, or `None` (and a visible note) without NATS.
fn bus_url(test: &str) -> Option<String> {
    let url = std::env::var("SSOT_TEST_NATS_URL").unwrap_or_else(|_| "nats://127.0.0.1:4222".to_string());
    let address = url.trim_start_matches("nats://").split(['?', '/']).next().unwrap_or_default().to_string();
    let reachable = std::net::ToSocketAddrs::to_socket_addrs(&address)
        .ok()
        .and_then(|mut a| a.next())
        .is_some_and(|a| std::net::TcpStream::connect_timeout(&a, Duration::from_secs(1)).is_ok());
    if !reachable {
        eprintln!("SKIPPED with a bus ({test}): no NATS server at {url} (set SSOT_TEST_NATS_URL; .ci/run starts one)");
        return None;
    }
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos());
    Some(format!("{url}?prefix=test_{}_{test}_{nanos}", std::process::id()))
}

/// A database shared by the instances of one test: a SQLite file, or a PostgreSQL
/// database of its own (migrated: `serve` does not migrate PostgreSQL).
struct Shared {
    _dir: tempfile::TempDir,
    _pg: Option<ssot_testkit::TestDatabase>,
    schema: String,
    database: String,
}

impl Shared {
    fn sqlite() -> Shared {
        let dir = tempfile::tempdir().expect("temp dir");
        let database = format!("sqlite:{}", dir.path().join("shared.db").display());
        Shared::with(dir, None, "sqlite", database)
    }

    fn postgres(test: &str) -> Option<Shared> {
        let pg = ssot_testkit::TestDatabase::create(test)?;
        let database = pg.url.clone();
        let shared = Shared::with(tempfile::tempdir().expect("temp dir"), Some(pg), "postgresql", database);
        let migrated = std::process::Command::new(env!("CARGO_BIN_EXE_ssot"))
            .args(["migrate", &shared.schema, "--database", &shared.database])
            .output()
            .expect("migrate");
        assert_eq!(migrated.status.code(), Some(0), "{}", String::from_utf8_lossy(&migrated.stderr));
        Some(shared)
    }

    fn with(
        dir: tempfile::TempDir,
        pg: Option<ssot_testkit::TestDatabase>,
        provider: &str,
        database: String,
    ) -> Shared {
        let schema = dir.path().join("schema.prisma");
        std::fs::write(&schema, SCHEMA.replace("PROVIDER", provider)).expect("write schema");
        let schema = schema.to_str().unwrap_or_default().to_string();
        Shared { _dir: dir, _pg: pg, schema, database }
    }

    /// An instance on this database; on the bus when `bus` is given.
    fn serve(&self, bus: Option<&str>, env: &[(&str, &str)]) -> Serving {
        let mut args = vec!["--database", &self.database, "--listen", "127.0.0.1:0", "--admin-key", "key"];
        if let Some(bus) = bus {
            args.extend(["--bus", bus]);
        }
        Serving::start(&self.schema, &args, env)
    }
}

fn kind(event: &'static str) -> impl Fn(&Json) -> bool {
    move |m: &Json| m["type"] == "presence" && m["event"] == event
}

async fn create_room(address: &str, name: &str) -> Json {
    let response = reqwest::Client::new()
        .post(format!("http://{address}/api/rooms"))
        .header("authorization", "Bearer key")
        .header("content-type", "application/json")
        .body(json!({"name": name}).to_string())
        .send()
        .await
        .expect("create");
    assert_eq!(response.status().as_u16(), 201);
    serde_json::from_str(&response.text().await.expect("body")).expect("JSON")
}

/// Subscribes to every room: the `subscribed` answer.
async fn subscribe_rooms(client: &mut Client) -> Json {
    client.send(json!({"type": "subscribe", "id": "rooms", "channel": "Room:list"})).await;
    client.wait_for(Duration::from_secs(5), |m| m["type"] == "subscribed").await.expect("subscribed")
}

fn creates(name: &'static str) -> impl Fn(&Json) -> bool {
    move |m: &Json| {
        m["type"] == "update" && m["events"].as_array().is_some_and(|e| e.iter().any(|e| e["row"]["name"] == name))
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_write_on_one_instance_wakes_live_queries_on_the_others_over_sqlite() {
    let Some(bus) = bus_url("changes") else { return };
    let shared = Shared::sqlite();
    let writer = shared.serve(Some(&bus), &[NO_POLLING]);
    let reader = shared.serve(Some(&bus), &[NO_POLLING]);
    // The control: an instance without the bus hears nothing (SQLite has no NOTIFY).
    let alone = shared.serve(None, &[NO_POLLING]);
    let mut on_reader = Client::connect_admin(&reader.address()).await;
    let mut on_alone = Client::connect_admin(&alone.address()).await;
    subscribe_rooms(&mut on_reader).await;
    subscribe_rooms(&mut on_alone).await;

    let started = std::time::Instant::now();
    create_room(&writer.address(), "first").await;
    let update = on_reader.wait_for(Duration::from_secs(5), creates("first")).await;
    assert!(update.is_some(), "the write on one instance reached the live query on the other");
    let latency = started.elapsed();
    assert!(on_alone.wait_for(Duration::from_secs(1), creates("first")).await.is_none(), "without the bus, nothing");

    // And the other way round, as the reader writes.
    let mut on_writer = Client::connect_admin(&writer.address()).await;
    subscribe_rooms(&mut on_writer).await;
    create_room(&reader.address(), "second").await;
    assert!(on_writer.wait_for(Duration::from_secs(5), creates("second")).await.is_some(), "the other way round");
    eprintln!("a write's notice took {} ms to reach the other instance's subscriber", latency.as_millis());
    for instance in [writer, reader, alone] {
        assert_eq!(instance.stop().0, Some(0));
    }
}

/// Two instances: a member on each, a third joining on the second; broadcasts, states
/// and leaves cross.
async fn broadcasts_and_presence_cross(shared: Shared, bus: &str) {
    let (one, two) = (shared.serve(Some(bus), &[]), shared.serve(Some(bus), &[]));
    let room = create_room(&one.address(), "lobby").await;
    let channel = format!("Room:channel:{}", room["id"]);
    let mut a = Client::connect_admin(&one.address()).await;
    let mut b = Client::connect_admin(&two.address()).await;
    let a_name = a.join(&channel, json!({"typing": false})).await["member"].clone();
    let b_joined = b.join(&channel, json!({"typing": false})).await;
    let b_name = b_joined["member"].clone();
    assert_ne!(a_name, b_name, "member names are unique across instances");
    // The second instance may not have heard of the first member yet: once the buses are
    // up, each learns of the other's members (by their `join`, or by a `sync`).
    let seen = a.wait_for(Duration::from_secs(10), |m| kind("join")(m) && m["member"]["member"] == b_name).await;
    assert!(seen.is_some(), "the member on the first instance hears of the one on the second");
    if !b_joined["members"].as_array().is_some_and(|m| m.iter().any(|m| m["member"] == a_name)) {
        let seen = b.wait_for(Duration::from_secs(10), |m| kind("join")(m) && m["member"]["member"] == a_name).await;
        assert!(seen.is_some(), "and the other way round");
    }

    // A newcomer on the second instance is told of both: the member list spans instances.
    let mut c = Client::connect_admin(&two.address()).await;
    let c_joined = c.join(&channel, json!(null)).await;
    let mut listed: Vec<String> = c_joined["members"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|m| m["member"].as_str())
        .map(String::from)
        .collect();
    listed.sort();
    let mut expected = vec![
        a_name.as_str().unwrap_or_default(),
        b_name.as_str().unwrap_or_default(),
        c_joined["member"].as_str().unwrap_or_default(),
    ];
    expected.sort();
    assert_eq!(listed, expected, "{c_joined}");
    let c_name = c_joined["member"].clone();
    let seen = a.wait_for(Duration::from_secs(5), |m| kind("join")(m) && m["member"]["member"] == c_name).await;
    assert!(seen.is_some(), "the first instance's member hears of the newcomer");

    // A broadcast from the second instance reaches the first, in the local shape.
    b.send(json!({"type": "broadcast", "channel": channel, "event": "cursor", "payload": {"x": 1}})).await;
    let broadcast = a.wait_for(Duration::from_secs(5), |m| m["type"] == "broadcast").await.expect("broadcast");
    assert_eq!(
        broadcast,
        json!({"type": "broadcast", "channel": channel, "event": "cursor", "payload": {"x": 1}, "from": {"member": b_name, "user": null}})
    );
    // A state from the first reaches both members on the second.
    a.send(json!({"type": "state", "channel": channel, "state": {"typing": true}})).await;
    for member in [&mut b, &mut c] {
        let state = member.wait_for(Duration::from_secs(5), kind("state")).await.expect("state");
        assert_eq!(state["member"], json!({"member": a_name, "user": null, "state": {"typing": true}}));
    }
    // A leave on the second reaches the first.
    c.send(json!({"type": "leave", "channel": channel})).await;
    let left = a.wait_for(Duration::from_secs(5), kind("leave")).await.expect("leave");
    assert_eq!(left["member"]["member"], c_name);
    assert_eq!(one.stop().0, Some(0));
    assert_eq!(two.stop().0, Some(0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn broadcasts_and_presence_cross_instances_on_sqlite() {
    let Some(bus) = bus_url("channels_sqlite") else { return };
    broadcasts_and_presence_cross(Shared::sqlite(), &bus).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn broadcasts_and_presence_cross_instances_on_postgres() {
    let Some(bus) = bus_url("channels_pg") else { return };
    let Some(shared) = Shared::postgres("bus_channels") else { return };
    broadcasts_and_presence_cross(shared, &bus).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_members_of_a_killed_instance_leave_everywhere() {
    let Some(bus) = bus_url("kill") else { return };
    let shared = Shared::sqlite();
    let fast = [("SSOT_BUS_HEARTBEAT_MS", "200")];
    let (doomed, survivor) = (shared.serve(Some(&bus), &fast), shared.serve(Some(&bus), &fast));
    let room = create_room(&survivor.address(), "lobby").await;
    let channel = format!("Room:channel:{}", room["id"]);
    let mut there = Client::connect_admin(&doomed.address()).await;
    let mut here = Client::connect_admin(&survivor.address()).await;
    let there_name = there.join(&channel, json!(null)).await["member"].clone();
    let here_joined = here.join(&channel, json!(null)).await;
    if !here_joined["members"].as_array().is_some_and(|m| m.iter().any(|m| m["member"] == there_name)) {
        let seen =
            here.wait_for(Duration::from_secs(10), |m| kind("join")(m) && m["member"]["member"] == there_name).await;
        assert!(seen.is_some(), "the survivor's member hears of the doomed instance's member");
    }
    // Still there after several heartbeats: only silence puts a member out.
    assert!(here.wait_for(Duration::from_secs(1), kind("leave")).await.is_none(), "no leave while it lives");

    let killed = std::time::Instant::now();
    doomed.kill();
    let left = here.wait_for(Duration::from_secs(5), kind("leave")).await.expect("a leave after the heartbeats stop");
    assert_eq!(left["member"]["member"], there_name, "{left}");
    eprintln!("the killed instance's member left after {} ms", killed.elapsed().as_millis());
    assert_eq!(survivor.stop().0, Some(0));
}

/// A NATS server of the test's own, on a free port, that the test can stop and start.
struct PrivateNats {
    binary: String,
    port: u16,
    child: Option<std::process::Child>,
}

impl PrivateNats {
    /// `None` (and a visible note) when there is no `nats-server` to run.
    fn start(test: &str) -> Option<PrivateNats> {
        let binary = ["nats-server", "/usr/sbin/nats-server", "/usr/bin/nats-server"]
            .into_iter()
            .find(|b| std::process::Command::new(b).arg("--version").output().is_ok_and(|o| o.status.success()));
        let Some(binary) = binary else {
            eprintln!("SKIPPED with a bus ({test}): no nats-server binary to start a server of the test's own");
            return None;
        };
        let port = std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).expect("a free port").port();
        let mut nats = PrivateNats { binary: binary.to_string(), port, child: None };
        nats.up();
        Some(nats)
    }

    fn up(&mut self) {
        let child = std::process::Command::new(&self.binary)
            .args(["-a", "127.0.0.1", "-p", &self.port.to_string()])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("start nats-server");
        self.child = Some(child);
        let listening = (0..100).any(|_| {
            std::thread::sleep(Duration::from_millis(50));
            std::net::TcpStream::connect(("127.0.0.1", self.port)).is_ok()
        });
        assert!(listening, "nats-server listens on {}", self.port);
    }

    fn down(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    fn url(&self) -> String {
        format!("nats://127.0.0.1:{}?prefix=reconnect", self.port)
    }
}

impl Drop for PrivateNats {
    fn drop(&mut self) {
        self.down();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_nats_comes_back_nothing_written_meanwhile_is_missed_and_presence_catches_up() {
    let Some(mut nats) = PrivateNats::start("reconnect") else { return };
    let shared = Shared::sqlite();
    let bus = nats.url();
    let (writer, reader) = (shared.serve(Some(&bus), &[NO_POLLING]), shared.serve(Some(&bus), &[NO_POLLING]));
    let room = create_room(&writer.address(), "before").await;
    let channel = format!("Room:channel:{}", room["id"]);
    let mut on_reader = Client::connect_admin(&reader.address()).await;
    subscribe_rooms(&mut on_reader).await;
    on_reader.join(&channel, json!(null)).await;
    create_room(&writer.address(), "connected").await;
    assert!(on_reader.wait_for(Duration::from_secs(5), creates("connected")).await.is_some(), "the bus works");

    // NATS goes away; a write and a join on the writer meanwhile are told to nobody.
    nats.down();
    tokio::time::sleep(Duration::from_millis(300)).await;
    create_room(&writer.address(), "meanwhile").await;
    let mut on_writer = Client::connect_admin(&writer.address()).await;
    let newcomer = on_writer.join(&channel, json!({"here": true})).await["member"].clone();
    assert!(on_reader.wait_for(Duration::from_secs(1), creates("meanwhile")).await.is_none(), "not while NATS is away");

    // NATS is back: both instances reconnect, read the log again, and ask who the other has.
    nats.up();
    // (In whichever order they come.)
    let (mut written, mut announced) = (false, false);
    while !(written && announced) {
        let is_join = |m: &Json| kind("join")(m) && m["member"]["member"] == newcomer;
        let Some(message) =
            on_reader.wait_for(Duration::from_secs(15), |m| creates("meanwhile")(m) || is_join(m)).await
        else {
            break;
        };
        written |= creates("meanwhile")(&message);
        announced |= is_join(&message);
    }
    assert!(written, "the write made while NATS was away reaches the subscriber once it is back");
    assert!(announced, "the member who joined while NATS was away is announced once it is back");
    create_room(&writer.address(), "after").await;
    assert!(on_reader.wait_for(Duration::from_secs(5), creates("after")).await.is_some(), "notices flow again");
    assert_eq!(writer.stop().0, Some(0));
    assert_eq!(reader.stop().0, Some(0));
}
