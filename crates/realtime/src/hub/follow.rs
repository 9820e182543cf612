//! The hub's follower of the change log: after each commit it reads what is new, runs
//! the groups the batch may change (all in one read transaction, so every result stands
//! at one `seq`), and queues each connection one `update` with all its subscriptions'
//! events; connections that fell behind get a `reset` once they have room.

use super::groups::{answer_syncs, data, event_tail, remember, sweep};
use super::presence::exit_channel;
use super::{ConnId, Frame, Group, Hub, Pinned, Recheck, State, BATCH_RECORDS};
use crate::batch::{reach, shape, touched, LogFacts};
use crate::channels;
use crate::diff::diff;
use crate::query::{self, LiveQuery};
use serde_json::{json, Map, Value as Json};
use ssot_access::Caller;
use ssot_schema::fx::FxHashMap;
use ssot_store::entity::Entities;
use std::sync::Arc;

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

/// What one connection gets of a batch: the events of one subscription (a group and its
/// member's place in it), or those of several, already written out.
enum Part {
    One(u64, usize),
    Many(String, u64),
}

impl Hub {
    /// Follows the change log until `stop` is set: after each commit of this process (the
    /// store's signal), each `NOTIFY` on PostgreSQL or notice on the bus, and every `poll`
    /// (writers nothing tells of, such as another program on SQLite).
    pub async fn follow(self: Arc<Self>, mut stop: tokio::sync::watch::Receiver<bool>, poll: std::time::Duration) {
        let mut changed = self.store.changed();
        match self.store.log_bounds().await {
            Ok((_, newest)) => self.state().cursor = newest,
            Err(e) => tracing::warn!(error = %e, "realtime: cannot read the change log"),
        }
        let mut more = false;
        loop {
            // A full batch leaves more to read: read it now, not at the next signal.
            if !more {
                tokio::select! {
                    _ = changed.changed() => {}
                    () = self.wake.notified() => {}
                    () = tokio::time::sleep(poll) => {}
                    _ = stop.changed() => return,
                }
            }
            if *stop.borrow() {
                return;
            }
            more = match self.step().await {
                Ok(more) => more,
                Err(e) => {
                    tracing::warn!(error = %e, "realtime: a batch of the change log could not be delivered; retrying");
                    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
                    false
                }
            };
        }
    }

