//! [`Store`]: one schema's database, opened, with its workers.

use crate::catalog::{Catalog, CatalogError};
use crate::conn::{transaction, Conn, DbError, PgConn, Pool, SqliteConn};
use crate::dialect::Dialect;
use crate::entity::Entities;
use crate::error::StoreError;
use crate::migrate::{self, MigrateError, Plan};
use ssot_schema::ir::Schema;
use std::path::PathBuf;
use std::sync::Arc;

/// Where the data lives: `sqlite:PATH` (also `sqlite://PATH`, `file:PATH`) or
/// `postgres://...` (also `postgresql://`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DatabaseUrl {
    Sqlite(PathBuf),
    Postgres(String),
}

impl DatabaseUrl {
    pub fn parse(url: &str) -> Result<DatabaseUrl, OpenError> {
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            return Ok(DatabaseUrl::Postgres(url.to_string()));
        }
        let path = url
            .strip_prefix("sqlite://")
            .or_else(|| url.strip_prefix("sqlite:"))
            .or_else(|| url.strip_prefix("file:"))
            .ok_or_else(|| OpenError::Url(url.to_string()))?;
        if path.is_empty() {
            return Err(OpenError::Url(url.to_string()));
        }
        Ok(DatabaseUrl::Sqlite(PathBuf::from(path)))
    }

    pub fn dialect(&self) -> Dialect {
        match self {
            DatabaseUrl::Sqlite(_) => Dialect::Sqlite,
            DatabaseUrl::Postgres(_) => Dialect::Postgres,
        }
    }

    /// The URL for logs: a PostgreSQL password is never shown.
    pub fn redacted(&self) -> String {
        match self {
            DatabaseUrl::Sqlite(path) => format!("sqlite:{}", path.display()),
            DatabaseUrl::Postgres(url) => redact_password(url),
        }
    }
}

/// `postgres://user:***@host/db?sslmode=require&password=***`.
fn redact_password(url: &str) -> String {
    let (base, query) = url.split_once('?').map_or((url, None), |(b, q)| (b, Some(q)));
    let base = match base.split_once("://").and_then(|(scheme, rest)| Some((scheme, rest.split_once('@')?))) {
        Some((scheme, (credentials, host))) => match credentials.split_once(':') {
            Some((user, _)) => format!("{scheme}://{user}:***@{host}"),
            None => base.to_string(),
        },
        None => base.to_string(),
    };
    let Some(query) = query else { return base };
    let params: Vec<String> = query
        .split('&')
        .map(|p| match p.split_once('=') {
            Some((k, _)) if k.eq_ignore_ascii_case("password") => format!("{k}=***"),
            _ => p.to_string(),
        })
        .collect();
    format!("{base}?{}", params.join("&"))
}

#[cfg(test)]
mod tests {
    use super::redact_password;

    #[test]
    fn passwords_never_show() {
        assert_eq!(redact_password("postgres://u:secret@h/db"), "postgres://u:***@h/db");
        assert_eq!(redact_password("postgres://u@h/db?password=secret&x=1"), "postgres://u@h/db?password=***&x=1");
        assert_eq!(redact_password("postgres://h/db"), "postgres://h/db");
    }
}

#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    #[error("`{0}` is not a database URL: use sqlite:PATH or postgres://USER@HOST/DB")]
    Url(String),
    #[error("the schema's provider is {schema}, but the database URL is for {url}")]
    ProviderMismatch { schema: &'static str, url: &'static str },
    #[error(transparent)]
    Catalog(#[from] CatalogError),
    #[error("cannot open the database {url}: {reason}")]
    Connect { url: String, reason: String },
    #[error("cannot start the database workers: {0}")]
    Threads(String),
}

pub struct Store {
    pub entities: Arc<Entities>,
    pub catalog: Arc<Catalog>,
    pub url: DatabaseUrl,
    pool: Pool,
    /// Admits [`Store::read`]s (lists, queries through relations: work that can be slow)
    /// to all but the last reader, so [`Store::read_single`]s (gets by key, counts,
    /// health checks) always find one free, however many slow queries run.
    slow_lane: tokio::sync::Semaphore,
    /// Set by [`Store::shutdown`]: background threads end.
    stopping: Arc<std::sync::atomic::AtomicBool>,
    /// How long the change log keeps its entries ([`Store::prune_changes`]).
    retention: crate::changelog::Retention,
    /// Set once the services' cursors table exists: pruning keeps what a service has not
    /// yet delivered ([`Store::keep_undelivered`]).
    keep_undelivered: std::sync::atomic::AtomicBool,
}

