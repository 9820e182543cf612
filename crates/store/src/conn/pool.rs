//! Worker threads that own the connections, and the queues that feed them.
//!
//! SQLite: one writer thread (SQLite allows one writer at a time; queueing in-process is
//! cheaper than retrying on a busy lock) and a few reader threads (WAL lets them read
//! while the writer writes). PostgreSQL: a pool of threads with one connection each,
//! taking reads and writes from one queue. A job is a closure that gets the connection;
//! its result comes back through a oneshot channel, so async callers just `.await`.

use super::{Budget, Conn};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::mpsc::{channel, Receiver, Sender};
use std::sync::{Arc, Mutex};
use tokio::sync::oneshot;

/// What a job leaves to do once its transaction's fate is known: answer its caller
/// (`true`: committed, or nothing to commit; `false`: its group's commit failed).
type Reply = Box<dyn FnOnce(bool) + Send>;

/// A job's work on the connection, returning how to answer once the commit is known.
type Work = Box<dyn FnOnce(&mut dyn Conn) -> Reply + Send>;

/// A job: a closure that gets the connection. `groupable` jobs (request writes) may be
/// committed together with others queued at the same time.
struct Job {
    run: Work,
    groupable: bool,
    /// Requests run under a budget; migrations and other start-up work do not.
    budget: Option<Arc<Budget>>,
}

/// What the workers share about budgets: the jobs running now (so that a halt reaches
/// their statements), and how many were stopped.
#[derive(Default)]
struct Budgets {
    running: Mutex<Vec<Arc<Budget>>>,
    timed_out: AtomicU64,
    cancelled: AtomicU64,
}

type Active = Arc<Budgets>;

/// The most writes one group commit holds.
const MAX_GROUP: usize = 64;

/// A job could not run to completion.
#[derive(Debug, thiserror::Error)]
pub enum PoolClosed {
    /// The workers have stopped (the store is shutting down).
    #[error("the database workers have stopped")]
    Stopped,
    /// The job panicked: a bug. Its transaction was rolled back and the worker lives on.
    #[error("the database job failed unexpectedly")]
    Panicked,
    /// The job's writes were part of a group whose commit failed: none of them is kept.
    #[error("the database could not commit the write")]
    CommitFailed,
}

/// Figures for metrics.
#[derive(Debug, Clone, Copy, Default)]
pub struct PoolStats {
    pub workers: usize,
    pub in_flight: usize,
    pub completed: u64,
    /// Jobs that ran out of their time budget.
    pub timed_out: u64,
    /// Jobs stopped because their caller left (or the pool halted).
    pub cancelled: u64,
}

#[derive(Default)]
struct Counters {
    in_flight: AtomicUsize,
    completed: AtomicU64,
}

pub struct Pool {
    counters: Arc<Counters>,
    workers: usize,
    /// How long a request's statements may run (see [`Budget`]).
    timeout: Mutex<Option<std::time::Duration>>,
    /// Set when the pool must stop whatever runs (shutdown past its grace period).
    halt: Arc<AtomicBool>,
    active: Active,
    /// Notified after every job that may have written (see [`Pool::changed`]).
    changed: Arc<ChangeSignal>,
    writer: Mutex<Sender<Job>>,
    readers: Mutex<Sender<Job>>,
    threads: Mutex<Vec<std::thread::JoinHandle<()>>>,
}

