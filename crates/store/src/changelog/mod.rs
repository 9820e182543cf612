//! The change log: every committed insert, update and delete, in commit order.
//!
//! Database triggers write it, inside the writing transaction, so that changes made
//! outside ssot (psql, a Prisma app) are captured like ssot's own. Each entry holds a
//! monotonically increasing `seq`, the table's model (or join table), the operation, the
//! primary key and the old and new rows as JSON objects keyed by column name, with the
//! database's own representation of each value (the reader decodes them with the
//! catalog).
//!
//! Commit order: on SQLite there is one writer at a time, so `seq` order is commit order.
//! On PostgreSQL a sequence alone is not (a transaction can take seq 9, then commit after
//! one that took seq 10, and a reader that saw 10 would miss 9), so the trigger takes a
//! transaction-scoped advisory lock before it numbers an entry: writers that touch the log
//! are serialized from their first change to their commit, and `seq` order is commit order.

use crate::dialect::{quote, Dialect};

mod triggers;

pub use triggers::{statements, table};

pub const TABLE: &str = "_ssot_changes";

/// The services' cursors (`name`, `seq`: the last entry delivered or dead-lettered), owned
/// by `ssot-services`; named here because retention must not prune past them.
pub const CURSORS_TABLE: &str = "_ssot_cursors";

/// The advisory-lock key that orders PostgreSQL writers (any fixed number unlikely to
/// collide with an application's own keys).
const PG_LOCK_KEY: i64 = 0x5_5077_c4a6;

/// The time now in epoch milliseconds, in SQL every SQLite evaluates the same way: the
/// triggers run inside whoever writes (Debian's `sqlite3` shell is 3.40, Python's module
/// often older), and `unixepoch('subsec')` is NULL before 3.42, which would make their
/// writes fail on the log's NOT NULL `at`. `julianday` exists in every version.
pub const SQLITE_NOW_MS: &str = "CAST((julianday('now') - 2440587.5) * 86400000.0 AS INTEGER)";

/// Deletes entries older than `max_age_ms` or beyond the newest `max_count`, always
/// keeping the newest entry (it carries the current `seq`, which must never go back).
///
/// With `below_cursors`, no entry after the smallest cursor of [`CURSORS_TABLE`] is
/// deleted: a service that has not yet delivered it still needs it (but a disabled one,
/// which will start again from the log's end).
pub fn prune(
    conn: &mut dyn crate::conn::Conn,
    max_age_ms: i64,
    max_count: i64,
    below_cursors: bool,
) -> Result<u64, crate::StoreError> {
    use crate::conn::Value;
    let table = table(conn.dialect());
    let (cutoff, p2) = match conn.dialect() {
        Dialect::Sqlite => (format!("{SQLITE_NOW_MS} - ?1"), "?2"),
        Dialect::Postgres => ("now() - ($1::text::bigint * interval '1 millisecond')".to_string(), "$2::text::bigint"),
    };
    let mut sql = format!(
        "DELETE FROM {table} WHERE \"seq\" < (SELECT MAX(\"seq\") FROM {table}) \
         AND (\"at\" < {cutoff} OR \"seq\" <= COALESCE((SELECT \"seq\" FROM {table} ORDER BY \"seq\" DESC LIMIT 1 OFFSET {p2}), 0))"
    );
    if below_cursors {
        let cursors = match conn.dialect() {
            Dialect::Sqlite => quote(CURSORS_TABLE),
            Dialect::Postgres => format!("public.{}", quote(CURSORS_TABLE)),
        };
        sql.push_str(&format!(
            " AND \"seq\" <= COALESCE((SELECT MIN(\"seq\") FROM {cursors} WHERE \"disabled\" IS NULL), (SELECT MAX(\"seq\") FROM {table}))"
        ));
    }
    Ok(conn.execute(&sql, &[Value::Int(max_age_ms), Value::Int(max_count)])?)
}

/// One entry of the log, as the checks after a write read it.
#[derive(Debug, Clone)]
pub struct Change {
    /// The model's name, or the join table's for an implicit many-to-many link.
    pub label: String,
    /// `create`, `update` or `delete`.
    pub op: String,
    /// The primary key, by column name, in the database's representation.
    pub pk: serde_json::Map<String, serde_json::Value>,
}

