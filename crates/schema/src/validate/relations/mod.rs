//! Relations: pairing relation fields into relations and checking each one's shape,
//! foreign key and referential actions, as Prisma does.
//!
//! Relation fields are grouped by the two models they join and their relation name.
//! A group must hold exactly two fields (one per side, or two on the same model for a
//! self-relation); their arities decide the shape: list + list is many-to-many,
//! list + single is one-to-many, single + single is one-to-one.

mod attribute;
mod cycles;
mod foreign_keys;

use super::{args, Cx};
use crate::fx::FxHashMap;
use crate::ir::Text;
use crate::ir::{Arity, FieldType, Model, ReferentialAction, Relation, RelationEnd, RelationKind, RelationMode};
use crate::span::Span;
use crate::syntax::ast::ModelAst;
use attribute::collect;
use foreign_keys::foreign_key;

/// One relation field with its `@relation` arguments read.
pub(super) struct RelField {
    pub(super) model: usize,
    pub(super) field: usize,
    pub(super) target: Text,
    pub(super) name: Option<Text>,
    pub(super) fields: Option<Vec<(Text, Span)>>,
    pub(super) references: Option<Vec<(Text, Span)>>,
    pub(super) on_delete: Option<(ReferentialAction, Span)>,
    pub(super) on_update: Option<(ReferentialAction, Span)>,
    pub(super) map: Option<Text>,
    pub(super) span: Span,
    pub(super) arity: Arity,
    /// Its `@relation` had a syntax error: the relation is not checked further.
    pub(super) malformed: bool,
    /// The index of the target model in the model list.
    pub(super) target_index: Option<usize>,
    /// `fields` or `references` was written, even as an empty list.
    pub(super) fk_written: bool,
}

impl RelField {
    fn has_fk_arguments(&self) -> bool {
        self.fields.is_some() || self.references.is_some() || self.fk_written
    }
}

/// A relation group's key: the two models' names, sorted, and the relation name ("" for none).
type GroupKey<'a> = (&'a str, &'a str, &'a str);

