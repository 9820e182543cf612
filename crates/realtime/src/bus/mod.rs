//! The bus between instances (`ssot serve --bus nats://...`): several instances on one
//! database tell each other over core NATS that the change log grew, and carry each
//! other's channel traffic (broadcasts and presence).
//!
//! Every message is a JSON object with `kind` and `from` (the sending instance's random
//! id; an instance ignores its own), published under the prefix (`ssot` by default):
//! `<prefix>.changes` carries `change` notices (after this instance's own commits: the
//! others read the log, so no change is carried, only the wake-up); `<prefix>.channels`
//! carries `join`, `state`, `leave`, `broadcast` ([`crate::Hub::apply_remote`]), a
//! `heartbeat` every [`BusSettings::heartbeat`], `sync` (who do you have?) answered with
//! `members`, and `bye` when an instance stops. An instance not heard from for
//! [`MISSED_HEARTBEATS`] heartbeats is taken as gone: its members leave.
//!
//! Nothing on the bus is durable: what is published while NATS is away is lost. After a
//! reconnection the log is read again (no change is missed: changes are in the
//! database) and the others are asked again who they have.

pub mod nats;

use crate::Hub;
use serde_json::{json, Value as Json};
use ssot_store::Store;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{mpsc, watch};

/// Heartbeats an instance may miss before the others take it as gone.
pub const MISSED_HEARTBEATS: u32 = 3;
/// How often an instance says it is alive, when not told otherwise.
pub const DEFAULT_HEARTBEAT: Duration = Duration::from_secs(2);
/// How many messages may wait for the NATS connection (or come from it) at once.
const QUEUE: usize = 4096;

#[derive(Debug, thiserror::Error)]
pub enum BusError {
    #[error("--bus must be nats://[user:password@]host[:port][?prefix=NAME], not `{0}`")]
    Url(String),
    #[error("the bus prefix `{0}` must be letters, digits, `_` and `-`, in parts joined by `.`")]
    Prefix(String),
}

/// Where the bus is and how this instance uses it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BusSettings {
    pub endpoint: nats::Endpoint,
    /// Subjects start with it: instances with different prefixes do not hear each other.
    pub prefix: String,
    pub heartbeat: Duration,
}

impl BusSettings {
    /// Reads `nats://[user:password@ | token@]host[:port][?prefix=NAME]`.
    pub fn parse(url: &str) -> Result<BusSettings, BusError> {
        let bad = || BusError::Url(url.to_string());
        let rest = url.strip_prefix("nats://").ok_or_else(bad)?;
        let (authority, query) = rest.split_once('?').unwrap_or((rest, ""));
        let authority = authority.trim_end_matches('/');
        let (credentials, host) = match authority.rsplit_once('@') {
            Some((credentials, host)) => (Some(credentials), host),
            None => (None, authority),
        };
        if host.is_empty() || host.contains('/') {
            return Err(bad());
        }
        let address = if host.rsplit_once(':').is_some_and(|(_, port)| port.parse::<u16>().is_ok()) {
            host.to_string()
        } else if host.contains(':') && !host.ends_with(']') {
            return Err(bad());
        } else {
            format!("{host}:4222")
        };
        let (user, pass, token) = match credentials.map(|c| c.split_once(':')) {
            None => (None, None, None),
            Some(Some((user, pass))) => (Some(user.to_string()), Some(pass.to_string()), None),
            Some(None) => (None, None, credentials.map(str::to_string)),
        };
        let mut prefix = "ssot".to_string();
        for pair in query.split('&').filter(|p| !p.is_empty()) {
            match pair.split_once('=') {
                Some(("prefix", value)) => prefix = value.to_string(),
                _ => return Err(bad()),
            }
        }
        let part_ok = |p: &str| !p.is_empty() && p.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
        if !prefix.split('.').all(part_ok) {
            return Err(BusError::Prefix(prefix));
        }
        Ok(BusSettings {
            endpoint: nats::Endpoint { address, user, pass, token },
            prefix,
            heartbeat: DEFAULT_HEARTBEAT,
        })
    }

    /// The URL as it may be logged: without the password or token.
    pub fn redacted(&self) -> String {
        let who = if self.endpoint.user.is_some() || self.endpoint.token.is_some() { "***@" } else { "" };
        format!("nats://{who}{}?prefix={}", self.endpoint.address, self.prefix)
    }
}

/// A random id for this instance (its member names carry it): unique enough among the
/// instances of one deployment.
fn instance_id() -> String {
    use std::hash::{BuildHasher, Hasher};
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u32(std::process::id());
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos());
    hasher.write_u128(now);
    format!("{:012x}", hasher.finish() & 0xffff_ffff_ffff)
}

/// Starts the bus: connects `hub` to it and runs until `stop` is set (then says `bye`).
/// It never fails: without NATS it keeps trying, and the instance serves on alone.
pub fn start(
    settings: BusSettings,
    hub: Arc<Hub>,
    store: Arc<Store>,
    stop: watch::Receiver<bool>,
) -> tokio::task::JoinHandle<()> {
    let instance = instance_id();
    let outbox = hub.attach_bus(&instance);
    tracing::info!(bus = %settings.redacted(), instance = %instance, "bus: joining the other instances");
    tokio::spawn(Bus { settings, instance, hub, store }.run(outbox, stop))
}