/// The default time budget of a request's database work (see [`Store::set_query_timeout`]).
pub const DEFAULT_QUERY_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);

impl Store {
    /// Opens the database for `schema`; `workers` is the number of reader threads on
    /// SQLite and of connections on PostgreSQL.
    pub fn open(url: DatabaseUrl, schema: &Schema, workers: usize) -> Result<Store, OpenError> {
        let catalog = Catalog::of(schema)?;
        if catalog.dialect != url.dialect() {
            return Err(OpenError::ProviderMismatch { schema: catalog.dialect.name(), url: url.dialect().name() });
        }
        let connect_error = |e: crate::conn::DbError| OpenError::Connect { url: url.redacted(), reason: e.to_string() };
        let (pool, slow_lane) = match &url {
            DatabaseUrl::Sqlite(path) => {
                let writer = SqliteConn::open(path, false).map_err(connect_error)?;
                let mut readers: Vec<Box<dyn Conn + Send>> = Vec::new();
                for _ in 0..workers {
                    readers.push(Box::new(SqliteConn::open(path, true).map_err(connect_error)?));
                }
                let slow_lane = readers.len().saturating_sub(1).max(1);
                (Pool::new(vec![Box::new(writer)], readers), slow_lane)
            }
            DatabaseUrl::Postgres(address) => {
                let mut conns: Vec<Box<dyn Conn + Send>> = Vec::new();
                for _ in 0..workers.max(1) {
                    conns.push(Box::new(PgConn::connect(address).map_err(connect_error)?));
                }
                // Writes share these connections: two stay clear of slow reads.
                let slow_lane = conns.len().saturating_sub(2).max(1);
                (Pool::new(conns, Vec::new()), slow_lane)
            }
        };
        let pool = pool.map_err(|e| OpenError::Threads(e.to_string()))?;
        pool.set_timeout(Some(DEFAULT_QUERY_TIMEOUT));
        let entities = Arc::new(Entities::new(schema, &catalog));
        let slow_lane = tokio::sync::Semaphore::new(slow_lane);
        Ok(Store {
            entities,
            catalog: Arc::new(catalog),
            url,
            pool,
            slow_lane,
            stopping: Arc::default(),
            retention: Default::default(),
            keep_undelivered: std::sync::atomic::AtomicBool::new(false),
        })
    }

    pub fn dialect(&self) -> Dialect {
        self.catalog.dialect
    }

    /// What `ssot migrate` would do (blocking: for the CLI and start-up).
    pub fn plan(&self) -> Result<Plan, StoreError> {
        let catalog = Arc::clone(&self.catalog);
        self.pool.write_blocking(move |conn| migrate::plan(conn, &catalog))?
    }

    pub fn apply(&self, plan: Plan, accept_data_loss: bool) -> Result<(), MigrateError> {
        self.pool
            .write_blocking(move |conn| migrate::apply(conn, &plan, accept_data_loss))
            .map_err(|e| MigrateError::Store(e.into()))?
    }

    /// How long a request's database work may take from now on (`None`: no limit;
    /// [`DEFAULT_QUERY_TIMEOUT`] when not set). Past it, the statement is interrupted and
    /// the request fails with [`crate::conn::DbError::Timeout`].
    pub fn set_query_timeout(&self, timeout: Option<std::time::Duration>) {
        self.pool.set_timeout(timeout);
    }

    /// How much relation filtering one request may ask for (before the store is shared).
    pub fn set_query_limits(&mut self, limits: crate::query::args::QueryLimits) {
        Arc::make_mut(&mut self.entities).limits = limits;
    }

    /// Stops all running and queued database work now (each job fails as cancelled):
    /// for a shutdown whose grace period has run out.
    pub fn halt(&self) {
        self.pool.halt();
    }

