//! `ssot migrate`, `ssot generate --target sql` and `ssot serve` start-up, run as a
//! user runs them, against a real SQLite file and a real PostgreSQL database.

mod serving;

use serving::Serving;
use ssot_store::conn::{Conn, PgConn, SqliteConn};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/migrate").join(name)
}

fn ssot(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_ssot")).args(args).env("NO_COLOR", "1").output().expect("the ssot binary runs")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// A database for one test: a SQLite file in a temp dir, or a PostgreSQL database of
/// its own (dropped after).
struct Db {
    url: String,
    _dir: tempfile::TempDir,
    postgres: Option<ssot_testkit::TestDatabase>,
}

impl Db {
    fn sqlite() -> Db {
        let dir = tempfile::tempdir().expect("temp dir");
        Db { url: format!("sqlite:{}", dir.path().join("test.db").display()), _dir: dir, postgres: None }
    }

    fn postgres(test: &str) -> Option<Db> {
        let database = ssot_testkit::TestDatabase::create(test)?;
        Some(Db { url: database.url.clone(), _dir: tempfile::tempdir().expect("temp dir"), postgres: Some(database) })
    }

    fn all(test: &str) -> Vec<Db> {
        std::iter::once(Db::sqlite()).chain(Db::postgres(test)).collect()
    }

    fn is_postgres(&self) -> bool {
        self.postgres.is_some()
    }

    /// The fixture schema with this database's provider.
    fn schema(&self, name: &str) -> PathBuf {
        let source = std::fs::read_to_string(fixture(name)).expect("fixture");
        let source = if self.is_postgres() { source.replacen("\"sqlite\"", "\"postgresql\"", 1) } else { source };
        let path = self._dir.path().join(name);
        std::fs::write(&path, source).expect("write schema");
        path
    }

    fn conn(&self) -> Box<dyn Conn> {
        match self.url.strip_prefix("sqlite:") {
            Some(path) => Box::new(SqliteConn::open(Path::new(path), false).expect("open")),
            None => Box::new(PgConn::connect(&self.url).expect("connect")),
        }
    }

    fn columns(&self, table: &str) -> Vec<String> {
        let sql = if self.is_postgres() {
            format!("SELECT column_name::text FROM information_schema.columns WHERE table_name = '{table}' ORDER BY ordinal_position")
        } else {
            format!("SELECT name FROM pragma_table_info('{table}')")
        };
        self.conn()
            .query(&sql, &[])
            .expect("columns")
            .into_iter()
            .filter_map(|r| r[0].as_text().map(String::from))
            .collect()
    }

    fn count(&self, sql: &str) -> i64 {
        self.conn().query(sql, &[]).expect("count")[0][0].as_i64().unwrap_or(-1)
    }

    fn migrate(&self, schema: &str, extra: &[&str]) -> Output {
        let schema = self.schema(schema);
        let mut args = vec!["migrate", schema.to_str().unwrap_or_default(), "--database", self.url.as_str()];
        args.extend(extra);
        ssot(&args)
    }
}

#[test]
fn migrate_creates_prints_and_is_then_up_to_date() {
    for db in Db::all("creates") {
        let printed = db.migrate("v1.prisma", &["--print"]);
        let sql = text(&printed.stdout);
        assert!(sql.contains("CREATE TABLE \"User\""), "{sql}");
        assert!(sql.contains("_ssot_changes"), "{sql}");
        assert!(db.columns("User").is_empty(), "--print changes nothing");

        let applied = db.migrate("v1.prisma", &[]);
        assert_eq!(applied.status.code(), Some(0), "{}", text(&applied.stderr));
        assert_eq!(db.columns("User"), ["id", "email", "name", "legacy"]);
        assert_eq!(db.count("SELECT COUNT(*) FROM _ssot_migrations"), 1, "history is kept");
        let again = db.migrate("v1.prisma", &[]);
        assert!(text(&again.stdout).contains("already up to date"), "{}", text(&again.stdout));
        assert_eq!(db.count("SELECT COUNT(*) FROM _ssot_migrations"), 1);

        // `generate --target sql` writes the same DDL.
        let out = db._dir.path().join("generated");
        let schema = db.schema("v1.prisma");
        let generated = ssot(&[
            "generate",
            schema.to_str().unwrap_or_default(),
            "--target",
            "sql",
            "--out",
            out.to_str().unwrap_or_default(),
        ]);
        assert_eq!(generated.status.code(), Some(0), "{}", text(&generated.stderr));
        let file = std::fs::read_to_string(out.join("schema.sql")).expect("schema.sql");
        for table in ["CREATE TABLE \"User\"", "CREATE TABLE \"_PostToTag\"", "Post_authorId_fkey", "CREATE TRIGGER"] {
            assert!(file.contains(table), "{table} missing from generated SQL");
        }
        let generated = ssot(&[
            "generate",
            schema.to_str().unwrap_or_default(),
            "--target",
            "openapi",
            "--out",
            out.to_str().unwrap_or_default(),
        ]);
        assert_eq!(generated.status.code(), Some(0), "{}", text(&generated.stderr));
        let document: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(out.join("openapi.json")).expect("openapi.json"))
                .expect("JSON");
        assert!(document["paths"]["/api/posts/{id}"]["get"].is_object(), "{document}");
    }
}

