//! The services' two hidden tables, on SQLite and PostgreSQL: `_ssot_cursors` (per service
//! the last `seq` delivered or dead-lettered, and a lease: which instance delivers it, until
//! when) and `_ssot_service_dead` (the dead letters). This module owns their SQL.

use ssot_store::conn::{Conn, Value};
use ssot_store::dialect::Dialect;
use ssot_store::StoreError;

pub const DEAD_TABLE: &str = "_ssot_service_dead";

fn cursors(d: Dialect) -> String {
    match d {
        Dialect::Sqlite => format!("\"{}\"", ssot_store::changelog::CURSORS_TABLE),
        Dialect::Postgres => format!("public.\"{}\"", ssot_store::changelog::CURSORS_TABLE),
    }
}

fn dead(d: Dialect) -> String {
    match d {
        Dialect::Sqlite => format!("\"{DEAD_TABLE}\""),
        Dialect::Postgres => format!("public.\"{DEAD_TABLE}\""),
    }
}

/// Parameter `i` as text (`?i`; PostgreSQL's connections take text in, cast to `ty`).
fn p(d: Dialect, i: usize, ty: &str) -> String {
    match d {
        Dialect::Sqlite => format!("?{i}"),
        Dialect::Postgres if ty == "text" => format!("${i}::text"),
        Dialect::Postgres => format!("${i}::text::{ty}"),
    }
}

pub fn create(conn: &mut dyn Conn) -> Result<(), StoreError> {
    let d = conn.dialect();
    let (int, serial) = match d {
        Dialect::Sqlite => ("INTEGER", "INTEGER PRIMARY KEY AUTOINCREMENT"),
        Dialect::Postgres => ("BIGINT", "BIGSERIAL PRIMARY KEY"),
    };
    conn.execute(
        &format!(
            "CREATE TABLE IF NOT EXISTS {} (\"name\" TEXT NOT NULL PRIMARY KEY, \"seq\" {int} NOT NULL, \
             \"holder\" TEXT, \"lease_until\" {int} NOT NULL DEFAULT 0, \"disabled\" TEXT)",
            cursors(d)
        ),
        &[],
    )?;
    // Tables made before services could be disabled (a 410) lack the column.
    match d {
        Dialect::Sqlite => {
            let columns = conn.query(
                &format!(
                    "SELECT 1 FROM pragma_table_info('{}') WHERE name = 'disabled'",
                    ssot_store::changelog::CURSORS_TABLE
                ),
                &[],
            )?;
            if columns.is_empty() {
                conn.execute(&format!("ALTER TABLE {} ADD COLUMN \"disabled\" TEXT", cursors(d)), &[])?;
            }
        }
        Dialect::Postgres => {
            conn.execute(&format!("ALTER TABLE {} ADD COLUMN IF NOT EXISTS \"disabled\" TEXT", cursors(d)), &[])?;
        }
    }
    conn.execute(
        &format!(
            "CREATE TABLE IF NOT EXISTS {} (\"id\" {serial}, \"service\" TEXT NOT NULL, \"event_id\" TEXT NOT NULL, \
             \"seq\" {int} NOT NULL, \"payload\" TEXT NOT NULL, \"error\" TEXT NOT NULL, \"attempts\" {int} NOT NULL, \
             \"at\" {int} NOT NULL)",
            dead(d)
        ),
        &[],
    )?;
    Ok(())
}

/// The service's cursor, created at the log's newest `seq` the first time (a new service
/// starts with the changes after it appeared).
pub fn ensure(conn: &mut dyn Conn, name: &str) -> Result<(), StoreError> {
    let d = conn.dialect();
    let head = ssot_store::query::read::current_seq(conn)?;
    conn.execute(
        &format!(
            "INSERT INTO {} (\"name\", \"seq\") VALUES ({}, {}) ON CONFLICT (\"name\") DO NOTHING",
            cursors(d),
            p(d, 1, "text"),
            p(d, 2, "bigint")
        ),
        &[Value::Text(name.into()), Value::Int(head)],
    )?;
    Ok(())
}

/// Deletes the cursors of services the schema no longer has (their names not in `kept`)
/// that no instance delivers now (no lease held at `now`: an instance on a newer schema may
/// still have them): retention keeps every entry after the smallest cursor, and a cursor
/// nobody moves would keep the whole log from then on. Their names.
pub fn forget_others(conn: &mut dyn Conn, kept: &[String], now: i64) -> Result<Vec<String>, StoreError> {
    let d = conn.dialect();
    let rows = conn.query(&format!("SELECT \"name\" FROM {}", cursors(d)), &[])?;
    let mut forgotten = Vec::new();
    for row in rows {
        let Some(Value::Text(name)) = row.into_iter().next() else { continue };
        if kept.contains(&name) {
            continue;
        }
        let deleted = conn.execute(
            &format!(
                "DELETE FROM {} WHERE \"name\" = {} AND (\"holder\" IS NULL OR \"lease_until\" < {})",
                cursors(d),
                p(d, 1, "text"),
                p(d, 2, "bigint")
            ),
            &[Value::Text(name.clone()), Value::Int(now)],
        )?;
        if deleted > 0 {
            forgotten.push(name);
        }
    }
    Ok(forgotten)
}

