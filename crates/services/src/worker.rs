//! One service's delivery loop: take the lease, read the log after the cursor, deliver in
//! lanes (a record's events one at a time, in `seq` order; different records in parallel,
//! bounded), retry with backoff, dead-letter after `retries`, and move the durable cursor
//! to just before the oldest event not yet finished. A crash between delivering and moving
//! the cursor delivers again (at least once); nothing is skipped. An endpoint that answers
//! 410 Gone disables the service until an admin enables it.

use crate::event::Event;
use crate::http;
use crate::tables;
use crate::{Running, Shared};
use ssot_store::time::now as now_ms;
use std::collections::{BTreeSet, HashMap, HashSet, VecDeque};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Events read ahead of the cursor at most (per service).
const WINDOW: usize = 2048;
const PAGE: i64 = 512;
/// How often the cursor is written while events keep finishing.
const CURSOR_EVERY: Duration = Duration::from_millis(200);

pub(crate) async fn run(shared: Arc<Shared>, index: usize, mut closing: tokio::sync::watch::Receiver<bool>) {
    let running = &shared.running[index];
    let name = running.service.name.clone();
    loop {
        if *closing.borrow() {
            return;
        }
        match take_lease(&shared, &name).await {
            Ok(Some(cursor)) => {
                running.gone.store(false, Ordering::Relaxed);
                running.leased.store(true, Ordering::Relaxed);
                deliver(&shared, running, cursor, &mut closing).await;
                running.leased.store(false, Ordering::Relaxed);
            }
            Ok(None) => {}
            Err(e) => tracing::warn!(service = %name, error = %e, "services: the lease could not be taken"),
        }
        if *closing.borrow() {
            return;
        }
        // Another instance delivers (or the database failed): look again in a while.
        tokio::select! {
            () = tokio::time::sleep(shared.settings.lease / 3) => {}
            _ = closing.changed() => {}
        }
    }
}

async fn take_lease(shared: &Shared, name: &str) -> Result<Option<i64>, ssot_store::StoreError> {
    let (name, holder, lease) = (name.to_string(), shared.holder.clone(), shared.settings.lease);
    shared
        .store
        .write(move |conn, _| {
            if tables::cursor(conn, &name)?.is_none() {
                // Deleted by an instance whose schema no longer has this service (while none
                // delivered it): made again, from the log's end.
                tracing::warn!(service = %name, "services: the cursor was gone (another instance's schema has no such service); starting again from the log's end");
                tables::ensure(conn, &name)?;
            }
            let now = now_ms();
            tables::lease(conn, &name, &holder, now, now + millis(lease))
        })
        .await
}

