//! Connections: one small synchronous interface over SQLite (rusqlite) and PostgreSQL
//! (the `postgres` client), and the worker threads that run jobs on them.
//!
//! Both backends run on dedicated threads, so a request's whole database work (its
//! queries, its transaction, decoding its rows) happens in one hop, off the async
//! workers, through the same code. Values cross the boundary as [`Value`]: SQLite's five
//! storage classes. PostgreSQL parameters are sent as text and cast in the SQL, and its
//! results are selected as text, so the same decoding serves both.

mod budget;
pub mod fts5;
mod pool;
mod postgres;
mod sqlite;

pub use budget::{Budget, Canceller};
pub use pool::{Pool, PoolClosed, PoolStats};
pub use postgres::{listen, PgConn};
pub use sqlite::SqliteConn;

use crate::dialect::Dialect;

/// A value on its way into or out of the database.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Null,
    Int(i64),
    Float(f64),
    Text(String),
    Bytes(Vec<u8>),
}

impl Value {
    pub fn as_text(&self) -> Option<&str> {
        match self {
            Value::Text(t) => Some(t),
            _ => None,
        }
    }

    pub fn as_i64(&self) -> Option<i64> {
        match self {
            Value::Int(i) => Some(*i),
            Value::Text(t) => t.parse().ok(),
            _ => None,
        }
    }
}

pub type Row = Vec<Value>;

/// The most values one statement may bind (SQLite's limit; PostgreSQL's is higher). A
/// request that needs more is refused before it reaches the database.
pub const MAX_PARAMS: usize = 32_766;

/// Refuses a statement with more bound values than [`MAX_PARAMS`].
pub(crate) fn check_params(params: &[Value]) -> Result<(), DbError> {
    if params.len() > MAX_PARAMS {
        return Err(DbError::InvalidValue(format!(
            "this request needs {} values in one statement, more than the {MAX_PARAMS} a statement may take: split it",
            params.len()
        )));
    }
    Ok(())
}

/// A database error, classified where the API answers differently.
#[derive(Debug, thiserror::Error)]
pub enum DbError {
    /// A unique constraint or index: its name (PostgreSQL) or its columns (SQLite).
    #[error("unique constraint violated: {0}")]
    Unique(String),
    #[error("foreign key constraint violated{}", .0.as_ref().map(|n| format!(": {n}")).unwrap_or_default())]
    ForeignKey(Option<String>),
    #[error("a required column is null: {0}")]
    NotNull(String),
    /// A value ssot refuses before the database sees it (the message is ssot's own).
    #[error("invalid value: {0}")]
    InvalidValue(String),
    /// The job's time budget ran out (see [`Budget`]).
    #[error("the query took longer than its time budget")]
    Timeout,
    /// Nobody waits for the answer (the client went away, or the server is stopping).
    #[error("the query was cancelled")]
    Cancelled,
    /// The database refused a value for its column (PostgreSQL's class 22: too long, out
    /// of range, malformed for the type): `message` is ssot's and may be shown, `cause` is
    /// the database's own words (they can name tables and SQL), for the log only.
    #[error("{message} ({cause})")]
    Refused { message: &'static str, cause: String },
    /// A rule of the database's own (a check or exclusion constraint, a trigger) refused the
    /// write; its words, for the log only.
    #[error("a check or trigger refused the write: {0}")]
    Check(String),
    #[error("{0}")]
    Other(String),
}

/// One connection: run SQL with positional parameters.
pub trait Conn {
    fn dialect(&self) -> Dialect;
    fn query(&mut self, sql: &str, params: &[Value]) -> Result<Vec<Row>, DbError>;
    fn execute(&mut self, sql: &str, params: &[Value]) -> Result<u64, DbError>;
    /// Several statements without parameters (DDL, `BEGIN`, `COMMIT`).
    fn batch(&mut self, sql: &str) -> Result<(), DbError>;
    /// Whether a transaction is open (then [`transaction`] nests in a savepoint).
    fn in_transaction(&self) -> bool {
        false
    }
    /// The budget the next statements run under (`None`: no limit, as for migrations).
    fn set_budget(&mut self, _budget: Option<std::sync::Arc<Budget>>) {}
    /// How another thread stops this connection's running statement, where the
    /// connection does not poll its budget by itself.
    fn canceller(&self) -> Option<Canceller> {
        None
    }
}

/// The savepoint a job's writes run in when the writer commits several jobs at once.
pub const JOB_SAVEPOINT: &str = "ssot_job";

/// Runs `f` in a transaction: committed when it returns `Ok`, rolled back otherwise
/// (and when it panics, the connection is dropped with the transaction open, which
/// rolls it back too).
pub fn transaction<T, E: From<DbError>>(
    conn: &mut dyn Conn,
    write: bool,
    f: impl FnOnce(&mut dyn Conn) -> Result<T, E>,
) -> Result<T, E> {
    if write && conn.in_transaction() {
        // Inside a group commit (see `pool`): this job's writes are one savepoint, kept or
        // undone on their own; the group's transaction commits them all.
        conn.batch(&format!("SAVEPOINT {JOB_SAVEPOINT}"))?;
        return match f(conn) {
            Ok(value) => {
                conn.batch(&format!("RELEASE {JOB_SAVEPOINT}"))?;
                Ok(value)
            }
            Err(e) => {
                let _ = conn.batch(&format!("ROLLBACK TO {JOB_SAVEPOINT}; RELEASE {JOB_SAVEPOINT}"));
                Err(e)
            }
        };
    }
    let begin = match (conn.dialect(), write) {
        // Take the write lock at once: no deadlock-prone upgrade from a read lock later.
        (Dialect::Sqlite, true) => "BEGIN IMMEDIATE",
        (Dialect::Sqlite, false) => "BEGIN",
        // One snapshot for every read of the request (rows, counts and `meta.seq` agree).
        (Dialect::Postgres, false) => "BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY",
        (Dialect::Postgres, true) => "BEGIN",
    };
    conn.batch(begin)?;
    match f(conn) {
        Ok(value) => {
            conn.batch("COMMIT")?;
            Ok(value)
        }
        Err(e) => {
            let _ = conn.batch("ROLLBACK");
            Err(e)
        }
    }
}
