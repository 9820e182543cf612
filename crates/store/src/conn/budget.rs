//! A job's budget: how long its statements may run, and whether anyone still waits for
//! its answer.
//!
//! Every request's database work runs under one. SQLite's progress handler polls it
//! while a statement runs (so a runaway query is interrupted mid-statement); PostgreSQL
//! enforces it with `statement_timeout` and is told of a caller that went away through
//! the protocol's cancel request. Both check it before every statement, so a job of
//! many statements ends at its deadline too.

use super::DbError;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Stops a statement that is running on another thread (PostgreSQL's cancel request).
pub type Canceller = Box<dyn Fn() + Send + Sync>;

/// The limits of one job. The clock starts when a worker takes the job, so time spent
/// waiting in the queue is not charged to it.
pub struct Budget {
    timeout: Option<Duration>,
    deadline: Mutex<Option<Instant>>,
    cancelled: AtomicBool,
    /// Set while the job runs on a connection that can be cancelled from outside.
    canceller: Mutex<Option<Canceller>>,
    /// The pool's "stop everything" switch (a shutdown past its grace period).
    halt: Arc<AtomicBool>,
}

impl Budget {
    pub fn new(timeout: Option<Duration>, halt: Arc<AtomicBool>) -> Budget {
        Budget {
            timeout,
            deadline: Mutex::new(None),
            cancelled: AtomicBool::new(false),
            canceller: Mutex::new(None),
            halt,
        }
    }

    /// The time each statement may take (PostgreSQL's `statement_timeout`); `None`: no limit.
    pub fn timeout(&self) -> Option<Duration> {
        self.timeout
    }

    /// Starts the clock, and lets [`Budget::cancel`] reach the connection through `canceller`.
    pub(crate) fn start(&self, canceller: Option<Canceller>) {
        if let Ok(mut deadline) = self.deadline.lock() {
            *deadline = self.timeout.map(|t| Instant::now() + t);
        }
        if let Ok(mut slot) = self.canceller.lock() {
            *slot = canceller;
        }
    }

    /// The job is over: a late cancel must not reach the connection's next job. Waits
    /// for a cancel request in flight, so it has landed before the next job starts.
    pub(crate) fn finish(&self) {
        if let Ok(mut slot) = self.canceller.lock() {
            *slot = None;
        }
    }

    /// Nobody waits for the answer any more (the client hung up): stop the work.
    pub fn cancel(self: &Arc<Self>) {
        if self.cancelled.swap(true, Ordering::Relaxed) {
            return;
        }
        let running = self.canceller.lock().map(|slot| slot.is_some()).unwrap_or(false);
        if running {
            // The cancel request is blocking network I/O: off the async threads. The slot's
            // lock is held while it is sent, so `finish` waits for it (see there).
            let budget = Arc::clone(self);
            let _ = std::thread::Builder::new().name("ssot-db-cancel".into()).spawn(move || {
                if let Ok(slot) = budget.canceller.lock() {
                    if let Some(cancel) = slot.as_ref() {
                        cancel();
                    }
                }
            });
        }
    }

    /// Whether the job may go on; the error says why not.
    pub fn check(&self) -> Result<(), DbError> {
        if self.cancelled.load(Ordering::Relaxed) || self.halt.load(Ordering::Relaxed) {
            return Err(DbError::Cancelled);
        }
        let deadline = self.deadline.lock().ok().and_then(|d| *d);
        match deadline {
            Some(deadline) if Instant::now() >= deadline => Err(DbError::Timeout),
            _ => Ok(()),
        }
    }

    /// Why a statement the database interrupted was stopped: the caller left, or time ran out.
    pub fn interruption(&self) -> DbError {
        match self.check() {
            Err(e) => e,
            Ok(()) => DbError::Timeout,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::conn::{Conn, Pool, SqliteConn};

    /// A statement that runs for minutes unless stopped.
    const ENDLESS: &str = "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n) SELECT count(*) FROM n";

    fn pool(dir: &tempfile::TempDir) -> Pool {
        let path = dir.path().join("budget.db");
        let writer = SqliteConn::open(&path, false).expect("open writer");
        let reader = SqliteConn::open(&path, true).expect("open reader");
        Pool::new(vec![Box::new(writer)], vec![Box::new(reader)]).expect("pool")
    }

    #[tokio::test]
    async fn a_runaway_statement_ends_at_its_deadline() {
        let dir = tempfile::tempdir().expect("temp dir");
        let pool = pool(&dir);
        pool.set_timeout(Some(Duration::from_millis(100)));
        let started = Instant::now();
        let result = pool.read(|conn: &mut dyn Conn| conn.query(ENDLESS, &[]).map(|_| ())).await.expect("job ran");
        assert!(matches!(result, Err(DbError::Timeout)), "{result:?}");
        assert!(started.elapsed() < Duration::from_secs(30), "stopped in {:?}", started.elapsed());
        // The connection serves the next job normally.
        let next = pool.read(|conn: &mut dyn Conn| conn.query("SELECT 1", &[])).await.expect("job ran");
        assert!(next.is_ok(), "{next:?}");
    }

    #[tokio::test]
    async fn a_dropped_caller_stops_its_work() {
        let dir = tempfile::tempdir().expect("temp dir");
        let pool = pool(&dir);
        pool.set_timeout(None);
        let (tx, rx) = std::sync::mpsc::channel();
        let job = pool.read(move |conn: &mut dyn Conn| {
            let result = conn.query(ENDLESS, &[]).map(|_| ());
            let _ = tx.send(result);
        });
        // The caller gives up: its future is dropped while the statement runs.
        let _ = tokio::time::timeout(Duration::from_millis(100), job).await;
        let result = tokio::task::spawn_blocking(move || rx.recv_timeout(Duration::from_secs(30))).await.expect("join");
        assert!(matches!(result, Ok(Err(DbError::Cancelled))), "{result:?}");
    }

    #[tokio::test]
    async fn halting_stops_everything() {
        let dir = tempfile::tempdir().expect("temp dir");
        let pool = std::sync::Arc::new(pool(&dir));
        pool.set_timeout(None);
        let running = {
            let pool = std::sync::Arc::clone(&pool);
            tokio::spawn(async move { pool.read(|conn: &mut dyn Conn| conn.query(ENDLESS, &[]).map(|_| ())).await })
        };
        tokio::time::sleep(Duration::from_millis(100)).await;
        pool.halt();
        let result = tokio::time::timeout(Duration::from_secs(30), running).await.expect("ended").expect("join");
        assert!(matches!(result, Ok(Err(DbError::Cancelled))), "{result:?}");
    }
}
