//! SQLite through rusqlite (SQLite bundled, so every build has the same version with FTS5
//! and JSON). Opened in WAL mode: one writer and any number of readers at once.

use super::{Budget, Conn, DbError, Row, Value};
use crate::dialect::Dialect;
use rusqlite::types::ValueRef;
use rusqlite::{ffi, Connection, OpenFlags};
use std::path::Path;
use std::sync::{Arc, Mutex};

pub struct SqliteConn {
    conn: Connection,
    /// The running job's budget, shared with the progress handler (which runs on this
    /// connection's thread, inside `sqlite3_step`, so the lock is never contended).
    budget: Arc<Mutex<Option<Arc<Budget>>>>,
}

/// Virtual-machine steps between two looks at the budget: often enough to stop a
/// runaway statement within a millisecond or so, rarely enough to cost nothing measurable.
const PROGRESS_STEPS: std::ffi::c_int = 4000;

impl SqliteConn {
    /// Opens (creating it when `create`) the database file at `path`.
    pub fn open(path: &Path, read_only: bool) -> Result<SqliteConn, DbError> {
        let flags = if read_only {
            OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX | OpenFlags::SQLITE_OPEN_URI
        } else {
            OpenFlags::SQLITE_OPEN_READ_WRITE
                | OpenFlags::SQLITE_OPEN_CREATE
                | OpenFlags::SQLITE_OPEN_NO_MUTEX
                | OpenFlags::SQLITE_OPEN_URI
        };
        let mut conn = Connection::open_with_flags(path, flags).map_err(classify)?;
        // WAL lets readers run beside the writer; NORMAL sync is durable at each
        // checkpoint and safe against corruption (the WAL default everywhere SQLite is
        // used as a server store); foreign keys are off by default in SQLite.
        // A 16 MiB page cache per connection and temporary tables in memory keep hot pages
        // and sorts off the disk; the WAL is cut back to 64 MiB after checkpoints.
        let pragmas = if read_only {
            "PRAGMA busy_timeout = 5000; PRAGMA foreign_keys = ON; PRAGMA cache_size = -16000; PRAGMA temp_store = MEMORY;"
        } else {
            "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA busy_timeout = 5000; PRAGMA foreign_keys = ON; \
             PRAGMA cache_size = -16000; PRAGMA temp_store = MEMORY; PRAGMA journal_size_limit = 67108864;"
        };
        conn.execute_batch(pragmas).map_err(classify)?;
        conn.set_prepared_statement_cache_capacity(256);
        // Without the query planner stability guarantee, SQLite marks a statement whose
        // plan could depend on a bound value (`LIMIT ?`, a `LIKE ?` pattern) as
        // re-preparable, and clearing its bindings (which the statement cache does when a
        // statement comes back) expires it: every request then parsed and planned its
        // statement again. With it, a cached statement stays prepared.
        conn.set_db_config(rusqlite::config::DbConfig::SQLITE_DBCONFIG_ENABLE_QPSG, true).map_err(classify)?;
        // Searches order by it (`search::sql`).
        super::fts5::register(&conn)?;
        let budget: Arc<Mutex<Option<Arc<Budget>>>> = Arc::default();
        let watched = Arc::clone(&budget);
        let out_of_budget =
            move || watched.lock().ok().and_then(|b| b.as_ref().map(|b| b.check().is_err())).unwrap_or(false);
        conn.progress_handler(PROGRESS_STEPS, Some(out_of_budget)).map_err(classify)?;
        Ok(SqliteConn { conn, budget })
    }

    /// Before a statement: is there budget left?
    fn check(&self) -> Result<(), DbError> {
        match self.budget.lock().ok().and_then(|b| b.clone()) {
            Some(budget) => budget.check(),
            None => Ok(()),
        }
    }
}

fn bind(stmt: &mut rusqlite::Statement<'_>, params: &[Value]) -> Result<(), DbError> {
    for (i, value) in params.iter().enumerate() {
        let index = i + 1;
        let result = match value {
            Value::Null => stmt.raw_bind_parameter(index, rusqlite::types::Null),
            Value::Int(v) => stmt.raw_bind_parameter(index, v),
            Value::Float(v) => stmt.raw_bind_parameter(index, v),
            Value::Text(v) => stmt.raw_bind_parameter(index, v.as_str()),
            Value::Bytes(v) => stmt.raw_bind_parameter(index, v.as_slice()),
        };
        result.map_err(classify)?;
    }
    Ok(())
}

