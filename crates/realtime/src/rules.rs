//! Each model's `@@realtime`, compiled once at start: which kinds of subscription it
//! offers, which events it sends, and who may subscribe (a rule per kind; a kind without
//! one is open to nobody but the admin).

use ssot_policy::predicate::Predicate;
use ssot_schema::annotations::{RealtimeEvent, SubscribeKind};
use ssot_schema::ir::Schema;
use ssot_store::entity::Entities;

#[derive(Debug, Default, Clone)]
struct ModelRealtime {
    kinds: Vec<SubscribeKind>,
    events: Vec<RealtimeEvent>,
    permissions: Vec<(SubscribeKind, Predicate)>,
    channel: Option<Predicate>,
}

/// The realtime annotations of every model, by the store's model index.
#[derive(Debug, Default, Clone)]
pub struct Realtime {
    models: Vec<Option<ModelRealtime>>,
}

impl Realtime {
    /// Compiles the `@@realtime` of every model. Rules were checked with the schema; one
    /// that does not compile now opens nothing (fail-closed).
    pub fn compile(schema: &Schema, es: &Entities) -> Realtime {
        let mut models = vec![None; es.entities.len()];
        for model in &schema.models {
            let (Some(index), Some(realtime)) = (es.by_name(&model.name), &model.annotations.realtime) else {
                continue;
            };
            let permissions = realtime
                .permissions
                .iter()
                .filter_map(|p| ssot_policy::compile(schema, model, &p.rule, "").ok().map(|rule| (p.kind, rule)))
                .collect();
            // A channel rule that does not compile opens no channel (fail-closed).
            let channel = realtime.channel.as_ref().and_then(|rule| ssot_policy::compile(schema, model, rule, "").ok());
            models[index] = Some(ModelRealtime {
                kinds: realtime.subscribe.clone(),
                events: realtime.broadcast.clone(),
                permissions,
                channel,
            });
        }
        Realtime { models }
    }

    fn model(&self, model: usize) -> Option<&ModelRealtime> {
        self.models.get(model).and_then(Option::as_ref)
    }

    /// Whether `model` can be subscribed to as `kind`.
    pub fn offers(&self, model: usize, kind: SubscribeKind) -> bool {
        self.model(model).is_some_and(|m| m.kinds.contains(&kind))
    }

    /// Whether `model` sends `event` (`created`, `updated`, `deleted`).
    pub fn sends(&self, model: usize, event: RealtimeEvent) -> bool {
        self.model(model).is_some_and(|m| m.events.contains(&event))
    }

    /// Who may subscribe to `model` as `kind`.
    pub fn permission(&self, model: usize, kind: SubscribeKind) -> Option<&Predicate> {
        self.model(model).and_then(|m| m.permissions.iter().find(|(k, _)| *k == kind).map(|(_, p)| p))
    }
}

impl Realtime {
    /// Who may join a record's channel of `model`; `None`: the model has no channels.
    pub fn channel(&self, model: usize) -> Option<&Predicate> {
        self.model(model).and_then(|m| m.channel.as_ref())
    }
}
