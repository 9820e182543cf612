//! A rule's typed predicate as a `where` filter: the SQL evaluator.
//!
//! The caller (`auth`) and `now()` are known when a request arrives, so they become bound
//! values; what is left reads the row, and becomes the same [`Filter`] that a request's
//! `where` becomes, written to SQL by the one filter writer. Comparisons that read no
//! column at all are decided here, with the in-memory evaluator's own rules
//! ([`ssot_policy::eval::holds`]), so the two evaluators cannot drift apart on them.

use super::args::{Filter, Quantifier as FilterQuantifier};
use crate::entity::{Entities, Kind};
use crate::error::StoreError;
use crate::value::encode_one;
use serde_json::Value as Json;
use ssot_policy::eval::{holds, literal_json, Context};
use ssot_policy::predicate::{CompareOp, Operand, Predicate, Quantifier};
use ssot_schema::ir::ScalarType;

/// One side of a comparison: a column of the row (through to-one relations), or a value.
enum Side {
    Field(Vec<String>),
    Value(Json),
}

fn side(operand: &Operand, cx: &Context<'_>) -> Side {
    match operand {
        Operand::Field(path) => Side::Field(path.clone()),
        Operand::Literal(value) => Side::Value(literal_json(value)),
        Operand::Now => Side::Value(Json::String(cx.now.to_string())),
        Operand::Auth(path) => Side::Value(match (cx.auth, path.as_slice()) {
            (None, _) => Json::Null,
            (Some(auth), []) => Json::Object(auth.clone()),
            (Some(auth), [name, ..]) => auth.get(name).cloned().unwrap_or(Json::Null),
        }),
    }
}

const FALSE: Filter = Filter::Or(Vec::new());

fn flip(op: CompareOp) -> CompareOp {
    match op {
        CompareOp::Lt => CompareOp::Gt,
        CompareOp::Lte => CompareOp::Gte,
        CompareOp::Gt => CompareOp::Lt,
        CompareOp::Gte => CompareOp::Lte,
        other => other,
    }
}

fn unsupported(what: &str) -> StoreError {
    StoreError::invalid("", format!("this rule cannot be enforced in SQL yet: {what}"))
}

/// The filter that keeps exactly the rows of `model` for which `predicate` holds, with
/// what the caller decides already folded away ([`simplify`]).
pub fn to_filter(es: &Entities, model: usize, predicate: &Predicate, cx: &Context<'_>) -> Result<Filter, StoreError> {
    Ok(simplify(build(es, model, predicate, cx)?))
}

/// Whether `filter` keeps no row at all (an empty OR).
pub fn is_false(filter: &Filter) -> bool {
    matches!(filter, Filter::Or(parts) if parts.is_empty())
}

/// `filter` with constant parts folded: `TRUE AND x` is `x`, `FALSE OR x` is `x`, `NOT
/// TRUE` is false, and so on. A rule like `isAdmin || published` becomes `published` for
/// a caller who is no admin, and plain `TRUE` or `FALSE` when the caller alone decides.
pub fn simplify(filter: Filter) -> Filter {
    match filter {
        Filter::And(parts) => {
            let mut flat = Vec::with_capacity(parts.len());
            for part in parts.into_iter().map(simplify) {
                match part {
                    Filter::And(inner) => flat.extend(inner),
                    f => flat.push(f),
                }
            }
            let mut kept = Vec::with_capacity(flat.len());
            for (part, replaced) in assume_atoms(flat) {
                // Only a part that changed needs folding again (so nesting costs no more
                // than one pass).
                let part = if replaced { simplify(part) } else { part };
                match part {
                    Filter::True => {}
                    f if is_false(&f) => return FALSE,
                    Filter::And(inner) => kept.extend(inner),
                    f => kept.push(f),
                }
            }
            match kept.len() {
                0 => Filter::True,
                1 => kept.pop().unwrap_or(Filter::True),
                _ => Filter::And(kept),
            }
        }
        Filter::Or(parts) => {
            let mut kept = Vec::with_capacity(parts.len());
            for part in parts.into_iter().map(simplify) {
                match part {
                    Filter::True => return Filter::True,
                    f if is_false(&f) => {}
                    Filter::Or(inner) => kept.extend(inner),
                    f => kept.push(f),
                }
            }
            match kept.len() {
                1 => kept.pop().unwrap_or(FALSE),
                _ => Filter::Or(kept),
            }
        }
        Filter::Not(inner) => match simplify(*inner) {
            Filter::True => FALSE,
            f if is_false(&f) => Filter::True,
            f => Filter::Not(Box::new(f)),
        },
        Filter::Relation { relation, quantifier, filter } => {
            Filter::Relation { relation, quantifier, filter: Box::new(simplify(*filter)) }
        }
        other => other,
    }
}

