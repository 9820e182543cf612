//! The hub: every connection's subscriptions, grouped so that subscribers of the same
//! query with the same caller share one evaluation, and the follower of the change log
//! that keeps them current.
//!
//! After each batch of the log (whatever committed since the last one), the groups the
//! batch may affect (its models, or models their queries reach through relations) are
//! run again, all of them in one read transaction, so that every result stands at one
//! `seq`; each group's new result is diffed against its last ([`crate::diff`]); and each
//! connection gets one `update` message holding the events of all its subscriptions,
//! tagged with that `seq`. A connection whose queue is full is not waited for: it is
//! marked, and gets a `reset` (every subscription's current rows) once it has room.

use crate::batch::{reach, shape, touched, LogFacts};
use crate::channels::{self, Budget, Present, Scope};
use groups::{attach, caller_key, data, event_tail, leave, remember, sweep, tell};
use presence::exit_channel;

mod groups;
mod presence;
mod remote;
use crate::diff::{diff, Row};
use crate::query::{self, LiveQuery};
use crate::{Realtime, SubscribeError};
use serde_json::{json, Map, Value as Json};
use ssot_access::{Caller, Policies};
use ssot_store::entity::Entities;
use ssot_store::Store;
use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use tokio::sync::mpsc;

/// A connection, as the hub knows it.
pub type ConnId = u64;

/// The most subscriptions one connection may hold.
pub const MAX_SUBSCRIPTIONS: usize = 100;

/// The most log records read per batch.
const BATCH_RECORDS: i64 = 10_000;

/// How many evaluations a group remembers for resuming subscribers, and how many events.
const HISTORY_STEPS: usize = 1024;
const HISTORY_EVENTS: usize = 10_000;

/// How long a group without subscribers is kept for them to resume.
pub const LINGER: std::time::Duration = std::time::Duration::from_secs(60);

/// The hub's figures since start, for `/metrics`.
#[derive(Debug, Default, Clone, Copy, PartialEq)]
pub struct HubStats {
    pub connections: usize,
    pub subscriptions: usize,
    /// Groups of subscriptions sharing one evaluation (lingering ones included).
    pub groups: usize,
    /// Batches of the change log handled, and the groups they ran again.
    pub batches: u64,
    pub evaluations: u64,
    /// `update` messages queued, and the events they held.
    pub updates: u64,
    pub events: u64,
    /// Times a connection's queue was full (it then gets a `reset`), and resets sent.
    pub overflows: u64,
    pub resets: u64,
    /// Time from reading a batch to queueing its updates, summed (seconds).
    pub delivery_seconds: f64,
}

pub struct Hub {
    store: Arc<Store>,
    policies: Arc<Policies>,
    realtime: Arc<Realtime>,
    state: Mutex<State>,
    next_conn: AtomicU64,
    /// Woken when a new group may be behind the follower.
    wake: tokio::sync::Notify,
}

#[derive(Default)]
struct State {
    groups: HashMap<u64, Group>,
    /// Group key (query text and caller) → group.
    by_key: HashMap<String, u64>,
    next_group: u64,
    conns: HashMap<ConnId, Member>,
    /// Where the follower stands in the log.
    cursor: i64,
    stats: HubStats,
    /// Ephemeral channels with someone in them, by record.
    channels: HashMap<String, Channel>,
    /// Groups whose visible rows all hold one value in a column ([`Group::pin`]).
    pinned: Pinned,
    /// What a member's name starts with, with a bus: `m` and the instance's id (else `m`).
    member_prefix: Option<String>,
    /// Where this instance's channel messages go for the other instances (with a bus).
    outbox: Option<mpsc::Sender<Json>>,
    /// Other instances' members, by channel key.
    remote: HashMap<String, Vec<remote::Remote>>,
    /// When each other instance was last heard from.
    heard: HashMap<String, std::time::Instant>,
}

/// Groups by model and column, then by the value (as the log writes it, in JSON text)
/// their visible rows hold in that column: a change is matched against the groups pinned
/// to its old and new values, not against every group of its model.
type Pinned = HashMap<(usize, String), HashMap<String, Vec<u64>>>;

fn duplicate(sub: &str) -> SubscribeError {
    SubscribeError::refused("duplicate_subscription", format!("`{sub}` is already open on this connection"))
}

