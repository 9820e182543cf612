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

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    PrimaryKey,
    Unique,
    Index,
    ForeignKey,
}

struct Constraint {
    name: Text,
    /// The database schema, which scopes every namespace.
    schema: Text,
    table: Text,
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
/// the suffix cut so that the whole fits the database's identifier length.
pub fn default_constraint_name(table: &str, columns: &[&str], suffix: &str, limit: usize) -> Text {
    let mut prefix =
        String::with_capacity(table.len() + columns.iter().map(|c| c.len() + 1).sum::<usize>() + suffix.len() + 1);
    prefix.push_str(table);
    for column in columns {
        prefix.push('_');
        prefix.push_str(column);
    }
    let room = limit.saturating_sub(suffix.len() + 1);
    if prefix.len() > room {
        let mut cut = room;
        while !prefix.is_char_boundary(cut) {
            cut -= 1;
        }
        prefix.truncate(cut);
    }
    prefix.push('_');
    prefix.push_str(suffix);
    Text::from(prefix)
}

fn columns<'a>(model: &'a Model, fields: &[Text]) -> Vec<&'a str> {
    fields.iter().filter_map(|f| model.field(f)).map(|f| f.db_name.as_str()).collect()
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
    let constraints = resolve_constraints(models, relations, provider, &clashing_tables);

    report_clashes(&constraints, provider, cx);
}

/// Tables across models (per database schema), columns within a table, and `@map`
/// values against the other fields' names. Returns the tables already reported.
fn tables_and_columns(models: &[Model], asts: &[&ModelAst], cx: &mut Cx<'_, '_>) -> HashSet<Text> {
    let mut tables: HashMap<(Option<&str>, &str), &Model> =
        HashMap::with_capacity_and_hasher(models.len(), Default::default());
    let mut clashing = HashSet::default();
    let mut seen_names: HashSet<&str> = HashSet::with_capacity_and_hasher(models.len(), Default::default());

    // A model whose name is taken twice is reported as such (E0110), not again here.
    let distinct = models.iter().filter(|m| seen_names.insert(m.name.as_str()));
    for model in distinct.filter(|m| m.kind != ModelKindIr::Type) {
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
        let columns: Vec<&crate::ir::Field> = model.fields.iter().filter(|f| !f.is_relation()).collect();
        let first_with_name = super::first_occurrences(columns.iter().map(|f| f.db_name.as_str()));
        for (i, field) in columns.iter().enumerate() {
            if first_with_name[i] != i {
                let first = columns[first_with_name[i]];
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

/// Every named constraint with its resolved name, written back into the IR.
fn resolve_constraints(
    models: &mut [Model],
    relations: &mut [Relation],
    provider: Provider,
    clashing_tables: &HashSet<Text>,
) -> Vec<Constraint> {
    let limit = identifier_limit(provider);
    let names_primary_keys = !matches!(provider, Provider::Mysql | Provider::Sqlite | Provider::Mongodb);
    let names_foreign_keys = !matches!(provider, Provider::Sqlite | Provider::Mongodb);
    let mut out = Vec::with_capacity(
        models.iter().map(|m| 1 + m.uniques.len() + m.indexes.len()).sum::<usize>() + relations.len(),
    );
    for model in models.iter_mut().filter(|m| m.kind == ModelKindIr::Model) {
        if clashing_tables.contains(&model.db_name) {
            continue;
        }
        let table = model.db_name.clone();
        let schema = model.schema.clone().unwrap_or_default();
        if let Some(pk) = &model.primary_key {
            if names_primary_keys {
                let name = pk.db_name.clone().unwrap_or_else(|| default_constraint_name(&table, &[], "pkey", limit));
                out.push(Constraint {
                    name,
                    schema: schema.clone(),
                    table: table.clone(),
                    kind: Kind::PrimaryKey,
                    span: pk.span,
                });
            }
        }
        if names_primary_keys {
            if let Some(pk) = model.primary_key.as_mut() {
                pk.db_name.get_or_insert_with(|| default_constraint_name(&table, &[], "pkey", limit));
            }
        }
        for (kind, suffix) in [(Kind::Unique, "key"), (Kind::Index, "idx")] {
            let count = if kind == Kind::Unique { model.uniques.len() } else { model.indexes.len() };
            for i in 0..count {
                let index = if kind == Kind::Unique { &model.uniques[i] } else { &model.indexes[i] };
                let name = index
                    .db_name
                    .clone()
                    .unwrap_or_else(|| default_constraint_name(&table, &columns(model, &index.fields), suffix, limit));
                out.push(Constraint {
                    name: name.clone(),
                    schema: schema.clone(),
                    table: table.clone(),
                    kind,
                    span: index.span,
                });
                let index = if kind == Kind::Unique { &mut model.uniques[i] } else { &mut model.indexes[i] };
                index.db_name = Some(name);
            }
        }
    }
    for relation in relations.iter_mut().filter(|r| !r.fields.is_empty()) {
        let Some(model) = models.iter().find(|m| m.name == relation.referencing.model) else { continue };
        let span = model.field(&relation.referencing.field).map_or(model.span, |f| f.span);
        // SQLite foreign keys have no name (relation resolution reports a `map:`).
        if !names_foreign_keys {
            continue;
        }
        if clashing_tables.contains(&model.db_name) {
            continue;
        }
        let name = relation.db_name.clone().unwrap_or_else(|| {
            default_constraint_name(&model.db_name, &columns(model, &relation.fields), "fkey", limit)
        });
        let schema = model.schema.clone().unwrap_or_default();
        out.push(Constraint { name: name.clone(), schema, table: model.db_name.clone(), kind: Kind::ForeignKey, span });
        relation.db_name = Some(name);
    }
    out
}

/// Whether the database keeps `a` and `b` in one namespace, and which one (for the message).
fn shared_namespace(a: &Constraint, b: &Constraint, provider: Provider) -> Option<&'static str> {
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
fn report_clashes(constraints: &[Constraint], provider: Provider, cx: &mut Cx<'_, '_>) {
    // name -> the latest constraint with it; `previous[i]` chains to the one before.
    let mut latest: HashMap<&str, usize> = HashMap::with_capacity_and_hasher(constraints.len(), Default::default());
    let mut previous: Vec<Option<usize>> = Vec::with_capacity(constraints.len());
    for (i, c) in constraints.iter().enumerate() {
        let before = latest.insert(c.name.as_str(), i);
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
    use super::default_constraint_name;

    #[test]
    fn derived_names_follow_prisma() {
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