#[test]
fn data_loss_is_refused_unless_accepted() {
    for db in Db::all("data_loss") {
        assert_eq!(db.migrate("v1.prisma", &[]).status.code(), Some(0));
        db.conn().batch("INSERT INTO \"User\" (email, legacy) VALUES ('a@x', 'keep me')").expect("insert");

        let refused = db.migrate("v2-drops-column.prisma", &[]);
        assert_eq!(refused.status.code(), Some(1));
        let message = text(&refused.stderr);
        assert!(message.contains("User.legacy") && message.contains("--accept-data-loss"), "{message}");
        assert!(db.columns("User").contains(&"legacy".to_string()), "nothing changed");

        let accepted = db.migrate("v2-drops-column.prisma", &["--accept-data-loss"]);
        assert_eq!(accepted.status.code(), Some(0), "{}", text(&accepted.stderr));
        assert_eq!(db.columns("User"), ["id", "email", "name"]);
        assert_eq!(db.count("SELECT COUNT(*) FROM \"User\" WHERE email = 'a@x'"), 1, "the row survives");
        // The change log follows the new columns.
        db.conn().batch("UPDATE \"User\" SET name = 'n'").expect("update");
        assert_eq!(db.count("SELECT COUNT(*) FROM _ssot_changes WHERE op = 'update'"), 1);
    }
}

#[test]
fn additive_changes_apply_without_flags() {
    for db in Db::all("additive") {
        assert_eq!(db.migrate("v1.prisma", &[]).status.code(), Some(0));
        db.conn().batch("INSERT INTO \"User\" (email) VALUES ('a@x')").expect("insert");
        let out = db.migrate("v2-adds.prisma", &[]);
        assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
        let steps = text(&out.stdout);
        assert!(
            steps.contains("add column User.bio")
                && steps.contains("create table Note")
                && steps.contains("Post_title_idx"),
            "{steps}"
        );
        assert_eq!(db.count("SELECT COUNT(*) FROM \"User\""), 1);
    }
}

#[test]
fn a_database_prisma_created_is_recognised() {
    for db in Db::all("prisma_made") {
        let ddl = std::fs::read_to_string(fixture(if db.is_postgres() {
            "prisma-postgres.sql"
        } else {
            "prisma-sqlite.sql"
        }))
        .expect("fixture");
        db.conn().batch(&ddl).expect("create the database as Prisma does");
        let printed = text(&db.migrate("v1.prisma", &["--print"]).stdout);
        assert!(
            !printed.contains("CREATE TABLE \"User\"") && !printed.contains("DROP TABLE"),
            "nothing is recreated:\n{printed}"
        );
        assert!(printed.contains("_ssot_changes"), "only the change log is added:\n{printed}");
        let out = db.migrate("v1.prisma", &[]);
        assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
        assert!(text(&out.stdout).contains("match the schema"), "{}", text(&out.stdout));
        assert_eq!(db.count("SELECT COUNT(*) FROM \"User\" WHERE email = 'prisma@example.com'"), 1);
        assert!(text(&db.migrate("v1.prisma", &[]).stdout).contains("already up to date"));
    }
}