fn value(v: ValueRef<'_>) -> Value {
    match v {
        ValueRef::Null => Value::Null,
        ValueRef::Integer(i) => Value::Int(i),
        ValueRef::Real(f) => Value::Float(f),
        ValueRef::Text(t) => Value::Text(String::from_utf8_lossy(t).into_owned()),
        ValueRef::Blob(b) => Value::Bytes(b.to_vec()),
    }
}

impl Conn for SqliteConn {
    fn dialect(&self) -> Dialect {
        Dialect::Sqlite
    }

    fn query(&mut self, sql: &str, params: &[Value]) -> Result<Vec<Row>, DbError> {
        super::check_params(params)?;
        self.check()?;
        let mut stmt = self.conn.prepare_cached(sql).map_err(classify)?;
        bind(&mut stmt, params)?;
        let width = stmt.column_count();
        let mut rows = stmt.raw_query();
        let mut out = Vec::new();
        while let Some(row) = rows.next().map_err(|e| fail(&self.budget, e))? {
            let mut values = Vec::with_capacity(width);
            for i in 0..width {
                values.push(value(row.get_ref(i).map_err(classify)?));
            }
            out.push(values);
        }
        Ok(out)
    }

    fn execute(&mut self, sql: &str, params: &[Value]) -> Result<u64, DbError> {
        super::check_params(params)?;
        self.check()?;
        let mut stmt = self.conn.prepare_cached(sql).map_err(classify)?;
        bind(&mut stmt, params)?;
        let changed = stmt.raw_execute().map_err(|e| fail(&self.budget, e))?;
        Ok(changed as u64)
    }

    fn in_transaction(&self) -> bool {
        !self.conn.is_autocommit()
    }

    fn batch(&mut self, sql: &str) -> Result<(), DbError> {
        // Every request begins and ends a transaction: keep those statements prepared.
        if matches!(sql, "BEGIN" | "BEGIN IMMEDIATE" | "COMMIT" | "ROLLBACK") {
            let mut stmt = self.conn.prepare_cached(sql).map_err(classify)?;
            stmt.raw_execute().map_err(classify)?;
            return Ok(());
        }
        self.conn.execute_batch(sql).map_err(|e| fail(&self.budget, e))
    }

    fn set_budget(&mut self, budget: Option<Arc<Budget>>) {
        if let Ok(mut slot) = self.budget.lock() {
            *slot = budget;
        }
    }
}

/// A failed statement's error; one the progress handler interrupted says whether time ran
/// out or the caller left.
fn fail(budget: &Mutex<Option<Arc<Budget>>>, error: rusqlite::Error) -> DbError {
    if error.sqlite_error_code() == Some(rusqlite::ErrorCode::OperationInterrupted) {
        if let Some(budget) = budget.lock().ok().and_then(|b| b.clone()) {
            return budget.interruption();
        }
    }
    classify(error)
}

fn classify(error: rusqlite::Error) -> DbError {
    if let rusqlite::Error::SqliteFailure(e, message) = &error {
        let message = message.clone().unwrap_or_default();
        let after = |prefix: &str| message.strip_prefix(prefix).unwrap_or(&message).to_string();
        match e.extended_code {
            ffi::SQLITE_CONSTRAINT_UNIQUE | ffi::SQLITE_CONSTRAINT_PRIMARYKEY => {
                return DbError::Unique(after("UNIQUE constraint failed: "));
            }
            ffi::SQLITE_CONSTRAINT_FOREIGNKEY => return DbError::ForeignKey(None),
            ffi::SQLITE_CONSTRAINT_NOTNULL => return DbError::NotNull(after("NOT NULL constraint failed: ")),
            // A RESTRICT action reports a plain constraint code: the message tells.
            _ if e.code == rusqlite::ErrorCode::ConstraintViolation && message.starts_with("FOREIGN KEY") => {
                return DbError::ForeignKey(None);
            }
            ffi::SQLITE_CONSTRAINT_CHECK | ffi::SQLITE_CONSTRAINT_TRIGGER => return DbError::Check(message),
            _ => {}
        }
    }
    DbError::Other(error.to_string())
}