/// A batch's records, each with its model (looked up once for all the groups).
type Modelled<'a> = [(Option<usize>, &'a ssot_store::changelog::Record)];

/// Whether a batch that touched `touched` may change `group`.
fn affects(es: &Entities, group: &Group, touched: &[usize], records: &Modelled<'_>) -> bool {
    match &group.narrow {
        Some(narrow) => records.iter().any(|(model, r)| narrow.may_change(es, *model, r)),
        None => touched.iter().any(|&m| group.reach[m]),
    }
}

/// The pinned groups whose pin one of `records` holds, before or after its change.
fn pinned_by(pinned: &Pinned, records: &Modelled<'_>) -> std::collections::HashSet<u64> {
    let mut found = std::collections::HashSet::new();
    for ((model, column), by_value) in pinned {
        for (_, record) in records.iter().filter(|(m, _)| *m == Some(*model)) {
            for row in [&record.old, &record.new].into_iter().flatten() {
                match row.get(column) {
                    Some(value) => found.extend(by_value.get(&value.to_string()).into_iter().flatten()),
                    // A row without the column could hold any value.
                    None => by_value.values().for_each(|groups| found.extend(groups)),
                }
            }
        }
    }
    found
}

/// A channel to check again: its key, its record, and who is in it.
type Recheck = (String, Scope, Vec<(ConnId, Caller)>);

/// A record's channel and who is in it.
struct Channel {
    scope: Scope,
    present: Vec<(Present, String)>,
}

struct Group {
    key: String,
    query: LiveQuery,
    caller: Caller,
    rows: Vec<Row>,
    /// The log position `rows` stand at.
    seq: i64,
    /// Models whose changes may change this group's result.
    reach: Vec<bool>,
    /// When its result depends on its own model's rows alone: which changes can matter.
    narrow: Option<crate::narrow::Narrow>,
    /// Its place in [`State::pinned`]: model, column and value.
    pin: Option<(usize, String, String)>,
    members: Vec<(ConnId, String)>,
    /// The events of its latest evaluations, oldest first, for subscribers resuming from
    /// a `seq` ([`Hub::subscribe`] with `since`).
    history: std::collections::VecDeque<Step>,
    /// The oldest `seq` the history reaches back to.
    floor: i64,
    /// Without members since then: kept (and kept current) for a while, so that its
    /// subscribers can come back and resume.
    idle_since: Option<std::time::Instant>,
}

/// One evaluation of a group: its rows went from their state at `from` to their state at
/// `to` by `events` (none when nothing the group shows changed).
struct Step {
    to: i64,
    events: Vec<Json>,
}

struct Member {
    /// The channels it is in (their keys in [`State::channels`]).
    channels: Vec<String>,
    budget: Budget,
    sink: mpsc::Sender<String>,
    /// Subscription id → group.
    subs: BTreeMap<String, u64>,
    /// Updates were dropped (its queue was full): it gets a `reset` once it has room.
    behind: bool,
}

impl Hub {
    pub fn new(store: Arc<Store>, policies: Arc<Policies>, realtime: Realtime) -> Arc<Hub> {
        Arc::new(Hub {
            store,
            policies,
            realtime: Arc::new(realtime),
            state: Mutex::default(),
            next_conn: AtomicU64::new(1),
            wake: tokio::sync::Notify::new(),
        })
    }

    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// A new connection, whose messages (`subscribed`, `update`, `reset`, ...) go to
    /// `sink`, each as the JSON text of one message.
    pub fn connect(&self, sink: mpsc::Sender<String>) -> ConnId {
        let id = self.next_conn.fetch_add(1, Ordering::Relaxed);
        let member =
            Member { channels: Vec::new(), budget: Budget::default(), sink, subs: BTreeMap::new(), behind: false };
        self.state().conns.insert(id, member);
        id
    }

    /// Forgets a connection and its subscriptions.
    pub fn disconnect(&self, conn: ConnId) {
        let mut state = self.state();
        if let Some(member) = state.conns.remove(&conn) {
            for (sub, group) in member.subs {
                leave(&mut state, group, conn, &sub);
            }
            for key in member.channels {
                exit_channel(&mut state, &key, conn, None);
            }
        }
    }

