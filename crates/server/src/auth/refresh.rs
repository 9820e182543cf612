//! Refresh tokens: opaque random strings, stored only as their SHA-256 in
//! `_ssot_refresh_tokens`, each used once. Using one revokes it and issues the next of its
//! family; presenting a revoked one again (a stolen copy, or a replay) revokes the whole
//! family; logging out revokes the family.

use base64::Engine;
use sha2::{Digest, Sha256};
use ssot_store::conn::{Conn, Value};
use ssot_store::dialect::Dialect;
use ssot_store::StoreError;

pub const TABLE: &str = "_ssot_refresh_tokens";

/// The `hash` of a row that marks a whole family revoked (token hashes are hexadecimal,
/// so they never start with it).
const FAMILY_MARK: &str = "family:";

/// How long a refresh token lives (30 days).
pub const LIFETIME_SECONDS: i64 = 30 * 24 * 3600;

fn table(dialect: Dialect) -> String {
    match dialect {
        Dialect::Sqlite => format!("\"{TABLE}\""),
        Dialect::Postgres => format!("public.\"{TABLE}\""),
    }
}

pub fn create_table(conn: &mut dyn Conn) -> Result<(), StoreError> {
    let sql = format!(
        "CREATE TABLE IF NOT EXISTS {} (\"hash\" TEXT NOT NULL PRIMARY KEY, \"family\" TEXT NOT NULL, \
         \"user\" TEXT NOT NULL, \"expires\" BIGINT NOT NULL, \"revoked\" BIGINT NOT NULL DEFAULT 0)",
        table(conn.dialect())
    );
    conn.execute(&sql, &[])?;
    let index = format!(
        "CREATE INDEX IF NOT EXISTS \"_ssot_refresh_tokens_family_idx\" ON {}(\"family\")",
        table(conn.dialect())
    );
    conn.execute(&index, &[])?;
    Ok(())
}

pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn digest(token: &str) -> String {
    hex(&Sha256::digest(token.as_bytes()))
}

pub fn random_token() -> Result<String, StoreError> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(|e| StoreError::invalid("", format!("no randomness: {e}")))?;
    Ok(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes))
}

fn params(conn: &dyn Conn, n: usize) -> Vec<String> {
    (1..=n)
        .map(|i| match conn.dialect() {
            Dialect::Sqlite => format!("?{i}"),
            Dialect::Postgres => format!("${i}::text"),
        })
        .collect()
}

fn now() -> i64 {
    i64::try_from(super::tokens::now_seconds()).unwrap_or(i64::MAX)
}

/// A new token for `user` in `family` (its session's id).
pub fn issue(conn: &mut dyn Conn, user: &str, family: &str) -> Result<String, StoreError> {
    let token = random_token()?;
    let family = family.to_string();
    let p = params(conn, 4);
    let cast = if conn.dialect() == Dialect::Postgres { "::bigint" } else { "" };
    let sql = format!(
        "INSERT INTO {} (\"hash\", \"family\", \"user\", \"expires\") VALUES ({}, {}, {}, {}{cast})",
        table(conn.dialect()),
        p[0],
        p[1],
        p[2],
        p[3]
    );
    let expires = now() + LIFETIME_SECONDS;
    conn.execute(
        &sql,
        &[Value::Text(digest(&token)), Value::Text(family), Value::Text(user.into()), Value::Int(expires)],
    )?;
    Ok(token)
}

pub enum Used {
    /// The token was valid: it is now revoked; here is its user and family.
    Fresh { user: String, family: String },
    /// Unknown, expired, or already used (its family is now revoked).
    Refused,
}

/// Uses a refresh token once. Marking it used is one conditional statement, so of two
/// concurrent uses of one token exactly one wins; the other is a reuse.
pub fn use_token(conn: &mut dyn Conn, token: &str) -> Result<Used, StoreError> {
    let p = params(conn, 2);
    let cast = if conn.dialect() == Dialect::Postgres { "::bigint" } else { "" };
    let hash = Value::Text(digest(token));
    let t = table(conn.dialect());
    let sql = format!(
        "UPDATE {t} SET \"revoked\" = 1 WHERE \"hash\" = {} AND \"revoked\" = 0 AND \"expires\" >= {}{cast} \
         AND NOT EXISTS (SELECT 1 FROM {t} AS f WHERE f.\"hash\" = '{FAMILY_MARK}' || {t}.\"family\") \
         RETURNING \"family\", \"user\"",
        p[0], p[1]
    );
    let rows = conn.query(&sql, &[hash.clone(), Value::Int(now())])?;
    if let Some(row) = rows.first() {
        let text = |i: usize| row.get(i).and_then(Value::as_text).unwrap_or_default().to_string();
        return Ok(Used::Fresh { family: text(0), user: text(1) });
    }
    // Unknown, expired, or used before: a used one means a copy is about.
    let sql = format!("SELECT \"family\", \"revoked\" FROM {} WHERE \"hash\" = {}", table(conn.dialect()), p[0]);
    let rows = conn.query(&sql, &[hash])?;
    if let Some(row) = rows.first() {
        if row.get(1).and_then(Value::as_i64).unwrap_or(0) != 0 {
            let family = row.first().and_then(Value::as_text).unwrap_or_default().to_string();
            super::sessions::end(conn, &family)?;
        }
    }
    Ok(Used::Refused)
}

/// The family (the session) `token` belongs to, if it is known.
pub fn family(conn: &mut dyn Conn, token: &str) -> Result<Option<String>, StoreError> {
    let p = params(conn, 1);
    let sql = format!("SELECT \"family\" FROM {} WHERE \"hash\" = {}", table(conn.dialect()), p[0]);
    let rows = conn.query(&sql, &[Value::Text(digest(token))])?;
    Ok(rows.first().and_then(|r| r.first()).and_then(Value::as_text).map(String::from))
}

/// Revokes every token of `family`, and marks the family itself revoked: a token of it
/// issued by a transaction that had not committed yet is refused when it is used.
pub fn revoke_family(conn: &mut dyn Conn, family: &str) -> Result<(), StoreError> {
    let p = params(conn, 2);
    let t = table(conn.dialect());
    let sql = format!("UPDATE {t} SET \"revoked\" = 1 WHERE \"family\" = {}", p[0]);
    conn.execute(&sql, &[Value::Text(family.into())])?;
    let sql = format!(
        "INSERT INTO {t} (\"hash\", \"family\", \"user\", \"expires\", \"revoked\") \
         VALUES ('{FAMILY_MARK}' || {}, {}, '', 0, 1) ON CONFLICT DO NOTHING",
        p[0], p[1]
    );
    conn.execute(&sql, &[Value::Text(family.into()), Value::Text(family.into())])?;
    Ok(())
}