    /// Runs `f` in a read-only transaction (one snapshot) on a reader, in the slow lane:
    /// for lists and anything that may read many rows.
    pub async fn read<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut dyn Conn, &Entities) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, StoreError> {
        let entities = Arc::clone(&self.entities);
        // A request waits for the slow lane at most as long as it may then run.
        let waiting = self.slow_lane.acquire();
        let _permit = match self.pool.timeout() {
            Some(timeout) => tokio::time::timeout(timeout, waiting).await.map_err(|_| DbError::Timeout)?,
            None => waiting.await,
        }
        .map_err(|_| crate::conn::PoolClosed::Stopped)?;
        self.pool.read(move |conn| transaction(conn, false, |conn| f(conn, &entities))).await?
    }

    /// Runs `f` on a reader without a transaction, outside the slow lane: for work that is
    /// one cheap statement, which reads one snapshot by itself (a get by key, a count
    /// without relation filters, a health check).
    pub async fn read_single<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut dyn Conn, &Entities) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, StoreError> {
        let entities = Arc::clone(&self.entities);
        self.pool.read(move |conn| f(conn, &entities)).await?
    }

    /// Runs `f` in a write transaction: all of it commits, or none of it.
    pub async fn write<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut dyn Conn, &Entities) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, StoreError> {
        let entities = Arc::clone(&self.entities);
        self.pool.write(move |conn| transaction(conn, true, |conn| f(conn, &entities))).await?
    }

    /// How long the change log keeps its entries (before the store is shared).
    pub fn set_retention(&mut self, retention: crate::changelog::Retention) {
        self.retention = retention;
    }

    pub fn retention(&self) -> crate::changelog::Retention {
        self.retention
    }

    /// Deletes the change-log entries past the store's [`Store::retention`], always
    /// keeping the newest (it carries the current `seq`).
    pub async fn prune_changes(&self) -> Result<u64, StoreError> {
        self.prune_changes_to(self.retention).await
    }

    /// [`Store::prune_changes`] to another retention than the store's.
    pub async fn prune_changes_to(&self, retention: crate::changelog::Retention) -> Result<u64, StoreError> {
        let max_age_ms = i64::try_from(retention.max_age.as_millis()).unwrap_or(i64::MAX);
        let max_count = retention.max_count;
        let floor = self.keep_undelivered.load(std::sync::atomic::Ordering::Relaxed);
        self.write(move |conn, _| crate::changelog::prune(conn, max_age_ms, max_count, floor)).await
    }

    /// From now on, pruning deletes no entry after the smallest cursor in
    /// [`crate::changelog::CURSORS_TABLE`] (which must exist): the webhooks' outbox is the log.
    pub fn keep_undelivered(&self) {
        self.keep_undelivered.store(true, std::sync::atomic::Ordering::Relaxed);
    }

    /// The change log after `after`, at most `limit` records, with their rows: what the
    /// followers of the log read (in the cheap lane: one indexed range).
    pub async fn changes_after(&self, after: i64, limit: i64) -> Result<crate::changelog::Page, StoreError> {
        self.read_single(move |conn, _| crate::changelog::records_after(conn, after, limit)).await
    }

    /// The oldest `seq` the change log still holds, and its newest.
    pub async fn log_bounds(&self) -> Result<(i64, i64), StoreError> {
        self.read_single(|conn, _| Ok((crate::changelog::oldest_seq(conn)?, crate::query::read::current_seq(conn)?)))
            .await
    }

    /// Notified when the change log may have grown: after this process's writes, and, once
    /// [`Store::listen_for_changes`] runs, after any writer's commit on PostgreSQL.
    pub fn changed(&self) -> tokio::sync::watch::Receiver<u64> {
        self.pool.changed().subscribe()
    }

    /// Notified after this process's own writes only (not after a `NOTIFY` or
    /// [`Store::signal_changed`]): what is worth telling other instances.
    pub fn written(&self) -> tokio::sync::watch::Receiver<u64> {
        self.pool.changed().written()
    }

    /// Wakes every follower of [`Store::changed`] (one that must look at the log now).
    pub fn signal_changed(&self) {
        self.pool.changed().notify();
    }

    /// On PostgreSQL, listens for the log's `NOTIFY` on a connection of its own (a thread),
    /// so that writes of other instances and other programs wake [`Store::changed`] at
    /// once; it reconnects when the connection drops, and ends with [`Store::shutdown`].
    /// On SQLite there is nothing to listen to: followers also look every second.
    pub fn listen_for_changes(&self) -> std::io::Result<()> {
        let DatabaseUrl::Postgres(url) = &self.url else { return Ok(()) };
        let (url, changed, stopping) = (url.clone(), self.pool.changed(), Arc::clone(&self.stopping));
        std::thread::Builder::new().name("ssot-db-listen".into()).spawn(move || {
            crate::conn::listen(&url, "ssot_changes", &stopping, || changed.notify());
        })?;
        Ok(())
    }

    pub fn pool_stats(&self) -> crate::conn::PoolStats {
        self.pool.stats()
    }

    pub fn shutdown(&self) {
        self.stopping.store(true, std::sync::atomic::Ordering::Relaxed);
        self.pool.shutdown();
    }
}