    /// The hub's figures now.
    pub fn stats(&self) -> HubStats {
        let state = self.state();
        HubStats {
            connections: state.conns.len(),
            subscriptions: state.conns.values().map(|m| m.subs.len()).sum(),
            groups: state.groups.len(),
            ..state.stats
        }
    }

    /// Subscribes `conn` to `channel` as `caller`, or says why not. The `subscribed`
    /// message goes to the connection's sink, before any `update` of the subscription:
    /// the rows now and the `seq` they stand at; or, with `since` (the `seq` of the last
    /// message the subscriber had of this subscription), what it missed since then, when
    /// the subscription's recent history still holds it and it is smaller than the rows.
    pub async fn subscribe(
        &self,
        conn: ConnId,
        sub: String,
        caller: Caller,
        channel: &str,
        args: Map<String, Json>,
        since: Option<i64>,
    ) -> Result<(), SubscribeError> {
        let es = Arc::clone(&self.store.entities);
        let query = query::read_query(&es, &self.realtime, channel, args)?;
        query::authorize(&es, &self.policies, &self.realtime, &caller, &query)?;
        {
            let state = self.state();
            let member =
                state.conns.get(&conn).ok_or_else(|| SubscribeError::refused("closed", "the connection is closed"))?;
            if member.subs.contains_key(&sub) {
                return Err(duplicate(&sub));
            }
            if member.subs.len() >= MAX_SUBSCRIPTIONS {
                return Err(SubscribeError::refused(
                    "too_many_subscriptions",
                    format!("a connection holds at most {MAX_SUBSCRIPTIONS} subscriptions"),
                ));
            }
        }
        let key =
            format!("{}\u{0}{}", query.text, caller_key(&caller, &self.policies, &query::models_read(&es, &query)));
        // A group that exists already answers from memory: no query per subscriber.
        if self.join_group(conn, &sub, &key, since)? {
            return Ok(());
        }
        let (policies, realtime, run_query, run_caller) =
            (Arc::clone(&self.policies), Arc::clone(&self.realtime), query.clone(), caller.clone());
        let (rows, seq) = self
            .store
            .read(move |conn, es| {
                let rows = query::run(conn, es, &policies, &realtime, &run_caller, &run_query)?;
                Ok((rows, ssot_store::query::read::current_seq(conn)?))
            })
            .await?;
        let mut state = self.state();
        // Checked again: the same id may have been subscribed while the rows were read.
        match state.conns.get(&conn) {
            None => return Err(SubscribeError::refused("closed", "the connection is closed")),
            Some(member) if member.subs.contains_key(&sub) => return Err(duplicate(&sub)),
            Some(_) => {}
        }
        let group = match state.by_key.get(&key) {
            Some(&group) => group,
            None => {
                let id = state.next_group;
                state.next_group += 1;
                let reach = reach(&es, query.model);
                let narrow = query::narrow(&es, &self.policies, &self.realtime, &caller, &query);
                let pin = narrow
                    .as_ref()
                    .and_then(|n| n.pins.first().map(|(column, value)| (n.model, column.clone(), value.to_string())));
                if let Some((model, column, value)) = &pin {
                    let by_value = state.pinned.entry((*model, column.clone())).or_default();
                    by_value.entry(value.clone()).or_default().push(id);
                }
                let group = Group {
                    key: key.clone(),
                    query,
                    caller,
                    rows,
                    seq,
                    reach,
                    narrow,
                    pin,
                    members: Vec::new(),
                    history: Default::default(),
                    floor: seq,
                    idle_since: None,
                };
                state.groups.insert(id, group);
                state.by_key.insert(key, id);
                id
            }
        };
        let behind = state.groups.get(&group).is_some_and(|g| g.seq < state.cursor);
        attach(&mut state, group, conn, &sub, since);
        drop(state);
        if behind {
            // The follower read past this group's rows while they were read: it catches up.
            self.wake.notify_one();
        }
        Ok(())
    }

