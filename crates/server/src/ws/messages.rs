//! The socket's messages as the protocol writes them (`docs/protocol.md`): what a client
//! may send, read from a text frame into [`Incoming`], and the server's answers built as
//! JSON. Every refusal here is an `error` message with a stable code; none closes the
//! connection.

use serde_json::{json, Map, Value as Json};
use ssot_access::operation::{id_parts, Action, Request};
use ssot_store::entity::Entities;

/// A client's message.
#[derive(Debug)]
pub enum Incoming {
    /// `{"type": "auth", "token": "..."}`: who the connection speaks for from now on.
    Auth { token: String },
    /// `{"type": "ping"}`: answered by `pong` (browsers cannot send WebSocket pings).
    Ping,
    /// `{"type": "sync", "seq": 42}`: answered by `synced` once every live query of the
    /// connection stands at that `seq` or later (read-your-writes when a write changed none).
    Sync { seq: i64 },
    /// `{"type": "request", "id": ..., ...}`: one operation, or a `$batch`.
    Request { id: Json, call: Box<Call> },
    /// `{"type": "subscribe", "id": "s1", "channel": "Post:list", "args": {...}}`.
    Subscribe { id: String, channel: String, args: Map<String, Json>, since: Option<i64> },
    /// `{"type": "unsubscribe", "id": "s1"}`.
    Unsubscribe { id: String },
    /// `{"type": "join", "channel": "Room:channel:5", "state": {...}}`.
    Join { channel: String, state: Json },
    /// `{"type": "leave", "channel": "Room:channel:5"}`.
    Leave { channel: String },
    /// `{"type": "broadcast", "channel": ..., "event": "typing", "payload": {...}}`, or
    /// (`event` `None`) `{"type": "state", "channel": ..., "state": {...}}`.
    Send { channel: String, event: Option<String>, payload: Json },
}

/// What a `request` asks for.
#[derive(Debug)]
pub enum Call {
    One(Request),
    /// Several operations in one transaction, all or nothing.
    Batch(Vec<Request>),
    /// A `@@service` action: `{"action": "$action", "name": ..., "data": ...}`, the same
    /// path as `POST /api/actions/{name}`.
    Action {
        name: String,
        data: Option<Json>,
    },
}

/// A message the client sent that the protocol refuses: answered by an `error` with
/// `code`, and the request's `id` when it had one.
#[derive(Debug)]
pub struct Refused {
    pub code: &'static str,
    pub message: String,
    pub id: Option<Json>,
}

impl Refused {
    fn new(code: &'static str, message: impl Into<String>) -> Refused {
        Refused { code, message: message.into(), id: None }
    }

    pub fn to_json(&self) -> Json {
        let mut out = json!({"type": "error", "code": self.code, "message": self.message});
        if let Some(id) = &self.id {
            out["id"] = id.clone();
        }
        out
    }
}

/// The keys a request may carry.
const REQUEST_KEYS: [&str; 7] = ["type", "id", "model", "action", "key", "args", "data"];
const BATCH_KEYS: [&str; 4] = ["type", "id", "action", "operations"];
const OPERATION_KEYS: [&str; 5] = ["model", "action", "key", "args", "data"];

/// Reads one text frame.
pub fn read(es: &Entities, text: &str) -> Result<Incoming, Refused> {
    let value: Json = serde_json::from_str(text)
        .map_err(|e| Refused::new("invalid_json", format!("the message is not valid JSON: {e}")))?;
    let Json::Object(message) = value else {
        return Err(Refused::new("invalid_message", "a message is a JSON object with a `type`"));
    };
    let kind = message.get("type").and_then(Json::as_str).unwrap_or_default();
    match kind {
        "ping" => Ok(Incoming::Ping),
        "sync" => {
            unknown_key(&message, &["type", "seq"], "")?;
            match message.get("seq").and_then(Json::as_i64) {
                Some(seq) if seq >= 0 => Ok(Incoming::Sync { seq }),
                _ => Err(Refused::new("invalid_message", "`sync` needs a `seq` (a whole number, 0 or more)")),
            }
        }
        "auth" => match message.get("token").and_then(Json::as_str) {
            Some(token) => Ok(Incoming::Auth { token: token.to_string() }),
            None => Err(Refused::new("invalid_message", "`auth` needs a `token` (a string)")),
        },
        "request" => {
            let id = match message.get("id") {
                Some(id @ (Json::String(_) | Json::Number(_))) => id.clone(),
                _ => return Err(Refused::new("invalid_message", "a request needs an `id` (a string or a number)")),
            };
            let with_id = |mut refused: Refused| {
                refused.id = Some(id.clone());
                refused
            };
            let call = if message.get("action").and_then(Json::as_str) == Some("$batch") {
                batch(es, &message).map_err(with_id)?
            } else if message.get("action").and_then(Json::as_str) == Some("$action") {
                unknown_key(&message, &["type", "id", "action", "name", "data"], "").map_err(with_id)?;
                let Some(name) = message.get("name").and_then(Json::as_str) else {
                    return Err(with_id(Refused::new("invalid_request", "`$action` needs the action's `name`")));
                };
                Call::Action { name: name.to_string(), data: message.get("data").cloned() }
            } else {
                unknown_key(&message, &REQUEST_KEYS, "").map_err(with_id)?;
                Call::One(operation(es, &message, "").map_err(with_id)?)
            };
            Ok(Incoming::Request { id, call: Box::new(call) })
        }
        "subscribe" => {
            unknown_key(&message, &["type", "id", "channel", "args", "since"], "")?;
            let id = subscription_id(&message)?;
            let with_id = |code: &'static str, text: &str| Refused { code, message: text.into(), id: Some(json!(id)) };
            let channel = match message.get("channel") {
                Some(Json::String(channel)) => channel.clone(),
                _ => return Err(with_id("invalid_message", "`subscribe` needs a `channel` such as `Post:list`")),
            };
            let args = match message.get("args") {
                None | Some(Json::Null) => Map::new(),
                Some(Json::Object(args)) => args.clone(),
                Some(_) => return Err(with_id("invalid_request", "args: expected an object")),
            };
            let since = match message.get("since") {
                None | Some(Json::Null) => None,
                Some(Json::Number(n)) if n.as_i64().is_some_and(|n| n >= 0) => n.as_i64(),
                Some(_) => return Err(with_id("invalid_request", "since: expected a seq (a whole number, 0 or more)")),
            };
            Ok(Incoming::Subscribe { id, channel, args, since })
        }
        "unsubscribe" => Ok(Incoming::Unsubscribe { id: subscription_id(&message)? }),
        "join" => {
            unknown_key(&message, &["type", "channel", "state"], "")?;
            Ok(Incoming::Join { channel: channel(&message)?, state: message.get("state").cloned().unwrap_or(Json::Null) })
        }
        "leave" => {
            unknown_key(&message, &["type", "channel"], "")?;
            Ok(Incoming::Leave { channel: channel(&message)? })
        }
        "broadcast" => {
            unknown_key(&message, &["type", "channel", "event", "payload"], "")?;
            let event = match message.get("event") {
                Some(Json::String(e)) if !e.is_empty() && e.len() <= 64 => e.clone(),
                _ => return Err(Refused::new("invalid_message", "`broadcast` needs an `event` (a name of at most 64 bytes)")),
            };
            let payload = message.get("payload").cloned().unwrap_or(Json::Null);
            Ok(Incoming::Send { channel: channel(&message)?, event: Some(event), payload })
        }
        "state" => {
            unknown_key(&message, &["type", "channel", "state"], "")?;
            let state = message.get("state").cloned().unwrap_or(Json::Null);
            Ok(Incoming::Send { channel: channel(&message)?, event: None, payload: state })
        }
        "" => Err(Refused::new("invalid_message", "a message needs a `type`")),
        other => Err(Refused::new(
            "unknown_message",
            format!("unknown message type `{other}`; expected auth, ping, sync, request, subscribe, unsubscribe, join, leave, broadcast or state"),
        )),
    }
}

