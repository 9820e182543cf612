//! The hub's groups of subscriptions: adding and removing subscribers, telling a
//! connection, the history kept for resuming, and what makes two subscribers share a group.

use super::{ConnId, Group, Start, State, Step, HISTORY_EVENTS, HISTORY_STEPS, LINGER};
use serde_json::{json, Value as Json};
use ssot_access::Caller;
use ssot_schema::annotations::SubscribeKind;

/// Adds `conn`'s `sub` to `group`, and tells the connection (`subscribed`) what `start`
/// asks for.
pub(super) fn attach(state: &mut State, group: u64, conn: ConnId, sub: &str, start: &Start) {
    let Some(g) = state.groups.get_mut(&group) else { return };
    g.members.push((conn, sub.to_string()));
    g.idle_since = None;
    let reset = |g: &Group| json!({"type": "subscribed", "id": sub, "seq": g.seq, "reset": true, "data": data(g)});
    let answer = match start {
        Start::Fresh => json!({"type": "subscribed", "id": sub, "seq": g.seq, "data": data(g)}),
        Start::Since(since) => match replay(g, *since, sub) {
            Some(replay) => json!({"type": "subscribed", "id": sub, "seq": g.seq, "resumed": true, "replay": replay}),
            None => reset(g),
        },
        Start::Had(rows) if *rows == data(g) => {
            json!({"type": "subscribed", "id": sub, "seq": g.seq, "resumed": true, "replay": []})
        }
        Start::Had(_) => reset(g),
    };
    if let Some(member) = state.conns.get_mut(&conn) {
        member.subs.insert(sub.to_string(), group);
    }
    tell(state, conn, answer);
}

/// Answers the connections waiting for the follower (`synced`) that it has now reached.
/// A connection is answered once the follower has read past its `seq` and every group of
/// its subscriptions stands there too (a group made while the follower read on catches up
/// at the next batch).
pub(super) fn answer_syncs(state: &mut State) {
    let cursor = state.cursor;
    let caught_up = |conn: ConnId, seq: i64| {
        state.conns.get(&conn).is_some_and(|member| {
            member.subs.iter().all(|(_, group)| state.groups.get(group).is_none_or(|g| g.seq >= seq))
        })
    };
    let reached: Vec<ConnId> =
        state.syncs.iter().filter(|(&conn, &seq)| seq <= cursor && caught_up(conn, seq)).map(|(&c, _)| c).collect();
    for conn in reached {
        state.syncs.remove(&conn);
        tell(state, conn, json!({"type": "synced", "seq": cursor}));
    }
}

/// Queues `message` for `conn`; a full queue marks it behind (it gets a `reset`).
pub(super) fn tell(state: &mut State, conn: ConnId, message: Json) {
    if let Some(member) = state.conns.get_mut(&conn) {
        if !member.behind && member.sink.try_send(super::Frame::from(message.to_string())).is_err() {
            member.behind = true;
        }
    }
}

/// An event object's JSON text without its opening brace, so that each subscriber's copy
/// is `{"sub":...,` and this.
pub(super) fn event_tail(event: &Json) -> String {
    let text = event.to_string();
    match text.strip_prefix('{') {
        Some(rest) if rest != "}" => rest.to_string(),
        // Events always have fields; an empty one still makes valid JSON.
        _ => "\"op\":null}".to_string(),
    }
}

/// A group's rows as a subscriber sees them: a list, or the item (`null` when it is not
/// there or not theirs to see).
pub(super) fn data(group: &Group) -> Json {
    match group.query.kind {
        SubscribeKind::List => Json::Array(group.rows.iter().map(|r| r.data.clone()).collect()),
        SubscribeKind::Item => group.rows.first().map_or(Json::Null, |r| r.data.clone()),
    }
}

pub(super) fn leave(state: &mut State, group: u64, conn: ConnId, sub: &str) {
    let Some(g) = state.groups.get_mut(&group) else { return };
    g.members.retain(|(c, s)| !(*c == conn && s == sub));
    if g.members.is_empty() {
        g.idle_since = Some(std::time::Instant::now());
    }
}

/// Forgets the groups nobody came back to within [`LINGER`].
pub(super) fn sweep(state: &mut State) {
    let expired: Vec<u64> = state
        .groups
        .iter()
        .filter(|(_, g)| g.idle_since.is_some_and(|t| t.elapsed() >= LINGER))
        .map(|(&id, _)| id)
        .collect();
    for id in expired {
        if let Some(g) = state.groups.remove(&id) {
            state.by_key.remove(&g.key);
            if let Some((model, column, value)) = g.pin {
                unpin(&mut state.pinned, (model, column), &value, id);
            }
        }
    }
}

/// Takes group `id` out of the index of pinned groups, and empty entries with it.
fn unpin(pinned: &mut super::Pinned, key: (usize, String), value: &str, id: u64) {
    let Some(by_value) = pinned.get_mut(&key) else { return };
    if let Some(groups) = by_value.get_mut(value) {
        groups.retain(|&g| g != id);
        if groups.is_empty() {
            by_value.remove(value);
        }
    }
    if by_value.is_empty() {
        pinned.remove(&key);
    }
}

/// Records an evaluation in the group's history, which keeps the latest
/// [`HISTORY_STEPS`] evaluations and [`HISTORY_EVENTS`] events.
pub(super) fn remember(group: &mut Group, seq: i64, events: &[Json]) {
    group.history.push_back(Step { to: seq, events: events.to_vec() });
    let mut total: usize = group.history.iter().map(|s| s.events.len()).sum();
    while group.history.len() > HISTORY_STEPS || total > HISTORY_EVENTS {
        let Some(first) = group.history.pop_front() else { break };
        total -= first.events.len();
        group.floor = first.to;
    }
}

/// What a subscriber whose copy stands at `since` missed: each evaluation's events (as
/// `{seq, events}`, to be applied one after the other), or `None` when the history does
/// not hold exactly that state or replaying would send more than the rows themselves.
pub(super) fn replay(group: &Group, since: i64, sub: &str) -> Option<Vec<Json>> {
    let start = if since == group.floor { 0 } else { group.history.iter().position(|s| s.to == since)? + 1 };
    let steps: Vec<&Step> = group.history.iter().skip(start).filter(|s| !s.events.is_empty()).collect();
    let events: usize = steps.iter().map(|s| s.events.len()).sum();
    if events > group.rows.len().max(1) {
        return None;
    }
    let with_sub = |e: &Json| {
        let mut e = e.clone();
        e["sub"] = json!(sub);
        e
    };
    Some(
        steps
            .iter()
            .map(|s| json!({"seq": s.to, "events": s.events.iter().map(with_sub).collect::<Vec<_>>()}))
            .collect(),
    )
}

/// What makes two subscribers' results equal: who they are to the rules the query runs,
/// that is the values of what those rules read as `auth.<name>`. Users alike in those
/// (every user, when the rules ask no more than whether there is one) share one group,
/// one evaluation.
pub(super) fn caller_key(caller: &Caller, policies: &ssot_access::Policies, models: &[usize]) -> String {
    match caller {
        Caller::Anonymous => "anonymous".into(),
        Caller::Admin => "admin".into(),
        Caller::User(auth) => {
            let read: serde_json::Map<String, Json> = models
                .iter()
                .flat_map(|&m| policies.auth_reads(m))
                .map(|name| (name.clone(), auth.get(name).cloned().unwrap_or(Json::Null)))
                .collect();
            format!("user {}", Json::Object(read))
        }
    }
}
