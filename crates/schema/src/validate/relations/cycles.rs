//! With `relationMode = "prisma"`, Prisma Client carries out referential actions itself,
//! and refuses schemas where they could loop: a self-relation, or a cycle of relations,
//! whose actions are not all `NoAction`/`Restrict` (the defaults, `SetNull`/`Restrict` on
//! delete and `Cascade` on update, count as acting).

use crate::fx::FxHashMap;
use crate::ir::{Model, ReferentialAction, Relation};
use crate::validate::Cx;

/// Whether a change to the referenced row can act on the referencing rows.
fn acts(relation: &Relation) -> bool {
    let passive = |action: Option<ReferentialAction>| {
        matches!(action, Some(ReferentialAction::NoAction | ReferentialAction::Restrict))
    };
    !(passive(relation.on_delete) && passive(relation.on_update))
}

pub(super) fn check(relations: &[Relation], models: &[Model], cx: &mut Cx<'_, '_>) {
    let span_of = |relation: &Relation| {
        models
            .iter()
            .find(|m| m.name == relation.referencing.model)
            .and_then(|m| m.field(&relation.referencing.field))
            .map_or_else(Default::default, |f| f.span)
    };
    // Edges from the referenced model to the referencing one: where an action travels.
    let mut edges: FxHashMap<&str, Vec<&str>> = FxHashMap::default();
    for relation in relations.iter().filter(|r| !r.fields.is_empty() && acts(r)) {
        let (from, to) = (relation.referenced.model.as_str(), relation.referencing.model.as_str());
        if from == to {
            cx.diagnostics
                .error(
                    "E0325",
                    "a self-relation needs `onDelete` and `onUpdate` set to `NoAction` or `Restrict`",
                    span_of(relation),
                )
                .label("its referential actions could loop with `relationMode = \"prisma\"`")
                .help("add `onDelete: Restrict, onUpdate: Restrict` to this `@relation`");
            continue;
        }
        edges.entry(from).or_default().push(to);
    }
    for relation in relations.iter().filter(|r| !r.fields.is_empty() && acts(r)) {
        let (from, to) = (relation.referenced.model.as_str(), relation.referencing.model.as_str());
        if from != to && reaches(&edges, to, from) {
            cx.diagnostics
                .error(
                    "E0326",
                    format!("the relation `{}` closes a cycle of referential actions", relation.name),
                    span_of(relation),
                )
                .label("actions could travel round this cycle with `relationMode = \"prisma\"`")
                .help("set `onDelete` and `onUpdate` to `NoAction` or `Restrict` on one relation of the cycle");
        }
    }
}

/// Depth-first search over acting edges.
fn reaches(edges: &FxHashMap<&str, Vec<&str>>, start: &str, goal: &str) -> bool {
    let mut stack = vec![start];
    let mut seen = vec![start];
    while let Some(model) = stack.pop() {
        if model == goal {
            return true;
        }
        for next in edges.get(model).into_iter().flatten() {
            if !seen.contains(next) {
                seen.push(next);
                stack.push(next);
            }
        }
    }
    false
}
