//! Which groups a batch can change, decided without a query where that is certain.
//!
//! A live query whose rows depend on its own model's rows alone (no relation in its
//! filter, its selection or the subscriber's rules) can only change when a row of that
//! model matched it before or after the change. When its `where` pins fields to values
//! (`{owner: "u5"}`, `{authorId: …, status: 7}`), a changed row whose old and new values
//! both differ from a pin matched neither, and the group is not run again. Only plain
//! equalities on text and whole-number columns are decided here, by comparing the
//! log's own representation of the row; anything else counts as "may match", so a
//! doubt costs a query, never an update.

use serde_json::{Map, Value as Json};
use ssot_access::{Caller, Guard, Op, Policies};
use ssot_schema::ir::ScalarType;
use ssot_store::changelog::Record;
use ssot_store::conn::Value;
use ssot_store::entity::{Entities, Kind};
use ssot_store::query::args::{Cmp, Filter, FindArgs};

/// What lets a batch skip a group: the group's model, and its pins (a column and the
/// value the log holds for a row that matches), when its result depends on that model's
/// rows alone; `None` when any change of a reached model may change it.
#[derive(Debug, Clone, PartialEq)]
pub struct Narrow {
    pub model: usize,
    pins: Vec<(String, Json)>,
}

impl Narrow {
    /// For a query of `model` with `args`, run as `caller`.
    pub fn of(es: &Entities, policies: &Policies, caller: &Caller, model: usize, args: &FindArgs) -> Option<Narrow> {
        if args.filter.reaches_relations() || !args.selection.relations.is_empty() {
            return None;
        }
        let guard = Guard::new(policies, es, caller);
        if guard.rows(model, Op::Read).ok()?.reaches_relations() {
            return None;
        }
        let entity = &es.entities[model];
        for field in 0..entity.fields.len() {
            if guard.field(model, field, Op::Read).ok()?.reaches_relations() {
                return None;
            }
        }
        let mut pins = Vec::new();
        collect_pins(es, model, &args.filter, &mut pins);
        Some(Narrow { model, pins })
    }

    /// Whether `record` (of any model; `model` is its model, looked up once per batch)
    /// may change the group's result.
    pub fn may_change(&self, model: Option<usize>, record: &Record) -> bool {
        if model != Some(self.model) {
            // Another model's rows: this group's result does not read them.
            return false;
        }
        let matches = |row: &Option<Map<String, Json>>| match row {
            Some(row) => self.pins.iter().all(|(column, value)| row.get(column).is_none_or(|v| v == value)),
            None => false,
        };
        matches(&record.old) || matches(&record.new)
    }
}

/// The top-level equalities of `filter` that can be compared with the log as written.
fn collect_pins(es: &Entities, model: usize, filter: &Filter, out: &mut Vec<(String, Json)>) {
    match filter {
        Filter::And(parts) => parts.iter().for_each(|p| collect_pins(es, model, p, out)),
        Filter::Compare { field, cmp: Cmp::Eq, value, insensitive: false } => {
            let f = &es.entities[model].fields[*field];
            if f.list {
                return;
            }
            // Only columns whose SQL equality is byte equality: not PostgreSQL's `citext`,
            // padded `char(n)`, or `uuid` (which reads other spellings as equal).
            let plain_text = match es.dialect {
                ssot_store::dialect::Dialect::Sqlite => true,
                ssot_store::dialect::Dialect::Postgres => {
                    let cast = f.cast.to_ascii_lowercase();
                    cast == "text" || cast.starts_with("varchar") || cast.starts_with("character varying")
                }
            };
            let logged = match (f.kind, value) {
                (Kind::Scalar(ScalarType::String), Value::Text(text)) if plain_text => Json::String(text.clone()),
                (Kind::Scalar(ScalarType::Int | ScalarType::BigInt), Value::Int(n)) => Json::from(*n),
                _ => return,
            };
            out.push((f.column.clone(), logged));
        }
        _ => {}
    }
}
