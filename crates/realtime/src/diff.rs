//! What changed between two results of one live query, as the events a client applies to
//! its copy of the first to get the second.
//!
//! The client's algorithm (`docs/protocol.md`): remove every row a `deleted` or `left`
//! event names; then, in order, for each `created`, `entered`, `updated` or `moved` event,
//! take the row out if it is there and put it at `index`. [`diff`] emits exactly the
//! events that make that algorithm end at the new result, and no others: a row that kept
//! its data and its place is not mentioned.

use serde_json::{json, Value as Json};

/// One row of a result: its id (the key, as the protocol writes it) and the row.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    pub id: Json,
    pub data: Json,
}

/// Why rows are gone: ids of rows the log says were deleted (else a row that is gone
/// from the result `left` it: it stopped matching, moved out of the window or out of the
/// subscriber's rules).
pub trait Deleted {
    fn was_deleted(&self, id: &Json) -> bool;
    fn was_created(&self, id: &Json) -> bool;
}

/// The events that turn `old` into `new`.
pub fn diff(old: &[Row], new: &[Row], log: &dyn Deleted) -> Vec<Json> {
    let mut events = Vec::new();
    let mut current: Vec<&Row> = Vec::with_capacity(old.len().max(new.len()));
    for row in old {
        if new.iter().any(|n| n.id == row.id) {
            current.push(row);
        } else if log.was_deleted(&row.id) {
            events.push(json!({"op": "deleted", "id": row.id}));
        } else {
            // Only the id: the row may now be hidden from this subscriber.
            events.push(json!({"op": "left", "id": row.id}));
        }
    }
    for (index, row) in new.iter().enumerate() {
        let here = current.get(index).is_some_and(|c| c.id == row.id);
        if here {
            if current[index].data != row.data {
                events.push(json!({"op": "updated", "id": row.id, "index": index, "row": row.data}));
                current[index] = row;
            }
            continue;
        }
        let was = current.iter().position(|c| c.id == row.id);
        let op = match was {
            Some(at) => {
                let changed = current[at].data != row.data;
                current.remove(at);
                if changed {
                    "updated"
                } else {
                    "moved"
                }
            }
            None if log.was_created(&row.id) => "created",
            None => "entered",
        };
        let mut event = json!({"op": op, "id": row.id, "index": index});
        if op != "moved" {
            event["row"] = row.data.clone();
        }
        events.push(event);
        current.insert(index.min(current.len()), row);
    }
    events
}

/// What a client holds after applying `events` to `old` (the algorithm the protocol
/// documents), for tests and for clients written in Rust.
pub fn apply(old: &[Row], events: &[Json]) -> Vec<Row> {
    let mut rows: Vec<Row> = old.to_vec();
    for event in events {
        if matches!(event["op"].as_str(), Some("deleted" | "left")) {
            rows.retain(|r| r.id != event["id"]);
        }
    }
    for event in events {
        let Some(index) = event["index"].as_u64().and_then(|i| usize::try_from(i).ok()) else { continue };
        let moved = rows.iter().position(|r| r.id == event["id"]).map(|at| rows.remove(at));
        let data = match (event.get("row"), moved) {
            (Some(row), _) => row.clone(),
            (None, Some(moved)) => moved.data,
            (None, None) => Json::Null,
        };
        rows.insert(index.min(rows.len()), Row { id: event["id"].clone(), data });
    }
    rows
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Log(Vec<i64>, Vec<i64>);
    impl Deleted for Log {
        fn was_deleted(&self, id: &Json) -> bool {
            id.as_i64().is_some_and(|i| self.0.contains(&i))
        }
        fn was_created(&self, id: &Json) -> bool {
            id.as_i64().is_some_and(|i| self.1.contains(&i))
        }
    }

    fn rows(items: &[(i64, i64)]) -> Vec<Row> {
        items.iter().map(|&(id, v)| Row { id: json!(id), data: json!({"id": id, "v": v}) }).collect()
    }

    #[test]
    fn every_pair_of_small_results_converges() {
        // Every old and new result over ids 1..=4 with two data versions, in every order
        // of up to three rows: applying the events gives the new result exactly.
        let mut level: Vec<Vec<(i64, i64)>> = vec![vec![]];
        let mut results = level.clone();
        for _ in 0..3 {
            let mut next = Vec::new();
            for r in &level {
                for id in 1..=4i64 {
                    for v in 0..2 {
                        if !r.iter().any(|&(i, _)| i == id) {
                            let mut longer = r.clone();
                            longer.push((id, v));
                            next.push(longer);
                        }
                    }
                }
            }
            results.extend(next.iter().cloned());
            level = next;
        }
        let log = Log(vec![2], vec![4]);
        let mut checked = 0;
        for old in &results {
            for new in &results {
                let (old, new) = (rows(old), rows(new));
                let events = diff(&old, &new, &log);
                assert_eq!(apply(&old, &events), new, "old {old:?} new {new:?} events {events:?}");
                if old == new {
                    assert!(events.is_empty(), "nothing changed, nothing sent: {events:?}");
                }
                checked += 1;
            }
        }
        assert!(checked > 10_000, "{checked}");
    }

    #[test]
    fn gone_rows_are_deleted_or_left_with_their_id_only() {
        let events = diff(&rows(&[(1, 0), (2, 0), (3, 0)]), &rows(&[(1, 1), (4, 0)]), &Log(vec![2], vec![4]));
        assert_eq!(
            events,
            [
                json!({"op": "deleted", "id": 2}),
                json!({"op": "left", "id": 3}),
                json!({"op": "updated", "id": 1, "index": 0, "row": {"id": 1, "v": 1}}),
                json!({"op": "created", "id": 4, "index": 1, "row": {"id": 4, "v": 0}}),
            ]
        );
    }
}
