//! The hub's side of the bus between instances ([`crate::bus`]): the members other
//! instances have in each channel, what this instance's channels publish, and how the
//! other instances' messages reach this instance's members, in the shapes the local
//! path uses (`presence` join / state / leave, `broadcast`).
//!
//! A channel is named on the bus by its key (model and record), the same on every
//! instance of one schema. Authorization and limits stay with the instance that holds
//! the connection: what arrives here was checked there.

use super::groups::tell;
use super::{ConnId, Hub, State};
use serde_json::{json, Map, Value as Json};
use std::time::{Duration, Instant};
use tokio::sync::mpsc;

/// How many channel messages may wait for the bus before new ones are dropped.
const OUTBOX: usize = 4096;

/// A member of a channel held by another instance.
pub(super) struct Remote {
    instance: String,
    member: String,
    user: Option<String>,
    state: Json,
}

impl Remote {
    fn describe(&self) -> Json {
        json!({"member": self.member, "user": self.user, "state": self.state})
    }
}

/// Hands `message` to the bus, when there is one; dropped when the bus is that far behind
/// (channel messages are ephemeral).
pub(super) fn publish(state: &State, message: Json) {
    if let Some(outbox) = &state.outbox {
        if outbox.try_send(message).is_err() {
            tracing::warn!("bus: too many channel messages waiting; one was dropped");
        }
    }
}

/// The name of `conn` in its channels: unique across instances.
pub(super) fn member_name(state: &State, conn: ConnId) -> String {
    format!("{}{conn}", state.member_prefix.as_deref().unwrap_or("m"))
}

/// The members other instances have in channel `key`, as `joined` lists them.
pub(super) fn remote_members(state: &State, key: &str) -> Vec<Json> {
    state.remote.get(key).map(|members| members.iter().map(Remote::describe).collect()).unwrap_or_default()
}

/// Tells each of this instance's members of channel `key` the message `shape` makes
/// with the channel's name as that member joined it.
fn tell_channel(state: &mut State, key: &str, shape: impl Fn(&str) -> Json) {
    let Some(channel) = state.channels.get(key) else { return };
    let locals: Vec<(ConnId, String)> = channel.present.iter().map(|(p, n)| (p.conn, n.clone())).collect();
    for (conn, name) in locals {
        tell(state, conn, shape(&name));
    }
}

/// Adds or updates `instance`'s member in channel `key`: a presence `join` or `state` here.
fn upsert(state: &mut State, instance: &str, key: &str, member: &Json) {
    let Some(name) = member["member"].as_str() else { return };
    let user = member["user"].as_str().map(str::to_string);
    let new_state = member.get("state").cloned().unwrap_or(Json::Null);
    let members = state.remote.entry(key.to_string()).or_default();
    let event = match members.iter_mut().find(|r| r.instance == instance && r.member == name) {
        Some(known) if known.state == new_state => return,
        Some(known) => {
            known.state = new_state;
            "state"
        }
        None => {
            members.push(Remote { instance: instance.to_string(), member: name.to_string(), user, state: new_state });
            "join"
        }
    };
    let Some(described) = members.iter().find(|r| r.instance == instance && r.member == name).map(Remote::describe)
    else {
        return;
    };
    tell_channel(
        state,
        key,
        |channel| json!({"type": "presence", "channel": channel, "event": event, "member": described}),
    );
}

/// Removes the members of channel `key` that `gone` picks: a presence `leave` here for each.
fn remove(state: &mut State, key: &str, gone: impl Fn(&Remote) -> bool) {
    let Some(members) = state.remote.get_mut(key) else { return };
    let (left, kept): (Vec<Remote>, Vec<Remote>) = members.drain(..).partition(|r| gone(r));
    if kept.is_empty() {
        state.remote.remove(key);
    } else {
        *members = kept;
    }
    for r in left {
        let member = json!({"member": r.member, "user": r.user});
        tell_channel(
            state,
            key,
            |channel| json!({"type": "presence", "channel": channel, "event": "leave", "member": member}),
        );
    }
}

/// Removes every member of `instance`, in every channel.
fn drop_instance(state: &mut State, instance: &str) {
    let keys: Vec<String> = state.remote.keys().cloned().collect();
    for key in keys {
        remove(state, &key, |r| r.instance == instance);
    }
}

impl Hub {
    /// Connects the hub to a bus: member names get `instance` in them (unique across
    /// instances), and what this instance's channels do is queued on the returned receiver.
    pub fn attach_bus(&self, instance: &str) -> mpsc::Receiver<Json> {
        let (outbox, receiver) = mpsc::channel(OUTBOX);
        let mut state = self.state();
        state.outbox = Some(outbox);
        state.member_prefix = Some(format!("m{instance}-"));
        receiver
    }

    /// Applies a channel message of instance `from`; whether `from` was not heard from
    /// before (just started, or back after a silence: it should be asked who it has).
    pub fn apply_remote(&self, from: &str, message: &Json) -> bool {
        let mut state = self.state();
        let new = state.heard.insert(from.to_string(), Instant::now()).is_none();
        let key = message["key"].as_str().unwrap_or_default();
        match message["kind"].as_str() {
            Some("join" | "state") => upsert(&mut state, from, key, &message["member"]),
            Some("leave") => {
                let name = message["member"].as_str().unwrap_or_default();
                remove(&mut state, key, |r| r.instance == from && r.member == name);
            }
            Some("broadcast") => {
                let (event, payload, sender) = (&message["event"], &message["payload"], &message["sender"]);
                tell_channel(
                    &mut state,
                    key,
                    |channel| json!({"type": "broadcast", "channel": channel, "event": event, "payload": payload, "from": sender}),
                );
            }
            Some("members") => {
                // Everything `from` has: members it no longer has leave, new ones join.
                let listed = message["channels"].as_object().cloned().unwrap_or_default();
                let keys: Vec<String> = state.remote.keys().cloned().collect();
                for key in keys {
                    let names: Vec<&str> = listed
                        .get(&key)
                        .and_then(Json::as_array)
                        .map(|m| m.iter().filter_map(|m| m["member"].as_str()).collect())
                        .unwrap_or_default();
                    remove(&mut state, &key, |r| r.instance == from && !names.contains(&r.member.as_str()));
                }
                for (key, members) in &listed {
                    for member in members.as_array().into_iter().flatten() {
                        upsert(&mut state, from, key, member);
                    }
                }
            }
            Some("bye") => {
                drop_instance(&mut state, from);
                state.heard.remove(from);
            }
            _ => {}
        }
        new
    }

    /// This instance's members of every channel, for another instance that asks: the
    /// `channels` of a `members` message.
    pub fn local_members(&self) -> Json {
        let state = self.state();
        let channels: Map<String, Json> = state
            .channels
            .iter()
            .map(|(key, c)| (key.clone(), Json::Array(c.present.iter().map(|(p, _)| p.describe()).collect())))
            .collect();
        Json::Object(channels)
    }

    /// Forgets the instances not heard from for `timeout` (stopped without a word, or cut
    /// off): their members leave every channel here.
    pub fn expire_instances(&self, timeout: Duration) {
        let mut state = self.state();
        let silent: Vec<String> =
            state.heard.iter().filter(|(_, at)| at.elapsed() > timeout).map(|(i, _)| i.clone()).collect();
        for instance in silent {
            tracing::info!(instance = %instance, "bus: an instance went silent; its channel members leave");
            drop_instance(&mut state, &instance);
            state.heard.remove(&instance);
        }
    }
}
