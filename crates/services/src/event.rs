//! A change-log record as one service's event: whether the service wants it (its events and
//! its filter, decided on the row), its lane (model and key: one record's events go out one
//! at a time, in order), its stable id and its JSON body.

use crate::config::Service;
use serde_json::{json, Map, Value as Json};
use ssot_store::changelog::Record;
use ssot_store::entity::Entities;

#[derive(Debug, Clone)]
pub struct Event {
    pub seq: i64,
    /// The record's model and key: events of one lane are delivered in `seq` order.
    pub lane: String,
    /// `evt_<service>_<seq>`: the same on every delivery of this event, replays included.
    pub id: String,
    pub body: bytes::Bytes,
}

pub fn event_id(service: &str, seq: i64) -> String {
    format!("evt_{service}_{seq}")
}

/// The event `record` is for `service`, or `None` when the service does not want it.
pub fn build(service: &Service, es: &Entities, record: &Record) -> Option<Event> {
    if record.label != service.label {
        return None;
    }
    let (operation, kind, wanted) = match record.op.as_str() {
        "create" => ("create", "created", service.created),
        "update" => ("update", "updated", service.updated),
        "delete" => ("delete", "deleted", service.deleted),
        _ => return None,
    };
    if !wanted {
        return None;
    }
    let row = record.new.as_ref().or(record.old.as_ref())?;
    let row = ssot_store::changelog::api_row(es, service.model, row);
    if let Some(filter) = &service.filter {
        let now = ssot_store::time::format(ssot_store::time::now());
        let cx = ssot_policy::eval::Context { auth: None, now: &now };
        // A filter decides on the row alone (checked at `ssot check`); anything but a
        // clear yes is a no.
        if ssot_policy::eval::evaluate(filter, &row, &cx) != ssot_policy::eval::Verdict::Allow {
            return None;
        }
    }
    let entity = &es.entities[service.model];
    let id = match entity.id.as_slice() {
        [one] => row.get(&entity.fields[*one].name).cloned().unwrap_or(Json::Null),
        many => Json::Object(
            many.iter()
                .filter_map(|f| {
                    let name = &entity.fields[*f].name;
                    row.get(name).map(|v| (name.clone(), v.clone()))
                })
                .collect(),
        ),
    };
    let mask = |row: &Map<String, Json>| -> Json {
        let mut out = Map::new();
        for f in &service.fields {
            let name = &entity.fields[*f].name;
            if let Some(value) = row.get(name) {
                out.insert(name.clone(), value.clone());
            }
        }
        Json::Object(out)
    };
    let mut data = json!({
        "model": entity.name,
        "operation": operation,
        "seq": record.seq,
        "id": id,
        "record": mask(&row),
    });
    if let (Some(old), "update", Some(object)) = (&record.old, operation, data.as_object_mut()) {
        object.insert("previous".into(), mask(&ssot_store::changelog::api_row(es, service.model, old)));
    }
    let body = json!({
        "type": format!("{}.{kind}", service.type_prefix),
        "timestamp": ssot_store::time::format(record.at),
        "data": data,
    });
    // The key as the log holds it, in a fixed order: the lane of this record.
    let lane = format!("{}:{}", record.label, Json::Object(record.pk.clone()));
    Some(Event { seq: record.seq, lane, id: event_id(&service.name, record.seq), body: body.to_string().into() })
}
