//! Reads: lists with their page metadata, single rows, counts, and the related rows a
//! `select` or `include` asks for (one query per relation and level, for all parent
//! rows at once, never one per row).

mod fetch;

use super::args::{FindArgs, Guarded, Selection, DEFAULT_TAKE};
use super::filter::{write_filter, Aliases};
use crate::changelog;
use crate::conn::{Conn, Row, Value};
use crate::entity::{Entities, Link};
use crate::error::StoreError;
use crate::sql::Sql;
use crate::value::decode;
pub(crate) use fetch::write_columns;
use fetch::{fetch, key_string, Fetched, Scope};
use serde_json::{Map, Value as Json};
use std::collections::HashMap;

/// One page of a list, read in one snapshot.
#[derive(Debug)]
pub struct Page {
    pub rows: Vec<Json>,
    pub total: i64,
    pub skip: i64,
    pub take: i64,
    pub has_more: bool,
    /// The change-log position the rows were read at.
    pub seq: i64,
    /// With a search's `highlight`: per row, the snippets of its matching fields.
    pub highlights: Option<Vec<Json>>,
    /// A search matched more rows than it considers (`search::sql::MAX_MATCHES`).
    pub capped: bool,
}

pub fn current_seq(conn: &mut dyn Conn) -> Result<i64, StoreError> {
    let sql = format!("SELECT COALESCE(MAX(\"seq\"), 0) FROM {}", changelog::table(conn.dialect()));
    let rows = conn.query(&sql, &[])?;
    Ok(rows.first().and_then(|r| r.first()).and_then(Value::as_i64).unwrap_or(0))
}

pub fn list(conn: &mut dyn Conn, es: &Entities, model: usize, args: &FindArgs) -> Result<Page, StoreError> {
    let take = args.take.unwrap_or(DEFAULT_TAKE);
    let mut limited = args.clone();
    // One row more than asked says whether there are more (before, when paging backwards).
    limited.take = Some(if take < 0 { take - 1 } else { take + 1 });
    let mut rows = fetch(conn, es, model, &limited, &Scope::All)?;
    let wanted = usize::try_from(take.unsigned_abs()).unwrap_or(usize::MAX);
    let has_more = rows.len() > wanted;
    if has_more && take < 0 {
        rows.remove(0);
    }
    rows.truncate(wanted);
    let (total, capped) = match &args.search {
        Some(search) => crate::search::sql::count(conn, es, model, &args.filter, search)?,
        None => (count(conn, es, model, &args.filter)?, false),
    };
    let seq = current_seq(conn)?;
    let highlights = match &args.search {
        Some(search) if search.highlight => {
            Some(rows.iter().map(|row| crate::search::highlight::row(es, model, search, &row.raw)).collect())
        }
        _ => None,
    };
    let rows = shape(conn, es, model, &args.selection, rows)?;
    Ok(Page { rows, total, skip: args.skip, take, has_more, seq, highlights, capped })
}

/// [`find`] for several reads of `model` at once (the same live query under several
/// callers' rules), each with its own result, and how many statements read their rows.
/// They share one statement where they allow it (top-level pages without cursor or
/// search, with as many field guards each); otherwise, or when that statement fails, each
/// runs alone, so that one read's failure is its own. The related rows a selection
/// includes are read per read, as [`find`] reads them (and not counted).
pub fn find_each(
    conn: &mut dyn Conn,
    es: &Entities,
    model: usize,
    each: &[&FindArgs],
) -> (Vec<Result<Vec<Json>, StoreError>>, u64) {
    let guards = each.first().map_or(0, |a| a.selection.guards.len());
    let shared = each.len() > 1 && each.iter().all(|a| fetch::batchable(a) && a.selection.guards.len() == guards);
    if shared {
        let rows: Result<Vec<Vec<Json>>, StoreError> = fetch::fetch_each(conn, es, model, each).and_then(|fetched| {
            each.iter().zip(fetched).map(|(args, rows)| shape(conn, es, model, &args.selection, rows)).collect()
        });
        if let Ok(rows) = rows {
            return (rows.into_iter().map(Ok).collect(), 1);
        }
    }
    let alone = each.iter().map(|args| find(conn, es, model, args)).collect();
    (alone, u64::from(shared) + each.len() as u64)
}

/// Rows of `model` matching `args` (its take, skip and cursor included), shaped by its selection.
pub fn find(conn: &mut dyn Conn, es: &Entities, model: usize, args: &FindArgs) -> Result<Vec<Json>, StoreError> {
    let rows = fetch(conn, es, model, args, &Scope::All)?;
    shape(conn, es, model, &args.selection, rows)
}

pub fn count(
    conn: &mut dyn Conn,
    es: &Entities,
    model: usize,
    filter: &super::args::Filter,
) -> Result<i64, StoreError> {
    let mut sql = Sql::new(conn.dialect());
    sql.push("SELECT COUNT(*) FROM ").push(es.table(model)).push(" AS t0 WHERE ");
    write_filter(&mut sql, es, model, "t0", filter, &mut Aliases::default());
    let rows = conn.query(&sql.text, &sql.params)?;
    Ok(rows.first().and_then(|r| r.first()).and_then(Value::as_i64).unwrap_or(0))
}

