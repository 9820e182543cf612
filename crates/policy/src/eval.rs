//! The in-memory evaluator: a [`Predicate`] over one row and one caller, both as the
//! API shows them (JSON objects with the API's value forms).
//!
//! The realtime gateway uses it to decide, per changed row and subscriber, whether the row
//! may be seen. A rule that reaches through relations needs the related rows: when the
//! row does not carry them (as nested objects or lists under the relation's name), the
//! answer is [`Verdict::NeedsRelations`] and the caller asks the database instead.
//!
//! Semantics, shared with the SQL evaluator: a comparison with null (or a missing value)
//! is false, `!=` included; `auth == null` and `auth != null` ask whether there is a
//! caller; `!`, `&&` and `||` are two-valued.

use crate::predicate::{CompareOp, Operand, Predicate, Quantifier, Value};
use serde_json::{Map, Value as Json};
use std::cmp::Ordering;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Allow,
    Deny,
    /// The rule reads related rows the given row does not carry.
    NeedsRelations,
}

/// What a rule reads besides the row: the caller (`None` when anonymous) and the time
/// `now()` stands for, as an ISO-8601 UTC string (`2024-05-01T12:30:00.000Z`).
pub struct Context<'a> {
    pub auth: Option<&'a Map<String, Json>>,
    pub now: &'a str,
}

pub fn evaluate(predicate: &Predicate, row: &Map<String, Json>, cx: &Context<'_>) -> Verdict {
    match eval(predicate, row, cx) {
        Ok(true) => Verdict::Allow,
        Ok(false) => Verdict::Deny,
        Err(Missing) => Verdict::NeedsRelations,
    }
}

/// What `predicate` says for the caller `auth` (`None`: anonymous) before any row is read:
/// `Some` when the caller alone decides it, whatever the row, `None` when the row (or the
/// time: `now()` is not known here) may change the answer.
///
/// Certain answers only: where this says `Some(b)`, the SQL evaluator folds the rule to
/// `b` for that caller too (a comparison of values by [`holds`], a field compared with
/// null is false, and `!`, `&&` and `||` fold the same way); it may leave undecided a
/// rule that the SQL evaluator decides (by what the column types admit, or by the
/// conditions of a conjunction that contradict each other).
pub fn decided(predicate: &Predicate, auth: Option<&Map<String, Json>>) -> Option<bool> {
    let value = |operand: &Operand| -> Option<Json> {
        match operand {
            Operand::Literal(value) => Some(literal(value)),
            Operand::Auth(path) => Some(match (auth, path.as_slice()) {
                (None, _) => Json::Null,
                (Some(auth), []) => Json::Object(auth.clone()),
                (Some(auth), [name, ..]) => auth.get(name).cloned().unwrap_or(Json::Null),
            }),
            Operand::Field(_) | Operand::Now => None,
        }
    };
    match predicate {
        Predicate::Const(b) => Some(*b),
        Predicate::And(parts) => {
            let mut all = Some(true);
            for part in parts {
                match decided(part, auth) {
                    Some(false) => return Some(false),
                    Some(true) => {}
                    None => all = None,
                }
            }
            all
        }
        Predicate::Or(parts) => {
            let mut any = Some(false);
            for part in parts {
                match decided(part, auth) {
                    Some(true) => return Some(true),
                    Some(false) => {}
                    None => any = None,
                }
            }
            any
        }
        Predicate::Not(inner) => decided(inner, auth).map(|b| !b),
        Predicate::Compare { op, left: Operand::Auth(path), right: Operand::Literal(Value::Null) }
            if path.is_empty() =>
        {
            Some((*op == CompareOp::Eq) == auth.is_none())
        }
        Predicate::Compare { op, left, right } => match (value(left), value(right)) {
            (Some(a), Some(b)) => Some(holds(*op, &a, &b)),
            // A comparison with null is false, whatever the other side holds.
            (Some(v), None) | (None, Some(v)) if v.is_null() => Some(false),
            _ => None,
        },
        Predicate::In { value: item, list } => match (value(item), value(list)) {
            (Some(v), Some(Json::Array(items))) => Some(items.iter().any(|i| holds(CompareOp::Eq, &v, i))),
            // Not a list (a claim the caller lacks): nothing is in it.
            (_, Some(list)) if !list.is_array() => Some(false),
            // A field in a list of values: no value equals null.
            (None, Some(Json::Array(items)))
                if matches!(item, Operand::Field(_)) && items.iter().all(Json::is_null) =>
            {
                Some(false)
            }
            _ => None,
        },
        // What related rows hold is the rows' to decide.
        Predicate::Quantified { .. } => None,
    }
}

/// A related row the evaluation needed and the row did not carry.
struct Missing;

