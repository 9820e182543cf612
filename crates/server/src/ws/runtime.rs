//! The sockets' own runtime: WebSocket connections run on worker threads of their own.
//!
//! A fan-out wakes every subscribed connection to write its update: with thousands of
//! them, an HTTP request that arrives meanwhile would wait in the same run queue behind
//! all of them, and a write would be slowed by the fan-out it causes. On a runtime of
//! their own, the connections share the cores with the HTTP workers through the
//! operating system's scheduler instead: a request's worker wakes and runs at once, and
//! the change-log follower (on the HTTP runtime) reads the next batch while the last one
//! is still being written out.

use std::future::Future;

pub struct SocketRuntime {
    /// `None` once dropped.
    runtime: Option<tokio::runtime::Runtime>,
    /// Every connection's alarm (the heartbeat, shutdown, a swap).
    pub(crate) alarms: std::sync::Arc<super::alarms::Alarms>,
}

impl SocketRuntime {
    /// A runtime with as many workers as the machine has cores.
    pub fn new() -> std::io::Result<SocketRuntime> {
        let threads = std::thread::available_parallelism().map_or(2, |n| n.get());
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(threads)
            .thread_name("ssot-ws")
            .enable_all()
            .build()?;
        Ok(SocketRuntime { runtime: Some(runtime), alarms: Default::default() })
    }

    /// Runs `task` on the sockets' workers.
    pub fn spawn(&self, task: impl Future<Output = ()> + Send + 'static) {
        if let Some(runtime) = &self.runtime {
            runtime.spawn(task);
        }
    }
}

impl Drop for SocketRuntime {
    /// Stops what still runs without waiting for it (a runtime may not block to shut
    /// down inside another's task, where the last holder of the app may drop it).
    fn drop(&mut self) {
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
    }
}