impl Pool {
    /// `writers` and `readers` are connections, one thread each. With no reader
    /// connections, reads go to the writers' queue.
    pub fn new(writers: Vec<Box<dyn Conn + Send>>, readers: Vec<Box<dyn Conn + Send>>) -> std::io::Result<Pool> {
        let mut threads = Vec::new();
        let workers = writers.len() + readers.len();
        let active: Active = Arc::default();
        let changed: Arc<ChangeSignal> = Arc::default();
        let (write_tx, write_rx) = channel::<Job>();
        let write_rx = Arc::new(Mutex::new(write_rx));
        for (i, conn) in writers.into_iter().enumerate() {
            threads.push(spawn(
                format!("ssot-db-w{i}"),
                conn,
                Arc::clone(&write_rx),
                Arc::clone(&active),
                Arc::clone(&changed),
            )?);
        }
        let read_tx = if readers.is_empty() {
            write_tx.clone()
        } else {
            let (read_tx, read_rx) = channel::<Job>();
            let read_rx = Arc::new(Mutex::new(read_rx));
            for (i, conn) in readers.into_iter().enumerate() {
                threads.push(spawn(
                    format!("ssot-db-r{i}"),
                    conn,
                    Arc::clone(&read_rx),
                    Arc::clone(&active),
                    Arc::clone(&changed),
                )?);
            }
            read_tx
        };
        Ok(Pool {
            counters: Arc::default(),
            workers,
            timeout: Mutex::new(None),
            halt: Arc::default(),
            active,
            changed,
            writer: Mutex::new(write_tx),
            readers: Mutex::new(read_tx),
            threads: Mutex::new(threads),
        })
    }

    /// How long a request's statements may run from now on (`None`: no limit).
    pub fn set_timeout(&self, timeout: Option<std::time::Duration>) {
        if let Ok(mut slot) = self.timeout.lock() {
            *slot = timeout;
        }
    }

    /// Signalled after every request write this process ran: followers of the change
    /// log read on without polling.
    pub fn changed(&self) -> Arc<ChangeSignal> {
        Arc::clone(&self.changed)
    }

    /// How long a request's statements may run (`None`: no limit).
    pub fn timeout(&self) -> Option<std::time::Duration> {
        self.timeout.lock().ok().and_then(|t| *t)
    }

    /// Stops every running and queued job at its next check (each ends with
    /// [`super::DbError::Cancelled`]): for a shutdown that must end now.
    pub fn halt(&self) {
        self.halt.store(true, Ordering::Relaxed);
        // Queued jobs see the switch at their first statement; running ones are told now
        // (a PostgreSQL statement does not look at its budget while it runs).
        let running = self.active.running.lock().map(|a| a.clone()).unwrap_or_default();
        for budget in running {
            budget.cancel();
        }
    }

    fn budget(&self) -> Arc<Budget> {
        Arc::new(Budget::new(self.timeout(), Arc::clone(&self.halt)))
    }

    /// Runs `f` on a connection that may write, under a request's budget.
    pub async fn write<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut dyn Conn) -> T + Send + 'static,
    ) -> Result<T, PoolClosed> {
        run(&self.writer, &self.counters, true, self.budget(), f).await
    }

    /// Runs `f` on a connection for reading (on SQLite, a read-only one), under a
    /// request's budget.
    pub async fn read<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut dyn Conn) -> T + Send + 'static,
    ) -> Result<T, PoolClosed> {
        run(&self.readers, &self.counters, false, self.budget(), f).await
    }

    pub fn stats(&self) -> PoolStats {
        PoolStats {
            workers: self.workers,
            in_flight: self.counters.in_flight.load(Ordering::Relaxed),
            completed: self.counters.completed.load(Ordering::Relaxed),
            timed_out: self.active.timed_out.load(Ordering::Relaxed),
            cancelled: self.active.cancelled.load(Ordering::Relaxed),
        }
    }

    /// Runs `f` on a writer connection, blocking the calling thread (for the CLI and
    /// start-up, outside any async runtime).
    pub fn write_blocking<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut dyn Conn) -> T + Send + 'static,
    ) -> Result<T, PoolClosed> {
        let rx = submit(&self.writer, &self.counters, false, None, f)?;
        rx.blocking_recv().map_err(|_| PoolClosed::Stopped)?
    }

    /// Stops taking jobs and waits for the workers to finish the ones queued.
    pub fn shutdown(&self) {
        // Replacing the senders drops the last handles to the queues: workers drain them and exit.
        if let Ok(mut writer) = self.writer.lock() {
            *writer = channel().0;
        }
        if let Ok(mut readers) = self.readers.lock() {
            *readers = channel().0;
        }
        let threads = self.threads.lock().map(|mut t| std::mem::take(&mut *t)).unwrap_or_default();
        for thread in threads {
            let _ = thread.join();
        }
    }
}