fn eval(predicate: &Predicate, row: &Map<String, Json>, cx: &Context<'_>) -> Result<bool, Missing> {
    Ok(match predicate {
        Predicate::Const(b) => *b,
        Predicate::And(parts) => {
            for part in parts {
                if !eval(part, row, cx)? {
                    return Ok(false);
                }
            }
            true
        }
        Predicate::Or(parts) => {
            for part in parts {
                if eval(part, row, cx)? {
                    return Ok(true);
                }
            }
            false
        }
        Predicate::Not(inner) => !eval(inner, row, cx)?,
        Predicate::Compare { op, left: Operand::Auth(path), right: Operand::Literal(Value::Null) }
            if path.is_empty() =>
        {
            // `auth == null` / `auth != null`: is there a caller?
            match op {
                CompareOp::Eq => cx.auth.is_none(),
                _ => cx.auth.is_some(),
            }
        }
        Predicate::Compare { op, left, right } => {
            let (a, b) = (operand(left, row, cx)?, operand(right, row, cx)?);
            holds(*op, &a, &b)
        }
        Predicate::In { value, list } => {
            let value = operand(value, row, cx)?;
            let Json::Array(items) = operand(list, row, cx)? else { return Ok(false) };
            !value.is_null() && items.iter().any(|item| compare(&value, item) == Some(Ordering::Equal))
        }
        Predicate::Quantified { relations, quantifier, body } => {
            let (steps, last) = relations.split_at(relations.len().saturating_sub(1));
            let Some(target) = walk(row, steps)? else { return Ok(*quantifier != Quantifier::Some) };
            let related = match last.first().and_then(|name| target.get(name)) {
                Some(Json::Array(items)) => items,
                _ => return Err(Missing),
            };
            let mut matches = related.iter().filter_map(Json::as_object).map(|r| eval(body, r, cx));
            match quantifier {
                Quantifier::Some => matches.try_fold(false, |any, m| m.map(|m| any || m))?,
                Quantifier::Every => matches.try_fold(true, |all, m| m.map(|m| all && m))?,
                Quantifier::None => !matches.try_fold(false, |any, m| m.map(|m| any || m))?,
            }
        }
    })
}

/// Follows to-one relations: `Ok(None)` when one is null (no related row).
fn walk<'r>(row: &'r Map<String, Json>, steps: &[String]) -> Result<Option<&'r Map<String, Json>>, Missing> {
    let mut current = row;
    for step in steps {
        match current.get(step) {
            Some(Json::Object(next)) => current = next,
            Some(Json::Null) => return Ok(None),
            _ => return Err(Missing),
        }
    }
    Ok(Some(current))
}

fn operand(operand: &Operand, row: &Map<String, Json>, cx: &Context<'_>) -> Result<Json, Missing> {
    Ok(match operand {
        Operand::Literal(value) => literal(value),
        Operand::Now => Json::String(cx.now.to_string()),
        Operand::Auth(path) => match (cx.auth, path.as_slice()) {
            (None, _) => Json::Null,
            (Some(auth), []) => Json::Object(auth.clone()),
            (Some(auth), [name, ..]) => auth.get(name).cloned().unwrap_or(Json::Null),
        },
        Operand::Field(path) => {
            let (steps, field) = path.split_at(path.len().saturating_sub(1));
            match walk(row, steps)? {
                None => Json::Null,
                Some(target) => field.first().and_then(|f| target.get(f)).cloned().unwrap_or(Json::Null),
            }
        }
    })
}

fn literal(value: &Value) -> Json {
    match value {
        Value::Null => Json::Null,
        Value::Bool(b) => Json::Bool(*b),
        Value::Int(i) => Json::from(*i),
        Value::Float(f) => Json::from(*f),
        Value::String(s) => Json::String(s.clone()),
        Value::List(items) => Json::Array(items.iter().map(literal).collect()),
    }
}

/// Whether `a op b` holds for two API values: false with null on either side, and false
/// for values of kinds that do not compare (a claim of another type).
pub fn holds(op: CompareOp, a: &Json, b: &Json) -> bool {
    if a.is_null() || b.is_null() {
        return false;
    }
    match compare(a, b) {
        Some(ordering) => match op {
            CompareOp::Eq => ordering == Ordering::Equal,
            CompareOp::Ne => ordering != Ordering::Equal,
            CompareOp::Lt => ordering == Ordering::Less,
            CompareOp::Lte => ordering != Ordering::Greater,
            CompareOp::Gt => ordering == Ordering::Greater,
            CompareOp::Gte => ordering != Ordering::Less,
        },
        None => false,
    }
}

/// A literal as the API's JSON.
pub fn literal_json(value: &Value) -> Json {
    literal(value)
}

/// Orders two API values: numbers with numbers (also `BigInt` and `Decimal`, which
/// travel as numeric strings), strings with strings (ISO-8601 UTC times order as
/// strings), booleans with booleans.
fn compare(a: &Json, b: &Json) -> Option<Ordering> {
    let number = |v: &Json| match v {
        Json::Number(n) => n.as_f64(),
        Json::String(s) => s.parse::<f64>().ok(),
        _ => None,
    };
    match (a, b) {
        (Json::String(x), Json::String(y)) => Some(x.cmp(y)),
        (Json::Bool(x), Json::Bool(y)) => Some(x.cmp(y)),
        (Json::Number(_), _) | (_, Json::Number(_)) => number(a)?.partial_cmp(&number(b)?),
        _ => None,
    }
}
