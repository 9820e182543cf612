//! Writes under the rules.
//!
//! Before a write: the fields it sets must be settable by the caller (a field-level
//! `create`/`update` rule), and every existing row it links must be readable (a hidden
//! row is "not found"), and updatable when linking changes that row.
//!
//! After the write, inside its transaction: every row it inserted must satisfy the
//! model's `create` rule, and every row it updated the `update` rule, as the rows now
//! stand (with their relations). The rows come from the change log, which the database's
//! triggers write, so nested writes, many-to-many links and referential actions are all
//! seen. A refusal rolls the whole write back.

use crate::rules::Op;
use crate::Guard;
use serde_json::Value as Json;
use ssot_store::changelog::{changes_since, Change};
use ssot_store::conn::{Conn, Value};
use ssot_store::entity::Link;
use ssot_store::query::args::{join, ArgsReader, Filter};
use ssot_store::query::policy::{is_false, simplify};
use ssot_store::query::read::{count, unique_filter};
use ssot_store::StoreError;
use std::collections::BTreeMap;

/// A row's id fields and their values.
type Key = Vec<(usize, Value)>;

/// Conditions a write's changed rows must meet afterwards, beyond their model's rule:
/// row-dependent field rules for the fields it set, by model and operation.
#[derive(Debug, Default)]
pub struct After {
    conditions: BTreeMap<(usize, u8), Vec<Filter>>,
}

fn op_key(op: Op) -> u8 {
    match op {
        Op::Create => 0,
        _ => 1,
    }
}

impl After {
    fn add(&mut self, model: usize, op: Op, filter: Filter) {
        self.conditions.entry((model, op_key(op))).or_default().push(filter);
    }

    /// The conditions on `model`'s rows for `op`, ANDed.
    pub fn conditions(&self, model: usize, op: Op) -> Vec<Filter> {
        self.conditions.get(&(model, op_key(op))).cloned().unwrap_or_default()
    }
}

