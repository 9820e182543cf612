//! Reads under the rules: a request's `where`, `orderBy`, `cursor` and selection,
//! rewritten so the database returns only what the caller may read.
//!
//! A guarded field's condition is ANDed with its guard (`email = x` becomes `guard AND
//! email = x`), so on a row where the caller may not read the field, every condition on
//! it is false whatever the value: the filter's outcome, and so the rows returned, the
//! count and the order, cannot depend on the hidden value. A field the caller can read on
//! no row is refused outright (403), naming it.

use crate::Guard;
use crate::Op;
use ssot_store::entity::Link;
use ssot_store::query::args::{Filter, FindArgs, Guarded, Order, Quantifier, Selection};
use ssot_store::query::policy::{is_false, simplify};
use ssot_store::StoreError;

impl Guard<'_> {
    /// `args` (a list, a get, or an included relation's) restricted to what the caller may read.
    pub fn find(&self, model: usize, args: &mut FindArgs) -> Result<(), StoreError> {
        let filter = std::mem::replace(&mut args.filter, Filter::True);
        args.filter = self.count_filter(model, filter)?;
        for order in &mut args.order {
            self.order(model, order)?;
        }
        if let Some(cursor) = &args.cursor {
            // The cursor finds its row by the raw value: a field readable on some rows
            // only would answer whether a hidden value exists.
            for (field, _) in cursor {
                if !matches!(self.usable(model, *field, "cursor")?, Filter::True) {
                    let entity = &self.entities.entities[model];
                    return Err(StoreError::forbidden(
                        "cursor",
                        format!(
                            "`{}.{}` is not readable on every row by this caller: page by another unique field",
                            entity.name, entity.fields[*field].name
                        ),
                    ));
                }
            }
        }
        if let Some(search) = &mut args.search {
            search.visible = self.searchable(model)?;
        }
        self.selection(model, &mut args.selection)
    }

    /// The searched columns of `model` (indices into its search index) the caller may read
    /// on every row: only these match, rank and are highlighted. A field readable on some
    /// rows only takes no part, so a search answers nothing about its hidden values.
    pub fn searchable(&self, model: usize) -> Result<Vec<usize>, StoreError> {
        let Some((_, fields)) = &self.entities.storage[model].search else { return Ok(Vec::new()) };
        let mut visible = Vec::with_capacity(fields.len());
        for (i, &field) in fields.iter().enumerate() {
            if !self.policies.write_only(model, field) && matches!(self.field(model, field, Op::Read)?, Filter::True) {
                visible.push(i);
            }
        }
        Ok(visible)
    }

    /// A `where` for `model` restricted to the rows the caller may read.
    pub fn count_filter(&self, model: usize, filter: Filter) -> Result<Filter, StoreError> {
        let filter = self.filter(model, filter)?;
        Ok(simplify(Filter::And(vec![self.rows(model, Op::Read)?, filter])))
    }

    /// A `where` whose conditions on guarded fields and relations hold only where the
    /// caller may read them, and whose relation conditions see only readable rows.
    pub fn filter(&self, model: usize, filter: Filter) -> Result<Filter, StoreError> {
        let entity = &self.entities.entities[model];
        Ok(match filter {
            Filter::True => Filter::True,
            Filter::And(parts) => Filter::And(self.filters(model, parts)?),
            Filter::Or(parts) => Filter::Or(self.filters(model, parts)?),
            Filter::Not(inner) => Filter::Not(Box::new(self.filter(model, *inner)?)),
            atom @ (Filter::Compare { field, .. }
            | Filter::Null { field, .. }
            | Filter::In { field, .. }
            | Filter::Text { field, .. }
            | Filter::List { field, .. }) => {
                let guard = self.usable(model, field, "where")?;
                guarded(guard, atom)
            }
            Filter::Relation { relation, quantifier, filter } => {
                let guard = self.relation_guard(model, relation)?;
                let inner = self.filter(entity.relations[relation].target, *filter)?;
                let readable = self.linked_rows(model, relation)?;
                let inner = match quantifier {
                    // Every readable related row matches: unreadable ones do not count.
                    Quantifier::Every => Filter::Or(vec![Filter::Not(Box::new(readable)), inner]),
                    _ => Filter::And(vec![readable, inner]),
                };
                guarded(guard, Filter::Relation { relation, quantifier, filter: Box::new(inner) })
            }
            Filter::RelationNull { relation, is_null } => {
                // Absent means "no related row the caller may read", so a hidden row
                // reads as no row at all.
                let guard = self.relation_guard(model, relation)?;
                let present = Filter::Relation {
                    relation,
                    quantifier: Quantifier::Is,
                    filter: Box::new(self.linked_rows(model, relation)?),
                };
                let atom = if is_null { Filter::Not(Box::new(present)) } else { present };
                guarded(guard, atom)
            }
        })
    }

    fn filters(&self, model: usize, parts: Vec<Filter>) -> Result<Vec<Filter>, StoreError> {
        parts.into_iter().map(|p| self.filter(model, p)).collect()
    }

    fn order(&self, model: usize, order: &mut Order) -> Result<(), StoreError> {
        let entity = &self.entities.entities[model];
        match order {
            Order::Field { field, guard, .. } => {
                let g = self.usable(model, *field, "orderBy")?;
                *guard = if matches!(g, Filter::True) { None } else { Some(g) };
            }
            Order::Related { relation, field, scope, .. } => {
                self.whole_relation(model, *relation, "orderBy")?;
                let g = self.usable(entity.relations[*relation].target, *field, "orderBy")?;
                *scope = simplify(Filter::And(vec![self.linked_rows(model, *relation)?, g]));
            }
            Order::Count { relation, scope, .. } => {
                self.whole_relation(model, *relation, "orderBy")?;
                *scope = self.linked_rows(model, *relation)?;
            }
        }
        Ok(())
    }

    /// The selection without what nobody reads, with guards on what the caller reads on
    /// some rows only, and with each included relation restricted like a list.
    pub fn selection(&self, model: usize, selection: &mut Selection) -> Result<(), StoreError> {
        let mut fields = Vec::with_capacity(selection.fields.len());
        for &field in &selection.fields {
            if self.policies.write_only(model, field) {
                continue;
            }
            let guard = self.field(model, field, Op::Read)?;
            if is_false(&guard) {
                continue;
            }
            if !matches!(guard, Filter::True) {
                selection.guards.push((Guarded::Field(field), guard));
            }
            fields.push(field);
        }
        selection.fields = fields;
        let mut relations = Vec::with_capacity(selection.relations.len());
        for (relation, mut args) in std::mem::take(&mut selection.relations) {
            let guard = self.link_guard(model, relation)?;
            if is_false(&guard) {
                continue;
            }
            if !matches!(guard, Filter::True) {
                selection.guards.push((Guarded::Relation(relation), guard));
            }
            let target = self.entities.entities[model].relations[relation].target;
            self.find(target, &mut args)?;
            let linked = self.linked_rows(model, relation)?;
            let filter = std::mem::replace(&mut args.filter, Filter::True);
            args.filter = simplify(Filter::And(vec![filter, linked]));
            relations.push((relation, args));
        }
        selection.relations = relations;
        Ok(())
    }

    /// Where the caller may use `field` of `model` in a condition or an order: its guard.
    /// Refused when they may read it on no row.
    pub(crate) fn usable(&self, model: usize, field: usize, place: &str) -> Result<Filter, StoreError> {
        let entity = &self.entities.entities[model];
        let name = &entity.fields[field].name;
        if self.policies.write_only(model, field) {
            return Err(StoreError::forbidden(
                place,
                format!("`{}.{name}` is write-only: it cannot be read, filtered or ordered by", entity.name),
            ));
        }
        let guard = self.field(model, field, Op::Read)?;
        if is_false(&guard) {
            return Err(StoreError::forbidden(
                place,
                format!("`{}.{name}` is not readable by this caller", entity.name),
            ));
        }
        Ok(guard)
    }

    /// Where the caller may see relation `relation` of a `model` row: its own read rule,
    /// and, when the row holds the foreign key, the read rules of the key's fields (a
    /// relation tells what its key holds).
    fn link_guard(&self, model: usize, relation: usize) -> Result<Filter, StoreError> {
        let mut parts = vec![self.relation(model, relation)?];
        if let Link::Owns { local, .. } = &self.entities.entities[model].relations[relation].link {
            for &f in local {
                parts.push(self.field(model, f, Op::Read)?);
            }
        }
        Ok(simplify(Filter::And(parts)))
    }

    /// The related rows the caller may see through `relation`: the target's readable
    /// rows and, when the related rows hold the foreign key, only where the caller may
    /// read that key.
    fn linked_rows(&self, model: usize, relation: usize) -> Result<Filter, StoreError> {
        let r = &self.entities.entities[model].relations[relation];
        let mut parts = vec![self.rows(r.target, Op::Read)?];
        if let Link::Inverse { remote, .. } = &r.link {
            for &f in remote {
                parts.push(self.field(r.target, f, Op::Read)?);
            }
        }
        Ok(simplify(Filter::And(parts)))
    }

    fn relation_guard(&self, model: usize, relation: usize) -> Result<Filter, StoreError> {
        let guard = self.link_guard(model, relation)?;
        if is_false(&guard) {
            let entity = &self.entities.entities[model];
            return Err(StoreError::forbidden(
                "where",
                format!("`{}.{}` is not readable by this caller", entity.name, entity.relations[relation].name),
            ));
        }
        Ok(guard)
    }

    /// Orders through a relation need it readable on every row.
    fn whole_relation(&self, model: usize, relation: usize, place: &str) -> Result<(), StoreError> {
        let guard = self.link_guard(model, relation)?;
        if matches!(guard, Filter::True) {
            return Ok(());
        }
        let entity = &self.entities.entities[model];
        Err(StoreError::forbidden(
            place,
            format!(
                "`{}.{}` is not readable on every row by this caller",
                entity.name, entity.relations[relation].name
            ),
        ))
    }
}

fn guarded(guard: Filter, atom: Filter) -> Filter {
    if matches!(guard, Filter::True) {
        atom
    } else {
        Filter::And(vec![guard, atom])
    }
}
