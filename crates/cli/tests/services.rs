//! `@@service` webhooks end to end: `ssot serve` as a user runs it, delivering to a real
//! receiver on 127.0.0.1 that fails at random (seeded), answers slowly sometimes and goes
//! away and comes back; writes through the API and by plain SQL (`sqlite3`, `psql`);
//! `ssot serve` killed with SIGKILL mid-delivery and started again. Every change must
//! arrive at least once, signed, in order per record, with its id kept across
//! redeliveries; dead letters are listed, replayed and dropped by the admin only; `fields`,
//! field rules and `filter` shape what is sent. On SQLite and PostgreSQL (skipped, visibly,
//! without `SSOT_TEST_DATABASE_URL`'s server).

mod receiver;
mod serving;

use receiver::{Behaviour, Received, Receiver, SECRET};
use serde_json::{json, Value as Json};
use serving::Serving;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::time::{Duration, Instant};

const SCHEMA: &str = r#"
datasource db {
  provider = "PROVIDER"
  url      = env("DATABASE_URL")
}

/// @@policy("all", rule: "true")
/// @@policy("read", rule: "auth != null", fields: ["note"])
/// @@service("webhook", name: "all", url: env("HOOK_URL"), secret: env("HOOK_SECRET"), retries: 40, timeout: "400ms", filter: "title != \"skip\"")
/// @@service("webhook", name: "titles", url: env("TITLES_URL"), secret: env("HOOK_SECRET"), events: ["created"], fields: ["id", "title"], retries: 1, timeout: "400ms")
model Post {
  id    Int    @id @default(autoincrement())
  title String
  note  String @default("")
  n     Int    @default(0)
}
"#;

struct Db {
    dir: tempfile::TempDir,
    _pg: Option<ssot_testkit::TestDatabase>,
    schema: String,
    url: String,
}

impl Db {
    fn sqlite() -> Db {
        let dir = tempfile::tempdir().expect("temp dir");
        let url = format!("sqlite:{}", dir.path().join("app.db").display());
        Db::with(dir, None, "sqlite", url)
    }

    fn postgres(test: &str) -> Option<Db> {
        let Some(pg) = ssot_testkit::TestDatabase::create(test) else {
            eprintln!("SKIPPED on PostgreSQL ({test}): no server at SSOT_TEST_DATABASE_URL");
            return None;
        };
        let url = pg.url.clone();
        let db = Db::with(tempfile::tempdir().expect("temp dir"), Some(pg), "postgresql", url);
        let migrated = std::process::Command::new(env!("CARGO_BIN_EXE_ssot"))
            .args(["migrate", &db.schema, "--database", &db.url])
            .output()
            .expect("migrate");
        assert_eq!(migrated.status.code(), Some(0), "{}", String::from_utf8_lossy(&migrated.stderr));
        Some(db)
    }

    fn with(dir: tempfile::TempDir, pg: Option<ssot_testkit::TestDatabase>, provider: &str, url: String) -> Db {
        let schema = dir.path().join("schema.prisma");
        std::fs::write(&schema, SCHEMA.replace("PROVIDER", provider)).expect("write schema");
        let schema = schema.to_str().unwrap_or_default().to_string();
        Db { dir, _pg: pg, schema, url }
    }

    fn serve(&self, all: &Receiver, titles: &Receiver) -> Serving {
        let (hook, titles) = (all.url(), titles.url());
        let env = [
            ("HOOK_URL", hook.as_str()),
            ("TITLES_URL", titles.as_str()),
            ("HOOK_SECRET", SECRET),
            ("SSOT_SERVICES_BACKOFF_MS", "10"),
            ("SSOT_SERVICES_BACKOFF_CAP_MS", "100"),
            ("SSOT_SERVICES_LEASE_MS", "1000"),
            ("SSOT_LOG_POLL_MS", "100"),
        ];
        Serving::start(&self.schema, &["--database", &self.url, "--listen", "127.0.0.1:0", "--admin-key", "key"], &env)
    }

