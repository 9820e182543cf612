//! The hub: every connection's subscriptions, grouped so that subscribers of the same
//! query who are alike to its rules share one evaluation ([`groups`]), the follower of the
//! change log that keeps them current ([`follow`]), and ephemeral channels ([`presence`],
//! with other instances' members in [`remote`]).
//!
//! After each batch of the log (whatever committed since the last one), the groups the
//! batch may affect (its models, or models their queries reach through relations) are
//! run again, all of them in one read transaction, so that every result stands at one
//! `seq`; each group's new result is diffed against its last ([`crate::diff`]); and each
//! connection gets one `update` message holding the events of all its subscriptions,
//! tagged with that `seq`. A connection whose queue is full is not waited for: it is
//! marked, and gets a `reset` (every subscription's current rows) once it has room.

use crate::batch::reach;
use crate::channels::{Budget, Present, Scope};
use groups::{answer_syncs, attach, caller_key, leave, tell};
use presence::exit_channel;

mod follow;
mod groups;
mod presence;
mod remote;
mod view;
use crate::diff::Row;
use crate::query::{self, LiveQuery};
use crate::{Realtime, SubscribeError};
use serde_json::{Map, Value as Json};
use ssot_access::{Caller, Policies};
use ssot_store::Store;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use tokio::sync::mpsc;

/// A connection, as the hub knows it.
pub type ConnId = u64;

/// A message's JSON text, shared by the connections it goes to.
pub type Frame = Arc<str>;

/// The most subscriptions one connection may hold.
pub const MAX_SUBSCRIPTIONS: usize = 100;

/// The most log records read per batch.
const BATCH_RECORDS: i64 = 10_000;

/// How many evaluations a group remembers for resuming subscribers, and how many events.
const HISTORY_STEPS: usize = 1024;
const HISTORY_EVENTS: usize = 10_000;

/// How long a group without subscribers is kept for them to resume.
pub const LINGER: std::time::Duration = std::time::Duration::from_secs(60);

/// What a new subscription's `subscribed` says (protocol.md, `subscribed`).
#[derive(Debug, Clone)]
pub enum Start {
    /// The rows now and the `seq` they stand at.
    Fresh,
    /// What the subscriber missed since this `seq` (the last message it had of the
    /// subscription), when the recent history holds it and it is smaller than the rows;
    /// else the rows, marked `reset`.
    Since(i64),
    /// The subscriber holds these rows (from another hub: `ssot dev` swapped the schema):
    /// nothing to replace when they are still the rows now (`resumed` with an empty
    /// replay), else the rows, marked `reset`.
    Had(Json),
}

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
    /// The statements those evaluations took: the groups of one model in one batch share
    /// one (the related rows a selection includes are not counted).
    pub statements: u64,
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
    /// Connections waiting for the follower to reach a `seq` (the highest each asked for).
    syncs: HashMap<ConnId, i64>,
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

/// Refuses a subscription `sub` of `conn` when the connection is gone, already has `sub`,
/// or holds its most.
fn check_room(state: &State, conn: ConnId, sub: &str) -> Result<(), SubscribeError> {
    let member = state.conns.get(&conn).ok_or_else(|| SubscribeError::refused("closed", "the connection is closed"))?;
    if member.subs.contains_key(sub) {
        return Err(duplicate(sub));
    }
    if member.subs.len() >= MAX_SUBSCRIPTIONS {
        return Err(SubscribeError::refused(
            "too_many_subscriptions",
            format!("a connection holds at most {MAX_SUBSCRIPTIONS} subscriptions"),
        ));
    }
    Ok(())
}

fn duplicate(sub: &str) -> SubscribeError {
    SubscribeError::refused("duplicate_subscription", format!("`{sub}` is already open on this connection"))
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
    sink: mpsc::Sender<Frame>,
    /// Subscription id → group.
    subs: Subs,
    /// Updates were dropped (its queue was full): it gets a `reset` once it has room.
    behind: bool,
}

/// A connection's subscriptions: id → group. A list, not a map: a connection holds few
/// (at most [`MAX_SUBSCRIPTIONS`]), and an idle connection's memory counts.
#[derive(Default)]
struct Subs(Vec<(String, u64)>);

impl Subs {
    fn contains_key(&self, sub: &str) -> bool {
        self.0.iter().any(|(s, _)| s == sub)
    }