impl Guard<'_> {
    /// Checks `data` (a create's or an update's, with its nested writes) before it runs.
    /// Returns what the changed rows must meet afterwards.
    pub fn check_data(
        &self,
        conn: &mut dyn Conn,
        model: usize,
        data: &Json,
        op: Op,
        path: &str,
    ) -> Result<After, StoreError> {
        let mut after = After::default();
        if !self.is_admin() {
            self.walk(conn, model, data, op, path, &mut after)?;
        }
        Ok(after)
    }

    fn walk(
        &self,
        conn: &mut dyn Conn,
        model: usize,
        data: &Json,
        op: Op,
        path: &str,
        after: &mut After,
    ) -> Result<(), StoreError> {
        let Some(object) = data.as_object() else { return Ok(()) };
        let entity = &self.entities.entities[model];
        for (key, value) in object {
            let here = join(path, key);
            if let Some(field) = entity.field(key) {
                // Ids the database generates are not the caller's to choose, and no id
                // changes under a caller other than the admin.
                if entity.id.contains(&field) && (op == Op::Update || entity.fields[field].default.is_some()) {
                    return Err(StoreError::forbidden(
                        here,
                        format!("`{}.{key}` is assigned by the server", entity.name),
                    ));
                }
                let guard = self.field(model, field, op)?;
                if is_false(&guard) {
                    return Err(StoreError::forbidden(
                        here,
                        format!("`{}.{key}` cannot be set by this caller", entity.name),
                    ));
                }
                if !matches!(guard, Filter::True) {
                    after.add(model, op, guard);
                }
                continue;
            }
            let Some(relation) = entity.relation(key) else { continue };
            let Some(ops) = value.as_object() else { continue };
            let target = entity.relations[relation].target;
            for (nested, operand) in ops {
                let at = join(&here, nested);
                match nested.as_str() {
                    "create" => {
                        for item in items(operand) {
                            self.walk(conn, target, item, Op::Create, &at, after)?;
                        }
                    }
                    "createMany" => {
                        for item in operand.get("data").map(items).unwrap_or_default() {
                            self.walk(conn, target, item, Op::Create, &join(&at, "data"), after)?;
                        }
                    }
                    "connect" | "set" | "disconnect" => {
                        for item in items(operand).into_iter().filter(|i| i.is_object()) {
                            self.linkable(conn, model, relation, item, &at)?;
                        }
                    }
                    "connectOrCreate" => {
                        for item in items(operand) {
                            if let Some(selector) = item.get("where") {
                                self.linkable(conn, model, relation, selector, &join(&at, "where"))?;
                            }
                            if let Some(create) = item.get("create") {
                                self.walk(conn, target, create, Op::Create, &join(&at, "create"), after)?;
                            }
                        }
                    }
                    _ => {}
                }
            }
        }
        Ok(())
    }

    /// An existing row named by `selector` may be linked through `relation`: the caller
    /// reads it, and may update it when the link is stored on its side. A row that does
    /// not exist passes (the write itself then says so, or creates it).
    fn linkable(
        &self,
        conn: &mut dyn Conn,
        model: usize,
        relation: usize,
        selector: &Json,
        path: &str,
    ) -> Result<(), StoreError> {
        let r = &self.entities.entities[model].relations[relation];
        let target = r.target;
        let mut reader = ArgsReader::new(self.entities);
        let unique = reader.unique(target, selector, path);
        let Some(unique) = reader.finish(unique)? else { return Ok(()) };
        let named = unique_filter(&unique);
        if count(conn, self.entities, target, &named)? == 0 {
            return Ok(());
        }
        let readable = simplify(Filter::And(vec![named.clone(), self.rows(target, Op::Read)?]));
        let name = &self.entities.entities[target].name;
        if count(conn, self.entities, target, &readable)? == 0 {
            return Err(StoreError::NotFound(format!("{path}: no `{name}` record matches")));
        }
        if !matches!(r.link, Link::Owns { .. }) {
            let updatable = simplify(Filter::And(vec![named, self.rows(target, Op::Update)?]));
            if count(conn, self.entities, target, &updatable)? == 0 {
                return Err(StoreError::forbidden(
                    path,
                    format!("this `{name}` record may not be changed by this caller"),
                ));
            }
        }
        Ok(())
    }

    /// Checks every row the write changed since log position `since` (see
    /// [`ssot_store::changelog::capture_start`]) against its rule and `after`.
    pub fn verify_changes(&self, conn: &mut dyn Conn, since: i64, after: &After) -> Result<(), StoreError> {
        if self.is_admin() {
            return Ok(());
        }
        let changes = changes_since(conn, since)?;
        // (model, op) -> the keys of the rows to check.
        let mut rows: BTreeMap<(usize, u8), Vec<Key>> = BTreeMap::new();
        for change in &changes {
            let op = match change.op.as_str() {
                "create" => Op::Create,
                "update" => Op::Update,
                _ => continue,
            };
            if let Some(model) = self.entities.by_name(&change.label) {
                let entity = &self.entities.entities[model];
                let key = entity.id.iter().map(|&f| (f, pk_value(change, &entity.fields[f].column))).collect();
                rows.entry((model, op_key(op))).or_default().push(key);
                continue;
            }
            // A link in a many-to-many table changes the rows on both sides.
            if op != Op::Create {
                continue;
            }
            for (model, entity) in self.entities.entities.iter().enumerate() {
                for r in &entity.relations {
                    if let Link::Join { label, this_column, local, .. } = &r.link {
                        if *label == change.label {
                            let key = vec![(*local, pk_value(change, this_column))];
                            rows.entry((model, op_key(Op::Update))).or_default().push(key);
                        }
                    }
                }
            }
        }
        for ((model, op), keys) in rows {
            let op = if op == 0 { Op::Create } else { Op::Update };
            let mut allowed = vec![self.rows(model, op)?];
            allowed.extend(after.conditions(model, op));
            let allowed = simplify(Filter::And(allowed));
            for chunk in keys.chunks(200) {
                let changed = Filter::Or(chunk.iter().map(|k| unique_filter(k)).collect());
                let refused = Filter::And(vec![changed, Filter::Not(Box::new(allowed.clone()))]);
                if count(conn, self.entities, model, &refused)? > 0 {
                    let entity = &self.entities.entities[model];
                    let verb = if op == Op::Create { "create" } else { "update" };
                    return Err(StoreError::forbidden(
                        "",
                        format!("no policy lets this caller {verb} this `{}` record as written", entity.name),
                    ));
                }
            }
        }
        Ok(())
    }
}

fn items(value: &Json) -> Vec<&Json> {
    match value {
        Json::Array(items) => items.iter().collect(),
        other => vec![other],
    }
}

/// A key column's value as the log holds it, as a bound value.
fn pk_value(change: &Change, column: &str) -> Value {
    match change.pk.get(column) {
        Some(Json::Number(n)) => n.as_i64().map_or_else(|| Value::Float(n.as_f64().unwrap_or(f64::NAN)), Value::Int),
        Some(Json::String(s)) => Value::Text(s.clone()),
        Some(Json::Bool(b)) => Value::Int(i64::from(*b)),
        _ => Value::Null,
    }
}
