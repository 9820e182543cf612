//! After a write, inside its transaction: every row it inserted must satisfy its model's
//! `create` rule and every row it updated the `update` rule, as the rows now stand.
//!
//! The rows come from the change log, which the database's triggers write, so nested
//! writes and many-to-many links are all seen. A link added or removed in a join table
//! counts as an update of the rows on both sides (except a row the same write created,
//! whose `create` rule is checked, and links removed because a row was deleted). A row
//! that cannot be found again from its log entry fails the check: what cannot be
//! verified is refused.

use crate::writes::{op_key, After};
use crate::Guard;
use crate::Op;
use serde_json::Value as Json;
use ssot_store::changelog::{changes_since, Change};
use ssot_store::conn::{Conn, Value};
use ssot_store::entity::{JoinTable, Link};
use ssot_store::query::args::Filter;
use ssot_store::query::policy::simplify;
use ssot_store::query::read::{count, unique_filter};
use ssot_store::StoreError;
use std::collections::{BTreeMap, HashSet};

/// A row's key fields and their values.
type Key = Vec<(usize, Value)>;

fn unverifiable(what: &str) -> StoreError {
    StoreError::forbidden("", format!("this write cannot be checked against the policies: {what}"))
}

impl Guard<'_> {
    /// Checks every row the write changed since log position `since` (see
    /// [`ssot_store::changelog::capture_start`]) against its rule and `after`.
    pub fn verify_changes(&self, conn: &mut dyn Conn, since: i64, after: &After) -> Result<(), StoreError> {
        if self.is_admin() {
            return Ok(());
        }
        let changes = changes_since(conn, since)?;
        let mut created = HashSet::new();
        let mut deleted = HashSet::new();
        let mut changed: Vec<(usize, Op, Key)> = Vec::new();
        let mut links = Vec::new();
        for change in &changes {
            let Some(model) = self.entities.by_name(&change.label) else {
                links.push(change);
                continue;
            };
            let key = self.log_key(model, change)?;
            match change.op.as_str() {
                "create" => {
                    created.insert((model, format!("{key:?}")));
                    changed.push((model, Op::Create, key));
                }
                "update" => changed.push((model, Op::Update, key)),
                _ => {
                    deleted.insert((model, format!("{key:?}")));
                }
            }
        }
        for change in links {
            let sides = self.link_sides(change)?;
            if sides.is_empty() {
                return Err(unverifiable(&format!("`{}` is no model or link table", change.label)));
            }
            if sides.iter().any(|(model, key)| deleted.contains(&(*model, format!("{key:?}")))) {
                continue;
            }
            for (model, key) in sides {
                if !created.contains(&(model, format!("{key:?}"))) {
                    changed.push((model, Op::Update, key));
                }
            }
        }
        // (model, op) -> distinct keys of rows that still exist.
        let mut groups: BTreeMap<(usize, u8), BTreeMap<String, Key>> = BTreeMap::new();
        for (model, op, key) in changed {
            let text = format!("{key:?}");
            if !deleted.contains(&(model, text.clone())) {
                groups.entry((model, op_key(op))).or_default().insert(text, key);
            }
        }
        for ((model, op), keys) in groups {
            let op = if op == op_key(Op::Create) { Op::Create } else { Op::Update };
            let mut allowed = vec![self.rows(model, op)?];
            allowed.extend(after.conditions(model, op));
            let allowed = simplify(Filter::And(allowed));
            let keys: Vec<Key> = keys.into_values().collect();
            for chunk in keys.chunks(200) {
                let these = Filter::Or(chunk.iter().map(|k| unique_filter(k)).collect());
                let found = count(conn, self.entities, model, &these)?;
                let permitted = count(conn, self.entities, model, &Filter::And(vec![these, allowed.clone()]))?;
                let entity = &self.entities.entities[model];
                if usize::try_from(found).ok() != Some(chunk.len()) {
                    return Err(unverifiable(&format!(
                        "a changed `{}` record cannot be found by its key",
                        entity.name
                    )));
                }
                if permitted != found {
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

    /// The fields and values that name a logged row of `model` (its key columns as the
    /// log holds them, mapped back to fields).
    fn log_key(&self, model: usize, change: &Change) -> Result<Key, StoreError> {
        let entity = &self.entities.entities[model];
        let mut key = Vec::with_capacity(change.pk.len());
        for (column, value) in &change.pk {
            let field = self.entities.storage[model].field_by_column(column);
            match (field, log_value(value)) {
                (Some(field), Some(value)) => key.push((field, value)),
                _ => return Err(unverifiable(&format!("a `{}` key the log holds in another form", entity.name))),
            }
        }
        if key.is_empty() {
            return Err(unverifiable(&format!("a `{}` row without a key", entity.name)));
        }
        Ok(key)
    }

    /// The two rows a link-table entry joins: (model, key) per side.
    fn link_sides(&self, change: &Change) -> Result<Vec<(usize, Key)>, StoreError> {
        let mut sides = Vec::new();
        for (model, entity) in self.entities.entities.iter().enumerate() {
            for (relation, r) in entity.relations.iter().enumerate() {
                if let (Link::Join { local, .. }, Some(join)) = (&r.link, self.entities.join(model, relation)) {
                    let JoinTable { label, this_column, .. } = join;
                    if *label == change.label {
                        let value = change.pk.get(this_column).and_then(log_value);
                        let value = value.ok_or_else(|| unverifiable(&format!("a `{label}` link without its key")))?;
                        sides.push((model, vec![(*local, value)]));
                    }
                }
            }
        }
        Ok(sides)
    }
}

/// A key column's value as the log holds it, as a bound value; `None` for what cannot
/// name a row (null, or a form no key column takes).
fn log_value(value: &Json) -> Option<Value> {
    match value {
        Json::Number(n) => n.as_i64().map(Value::Int).or_else(|| n.as_f64().map(Value::Float)),
        Json::String(s) => Some(Value::Text(s.clone())),
        Json::Bool(b) => Some(Value::Int(i64::from(*b))),
        _ => None,
    }
}
