//! The change log: every committed write, from ssot or from plain SQL, in commit order,
//! with `meta.seq` telling a reader where its data stands.

mod common;

use serde_json::{json, Value as Json};
use ssot_store::conn::{Conn, Value};

const SHOP: &str = include_str!("fixtures/shop.prisma");

fn entries(conn: &mut dyn Conn) -> Vec<(i64, String, String, Json, Json, Json)> {
    let sql =
        "SELECT seq, model, op, CAST(pk AS TEXT), CAST(old AS TEXT), CAST(new AS TEXT) FROM _ssot_changes ORDER BY seq";
    conn.query(sql, &[])
        .expect("read the log")
        .into_iter()
        .map(|r| {
            let json = |v: &Value| v.as_text().map_or(Json::Null, |t| serde_json::from_str(t).unwrap_or(Json::Null));
            (
                r[0].as_i64().unwrap_or_default(),
                r[1].as_text().unwrap_or_default().to_string(),
                r[2].as_text().unwrap_or_default().to_string(),
                json(&r[3]),
                json(&r[4]),
                json(&r[5]),
            )
        })
        .collect()
}

on_every_backend!(writes_from_ssot_and_from_sql_are_logged, SHOP, |server| {
    let (_, ann) = server.admin("POST", "/api/users", Some(json!({"email": "ann@x"}))).await;
    let id = ann["id"].as_i64().unwrap_or_default();
    server.admin("PATCH", &format!("/api/users/{id}"), Some(json!({"name": "Ann"}))).await;
    let (_, list) = server.admin("GET", "/api/users", None).await;
    let seq_after_update = list["meta"]["seq"].as_i64().unwrap_or_default();

    // Another program writes with plain SQL: captured the same way.
    server.raw(|conn| {
        conn.batch(
            "INSERT INTO users (email, role, karma, created_at) VALUES ('bob@x', 'member', 3, CURRENT_TIMESTAMP)",
        )
        .expect("insert");
        conn.batch("UPDATE users SET karma = karma + 1 WHERE email = 'bob@x'").expect("update");
    });
    server.admin("DELETE", &format!("/api/users/{id}"), None).await;
    let (_, list) = server.admin("GET", "/api/users", None).await;
    let seq_now = list["meta"]["seq"].as_i64().unwrap_or_default();

    let log = server.raw(|conn| entries(conn));
    let ops: Vec<(&str, &str)> = log.iter().map(|e| (e.1.as_str(), e.2.as_str())).collect();
    assert_eq!(
        ops,
        [("User", "create"), ("User", "update"), ("User", "create"), ("User", "update"), ("User", "delete")]
    );
    let seqs: Vec<i64> = log.iter().map(|e| e.0).collect();
    assert!(seqs.windows(2).all(|w| w[0] < w[1]), "seq increases: {seqs:?}");
    assert_eq!(seq_after_update, seqs[1], "meta.seq is the log position the list was read at");
    assert_eq!(seq_now, seqs[4]);

    let (_, _, _, pk, old, new) = &log[1];
    assert_eq!(pk, &json!({"id": id}));
    assert_eq!((old["name"].clone(), new["name"].clone()), (Json::Null, json!("Ann")), "old and new rows, by column");
    let (_, _, _, _, old, new) = &log[4];
    assert_eq!((old["email"].as_str(), new), (Some("ann@x"), &Json::Null));
    let (_, _, _, _, _, new) = &log[3];
    assert_eq!(new["karma"].as_i64(), Some(4), "the SQL update's new row");

    // A write that fails leaves no entry.
    let (status, _) = server.admin("POST", "/api/users", Some(json!({"email": "bob@x"}))).await;
    assert_eq!(status, 409);
    assert_eq!(server.raw(|conn| entries(conn)).len(), 5);

    // Join tables are logged too (relation changes).
    let (_, product) = server
        .admin("POST", "/api/products", Some(json!({"name": "p", "price": "1", "tags": {"create": [{"label": "t"}]}})))
        .await;
    let log = server.raw(|conn| entries(conn));
    let models: Vec<&str> = log[5..].iter().map(|e| e.1.as_str()).collect();
    assert_eq!(models, ["Product", "Tag", "_ProductToTag"], "{product}");
});

