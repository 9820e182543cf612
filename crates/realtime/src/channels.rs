//! Ephemeral channels: broadcast messages and presence scoped to one record
//! (`Room:channel:5`), open to the callers for whom the model's `@@realtime` `channel`
//! rule holds on that record (and who may read it). Nothing here is stored: a channel
//! lives while someone is in it, and a connection that goes leaves every channel it was in.

use crate::SubscribeError;
use serde_json::{json, Value as Json};
use ssot_access::operation::parse_key;
use ssot_access::{Caller, Guard, Op, Policies};
use ssot_store::conn::Conn;
use ssot_store::entity::Entities;
use ssot_store::query::args::Filter;
use ssot_store::query::{read, write};
use ssot_store::StoreError;

/// The largest broadcast payload or presence state, in bytes of JSON.
pub const MAX_PAYLOAD_BYTES: usize = 16 * 1024;
/// Broadcasts and state updates one connection may send per second (on average; bursts
/// of twice that pass).
pub const MESSAGES_PER_SECOND: f64 = 20.0;

/// A channel's record: its model and key.
#[derive(Debug, Clone)]
pub struct Scope {
    pub model: usize,
    pub key: write::Key,
}

/// Reads `Model:channel:<id>` (a compound id's parts joined by `,`).
pub fn read_channel(es: &Entities, realtime: &crate::Realtime, channel: &str) -> Result<Scope, SubscribeError> {
    let (name, kind, id) = crate::query::split_channel(channel);
    let unknown = || {
        SubscribeError::refused("unknown_channel", format!("`{channel}` is not a channel: use `Model:channel:<id>`"))
    };
    let model = es.by_name(name).ok_or_else(unknown)?;
    let (Some("channel"), Some(id)) = (kind, id) else { return Err(unknown()) };
    if realtime.channel(model).is_none() {
        return Err(SubscribeError::refused(
            "not_subscribable",
            format!("`{name}` has no channels (see its `@@realtime`: `channel`)"),
        ));
    }
    let parts: Vec<String> = id.split(',').map(str::to_string).collect();
    let key = parse_key(es, model, &parts).map_err(|_| no_entry(name))?;
    Ok(Scope { model, key })
}

fn no_entry(name: &str) -> SubscribeError {
    SubscribeError::refused("forbidden", format!("no rule lets this caller into this `{name}` channel"))
}

/// Whether `caller` may be in the channel of `scope`: the record exists, they may read it,
/// and the channel rule holds on it. Run in a read job.
pub fn admits(
    conn: &mut dyn Conn,
    es: &Entities,
    policies: &Policies,
    realtime: &crate::Realtime,
    caller: &Caller,
    scope: &Scope,
) -> Result<bool, StoreError> {
    let guard = Guard::new(policies, es, caller);
    let rule = match realtime.channel(scope.model) {
        Some(_) if guard.is_admin() => Filter::True,
        Some(predicate) => guard.predicate_filter(scope.model, predicate)?,
        None => return Ok(false),
    };
    let filter = Filter::And(vec![read::unique_filter(&scope.key), guard.rows(scope.model, Op::Read)?, rule]);
    Ok(read::count(conn, es, scope.model, &filter)? > 0)
}

/// One connection in a channel.
#[derive(Debug, Clone)]
pub struct Present {
    pub conn: crate::ConnId,
    /// The connection's name in the channel (unique in it).
    pub member: String,
    /// The user's id (`sub`), when the caller is a user.
    pub user: Option<String>,
    pub state: Json,
    pub caller: Caller,
}

impl Present {
    pub fn describe(&self) -> Json {
        json!({"member": self.member, "user": self.user, "state": self.state})
    }
}

/// A token bucket per connection for broadcasts and state updates.
#[derive(Debug, Clone)]
pub struct Budget {
    tokens: f64,
    at: std::time::Instant,
}

impl Default for Budget {
    fn default() -> Budget {
        Budget { tokens: 2.0 * MESSAGES_PER_SECOND, at: std::time::Instant::now() }
    }
}

impl Budget {
    /// Takes one message's worth; `false` when the connection sends faster than allowed.
    pub fn take(&mut self) -> bool {
        let now = std::time::Instant::now();
        let refill = now.duration_since(self.at).as_secs_f64() * MESSAGES_PER_SECOND;
        self.tokens = (self.tokens + refill).min(2.0 * MESSAGES_PER_SECOND);
        self.at = now;
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

/// Refuses a payload or state larger than [`MAX_PAYLOAD_BYTES`].
pub fn check_size(value: &Json) -> Result<(), SubscribeError> {
    let size = value.to_string().len();
    if size > MAX_PAYLOAD_BYTES {
        return Err(SubscribeError::refused(
            "payload_too_large",
            format!("a broadcast or a presence state is at most {MAX_PAYLOAD_BYTES} bytes of JSON (this is {size})"),
        ));
    }
    Ok(())
}