fn millis(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

/// Delivers from `cursor` on while the lease holds; returns when it is lost or on shutdown.
async fn deliver(
    shared: &Arc<Shared>,
    running: &Running,
    cursor: i64,
    closing: &mut tokio::sync::watch::Receiver<bool>,
) {
    let service = &running.service;
    let mut changed = shared.store.changed();
    let mut read_pos = cursor;
    let mut saved = cursor;
    let mut saved_at = Instant::now();
    let mut pending: BTreeSet<i64> = BTreeSet::new();
    let mut lanes: HashMap<String, VecDeque<Event>> = HashMap::new();
    let mut busy: HashSet<String> = HashSet::new();
    let mut tasks: tokio::task::JoinSet<(String, i64)> = tokio::task::JoinSet::new();
    running.cursor.store(cursor, Ordering::Relaxed);
    let mut renew = tokio::time::interval(shared.settings.lease / 3);
    loop {
        // Read ahead while the window has room.
        while pending.len() < WINDOW {
            let page = match shared.store.changes_after(read_pos, PAGE).await {
                Ok(page) => page,
                Err(e) => {
                    tracing::warn!(service = %service.name, error = %e, "services: reading the change log failed");
                    break;
                }
            };
            let full = i64::try_from(page.records.len()).unwrap_or(i64::MAX) >= PAGE;
            for record in &page.records {
                if let Some(event) = crate::event::build(service, &shared.store.entities, record) {
                    pending.insert(event.seq);
                    lanes.entry(event.lane.clone()).or_default().push_back(event);
                }
            }
            // `reached` is the log's newest seq read before the page: entries committed in
            // between may be in the page too, and must not be read again.
            read_pos = read_pos.max(page.reached).max(page.records.last().map_or(0, |r| r.seq));
            running.head.fetch_max(page.reached, Ordering::Relaxed);
            if !full {
                break;
            }
        }
        // Start the lanes that have work and nothing in flight.
        let ready: Vec<String> = lanes.keys().filter(|l| !busy.contains(*l)).cloned().collect();
        for lane in ready {
            if let Some(event) = lanes.get_mut(&lane).and_then(VecDeque::pop_front) {
                busy.insert(lane.clone());
                tasks.spawn(attempt_until_done(Arc::clone(shared), running.index, lane, event));
            }
        }
        lanes.retain(|_, queue| !queue.is_empty());
        // Everything before the oldest unfinished event is delivered or dead-lettered.
        let target = pending.first().map_or(read_pos, |first| first - 1);
        if target > saved && (pending.is_empty() || saved_at.elapsed() >= CURSOR_EVERY) {
            match save(shared, &service.name, target).await {
                Ok(true) => {
                    saved = target;
                    saved_at = Instant::now();
                    running.cursor.store(saved, Ordering::Relaxed);
                }
                Ok(false) => {
                    tracing::warn!(service = %service.name, "services: another instance took the lease over; stopping here");
                    tasks.abort_all();
                    return;
                }
                Err(e) => tracing::warn!(service = %service.name, error = %e, "services: saving the cursor failed"),
            }
        }
        tokio::select! {
            Some(done) = tasks.join_next(), if !tasks.is_empty() => {
                if running.gone.load(Ordering::Relaxed) {
                    // Disabled (its endpoint is gone): the lease is given up with it.
                    tasks.abort_all();
                    return;
                }
                if let Ok((lane, seq)) = done {
                    pending.remove(&seq);
                    busy.remove(&lane);
                }
            }
            _ = changed.changed(), if pending.len() < WINDOW => {}
            () = tokio::time::sleep(shared.settings.poll), if pending.len() < WINDOW => {}
            () = tokio::time::sleep(CURSOR_EVERY), if target > saved => {}
            _ = renew.tick() => {
                if let Ok(false) = save(shared, &service.name, saved).await {
                    tracing::warn!(service = %service.name, "services: the lease was lost; stopping here");
                    tasks.abort_all();
                    return;
                }
            }
            _ = closing.changed() => {
                // In flight is not delivered: those events go again after the restart.
                tasks.abort_all();
                let (name, holder) = (service.name.clone(), shared.holder.clone());
                let _ = shared.store.write(move |conn, _| tables::release(conn, &name, &holder)).await;
                return;
            }
        }
    }
}

async fn save(shared: &Shared, name: &str, seq: i64) -> Result<bool, ssot_store::StoreError> {
    let (name, holder, lease) = (name.to_string(), shared.holder.clone(), shared.settings.lease);
    shared.store.write(move |conn, _| tables::advance(conn, &name, &holder, seq, now_ms() + millis(lease))).await
}

/// Delivers `event` until it is accepted or, after the service's retries, dead-lettered.
async fn attempt_until_done(shared: Arc<Shared>, index: usize, lane: String, event: Event) -> (String, i64) {
    let running = &shared.running[index];
    let service = &running.service;
    let mut attempt: u32 = 0;
    loop {
        let outcome = {
            let _permit = shared.concurrency.acquire().await;
            let message = http::Message {
                url: &service.url,
                id: &event.id,
                body: event.body.clone(),
                headers: &service.headers,
                extra: Vec::new(),
                signed: None,
            };
            http::send(&shared.client, &service.secret, message, service.timeout).await
        };
        let error = match outcome {
            Ok(answer) if (200..300).contains(&answer.status) => {
                running.delivered.fetch_add(1, Ordering::Relaxed);
                return (lane, event.seq);
            }
            // Standard Webhooks: 410 Gone asks the sender to stop.
            Ok(answer) if answer.status == 410 => {
                disable(
                    &shared,
                    running,
                    &format!("the endpoint answered 410 Gone at {}", ssot_store::time::format(now_ms())),
                )
                .await;
                return (lane, event.seq);
            }
            Ok(answer) => format!("answered {}", answer.status),
            Err(e) => e.to_string(),
        };
        if attempt >= service.retries {
            bury(&shared, running, &event, error, attempt + 1).await;
            return (lane, event.seq);
        }
        attempt += 1;
        running.retried.fetch_add(1, Ordering::Relaxed);
        tracing::debug!(service = %service.name, event = %event.id, attempt, %error, "services: delivery failed; trying again");
        tokio::time::sleep(shared.settings.backoff(attempt)).await;
    }
}

/// Marks the service disabled in the database (every instance stops delivering it) and here.
async fn disable(shared: &Shared, running: &Running, reason: &str) {
    tracing::warn!(service = %running.service.name, %reason, "services: disabled; POST /api/_services/<name>/enable starts it again");
    let (name, reason) = (running.service.name.clone(), reason.to_string());
    if let Err(e) = shared.store.write(move |conn, _| tables::disable(conn, &name, &reason)).await {
        tracing::warn!(service = %running.service.name, error = %e, "services: disabling failed");
    }
    running.gone.store(true, Ordering::Relaxed);
}

/// Stores the dead letter; until that succeeds the event is not finished (the cursor waits).
async fn bury(shared: &Shared, running: &Running, event: &Event, error: String, attempts: u32) {
    let dead = tables::Dead {
        id: 0,
        event_id: event.id.clone(),
        seq: event.seq,
        payload: String::from_utf8_lossy(&event.body).into_owned(),
        error,
        attempts: i64::from(attempts),
        at: now_ms(),
    };
    tracing::warn!(service = %running.service.name, event = %event.id, attempts, error = %dead.error, "services: event dead-lettered");
    loop {
        let (name, dead) = (running.service.name.clone(), dead.clone());
        match shared.store.write(move |conn, _| tables::bury(conn, &name, &dead)).await {
            Ok(()) => break,
            Err(e) => {
                tracing::warn!(service = %running.service.name, error = %e, "services: storing a dead letter failed");
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        }
    }
    running.dead.fetch_add(1, Ordering::Relaxed);
}