/// In a conjunction, each plain condition of the row (a comparison, not a relation's) is
/// true wherever the others are evaluated, so the same condition inside a sibling becomes
/// `TRUE`. A rule `published || isOwner` ANDed with a request's `published: true` is then
/// just the request's filter, which the database answers from its index alone.
fn assume_atoms(parts: Vec<Filter>) -> Vec<(Filter, bool)> {
    // A few known conditions are what rules meet in practice; more would only cost.
    let atoms: Vec<Filter> = parts.iter().filter(|p| is_atom(p)).take(8).cloned().collect();
    if atoms.is_empty() || parts.len() < 2 {
        return parts.into_iter().map(|p| (p, false)).collect();
    }
    parts
        .into_iter()
        .map(|part| {
            if is_atom(&part) {
                (part, false)
            } else {
                let mut replaced = false;
                let part = replace_known(part, &atoms, &mut replaced);
                (part, replaced)
            }
        })
        .collect()
}

fn is_atom(filter: &Filter) -> bool {
    matches!(filter, Filter::Compare { .. } | Filter::Null { .. } | Filter::In { .. } | Filter::Text { .. })
}

/// `filter` with every occurrence of a `known` atom replaced by `TRUE`, except inside
/// relation filters (whose fields are another row's); `replaced` says whether any was.
fn replace_known(filter: Filter, known: &[Filter], replaced: &mut bool) -> Filter {
    match filter {
        f if is_atom(&f) && known.contains(&f) => {
            *replaced = true;
            Filter::True
        }
        Filter::And(parts) => Filter::And(parts.into_iter().map(|p| replace_known(p, known, replaced)).collect()),
        Filter::Or(parts) => Filter::Or(parts.into_iter().map(|p| replace_known(p, known, replaced)).collect()),
        Filter::Not(inner) => Filter::Not(Box::new(replace_known(*inner, known, replaced))),
        other => other,
    }
}

fn build(es: &Entities, model: usize, predicate: &Predicate, cx: &Context<'_>) -> Result<Filter, StoreError> {
    Ok(match predicate {
        Predicate::Const(true) => Filter::True,
        Predicate::Const(false) => FALSE,
        Predicate::And(parts) => Filter::And(parts.iter().map(|p| build(es, model, p, cx)).collect::<Result<_, _>>()?),
        Predicate::Or(parts) => Filter::Or(parts.iter().map(|p| build(es, model, p, cx)).collect::<Result<_, _>>()?),
        Predicate::Not(inner) => Filter::Not(Box::new(build(es, model, inner, cx)?)),
        Predicate::Compare {
            op,
            left: Operand::Auth(path),
            right: Operand::Literal(ssot_policy::predicate::Value::Null),
        } if path.is_empty() => {
            let present = cx.auth.is_some();
            if (*op == CompareOp::Eq) != present {
                Filter::True
            } else {
                FALSE
            }
        }
        Predicate::Compare { op, left, right } => match (side(left, cx), side(right, cx)) {
            (Side::Value(a), Side::Value(b)) => {
                if holds(*op, &a, &b) {
                    Filter::True
                } else {
                    FALSE
                }
            }
            (Side::Field(path), Side::Value(v)) => compare_field(es, model, &path, *op, &v)?,
            (Side::Value(v), Side::Field(path)) => compare_field(es, model, &path, flip(*op), &v)?,
            (Side::Field(_), Side::Field(_)) => return Err(unsupported("comparing two fields of the row")),
        },
        Predicate::In { value, list } => match (side(value, cx), side(list, cx)) {
            (Side::Value(v), Side::Value(Json::Array(items))) => {
                if items.iter().any(|i| holds(CompareOp::Eq, &v, i)) {
                    Filter::True
                } else {
                    FALSE
                }
            }
            (Side::Field(path), Side::Value(Json::Array(items))) => {
                let parts = items
                    .iter()
                    .map(|item| compare_field(es, model, &path, CompareOp::Eq, item))
                    .collect::<Result<Vec<_>, _>>()?;
                Filter::Or(parts)
            }
            (_, Side::Value(_)) => FALSE,
            (_, Side::Field(_)) => return Err(unsupported("`in` a list field")),
        },
        Predicate::Quantified { relations, quantifier, body } => {
            let (steps, last) = relations.split_at(relations.len().saturating_sub(1));
            let Some(last) = last.first() else { return Err(unsupported("an empty relation path")) };
            let vacuous = *quantifier != Quantifier::Some;
            let quantified = along(es, model, steps, &mut |es, target_model| {
                let entity = &es.entities[target_model];
                let relation = entity.relation(last).ok_or_else(|| unsupported("an unknown relation"))?;
                let target = entity.relations[relation].target;
                let quantifier = match quantifier {
                    Quantifier::Some => FilterQuantifier::Some,
                    Quantifier::Every => FilterQuantifier::Every,
                    Quantifier::None => FilterQuantifier::None,
                };
                let filter = Filter::Relation { relation, quantifier, filter: Box::new(build(es, target, body, cx)?) };
                // Through a missing to-one row there are no related rows: `every` and
                // `none` hold there, so the path is asked as "no row on it fails".
                Ok(if vacuous && !steps.is_empty() { Filter::Not(Box::new(filter)) } else { filter })
            })?;
            if vacuous && !steps.is_empty() {
                Filter::Not(Box::new(quantified))
            } else {
                quantified
            }
        }
    })
}

