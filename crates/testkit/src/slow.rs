//! A database on which one request can run for a long time: the query-cost tests' attack.
//!
//! Posts and tags, linked many-to-many; relation filters nested through the link and OR-ed
//! with a plain condition at every level cannot be turned into joins by either database,
//! so each level multiplies the work.

use ssot_store::conn::Conn;
use ssot_store::dialect::Dialect;

/// The schema (SQLite provider; tests swap it for PostgreSQL), readable by anyone.
pub const SCHEMA: &str = include_str!("../../../bench/attack/schema.prisma");

/// Posts the seed writes.
pub const POSTS: i64 = 6000;

/// Writes [`POSTS`] posts, 300 tags and 5 tags a post, with plain SQL.
pub fn seed(conn: &mut dyn Conn) -> Result<(), ssot_store::conn::DbError> {
    let sql = match conn.dialect() {
        Dialect::Sqlite => format!(
            "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {POSTS}) \
               INSERT INTO \"Post\" (id, title) SELECT i, 'post ' || i FROM n; \
             WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 300) \
               INSERT INTO \"Tag\" (id, name) SELECT i, 'tag ' || i FROM n; \
             WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {POSTS}), \
               k(j) AS (SELECT 1 UNION ALL SELECT j + 1 FROM k WHERE j < 5) \
               INSERT OR IGNORE INTO \"_PostToTag\" (\"A\", \"B\") SELECT i, 1 + ((i * 7 + j * 131) % 300) FROM n, k;"
        ),
        Dialect::Postgres => format!(
            "INSERT INTO \"Post\" (id, title) SELECT i, 'post ' || i FROM generate_series(1, {POSTS}) i; \
             INSERT INTO \"Tag\" (id, name) SELECT i, 'tag ' || i FROM generate_series(1, 300) i; \
             INSERT INTO \"_PostToTag\" (\"A\", \"B\") SELECT DISTINCT i, 1 + ((i * 7 + j * 131) % 300) \
               FROM generate_series(1, {POSTS}) i, generate_series(1, 5) j; ANALYZE;"
        ),
    };
    conn.batch(&sql)
}

/// The slow filter on `Post`: relation filters four levels deep (the default limit),
/// OR-ed with a plain condition at every level; it matches nothing.
pub fn attack() -> String {
    let leaf = r#"{"posts": {"some": {"title": {"contains": "no such title"}}}}"#;
    let level3 = format!(r#"{{"tags": {{"some": {{"OR": [{{"name": "x"}}, {leaf}]}}}}}}"#);
    let level2 = format!(r#"{{"posts": {{"some": {{"OR": [{{"title": "x"}}, {level3}]}}}}}}"#);
    format!(r#"{{"OR": [{{"title": "x"}}, {{"tags": {{"some": {{"OR": [{{"name": "x"}}, {level2}]}}}}}}]}}"#)
}