impl Drop for Pool {
    fn drop(&mut self) {
        self.shutdown();
    }
}

fn submit<T: Send + 'static>(
    queue: &Mutex<Sender<Job>>,
    counters: &Arc<Counters>,
    groupable: bool,
    budget: Option<Arc<Budget>>,
    f: impl FnOnce(&mut dyn Conn) -> T + Send + 'static,
) -> Result<oneshot::Receiver<Result<T, PoolClosed>>, PoolClosed> {
    let (tx, rx) = oneshot::channel();
    let done = Arc::clone(counters);
    let run = Box::new(move |conn: &mut dyn Conn| -> Reply {
        let grouped = conn.in_transaction();
        // A bug in one job must not take the worker (and every later request) with it:
        // the panic is caught, the job's writes undone, and the caller told.
        let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| f(&mut *conn)));
        if result.is_err() {
            let undo = if grouped {
                format!("ROLLBACK TO {0}; RELEASE {0}", super::JOB_SAVEPOINT)
            } else {
                "ROLLBACK".to_string()
            };
            let _ = conn.batch(&undo);
        }
        Box::new(move |committed: bool| {
            let result = match result {
                Err(_) => Err(PoolClosed::Panicked),
                Ok(_) if !committed => Err(PoolClosed::CommitFailed),
                Ok(value) => Ok(value),
            };
            // The caller may have gone away (a cancelled request): the result is dropped.
            let _ = tx.send(result);
            done.in_flight.fetch_sub(1, Ordering::Relaxed);
            done.completed.fetch_add(1, Ordering::Relaxed);
        })
    });
    let job = Job { run, groupable, budget };
    counters.in_flight.fetch_add(1, Ordering::Relaxed);
    if queue.lock().map_err(|_| PoolClosed::Stopped)?.send(job).is_err() {
        counters.in_flight.fetch_sub(1, Ordering::Relaxed);
        return Err(PoolClosed::Stopped);
    }
    Ok(rx)
}

async fn run<T: Send + 'static>(
    queue: &Mutex<Sender<Job>>,
    counters: &Arc<Counters>,
    groupable: bool,
    budget: Arc<Budget>,
    f: impl FnOnce(&mut dyn Conn) -> T + Send + 'static,
) -> Result<T, PoolClosed> {
    let rx = submit(queue, counters, groupable, Some(Arc::clone(&budget)), f)?;
    // Dropped before the answer comes (the client hung up and its request was dropped):
    // the job's work is stopped, queued or running.
    let watch = CancelOnDrop(Some(budget));
    let result = rx.await.map_err(|_| PoolClosed::Stopped)?;
    watch.disarm();
    result
}

/// Cancels a job's budget unless disarmed: the caller's side of cancellation.
struct CancelOnDrop(Option<Arc<Budget>>);

impl CancelOnDrop {
    fn disarm(mut self) {
        self.0 = None;
    }
}

impl Drop for CancelOnDrop {
    fn drop(&mut self) {
        if let Some(budget) = self.0.take() {
            budget.cancel();
        }
    }
}

/// Runs one job under its budget.
fn run_job(conn: &mut dyn Conn, job: Job, active: &Active) -> Reply {
    let Some(budget) = job.budget else {
        conn.set_budget(None);
        return (job.run)(conn);
    };
    conn.set_budget(Some(Arc::clone(&budget)));
    budget.start(conn.canceller());
    if let Ok(mut running) = active.running.lock() {
        running.push(Arc::clone(&budget));
    }
    let reply = (job.run)(conn);
    if let Ok(mut running) = active.running.lock() {
        running.retain(|b| !Arc::ptr_eq(b, &budget));
    }
    match budget.check() {
        Err(super::DbError::Timeout) => active.timed_out.fetch_add(1, Ordering::Relaxed),
        Err(_) => active.cancelled.fetch_add(1, Ordering::Relaxed),
        Ok(()) => 0,
    };
    budget.finish();
    reply
}