    /// One batch: reads the log past the cursor, runs the groups it may affect, delivers;
    /// whether the log holds more than one batch could read.
    async fn step(&self) -> Result<bool, ssot_store::StoreError> {
        self.send_resets();
        sweep(&mut self.state());
        let cursor = self.state().cursor;
        let page = self.store.changes_after(cursor, BATCH_RECORDS).await?;
        let more = page.records.len() as i64 >= BATCH_RECORDS;
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
                let may = match (&g.pin, &g.narrow) {
                    // Found through the index, or through another model it reads.
                    (Some(_), Some(narrow)) => {
                        (candidates.contains(&id) || narrow.others.iter().any(|m| touched.contains(m)))
                            && affects(&es, g, &touched, &modelled)
                    }
                    _ => affects(&es, g, &touched, &modelled),
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
            answer_syncs(&mut state);
            return Ok(more);
        }
        let (policies, realtime) = (Arc::clone(&self.policies), Arc::clone(&self.realtime));
        let reached = page.reached;
        let (results, statements, refused, late, seq) = self
            .store
            .read(move |conn, es| {
                // The groups' queries of one model in one statement: one query per batch and
                // model, not one per subscriber (one group's failing rules stop no other's
                // delivery).
                let each: Vec<(&Caller, &LiveQuery)> = due.iter().map(|(_, query, caller)| (caller, query)).collect();
                let (rows, statements) = query::run_each(conn, es, &policies, &realtime, &each);
                let results: Vec<(u64, _)> = due.iter().map(|(id, _, _)| *id).zip(rows).collect();
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
                Ok((results, statements, refused, late, ssot_store::query::read::current_seq(conn)?))
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
        state.stats.statements += statements;
        // Every event is serialized once per group. A connection whose events of this batch
        // all come from one subscription gets the frame shared by every subscriber of that
        // group under that subscription id; one with several gets a frame of its own.
        let mut tails: FxHashMap<u64, Vec<String>> = FxHashMap::default();
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
            if !events.is_empty() {
                tails.insert(id, events.iter().map(event_tail).collect());
            }
        }
        // Not past `seq`: changes after the batch's end are read with the next batch, for the
        // groups that did not run now.
        state.cursor = state.cursor.max(page.reached);
        let State { conns, stats, groups, .. } = &mut *state;
        let events_of = |group: u64, member: usize, text: &mut String| {
            let (Some(g), Some(tails)) = (groups.get(&group), tails.get(&group)) else { return 0 };
            let Some((_, sub)) = g.members.get(member) else { return 0 };
            let sub = Json::String(sub.clone()).to_string();
            for tail in tails {
                text.push_str(if text.is_empty() { "{\"sub\":" } else { ",{\"sub\":" });
                text.push_str(&sub);
                text.push(',');
                text.push_str(tail);
            }
            tails.len() as u64
        };
        // Room for the members of the groups this batch touched, not for every connection.
        let touched: usize = tails.keys().filter_map(|id| groups.get(id)).map(|g| g.members.len()).sum();
        let mut parts: FxHashMap<ConnId, Part> = FxHashMap::default();
        parts.reserve(touched);
        for &id in tails.keys() {
            let Some(group) = groups.get(&id) else { continue };
            for (member, (conn, _)) in group.members.iter().enumerate() {
                match parts.get_mut(conn) {
                    None => {
                        parts.insert(*conn, Part::One(id, member));
                    }
                    Some(part) => {
                        let (mut text, mut count) = match std::mem::replace(part, Part::One(id, member)) {
                            Part::One(g, m) => {
                                let mut text = String::new();
                                let count = events_of(g, m, &mut text);
                                (text, count)
                            }
                            Part::Many(text, count) => (text, count),
                        };
                        count += events_of(id, member, &mut text);
                        *part = Part::Many(text, count);
                    }
                }
            }
        }
        let update = |events: &str| Frame::from(format!("{{\"type\":\"update\",\"seq\":{seq},\"events\":[{events}]}}"));
        let mut shared: FxHashMap<(u64, &str), (Frame, u64)> = FxHashMap::default();
        for (conn, part) in parts {
            let Some(member) = conns.get_mut(&conn) else { continue };
            if member.behind {
                continue;
            }
            let (frame, count) = match part {
                Part::Many(text, count) => (update(&text), count),
                Part::One(group, index) => {
                    let Some((_, sub)) = groups.get(&group).and_then(|g| g.members.get(index)) else { continue };
                    shared
                        .entry((group, sub.as_str()))
                        .or_insert_with(|| {
                            let mut text = String::new();
                            let count = events_of(group, index, &mut text);
                            (update(&text), count)
                        })
                        .clone()
                }
            };
            if member.sink.try_send(frame).is_ok() {
                stats.updates += 1;
                stats.events += count;
            } else {
                member.behind = true;
                stats.overflows += 1;
            }
        }
        stats.delivery_seconds += started.elapsed().as_secs_f64();
        answer_syncs(&mut state);
        Ok(more)
    }

    /// A `reset` to each connection that fell behind and has room again: every
    /// subscription's current rows.
    fn send_resets(&self) {
        let mut state = self.state();
        let State { conns, groups, stats, .. } = &mut *state;
        for member in conns.values_mut().filter(|m| m.behind && m.sink.capacity() > 0) {
            let mut subs = Map::new();
            for (sub, group) in member.subs.iter() {
                if let Some(g) = groups.get(group) {
                    subs.insert(sub.clone(), json!({"seq": g.seq, "data": data(g)}));
                }
            }
            let reset = json!({"type": "reset", "subscriptions": subs}).to_string();
            if member.sink.try_send(Frame::from(reset)).is_ok() {
                member.behind = false;
                stats.resets += 1;
            }
        }
    }
}
