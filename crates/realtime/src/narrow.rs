//! Which groups a batch can change, decided without a query where that is certain.
//!
//! A change to a row of a live query's own model can only change the query's result when
//! the row was visible to it before or after the change: it passed the query's `where`,
//! the subscriber's read rule and the model's `@@realtime` permission, as the database
//! runs them for that subscriber. That filter is decided in memory on the log's old and
//! new rows ([`ssot_store::query::matches`]); a row that certainly passed neither is
//! skipped, and any doubt costs a query, never an update. Parts that reach through
//! relations (`room.members.some(userId == auth.id)`) are left to the database, and a
//! change to a model they reach always runs the query; a query whose selection includes
//! relations, or whose filter reads its own model through one, runs on any change of the
//! models it reaches.
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
/// be seen; `None` when any change of a reached model may change it.
#[derive(Debug, Clone)]
pub struct Narrow {
    pub model: usize,
    /// The query's `where` and the `@@realtime` permission as the database runs them for
    /// this subscriber: with their read rule, guarded fields and readable related rows.
    visible: Filter,
    /// Columns the visible rows hold one value in (as the log writes it).
    pub pins: Vec<(String, Json)>,
    /// Other models the query reads through relations (in its filter, the rules, a field
    /// rule): any change of theirs may change what it shows.
    pub others: Vec<usize>,
}

impl Narrow {
    /// For a query of `model` with `args`, run as `caller`, whose `@@realtime` permission
    /// admits the rows of `permitted`. `None` when the query includes relations or reads
    /// its own model through one (then another row of it can change what a row shows).
    pub fn of(
        es: &Entities,
        policies: &Policies,
        caller: &Caller,
        model: usize,
        args: &FindArgs,
        permitted: Filter,
    ) -> Option<Narrow> {
        // An order through a relation reads another model's rows (and its rules) for every row.
        let related_order = args.order.iter().any(|o| !matches!(o, ssot_store::query::args::Order::Field { .. }));
        if !args.selection.relations.is_empty() || related_order {
            return None;
        }
        let guard = Guard::new(policies, es, caller);
        let mut visible = guard.count_filter(model, Filter::And(vec![args.filter.clone(), permitted])).ok()?;
        let mut others = Vec::new();
        visible.related_models(es, model, &mut others);
        let entity = &es.entities[model];
        for field in 0..entity.fields.len() {
            guard.field(model, field, Op::Read).ok()?.related_models(es, model, &mut others);
        }
        if others.contains(&model) {
            return None;
        }
        let mut pins = Vec::new();
        collect_pins(es, model, &visible, &mut pins);
        if std::iter::once(model).chain(others.iter().copied()).any(|m| policies.reads_now(m)) {
            // A rule reading `now()` was bound to this moment: what it admits changes with
            // time, not only with the rows. Its equalities still pin the group.
            visible = Filter::True;
        }
        Some(Narrow { model, visible, pins, others })
    }

    /// Whether `record` (of any model; `model` is its model, looked up once per batch, `None`
    /// for a join table's) may change the group's result.
    pub fn may_change(&self, es: &Entities, model: Option<usize>, record: &Record) -> bool {
        match model {
            Some(m) if m == self.model => {
                let visible = |row: &Option<Map<String, Json>>| match row {
                    Some(row) => matches(es, self.model, &self.visible, row) != Some(false),
                    None => false,
                };
                visible(&record.old) || visible(&record.new)
            }
            Some(m) => self.others.contains(&m),
            // A link of a many-to-many relation, when the query reads through relations.
            None => !self.others.is_empty(),
        }
    }
}

/// The top-level equalities of `filter` that can be compared with the log as written.
fn collect_pins(es: &Entities, model: usize, filter: &Filter, out: &mut Vec<(String, Json)>) {
    match filter {
        Filter::And(parts) => parts.iter().for_each(|p| collect_pins(es, model, p, out)),
        Filter::Compare { field, cmp: Cmp::Eq, value, insensitive: false } => {
            let (f, column) = (&es.entities[model].fields[*field], es.column(model, *field));
            if f.list {
                return;
            }
            let plain_text = ssot_store::query::matches::byte_equal_text(es.dialect, &column.cast);
            let logged = match (f.kind, value) {
                (Kind::Scalar(ScalarType::String), Value::Text(text)) if plain_text => Json::String(text.clone()),
                (Kind::Scalar(ScalarType::Int | ScalarType::BigInt), Value::Int(n)) => Json::from(*n),
                _ => return,
            };
            out.push((column.name.clone(), logged));
        }
        _ => {}
    }
}