    /// A write by plain SQL, as another program makes it.
    fn sql(&self, statement: &str) {
        let output = if let Some(path) = self.url.strip_prefix("sqlite:") {
            std::process::Command::new("sqlite3").arg(path).arg(statement).output()
        } else {
            std::process::Command::new("psql").arg(&self.url).args(["-v", "ON_ERROR_STOP=1", "-c", statement]).output()
        };
        let output = output.expect("run sqlite3 or psql");
        assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    }
}

async fn call(address: &str, method: &str, path: &str, token: Option<&str>, body: Option<Json>) -> (u16, Json) {
    let client = reqwest::Client::new();
    let method = reqwest::Method::from_bytes(method.as_bytes()).expect("method");
    let mut request = client.request(method, format!("http://{address}{path}"));
    if let Some(token) = token {
        request = request.header("authorization", format!("Bearer {token}"));
    }
    if let Some(body) = body {
        request = request.header("content-type", "application/json").body(body.to_string());
    }
    let response = request.send().await.expect("request");
    let status = response.status().as_u16();
    let text = response.text().await.expect("body");
    (status, serde_json::from_str(&text).unwrap_or(Json::Null))
}

async fn create(address: &str, title: &str) -> i64 {
    let (status, row) = call(address, "POST", "/api/posts", Some("key"), Some(json!({ "title": title }))).await;
    assert_eq!(status, 201, "{row}");
    row["id"].as_i64().expect("id")
}

async fn update(address: &str, id: i64, n: i64) {
    let (status, row) = call(address, "PATCH", &format!("/api/posts/{id}"), Some("key"), Some(json!({ "n": n }))).await;
    assert_eq!(status, 200, "{row}");
}

/// The (id, n) each accepted event of the `all` service carried.
fn accepted_states(received: &[Received]) -> BTreeSet<(i64, i64)> {
    received
        .iter()
        .filter(|r| r.accepted())
        .map(|r| {
            let data = &r.json()["data"];
            (data["id"].as_i64().unwrap_or(-1), data["record"]["n"].as_i64().unwrap_or(-1))
        })
        .collect()
}

/// Every request signed; each webhook-id always with the same body, naming its seq.
fn check_signatures_and_ids(received: &[Received], service: &str) {
    let mut bodies: HashMap<String, String> = HashMap::new();
    for r in received {
        assert!(receiver::verify(SECRET, r, &r.body), "bad signature on {:?}", r.headers);
        let id = r.header("webhook-id").expect("webhook-id").to_string();
        let seq = r.json()["data"]["seq"].as_i64().expect("seq");
        assert_eq!(id, format!("evt_{service}_{seq}"));
        let first = bodies.entry(id.clone()).or_insert_with(|| r.body.clone());
        assert_eq!(*first, r.body, "a redelivery of {id} changed its body");
    }
}

/// A record's events first arrive in `seq` order. (Only first arrivals: an attempt that
/// timed out may still reach the receiver late, after the next event; receivers drop such
/// duplicates by `webhook-id`. The next event is sent only once an attempt was answered 2xx,
/// so the first arrival of each event comes before any of the next.)
fn check_order(received: &[Received]) {
    let mut arrived: Vec<&Received> = received.iter().collect();
    arrived.sort_by_key(|r| r.at);
    let mut seen = BTreeSet::new();
    let mut last: BTreeMap<i64, i64> = BTreeMap::new();
    for r in arrived {
        let data = r.json()["data"].clone();
        let (id, seq) = (data["id"].as_i64().unwrap_or(-1), data["seq"].as_i64().unwrap_or(-1));
        if !seen.insert(seq) {
            continue;
        }
        let previous = last.insert(id, seq).unwrap_or(0);
        assert!(seq > previous, "record {id} first got seq {seq} after {previous}");
    }
}