/// Walks to-one relations named by `steps` from `model`, nesting `Is` filters, and puts
/// what `inner` builds for the last model at the bottom.
fn along(
    es: &Entities,
    model: usize,
    steps: &[String],
    inner: &mut dyn FnMut(&Entities, usize) -> Result<Filter, StoreError>,
) -> Result<Filter, StoreError> {
    let Some((first, rest)) = steps.split_first() else { return inner(es, model) };
    let entity = &es.entities[model];
    let relation = entity.relation(first).ok_or_else(|| unsupported("an unknown relation"))?;
    let target = entity.relations[relation].target;
    let below = along(es, target, rest, inner)?;
    Ok(Filter::Relation { relation, quantifier: FilterQuantifier::Is, filter: Box::new(below) })
}

/// `path op value`, where `path` ends at a scalar field.
fn compare_field(
    es: &Entities,
    model: usize,
    path: &[String],
    op: CompareOp,
    value: &Json,
) -> Result<Filter, StoreError> {
    // A comparison with null is false, `!=` included.
    if value.is_null() {
        return Ok(FALSE);
    }
    let (steps, field) = path.split_at(path.len().saturating_sub(1));
    let Some(field) = field.first() else { return Err(unsupported("an empty field path")) };
    along(es, model, steps, &mut |es, target| {
        let entity = &es.entities[target];
        let index = entity.field(field).ok_or_else(|| unsupported("an unknown field"))?;
        let field = &entity.fields[index];
        // A value that cannot be of the field's type (a claim of another type, a user id
        // that is no UUID for a `uuid` column) equals nothing and orders against nothing:
        // false, as in memory.
        let encoded = encode_one(field.kind, &es.stored_enums, es.dialect, value)
            .ok()
            .filter(|v| crate::value::fits_column(&es.column(target, index).cast, es.dialect, v));
        match encoded {
            Some(encoded) => Ok(Filter::Compare { field: index, cmp: op, value: encoded, insensitive: false }),
            // A string that is none of the values a column of strings (text, an enum, a
            // UUID, a time) can hold differs from every value it holds, as strings do in memory.
            None if op == CompareOp::Ne
                && value.is_string()
                && matches!(field.kind, Kind::Enum(_) | Kind::Scalar(ScalarType::String | ScalarType::DateTime)) =>
            {
                Ok(Filter::Null { field: index, is_null: false })
            }
            None => Ok(FALSE),
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::conn::Value;
    use crate::query::args::Cmp;

    fn eq(field: usize, value: i64) -> Filter {
        Filter::Compare { field, cmp: Cmp::Eq, value: Value::Int(value), insensitive: false }
    }

    #[test]
    fn a_known_condition_folds_a_rule_away() {
        // (published OR authorId = 7) AND (published AND views >= 500)
        let rule = Filter::Or(vec![eq(0, 1), eq(1, 7)]);
        let request = Filter::And(vec![eq(0, 1), eq(2, 500)]);
        assert_eq!(simplify(Filter::And(vec![rule.clone(), request.clone()])), request);
        // Under NOT it folds to false; inside a relation filter it stays (another row's field).
        let negated = Filter::And(vec![eq(0, 1), Filter::Not(Box::new(eq(0, 1)))]);
        assert!(is_false(&simplify(negated)));
        let related = Filter::Relation {
            relation: 0,
            quantifier: crate::query::args::Quantifier::Some,
            filter: Box::new(eq(0, 1)),
        };
        let kept = simplify(Filter::And(vec![eq(0, 1), related.clone()]));
        assert_eq!(kept, Filter::And(vec![eq(0, 1), related]));
        // Without the request's condition, the rule stays whole.
        assert_eq!(simplify(Filter::And(vec![rule.clone(), eq(2, 500)])), Filter::And(vec![rule, eq(2, 500)]));
    }
}