/// Where the log stands before a write whose own changes will be read back with
/// [`changes_since`]. On PostgreSQL it first takes the writers' advisory lock (which the
/// write's first change would take anyway), so no other transaction's entries can land
/// after this position while this one runs.
pub fn capture_start(conn: &mut dyn crate::conn::Conn) -> Result<i64, crate::StoreError> {
    if conn.dialect() == Dialect::Postgres {
        conn.query(&format!("SELECT 1 FROM (SELECT pg_advisory_xact_lock({PG_LOCK_KEY})) AS l"), &[])?;
    }
    crate::query::read::current_seq(conn)
}

/// The entries after `since`, in order: inside the writing transaction, its own changes.
pub fn changes_since(conn: &mut dyn crate::conn::Conn, since: i64) -> Result<Vec<Change>, crate::StoreError> {
    use crate::conn::Value;
    let (pk, param) = match conn.dialect() {
        Dialect::Sqlite => ("\"pk\"", "?1"),
        Dialect::Postgres => ("\"pk\"::text", "$1::text::bigint"),
    };
    let sql = format!(
        "SELECT \"model\", \"op\", {pk} FROM {} WHERE \"seq\" > {param} ORDER BY \"seq\"",
        table(conn.dialect())
    );
    let rows = conn.query(&sql, &[Value::Int(since)])?;
    Ok(rows.iter().map(|row| change(row, 0)).collect())
}

/// The change in a log row whose columns from `first` on are `model`, `op` and `pk` (as text).
fn change(row: &[crate::conn::Value], first: usize) -> Change {
    use crate::conn::Value;
    let text = |i: usize| row.get(first + i).and_then(Value::as_text).unwrap_or_default().to_string();
    let pk = match serde_json::from_str(&text(2)) {
        Ok(serde_json::Value::Object(map)) => map,
        _ => serde_json::Map::new(),
    };
    Change { label: text(0), op: text(1), pk }
}

/// One entry of the log, as a follower of the log reads it.
#[derive(Debug, Clone)]
pub struct Entry {
    pub seq: i64,
    pub change: Change,
}

/// The entries after `after` whose label is one of `labels`, in order, at most `limit`;
/// and the log's newest `seq` (so a follower can advance past entries of other labels).
pub fn entries_after(
    conn: &mut dyn crate::conn::Conn,
    after: i64,
    labels: &[&str],
    limit: i64,
) -> Result<(Vec<Entry>, i64), crate::StoreError> {
    use crate::conn::Value;
    let dialect = conn.dialect();
    let newest = crate::query::read::current_seq(conn)?;
    if labels.is_empty() || newest <= after {
        return Ok((Vec::new(), newest));
    }
    let param = |i: usize| match dialect {
        Dialect::Sqlite => format!("?{i}"),
        Dialect::Postgres => format!("${i}::text"),
    };
    let (pk, seq_param, limit_param) = match dialect {
        Dialect::Sqlite => ("\"pk\"", "?1".to_string(), "?2".to_string()),
        Dialect::Postgres => ("\"pk\"::text", "$1::text::bigint".to_string(), "$2::text::bigint".to_string()),
    };
    let label_params: Vec<String> = (0..labels.len()).map(|i| param(i + 3)).collect();
    let sql = format!(
        "SELECT \"seq\", \"model\", \"op\", {pk} FROM {} WHERE \"seq\" > {seq_param} AND \"model\" IN ({}) \
         ORDER BY \"seq\" LIMIT {limit_param}",
        table(dialect),
        label_params.join(", ")
    );
    let mut params = vec![Value::Int(after), Value::Int(limit)];
    params.extend(labels.iter().map(|l| Value::Text((*l).to_string())));
    let rows = conn.query(&sql, &params)?;
    let full = i64::try_from(rows.len()).unwrap_or(i64::MAX) >= limit;
    let out: Vec<Entry> = rows
        .iter()
        .map(|row| Entry { seq: row.first().and_then(Value::as_i64).unwrap_or(0), change: change(row, 1) })
        .collect();
    // A full page may stop short of the newest entry: the follower reads on from its last.
    let reached = if full { out.last().map_or(newest, |e| e.seq) } else { newest };
    Ok((out, reached))
}

