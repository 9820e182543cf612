//! Signals to every connection at once, without a lock, a timer or a task per
//! connection: the heartbeat's tick, the server's shutdown and `ssot dev`'s swap.
//!
//! A connection's task turns once for every update it sends, and polls all it waits for
//! at each turn. Waiting on the server-wide watches directly would take their shared
//! locks at every turn of every connection, and a heartbeat timer each would be polled
//! as often; an [`Alarm`] costs an atomic swap. The [`Alarms`] list raises them: all for
//! a shutdown or a swap, a sixteenth at a time for the heartbeat (so that 10,000
//! connections do not all ping in the same instant).

use futures_util::task::AtomicWaker;
use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};
use std::sync::{Arc, Mutex, PoisonError, Weak};
use std::task::{Context, Poll};
use std::time::Duration;

/// Time to ping, or to close a connection that has been silent too long.
pub(super) const TICK: u8 = 1;
/// The server is shutting down.
pub(crate) const SHUTDOWN: u8 = 2;
/// The app was swapped: the connection moves to its successor.
pub(crate) const MOVED: u8 = 4;

/// How many steps a heartbeat period is cut into, each ticking a part of the alarms.
const STEPS: usize = 16;

/// One connection's alarm: what was raised since it last looked.
#[derive(Default)]
pub(super) struct Alarm {
    raised: AtomicU8,
    waker: AtomicWaker,
}

impl Alarm {
    pub fn raise(&self, what: u8) {
        self.raised.fetch_or(what, Ordering::AcqRel);
        self.waker.wake();
    }

    /// What was raised (and is now cleared), or pending until something is.
    pub fn poll_take(&self, cx: &mut Context<'_>) -> Poll<u8> {
        let raised = self.raised.swap(0, Ordering::AcqRel);
        if raised != 0 {
            return Poll::Ready(raised);
        }
        self.waker.register(cx.waker());
        // Raised between the swap and the registration: its wake found the old waker.
        match self.raised.swap(0, Ordering::AcqRel) {
            0 => Poll::Pending,
            raised => Poll::Ready(raised),
        }
    }
}

/// Every connection's alarm, kept across the apps a server swaps (as its sockets are).
#[derive(Default)]
pub(crate) struct Alarms {
    /// Weak: a connection that ends drops its alarm, and the next sweep its place here.
    list: Mutex<Vec<Weak<Alarm>>>,
    ticking: AtomicBool,
}

impl Alarms {
    /// A new connection's alarm. The first one starts the heartbeat (on the caller's
    /// runtime, the sockets'), which then runs for as long as the list lives.
    pub(super) fn register(self: &Arc<Self>, heartbeat: Duration) -> Arc<Alarm> {
        let alarm = Arc::new(Alarm::default());
        self.lock().push(Arc::downgrade(&alarm));
        if !self.ticking.swap(true, Ordering::AcqRel) {
            tokio::spawn(tick(Arc::downgrade(self), heartbeat));
        }
        alarm
    }

    /// Raises `what` on every alarm.
    pub fn raise_all(&self, what: u8) {
        let mut list = self.lock();
        list.retain(|alarm| match alarm.upgrade() {
            Some(alarm) => {
                alarm.raise(what);
                true
            }
            None => false,
        });
    }

    /// Raises a tick on every `STEPS`-th alarm from `step`. The list is swept of ended
    /// connections once a period, at its first step, so that places hold within one.
    fn tick_part(&self, step: usize) {
        let mut list = self.lock();
        if step == 0 {
            list.retain(|alarm| alarm.strong_count() > 0);
        }
        for alarm in list.iter().skip(step).step_by(STEPS) {
            if let Some(alarm) = alarm.upgrade() {
                alarm.raise(TICK);
            }
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<Weak<Alarm>>> {
        self.list.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// The heartbeat: every alarm ticks once per `period`, a sixteenth of them at each step.
async fn tick(alarms: Weak<Alarms>, period: Duration) {
    let mut step = tokio::time::interval((period / STEPS as u32).max(Duration::from_millis(1)));
    step.tick().await;
    for at in (0..STEPS).cycle() {
        step.tick().await;
        match alarms.upgrade() {
            Some(alarms) => alarms.tick_part(at),
            None => return,
        }
    }
}