/// The row with these unique values, or `None`.
pub fn get(
    conn: &mut dyn Conn,
    es: &Entities,
    model: usize,
    unique: &[(usize, Value)],
    selection: &Selection,
) -> Result<Option<Json>, StoreError> {
    Ok(find(conn, es, model, &key_args(unique, selection))?.into_iter().next())
}

/// The arguments of a read of the one row with these unique values.
pub fn key_args(unique: &[(usize, Value)], selection: &Selection) -> FindArgs {
    FindArgs {
        filter: unique_filter(unique),
        order: Vec::new(),
        take: Some(1),
        skip: 0,
        cursor: None,
        selection: selection.clone(),
        search: None,
    }
}

pub fn unique_filter(unique: &[(usize, Value)]) -> super::args::Filter {
    use super::args::{Cmp, Filter};
    Filter::And(
        unique
            .iter()
            .map(|(field, value)| Filter::Compare {
                field: *field,
                cmp: Cmp::Eq,
                value: value.clone(),
                insensitive: false,
            })
            .collect(),
    )
}

/// Decoded, selected and with their relations attached: the rows as the API shows them.
fn shape(
    conn: &mut dyn Conn,
    es: &Entities,
    model: usize,
    selection: &Selection,
    rows: Vec<Fetched>,
) -> Result<Vec<Json>, StoreError> {
    let entity = &es.entities[model];
    // Related rows first, for all these rows at once, grouped by the key they hang on.
    let mut related: Vec<HashMap<String, Vec<Json>>> = Vec::with_capacity(selection.relations.len());
    for (relation, args) in &selection.relations {
        let r = &entity.relations[*relation];
        let local: Vec<usize> = match &r.link {
            Link::Owns { local, .. } | Link::Inverse { local, .. } => local.clone(),
            Link::Join { local, .. } => vec![*local],
        };
        let mut keys: Vec<Vec<Value>> = Vec::new();
        let mut seen = std::collections::HashSet::new();
        for row in &rows {
            let key: Vec<Value> = local.iter().map(|&f| row.raw[f].clone()).collect();
            if key.contains(&Value::Null) {
                continue;
            }
            if seen.insert(key_string(&key)) {
                keys.push(key);
            }
        }
        let mut groups: HashMap<String, Vec<Json>> = HashMap::new();
        // Parameters per statement stay far below SQLite's limit of 32766.
        for chunk in keys.chunks(500) {
            let scope = Scope::Related { parent: model, relation: *relation, keys: chunk };
            let children = fetch(conn, es, r.target, args, &scope)?;
            let group_keys: Vec<String> = children.iter().map(|c| c.group.clone()).collect();
            let shaped = shape(conn, es, r.target, &args.selection, children)?;
            for (key, child) in group_keys.into_iter().zip(shaped) {
                groups.entry(key).or_default().push(child);
            }
        }
        related.push(groups);
    }

    let mut out = Vec::with_capacity(rows.len());
    for row in rows {
        let mut object = Map::with_capacity(selection.fields.len() + selection.relations.len());
        for (r_index, (relation, _)) in selection.relations.iter().enumerate() {
            let r = &entity.relations[*relation];
            let local: Vec<usize> = match &r.link {
                Link::Owns { local, .. } | Link::Inverse { local, .. } => local.clone(),
                Link::Join { local, .. } => vec![*local],
            };
            let key: Vec<Value> = local.iter().map(|&f| row.raw[f].clone()).collect();
            let children = related[r_index].get(&key_string(&key)).cloned().unwrap_or_default();
            let value = if r.list { Json::Array(children) } else { children.into_iter().next().unwrap_or(Json::Null) };
            object.insert(r.name.clone(), value);
        }
        let mut fields = scalar_fields(es, model, &selection.fields, row.raw);
        fields.extend(object);
        for ((guarded, _), shown) in selection.guards.iter().zip(&row.shown) {
            if !shown {
                fields.shift_remove(match guarded {
                    Guarded::Field(f) => &entity.fields[*f].name,
                    Guarded::Relation(r) => &entity.relations[*r].name,
                });
            }
        }
        out.push(Json::Object(fields));
    }
    Ok(out)
}

/// The selected scalar fields of a raw row (every column, in field order), decoded.
pub fn scalar_fields(es: &Entities, model: usize, selected: &[usize], mut raw: Row) -> Map<String, Json> {
    let entity = &es.entities[model];
    let mut fields = Map::with_capacity(selected.len());
    for &f in selected {
        let value = std::mem::replace(&mut raw[f], Value::Null);
        fields.insert(entity.fields[f].name.clone(), decode(&entity.fields[f], &es.stored_enums, value));
    }
    fields
}

/// The raw values of `fields` in the row with these unique values (for writes that need
/// a row's keys), or `None`.
pub fn raw_row(
    conn: &mut dyn Conn,
    es: &Entities,
    model: usize,
    filter: &super::args::Filter,
) -> Result<Option<Row>, StoreError> {
    let args = FindArgs {
        filter: filter.clone(),
        order: Vec::new(),
        take: Some(1),
        skip: 0,
        cursor: None,
        selection: Selection::fields(Vec::new()),
        search: None,
    };
    Ok(fetch(conn, es, model, &args, &Scope::All)?.into_iter().next().map(|f| f.raw))
}