fn spawn(
    name: String,
    mut conn: Box<dyn Conn + Send>,
    queue: Arc<Mutex<Receiver<Job>>>,
    active: Active,
    changed: Arc<ChangeSignal>,
) -> std::io::Result<std::thread::JoinHandle<()>> {
    // Group commit (SQLite's one writer): request writes queued together run in one
    // transaction, each in its own savepoint, and are answered only after the commit, so
    // that the commit's cost is shared and nobody hears "written" before it is.
    let groups = conn.dialect() == crate::dialect::Dialect::Sqlite;
    let worker = move || loop {
        // Hold the lock only to take the jobs, so the other workers can take the next.
        let mut jobs = Vec::new();
        match queue.lock() {
            Ok(rx) => match rx.recv() {
                Ok(job) => {
                    let more = groups && job.groupable;
                    jobs.push(job);
                    while more && jobs.len() < MAX_GROUP {
                        match rx.try_recv() {
                            Ok(next) if next.groupable => jobs.push(next),
                            Ok(next) => {
                                // Not for a group (a migration): after this group, alone.
                                run_group(conn.as_mut(), std::mem::take(&mut jobs), &active);
                                changed.notify_written();
                                jobs.push(next);
                                break;
                            }
                            Err(_) => break,
                        }
                    }
                }
                Err(_) => return,
            },
            Err(_) => return,
        }
        let wrote = jobs.iter().any(|j| j.groupable);
        run_group(conn.as_mut(), jobs, &active);
        if wrote {
            changed.notify_written();
        }
    };
    std::thread::Builder::new().name(name).spawn(worker)
}

/// Runs `jobs`: one alone in its own transaction, several in one shared transaction.
fn run_group(conn: &mut dyn Conn, jobs: Vec<Job>, active: &Active) {
    if jobs.len() <= 1 {
        for job in jobs {
            let reply = run_job(conn, job, active);
            reply(true);
        }
        return;
    }
    if conn.batch("BEGIN IMMEDIATE").is_err() {
        // No shared transaction: each job runs on its own.
        for job in jobs {
            let reply = run_job(conn, job, active);
            reply(true);
        }
        return;
    }
    let mut replies: Vec<Reply> = Vec::with_capacity(jobs.len());
    for job in jobs {
        if conn.in_transaction() {
            replies.push(run_job(conn, job, active));
        } else {
            // The database ended the shared transaction (an I/O error, or a write
            // interrupted at its deadline, rolls it back): the jobs in it are lost and
            // told so below; the rest run on their own.
            let reply = run_job(conn, job, active);
            reply(true);
        }
    }
    let committed = conn.in_transaction() && conn.batch("COMMIT").is_ok();
    if !committed && conn.in_transaction() {
        let _ = conn.batch("ROLLBACK");
    }
    for reply in replies {
        reply(committed);
    }
}

/// A signal that the change log may have grown, heard by every follower: each holds a
/// receiver ([`ChangeSignal::subscribe`]) that sees every signal given since it last
/// looked, so no wake-up is lost and none is taken from another follower.
///
/// Its second signal, [`ChangeSignal::written`], is given only by this process's own
/// writes: what a bus between instances tells the others (a wake-up heard from elsewhere
/// must not be told back, or two instances would tell each other forever).
#[derive(Debug)]
pub struct ChangeSignal {
    any: tokio::sync::watch::Sender<u64>,
    own: tokio::sync::watch::Sender<u64>,
}

impl Default for ChangeSignal {
    fn default() -> ChangeSignal {
        ChangeSignal { any: tokio::sync::watch::Sender::new(0), own: tokio::sync::watch::Sender::new(0) }
    }
}

impl ChangeSignal {
    /// The log may have grown (a `NOTIFY`, another instance's notice, a follower's request).
    pub fn notify(&self) {
        self.any.send_modify(|n| *n = n.wrapping_add(1));
    }

    /// This process committed a write: both signals.
    pub fn notify_written(&self) {
        self.own.send_modify(|n| *n = n.wrapping_add(1));
        self.notify();
    }

    pub fn subscribe(&self) -> tokio::sync::watch::Receiver<u64> {
        self.any.subscribe()
    }

    /// Signalled after this process's own writes only.
    pub fn written(&self) -> tokio::sync::watch::Receiver<u64> {
        self.own.subscribe()
    }
}