#[test]
fn tables_in_several_postgres_schemas() {
    let Some(db) = Db::postgres("multischema") else { return };
    let out = db.migrate("multischema.prisma", &[]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let steps = text(&out.stdout);
    assert!(steps.contains("create schema auth") && steps.contains("create schema base"), "{steps}");
    assert_eq!(
        db.count(
            "SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = 'auth' AND table_name = 'Account'"
        ),
        1
    );
    assert!(text(&db.migrate("multischema.prisma", &[]).stdout).contains("already up to date"));
}

#[test]
fn serve_refuses_a_postgres_database_that_does_not_match() {
    let Some(db) = Db::postgres("serve_refuses") else { return };
    let schema = db.schema("v1.prisma");
    let out = ssot(&["serve", schema.to_str().unwrap_or_default(), "--database", &db.url, "--listen", "127.0.0.1:0"]);
    assert_ne!(out.status.code(), Some(0));
    let message = text(&out.stderr);
    assert!(message.contains("does not match the schema") && message.contains("ssot migrate"), "{message}");
    assert!(!message.contains("password"), "{message}");
}

#[test]
fn serve_migrates_a_new_sqlite_file_and_stops_gracefully() {
    use std::io::{Read, Write};
    let db = Db::sqlite();
    let schema = db.schema("v1.prisma");
    let args = ["--database", db.url.as_str(), "--listen", "127.0.0.1:0", "--admin-key", "k"];
    let serving = Serving::start(schema.to_str().unwrap_or_default(), &args, &[]);
    let banner = serving.banner.clone();
    assert!(banner.contains("migrated"), "{banner}");
    assert!(banner.contains("User") && banner.contains("/api/users") && banner.contains("read: nobody"), "{banner}");
    assert!(!banner.contains(" k\n"), "the admin key is not printed");

    let mut stream = std::net::TcpStream::connect(serving.address()).expect("connect");
    stream.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").expect("write");
    let mut response = String::new();
    stream.read_to_string(&mut response).expect("read");
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");

    let (code, rest) = serving.stop();
    assert_eq!(code, Some(0), "graceful exit:\n{rest}");
    assert!(rest.contains("stopped"), "{rest}");
}

#[test]
fn serve_takes_cors_origins_from_flags_or_the_environment() {
    let db = Db::sqlite();
    let schema = db.schema("v1.prisma");
    let schema = schema.to_str().unwrap_or_default();
    let base = ["--database", db.url.as_str(), "--listen", "127.0.0.1:0"];
    let flags: Vec<&str> = base
        .iter()
        .copied()
        .chain(["--cors-origin", "https://a.example", "--cors-origin", "http://b.example:8080"])
        .collect();
    // The flags win over the environment.
    let serving = Serving::start(schema, &flags, &[("SSOT_CORS_ORIGINS", "https://ignored.example")]);
    assert!(
        serving.banner.contains("browsers may call the API from: https://a.example, http://b.example:8080"),
        "{}",
        serving.banner
    );
    serving.stop();
    let serving = Serving::start(schema, &base, &[("SSOT_CORS_ORIGINS", "https://a.example, https://c.example")]);
    assert!(serving.banner.contains("from: https://a.example, https://c.example"), "{}", serving.banner);
    serving.stop();
    let serving = Serving::start(schema, &base, &[]);
    assert!(!serving.banner.contains("browsers may call"), "none by default: {}", serving.banner);
    serving.stop();

    let all: Vec<&str> = ["serve", schema].into_iter().chain(base).chain(["--cors-origin", "a.example/app"]).collect();
    let out = ssot(&all);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains("`a.example/app` is not an origin"), "{}", text(&out.stderr));
}

#[test]
fn json_logs_stay_json_from_start_to_stop() {
    let db = Db::sqlite();
    let schema = db.schema("v1.prisma");
    let args = ["--database", db.url.as_str(), "--listen", "127.0.0.1:0"];
    let serving = Serving::start(schema.to_str().unwrap_or_default(), &args, &[("SSOT_LOG_FORMAT", "json")]);
    let mut lines: Vec<String> = serving.banner.lines().map(String::from).collect();
    let (code, rest) = serving.stop();
    assert_eq!(code, Some(0));
    lines.extend(rest.lines().map(String::from));
    for line in lines.iter().filter(|l| !l.trim().is_empty()) {
        let value: serde_json::Value = serde_json::from_str(line).unwrap_or_else(|e| panic!("not JSON ({e}): {line}"));
        assert!(value["fields"]["message"].is_string(), "{line}");
    }
    assert!(lines.iter().any(|l| l.contains("stopped")), "{lines:?}");
}

