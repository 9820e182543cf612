//! PostgreSQL through the synchronous `postgres` client, one connection per worker thread.
//!
//! Every parameter travels as text and the SQL casts it (`$1::text::integer`, so that the
//! parameter's own type is always `text`): PostgreSQL's own
//! input functions then parse each type (native types included), and one code path
//! binds every value. Queries select their columns as text for the same reason.

use super::{Budget, Canceller, Conn, DbError, Row, Value};
use crate::dialect::Dialect;
use postgres::error::SqlState;
use postgres::types::{ToSql, Type};
use postgres::{Client, NoTls};
use std::sync::Arc;

pub struct PgConn {
    client: Client,
    /// Prepared statements by SQL text: the API sends the same few shapes again and again,
    /// and preparing costs a round trip.
    statements: std::collections::HashMap<String, postgres::Statement>,
    /// The running job's budget (see [`Budget`]).
    budget: Option<Arc<Budget>>,
    /// The connection's `statement_timeout` in milliseconds (0: none), set when a job's
    /// budget asks for another one: requests share one value, so it is set once.
    timeout_ms: u128,
    /// How another thread stops this connection's statement (made once: every job hands it out).
    cancel: Arc<postgres::CancelToken>,
}

/// Statements kept prepared per connection (the cache is cleared when full).
const STATEMENT_CACHE: usize = 256;

impl PgConn {
    /// Connects on a thread of its own: the synchronous client drives a private runtime,
    /// which cannot start inside an async context (tests and start-up may be in one).
    /// Its queries must likewise run outside async code, as they do on the pool's workers.
    pub fn connect(url: &str) -> Result<PgConn, DbError> {
        let connected = std::thread::scope(|scope| {
            scope.spawn(|| Client::connect(url, NoTls)).join().map_err(|_| DbError::Other("connecting panicked".into()))
        })?;
        let mut client = connected.map_err(classify)?;
        // Timestamps are read and written in UTC, whatever the server's default.
        client.batch_execute("SET TIME ZONE 'UTC'; SET bytea_output = 'hex'").map_err(classify)?;
        let cancel = Arc::new(client.cancel_token());
        Ok(PgConn { client, statements: std::collections::HashMap::new(), budget: None, timeout_ms: 0, cancel })
    }
}

/// A parameter's text, as PostgreSQL's input functions read it.
fn text(value: &Value) -> Option<String> {
    match value {
        Value::Null => None,
        Value::Int(i) => Some(i.to_string()),
        Value::Float(f) => Some(f.to_string()),
        Value::Text(t) => Some(t.clone()),
        Value::Bytes(b) => {
            let mut out = String::with_capacity(2 + b.len() * 2);
            out.push_str("\\x");
            for byte in b {
                out.push_str(&format!("{byte:02x}"));
            }
            Some(out)
        }
    }
}

impl PgConn {
    fn params(params: &[Value]) -> Vec<Option<String>> {
        params.iter().map(text).collect()
    }

    /// Before a statement: is there budget left?
    fn check(&self) -> Result<(), DbError> {
        self.budget.as_ref().map_or(Ok(()), |b| b.check())
    }

    /// A failed statement's error; a cancelled one says whether time ran out or the
    /// caller left (PostgreSQL reports both as `query_canceled`).
    fn fail(&self, error: postgres::Error) -> DbError {
        if error.code() == Some(&SqlState::QUERY_CANCELED) {
            return self.budget.as_ref().map_or(DbError::Timeout, |b| b.interruption());
        }
        classify(error)
    }

    fn statement(&mut self, sql: &str) -> Result<postgres::Statement, DbError> {
        if let Some(statement) = self.statements.get(sql) {
            return Ok(statement.clone());
        }
        let statement = self.client.prepare(sql).map_err(|e| self.fail(e))?;
        if self.statements.len() >= STATEMENT_CACHE {
            self.statements.clear();
        }
        self.statements.insert(sql.to_string(), statement.clone());
        Ok(statement)
    }
}

impl Conn for PgConn {
    fn dialect(&self) -> Dialect {
        Dialect::Postgres
    }

    fn query(&mut self, sql: &str, params: &[Value]) -> Result<Vec<Row>, DbError> {
        super::check_params(params)?;
        self.check()?;
        let texts = PgConn::params(params);
        let refs: Vec<&(dyn ToSql + Sync)> = texts.iter().map(|t| t as &(dyn ToSql + Sync)).collect();
        let statement = self.statement(sql)?;
        let rows = self.client.query(&statement, &refs).map_err(|e| self.fail(e))?;
        let mut out = Vec::with_capacity(rows.len());
        for row in rows {
            let mut values = Vec::with_capacity(row.len());
            for i in 0..row.len() {
                let column_type = row.columns()[i].type_().clone();
                let value = match column_type {
                    Type::INT8 | Type::INT4 | Type::INT2 => {
                        let v: Option<i64> = match column_type {
                            Type::INT8 => row.try_get::<_, Option<i64>>(i).map_err(classify)?,
                            Type::INT4 => row.try_get::<_, Option<i32>>(i).map_err(classify)?.map(i64::from),
                            _ => row.try_get::<_, Option<i16>>(i).map_err(classify)?.map(i64::from),
                        };
                        v.map_or(Value::Null, Value::Int)
                    }
                    Type::BOOL => row
                        .try_get::<_, Option<bool>>(i)
                        .map_err(classify)?
                        .map_or(Value::Null, |b| Value::Int(i64::from(b))),
                    _ => row.try_get::<_, Option<String>>(i).map_err(classify)?.map_or(Value::Null, Value::Text),
                };
                values.push(value);
            }
            out.push(values);
        }
        Ok(out)
    }