    fn insert(&mut self, sub: String, group: u64) {
        match self.0.iter_mut().find(|(s, _)| *s == sub) {
            Some(entry) => entry.1 = group,
            None => self.0.push((sub, group)),
        }
    }

    fn remove(&mut self, sub: &str) -> Option<u64> {
        let at = self.0.iter().position(|(s, _)| s == sub)?;
        Some(self.0.swap_remove(at).1)
    }

    fn len(&self) -> usize {
        self.0.len()
    }

    fn iter(&self) -> impl Iterator<Item = &(String, u64)> {
        self.0.iter()
    }
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
    pub fn connect(&self, sink: mpsc::Sender<Frame>) -> ConnId {
        let id = self.next_conn.fetch_add(1, Ordering::Relaxed);
        let member =
            Member { channels: Vec::new(), budget: Budget::default(), sink, subs: Subs::default(), behind: false };
        self.state().conns.insert(id, member);
        id
    }

    /// Forgets a connection and its subscriptions.
    pub fn disconnect(&self, conn: ConnId) {
        let mut state = self.state();
        state.syncs.remove(&conn);
        if let Some(member) = state.conns.remove(&conn) {
            for (sub, group) in member.subs.0 {
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
    /// message goes to the connection's sink, before any `update` of the subscription: what
    /// [`Start`] asks for.
    pub async fn subscribe(
        &self,
        conn: ConnId,
        sub: String,
        caller: Caller,
        channel: &str,
        args: Map<String, Json>,
        start: Start,
    ) -> Result<(), SubscribeError> {
        let es = Arc::clone(&self.store.entities);
        let query = query::read_query(&es, &self.realtime, channel, args)?;
        query::authorize(&es, &self.policies, &self.realtime, &caller, &query)?;
        check_room(&self.state(), conn, &sub)?;
        let key =
            format!("{}\u{0}{}", query.text, caller_key(&caller, &self.policies, &query::models_read(&es, &query)));
        // A group that exists already answers from memory: no query per subscriber.
        if self.join_group(conn, &sub, &key, &start)? {
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
        check_room(&state, conn, &sub)?;
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
        attach(&mut state, group, conn, &sub, &start);
        drop(state);
        if behind {
            // The follower read past this group's rows while they were read: it catches up.
            self.wake.notify_one();
        }
        Ok(())
    }

    /// Adds the subscription to the group of `key` when there is one (whether there was).
    fn join_group(&self, conn: ConnId, sub: &str, key: &str, start: &Start) -> Result<bool, SubscribeError> {
        let mut state = self.state();
        let Some(&group) = state.by_key.get(key) else { return Ok(false) };
        // Checked under the lock that adds it: a connection gone meanwhile would stay a member.
        check_room(&state, conn, sub)?;
        attach(&mut state, group, conn, sub, start);
        Ok(true)
    }

    /// The rows `conn`'s subscription `sub` stands at, as its `subscribed` gives them (a
    /// list, or the record or `null`): for [`Start::Had`] when the connection moves to
    /// another hub.
    /// `None` too when the connection fell behind (updates were dropped for it): it does not
    /// hold them.
    pub fn rows_of(&self, conn: ConnId, sub: &str) -> Option<Json> {
        let state = self.state();
        let member = state.conns.get(&conn).filter(|member| !member.behind)?;
        let group = member.subs.iter().find(|(name, _)| name == sub)?.1;
        state.groups.get(&group).map(groups::data)
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

    /// Tells `conn` (`synced`, in order with its updates) once every group stands at
    /// `seq` or later: then any update a change up to `seq` made to its live queries has
    /// been queued before it. One `synced` answers every `sync` it reaches.
    pub fn sync(&self, conn: ConnId, seq: i64) {
        let mut state = self.state();
        let raised = state.syncs.get(&conn).is_none_or(|&waiting| seq > waiting);
        let waiting = state.syncs.entry(conn).or_insert(seq);
        *waiting = (*waiting).max(seq);
        let before = state.syncs.len();
        answer_syncs(&mut state);
        let answered = state.syncs.len() < before;
        drop(state);
        if !answered && raised {
            // The follower may be asleep with nothing new to read: the log might reach `seq`
            // only through another instance's write it has not heard of yet.
            self.wake.notify_one();
        }
    }

    /// Sends `message` to `conn` in order with its updates.
    pub fn tell(&self, conn: ConnId, message: Json) {
        tell(&mut self.state(), conn, message);
    }
}