    /// Adds the subscription to the group of `key` when there is one (whether there was).
    fn join_group(&self, conn: ConnId, sub: &str, key: &str, since: Option<i64>) -> Result<bool, SubscribeError> {
        let mut state = self.state();
        let Some(&group) = state.by_key.get(key) else { return Ok(false) };
        if state.conns.get(&conn).is_some_and(|m| m.subs.contains_key(sub)) {
            return Err(duplicate(sub));
        }
        attach(&mut state, group, conn, sub, since);
        Ok(true)
    }

    /// Ends subscription `sub` of `conn`; whether it was open. `told`: the message the
    /// connection gets (after every update of the subscription), if any.
    pub fn unsubscribe(&self, conn: ConnId, sub: &str, told: Option<Json>) -> bool {
        let mut state = self.state();
        let Some(group) = state.conns.get_mut(&conn).and_then(|m| m.subs.remove(sub)) else { return false };
        leave(&mut state, group, conn, sub);
        if let Some(message) = told {
            tell(&mut state, conn, message);
        }
        true
    }

    /// Sends `message` to `conn` in order with its updates.
    pub fn tell(&self, conn: ConnId, message: Json) {
        tell(&mut self.state(), conn, message);
    }

    /// Follows the change log until `stop` is set: after each commit of this process (the
    /// store's signal), each `NOTIFY` on PostgreSQL or notice on the bus, and every `poll`
    /// (writers nothing tells of, such as another program on SQLite).
    pub async fn follow(self: Arc<Self>, mut stop: tokio::sync::watch::Receiver<bool>, poll: std::time::Duration) {
        let mut changed = self.store.changed();
        match self.store.log_bounds().await {
            Ok((_, newest)) => self.state().cursor = newest,
            Err(e) => tracing::warn!(error = %e, "realtime: cannot read the change log"),
        }
        loop {
            tokio::select! {
                _ = changed.changed() => {}
                () = self.wake.notified() => {}
                () = tokio::time::sleep(poll) => {}
                _ = stop.changed() => return,
            }
            if *stop.borrow() {
                return;
            }
            if let Err(e) = self.step().await {
                tracing::warn!(error = %e, "realtime: a batch of the change log could not be delivered; retrying");
                tokio::time::sleep(std::time::Duration::from_millis(200)).await;
            }
        }
    }