    fn execute(&mut self, sql: &str, params: &[Value]) -> Result<u64, DbError> {
        super::check_params(params)?;
        self.check()?;
        let texts = PgConn::params(params);
        let refs: Vec<&(dyn ToSql + Sync)> = texts.iter().map(|t| t as &(dyn ToSql + Sync)).collect();
        let statement = self.statement(sql)?;
        self.client.execute(&statement, &refs).map_err(|e| self.fail(e))
    }

    fn batch(&mut self, sql: &str) -> Result<(), DbError> {
        // DDL can change what a prepared statement's plan depends on.
        if !matches!(sql, "BEGIN" | "COMMIT" | "ROLLBACK") && !sql.starts_with("BEGIN ") {
            self.statements.clear();
        }
        self.client.batch_execute(sql).map_err(|e| self.fail(e))
    }

    fn set_budget(&mut self, budget: Option<Arc<Budget>>) {
        let wanted = budget.as_ref().and_then(|b| b.timeout()).map_or(0, |t| t.as_millis().max(1));
        // Outside any transaction (a job sets its budget before it begins one), so the
        // setting holds for the session; not through `batch`, which would drop the
        // prepared statements.
        if wanted != self.timeout_ms && self.client.batch_execute(&format!("SET statement_timeout = {wanted}")).is_ok()
        {
            self.timeout_ms = wanted;
        }
        self.budget = budget;
    }

    fn canceller(&self) -> Option<Canceller> {
        let token = Arc::clone(&self.cancel);
        Some(Box::new(move || {
            // Best effort: when it fails, the statement still ends at its timeout.
            let _ = token.cancel_query(NoTls);
        }))
    }
}

fn classify(error: postgres::Error) -> DbError {
    if let Some(db) = error.as_db_error() {
        let constraint = db.constraint().map(ToString::to_string);
        let code = db.code();
        if *code == SqlState::UNIQUE_VIOLATION {
            return DbError::Unique(constraint.unwrap_or_default());
        }
        if *code == SqlState::FOREIGN_KEY_VIOLATION || *code == SqlState::RESTRICT_VIOLATION {
            return DbError::ForeignKey(constraint);
        }
        if *code == SqlState::NOT_NULL_VIOLATION {
            return DbError::NotNull(db.column().unwrap_or_default().to_string());
        }
        let cause = format!("{}: {}", code.code(), db.message());
        // The rest of class 23 (a check, an exclusion) and a trigger's exception: rules of
        // the database's own.
        if code.code().starts_with("23") || *code == SqlState::RAISE_EXCEPTION {
            return DbError::Check(cause);
        }
        // Class 22 (data exceptions) and 54 (limits: a value too large to index).
        if code.code().starts_with("22") || code.code().starts_with("54") {
            return DbError::Refused { message: refusal(code.code()), cause };
        }
        return DbError::Other(format!("{}: {}", db.code().code(), db.message()));
    }
    DbError::Other(error.to_string())
}

/// Listens on `channel` until `stopping` is set, calling `heard` for every notification
/// (and once after each reconnection, since notifications sent while disconnected are
/// lost). A dropped connection is opened again after a second.
pub fn listen(url: &str, channel: &str, stopping: &std::sync::atomic::AtomicBool, heard: impl Fn()) {
    use std::sync::atomic::Ordering;
    use std::time::Duration;
    while !stopping.load(Ordering::Relaxed) {
        let client = PgConn::connect(url).and_then(|mut c| {
            c.client.batch_execute(&format!("LISTEN {}", crate::dialect::quote(channel))).map_err(classify)?;
            Ok(c)
        });
        let Ok(mut conn) = client else {
            std::thread::sleep(Duration::from_secs(1));
            continue;
        };
        heard();
        while !stopping.load(Ordering::Relaxed) {
            let next = {
                let mut notifications = conn.client.notifications();
                let mut batch = notifications.timeout_iter(Duration::from_millis(500));
                postgres::fallible_iterator::FallibleIterator::next(&mut batch).map(|n| n.is_some())
            };
            match next {
                Ok(true) => heard(),
                Ok(false) => {}
                Err(_) => break,
            }
            if conn.client.is_closed() {
                break;
            }
        }
    }
}

/// What a client is told about a value PostgreSQL refused (class 22 or 54), by its SQLSTATE:
/// the gist without the database's words.
fn refusal(code: &str) -> &'static str {
    match code {
        "22001" => "a text value is longer than its field allows",
        "22003" => "a number is out of range for its field",
        "22007" | "22008" => "a date-time is outside the range its field holds",
        "22012" => "a division by zero",
        "22021" | "22P05" => "a value holds a character the database cannot store",
        "22P02" => "a value is not valid for its field's type",
        _ if code.starts_with("54") => "a value is too large for the database to store or index",
        _ => "a value does not fit its field",
    }
}
