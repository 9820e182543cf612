//! `ssot migrate`: bring a database to the schema.
//!
//! The plan compares the catalog the schema wants with what the database holds
//! ([`introspect`]), step by step ([`diff`]), then adds the change log and its triggers.
//! A database Prisma created from the same schema needs no step but the change log:
//! ssot recognises it instead of recreating it. Steps that drop or narrow data are
//! refused unless the caller accepts the loss. The search objects of `@@search` models
//! are planned by [`crate::search::ddl`], around the other steps. What was applied is
//! kept in `_ssot_migrations`.

pub mod diff;
pub mod introspect;

use crate::catalog::Catalog;
use crate::changelog;
use crate::conn::{Conn, DbError, Value};
use crate::dialect::Dialect;
use crate::error::StoreError;
pub use diff::Step;

pub const HISTORY_TABLE: &str = "_ssot_migrations";

#[derive(Debug, Clone)]
pub struct Plan {
    pub steps: Vec<Step>,
    /// The change-log table and triggers, when they are missing or out of date.
    pub changelog: Vec<String>,
    /// The database already held this schema's tables (created by Prisma, say).
    pub existing_tables: usize,
}

impl Plan {
    pub fn is_empty(&self) -> bool {
        self.steps.is_empty() && self.changelog.is_empty()
    }

    pub fn data_loss(&self) -> Vec<&str> {
        self.steps.iter().filter_map(|s| s.data_loss.as_deref()).collect()
    }

    /// Every statement, in order, as one script (what `--print` shows).
    pub fn sql(&self) -> String {
        let mut out = String::new();
        for step in &self.steps {
            out.push_str(&format!(
                "-- {}{}\n",
                step.summary,
                step.data_loss.as_ref().map(|l| format!(" (data loss: {l})")).unwrap_or_default()
            ));
            for statement in &step.statements {
                out.push_str(statement);
                out.push_str(";\n");
            }
            out.push('\n');
        }
        if !self.changelog.is_empty() {
            out.push_str("-- change log and its triggers\n");
            for statement in &self.changelog {
                out.push_str(statement);
                out.push_str(";\n");
            }
        }
        out
    }
}