struct Bus {
    settings: BusSettings,
    instance: String,
    hub: Arc<Hub>,
    store: Arc<Store>,
}

/// Where messages go out to the NATS connection.
type Outgoing = mpsc::Sender<(String, Vec<u8>)>;

impl Bus {
    async fn run(self, mut outbox: mpsc::Receiver<Json>, mut stop: watch::Receiver<bool>) {
        let (outgoing, to_nats) = mpsc::channel(QUEUE);
        let (from_nats, mut incoming) = mpsc::channel(QUEUE);
        let subject = format!("{}.>", self.settings.prefix);
        let client = tokio::spawn(nats::run(self.settings.endpoint.clone(), subject, to_nats, from_nats));
        let mut written = self.store.written();
        let mut beat = tokio::time::interval(self.settings.heartbeat);
        beat.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let silence = self.settings.heartbeat * MISSED_HEARTBEATS;
        loop {
            tokio::select! {
                _ = stop.changed() => {
                    if *stop.borrow() {
                        break;
                    }
                }
                Some(message) = outbox.recv() => self.send(&outgoing, "channels", message),
                Ok(()) = written.changed() => self.send(&outgoing, "changes", json!({"kind": "change"})),
                event = incoming.recv() => match event {
                    Some(nats::Event::Connected) => {
                        // Messages may have been lost while away, both ways: the log is read
                        // again here and there; the others are told who this instance has (they
                        // may have reconnected first, their `sync` heard by nobody) and asked
                        // who they have.
                        self.store.signal_changed();
                        self.send(&outgoing, "changes", json!({"kind": "change"}));
                        self.send(&outgoing, "channels", json!({"kind": "members", "channels": self.hub.local_members()}));
                        self.send(&outgoing, "channels", json!({"kind": "sync"}));
                    }
                    Some(nats::Event::Message(received)) => self.receive(&outgoing, &received.payload),
                    None => break,
                },
                _ = beat.tick() => {
                    self.send(&outgoing, "channels", json!({"kind": "heartbeat"}));
                    self.hub.expire_instances(silence);
                }
            }
        }
        // The others forget this instance's members now rather than after the silence.
        self.send(&outgoing, "channels", json!({"kind": "bye"}));
        drop(outgoing);
        let _ = tokio::time::timeout(Duration::from_secs(1), client).await;
    }

    /// Publishes `message` (with this instance's id) on `<prefix>.<topic>`; dropped when
    /// the connection is that far behind, or away.
    fn send(&self, outgoing: &Outgoing, topic: &str, mut message: Json) {
        message["from"] = json!(self.instance);
        let subject = format!("{}.{topic}", self.settings.prefix);
        if outgoing.try_send((subject, message.to_string().into_bytes())).is_err() {
            tracing::debug!("bus: a message was dropped (NATS away or behind)");
        }
    }

    fn receive(&self, outgoing: &Outgoing, payload: &[u8]) {
        let Ok(message) = serde_json::from_slice::<Json>(payload) else {
            tracing::debug!("bus: a message that is not JSON was ignored");
            return;
        };
        let Some(from) = message["from"].as_str() else { return };
        if from == self.instance {
            return;
        }
        match message["kind"].as_str() {
            Some("change") => self.store.signal_changed(),
            Some("sync") if message["to"].is_null() || message["to"] == self.instance.as_str() => {
                self.send(outgoing, "channels", json!({"kind": "members", "channels": self.hub.local_members()}));
            }
            _ => {}
        }
        if self.hub.apply_remote(from, &message) {
            // Heard for the first time (or again after a silence): who does it have?
            self.send(outgoing, "channels", json!({"kind": "sync", "to": from}));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bus_urls() {
        let plain = BusSettings::parse("nats://127.0.0.1:4222").expect("valid");
        assert_eq!((plain.endpoint.address.as_str(), plain.prefix.as_str()), ("127.0.0.1:4222", "ssot"));
        let full = BusSettings::parse("nats://me:secret@nats.internal?prefix=prod.app-1").expect("valid");
        assert_eq!(full.endpoint.address, "nats.internal:4222");
        assert_eq!((full.endpoint.user.as_deref(), full.endpoint.pass.as_deref()), (Some("me"), Some("secret")));
        assert_eq!(full.prefix, "prod.app-1");
        assert!(!full.redacted().contains("secret"));
        assert!(!format!("{full:?}").contains("secret"), "settings print without the password");
        let token = BusSettings::parse("nats://t0ken@host:5222/").expect("valid");
        assert_eq!((token.endpoint.token.as_deref(), token.endpoint.address.as_str()), (Some("t0ken"), "host:5222"));
        assert!(!format!("{token:?}").contains("t0ken"), "settings print without the token");
        for bad in ["redis://x", "nats://", "nats://h?prefix=a b", "nats://h?prefix=a..b", "nats://h?x=1", "nats://h:x"]
        {
            assert!(BusSettings::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn instance_ids_differ() {
        assert_ne!(instance_id(), instance_id());
    }
}
