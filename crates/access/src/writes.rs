//! Writes under the rules, before they run: the fields a write sets (directly, or as
//! foreign keys through a relation) must be settable by the caller, and every existing
//! row it links (by `connect` and friends, or by a foreign key given as a plain field)
//! must be readable, a hidden row answering exactly as a missing one, and updatable when
//! linking changes that row. What a field rule says about the row is collected in
//! [`After`], for [`crate::Guard::verify_changes`] to check once the write has run.

use crate::rules::Op;
use crate::Guard;
use serde_json::Value as Json;
use ssot_store::conn::Conn;
use ssot_store::entity::Link;
use ssot_store::query::args::{join, ArgsReader, Filter};
use ssot_store::query::policy::{is_false, simplify};
use ssot_store::query::read::{count, unique_filter};
use ssot_store::query::write::{items, missing_reference};
use ssot_store::StoreError;
use std::collections::BTreeMap;

/// Conditions a write's changed rows must meet afterwards, beyond their model's rule:
/// row-dependent field rules for the fields it set, by model and operation.
#[derive(Debug, Default)]
pub struct After {
    conditions: BTreeMap<(usize, u8), Vec<Filter>>,
}

pub(crate) fn op_key(op: Op) -> u8 {
    match op {
        Op::Create => 0,
        _ => 1,
    }
}

impl After {
    fn add(&mut self, model: usize, op: Op, filter: Filter) {
        self.conditions.entry((model, op_key(op))).or_default().push(filter);
    }

    /// Adds `other`'s conditions (a bulk create's items, checked together).
    pub fn merge(&mut self, other: After) {
        for (key, filters) in other.conditions {
            self.conditions.entry(key).or_default().extend(filters);
        }
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
                self.settable(model, field, op, &here, after)?;
                continue;
            }
            let Some(relation) = entity.relation(key) else { continue };
            let Some(ops) = value.as_object() else { continue };
            let r = &entity.relations[relation];
            let target = r.target;
            for (nested, operand) in ops {
                let at = join(&here, nested);
                // Linking sets foreign keys: this row's (then their field rules apply
                // here) or the related rows' (a create, or an update of theirs).
                match &r.link {
                    Link::Owns { local, .. } => {
                        for &f in local {
                            self.settable(model, f, op, &at, after)?;
                        }
                    }
                    Link::Inverse { remote, .. } => {
                        let theirs = if nested == "create" || nested == "createMany" { Op::Create } else { Op::Update };
                        for &f in remote {
                            self.settable(target, f, theirs, &at, after)?;
                        }
                    }
                    Link::Join { .. } => {}
                }
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
        self.references(conn, model, object, path)
    }

    /// Foreign keys given as plain fields (`"postId": 3`) link like `connect`: a row the
    /// caller may not read is answered as if it did not exist.
    fn references(
        &self,
        conn: &mut dyn Conn,
        model: usize,
        object: &serde_json::Map<String, Json>,
        path: &str,
    ) -> Result<(), StoreError> {
        let es = self.entities;
        let entity = &es.entities[model];
        for relation in &entity.relations {
            let Link::Owns { local, remote } = &relation.link else { continue };
            let mut named = Vec::with_capacity(local.len());
            for (&l, &rm) in local.iter().zip(remote) {
                let Some(value) = object.get(&entity.fields[l].name).filter(|v| !v.is_null()) else { break };
                let kind = es.entities[relation.target].fields[rm].kind;
                let Ok(value) = ssot_store::value::encode_one(kind, &es.enums, es.dialect, value) else { break };
                named.push((rm, value));
            }
            if named.len() != local.len() {
                continue;
            }
            let named = unique_filter(&named);
            let readable = simplify(Filter::And(vec![named.clone(), self.rows(relation.target, Op::Read)?]));
            if count(conn, es, relation.target, &readable)? == 0 && count(conn, es, relation.target, &named)? > 0 {
                return Err(missing_reference(es, model, relation, path));
            }
        }
        Ok(())
    }

    /// The caller may set `field` of `model` in an `op`: its field rule (for a field rules
    /// read as `auth.<field>`, an explicit one) holds, or holds on the row (then it is
    /// added to what the row must meet after the write).
    fn settable(&self, model: usize, field: usize, op: Op, path: &str, after: &mut After) -> Result<(), StoreError> {
        let entity = &self.entities.entities[model];
        let name = &entity.fields[field].name;
        if self.policies.privileged(model, field) && self.policies.field_rule(model, field, op).is_none() {
            return Err(StoreError::forbidden(
                path,
                format!(
                    "`{}.{name}` decides what rules allow (they read `auth.{name}`): only the admin key or a field rule may set it",
                    entity.name
                ),
            ));
        }
        let guard = self.field(model, field, op)?;
        if is_false(&guard) {
            return Err(StoreError::forbidden(path, format!("`{}.{name}` cannot be set by this caller", entity.name)));
        }
        if !matches!(guard, Filter::True) {
            after.add(model, op, guard);
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
        // The selector's own fields must be readable on the row too, or the answer would
        // tell a hidden value.
        let mut readable = vec![named.clone(), self.rows(target, Op::Read)?];
        for (field, _) in &unique {
            readable.push(self.usable(target, *field, path)?);
        }
        let readable = simplify(Filter::And(readable));
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
}
