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

use crate::diff::{diff, Deleted, Row};
use crate::query::{self, LiveQuery};
use crate::{Realtime, SubscribeError};
use serde_json::{json, Map, Value as Json};
use ssot_access::{Caller, Policies};
use ssot_schema::annotations::{RealtimeEvent, SubscribeKind};
use ssot_store::changelog::{Record, INTERNAL_LABEL_PREFIX};
use ssot_store::entity::Entities;
use ssot_store::Store;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use tokio::sync::mpsc;

/// A connection, as the hub knows it.
pub type ConnId = u64;

/// The most subscriptions one connection may hold.
pub const MAX_SUBSCRIPTIONS: usize = 100;

/// The most log records read per batch.
const BATCH_RECORDS: i64 = 10_000;

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
    members: Vec<(ConnId, String)>,
}

struct Member {
    sink: mpsc::Sender<Json>,
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

    /// A new connection, whose messages (`update`, `reset`) go to `sink`.
    pub fn connect(&self, sink: mpsc::Sender<Json>) -> ConnId {
        let id = self.next_conn.fetch_add(1, Ordering::Relaxed);
        self.state().conns.insert(id, Member { sink, subs: BTreeMap::new(), behind: false });
        id
    }

    /// Forgets a connection and its subscriptions.
    pub fn disconnect(&self, conn: ConnId) {
        let mut state = self.state();
        if let Some(member) = state.conns.remove(&conn) {
            for (sub, group) in member.subs {
                leave(&mut state, group, conn, &sub);
            }
        }
    }

    /// How many subscriptions are open, over all connections.
    pub fn subscriptions(&self) -> usize {
        self.state().conns.values().map(|m| m.subs.len()).sum()
    }

