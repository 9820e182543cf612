//! Reading every subscriber's socket from one thread that polls, rather than from a task
//! per socket that sleeps until its socket is readable.
//!
//! Why: on loopback, the kernel does the receiving side's work in the sender's system
//! call, including waking a receiver that sleeps on the socket (a cross-core wake-up, and
//! on this virtual machine an interrupt the hypervisor must deliver). A profile of the
//! server at 10,000 subscribers put about a tenth of its time there: a cost a client on
//! another machine never puts on the server. This thread never sleeps on the sockets: it
//! asks `epoll_wait` without waiting and, when nothing is ready, sleeps on a timer for
//! [`IDLE`]. That adds at most about [`IDLE`] (plus the timer's slack) to each latency it
//! measures, which counts against the server, never for it.

use crate::record::Recorder;
use crate::Sent;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How long the thread sleeps when no socket had anything.
const IDLE: Duration = Duration::from_micros(100);
/// Room for one read (a frame of the scenarios is a few hundred bytes).
const BUFFER: usize = 64 * 1024;

/// A subscriber's socket once subscribed, and the bytes already read from it.
pub struct Subscriber {
    pub stream: std::net::TcpStream,
    pub pending: Vec<u8>,
    pub framing: Framing,
}

/// How a subscriber's stream is cut into messages.
#[derive(Clone, Copy)]
pub enum Framing {
    /// ssot: WebSocket frames.
    WebSocket,
    /// PocketBase: server-sent events, each ending with a blank line.
    Sse,
}

/// Reads `subscribers` until `stop`, recording each write's latency in `latencies`.
pub fn run(subscribers: Vec<Subscriber>, sent: Sent, latencies: Arc<Recorder>, stop: Arc<AtomicBool>) {
    // SAFETY: epoll_create1 takes no pointers; a negative result is checked below.
    let raw = unsafe { libc::epoll_create1(libc::EPOLL_CLOEXEC) };
    if raw < 0 {
        eprintln!("poller: epoll_create1: {}", std::io::Error::last_os_error());
        return;
    }
    // SAFETY: `raw` is a new descriptor that nothing else owns.
    let epoll = unsafe { OwnedFd::from_raw_fd(raw) };
    for (index, subscriber) in subscribers.iter().enumerate() {
        let mut event = libc::epoll_event { events: libc::EPOLLIN as u32, u64: index as u64 };
        // SAFETY: both descriptors are open (owned by `epoll` and `subscribers`, which
        // outlive the loop), and `event` is a valid epoll_event for the call's duration.
        let added = unsafe {
            libc::epoll_ctl(epoll.as_raw_fd(), libc::EPOLL_CTL_ADD, subscriber.stream.as_raw_fd(), &mut event)
        };
        if added < 0 {
            eprintln!("poller: epoll_ctl: {}", std::io::Error::last_os_error());
        }
    }
    let mut pending: Vec<Vec<u8>> = subscribers.iter().map(|s| s.pending.clone()).collect();
    let mut buffer = vec![0u8; BUFFER];
    let mut events = vec![libc::epoll_event { events: 0, u64: 0 }; 1024];
    while !stop.load(Ordering::Relaxed) {
        // SAFETY: `events` has room for the `len` events the kernel may write.
        let ready = unsafe { libc::epoll_wait(epoll.as_raw_fd(), events.as_mut_ptr(), events.len() as libc::c_int, 0) };
        if ready <= 0 {
            std::thread::sleep(IDLE);
            continue;
        }
        for event in &events[..ready as usize] {
            let index = event.u64 as usize;
            let fd = subscribers[index].stream.as_raw_fd();
            // SAFETY: `fd` is open, `buffer` is writable for `len` bytes.
            let n = unsafe { libc::recv(fd, buffer.as_mut_ptr().cast(), buffer.len(), 0) };
            if n <= 0 {
                if n == 0 {
                    // Closed by the server: no more from it.
                    // SAFETY: as above; a null event is allowed for EPOLL_CTL_DEL.
                    unsafe { libc::epoll_ctl(epoll.as_raw_fd(), libc::EPOLL_CTL_DEL, fd, std::ptr::null_mut()) };
                }
                continue;
            }
            let arrived = Instant::now();
            let bytes = &buffer[..n as usize];
            let (kept, framing) = (&mut pending[index], subscribers[index].framing);
            let each = |text: &[u8]| crate::on_message(text, &sent, arrived, &latencies);
            if kept.is_empty() {
                let used = messages(framing, bytes, each);
                kept.extend_from_slice(&bytes[used..]);
            } else {
                kept.extend_from_slice(bytes);
                let used = messages(framing, kept, each);
                kept.drain(..used);
            }
        }
    }
}

/// Hands each whole message at the start of `bytes` to `each` (the events of a server-sent
/// stream all at once); how many bytes it used.
fn messages(framing: Framing, bytes: &[u8], mut each: impl FnMut(&[u8])) -> usize {
    if let Framing::Sse = framing {
        let whole = bytes.windows(2).rposition(|w| w == b"\n\n").map_or(0, |i| i + 2);
        if whole > 0 {
            each(&bytes[..whole]);
        }
        return whole;
    }
    let mut at = 0;
    while let Some((header, length, opcode)) = crate::raw::frame_at(&bytes[at..]) {
        if opcode == 0x1 {
            each(&bytes[at + header..at + header + length]);
        }
        at += header + length;
    }
    at
}