/// Takes or renews the lease for `holder` until `until` (epoch ms) when it is free, expired
/// or already `holder`'s, and the service is not disabled; `Some(cursor)` when held.
pub fn lease(conn: &mut dyn Conn, name: &str, holder: &str, now: i64, until: i64) -> Result<Option<i64>, StoreError> {
    let d = conn.dialect();
    let taken = conn.execute(
        &format!(
            "UPDATE {} SET \"holder\" = {h}, \"lease_until\" = {u} WHERE \"name\" = {n} \
             AND \"disabled\" IS NULL AND (\"holder\" IS NULL OR \"holder\" = {h} OR \"lease_until\" < {now})",
            cursors(d),
            h = p(d, 1, "text"),
            u = p(d, 2, "bigint"),
            n = p(d, 3, "text"),
            now = p(d, 4, "bigint"),
        ),
        &[Value::Text(holder.into()), Value::Int(until), Value::Text(name.into()), Value::Int(now)],
    )?;
    if taken == 0 {
        return Ok(None);
    }
    cursor(conn, name)
}

/// Disables the service (its endpoint answered 410 Gone): no instance delivers it, and the
/// log's retention no longer waits for it, until an admin enables it again.
pub fn disable(conn: &mut dyn Conn, name: &str, reason: &str) -> Result<(), StoreError> {
    let d = conn.dialect();
    conn.execute(
        &format!(
            "UPDATE {} SET \"disabled\" = {r}, \"holder\" = NULL, \"lease_until\" = 0 WHERE \"name\" = {n}",
            cursors(d),
            r = p(d, 1, "text"),
            n = p(d, 2, "text"),
        ),
        &[Value::Text(reason.into()), Value::Text(name.into())],
    )?;
    Ok(())
}

/// Enables a disabled service from the log's end (what happened meanwhile is not sent: the
/// log may no longer hold it); whether it was disabled.
pub fn enable(conn: &mut dyn Conn, name: &str) -> Result<bool, StoreError> {
    let d = conn.dialect();
    let head = ssot_store::query::read::current_seq(conn)?;
    let n = conn.execute(
        &format!(
            "UPDATE {} SET \"disabled\" = NULL, \"seq\" = {s} WHERE \"name\" = {n} AND \"disabled\" IS NOT NULL",
            cursors(d),
            s = p(d, 1, "bigint"),
            n = p(d, 2, "text"),
        ),
        &[Value::Int(head), Value::Text(name.into())],
    )?;
    Ok(n > 0)
}

/// Why the service is disabled, if it is.
pub fn disabled(conn: &mut dyn Conn, name: &str) -> Result<Option<String>, StoreError> {
    let d = conn.dialect();
    let rows = conn.query(
        &format!("SELECT \"disabled\" FROM {} WHERE \"name\" = {}", cursors(d), p(d, 1, "text")),
        &[Value::Text(name.into())],
    )?;
    Ok(rows.into_iter().next().and_then(|r| r.into_iter().next()).and_then(|v| match v {
        Value::Text(reason) => Some(reason),
        _ => None,
    }))
}

pub fn cursor(conn: &mut dyn Conn, name: &str) -> Result<Option<i64>, StoreError> {
    let d = conn.dialect();
    let rows = conn.query(
        &format!("SELECT \"seq\" FROM {} WHERE \"name\" = {}", cursors(d), p(d, 1, "text")),
        &[Value::Text(name.into())],
    )?;
    Ok(rows.first().and_then(|r| r.first()).and_then(Value::as_i64))
}

/// Moves the cursor to `seq` and renews the lease, if `holder` still holds it: `false`
/// when another instance took it over (this one then stops delivering).
pub fn advance(conn: &mut dyn Conn, name: &str, holder: &str, seq: i64, until: i64) -> Result<bool, StoreError> {
    let d = conn.dialect();
    let n = conn.execute(
        &format!(
            "UPDATE {} SET \"seq\" = {s}, \"lease_until\" = {u} WHERE \"name\" = {n} AND \"holder\" = {h}",
            cursors(d),
            s = p(d, 1, "bigint"),
            u = p(d, 2, "bigint"),
            n = p(d, 3, "text"),
            h = p(d, 4, "text"),
        ),
        &[Value::Int(seq), Value::Int(until), Value::Text(name.into()), Value::Text(holder.into())],
    )?;
    Ok(n > 0)
}

/// Gives the lease up (a graceful stop), so another instance or a restart takes over at once.
pub fn release(conn: &mut dyn Conn, name: &str, holder: &str) -> Result<(), StoreError> {
    let d = conn.dialect();
    conn.execute(
        &format!(
            "UPDATE {} SET \"holder\" = NULL, \"lease_until\" = 0 WHERE \"name\" = {} AND \"holder\" = {}",
            cursors(d),
            p(d, 1, "text"),
            p(d, 2, "text")
        ),
        &[Value::Text(name.into()), Value::Text(holder.into())],
    )?;
    Ok(())
}

