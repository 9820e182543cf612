//! Latencies recorded by thousands of subscriber tasks without waking anyone: each takes
//! the next slot of a preallocated array. A channel to a collecting task (as before)
//! woke that task for every delivery, which on two shared cores was the load tool's
//! cost counted into the server's latency.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// A slot no latency has been written to yet.
const EMPTY: u64 = u64::MAX;

pub struct Recorder {
    slots: Vec<AtomicU64>,
    next: AtomicUsize,
    start: Instant,
    /// Nanoseconds from `start` to the latest arrival recorded.
    last: AtomicU64,
}

impl Recorder {
    /// Room for `capacity` latencies; more are counted but not kept.
    pub fn new(capacity: usize) -> Recorder {
        Recorder {
            slots: (0..capacity).map(|_| AtomicU64::new(EMPTY)).collect(),
            next: AtomicUsize::new(0),
            start: Instant::now(),
            last: AtomicU64::new(0),
        }
    }

    /// One delivery's latency, in milliseconds, that arrived at `arrived`.
    pub fn record(&self, ms: f64, arrived: Instant) {
        let at = self.next.fetch_add(1, Ordering::Relaxed);
        if let Some(slot) = self.slots.get(at) {
            slot.store(ms.to_bits(), Ordering::Relaxed);
        }
        let nanos = arrived.saturating_duration_since(self.start).as_nanos() as u64;
        self.last.fetch_max(nanos, Ordering::Relaxed);
    }

    /// Waits until `expected` latencies are in or `deadline` passes; the latencies (sorted)
    /// and when the last of them arrived.
    pub async fn collect(&self, expected: usize, deadline: Instant) -> (Vec<f64>, Instant) {
        while self.next.load(Ordering::Relaxed) < expected && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        // The stores of the last few records may still be on their way.
        tokio::time::sleep(Duration::from_millis(20)).await;
        let mut latencies: Vec<f64> = self
            .slots
            .iter()
            .map(|s| s.load(Ordering::Relaxed))
            .filter(|&bits| bits != EMPTY)
            .map(f64::from_bits)
            .collect();
        latencies.sort_by(f64::total_cmp);
        (latencies, self.start + Duration::from_nanos(self.last.load(Ordering::Relaxed)))
    }
}
