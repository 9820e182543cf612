//! What one batch of the change log means for live queries: the models it touched, the
//! records it created and deleted (to tell `created` from `entered` and `deleted` from
//! `left`), which models can affect a query, and the events as a model's `@@realtime`
//! sends them.

use crate::diff::Deleted;
use crate::Realtime;
use serde_json::{json, Value as Json};
use ssot_schema::annotations::{RealtimeEvent, SubscribeKind};
use ssot_store::changelog::{Record, INTERNAL_LABEL_PREFIX};
use ssot_store::entity::Entities;
use std::collections::{HashMap, HashSet};

/// The models whose rows can change `model`'s live queries: itself, and every model it
/// reaches through relations (filters, includes and rules may follow them).
pub(crate) fn reach(es: &Entities, model: usize) -> Vec<bool> {
    let mut reached = vec![false; es.entities.len()];
    let mut stack = vec![model];
    while let Some(m) = stack.pop() {
        if std::mem::replace(&mut reached[m], true) {
            continue;
        }
        stack.extend(es.entities[m].relations.iter().map(|r| r.target));
    }
    reached
}

/// The models a batch of records (each with its model, when its label names one) changed;
/// a join table's change touches both sides.
pub(crate) fn touched(es: &Entities, records: &[(Option<usize>, &Record)]) -> Vec<usize> {
    let mut out: HashSet<usize> = HashSet::new();
    for (model, record) in records.iter().filter(|(_, r)| !r.label.starts_with(INTERNAL_LABEL_PREFIX)) {
        match model {
            Some(model) => {
                out.insert(*model);
            }
            None => {
                for (m, stored) in es.storage.iter().enumerate() {
                    let joins = stored.joins.iter().flatten().any(|join| join.label == record.label);
                    if joins {
                        out.insert(m);
                    }
                }
            }
        }
    }
    out.into_iter().collect()
}

/// Which records of a batch were created or deleted, by model and id.
pub(crate) struct LogFacts {
    created: HashMap<usize, Vec<Json>>,
    deleted: HashMap<usize, Vec<Json>>,
}

impl LogFacts {
    pub(crate) fn of(es: &Entities, records: &[Record]) -> LogFacts {
        let mut facts = LogFacts { created: HashMap::new(), deleted: HashMap::new() };
        for record in records {
            let Some(model) = es.by_name(&record.label) else { continue };
            let Some(row) = record.new.as_ref().or(record.old.as_ref()) else { continue };
            let row = ssot_store::changelog::api_row(es, model, row);
            let entity = &es.entities[model];
            let parts: Vec<Json> =
                entity.id.iter().map(|&f| row.get(&entity.fields[f].name).cloned().unwrap_or(Json::Null)).collect();
            let id = if parts.len() == 1 { parts.into_iter().next().unwrap_or(Json::Null) } else { Json::Array(parts) };
            match record.op.as_str() {
                "create" => facts.created.entry(model).or_default().push(id),
                "delete" => facts.deleted.entry(model).or_default().push(id),
                _ => {}
            }
        }
        facts
    }

    pub(crate) fn for_model(&self, model: usize) -> ModelFacts<'_> {
        ModelFacts {
            created: self.created.get(&model).map_or(&[], Vec::as_slice),
            deleted: self.deleted.get(&model).map_or(&[], Vec::as_slice),
        }
    }
}

pub(crate) struct ModelFacts<'a> {
    created: &'a [Json],
    deleted: &'a [Json],
}

impl Deleted for ModelFacts<'_> {
    fn was_deleted(&self, id: &Json) -> bool {
        self.deleted.contains(id)
    }
    fn was_created(&self, id: &Json) -> bool {
        self.created.contains(id)
    }
}

/// The events as the model's `@@realtime` sends them: a `created` it does not broadcast
/// is an `entered`, a `deleted` a `left`, and an `updated` that moves nothing is not sent
/// (one that moves the row is a `moved`). An item subscription has no positions.
pub(crate) fn shape(realtime: &Realtime, model: usize, kind: SubscribeKind, events: Vec<Json>) -> Vec<Json> {
    events
        .into_iter()
        .filter_map(|mut event| {
            let op = event["op"].as_str().unwrap_or_default().to_string();
            match op.as_str() {
                "created" if !realtime.sends(model, RealtimeEvent::Created) => event["op"] = json!("entered"),
                "deleted" if !realtime.sends(model, RealtimeEvent::Deleted) => event["op"] = json!("left"),
                "updated" if !realtime.sends(model, RealtimeEvent::Updated) => {
                    if kind == SubscribeKind::Item {
                        return None;
                    }
                    event["op"] = json!("moved");
                    if let Some(e) = event.as_object_mut() {
                        e.remove("row");
                    }
                }
                _ => {}
            }
            if kind == SubscribeKind::Item {
                if let Some(e) = event.as_object_mut() {
                    e.remove("index");
                }
                if event["op"] == "moved" {
                    return None;
                }
            }
            Some(event)
        })
        .collect()
}