fn channel(message: &Map<String, Json>) -> Result<String, Refused> {
    match message.get("channel") {
        Some(Json::String(channel)) if !channel.is_empty() => Ok(channel.clone()),
        _ => Err(Refused::new("invalid_message", "a channel message needs a `channel` such as `Room:channel:5`")),
    }
}

/// A subscription's id: a string, or a number taken as its text.
fn subscription_id(message: &Map<String, Json>) -> Result<String, Refused> {
    match message.get("id") {
        Some(Json::String(id)) if !id.is_empty() && id.len() <= 128 => Ok(id.clone()),
        Some(Json::Number(n)) => Ok(n.to_string()),
        _ => Err(Refused::new(
            "invalid_message",
            "a subscription needs an `id` (a string of at most 128 bytes, or a number)",
        )),
    }
}

fn batch(es: &Entities, message: &Map<String, Json>) -> Result<Call, Refused> {
    unknown_key(message, &BATCH_KEYS, "")?;
    let Some(Json::Array(items)) = message.get("operations") else {
        return Err(Refused::new("invalid_request", "`$batch` needs `operations`: a list of operations"));
    };
    let mut requests = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        let prefix = format!("operations[{i}].");
        let Json::Object(item) = item else {
            return Err(Refused::new("invalid_request", format!("operations[{i}]: expected an object")));
        };
        unknown_key(item, &OPERATION_KEYS, &prefix)?;
        requests.push(operation(es, item, &prefix)?);
    }
    Ok(Call::Batch(requests))
}

fn unknown_key(message: &Map<String, Json>, allowed: &[&str], prefix: &str) -> Result<(), Refused> {
    match message.keys().find(|k| !allowed.contains(&k.as_str())) {
        Some(key) => Err(Refused::new(
            "invalid_request",
            format!("{prefix}{key}: unknown key; expected: {}", allowed.join(", ")),
        )),
        None => Ok(()),
    }
}

/// One operation: `model` (the model's name, as in the schema), `action`, and as the
/// action needs them `key` (the record's id: a value, or a list for a compound id),
/// `args` and `data`.
fn operation(es: &Entities, message: &Map<String, Json>, prefix: &str) -> Result<Request, Refused> {
    let name = message.get("model").and_then(Json::as_str).unwrap_or_default();
    let model = es
        .by_name(name)
        .ok_or_else(|| Refused::new("unknown_model", format!("{prefix}model: no model `{name}` in the schema")))?;
    let action_name = message.get("action").and_then(Json::as_str).unwrap_or_default();
    let action = Action::from_name(action_name).ok_or_else(|| {
        let names: Vec<&str> = Action::ALL.iter().map(|a| a.name()).collect();
        Refused::new(
            "unknown_action",
            format!("{prefix}action: unknown action `{action_name}`; expected {} or $batch", names.join(", ")),
        )
    })?;
    let id = match message.get("key") {
        None => None,
        Some(key) => Some(id_parts(key).ok_or_else(|| {
            Refused::new("invalid_request", format!("{prefix}key: expected the id's value, or a list of its parts"))
        })?),
    };
    let args = match message.get("args") {
        None | Some(Json::Null) => Map::new(),
        Some(Json::Object(args)) => args.clone(),
        Some(_) => return Err(Refused::new("invalid_request", format!("{prefix}args: expected an object"))),
    };
    Ok(Request { model, action, id, args, data: message.get("data").cloned() })
}