pub(crate) fn resolve(asts: &[&ModelAst], models: &mut [Model], cx: &mut Cx<'_, '_>) -> Vec<Relation> {
    let rel_fields = collect(asts, models, cx);
    // Group by (the two models, sorted; relation name), in the order of the source.
    // Sized up front: these lists hold large items, and growing them copied each one again.
    // The keys borrow the names from the models and the relation fields.
    let mut group_of: FxHashMap<GroupKey<'_>, usize> =
        FxHashMap::with_capacity_and_hasher(rel_fields.len(), Default::default());
    let mut groups: Vec<(GroupKey<'_>, Vec<usize>)> = Vec::with_capacity(rel_fields.len());
    for (i, f) in rel_fields.iter().enumerate() {
        let own = models[f.model].name.as_str();
        let target = f.target.as_str();
        let (a, b) = if own <= target { (own, target) } else { (target, own) };
        let key = (a, b, f.name.as_deref().unwrap_or_default());
        let next = groups.len();
        let group = *group_of.entry(key).or_insert(next);
        if group == next {
            groups.push((key, Vec::new()));
        }
        groups[group].1.push(i);
    }
    let mut relations = Vec::with_capacity(groups.len());
    let mut assignments: Vec<(usize, usize, usize)> = Vec::with_capacity(2 * groups.len());
    let mut scratch = String::new();
    for ((a, b, name), members) in groups {
        if members.iter().any(|&i| rel_fields[i].malformed) {
            continue;
        }
        let Some((first, second)) = pair(&rel_fields, &members, models, cx) else {
            continue;
        };
        let (x, y) = (&rel_fields[first], &rel_fields[second]);
        let name = if name.is_empty() { concat(&mut scratch, &[a, "To", b]) } else { Text::from(name) };
        if let Some(relation) = shape(x, y, name, models, &mut scratch, cx) {
            let index = relations.len();
            assignments.push((x.model, x.field, index));
            assignments.push((y.model, y.field, index));
            relations.push(relation);
        }
    }
    if cx.relation_mode == RelationMode::Prisma {
        cycles::check(&relations, models, cx);
    }
    for (model, field, index) in assignments {
        if let FieldType::Relation { relation, .. } = &mut models[model].fields[field].ty {
            *relation = index;
        }
    }
    relations
}

/// The two fields of a relation group, or `None` after reporting why there are not two.
fn pair(rel: &[RelField], members: &[usize], models: &[Model], cx: &mut Cx<'_, '_>) -> Option<(usize, usize)> {
    let field = |i: usize| &models[rel[i].model].fields[rel[i].field];
    let model_name = |i: usize| models[rel[i].model].name.as_str();
    let first = members[0];
    let is_self = model_name(first) == rel[first].target;
    let named = rel[first].name.is_some();
    if is_self && !named && members.len() == 2 {
        let (x, y) = (members[0], members[1]);
        cx.diagnostics
            .error(
                "E0301",
                format!(
                    "ambiguous self-relation: `{}` and `{}` in `{}` both refer to `{}`",
                    field(x).name,
                    field(y).name,
                    model_name(x),
                    model_name(x)
                ),
                field(y).span,
            )
            .label("which relation is this?")
            .secondary(field(x).span, "and this one")
            .help("if they are two ends of one relation, give both the same name: `@relation(\"name\")`");
        return None;
    }
    if members.len() > 2 || (!is_self && members.iter().filter(|&&i| model_name(i) == model_name(first)).count() > 1) {
        let (x, y) = (
            members[0],
            members[1..].iter().copied().find(|&i| model_name(i) == model_name(first)).unwrap_or(members[1]),
        );
        cx.diagnostics
            .error(
                "E0301",
                format!(
                    "ambiguous relation: `{}` and `{}` in `{}` both refer to `{}`",
                    field(x).name,
                    field(y).name,
                    model_name(x),
                    rel[x].target
                ),
                field(y).span,
            )
            .label("which relation is this?")
            .secondary(field(x).span, "and this one")
            .help("give each relation its own name with `@relation(\"name\")`, on both of its ends");
        return None;
    }
    if members.len() == 1 {
        let x = members[0];
        cx.diagnostics
            .error(
                "E0302",
                format!(
                    "relation field `{}` on `{}` has no opposite field on `{}`",
                    field(x).name,
                    model_name(x),
                    rel[x].target
                ),
                field(x).span,
            )
            .label("missing back-relation")
            .help(format!(
                "add a field of type `{}` (or a list of it) to `{}`; `prisma format` can add it",
                model_name(x),
                rel[x].target
            ));
        return None;
    }
    Some((members[0], members[1]))
}

fn shape(
    x: &RelField,
    y: &RelField,
    name: Text,
    models: &[Model],
    scratch: &mut String,
    cx: &mut Cx<'_, '_>,
) -> Option<Relation> {
    let end = |f: &RelField| RelationEnd {
        model: models[f.model].name.clone(),
        field: models[f.model].fields[f.field].name.clone(),
    };
    let field_name = |f: &RelField| models[f.model].fields[f.field].name.clone();
    match (x.arity == Arity::List, y.arity == Arity::List) {
        (true, true) => {
            for f in [x, y] {
                if f.has_fk_arguments() {
                    cx.diagnostics
                        .error(
                            "E0303",
                            format!(
                                "the many-to-many relation field `{}` cannot have `fields` or `references`",
                                field_name(f)
                            ),
                            f.span,
                        )
                        .label("implicit many-to-many relations keep their keys in a join table")
                        .help("remove the arguments, or model the join table explicitly");
                }
                no_actions(f, None, models, cx);
                let target = models.get(f.target_index?)?;
                if target.primary_key.as_ref().is_none_or(|pk| pk.fields.len() != 1) {
                    cx.diagnostics
                        .error("E0304", format!("`{}` has no single-field `@id`, so it cannot be part of the many-to-many relation `{}`", target.name, field_name(f)), f.span)
                        .label("implicit many-to-many needs an `@id` on both models")
                        .help("give the model a single-field `@id`, or use an explicit join model");
                }
            }
            let (a, b) = if (end(x).model, x.field) <= (end(y).model, y.field) { (x, y) } else { (y, x) };
            Some(Relation {
                join_table: Some(concat(scratch, &["_", &name])),
                name,
                kind: RelationKind::ManyToMany,
                referencing: end(a),
                referenced: end(b),
                fields: Vec::new(),
                references: Vec::new(),
                on_delete: None,
                on_update: None,
                db_name: None,
            })
        }
        (true, false) | (false, true) => {
            let (list, single) = if x.arity == Arity::List { (x, y) } else { (y, x) };
            if list.has_fk_arguments() {
                cx.diagnostics
                    .error(
                        "E0307",
                        format!("the list field `{}` cannot have `fields` or `references`", field_name(list)),
                        list.span,
                    )
                    .label("the foreign key belongs on the other side")
                    .help(format!("put them on `{}` in `{}`", field_name(single), models[single.model].name));
            }
            no_actions(list, Some(single), models, cx);
            if single.fields.is_none() {
                cx.diagnostics
                    .error(
                        "E0305",
                        format!("relation field `{}` needs `fields` and `references`", field_name(single)),
                        single.span,
                    )
                    .label("this side of a one-to-many relation holds the foreign key")
                    .help(format!(
                        "write `@relation(fields: [{}Id], references: [id])` with a scalar field for the key",
                        field_name(single)
                    ));
            }
            Some(foreign_key(single, list, RelationKind::OneToMany, name, models, cx))
        }
        (false, false) => {
            let (referencing, referenced) = match (x.has_fk_arguments(), y.has_fk_arguments()) {
                (true, true) => {
                    cx.diagnostics
                        .error(
                            "E0309",
                            format!(
                                "both ends of the one-to-one relation `{}`/`{}` have `fields` or `references`",
                                field_name(x),
                                field_name(y)
                            ),
                            y.span,
                        )
                        .label("only one side may hold the foreign key")
                        .secondary(x.span, "this side holds it too");
                    (x, y)
                }
                (false, false) => {
                    cx.diagnostics
                        .error(
                            "E0310",
                            format!(
                                "neither end of the one-to-one relation `{}`/`{}` has `fields` and `references`",
                                field_name(x),
                                field_name(y)
                            ),
                            x.span,
                        )
                        .label("one side must hold the foreign key")
                        .secondary(y.span, "other side");
                    return None;
                }
                (true, false) => (x, y),
                (false, true) => (y, x),
            };
            no_actions(referenced, Some(referencing), models, cx);
            if referencing.fields.is_none() && referencing.references.is_none() {
                cx.diagnostics
                    .error(
                        "E0305",
                        format!("relation field `{}` needs `fields` and `references`", field_name(referencing)),
                        referencing.span,
                    )
                    .label("empty lists name no foreign key");
            }

            if referenced.arity == Arity::Required {
                cx.diagnostics
                    .error(
                        "E0311",
                        format!(
                            "`{}` must be optional: it is the side of a one-to-one relation without the foreign key",
                            field_name(referenced)
                        ),
                        referenced.span,
                    )
                    .label("make this field optional with `?`")
                    .help("the database cannot require a row on the side that has no foreign key");
            }
            let relation = foreign_key(referencing, referenced, RelationKind::OneToOne, name, models, cx);
            let own = &models[referencing.model];
            let unique = own
                .primary_key
                .iter()
                .map(|p| &p.fields)
                .chain(own.uniques.iter().map(|u| &u.fields))
                .any(|u| *u == relation.fields);
            if !relation.fields.is_empty() && !unique {
                cx.diagnostics
                    .error("E0312", format!("the one-to-one relation `{}` needs unique `fields`", field_name(referencing)), referencing.span)
                    .label(format!("`{}` is not unique", relation.fields.join(", ")))
                    .help("add `@unique` to the foreign key field (or `@@unique` over the fields), or make the relation one-to-many");
            }
            Some(relation)
        }
    }
}

/// `onDelete`/`onUpdate` are only allowed on the side with the foreign key.
fn no_actions(f: &RelField, other: Option<&RelField>, models: &[Model], cx: &mut Cx<'_, '_>) {
    for (action, span) in [f.on_delete, f.on_update].into_iter().flatten() {
        let help = match other {
            Some(o) => format!("put it on `{}` in `{}`", models[o.model].fields[o.field].name, models[o.model].name),
            None => "for many-to-many, use an explicit join model to set referential actions".to_string(),
        };
        cx.diagnostics
            .error("E0308", format!("referential action `{action:?}` on the side without the foreign key"), span)
            .label("not allowed here")
            .help(help);
    }
}

/// The parts joined, through `scratch`: the derived relation and join table names. Without
/// `format!`, whose machinery cost five times the copying for these short names (one per
/// relation), or pushes onto the inline string, which cost twice as much as one copy.
fn concat(scratch: &mut String, parts: &[&str]) -> Text {
    scratch.clear();
    for part in parts {
        scratch.push_str(part);
    }
    Text::from(scratch.as_str())
}

/// Whether the names `a` and the names in `b` (with their spans) are the same set.
pub(super) fn same_set(a: &[Text], b: &[(Text, Span)]) -> bool {
    a.len() == b.len() && a.iter().all(|x| b.iter().any(|(n, _)| n == x))
}