    /// Subscribes `conn` to `channel` as `caller`, or says why not. The `subscribed`
    /// message (the rows now, and the `seq` they stand at) goes to the connection's sink,
    /// before any `update` of the subscription.
    pub async fn subscribe(
        &self,
        conn: ConnId,
        sub: String,
        caller: Caller,
        channel: &str,
        args: Map<String, Json>,
    ) -> Result<(), SubscribeError> {
        let es = Arc::clone(&self.store.entities);
        let query = query::read_query(&es, &self.realtime, channel, args)?;
        query::authorize(&es, &self.policies, &self.realtime, &caller, &query)?;
        {
            let state = self.state();
            let member =
                state.conns.get(&conn).ok_or_else(|| SubscribeError::refused("closed", "the connection is closed"))?;
            if member.subs.contains_key(&sub) {
                return Err(SubscribeError::refused(
                    "duplicate_subscription",
                    format!("`{sub}` is already open on this connection"),
                ));
            }
            if member.subs.len() >= MAX_SUBSCRIPTIONS {
                return Err(SubscribeError::refused(
                    "too_many_subscriptions",
                    format!("a connection holds at most {MAX_SUBSCRIPTIONS} subscriptions"),
                ));
            }
        }
        let key = format!("{}\u{0}{}", query.text, caller_key(&caller));
        // A group that exists already answers from memory: no query per subscriber.
        if self.join(conn, &sub, &key) {
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
        if !state.conns.contains_key(&conn) {
            return Err(SubscribeError::refused("closed", "the connection is closed"));
        }
        let group = match state.by_key.get(&key) {
            Some(&group) => group,
            None => {
                let id = state.next_group;
                state.next_group += 1;
                let reach = reach(&es, query.model);
                state
                    .groups
                    .insert(id, Group { key: key.clone(), query, caller, rows, seq, reach, members: Vec::new() });
                state.by_key.insert(key, id);
                id
            }
        };
        let behind = state.groups.get(&group).is_some_and(|g| g.seq < state.cursor);
        attach(&mut state, group, conn, &sub);
        drop(state);
        if behind {
            // The follower read past this group's rows while they were read: it catches up.
            self.wake.notify_one();
        }
        Ok(())
    }

    fn join(&self, conn: ConnId, sub: &str, key: &str) -> bool {
        let mut state = self.state();
        let Some(&group) = state.by_key.get(key) else { return false };
        attach(&mut state, group, conn, sub);
        true
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
    /// store's signal), each `NOTIFY` on PostgreSQL, and once a second (writers the store
    /// cannot hear, such as another program on SQLite).
    pub async fn follow(self: Arc<Self>, mut stop: tokio::sync::watch::Receiver<bool>) {
        let mut changed = self.store.changed();
        match self.store.log_bounds().await {
            Ok((_, newest)) => self.state().cursor = newest,
            Err(e) => tracing::warn!(error = %e, "realtime: cannot read the change log"),
        }
        loop {
            tokio::select! {
                _ = changed.changed() => {}
                () = self.wake.notified() => {}
                () = tokio::time::sleep(std::time::Duration::from_secs(1)) => {}
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
        let cursor = self.state().cursor;
        let page = self.store.changes_after(cursor, BATCH_RECORDS).await?;
        let es = Arc::clone(&self.store.entities);
        let touched = touched(&es, &page.records);
        let due: Vec<(u64, LiveQuery, Caller)> = {
            let state = self.state();
            state
                .groups
                .iter()
                .filter(|(_, g)| g.seq < page.reached && (g.seq < cursor || touched.iter().any(|&m| g.reach[m])))
                .map(|(&id, g)| (id, g.query.clone(), g.caller.clone()))
                .collect()
        };
        if due.is_empty() {
            let mut state = self.state();
            state.cursor = state.cursor.max(page.reached);
            return Ok(());
        }
        let (policies, realtime) = (Arc::clone(&self.policies), Arc::clone(&self.realtime));
        let (results, seq) = self
            .store
            .read(move |conn, es| {
                let mut results = Vec::with_capacity(due.len());
                for (id, query, caller) in due {
                    // One subscriber's failing query does not stop the others' delivery.
                    let rows = query::run(conn, es, &policies, &realtime, &caller, &query);
                    results.push((id, rows));
                }
                Ok((results, ssot_store::query::read::current_seq(conn)?))
            })
            .await?;
        let log = LogFacts::of(&es, &page.records);
        let mut state = self.state();
        let mut out: HashMap<ConnId, Vec<Json>> = HashMap::new();
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
            if events.is_empty() {
                continue;
            }
            for (conn, sub) in &group.members {
                let list = out.entry(*conn).or_default();
                list.extend(events.iter().map(|e| {
                    let mut e = e.clone();
                    e["sub"] = json!(sub);
                    e
                }));
            }
        }
        state.cursor = state.cursor.max(page.reached).max(seq);
        for (conn, events) in out {
            let Some(member) = state.conns.get_mut(&conn) else { continue };
            if member.behind {
                continue;
            }
            let message = json!({"type": "update", "seq": seq, "events": events});
            if member.sink.try_send(message).is_err() {
                member.behind = true;
            }
        }
        Ok(())
    }

    /// A `reset` to each connection that fell behind and has room again: every
    /// subscription's current rows.
    fn send_resets(&self) {
        let mut state = self.state();
        let State { conns, groups, .. } = &mut *state;
        for member in conns.values_mut().filter(|m| m.behind && m.sink.capacity() > 0) {
            let mut subs = Map::new();
            for (sub, group) in &member.subs {
                if let Some(g) = groups.get(group) {
                    subs.insert(sub.clone(), json!({"seq": g.seq, "data": data(g)}));
                }
            }
            if member.sink.try_send(json!({"type": "reset", "subscriptions": subs})).is_ok() {
                member.behind = false;
            }
        }
    }
}

/// Adds `conn`'s `sub` to `group`, and tells the connection (`subscribed`).
fn attach(state: &mut State, group: u64, conn: ConnId, sub: &str) {
    let Some(g) = state.groups.get_mut(&group) else { return };
    g.members.push((conn, sub.to_string()));
    let answer = json!({"type": "subscribed", "id": sub, "seq": g.seq, "data": data(g)});
    if let Some(member) = state.conns.get_mut(&conn) {
        member.subs.insert(sub.to_string(), group);
    }
    tell(state, conn, answer);
}

/// Queues `message` for `conn`; a full queue marks it behind (it gets a `reset`).
fn tell(state: &mut State, conn: ConnId, message: Json) {
    if let Some(member) = state.conns.get_mut(&conn) {
        if !member.behind && member.sink.try_send(message).is_err() {
            member.behind = true;
        }
    }
}

/// A group's rows as a subscriber sees them: a list, or the item (`null` when it is not
/// there or not theirs to see).
fn data(group: &Group) -> Json {
    match group.query.kind {
        SubscribeKind::List => Json::Array(group.rows.iter().map(|r| r.data.clone()).collect()),
        SubscribeKind::Item => group.rows.first().map_or(Json::Null, |r| r.data.clone()),
    }
}

fn leave(state: &mut State, group: u64, conn: ConnId, sub: &str) {
    let Some(g) = state.groups.get_mut(&group) else { return };
    g.members.retain(|(c, s)| !(*c == conn && s == sub));
    if g.members.is_empty() {
        let key = g.key.clone();
        state.groups.remove(&group);
        state.by_key.remove(&key);
    }
}

/// What makes two subscribers' results equal: who they are to the rules.
fn caller_key(caller: &Caller) -> String {
    match caller {
        Caller::Anonymous => "anonymous".into(),
        Caller::Admin => "admin".into(),
        Caller::User(auth) => Json::Object((**auth).clone()).to_string(),
    }
}

/// The models whose rows can change `model`'s live queries: itself, and every model it
/// reaches through relations (filters, includes and rules may follow them).
fn reach(es: &Entities, model: usize) -> Vec<bool> {
    let mut reached = vec![false; es.entities.len()];
    let mut stack = vec![model];
    while let Some(m) = stack.pop() {
        if std::mem::replace(&mut reached[m], true) {
            continue;
        }
        stack.extend(es.entities[m].relations.iter().map(|r| r.target));
    }
    reached
}

/// The models a batch of records changed (a join table's change touches both sides).
fn touched(es: &Entities, records: &[Record]) -> Vec<usize> {
    let mut out: HashSet<usize> = HashSet::new();
    for record in records.iter().filter(|r| !r.label.starts_with(INTERNAL_LABEL_PREFIX)) {
        match es.by_name(&record.label) {
            Some(model) => {
                out.insert(model);
            }
            None => {
                for (m, entity) in es.entities.iter().enumerate() {
                    let joins = entity.relations.iter().any(
                        |r| matches!(&r.link, ssot_store::entity::Link::Join { label, .. } if *label == record.label),
                    );
                    if joins {
                        out.insert(m);
                    }
                }
            }
        }
    }
    out.into_iter().collect()
}

/// Which records of a batch were created or deleted, by model and id.
struct LogFacts {
    created: HashMap<usize, Vec<Json>>,
    deleted: HashMap<usize, Vec<Json>>,
}

impl LogFacts {
    fn of(es: &Entities, records: &[Record]) -> LogFacts {
        let mut facts = LogFacts { created: HashMap::new(), deleted: HashMap::new() };
        for record in records {
            let Some(model) = es.by_name(&record.label) else { continue };
            let Some(row) = record.new.as_ref().or(record.old.as_ref()) else { continue };
            let row = ssot_store::changelog::api_row(es, model, row);
            let entity = &es.entities[model];
            let parts: Vec<Json> =
                entity.id.iter().map(|&f| row.get(&entity.fields[f].name).cloned().unwrap_or(Json::Null)).collect();
            let id = if parts.len() == 1 { parts.into_iter().next().unwrap_or(Json::Null) } else { Json::Array(parts) };
            match record.op.as_str() {
                "create" => facts.created.entry(model).or_default().push(id),
                "delete" => facts.deleted.entry(model).or_default().push(id),
                _ => {}
            }
        }
        facts
    }

    fn for_model(&self, model: usize) -> ModelFacts<'_> {
        ModelFacts {
            created: self.created.get(&model).map_or(&[], Vec::as_slice),
            deleted: self.deleted.get(&model).map_or(&[], Vec::as_slice),
        }
    }
}

struct ModelFacts<'a> {
    created: &'a [Json],
    deleted: &'a [Json],
}

impl Deleted for ModelFacts<'_> {
    fn was_deleted(&self, id: &Json) -> bool {
        self.deleted.contains(id)
    }
    fn was_created(&self, id: &Json) -> bool {
        self.created.contains(id)
    }
}

