//! Physical names: tables, columns, enum types, and the names of primary keys, unique
//! constraints, indexes and foreign keys, including the ones Prisma derives
//! (`User_pkey`, `User_email_key`, `Post_authorId_idx`, `Post_authorId_fkey`, cut to the
//! database's identifier length). Clashes are errors where the database keeps the
//! names in one namespace; the resolved names go into the IR for migrations to use.

use super::Cx;
use crate::fx::{FxHashMap as HashMap, FxHashSet as HashSet};
use crate::ir::Text;
use crate::ir::{Enum, Model, ModelKindIr, Provider, Relation};
use crate::span::Span;
use crate::syntax::ast::ModelAst;
use std::collections::hash_map::Entry;

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    PrimaryKey,
    Unique,
    Index,
    ForeignKey,
}

/// A named constraint, borrowing its names from the IR once they are resolved.
struct Constraint<'a> {
    name: &'a str,
    /// The database schema, which scopes every namespace.
    schema: &'a str,
    table: &'a str,
    kind: Kind,
    span: Span,
}

/// The longest identifier the database keeps.
fn identifier_limit(provider: Provider) -> usize {
    match provider {
        Provider::Postgresql | Provider::Cockroachdb => 63,
        Provider::Mysql => 64,
        Provider::Sqlserver => 128,
        Provider::Sqlite | Provider::Mongodb => 10_000,
    }
}

/// Prisma's derived constraint name: `{table}_{columns}_{suffix}`, with the part before
/// the suffix cut so that the whole fits the database's identifier length. Built in
/// `scratch`, which the caller reuses: most such names then fit inline in a [`Text`] and
/// need no allocation at all.
pub fn default_constraint_name<'c>(
    scratch: &mut String,
    table: &str,
    columns: impl Iterator<Item = &'c str>,
    suffix: &str,
    limit: usize,
) -> Text {
    scratch.clear();
    scratch.push_str(table);
    for column in columns {
        scratch.push('_');
        scratch.push_str(column);
    }
    let room = limit.saturating_sub(suffix.len() + 1);
    if scratch.len() > room {
        let mut cut = room;
        while !scratch.is_char_boundary(cut) {
            cut -= 1;
        }
        scratch.truncate(cut);
    }
    scratch.push('_');
    scratch.push_str(suffix);
    Text::from(scratch.as_str())
}

/// The column names of `fields` (names that are not fields of `model` are left out).
fn columns<'a>(model: &'a Model, fields: &'a [Text]) -> impl Iterator<Item = &'a str> {
    fields.iter().filter_map(|f| model.field(f)).map(|f| f.db_name.as_str())
}

fn name_span(asts: &[&ModelAst], name: &str) -> Span {
    asts.iter().find(|m| m.name.name == name).map_or_else(Span::default, |m| m.name.span)
}

pub(crate) fn check(
    models: &mut [Model],
    relations: &mut [Relation],
    enums: &[Enum],
    asts: &[&ModelAst],
    cx: &mut Cx<'_, '_>,
) {
    let clashing_tables = tables_and_columns(models, asts, cx);
    enum_names(enums, cx);
    let Some(provider) = cx.provider else { return };
    let constraints = resolve_constraints(models, relations, provider, &clashing_tables, &cx.models_mapped);

    report_clashes(&constraints, provider, cx);
}

/// Tables across models (per database schema), columns within a table, and `@map`
/// values against the other fields' names. Returns the tables already reported.
fn tables_and_columns(models: &[Model], asts: &[&ModelAst], cx: &mut Cx<'_, '_>) -> HashSet<Text> {
    let mut tables: HashMap<(Option<&str>, &str), &Model> =
        HashMap::with_capacity_and_hasher(models.len(), Default::default());
    let mut clashing = HashSet::default();
    let mut seen_names: HashSet<&str> = HashSet::with_capacity_and_hasher(models.len(), Default::default());
    // Each model's columns by name, to find a column name used twice; one map for all
    // models, cleared between them, rather than a list and a map per model.
    let mut first_column: HashMap<&str, &crate::ir::Field> = HashMap::default();

    // A model whose name is taken twice is reported as such (E0110), not again here.
    let distinct = models.iter().enumerate().filter(|(_, m)| seen_names.insert(m.name.as_str()));
    for (i, model) in distinct.filter(|(_, m)| m.kind != ModelKindIr::Type) {
        let key = (model.schema.as_deref(), model.db_name.as_str());
        if let Some(first) = tables.get(&key) {
            clashing.insert(model.db_name.clone());
            cx.diagnostics
                .error(
                    "E0171",
                    format!("`{}` and `{}` both use the table name `{}`", first.name, model.name, model.db_name),
                    name_span(asts, &model.name),
                )
                .label("table name already taken")
                .secondary(name_span(asts, &first.name), "taken here");
        } else {
            tables.insert(key, model);
        }
        // A model's fields have distinct names, so two columns can share a name only if
        // one of them is `@map`ped; without one, neither check below can find anything.
        if !cx.models_mapped.get(i).copied().unwrap_or(true) {
            continue;
        }
        first_column.clear();
        for field in model.fields.iter().filter(|f| !f.is_relation()) {
            let first = match first_column.entry(field.db_name.as_str()) {
                Entry::Occupied(first) => *first.get(),
                Entry::Vacant(slot) => {
                    slot.insert(field);
                    continue;
                }
            };
            cx.diagnostics
                .error(
                    "E0170",
                    format!(
                        "fields `{}` and `{}` of `{}` both use the column `{}`",
                        first.name, field.name, model.name, field.db_name
                    ),
                    field.span,
                )
                .label("column name already taken")
                .secondary(first.span, "taken here");
        }
        // Prisma compares a field's `@map` with the names of the fields declared after it.
        for (i, field) in model.fields.iter().enumerate().filter(|(_, f)| f.db_name != f.name) {
            if let Some(other) = model.fields[i + 1..].iter().find(|o| o.name == field.db_name && !o.is_relation()) {
                cx.diagnostics
                    .error(
                        "E0183",
                        format!(
                            "`{}` is mapped to `{}`, which is the name of another field of `{}`",
                            field.name, field.db_name, model.name
                        ),
                        field.span,
                    )
                    .label("mapped name taken by a field")
                    .secondary(other.span, "that field");
            }
        }
    }
    clashing
}

