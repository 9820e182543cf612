//! The hub's ephemeral channels: joining (the rule checked on the record), leaving,
//! broadcasts and presence states to the others in a channel. Each of these is also
//! published for the other instances when there is a bus ([`super::remote`]).

use super::groups::tell;
use super::remote::{member_name, publish, remote_members};
use super::{Channel, ConnId, Hub, State};
use crate::channels::{self, Present};
use crate::SubscribeError;
use serde_json::{json, Value as Json};
use ssot_access::Caller;
use std::sync::Arc;

impl Hub {
    /// Puts `conn` in the channel `name` (`Model:channel:<id>`) as `caller`, with a
    /// presence `state`: `joined` (who is there) to it, a presence `join` to the others.
    pub async fn join_channel(
        &self,
        conn: ConnId,
        name: &str,
        caller: Caller,
        state: Json,
    ) -> Result<(), SubscribeError> {
        channels::check_size(&state)?;
        let es = Arc::clone(&self.store.entities);
        let scope = channels::read_channel(&es, &self.realtime, name)?;
        let (policies, realtime, check_scope, check_caller) =
            (Arc::clone(&self.policies), Arc::clone(&self.realtime), scope.clone(), caller.clone());
        let admitted = self
            .store
            .read_single(move |conn, es| channels::admits(conn, es, &policies, &realtime, &check_caller, &check_scope))
            .await?;
        if !admitted {
            // The same answer whether the record is missing, hidden, or the rule fails.
            let model = &es.entities[scope.model].name;
            return Err(SubscribeError::refused(
                "forbidden",
                format!("no rule lets this caller into this `{model}` channel"),
            ));
        }
        let key = format!("{}:{:?}", scope.model, scope.key);
        let mut state_ = self.state();
        let Some(member) = state_.conns.get_mut(&conn) else {
            return Err(SubscribeError::refused("closed", "the connection is closed"));
        };
        if member.channels.contains(&key) {
            return Err(SubscribeError::refused("already_joined", format!("already in `{name}`")));
        }
        member.channels.push(key.clone());
        let user = match &caller {
            Caller::User(claims) => claims.get("sub").and_then(Json::as_str).map(str::to_string),
            _ => None,
        };
        let me = member_name(&state_, conn);
        let present = Present { conn, member: me.clone(), user, state, caller };
        let joined = present.describe();
        let elsewhere = remote_members(&state_, &key);
        let channel = state_.channels.entry(key.clone()).or_insert_with(|| Channel { scope, present: Vec::new() });
        channel.present.push((present, name.to_string()));
        let mut members: Vec<Json> = channel.present.iter().map(|(p, _)| p.describe()).collect();
        members.extend(elsewhere);
        let others: Vec<(ConnId, String)> =
            channel.present.iter().filter(|(p, _)| p.conn != conn).map(|(p, n)| (p.conn, n.clone())).collect();
        publish(&state_, json!({"kind": "join", "key": key, "member": joined}));
        tell(&mut state_, conn, json!({"type": "joined", "channel": name, "member": me, "members": members}));
        for (other, their_name) in others {
            tell(
                &mut state_,
                other,
                json!({"type": "presence", "channel": their_name, "event": "join", "member": joined}),
            );
        }
        Ok(())
    }

    /// Takes `conn` out of every channel it is in, telling it why (`code`): its caller changed.
    pub fn leave_channels(&self, conn: ConnId, code: &str) {
        let mut state = self.state();
        let keys = state.conns.get(&conn).map(|m| m.channels.clone()).unwrap_or_default();
        for key in keys {
            exit_channel(&mut state, &key, conn, Some(code));
        }
    }

    /// Takes `conn` out of channel `name`; whether it was in it.
    pub fn leave_channel(&self, conn: ConnId, name: &str) -> bool {
        let mut state = self.state();
        let Some(key) = channel_key(&state, conn, name) else { return false };
        exit_channel(&mut state, &key, conn, None);
        true
    }

    /// Sends `event` with `payload` to the others in channel `name`, or a new presence
    /// `state` of `conn` (when `event` is `None`).
    pub fn send(&self, conn: ConnId, name: &str, event: Option<String>, payload: Json) -> Result<(), SubscribeError> {
        channels::check_size(&payload)?;
        let mut state = self.state();
        let key = channel_key(&state, conn, name)
            .ok_or_else(|| SubscribeError::refused("not_joined", format!("join `{name}` first")))?;
        let Some(member) = state.conns.get_mut(&conn) else { return Ok(()) };
        if !member.budget.take() {
            return Err(SubscribeError::refused(
                "rate_limited",
                format!("at most {} broadcasts and state updates per second", channels::MESSAGES_PER_SECOND),
            ));
        }
        let Some(channel) = state.channels.get_mut(&key) else { return Ok(()) };
        let from = channel
            .present
            .iter()
            .find(|(p, _)| p.conn == conn)
            .map(|(p, _)| json!({"member": p.member, "user": p.user}));
        if event.is_none() {
            if let Some((me, _)) = channel.present.iter_mut().find(|(p, _)| p.conn == conn) {
                me.state = payload.clone();
            }
        }
        let me = channel.present.iter().find(|(p, _)| p.conn == conn).map(|(p, _)| p.describe());
        let others: Vec<(ConnId, String)> =
            channel.present.iter().filter(|(p, _)| p.conn != conn).map(|(p, n)| (p.conn, n.clone())).collect();
        publish(
            &state,
            match &event {
                Some(event) => {
                    json!({"kind": "broadcast", "key": key, "event": event, "payload": payload, "sender": from})
                }
                None => json!({"kind": "state", "key": key, "member": me}),
            },
        );
        for (other, their_name) in others {
            let message = match &event {
                Some(event) => {
                    json!({"type": "broadcast", "channel": their_name, "event": event, "payload": payload, "from": from})
                }
                None => json!({"type": "presence", "channel": their_name, "event": "state", "member": me}),
            };
            tell(&mut state, other, message);
        }
        Ok(())
    }
}

/// The key of the channel `name` that `conn` is in.
fn channel_key(state: &State, conn: ConnId, name: &str) -> Option<String> {
    let member = state.conns.get(&conn)?;
    member
        .channels
        .iter()
        .find(|key| {
            state.channels.get(*key).is_some_and(|c| c.present.iter().any(|(p, n)| p.conn == conn && n == name))
        })
        .cloned()
}

/// Takes `conn` out of the channel `key`: `left` to it (with `code` when it was put out),
/// a presence `leave` to the others; the channel ends with its last member.
pub(super) fn exit_channel(state: &mut State, key: &str, conn: ConnId, code: Option<&str>) {
    let Some(channel) = state.channels.get_mut(key) else { return };
    let Some(at) = channel.present.iter().position(|(p, _)| p.conn == conn) else { return };
    let (gone, name) = channel.present.remove(at);
    let others: Vec<(ConnId, String)> = channel.present.iter().map(|(p, n)| (p.conn, n.clone())).collect();
    if channel.present.is_empty() {
        state.channels.remove(key);
    }
    if let Some(member) = state.conns.get_mut(&conn) {
        member.channels.retain(|k| k != key);
        let mut left = json!({"type": "left", "channel": name});
        if let Some(code) = code {
            left["code"] = json!(code);
        }
        tell(state, conn, left);
    }
    publish(state, json!({"kind": "leave", "key": key, "member": gone.member}));
    let member = json!({"member": gone.member, "user": gone.user});
    for (other, their_name) in others {
        tell(state, other, json!({"type": "presence", "channel": their_name, "event": "leave", "member": member}));
    }
}