/// Labels of entries ssot writes itself (not a table's trigger) start with this; readers of
/// the application's changes (realtime, webhooks) skip them.
pub const INTERNAL_LABEL_PREFIX: &str = "$";

/// Logs an event of ssot's own under `label` (which starts with `$`) with `key` as its
/// primary key, in the writer's transaction and in commit order like a trigger's entry,
/// so that every instance following the log learns of it (a session ended).
pub fn record(
    conn: &mut dyn crate::conn::Conn,
    label: &str,
    op: &str,
    key: serde_json::Map<String, serde_json::Value>,
) -> Result<(), crate::StoreError> {
    use crate::conn::Value;
    debug_assert!(label.starts_with(INTERNAL_LABEL_PREFIX));
    capture_start(conn)?;
    let pk = serde_json::Value::Object(key).to_string();
    let sql = match conn.dialect() {
        Dialect::Sqlite => format!(
            "INSERT INTO {} (\"at\", \"model\", \"op\", \"pk\") VALUES ({SQLITE_NOW_MS}, ?1, ?2, ?3)",
            table(Dialect::Sqlite)
        ),
        Dialect::Postgres => format!(
            "INSERT INTO {} (\"model\", \"op\", \"pk\") VALUES ($1::text, $2::text, $3::text::jsonb)",
            table(Dialect::Postgres)
        ),
    };
    conn.execute(&sql, &[Value::Text(label.into()), Value::Text(op.into()), Value::Text(pk)])?;
    if conn.dialect() == Dialect::Postgres {
        conn.query("SELECT 1 FROM (SELECT pg_notify('ssot_changes', '')) AS n", &[])?;
    }
    Ok(())
}

/// One entry of the log with its rows, as the followers of the log (live queries,
/// resume, webhooks) read it.
#[derive(Debug, Clone, PartialEq)]
pub struct Record {
    pub seq: i64,
    /// When the change was written, in epoch milliseconds.
    pub at: i64,
    /// The model's name, the join table's for an implicit many-to-many link, or a label
    /// of ssot's own (starting with [`INTERNAL_LABEL_PREFIX`]).
    pub label: String,
    /// `create`, `update` or `delete`.
    pub op: String,
    /// The primary key, by column name, in the database's representation.
    pub pk: serde_json::Map<String, serde_json::Value>,
    /// The row before (updates, deletes) and after (creates, updates), by column name, in
    /// the database's representation: [`api_row`] gives the API's form.
    pub old: Option<serde_json::Map<String, serde_json::Value>>,
    pub new: Option<serde_json::Map<String, serde_json::Value>>,
}

/// A page of the log: the records after a position, in `seq` order, and how far the
/// page reached (the log's newest `seq` when the page is not full).
#[derive(Debug, Clone, Default)]
pub struct Page {
    pub records: Vec<Record>,
    pub reached: i64,
}

