//! `ssot-testkit`: what the workspace's tests share (a dev-dependency only).
//!
//! [`TestDatabase`] gives a test a PostgreSQL database of its own on the server named by
//! `SSOT_TEST_DATABASE_URL`, dropped when the test ends, so tests run in parallel and
//! reruns start clean; without the variable a test says, visibly, that it skipped.
//! [`slow`] is a database on which one request runs for long (the query-cost tests).

pub mod slow;

use ssot_store::conn::{Conn, PgConn};
use std::sync::atomic::{AtomicU32, Ordering};

/// A PostgreSQL database of its own, dropped when the test ends.
pub struct TestDatabase {
    admin_url: String,
    pub name: String,
    pub url: String,
}

static COUNTER: AtomicU32 = AtomicU32::new(0);

impl TestDatabase {
    /// `None` (and a visible note naming `test`) when `SSOT_TEST_DATABASE_URL` is not set.
    pub fn create(test: &str) -> Option<TestDatabase> {
        let Ok(admin_url) = std::env::var("SSOT_TEST_DATABASE_URL") else {
            eprintln!("SKIPPED on PostgreSQL ({test}): SSOT_TEST_DATABASE_URL is not set");
            return None;
        };
        let name = format!("ssot_test_{}_{}", std::process::id(), COUNTER.fetch_add(1, Ordering::Relaxed));
        admin(&admin_url, &format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"));
        admin(&admin_url, &format!("CREATE DATABASE {name}"));
        let url = match admin_url.rsplit_once('/') {
            Some((server, _)) => format!("{server}/{name}"),
            None => {
                panic!("SSOT_TEST_DATABASE_URL must name a database, such as postgres://postgres@127.0.0.1/postgres")
            }
        };
        Some(TestDatabase { admin_url, name, url })
    }
}

/// Runs one statement on the server's administrative database, on a thread of its own
/// (the PostgreSQL client cannot block inside async code).
fn admin(url: &str, statement: &str) {
    std::thread::scope(|scope| {
        scope
            .spawn(|| {
                let mut conn = PgConn::connect(url).expect("connect to SSOT_TEST_DATABASE_URL");
                conn.batch(statement).expect("administrative statement");
            })
            .join()
            .expect("admin thread");
    });
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        let statement = format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name);
        let url = self.admin_url.clone();
        let _ = std::thread::spawn(move || {
            if let Ok(mut conn) = PgConn::connect(&url) {
                let _ = conn.batch(&statement);
            }
        })
        .join();
    }
}