async fn delivers_every_change_through_failures_and_a_kill(db: Db) {
    let behaviour = Behaviour { fail: 0.3, slow: 0.1, slow_for: Duration::from_millis(600), ..Behaviour::default() };
    let mut all = Receiver::start(7, behaviour).await;
    let titles = Receiver::start(11, Behaviour { poison: Some("poison".into()), ..Behaviour::default() }).await;
    let server = db.serve(&all, &titles);
    let address = server.address();
    let mut expected = BTreeSet::new();
    let mut ids = Vec::new();
    for i in 0..4 {
        let id = create(&address, &format!("post {i}")).await;
        expected.insert((id, 0));
        ids.push(id);
    }
    for n in 1..=5 {
        for id in &ids {
            update(&address, *id, n).await;
            expected.insert((*id, n));
        }
    }
    let skipped = create(&address, "skip").await;
    // Written by another program, bypassing the API.
    db.sql(&format!("UPDATE \"Post\" SET \"n\" = 100 WHERE \"id\" = {}", ids[0]));
    expected.insert((ids[0], 100));
    // The receiver goes away for a while and comes back.
    all.down();
    for id in &ids {
        update(&address, *id, 6).await;
        expected.insert((*id, 6));
    }
    tokio::time::sleep(Duration::from_millis(800)).await;
    all.up().await;
    for n in 7..=12 {
        for id in &ids {
            update(&address, *id, n).await;
            expected.insert((*id, n));
        }
    }
    // Killed mid-delivery, with no shutdown; then started again.
    server.kill();
    db.sql(&format!("UPDATE \"Post\" SET \"n\" = 200 WHERE \"id\" = {}", ids[1]));
    expected.insert((ids[1], 200));
    tokio::time::sleep(Duration::from_millis(1200)).await;
    let server = db.serve(&all, &titles);
    let address = server.address();
    for id in &ids {
        update(&address, *id, 13).await;
        expected.insert((*id, 13));
    }
    let all_done = all.wait_for(Duration::from_secs(60), |r| accepted_states(r).is_superset(&expected)).await;
    let got = accepted_states(&all.received());
    assert!(all_done, "missing: {:?}", expected.difference(&got).collect::<Vec<_>>());
    // The filter kept `skip` from `all`; `titles` (no filter) had it.
    assert!(!got.iter().any(|(id, _)| *id == skipped), "the filter let `skip` through");
    let received = all.received();
    check_signatures_and_ids(&received, "all");
    check_order(&received);
    assert!(received.iter().any(|r| !r.accepted()), "the receiver never failed: the test proved nothing");
    // Payloads: `note` is guarded by a field rule, so left out by default; `titles` sends what it names.
    let sample = received.iter().find(|r| r.accepted()).expect("one").json();
    let keys: BTreeSet<&str> =
        sample["data"]["record"].as_object().expect("record").keys().map(String::as_str).collect();
    assert_eq!(keys, BTreeSet::from(["id", "title", "n"]), "{sample}");
    assert!(sample["type"].as_str().is_some_and(|t| t.starts_with("post.")), "{sample}");
    let update_event = received.iter().find(|r| r.json()["data"]["operation"] == "update").expect("an update").json();
    assert!(update_event["data"]["previous"].is_object(), "{update_event}");
    assert!(
        titles.wait_for(Duration::from_secs(20), |r| r.iter().filter(|r| r.accepted()).count() >= 5).await,
        "titles got {:?}",
        titles.received()
    );
    for r in titles.received() {
        assert!(receiver::verify(SECRET, &r, &r.body));
        let record = r.json()["data"]["record"].clone();
        assert_eq!(record.as_object().map(|o| o.len()), Some(2), "{record}");
        assert_eq!(r.json()["type"], "post.created");
    }
    dead_letters_and_admin(&address, &titles).await;
    let (code, _) = server.stop();
    assert_eq!(code, Some(0));
}