    /// One batch: reads the log past the cursor, runs the groups it may affect, delivers.
    async fn step(&self) -> Result<(), ssot_store::StoreError> {
        self.send_resets();
        sweep(&mut self.state());
        let cursor = self.state().cursor;
        let page = self.store.changes_after(cursor, BATCH_RECORDS).await?;
        let started = std::time::Instant::now();
        let es = Arc::clone(&self.store.entities);
        let modelled: Vec<(Option<usize>, &ssot_store::changelog::Record)> =
            page.records.iter().map(|r| (es.by_name(&r.label), r)).collect();
        let touched = touched(&es, &modelled);
        // The groups the batch may change run again; the others stand at its end already
        // (nothing before it was missed: a group behind the cursor is always run).
        let due: Vec<(u64, LiveQuery, Caller)> = {
            let mut state = self.state();
            let State { groups, pinned, .. } = &mut *state;
            let candidates = pinned_by(pinned, &modelled);
            let mut due = Vec::new();
            for (&id, g) in groups.iter_mut().filter(|(_, g)| g.seq < page.reached) {
                let may = match g.pin {
                    Some(_) => candidates.contains(&id) && affects(&es, g, &touched, &modelled),
                    None => affects(&es, g, &touched, &modelled),
                };
                if g.seq < cursor || may {
                    due.push((id, g.query.clone(), g.caller.clone()));
                } else {
                    g.seq = page.reached;
                }
            }
            due
        };
        // Who is in a channel is asked again when its record, or what its rule reaches, changed.
        let recheck: Vec<Recheck> = {
            let state = self.state();
            state
                .channels
                .iter()
                .filter(|(_, c)| {
                    let reached = reach(&es, c.scope.model);
                    touched.iter().any(|&m| reached[m])
                })
                .map(|(key, c)| {
                    (key.clone(), c.scope.clone(), c.present.iter().map(|(p, _)| (p.conn, p.caller.clone())).collect())
                })
                .collect()
        };
        if due.is_empty() && recheck.is_empty() {
            let mut state = self.state();
            state.cursor = state.cursor.max(page.reached);
            return Ok(());
        }
        let (policies, realtime) = (Arc::clone(&self.policies), Arc::clone(&self.realtime));
        let reached = page.reached;
        let (results, refused, late, seq) = self
            .store
            .read(move |conn, es| {
                let mut results = Vec::with_capacity(due.len());
                for (id, query, caller) in due {
                    // One subscriber's failing query does not stop the others' delivery.
                    let rows = query::run(conn, es, &policies, &realtime, &caller, &query);
                    results.push((id, rows));
                }
                let mut refused = Vec::new();
                for (key, scope, present) in recheck {
                    for (member, caller) in present {
                        // A check that fails counts as a refusal: fail-closed.
                        if !channels::admits(conn, es, &policies, &realtime, &caller, &scope).unwrap_or(false) {
                            refused.push((key.clone(), member));
                        }
                    }
                }
                // Changes committed after the batch was read and before this snapshot are in
                // the results too: their creates and deletes name the events right.
                let late = ssot_store::changelog::records_after(conn, reached, BATCH_RECORDS)?;
                Ok((results, refused, late, ssot_store::query::read::current_seq(conn)?))
            })
            .await?;
        let mut records = page.records;
        records.extend(late.records);
        let log = LogFacts::of(&es, &records);
        let mut state = self.state();
        for (key, conn) in refused {
            exit_channel(&mut state, &key, conn, Some("forbidden"));
        }
        state.stats.batches += 1;
        state.stats.evaluations += results.len() as u64;
        // Each connection's message is built from text: every event is serialized once per
        // group, and each subscriber's copy only gets its `sub` put in front.
        let mut out: HashMap<ConnId, (String, u64)> = HashMap::new();
        for (id, rows) in results {
            let Some(group) = state.groups.get_mut(&id) else { continue };
            let rows = match rows {
                Ok(rows) => rows,
                Err(e) => {
                    tracing::warn!(error = %e, query = %group.query.text, "realtime: a live query failed");
                    continue;
                }
            };
            let model = group.query.model;
            let events =
                shape(&self.realtime, model, group.query.kind, diff(&group.rows, &rows, &log.for_model(model)));
            group.rows = rows;
            group.seq = seq;
            remember(group, seq, &events);
            if events.is_empty() {
                continue;
            }
            let tails: Vec<String> = events.iter().map(event_tail).collect();
            for (conn, sub) in &group.members {
                let (text, count) = out.entry(*conn).or_default();
                let sub = Json::String(sub.clone()).to_string();
                for tail in &tails {
                    text.push_str(if text.is_empty() { "{\"sub\":" } else { ",{\"sub\":" });
                    text.push_str(&sub);
                    text.push(',');
                    text.push_str(tail);
                }
                *count += tails.len() as u64;
            }
        }
        // Not past `seq`: changes after the batch's end are read with the next batch, for the
        // groups that did not run now.
        state.cursor = state.cursor.max(page.reached);
        let State { conns, stats, .. } = &mut *state;
        for (conn, (events, count)) in out {
            let Some(member) = conns.get_mut(&conn) else { continue };
            if member.behind {
                continue;
            }
            let message = format!("{{\"type\":\"update\",\"seq\":{seq},\"events\":[{events}]}}");
            if member.sink.try_send(message).is_ok() {
                stats.updates += 1;
                stats.events += count;
            } else {
                member.behind = true;
                stats.overflows += 1;
            }
        }
        stats.delivery_seconds += started.elapsed().as_secs_f64();
        Ok(())
    }

    /// A `reset` to each connection that fell behind and has room again: every
    /// subscription's current rows.
    fn send_resets(&self) {
        let mut state = self.state();
        let State { conns, groups, stats, .. } = &mut *state;
        for member in conns.values_mut().filter(|m| m.behind && m.sink.capacity() > 0) {
            let mut subs = Map::new();
            for (sub, group) in &member.subs {
                if let Some(g) = groups.get(group) {
                    subs.insert(sub.clone(), json!({"seq": g.seq, "data": data(g)}));
                }
            }
            if member.sink.try_send(json!({"type": "reset", "subscriptions": subs}).to_string()).is_ok() {
                member.behind = false;
                stats.resets += 1;
            }
        }
    }
}