on_every_backend!(pruning_keeps_the_newest_entries, SHOP, |server| {
    let rows: Vec<Json> = (0..30).map(|i| json!({"email": format!("{i}@x")})).collect();
    server.admin("POST", "/api/users/bulk", Some(json!({"data": rows}))).await;
    let (_, before) = server.admin("GET", "/api/users?take=1", None).await;
    let removed = server.store.prune_changes_to(retention(86_400, 10)).await.expect("prune by count");
    assert_eq!(removed, 20);
    let log = server.raw(|conn| entries(conn));
    assert_eq!(log.len(), 10);
    assert_eq!(log.last().map(|e| e.0), before["meta"]["seq"].as_i64(), "the newest entry stays");
    // Everything is older than 0 ms, yet the newest entry (the current seq) stays.
    server.store.prune_changes_to(retention(0, 1_000_000)).await.expect("prune by age");
    let log = server.raw(|conn| entries(conn));
    assert_eq!(log.len(), 1);
    let (_, after) = server.admin("GET", "/api/users?take=1", None).await;
    assert_eq!(after["meta"]["seq"], before["meta"]["seq"], "seq never goes back");
});

/// On PostgreSQL a sequence alone does not give commit order; the trigger's advisory lock
/// does: a second writer waits until the first commits, so `seq` order is commit order
/// and a reader that saw `seq` n can never later find an entry below n appear.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_writers_are_numbered_in_commit_order() {
    let Some(server) = common::TestServer::start(SHOP, common::Backend::Postgres, "commit_order").await else { return };
    let url = server.url.clone();
    let outcome = tokio::task::spawn_blocking(move || {
        let ssot_store::DatabaseUrl::Postgres(url) = url else { unreachable!("a PostgreSQL test") };
        let mut first = ssot_store::conn::PgConn::connect(&url).expect("first");
        let mut second = ssot_store::conn::PgConn::connect(&url).expect("second");
        first
            .batch("BEGIN; INSERT INTO users (email, role, karma, created_at) VALUES ('first@x', 'member', 0, now())")
            .expect("first write");
        // The second writer cannot number its change while the first is open.
        second.batch("BEGIN; SET LOCAL lock_timeout = '300ms'").expect("begin");
        let blocked =
            second.batch("INSERT INTO users (email, role, karma, created_at) VALUES ('second@x', 'member', 0, now())");
        second.batch("ROLLBACK").expect("rollback");
        first.batch("COMMIT").expect("commit");
        second
            .batch("INSERT INTO users (email, role, karma, created_at) VALUES ('second@x', 'member', 0, now())")
            .expect("second write");
        blocked.is_err()
    })
    .await
    .expect("writers");
    assert!(outcome, "the second writer waited for the first to commit");
    let log = server.raw(|conn| entries(conn));
    let emails: Vec<&str> = log.iter().filter_map(|e| e.5["email"].as_str()).collect();
    assert_eq!(emails, ["first@x", "second@x"], "seq follows commit order");
    server.stop().await;
}

/// The triggers run inside whichever SQLite library writes: Debian's `sqlite3` shell
/// (3.40) and Python's `sqlite3` module write to a database `ssot` is serving, their rows
/// are stored (none refused by the log's constraints) and logged, and the API sees them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn writes_from_other_sqlite_versions_are_logged() {
    let Some(server) = common::TestServer::start(SHOP, common::Backend::Sqlite, "other_sqlite").await else { return };
    let ssot_store::DatabaseUrl::Sqlite(path) = server.url.clone() else { unreachable!("a SQLite test") };
    let insert = |email: &str| {
        format!("INSERT INTO users (email, role, karma, created_at) VALUES ('{email}', 'member', 1, 1700000000000);")
    };
    let mut writers = 0;
    match std::process::Command::new("sqlite3").arg(&path).arg(insert("shell@x")).output() {
        Ok(out) => {
            assert!(out.status.success(), "sqlite3 shell: {}", String::from_utf8_lossy(&out.stderr));
            writers += 1;
        }
        Err(e) => eprintln!("SKIPPED the sqlite3 shell writer: {e} (apt-get install sqlite3)"),
    }
    let python = format!(
        "import sqlite3, sys\nc = sqlite3.connect(sys.argv[1])\nprint(sqlite3.sqlite_version)\nc.execute(\"{}\")\nc.commit()\n",
        insert("python@x").trim_end_matches(';')
    );
    match std::process::Command::new("python3").arg("-c").arg(&python).arg(&path).output() {
        Ok(out) => {
            assert!(out.status.success(), "python's sqlite3: {}", String::from_utf8_lossy(&out.stderr));
            eprintln!("python's sqlite3 is {}", String::from_utf8_lossy(&out.stdout).trim());
            writers += 1;
        }
        Err(e) => eprintln!("SKIPPED the Python writer: {e}"),
    }
    assert!(writers > 0, "no other SQLite to write with: install sqlite3 or python3");

    let (status, list) = server.admin("GET", "/api/users?orderBy={\"id\":\"asc\"}", None).await;
    assert_eq!(status, 200, "{list}");
    assert_eq!(list["data"].as_array().map(Vec::len), Some(writers), "{list}");
    let log = server.raw(|conn| entries(conn));
    assert_eq!(log.len(), writers, "every outside write is logged");
    assert!(log.iter().all(|e| e.2 == "create" && e.5["email"].is_string()));
    let at: Vec<i64> = server.raw(|conn| {
        conn.query("SELECT at FROM _ssot_changes", &[]).expect("at").iter().filter_map(|r| r[0].as_i64()).collect()
    });
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_millis() as i64);
    assert!(at.iter().all(|t| (now - t).abs() < 600_000), "`at` is the time of the write in ms: {at:?} vs {now}");
    assert_eq!(list["meta"]["seq"].as_i64(), log.last().map(|e| e.0));
    server.stop().await;
}