#[derive(Debug, thiserror::Error)]
pub enum MigrateError {
    #[error("the migration would lose data, so nothing was changed:\n{}\nrun again with --accept-data-loss to apply it anyway", .0.iter().map(|l| format!("  - {l}")).collect::<Vec<_>>().join("\n"))]
    DataLoss(Vec<String>),
    #[error("the migration failed, and was rolled back: {0}")]
    Failed(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<DbError> for MigrateError {
    fn from(e: DbError) -> Self {
        MigrateError::Failed(e.to_string())
    }
}

/// What it takes to bring the database behind `conn` to `want`.
pub fn plan(conn: &mut dyn Conn, want: &Catalog) -> Result<Plan, StoreError> {
    let have = introspect::introspect(conn)?;
    let steps = diff::diff(want, &have);
    let existing_tables = want.tables.iter().filter(|t| have.table(&t.name).is_some()).count();
    let wanted_log = changelog::statements(want);
    let log_current = steps.is_empty() && changelog_is_current(conn, want, &have)?;
    // Search objects are dropped before the other steps and made after them (`search::ddl`).
    let (before, after) = crate::search::ddl::plan(conn, want, &steps)?;
    let steps = before.into_iter().chain(steps).chain(after).collect();
    Ok(Plan { steps, changelog: if log_current { Vec::new() } else { wanted_log }, existing_tables })
}

fn changelog_is_current(conn: &mut dyn Conn, want: &Catalog, have: &Catalog) -> Result<bool, StoreError> {
    if have.table(changelog::TABLE).is_none() {
        return Ok(false);
    }
    match conn.dialect() {
        Dialect::Sqlite => {
            // SQLite keeps each trigger's text: it must be exactly what we would write.
            let rows = conn.query(
                "SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND name LIKE '\\_ssot\\_%' ESCAPE '\\' ORDER BY name",
                &[],
            )?;
            // The search triggers are `search::ddl`'s to compare.
            let mut present: Vec<String> = rows
                .iter()
                .filter(|r| !r[0].as_text().is_some_and(crate::search::ddl::is_search_trigger))
                .filter_map(|r| r[1].as_text().map(String::from))
                .collect();
            let mut wanted: Vec<String> =
                changelog::statements(want).into_iter().filter(|s| s.starts_with("CREATE TRIGGER")).collect();
            present.sort();
            wanted.sort();
            Ok(present == wanted)
        }
        Dialect::Postgres => {
            let rows =
                conn.query("SELECT count(*) FROM pg_trigger WHERE tgname = '_ssot_capture' AND NOT tgisinternal", &[])?;
            let count = rows.first().and_then(|r| r.first()).and_then(Value::as_i64).unwrap_or(0);
            Ok(count == want.tables.len() as i64)
        }
    }
}

/// Applies `plan` in one transaction (SQLite: with foreign keys off while tables are
/// rebuilt, and checked before commit), and records it in `_ssot_migrations`.
pub fn apply(conn: &mut dyn Conn, plan: &Plan, accept_data_loss: bool) -> Result<(), MigrateError> {
    let losses = plan.data_loss();
    if !losses.is_empty() && !accept_data_loss {
        return Err(MigrateError::DataLoss(losses.into_iter().map(String::from).collect()));
    }
    if plan.is_empty() {
        return Ok(());
    }
    let dialect = conn.dialect();
    if dialect == Dialect::Sqlite {
        // Only outside a transaction does this pragma take effect.
        conn.batch("PRAGMA foreign_keys = OFF")?;
    }
    let result = crate::conn::transaction(conn, true, |conn| -> Result<(), MigrateError> {
        for statement in plan.steps.iter().flat_map(|s| &s.statements).chain(&plan.changelog) {
            conn.batch(statement).map_err(|e| MigrateError::Failed(format!("{e}\n  in: {statement}")))?;
        }
        if dialect == Dialect::Sqlite {
            let broken = conn.query("PRAGMA foreign_key_check", &[])?;
            if !broken.is_empty() {
                return Err(MigrateError::Failed(format!(
                    "{} rows would break foreign keys after the change",
                    broken.len()
                )));
            }
        }
        record(conn, plan)?;
        Ok(())
    });
    if dialect == Dialect::Sqlite {
        conn.batch("PRAGMA foreign_keys = ON")?;
    }
    result
}

fn record(conn: &mut dyn Conn, plan: &Plan) -> Result<(), MigrateError> {
    let create = match conn.dialect() {
        Dialect::Sqlite => format!(
            "CREATE TABLE IF NOT EXISTS \"{HISTORY_TABLE}\" (\"id\" INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT, \
             \"applied_at\" INTEGER NOT NULL DEFAULT ({}), \
             \"summary\" TEXT NOT NULL, \"statements\" TEXT NOT NULL, \"ssot_version\" TEXT NOT NULL)",
            changelog::SQLITE_NOW_MS
        ),
        Dialect::Postgres => format!(
            "CREATE TABLE IF NOT EXISTS public.\"{HISTORY_TABLE}\" (\"id\" BIGSERIAL NOT NULL PRIMARY KEY, \
             \"applied_at\" TIMESTAMPTZ NOT NULL DEFAULT now(), \"summary\" TEXT NOT NULL, \
             \"statements\" TEXT NOT NULL, \"ssot_version\" TEXT NOT NULL)"
        ),
    };
    conn.batch(&create)?;
    let summary: Vec<&str> = plan.steps.iter().map(|s| s.summary.as_str()).collect();
    let summary = if summary.is_empty() { "change log".to_string() } else { summary.join("; ") };
    let (table, p) = match conn.dialect() {
        Dialect::Sqlite => (format!("\"{HISTORY_TABLE}\""), ["?1", "?2", "?3"].map(String::from)),
        Dialect::Postgres => {
            (format!("public.\"{HISTORY_TABLE}\""), ["$1::text", "$2::text", "$3::text"].map(String::from))
        }
    };
    conn.execute(
        &format!(
            "INSERT INTO {table} (\"summary\", \"statements\", \"ssot_version\") VALUES ({}, {}, {})",
            p[0], p[1], p[2]
        ),
        &[Value::Text(summary), Value::Text(plan.sql()), Value::Text(env!("CARGO_PKG_VERSION").to_string())],
    )?;
    Ok(())
}
