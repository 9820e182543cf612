//! Reading relation fields: each with its `@relation` attribute's arguments (name,
//! `fields`, `references`, referential actions, `map`), checked one by one before the
//! fields are paired into relations.

use super::{args, Cx, RelField};
use crate::fx::{FxHashMap, FxHashSet};
use crate::ir::{Field, FieldType, Model, Provider, ReferentialAction, RelationMode, Text};
use crate::span::Span;
use crate::syntax::ast::{Attribute, Expr, ModelAst};

pub(super) fn collect(asts: &[&ModelAst], models: &[Model], cx: &mut Cx<'_, '_>) -> Vec<RelField> {
    let relation_fields = models.iter().flat_map(|m| &m.fields).filter(|f| f.is_relation()).count();
    let mut out = Vec::with_capacity(relation_fields);
    let ignored: FxHashSet<&str> = models.iter().filter(|m| m.ignored).map(|m| m.name.as_str()).collect();
    let index: FxHashMap<&str, usize> = models.iter().enumerate().map(|(i, m)| (m.name.as_str(), i)).collect();
    for (mi, (ast, model)) in asts.iter().zip(models).enumerate() {
        // IR fields keep the AST's order (skipping broken ones), so one pass finds each.
        let mut ast_fields = ast.fields.iter();
        for (fi, field) in model.fields.iter().enumerate() {
            let FieldType::Relation { model: target, .. } = &field.ty else {
                continue;
            };
            let target_ignored = ignored.contains(target.as_str());

            // Ignored fields and models still form relations (Prisma checks them all);
            // only a live field may not point into an ignored model.
            if target_ignored && !field.ignored && !model.ignored {
                cx.diagnostics
                    .error(
                        "E0313",
                        format!("relation field `{}` points to the ignored model `{target}`", field.name),
                        field.span,
                    )
                    .label("this field must be ignored too")
                    .help("add `@ignore` to the field");
                continue;
            }
            let attribute = ast_fields
                .find(|f| f.span == field.span)
                .and_then(|f| f.attributes.iter().find(|a| a.name.name == "relation"));
            let mut rel = read_relation_attribute(mi, fi, field, target, attribute, cx);
            rel.target_index = index.get(target.as_str()).copied();
            out.push(rel);
        }
    }
    out
}

fn read_relation_attribute(
    model: usize,
    field_index: usize,
    field: &Field,
    target: &str,
    attribute: Option<&Attribute>,
    cx: &mut Cx<'_, '_>,
) -> RelField {
    let mut rel = RelField {
        model,
        field: field_index,
        target: Text::from(target),
        name: None,
        fields: None,
        references: None,
        on_delete: None,
        on_update: None,
        map: None,
        span: field.span,
        arity: field.arity,
        malformed: attribute.is_some_and(|a| a.malformed),
        target_index: None,
        fk_written: false,
    };
    let Some(attribute) = attribute.filter(|a| !a.malformed) else {
        return rel;
    };
    // Prisma quirk: with the name given both positionally and as `name:`, it treats the
    // relation as unnamed (so an unnamed opposite field still pairs with it).
    let positional_names = attribute.args.iter().filter(|a| a.name.is_none()).count();
    let named_names = attribute
        .args
        .iter()
        .filter(|a| a.name.as_ref().is_some_and(|n| n.name == "name") && !matches!(a.value, Expr::Empty(_)))
        .count();
    let (kept, unnamed_by_quirk): (Vec<_>, _);
    let attribute = if positional_names == 1 && named_names == 1 {
        kept = attribute.args.iter().filter(|a| a.name.as_ref().is_some_and(|n| n.name != "name")).cloned().collect();
        unnamed_by_quirk = Attribute { args: &kept, ..attribute.clone() };
        &unnamed_by_quirk
    } else {
        attribute
    };
    let accepted = ["name", "fields", "references", "onDelete", "onUpdate", "map"];
    let a = args::read(attribute, "@", &accepted, &["name"], cx.diagnostics);
    if let Some(value) = a.get("name") {
        rel.name = args::string(value, "the relation name", cx.diagnostics).map(Text::from);
        if rel.name.as_deref() == Some("") {
            cx.diagnostics
                .error("E0323", "a relation name cannot be empty", value.span())
                .label("give it a name, or remove it");
        }
    }
    if let Some(value) = a.get("map") {
        rel.map = args::string(value, "`map`", cx.diagnostics).map(Text::from);
        super::super::indexes::check_map_length(value, cx);
        if rel.map.as_deref() == Some("") {
            cx.diagnostics
                .error("E0175", "`map` cannot be an empty string", value.span())
                .label("give a name, or remove `map`");
        } else if matches!(cx.provider, Some(Provider::Sqlite) | None) {
            cx.diagnostics
                .error("E0182", "this provider does not name foreign keys", value.span())
                .label("remove `map:`: SQLite foreign keys have no name");
        }
    }
    for key in ["fields", "references"] {
        for item in a.get(key).map(Expr::as_list).unwrap_or_default() {
            if let Expr::Call { span, .. } = item {
                cx.diagnostics
                    .error("E0197", format!("`{key}` takes plain field names"), *span)
                    .label("no options (such as `sort:`) here");
            }
        }
    }
    rel.fk_written = a.get("fields").is_some() || a.get("references").is_some();
    // An empty list is as good as none: the relation still lacks its key.
    let mut owned = |list: &Expr, what: &str| {
        let items = list.as_list().iter();
        items.filter_map(|item| args::field_name(item, what, cx.diagnostics)).map(|(n, s)| (Text::from(n), s)).collect()
    };
    rel.fields = a.get("fields").map(|e| owned(e, "`fields`")).filter(|f: &Vec<_>| !f.is_empty());
    rel.references = a.get("references").map(|e| owned(e, "`references`")).filter(|f: &Vec<_>| !f.is_empty());
    rel.on_delete = a.get("onDelete").and_then(|e| action(e, cx));
    rel.on_update = a.get("onUpdate").and_then(|e| action(e, cx));
    rel
}

fn action(expr: &Expr, cx: &mut Cx<'_, '_>) -> Option<(ReferentialAction, Span)> {
    let name = expr.as_path().unwrap_or_default();
    match ReferentialAction::parse(name) {
        Some(action) if cx.relation_mode == RelationMode::Prisma => {
            // Prisma emulates these in the client; it has no emulation for SetDefault, nor
            // for NoAction on PostgreSQL (where it would differ from Restrict).
            let unsupported = action == ReferentialAction::SetDefault
                || (action == ReferentialAction::NoAction
                    && matches!(cx.provider, Some(Provider::Postgresql | Provider::Sqlite)));

            if unsupported {
                cx.diagnostics
                    .error("E0324", format!("`{name}` is not available with `relationMode = \"prisma\"`"), expr.span())
                    .label("Prisma cannot emulate this action")
                    .help("use Cascade, Restrict or SetNull, or let the database enforce foreign keys");
                return None;
            }
            Some((action, expr.span()))
        }
        Some(action) => Some((action, expr.span())),

        None => {
            cx.diagnostics
                .error("E0321", format!("unknown referential action `{name}`"), expr.span())
                .label("expected Cascade, Restrict, NoAction, SetNull or SetDefault")
                .suggest(name, ReferentialAction::NAMES);
            None
        }
    }
}