fn retention(seconds: u64, count: i64) -> ssot_store::changelog::Retention {
    ssot_store::changelog::Retention { max_age: std::time::Duration::from_secs(seconds), max_count: count }
}

// The followers' view of the log (live queries, resume): records in order with their
// rows, decoded to exactly what a read of the API shows, every scalar type included.
on_every_backend!(records_carry_rows_in_the_apis_form, SHOP, |server| {
    let (_, start) = server.admin("GET", "/api/products?take=1", None).await;
    let start = start["meta"]["seq"].as_i64().unwrap_or_default();
    let product = json!({
        "name": "lamp", "price": "12.5", "weight": 1.25, "stock": "9007199254740993", "active": false,
        "meta": {"a": [1, "x"]}, "image": "AQID/w==", "releaseAt": "2026-01-02T03:04:05.678Z",
    });
    let (status, created) = server.admin("POST", "/api/products", Some(product)).await;
    assert_eq!(status, 201, "{created}");
    let id = created["id"].as_str().unwrap_or_default().to_string();
    let (_, updated) =
        server.admin("PATCH", &format!("/api/products/{id}"), Some(json!({"name": "lamp 2", "meta": null}))).await;
    server.admin("DELETE", &format!("/api/products/{id}"), None).await;

    let page = server.store.changes_after(start, 100).await.expect("read the log");
    let es = &server.store.entities;
    let model = es.by_name("Product").expect("Product");
    let ops: Vec<(&str, &str)> = page.records.iter().map(|r| (r.label.as_str(), r.op.as_str())).collect();
    assert_eq!(ops, [("Product", "create"), ("Product", "update"), ("Product", "delete")]);
    assert_eq!(page.reached, page.records[2].seq);
    assert!(page.records.windows(2).all(|w| w[0].seq < w[1].seq));
    assert!(page.records.iter().all(|r| r.at > 1_700_000_000_000), "times in epoch ms");
    let row = |r: &Option<serde_json::Map<String, Json>>| {
        Json::Object(ssot_store::changelog::api_row(es, model, r.as_ref().expect("a row")))
    };
    assert_eq!(row(&page.records[0].new), created);
    assert_eq!(row(&page.records[1].old), created);
    assert_eq!(row(&page.records[1].new), updated);
    assert_eq!(row(&page.records[2].old), updated);
    assert!(page.records[0].old.is_none() && page.records[2].new.is_none());

    // A page stops at its limit and says how far it reached.
    let first = server.store.changes_after(start, 1).await.expect("read one");
    assert_eq!((first.records.len(), first.reached), (1, page.records[0].seq));
    let (oldest, newest) = server.store.log_bounds().await.expect("bounds");
    assert!(oldest >= 1 && oldest <= page.records[0].seq && newest == page.records[2].seq, "{oldest} {newest}");
});

// The webhooks' outbox is the log: pruning must not delete what a service has not delivered.
on_every_backend!(pruning_keeps_what_a_service_has_not_delivered, SHOP, |server| {
    let rows: Vec<Json> = (0..30).map(|i| json!({"email": format!("{i}@x")})).collect();
    server.admin("POST", "/api/users/bulk", Some(json!({"data": rows}))).await;
    let log = server.raw(|conn| entries(conn));
    let cursor = log[9].0;
    server.raw(|conn| {
        ssot_services::tables::create(conn).expect("tables");
        let sql = match conn.dialect() {
            ssot_store::dialect::Dialect::Sqlite => {
                "INSERT INTO \"_ssot_cursors\" (\"name\", \"seq\") VALUES ('slow', ?1)"
            }
            ssot_store::dialect::Dialect::Postgres => {
                "INSERT INTO public.\"_ssot_cursors\" (\"name\", \"seq\") VALUES ('slow', $1::text::bigint)"
            }
        };
        conn.execute(sql, &[ssot_store::conn::Value::Int(cursor)]).expect("cursor");
    });
    server.store.keep_undelivered();
    server.store.prune_changes_to(retention(0, 5)).await.expect("prune");
    let kept = server.raw(|conn| entries(conn));
    assert_eq!(kept.first().map(|e| e.0), Some(log[10].0), "every entry after the cursor stays");
    assert_eq!(kept.len(), log.len() - 10);
});
