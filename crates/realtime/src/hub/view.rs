//! What the hub holds, as the admin studio shows it: each connection with its
//! subscriptions (model, kind, options, whose rules, rows held, `seq`) and the channels it
//! is in. Read under the hub's lock, copied out; nothing here changes the hub.

use super::{Hub, State};
use serde_json::{json, Value as Json};
use ssot_access::Caller;
use ssot_schema::annotations::SubscribeKind;

impl Hub {
    /// Every connection of this instance (by id), its subscriptions and channels, as JSON.
    pub fn clients(&self) -> Json {
        let state = self.state();
        let mut conns: Vec<_> = state.conns.iter().collect();
        conns.sort_by_key(|(id, _)| **id);
        let clients: Vec<Json> = conns
            .into_iter()
            .map(|(conn, member)| {
                let subscriptions: Vec<Json> =
                    member.subs.iter().filter_map(|(id, group)| subscription(&state, self, id, *group)).collect();
                json!({"connection": conn, "subscriptions": subscriptions, "channels": member.channels})
            })
            .collect();
        json!({"connections": clients.len(), "clients": clients})
    }
}

fn subscription(state: &State, hub: &Hub, id: &str, group: u64) -> Option<Json> {
    let group = state.groups.get(&group)?;
    let model = hub.store.entities.entities.get(group.query.model).map(|e| e.name.to_string());
    let kind = match group.query.kind {
        SubscribeKind::List => "list",
        SubscribeKind::Item => "item",
    };
    Some(json!({
        "id": id,
        "model": model,
        "kind": kind,
        "options": group.query.text,
        "caller": who(&group.caller),
        "rows": group.rows.len(),
        "seq": group.seq,
    }))
}

/// A caller as the studio names it: never a token, only who it is.
fn who(caller: &Caller) -> Json {
    match caller {
        Caller::Anonymous => json!("anonymous"),
        Caller::Admin => json!("admin"),
        Caller::User(auth) => json!({"user": auth.get("id").cloned().unwrap_or(Json::Null)}),
    }
}