fn enum_names(enums: &[Enum], cx: &mut Cx<'_, '_>) {
    let mut seen: HashMap<(Option<&str>, &str), &Enum> = HashMap::default();
    for e in enums {
        if let Some(first) = seen.get(&(e.schema.as_deref(), e.db_name.as_str())) {
            if first.name != e.name {
                cx.diagnostics
                    .error(
                        "E0184",
                        format!("enums `{}` and `{}` both use the database name `{}`", first.name, e.name, e.db_name),
                        e.span,
                    )
                    .label("enum name already taken")
                    .secondary(first.span, "taken here");
            }
        } else {
            seen.insert((e.schema.as_deref(), e.db_name.as_str()), e);
        }
    }
}

/// Every named constraint with its resolved name. The names Prisma derives are written
/// into the IR first; the list then borrows them from it rather than copying each name,
/// table and schema.
fn resolve_constraints<'a>(
    models: &'a mut [Model],
    relations: &'a mut [Relation],
    provider: Provider,
    clashing_tables: &HashSet<Text>,
    models_mapped: &[bool],
) -> Vec<Constraint<'a>> {
    let limit = identifier_limit(provider);
    let names_primary_keys = !matches!(provider, Provider::Mysql | Provider::Sqlite | Provider::Mongodb);
    let names_foreign_keys = !matches!(provider, Provider::Sqlite | Provider::Mongodb);
    let mut scratch = String::with_capacity(limit.min(256));
    let named = |model: &Model| model.kind == ModelKindIr::Model && !clashing_tables.contains(&model.db_name);

    for (i, model) in models.iter_mut().enumerate().filter(|(_, m)| named(m)) {
        let table = &model.db_name;
        // A key's fields are all fields of the model (names that are not were left out when
        // it was read); without `@map` their columns are their names, with nothing to look up.
        let mapped = models_mapped.get(i).copied().unwrap_or(true);
        if names_primary_keys {
            if let Some(pk) = model.primary_key.as_mut() {
                pk.db_name.get_or_insert_with(|| {
                    default_constraint_name(&mut scratch, table, std::iter::empty(), "pkey", limit)
                });
            }
        }
        for (indexes, suffix) in [(&mut model.uniques, "key"), (&mut model.indexes, "idx")] {
            for index in indexes.iter_mut() {
                if index.db_name.is_none() {
                    let columns = index.fields.iter().filter_map(|f| match mapped {
                        true => model.fields.iter().find(|c| c.name == f).map(|c| c.db_name.as_str()),
                        false => Some(f.as_str()),
                    });
                    let name = default_constraint_name(&mut scratch, table, columns, suffix, limit);
                    index.db_name = Some(name);
                }
            }
        }
    }
    // The model holding each relation's foreign key, where it is named: SQLite foreign
    // keys have no name (relation resolution reports a `map:`). Found once, by a map
    // from model names (the first model of a name, as a scan would find).
    let mut model_index: HashMap<&str, usize> = HashMap::with_capacity_and_hasher(models.len(), Default::default());
    for (i, model) in models.iter().enumerate() {
        model_index.entry(model.name.as_str()).or_insert(i);
    }
    let relation_models: Vec<Option<usize>> = relations
        .iter()
        .map(|relation| {
            if relation.fields.is_empty() || !names_foreign_keys {
                return None;
            }
            let model = *model_index.get(relation.referencing.model.as_str())?;
            (!clashing_tables.contains(&models[model].db_name)).then_some(model)
        })
        .collect();
    drop(model_index);
    for (relation, model) in relations.iter_mut().zip(&relation_models) {
        if let Some(model) = model.map(|m| &models[m]) {
            if relation.db_name.is_none() {
                relation.db_name = Some(default_constraint_name(
                    &mut scratch,
                    &model.db_name,
                    columns(model, &relation.fields),
                    "fkey",
                    limit,
                ));
            }
        }
    }

    let (models, relations) = (&*models, &*relations);
    let mut out = Vec::with_capacity(
        models.iter().map(|m| 1 + m.uniques.len() + m.indexes.len()).sum::<usize>() + relations.len(),
    );
    for model in models.iter().filter(|m| named(m)) {
        let table = model.db_name.as_str();
        let schema = model.schema.as_deref().unwrap_or_default();
        let constraint = |name: &'a Option<Text>, kind, span| Constraint {
            name: name.as_deref().unwrap_or_default(),
            schema,
            table,
            kind,
            span,
        };
        if let Some(pk) = model.primary_key.as_ref().filter(|_| names_primary_keys) {
            out.push(constraint(&pk.db_name, Kind::PrimaryKey, pk.span));
        }
        out.extend(model.uniques.iter().map(|u| constraint(&u.db_name, Kind::Unique, u.span)));
        out.extend(model.indexes.iter().map(|i| constraint(&i.db_name, Kind::Index, i.span)));
    }
    for (relation, model) in relations.iter().zip(&relation_models) {
        if let Some(model) = model.map(|m| &models[m]) {
            let span = model.field(&relation.referencing.field).map_or(model.span, |f| f.span);
            out.push(Constraint {
                name: relation.db_name.as_deref().unwrap_or_default(),
                schema: model.schema.as_deref().unwrap_or_default(),
                table: &model.db_name,
                kind: Kind::ForeignKey,
                span,
            });
        }
    }
    out
}