/// A dead letter, as stored and as the admin endpoint lists it.
#[derive(Debug, Clone)]
pub struct Dead {
    pub id: i64,
    pub event_id: String,
    pub seq: i64,
    pub payload: String,
    pub error: String,
    pub attempts: i64,
    pub at: i64,
}

pub fn bury(conn: &mut dyn Conn, service: &str, dead_letter: &Dead) -> Result<(), StoreError> {
    let d = conn.dialect();
    conn.execute(
        &format!(
            "INSERT INTO {} (\"service\", \"event_id\", \"seq\", \"payload\", \"error\", \"attempts\", \"at\") \
             VALUES ({}, {}, {}, {}, {}, {}, {})",
            dead(d),
            p(d, 1, "text"),
            p(d, 2, "text"),
            p(d, 3, "bigint"),
            p(d, 4, "text"),
            p(d, 5, "text"),
            p(d, 6, "bigint"),
            p(d, 7, "bigint"),
        ),
        &[
            Value::Text(service.into()),
            Value::Text(dead_letter.event_id.clone()),
            Value::Int(dead_letter.seq),
            Value::Text(dead_letter.payload.clone()),
            Value::Text(dead_letter.error.clone()),
            Value::Int(dead_letter.attempts),
            Value::Int(dead_letter.at),
        ],
    )?;
    Ok(())
}

/// The service's dead letters in `seq` order, at most `limit`; only `id` when given.
pub fn dead_letters(conn: &mut dyn Conn, service: &str, id: Option<i64>, limit: i64) -> Result<Vec<Dead>, StoreError> {
    let d = conn.dialect();
    let only = if id.is_some() { format!(" AND \"id\" = {}", p(d, 3, "bigint")) } else { String::new() };
    let sql = format!(
        "SELECT \"id\", \"event_id\", \"seq\", \"payload\", \"error\", \"attempts\", \"at\" FROM {} \
         WHERE \"service\" = {}{only} ORDER BY \"seq\", \"id\" LIMIT {}",
        dead(d),
        p(d, 1, "text"),
        p(d, 2, "bigint"),
    );
    let mut params = vec![Value::Text(service.into()), Value::Int(limit)];
    params.extend(id.map(Value::Int));
    let rows = conn.query(&sql, &params)?;
    Ok(rows
        .iter()
        .map(|r| {
            let int = |i: usize| r.get(i).and_then(Value::as_i64).unwrap_or(0);
            let text = |i: usize| r.get(i).and_then(Value::as_text).unwrap_or_default().to_string();
            Dead {
                id: int(0),
                event_id: text(1),
                seq: int(2),
                payload: text(3),
                error: text(4),
                attempts: int(5),
                at: int(6),
            }
        })
        .collect())
}

pub fn dead_count(conn: &mut dyn Conn, service: &str) -> Result<i64, StoreError> {
    let d = conn.dialect();
    let rows = conn.query(
        &format!("SELECT COUNT(*) FROM {} WHERE \"service\" = {}", dead(d), p(d, 1, "text")),
        &[Value::Text(service.into())],
    )?;
    Ok(rows.first().and_then(|r| r.first()).and_then(Value::as_i64).unwrap_or(0))
}

/// Deletes the service's dead letter `id` (every one with `None`); how many went.
pub fn forget(conn: &mut dyn Conn, service: &str, id: Option<i64>) -> Result<u64, StoreError> {
    let d = conn.dialect();
    let only = if id.is_some() { format!(" AND \"id\" = {}", p(d, 2, "bigint")) } else { String::new() };
    let mut params = vec![Value::Text(service.into())];
    params.extend(id.map(Value::Int));
    Ok(conn.execute(&format!("DELETE FROM {} WHERE \"service\" = {}{only}", dead(d), p(d, 1, "text")), &params)?)
}

/// Records another failed attempt on dead letter `dead.id`.
pub fn failed_again(conn: &mut dyn Conn, service: &str, dead_letter: &Dead) -> Result<(), StoreError> {
    let d = conn.dialect();
    conn.execute(
        &format!(
            "UPDATE {} SET \"error\" = {}, \"attempts\" = {}, \"at\" = {} WHERE \"service\" = {} AND \"id\" = {}",
            dead(d),
            p(d, 1, "text"),
            p(d, 2, "bigint"),
            p(d, 3, "bigint"),
            p(d, 4, "text"),
            p(d, 5, "bigint"),
        ),
        &[
            Value::Text(dead_letter.error.clone()),
            Value::Int(dead_letter.attempts),
            Value::Int(dead_letter.at),
            Value::Text(service.into()),
            Value::Int(dead_letter.id),
        ],
    )?;
    Ok(())
}
