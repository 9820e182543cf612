//! The side of a relation that holds the foreign key: `fields` and `references`,
//! their types and uniqueness, optionality, and referential actions.

use super::{same_set, RelField};
use crate::ir::Text;
use crate::ir::{Arity, Field, Model, Provider, ReferentialAction, Relation, RelationEnd, RelationKind, RelationMode};
use crate::validate::{models, Cx};

/// Checks the `fields`/`references` of the side holding the foreign key.
pub(super) fn foreign_key(
    rel: &RelField,
    other: &RelField,
    kind: RelationKind,
    name: Text,
    models: &[Model],
    cx: &mut Cx<'_, '_>,
) -> Relation {
    let own = &models[rel.model];
    let relation_field = &own.fields[rel.field];
    let target = rel.target_index.and_then(|i| models.get(i));
    let fields: &[(Text, crate::Span)] = rel.fields.as_deref().unwrap_or_default();
    let references: &[(Text, crate::Span)] = rel.references.as_deref().unwrap_or_default();
    if rel.fields.is_some() != rel.references.is_some() {
        let (missing, present) = if rel.fields.is_some() { ("references", "fields") } else { ("fields", "references") };
        cx.diagnostics
            .error(
                "E0306",
                format!("relation field `{}` has `{present}` but no `{missing}`", relation_field.name),
                rel.span,
            )
            .label(format!("missing `{missing}`"))
            .help("give both: `@relation(fields: [authorId], references: [id])`");
    } else if fields.len() != references.len() {
        cx.diagnostics
            .error(
                "E0314",
                format!(
                    "relation field `{}` has {} `fields` but {} `references`",
                    relation_field.name,
                    fields.len(),
                    references.len()
                ),
                rel.span,
            )
            .label("each field must match one referenced field");
    }
    let mut own_fields: Vec<Option<&Field>> = Vec::with_capacity(fields.len());
    for (name, span) in fields {
        let field = own.field(name);
        match field {
            None => {
                cx.diagnostics
                    .error("E0315", format!("`fields` names `{name}`, which is not a field of `{}`", own.name), *span)
                    .label("unknown field")
                    .suggest(name, own.fields.iter().map(|f| f.name.as_str()));
            }
            Some(f) if f.is_relation() => {
                cx.diagnostics
                    .error("E0316", format!("`fields` names the relation field `{name}`"), *span)
                    .label("the foreign key must be made of scalar fields");
            }
            Some(_) => {}
        }
        own_fields.push(field.filter(|f| !f.is_relation()));
    }
    if let Some(target) = target {
        let mut target_fields = Vec::with_capacity(references.len());
        for (name, span) in references {
            match target.field(name) {
                Some(f) if !f.is_relation() => target_fields.push(Some(f)),
                Some(_) => {
                    cx.diagnostics
                        .error(
                            "E0317",
                            format!("`references` names the relation field `{name}` of `{}`", target.name),
                            *span,
                        )
                        .label("references must be scalar fields");
                    target_fields.push(None);
                }
                None => {
                    cx.diagnostics
                        .error(
                            "E0317",
                            format!("`references` names `{name}`, which is not a field of `{}`", target.name),
                            *span,
                        )
                        .label("unknown field")
                        .suggest(name, target.fields.iter().map(|f| f.name.as_str()));
                    target_fields.push(None);
                }
            }
        }
        let is_unique = target
            .primary_key
            .iter()
            .map(|p| &p.fields)
            .chain(target.uniques.iter().map(|u| &u.fields))
            .any(|u| same_set(u, references));
        if !references.is_empty() && target_fields.iter().all(Option::is_some) && !is_unique {
            cx.diagnostics
                .error(
                    "E0318",
                    format!("`references` must name a unique criterion of `{}`", target.name),
                    references[0].1.to(references[references.len() - 1].1),
                )
                .label(format!(
                    "`{}` is not an id or unique in `{}`",
                    references.iter().map(|(n, _)| n.as_str()).collect::<Vec<_>>().join(", "),
                    target.name
                ))
                .help("reference the id, or fields marked `@unique` / covered by `@@unique`");
        }
        for ((own_field, target_field), (name, span)) in own_fields.iter().zip(&target_fields).zip(fields) {
            if let (Some(a), Some(b)) = (own_field, target_field) {
                if a.ty != b.ty {
                    cx.diagnostics
                        .error(
                            "E0319",
                            format!(
                                "`{name}` is `{}` but the field it references, `{}.{}`, is `{}`",
                                models::scalar_type_name(a),
                                target.name,
                                b.name,
                                models::scalar_type_name(b)
                            ),
                            *span,
                        )
                        .label("type differs from the referenced field")
                        .help("a foreign key must have the same type as the key it references");
                }
            }
        }
    }
    let any_optional = own_fields.iter().flatten().any(|f| f.arity == Arity::Optional);
    let any_required = own_fields.iter().flatten().any(|f| f.arity == Arity::Required);
    if relation_field.arity == Arity::Required && any_optional {
        cx.diagnostics
            .error(
                "E0320",
                format!("relation field `{}` is required but its foreign key has optional fields", relation_field.name),
                rel.span,
            )
            .label("make this relation optional with `?`, or the key fields required");
    }
    for (action, span) in [rel.on_delete, rel.on_update].into_iter().flatten() {
        if action == ReferentialAction::SetNull && any_required {
            let lenient = cx.provider == Some(Provider::Postgresql) && cx.relation_mode == RelationMode::ForeignKeys;
            let mut report = if lenient {
                cx.diagnostics.warning("W0322", "`SetNull` on a required foreign key", span)
            } else {
                cx.diagnostics.error("E0322", "`SetNull` cannot be used when the foreign key is required", span)
            };
            report = report
                .label("the key fields cannot be set to null")
                .help("make the foreign key fields optional, or choose another action");
            drop(report);
        }
    }
    Relation {
        name,
        kind,
        referencing: RelationEnd { model: own.name.clone(), field: relation_field.name.clone() },
        referenced: RelationEnd {
            model: rel.target.clone(),
            field: models[other.model].fields[other.field].name.clone(),
        },
        fields: fields.iter().map(|(n, _)| n.clone()).collect(),
        references: references.iter().map(|(n, _)| n.clone()).collect(),
        on_delete: rel.on_delete.map(|(a, _)| a),
        on_update: rel.on_update.map(|(a, _)| a),
        db_name: rel.map.clone(),
        join_table: None,
    }
}
