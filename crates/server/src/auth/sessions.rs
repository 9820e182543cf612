//! Sessions: what a sign-in opens and a logout, a password change or an admin ends.
//!
//! Every access token names its session (`sid`), and a refresh token's family is its
//! session, so ending a session stops both at once. A session remembers a fingerprint
//! of the password it was opened with: when the password changes (through ssot, or by
//! any program writing the row), every session opened before is over. Ending a session
//! is logged in the change log under [`LABEL`], so every instance following the log
//! ([`super::current`]) learns of it at once.

use sha2::{Digest, Sha256};
use ssot_store::conn::{Conn, Value};
use ssot_store::dialect::Dialect;
use ssot_store::StoreError;

pub const TABLE: &str = "_ssot_sessions";
/// The change log's label for an ended session (its key: `{"id": <session id>}`).
pub const LABEL: &str = "$session";

fn table(dialect: Dialect) -> String {
    match dialect {
        Dialect::Sqlite => format!("\"{TABLE}\""),
        Dialect::Postgres => format!("public.\"{TABLE}\""),
    }
}

fn param(dialect: Dialect, i: usize, cast: &str) -> String {
    match dialect {
        Dialect::Sqlite => format!("?{i}"),
        Dialect::Postgres => format!("${i}::text{cast}"),
    }
}

pub fn create_table(conn: &mut dyn Conn) -> Result<(), StoreError> {
    let t = table(conn.dialect());
    conn.execute(
        &format!(
            "CREATE TABLE IF NOT EXISTS {t} (\"id\" TEXT NOT NULL PRIMARY KEY, \"user\" TEXT NOT NULL, \
             \"credential\" TEXT NOT NULL, \"created\" BIGINT NOT NULL, \"expires\" BIGINT NOT NULL, \
             \"ended\" BIGINT NOT NULL DEFAULT 0)"
        ),
        &[],
    )?;
    conn.execute(&format!("CREATE INDEX IF NOT EXISTS \"_ssot_sessions_user_idx\" ON {t}(\"user\")"), &[])?;
    Ok(())
}

/// A fingerprint of a stored password hash: it changes whenever the password does
/// (every hash has its own salt). Kept on the server only.
pub fn credential(password_hash: Option<&str>) -> String {
    super::refresh::hex(&Sha256::digest(password_hash.unwrap_or_default().as_bytes())[..16])
}

/// A session as stored.
#[derive(Debug, Clone)]
pub struct Session {
    pub id: String,
    pub user: String,
    pub credential: String,
    pub created: i64,
    pub expires: i64,
    /// When it ended (seconds since the epoch), or 0 while it lasts.
    pub ended: i64,
}

impl Session {
    pub fn is_live(&self, now: i64) -> bool {
        self.ended == 0 && self.expires > now
    }

    pub fn to_json(&self, current: Option<&str>) -> serde_json::Value {
        serde_json::json!({
            "id": self.id,
            "createdAt": ssot_store::time::format(self.created.saturating_mul(1000)),
            "expiresAt": ssot_store::time::format(self.expires.saturating_mul(1000)),
            "current": current == Some(self.id.as_str()),
        })
    }
}

fn now() -> i64 {
    i64::try_from(super::tokens::now_seconds()).unwrap_or(i64::MAX)
}

/// Opens a session for `user` (a token subject) that lasts `lifetime` seconds.
pub fn open(conn: &mut dyn Conn, user: &str, credential: &str, lifetime: i64) -> Result<String, StoreError> {
    let id = super::refresh::random_token()?;
    let d = conn.dialect();
    let sql = format!(
        "INSERT INTO {} (\"id\", \"user\", \"credential\", \"created\", \"expires\") VALUES ({}, {}, {}, {}, {})",
        table(d),
        param(d, 1, ""),
        param(d, 2, ""),
        param(d, 3, ""),
        param(d, 4, "::bigint"),
        param(d, 5, "::bigint")
    );
    let now = now();
    conn.execute(
        &sql,
        &[
            Value::Text(id.clone()),
            Value::Text(user.into()),
            Value::Text(credential.into()),
            Value::Int(now),
            Value::Int(now.saturating_add(lifetime)),
        ],
    )?;
    Ok(id)
}

const COLUMNS: &str = "\"id\", \"user\", \"credential\", \"created\", \"expires\", \"ended\"";

fn session(row: &[Value]) -> Session {
    let text = |i: usize| row.get(i).and_then(Value::as_text).unwrap_or_default().to_string();
    let int = |i: usize| row.get(i).and_then(Value::as_i64).unwrap_or(0);
    Session { id: text(0), user: text(1), credential: text(2), created: int(3), expires: int(4), ended: int(5) }
}

pub fn get(conn: &mut dyn Conn, id: &str) -> Result<Option<Session>, StoreError> {
    let d = conn.dialect();
    let sql = format!("SELECT {COLUMNS} FROM {} WHERE \"id\" = {}", table(d), param(d, 1, ""));
    Ok(conn.query(&sql, &[Value::Text(id.into())])?.first().map(|r| session(r)))
}

/// The live sessions of `user`, newest first.
pub fn list(conn: &mut dyn Conn, user: &str) -> Result<Vec<Session>, StoreError> {
    let d = conn.dialect();
    let sql = format!(
        "SELECT {COLUMNS} FROM {} WHERE \"user\" = {} AND \"ended\" = 0 AND \"expires\" > {} ORDER BY \"created\" DESC, \"id\"",
        table(d),
        param(d, 1, ""),
        param(d, 2, "::bigint")
    );
    Ok(conn.query(&sql, &[Value::Text(user.into()), Value::Int(now())])?.iter().map(|r| session(r)).collect())
}

/// Ends session `id` (with the refresh tokens of its family); false when it was not live.
pub fn end(conn: &mut dyn Conn, id: &str) -> Result<bool, StoreError> {
    // The log's writer lock first (PostgreSQL; `record` below needs it anyway): every
    // transaction that ends sessions or rotates refresh tokens takes it before any row of
    // theirs, so two of them never hold rows the other waits for (a deadlock).
    ssot_store::changelog::capture_start(conn)?;
    let d = conn.dialect();
    let sql = format!(
        "UPDATE {} SET \"ended\" = {} WHERE \"id\" = {} AND \"ended\" = 0",
        table(d),
        param(d, 1, "::bigint"),
        param(d, 2, "")
    );
    let ended = conn.execute(&sql, &[Value::Int(now()), Value::Text(id.into())])? > 0;
    super::refresh::revoke_family(conn, id)?;
    if ended {
        let mut key = serde_json::Map::new();
        key.insert("id".into(), serde_json::Value::String(id.into()));
        ssot_store::changelog::record(conn, LABEL, "delete", key)?;
    }
    Ok(ended)
}

/// Ends every live session of `user`; how many.
pub fn end_all(conn: &mut dyn Conn, user: &str) -> Result<usize, StoreError> {
    let mut count = 0;
    for session in list(conn, user)? {
        count += usize::from(end(conn, &session.id)?);
    }
    Ok(count)
}
