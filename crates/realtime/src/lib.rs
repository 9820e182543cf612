//! `ssot-realtime`: live queries kept current from the change log.
//!
//! A subscription enters through [`Hub::subscribe`] as a channel (`Post:list` with the
//! REST list options, or `Post:item:5`) and a caller; it is checked against the model's
//! `@@realtime` ([`Realtime`]) and its read rules, and answered with the rows the caller
//! may see and the `seq` they stand at. [`Hub::follow`] then reads the change log after
//! each commit, runs again the live queries a batch may have changed, in one read
//! transaction and under each subscriber's own rules, and sends each connection one
//! `update` with the events ([`diff`]) of all its subscriptions.
//!
//! Invariants: a subscriber only ever receives rows their read rules (and the model's
//! `@@realtime` permission) let them see, with the fields they may read; a row that leaves
//! their view is named by its id only; subscribers of the same query with the same
//! caller share one evaluation; a slow connection is never waited for (it gets a `reset`).
//! Nothing here knows the transport: messages are JSON values handed to a channel.
//! Several instances on one database reach each other through [`bus`] (core NATS).

mod batch;
pub mod bus;
pub mod channels;
pub mod diff;
mod hub;
mod narrow;
mod query;
mod rules;

pub use hub::{ConnId, Frame, Hub, HubStats, Start, LINGER, MAX_SUBSCRIPTIONS};
pub use query::LiveQuery;
pub use rules::Realtime;

use ssot_store::StoreError;

/// Why a subscription was refused.
#[derive(Debug, thiserror::Error)]
pub enum SubscribeError {
    /// The channel does not exist or is not offered, or the caller may not subscribe:
    /// `code` says which (`unknown_channel`, `not_subscribable`, `unauthorized`,
    /// `forbidden`, `duplicate_subscription`, `too_many_subscriptions`).
    #[error("{message}")]
    Refused { code: &'static str, message: String },
    /// The options were refused, or the query failed: as the REST list would answer.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl SubscribeError {
    pub fn refused(code: &'static str, message: impl Into<String>) -> SubscribeError {
        SubscribeError::Refused { code, message: message.into() }
    }
}