/// The records after `after`, in order, at most `limit`.
pub fn records_after(conn: &mut dyn crate::conn::Conn, after: i64, limit: i64) -> Result<Page, crate::StoreError> {
    use crate::conn::Value;
    let dialect = conn.dialect();
    let newest = crate::query::read::current_seq(conn)?;
    if newest <= after {
        return Ok(Page { records: Vec::new(), reached: newest });
    }
    let sql = match dialect {
        Dialect::Sqlite => format!(
            "SELECT \"seq\", \"at\", \"model\", \"op\", \"pk\", \"old\", \"new\" FROM {} \
             WHERE \"seq\" > ?1 ORDER BY \"seq\" LIMIT ?2",
            table(dialect)
        ),
        Dialect::Postgres => format!(
            "SELECT \"seq\", (extract(epoch from \"at\") * 1000)::bigint, \"model\", \"op\", \"pk\"::text, \
             \"old\"::text, \"new\"::text FROM {} WHERE \"seq\" > $1::text::bigint ORDER BY \"seq\" \
             LIMIT $2::text::bigint",
            table(dialect)
        ),
    };
    let rows = conn.query(&sql, &[Value::Int(after), Value::Int(limit)])?;
    let object = |value: Option<&Value>| match value.and_then(Value::as_text).map(serde_json::from_str) {
        Some(Ok(serde_json::Value::Object(map))) => Some(map),
        _ => None,
    };
    let records: Vec<Record> = rows
        .iter()
        .map(|row| {
            let int = |i: usize| row.get(i).and_then(Value::as_i64).unwrap_or(0);
            let text = |i: usize| row.get(i).and_then(Value::as_text).unwrap_or_default().to_string();
            Record {
                seq: int(0),
                at: int(1),
                label: text(2),
                op: text(3),
                pk: object(row.get(4)).unwrap_or_default(),
                old: object(row.get(5)),
                new: object(row.get(6)),
            }
        })
        .collect();
    let full = i64::try_from(records.len()).unwrap_or(i64::MAX) >= limit;
    // A full page may stop short of the newest entry: the follower reads on from its last.
    // A page that is not full holds everything up to its last entry, which may be past
    // `newest` (read first, and PostgreSQL's next statement sees later commits): reading on
    // from `newest` would give those entries again.
    let last = records.last().map(|r| r.seq);
    let reached = if full { last.unwrap_or(newest) } else { last.map_or(newest, |seq| seq.max(newest)) };
    Ok(Page { records, reached })
}

/// The oldest `seq` the log still holds (0 when it is empty): a follower that stands
/// before it has missed entries that are gone.
pub fn oldest_seq(conn: &mut dyn crate::conn::Conn) -> Result<i64, crate::StoreError> {
    use crate::conn::Value;
    let sql = format!("SELECT COALESCE(MIN(\"seq\"), 0) FROM {}", table(conn.dialect()));
    let rows = conn.query(&sql, &[])?;
    Ok(rows.first().and_then(|r| r.first()).and_then(Value::as_i64).unwrap_or(0))
}

/// A row of `model` as the log holds it (by column, in the database's representation)
/// in the API's form: every scalar field by name, as a read would show it. Columns the
/// row lacks are left out.
pub fn api_row(
    es: &crate::entity::Entities,
    model: usize,
    row: &serde_json::Map<String, serde_json::Value>,
) -> serde_json::Map<String, serde_json::Value> {
    let entity = &es.entities[model];
    let mut out = serde_json::Map::with_capacity(entity.fields.len());
    for (field, column) in entity.fields.iter().zip(&es.storage[model].columns) {
        let Some(value) = row.get(&column.name) else { continue };
        out.insert(field.name.clone(), api_value(es, field, value));
    }
    out
}

/// One column's value as the log holds it, in the API's form.
pub fn api_value(
    es: &crate::entity::Entities,
    field: &crate::entity::ScalarField,
    value: &serde_json::Value,
) -> serde_json::Value {
    use crate::conn::Value;
    use serde_json::Value as Json;
    let value = match value {
        Json::Null => Value::Null,
        Json::Bool(b) => Value::Int(i64::from(*b)),
        // Decimals keep their digits as text; other numbers are what they are.
        Json::Number(n) if matches!(field.kind, crate::entity::Kind::Scalar(ssot_schema::ir::ScalarType::Decimal)) => {
            Value::Text(n.to_string())
        }
        Json::Number(n) => n.as_i64().map_or_else(|| Value::Float(n.as_f64().unwrap_or(f64::NAN)), Value::Int),
        Json::String(s) => Value::Text(s.clone()),
        // PostgreSQL's `jsonb` of a list or a Json column: the JSON text, as a read returns it.
        other => Value::Text(other.to_string()),
    };
    crate::value::decode(field, &es.stored_enums, value)
}

/// How long the log keeps its entries: those older than `max_age` or beyond the newest
/// `max_count` are pruned (the newest is always kept). Followers further behind than
/// this start again from a fresh snapshot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Retention {
    pub max_age: std::time::Duration,
    pub max_count: i64,
}

impl Default for Retention {
    /// Seven days and a million entries.
    fn default() -> Retention {
        Retention { max_age: std::time::Duration::from_secs(7 * 86_400), max_count: 1_000_000 }
    }
}