#[test]
fn serve_keeps_a_jwt_secret_beside_a_sqlite_file() {
    let db = Db::sqlite();
    let schema = db.schema("auth.prisma");
    let args = ["--database", db.url.as_str(), "--listen", "127.0.0.1:0"];
    let all: Vec<&str> = std::iter::once(schema.to_str().unwrap_or_default()).chain(args).collect();
    let serving = Serving::start(all[0], &args, &[]);
    let banner = serving.banner.clone();
    serving.stop();
    let file = format!("{}.jwt-secret", db.url.trim_start_matches("sqlite:"));
    assert!(banner.contains("generated a JWT signing secret"), "{banner}");
    let secret = std::fs::read_to_string(&file).expect("secret file");
    assert_eq!(secret.len(), 64, "32 random bytes in hex");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&file).expect("metadata").permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "readable by its owner only");
    }
    assert!(!banner.contains(&secret), "the secret is not printed");
    // A second start keeps it (tokens issued before stay valid).
    let serving = Serving::start(all[0], &args, &[]);
    let banner = serving.banner.clone();
    serving.stop();
    assert!(!banner.contains("generated"), "{banner}");
    assert_eq!(std::fs::read_to_string(&file).expect("secret file"), secret);
    // A secret that is too short is refused.
    let out = Command::new(env!("CARGO_BIN_EXE_ssot"))
        .arg("serve")
        .args(&all)
        .env("SSOT_JWT_SECRET", "short")
        .output()
        .expect("run");
    assert_ne!(out.status.code(), Some(0));
    assert!(text(&out.stderr).contains("at least 32 characters"), "{}", text(&out.stderr));
}

#[test]
fn serve_needs_a_jwt_secret_on_postgres() {
    let Some(db) = Db::postgres("serve_needs_secret") else { return };
    assert_eq!(db.migrate("auth.prisma", &[]).status.code(), Some(0));
    let schema = db.schema("auth.prisma");
    let out = Command::new(env!("CARGO_BIN_EXE_ssot"))
        .args(["serve", schema.to_str().unwrap_or_default(), "--database", &db.url, "--listen", "127.0.0.1:0"])
        .env_remove("SSOT_JWT_SECRET")
        .output()
        .expect("run");
    assert_ne!(out.status.code(), Some(0));
    assert!(text(&out.stderr).contains("SSOT_JWT_SECRET"), "{}", text(&out.stderr));
}

/// SIGTERM ends the server within its grace period whatever runs: here queries without a
/// time budget that would run for minutes. They are stopped when the grace period ends.
#[test]
fn sigterm_ends_the_server_within_its_grace_period() {
    use std::io::{Read, Write};
    use std::time::{Duration, Instant};
    let attack = ssot_testkit::slow::attack();
    let mut path = String::from("/api/posts?where=");
    for b in attack.bytes() {
        if b.is_ascii_alphanumeric() {
            path.push(char::from(b));
        } else {
            path.push_str(&format!("%{b:02X}"));
        }
    }
    for db in Db::all("sigterm_grace") {
        let dir = tempfile::tempdir().expect("temp dir");
        let source = ssot_testkit::slow::SCHEMA;
        let source = if db.is_postgres() { source.replacen("\"sqlite\"", "\"postgresql\"", 1) } else { source.into() };
        let schema = dir.path().join("slow.prisma");
        std::fs::write(&schema, source).expect("write schema");
        let schema = schema.to_str().unwrap_or_default().to_string();
        let migrated = ssot(&["migrate", &schema, "--database", db.url.as_str()]);
        assert_eq!(migrated.status.code(), Some(0), "{}", text(&migrated.stderr));
        ssot_testkit::slow::seed(db.conn().as_mut()).expect("seed");

        let args = ["--database", db.url.as_str(), "--listen", "127.0.0.1:0", "--query-timeout", "0"];
        let serving = Serving::start(&schema, &[&args[..], &["--shutdown-grace", "1000"]].concat(), &[]);
        let address = serving.address();
        let attackers: Vec<_> = (0..3)
            .map(|_| {
                let mut stream = std::net::TcpStream::connect(&address).expect("connect");
                let request = format!("GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
                stream.write_all(request.as_bytes()).expect("write");
                std::thread::spawn(move || {
                    let mut response = String::new();
                    let _ = stream.read_to_string(&mut response);
                    response
                })
            })
            .collect();
        std::thread::sleep(Duration::from_millis(500));
        let asked = Instant::now();
        let (code, rest) = serving.stop();
        let took = asked.elapsed();
        assert_eq!(code, Some(0), "exit:\n{rest}");
        assert!(rest.contains("grace period is over"), "{rest}");
        // One second of grace, one to answer; nowhere near the minutes the queries need.
        assert!(took < Duration::from_secs(20), "stopped after {took:?}:\n{rest}");
        for attacker in attackers {
            let response = attacker.join().expect("attacker");
            assert!(response.is_empty() || response.starts_with("HTTP/1.1 503"), "{response}");
        }
    }
}
