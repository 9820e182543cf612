//! Writes under the rules, before they run: the fields a write sets (directly, or as
//! foreign keys through a relation) must be settable by the caller, and a visible row it
//! links must be updatable when linking changes that row. What a field rule says about the row is collected in
//! [`After`], for [`crate::Guard::verify_changes`] to check once the write has run.
//!
//! Rows the caller may not read are not checked here: the guard is the store's
//! [`ssot_store::query::write::Visible`], so the write itself looks them up as missing,
//! and a row named by a value the caller may not read on it (`connect: {email}`) too.

use crate::Guard;
use crate::Op;
use serde_json::Value as Json;
use ssot_store::conn::Conn;
use ssot_store::entity::Link;
use ssot_store::query::args::{join, ArgsReader, Filter};
use ssot_store::query::policy::{is_false, simplify};
use ssot_store::query::read::{count, unique_filter};
use ssot_store::query::write::{items, Visible};
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
        Ok(())
    }

    /// The caller may set `field` of `model` in an `op`: its field rule (for a field rules
    /// read as `auth.<field>`, an explicit one) holds, or holds on the row (then it is
    /// added to what the row must meet after the write).
    fn settable(&self, model: usize, field: usize, op: Op, path: &str, after: &mut After) -> Result<(), StoreError> {
        let entity = &self.entities.entities[model];
        let name = &entity.fields[field].name;
        if self.door_opens(model, op, Some(field)) {
            return Ok(());
        }
        // Ids the database generates are not the caller's to choose, and no id changes
        // under a caller other than the admin (directly or as a foreign key).
        if entity.id.contains(&field) && (op == Op::Update || entity.fields[field].default.is_some()) {
            return Err(StoreError::forbidden(path, format!("`{}.{name}` is assigned by the server", entity.name)));
        }
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
        let entity = &self.entities.entities[target];
        let mut reader = ArgsReader::new(self.entities);
        let unique = reader.unique(target, selector, path);
        let Some(unique) = reader.finish(unique)? else { return Ok(()) };
        if matches!(r.link, Link::Owns { .. }) {
            return Ok(());
        }
        // Linking writes the target's row (or a join table): the caller must be allowed to
        // update it, and to set its foreign key. A row they cannot see is left to the
        // store, which answers as for a missing one.
        let fields: Vec<usize> = unique.iter().map(|(f, _)| *f).collect();
        let visible = simplify(Filter::And(vec![unique_filter(&unique), self.nameable(target, &fields)?]));
        if count(conn, self.entities, target, &visible)? == 0 {
            return Ok(());
        }
        let mut updatable = vec![visible, self.rows(target, Op::Update)?];
        if let Link::Inverse { remote, .. } = &r.link {
            for &f in remote {
                updatable.push(self.field(target, f, Op::Update)?);
            }
        }
        if count(conn, self.entities, target, &simplify(Filter::And(updatable)))? == 0 {
            return Err(StoreError::forbidden(
                path,
                format!("this `{}` record may not be changed by this caller", entity.name),
            ));
        }
        Ok(())
    }
}

impl ssot_store::query::write::Visible for Guard<'_> {
    /// The rows a write may see are the rows the caller may read.
    fn visible(&self, model: usize) -> Result<Filter, StoreError> {
        self.rows(model, Op::Read)
    }

    /// A row is named by values the caller may read on it: naming one by a hidden value
    /// finds nothing, as if no row had it (and the password names no row at all).
    fn nameable(&self, model: usize, fields: &[usize]) -> Result<Filter, StoreError> {
        let mut parts = vec![self.rows(model, Op::Read)?];
        for &f in fields {
            if self.policies.write_only(model, f) {
                return Ok(Filter::Or(Vec::new()));
            }
            parts.push(self.field(model, f, Op::Read)?);
        }
        Ok(simplify(Filter::And(parts)))
    }
}
