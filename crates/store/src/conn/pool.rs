//! Worker threads that own the connections, and the queues that feed them.
//!
//! SQLite: one writer thread (SQLite allows one writer at a time; queueing in-process is
//! cheaper than retrying on a busy lock) and a few reader threads (WAL lets them read
//! while the writer writes). PostgreSQL: a pool of threads with one connection each,
//! taking reads and writes from one queue. A job is a closure that gets the connection;
//! its result comes back through a oneshot channel, so async callers just `.await`.

use super::Conn;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::mpsc::{channel, Receiver, Sender};
use std::sync::{Arc, Mutex};
use tokio::sync::oneshot;

type Job = Box<dyn FnOnce(&mut dyn Conn) + Send>;

/// A job could not run to completion.
#[derive(Debug, thiserror::Error)]
pub enum PoolClosed {
    /// The workers have stopped (the store is shutting down).
    #[error("the database workers have stopped")]
    Stopped,
    /// The job panicked: a bug. Its transaction was rolled back and the worker lives on.
    #[error("the database job failed unexpectedly")]
    Panicked,
}

/// Figures for metrics.
#[derive(Debug, Clone, Copy, Default)]
pub struct PoolStats {
    pub workers: usize,
    pub in_flight: usize,
    pub completed: u64,
}

#[derive(Default)]
struct Counters {
    in_flight: AtomicUsize,
    completed: AtomicU64,
}

pub struct Pool {
    counters: Arc<Counters>,
    workers: usize,
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
        let (write_tx, write_rx) = channel::<Job>();
        let write_rx = Arc::new(Mutex::new(write_rx));
        for (i, conn) in writers.into_iter().enumerate() {
            threads.push(spawn(format!("ssot-db-w{i}"), conn, Arc::clone(&write_rx))?);
        }
        let read_tx = if readers.is_empty() {
            write_tx.clone()
        } else {
            let (read_tx, read_rx) = channel::<Job>();
            let read_rx = Arc::new(Mutex::new(read_rx));
            for (i, conn) in readers.into_iter().enumerate() {
                threads.push(spawn(format!("ssot-db-r{i}"), conn, Arc::clone(&read_rx))?);
            }
            read_tx
        };
        Ok(Pool {
            counters: Arc::default(),
            workers,
            writer: Mutex::new(write_tx),
            readers: Mutex::new(read_tx),
            threads: Mutex::new(threads),
        })
    }

    /// Runs `f` on a connection that may write.
    pub async fn write<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut dyn Conn) -> T + Send + 'static,
    ) -> Result<T, PoolClosed> {
        run(&self.writer, &self.counters, f).await
    }

    /// Runs `f` on a connection for reading (on SQLite, a read-only one).
    pub async fn read<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut dyn Conn) -> T + Send + 'static,
    ) -> Result<T, PoolClosed> {
        run(&self.readers, &self.counters, f).await
    }

    pub fn stats(&self) -> PoolStats {
        PoolStats {
            workers: self.workers,
            in_flight: self.counters.in_flight.load(Ordering::Relaxed),
            completed: self.counters.completed.load(Ordering::Relaxed),
        }
    }

    /// Runs `f` on a writer connection, blocking the calling thread (for the CLI and
    /// start-up, outside any async runtime).
    pub fn write_blocking<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut dyn Conn) -> T + Send + 'static,
    ) -> Result<T, PoolClosed> {
        let rx = submit(&self.writer, &self.counters, f)?;
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
    f: impl FnOnce(&mut dyn Conn) -> T + Send + 'static,
) -> Result<oneshot::Receiver<Result<T, PoolClosed>>, PoolClosed> {
    let (tx, rx) = oneshot::channel();
    let done = Arc::clone(counters);
    let job: Job = Box::new(move |conn| {
        // A bug in one job must not take the worker (and every later request) with it:
        // the panic is caught, the connection's transaction rolled back, and the caller told.
        let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| f(&mut *conn)));
        if result.is_err() {
            let _ = conn.batch("ROLLBACK");
        }
        // The caller may have gone away (a cancelled request): the result is dropped.
        let _ = tx.send(result.map_err(|_| PoolClosed::Panicked));
        done.in_flight.fetch_sub(1, Ordering::Relaxed);
        done.completed.fetch_add(1, Ordering::Relaxed);
    });
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
    f: impl FnOnce(&mut dyn Conn) -> T + Send + 'static,
) -> Result<T, PoolClosed> {
    let rx = submit(queue, counters, f)?;
    rx.await.map_err(|_| PoolClosed::Stopped)?
}

fn spawn(
    name: String,
    mut conn: Box<dyn Conn + Send>,
    queue: Arc<Mutex<Receiver<Job>>>,
) -> std::io::Result<std::thread::JoinHandle<()>> {
    let worker = move || loop {
        // Hold the lock only to take one job, so the other workers can take the next.
        let job = match queue.lock() {
            Ok(rx) => rx.recv(),
            Err(_) => return,
        };
        match job {
            Ok(job) => job(conn.as_mut()),
            Err(_) => return,
        }
    };
    std::thread::Builder::new().name(name).spawn(worker)
}
