//! Which groups a batch can change, decided without a query where that is certain.
//!
//! A live query whose rows depend on its own model's rows alone (no relation in its
//! filter, its selection or the subscriber's rules) can only change when a row of that
//! model was visible to it before or after the change: one that passed the query's
//! `where`, the subscriber's read rule and the model's `@@realtime` permission. That
//! conjunction is decided in memory on the log's old and new rows
//! ([`ssot_store::query::matches`], the same filter the database runs); a row that
//! certainly passed neither is skipped, and any doubt costs a query, never an update.
//!
//! The conjunction's top-level equalities on text and whole-number columns (`{owner:
//! "u5"}`, a rule's `authorId == auth.id`) are its pins: the hub indexes groups by
//! one of them, so that a change is matched against the few groups pinned to its values
//! rather than every group of the model.

use serde_json::{Map, Value as Json};
use ssot_access::{Caller, Guard, Op, Policies};
use ssot_schema::ir::ScalarType;
use ssot_store::changelog::Record;
use ssot_store::conn::Value;
use ssot_store::entity::{Entities, Kind};
use ssot_store::query::args::{Cmp, Filter, FindArgs};
use ssot_store::query::matches::matches;

/// What lets a batch skip a group: its model, and the conditions a row of it must meet to
/// be seen, when its result depends on that model's rows alone; `None` when any change
/// of a reached model may change it.
#[derive(Debug, Clone)]
pub struct Narrow {
    pub model: usize,
    /// The query's `where`, the subscriber's read rule and the `@@realtime` permission.
    visible: Filter,
    /// Columns the visible rows hold one value in (as the log writes it).
    pub pins: Vec<(String, Json)>,
}

impl Narrow {
    /// For a query of `model` with `args`, run as `caller`, whose `@@realtime` permission
    /// admits the rows of `permitted`.
    pub fn of(
        es: &Entities,
        policies: &Policies,
        caller: &Caller,
        model: usize,
        args: &FindArgs,
        permitted: Filter,
    ) -> Option<Narrow> {
        if args.filter.reaches_relations() || !args.selection.relations.is_empty() || permitted.reaches_relations() {
            return None;
        }
        let guard = Guard::new(policies, es, caller);
        let rule = guard.rows(model, Op::Read).ok()?;
        if rule.reaches_relations() {
            return None;
        }
        let entity = &es.entities[model];
        for field in 0..entity.fields.len() {
            if guard.field(model, field, Op::Read).ok()?.reaches_relations() {
                return None;
            }
        }
        let visible = Filter::And(vec![args.filter.clone(), rule, permitted]);
        let mut pins = Vec::new();
        collect_pins(es, model, &visible, &mut pins);
        Some(Narrow { model, visible, pins })
    }

    /// Whether `record` (of any model; `model` is its model, looked up once per batch)
    /// may change the group's result.
    pub fn may_change(&self, es: &Entities, model: Option<usize>, record: &Record) -> bool {
        if model != Some(self.model) {
            // Another model's rows: this group's result does not read them.
            return false;
        }
        let visible = |row: &Option<Map<String, Json>>| match row {
            Some(row) => matches(es, self.model, &self.visible, row) != Some(false),
            None => false,
        };
        visible(&record.old) || visible(&record.new)
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