async fn dead_letters_and_admin(address: &str, titles: &Receiver) {
    // The admin endpoints are the admin's.
    for token in [None, Some("not-the-key")] {
        let (status, body) = call(address, "GET", "/api/_services", token, None).await;
        assert_eq!(status, 401, "{body}");
        let (status, _) = call(address, "POST", "/api/_services/titles/dead/replay", token, None).await;
        assert_eq!(status, 401);
    }
    let _ = create(address, "poison one").await;
    let listed =
        |address: String| async move { call(&address, "GET", "/api/_services/titles/dead", Some("key"), None).await };
    let until = Instant::now() + Duration::from_secs(20);
    let mut letters = Json::Null;
    while Instant::now() < until {
        letters = listed(address.to_string()).await.1;
        if letters["data"].as_array().is_some_and(|d| !d.is_empty()) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let letter = letters["data"][0].clone();
    assert_eq!(letter["attempts"], 2, "retries: 1 is two attempts: {letters}");
    assert_eq!(letter["payload"]["data"]["record"]["title"], "poison one");
    assert!(letter["eventId"].as_str().is_some_and(|id| id.starts_with("evt_titles_")));
    let (status, services) = call(address, "GET", "/api/_services", Some("key"), None).await;
    assert_eq!(status, 200);
    let titles_status = services["data"].as_array().and_then(|s| s.iter().find(|s| s["name"] == "titles")).cloned();
    let titles_status = titles_status.expect("titles listed");
    assert!(titles_status["dead"].as_u64() >= Some(1), "{services}");
    assert_eq!(titles_status["deadLetters"], 1, "{services}");
    // Still failing: replay keeps it, with one more attempt.
    let id = letter["id"].as_i64().expect("id");
    let (status, replay) =
        call(address, "POST", &format!("/api/_services/titles/dead/{id}/replay"), Some("key"), None).await;
    assert_eq!((status, replay["failed"].as_u64()), (200, Some(1)), "{replay}");
    // Healed: replayed, delivered with the same id, and gone from the list.
    titles.set(Behaviour::default());
    let (status, replay) = call(address, "POST", "/api/_services/titles/dead/replay", Some("key"), None).await;
    assert_eq!((status, replay["delivered"].as_u64()), (200, Some(1)), "{replay}");
    let event_id = letter["eventId"].as_str().unwrap_or_default();
    let got = titles.received();
    let last = got.iter().rev().find(|r| r.header("webhook-id") == Some(event_id)).expect("replayed");
    assert!(last.accepted() && receiver::verify(SECRET, last, &last.body));
    assert_eq!(listed(address.to_string()).await.1["data"], json!([]));
    // A dead letter dropped.
    titles.set(Behaviour { poison: Some("poison".into()), ..Behaviour::default() });
    let _ = create(address, "poison two").await;
    let mut dropped = false;
    for _ in 0..200 {
        let (_, body) = call(address, "DELETE", "/api/_services/titles/dead", Some("key"), None).await;
        if body["dropped"].as_u64() == Some(1) {
            dropped = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(dropped);
    let (status, _) = call(address, "GET", "/api/_services/nope/dead", Some("key"), None).await;
    assert_eq!(status, 404);
    let metrics = reqwest::get(format!("http://{address}/metrics")).await.expect("metrics").text().await.expect("text");
    assert!(metrics.contains("ssot_service_delivered_total{service=\"all\"}"), "{metrics}");
    assert!(metrics.contains("ssot_service_dead_total{service=\"titles\"}"), "{metrics}");
    assert!(metrics.contains("ssot_service_lag_seq{service=\"all\"}"), "{metrics}");
}

#[tokio::test(flavor = "multi_thread")]
async fn delivers_every_change_on_sqlite() {
    delivers_every_change_through_failures_and_a_kill(Db::sqlite()).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn delivers_every_change_on_postgres() {
    let Some(db) = Db::postgres("services_delivery") else { return };
    delivers_every_change_through_failures_and_a_kill(db).await;
}

#[test]
fn a_missing_variable_is_a_clear_start_up_error() {
    let db = Db::sqlite();
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_ssot"))
        .args(["serve", &db.schema, "--database", &db.url, "--listen", "127.0.0.1:0"])
        .env_remove("HOOK_URL")
        .env("TITLES_URL", "http://127.0.0.1:9/")
        .env("HOOK_SECRET", SECRET)
        .output()
        .expect("serve");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_ne!(output.status.code(), Some(0));
    assert!(stderr.contains("HOOK_URL") && stderr.contains("`all`"), "{stderr}");
    assert!(!stderr.contains(SECRET.trim_start_matches("whsec_")), "the secret was printed: {stderr}");
    drop(db.dir);
}

/// `ssot check`'s exit code and output for `schema`.
fn check(schema: &str) -> (Option<i32>, String) {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("bad.prisma");
    std::fs::write(&path, schema).expect("write");
    let output =
        std::process::Command::new(env!("CARGO_BIN_EXE_ssot")).arg("check").arg(&path).output().expect("check");
    (
        output.status.code(),
        format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr)),
    )
}

#[test]
fn check_reports_bad_service_options() {
    let (code, text) =
        check(&SCHEMA.replace("PROVIDER", "sqlite").replace("secret: env(\"HOOK_SECRET\")", "secret: \"whsec_abc\""));
    assert_eq!(code, Some(1), "{text}");
    assert!(text.contains("E0434"), "{text}");
    // The rules are checked once the annotations are valid.
    let (code, text) = check(
        r#"
datasource db {
  provider = "sqlite"
  url      = "file:x.db"
}

/// @@service("webhook", name: "b", url: env("U"), secret: env("S"), filter: "owner.name == \"x\"", actions: { go: "title == \"x\"" })
model Post {
  id      Int    @id
  title   String
  ownerId Int
  owner   User   @relation(fields: [ownerId], references: [id])
}

model User {
  id    Int    @id
  name  String
  posts Post[]
}
"#,
    );
    assert_eq!(code, Some(1), "{text}");
    for code in ["E0436", "E0437"] {
        assert!(text.contains(code), "{code} missing from:\n{text}");
    }
}

/// Two instances on one PostgreSQL: one delivers each service (the lease), so nothing
/// arrives twice without a failure; when it stops, the other takes over from the cursor.
#[tokio::test(flavor = "multi_thread")]
async fn one_instance_delivers_and_another_takes_over_on_postgres() {
    let Some(db) = Db::postgres("services_lease") else { return };
    let all = Receiver::start(5, Behaviour::default()).await;
    let titles = Receiver::start(6, Behaviour::default()).await;
    let (first, second) = (db.serve(&all, &titles), db.serve(&all, &titles));
    let leased = |address: String| async move {
        let (_, status) = call(&address, "GET", "/api/_services", Some("key"), None).await;
        status["data"].as_array().and_then(|d| d.iter().find(|s| s["name"] == "all")).map(|s| s["leased"] == true)
    };
    let mut expected = BTreeSet::new();
    for i in 0..20 {
        let address = if i % 2 == 0 { first.address() } else { second.address() };
        let id = create(&address, &format!("post {i}")).await;
        expected.insert((id, 0));
    }
    assert!(all.wait_for(Duration::from_secs(20), |r| accepted_states(r).is_superset(&expected)).await);
    let ids: Vec<String> = all.received().iter().filter_map(|r| r.header("webhook-id").map(str::to_string)).collect();
    let distinct: BTreeSet<&String> = ids.iter().collect();
    assert_eq!(ids.len(), distinct.len(), "an event was delivered twice without a failure: both instances delivered");
    let (a, b) = (leased(first.address()).await, leased(second.address()).await);
    assert!(a.is_some() && b.is_some());
    assert_ne!(a, b, "exactly one instance holds the lease");
    // The holder stops (and gives the lease up); the other goes on from the cursor.
    let (holder, other) = if a == Some(true) { (first, second) } else { (second, first) };
    let (code, _) = holder.stop();
    assert_eq!(code, Some(0));
    for i in 20..25 {
        let id = create(&other.address(), &format!("post {i}")).await;
        expected.insert((id, 0));
    }
    assert!(all.wait_for(Duration::from_secs(20), |r| accepted_states(r).is_superset(&expected)).await);
    assert_eq!(leased(other.address()).await, Some(true));
    check_signatures_and_ids(&all.received(), "all");
}

/// A service removed from the schema: its cursor goes at the next start, so the change log
/// is pruned past it again (a cursor nobody moves would keep the whole log from then on).
#[tokio::test(flavor = "multi_thread")]
async fn a_removed_service_stops_holding_the_log() {
    let db = Db::sqlite();
    let (all, titles) =
        (Receiver::start(7, Behaviour::default()).await, Receiver::start(8, Behaviour::default()).await);
    let cursors = || {
        let path = db.url.trim_start_matches("sqlite:");
        let out = std::process::Command::new("sqlite3")
            .arg(path)
            .arg("SELECT name FROM _ssot_cursors ORDER BY name")
            .output()
            .expect("sqlite3");
        String::from_utf8_lossy(&out.stdout).split_whitespace().map(str::to_string).collect::<Vec<_>>()
    };
    assert_eq!(db.serve(&all, &titles).stop().0, Some(0));
    assert_eq!(cursors(), ["all", "titles"]);
    let without = std::fs::read_to_string(&db.schema)
        .expect("schema")
        .lines()
        .filter(|l| !l.contains("name: \"titles\""))
        .collect::<Vec<_>>()
        .join("\n");
    std::fs::write(&db.schema, without).expect("write schema");
    let (code, said) = db.serve(&all, &titles).stop();
    assert_eq!(code, Some(0), "{said}");
    assert_eq!(cursors(), ["all"], "the removed service's cursor is gone");
}

/// Standard Webhooks: an endpoint that answers 410 Gone is not sent anything more (nor
/// retried, nor dead-lettered), on every instance, until the admin enables the service
/// again, from the log's end; meanwhile the log's retention does not wait for it.
#[tokio::test(flavor = "multi_thread")]
async fn an_endpoint_that_answers_gone_disables_its_service() {
    let db = Db::sqlite();
    let all = Receiver::start(9, Behaviour { gone: Some("farewell".into()), ..Behaviour::default() }).await;
    let titles = Receiver::start(10, Behaviour::default()).await;
    let server = db.serve(&all, &titles);
    let address = server.address();
    let status = |address: String| async move {
        let (_, status) = call(&address, "GET", "/api/_services", Some("key"), None).await;
        status["data"].as_array().and_then(|d| d.iter().find(|s| s["name"] == "all").cloned()).unwrap_or_default()
    };
    assert_eq!(status(address.clone()).await["disabled"], Json::Null);
    create(&address, "farewell").await;
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while status(address.clone()).await["disabled"].is_null() {
        assert!(std::time::Instant::now() < deadline, "not disabled after a 410");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let gone = status(address.clone()).await;
    assert!(gone["disabled"].as_str().unwrap_or_default().contains("410"), "{gone}");
    assert_eq!((gone["dead"].clone(), gone["retried"].clone()), (json!(0), json!(0)), "neither retried nor buried");
    let asked = all.received().len();
    assert_eq!(asked, 1, "asked once");
    // While disabled: nothing is sent.
    create(&address, "meanwhile").await;
    tokio::time::sleep(Duration::from_millis(700)).await;
    assert_eq!(all.received().len(), asked, "a disabled service gets nothing");
    // Enabled: from the log's end on.
    let (_, enabled) = call(&address, "POST", "/api/_services/all/enable", Some("key"), None).await;
    assert_eq!(enabled, json!({"enabled": true}));
    create(&address, "welcome back").await;
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while !all.received().iter().any(|r| r.body.contains("welcome back")) {
        assert!(std::time::Instant::now() < deadline, "not delivered once enabled");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(!all.received().iter().any(|r| r.body.contains("meanwhile")), "what happened while disabled is not sent");
    assert_eq!(status(address.clone()).await["disabled"], Json::Null);
    assert_eq!(server.stop().0, Some(0));
}

/// A database whose services' table predates disabling gains the column at start.
#[tokio::test(flavor = "multi_thread")]
async fn an_older_cursors_table_gains_the_disabled_column() {
    let db = Db::sqlite();
    db.sql(
        "CREATE TABLE \"_ssot_cursors\" (\"name\" TEXT NOT NULL PRIMARY KEY, \"seq\" INTEGER NOT NULL, \
         \"holder\" TEXT, \"lease_until\" INTEGER NOT NULL DEFAULT 0)",
    );
    let (all, titles) =
        (Receiver::start(11, Behaviour::default()).await, Receiver::start(12, Behaviour::default()).await);
    let server = db.serve(&all, &titles);
    let (status, body) = call(&server.address(), "GET", "/api/_services", Some("key"), None).await;
    assert_eq!(status, 200, "{body}");
    assert!(
        body["data"].as_array().is_some_and(|d| d.len() == 2 && d.iter().all(|s| s["disabled"].is_null())),
        "{body}"
    );
    assert_eq!(server.stop().0, Some(0));
}