/// The events as the model's `@@realtime` sends them: a `created` it does not broadcast
/// is an `entered`, a `deleted` a `left`, and an `updated` that moves nothing is not sent
/// (one that moves the row is a `moved`). An item subscription has no positions.
fn shape(realtime: &Realtime, model: usize, kind: SubscribeKind, events: Vec<Json>) -> Vec<Json> {
    events
        .into_iter()
        .filter_map(|mut event| {
            let op = event["op"].as_str().unwrap_or_default().to_string();
            match op.as_str() {
                "created" if !realtime.sends(model, RealtimeEvent::Created) => event["op"] = json!("entered"),
                "deleted" if !realtime.sends(model, RealtimeEvent::Deleted) => event["op"] = json!("left"),
                "updated" if !realtime.sends(model, RealtimeEvent::Updated) => {
                    if kind == SubscribeKind::Item {
                        return None;
                    }
                    event["op"] = json!("moved");
                    if let Some(e) = event.as_object_mut() {
                        e.remove("row");
                    }
                }
                _ => {}
            }
            if kind == SubscribeKind::Item {
                if let Some(e) = event.as_object_mut() {
                    e.remove("index");
                }
                if event["op"] == "moved" {
                    return None;
                }
            }
            Some(event)
        })
        .collect()
}