/// Whether the database keeps `a` and `b` in one namespace, and which one (for the message).
fn shared_namespace(a: &Constraint<'_>, b: &Constraint<'_>, provider: Provider) -> Option<&'static str> {
    if a.schema != b.schema {
        return None;
    }
    let keyed = |c: &Constraint| matches!(c.kind, Kind::Unique | Kind::Index);
    let same_table = a.table == b.table;
    match provider {
        Provider::Mysql if a.kind == Kind::ForeignKey && b.kind == Kind::ForeignKey => {
            Some("the whole database, for foreign keys")
        }
        Provider::Mysql if keyed(a) && keyed(b) && same_table => Some("the table, for indexes and unique constraints"),
        Provider::Mysql => None,
        Provider::Sqlite if keyed(a) && keyed(b) => Some("the whole database, for indexes and unique constraints"),
        Provider::Sqlite => None,
        _ if a.kind != Kind::ForeignKey && b.kind != Kind::ForeignKey => {
            Some("the whole schema, for primary keys, indexes and unique constraints")
        }
        _ if same_table => Some("the table, for all of its constraints"),
        _ => None,
    }
}

/// Where the database keeps constraint names in one namespace, two equal names clash.
/// Names are looked up once each; the rare equal names are then compared pairwise.
fn report_clashes(constraints: &[Constraint<'_>], provider: Provider, cx: &mut Cx<'_, '_>) {
    // name -> the latest constraint with it; `previous[i]` chains to the one before.
    let mut latest: HashMap<&str, usize> = HashMap::with_capacity_and_hasher(constraints.len(), Default::default());
    let mut previous: Vec<Option<usize>> = Vec::with_capacity(constraints.len());
    for (i, c) in constraints.iter().enumerate() {
        let before = latest.insert(c.name, i);
        previous.push(before);
        let earlier = std::iter::successors(before, |&j| previous[j]);
        let clash = earlier.into_iter().find_map(|j| shared_namespace(&constraints[j], c, provider).map(|n| (j, n)));

        if let Some((j, described)) = clash {
            cx.diagnostics
                .error("E0172", format!("the constraint or index name `{}` is used twice", c.name), c.span)
                .label(format!("names must be unique in {described}"))
                .secondary(constraints[j].span, "the same name is derived or given here")
                .help("give one of them another name with `map: \"...\"`");
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn derived_names_follow_prisma() {
        let mut scratch = String::new();
        let mut default_constraint_name = |table, columns: &[&str], suffix, limit| {
            super::default_constraint_name(&mut scratch, table, columns.iter().copied(), suffix, limit)
        };
        assert_eq!(default_constraint_name("User", &[], "pkey", 63), "User_pkey");
        assert_eq!(default_constraint_name("Post", &["authorId"], "fkey", 63), "Post_authorId_fkey");
        assert_eq!(default_constraint_name("User", &["first", "last"], "key", 63), "User_first_last_key");
        let long = default_constraint_name(
            "AVeryLongModelNameThatGoesOnAndOnForeverAndEverAndEver",
            &["aVeryLongFieldNameNumberOneXXXXXXXXXXXXXXXX", "b"],
            "idx",
            63,
        );
        assert_eq!(long, "AVeryLongModelNameThatGoesOnAndOnForeverAndEverAndEver_aVer_idx");
        assert_eq!(long.len(), 63);
    }
}
