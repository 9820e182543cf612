//! Reads: lists with their page metadata, single rows, counts, and the related rows a
//! `select` or `include` asks for (one query per relation and level, for all parent
//! rows at once, never one per row).

use super::args::{FindArgs, Guarded, Selection, DEFAULT_TAKE};
use super::filter::{write_filter, write_order, Aliases};
use crate::changelog;
use crate::conn::{Conn, Row, Value};
use crate::dialect::Dialect;
use crate::entity::{Entities, Entity, Link};
use crate::error::StoreError;
use crate::sql::Sql;
use crate::value::decode;
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
}

/// Every scalar column of `entity` as `c0, c1, ...`, in a form [`decode`] reads.
pub(crate) fn write_columns(sql: &mut Sql, entity: &Entity, alias: &str) {
    for (i, f) in entity.fields.iter().enumerate() {
        if i > 0 {
            sql.push(", ");
        }
        match sql.dialect {
            Dialect::Sqlite => {
                sql.column(alias, &f.column);
            }
            Dialect::Postgres if f.list => {
                sql.push("to_json(").column(alias, &f.column).push(")::text");
            }
            Dialect::Postgres => {
                sql.column(alias, &f.column).push("::text");
            }
        }
        sql.push(" AS c").push(&i.to_string());
    }
}

/// A row as fetched: every scalar column raw (to follow relations from), and its group
/// key when it was fetched for several parents at once.
struct Fetched {
    raw: Row,
    group: String,
    /// Per guard of the selection: whether its field shows on this row.
    shown: Vec<bool>,
}

/// How a fetch is scoped: the whole table, or the rows related to some parents.
enum Scope<'a> {
    All,
    Related { parent: usize, relation: usize, keys: &'a [Vec<Value>] },
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
    let total = count(conn, es, model, &args.filter)?;
    let seq = current_seq(conn)?;
    let rows = shape(conn, es, model, &args.selection, rows)?;
    Ok(Page { rows, total, skip: args.skip, take, has_more, seq })
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
    let entity = &es.entities[model];
    let mut sql = Sql::new(conn.dialect());
    sql.push("SELECT COUNT(*) FROM ").push(&entity.table).push(" AS t0 WHERE ");
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
    let args = FindArgs {
        filter: unique_filter(unique),
        order: Vec::new(),
        take: Some(1),
        skip: 0,
        cursor: None,
        selection: selection.clone(),
    };
    Ok(find(conn, es, model, &args)?.into_iter().next())
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

/// Fetches the rows `args` asks for within `scope`. One of three statements:
/// - plain: `SELECT ... WHERE ... ORDER BY ... LIMIT/OFFSET` (a top-level list);
/// - windowed: related rows for many parents at once, each parent's own `take`/`skip`
///   applied through `ROW_NUMBER() OVER (PARTITION BY <parent key>)`;
/// - from a cursor: the numbered rows, starting at the cursor's row.
fn fetch(
    conn: &mut dyn Conn,
    es: &Entities,
    model: usize,
    args: &FindArgs,
    scope: &Scope<'_>,
) -> Result<Vec<Fetched>, StoreError> {
    let entity = &es.entities[model];
    let windowed = matches!(scope, Scope::Related { .. }) && (args.take.is_some() || args.skip > 0);
    // Paging backwards: read in the reverse order, then turn the rows around.
    let backwards = matches!(scope, Scope::All) && args.take.is_some_and(|t| t < 0);
    let take = args.take.map(i64::abs);
    let mut aliases = Aliases::default();
    let inner = inner_select(conn.dialect(), es, model, args, scope, windowed || args.cursor.is_some(), &mut aliases);
    let group_width = inner.group_width;
    let sql = match &args.cursor {
        Some(cursor) => from_cursor(inner, entity, cursor, take, args.skip, backwards),
        None if windowed => windowed_page(inner, args),
        None => {
            let mut sql = inner.sql;
            write_order(&mut sql, es, model, "t0", &args.order, backwards, &mut aliases);
            if matches!(scope, Scope::All) {
                push_limit(&mut sql, take, args.skip);
            }
            sql
        }
    };

    let rows = conn.query(&sql.text, &sql.params)?;
    let guards = args.selection.guards.len();
    let mut fetched: Vec<Fetched> = rows
        .into_iter()
        .map(|mut row| {
            let mut raw = row.split_off(group_width.min(row.len()));
            let flags = raw.split_off(entity.fields.len().min(raw.len()));
            let shown = flags.iter().take(guards).map(|v| v.as_i64() == Some(1)).collect();
            Fetched { group: key_string(&row), raw, shown }
        })
        .collect();
    if backwards {
        fetched.reverse();
    }
    Ok(fetched)
}

/// The statement every shape starts from, and what its select list holds.
struct Inner {
    sql: Sql,
    /// How many group-key columns (`g0, g1, ...`) come first: the parent's key, for
    /// related rows.
    group_width: usize,
    /// The select list's names, in order: `g*`, `c*` (every column), `v*` (guards).
    columns: Vec<String>,
}

/// `SELECT <group keys>, <columns>, <guard flags> [, ROW_NUMBER() ... AS rn] [, <cursor
/// keys>] FROM ... WHERE <scope> AND <filter>`; `numbered` adds the row number in the
/// requested order.
fn inner_select(
    dialect: Dialect,
    es: &Entities,
    model: usize,
    args: &FindArgs,
    scope: &Scope<'_>,
    numbered: bool,
    aliases: &mut Aliases,
) -> Inner {
    let entity = &es.entities[model];
    let mut sql = Sql::new(dialect);
    sql.push("SELECT ");
    let group_columns: Vec<(String, String)> = match scope {
        Scope::All => Vec::new(),
        Scope::Related { parent, relation, .. } => match &es.entities[*parent].relations[*relation].link {
            Link::Owns { remote, .. } | Link::Inverse { remote, .. } => {
                remote.iter().map(|&f| ("t0".to_string(), entity.fields[f].column.clone())).collect()
            }
            Link::Join { this_column, .. } => vec![("j".to_string(), this_column.clone())],
        },
    };
    for (i, (alias, column)) in group_columns.iter().enumerate() {
        sql.column(alias, column);
        if dialect == Dialect::Postgres {
            sql.push("::text");
        }
        sql.push(" AS g").push(&i.to_string()).push(", ");
    }
    write_columns(&mut sql, entity, "t0");
    let guards = &args.selection.guards;
    for (i, (_, guard)) in guards.iter().enumerate() {
        sql.push(", CASE WHEN ");
        write_filter(&mut sql, es, model, "t0", guard, aliases);
        sql.push(" THEN 1 ELSE 0 END AS v").push(&i.to_string());
    }
    if numbered {
        sql.push(", ROW_NUMBER() OVER (");
        if !group_columns.is_empty() {
            // A window cannot name the select list's aliases: the key columns again.
            sql.push("PARTITION BY ");
            for (i, (alias, column)) in group_columns.iter().enumerate() {
                if i > 0 {
                    sql.push(", ");
                }
                sql.column(alias, column);
            }
        }
        write_order(&mut sql, es, model, "t0", &args.order, false, aliases);
        sql.push(") AS rn");
    }
    if let Some(cursor) = &args.cursor {
        // The cursor's unique columns, raw, to find its row by.
        for (i, (f, _)) in cursor.iter().enumerate() {
            sql.push(", ").column("t0", &entity.fields[*f].column).push(&format!(" AS k{i}"));
        }
    }
    match scope {
        Scope::Related { parent, relation, .. } => {
            let r = &es.entities[*parent].relations[*relation];
            if let Link::Join { table, other_column, remote, .. } = &r.link {
                sql.push(&format!(
                    " FROM {table} AS j JOIN {} AS t0 ON t0.{} = j.{}",
                    entity.table,
                    crate::dialect::quote(&entity.fields[*remote].column),
                    crate::dialect::quote(other_column)
                ));
            } else {
                sql.push(" FROM ").push(&entity.table).push(" AS t0");
            }
        }
        Scope::All => {
            sql.push(" FROM ").push(&entity.table).push(" AS t0");
        }
    }
    sql.push(" WHERE ");
    if let Scope::Related { parent, relation, keys } = scope {
        let r = &es.entities[*parent].relations[*relation];
        write_key_match(&mut sql, &es.entities[*parent], entity, r, keys);
        sql.push(" AND ");
    }
    write_filter(&mut sql, es, model, "t0", &args.filter, aliases);
    let columns = (0..group_columns.len())
        .map(|i| format!("g{i}"))
        .chain((0..entity.fields.len()).map(|i| format!("c{i}")))
        .chain((0..guards.len()).map(|i| format!("v{i}")))
        .collect();
    Inner { sql, group_width: group_columns.len(), columns }
}

/// The numbered rows from the cursor's row on (or up to it, paging backwards).
fn from_cursor(
    inner: Inner,
    entity: &Entity,
    cursor: &[(usize, Value)],
    take: Option<i64>,
    skip: i64,
    backwards: bool,
) -> Sql {
    let mut sql = Sql::new(inner.sql.dialect);
    sql.push("WITH page AS (").push(&inner.sql.text);
    sql.params = inner.sql.params;
    sql.push(") SELECT ").push(&inner.columns.join(", ")).push(" FROM page WHERE rn ");
    sql.push(if backwards { "<=" } else { ">=" }).push(" (SELECT rn FROM page WHERE ");
    for (i, (f, value)) in cursor.iter().enumerate() {
        if i > 0 {
            sql.push(" AND ");
        }
        sql.push(&format!("k{i} = "));
        sql.param(value.clone(), &entity.fields[*f].cast);
    }
    sql.push(if backwards { ") ORDER BY rn DESC" } else { ") ORDER BY rn" });
    push_limit(&mut sql, take, skip);
    sql
}

/// Each parent's page of related rows: numbers `skip + 1` to `skip + take` of its group.
fn windowed_page(inner: Inner, args: &FindArgs) -> Sql {
    let mut sql = Sql::new(inner.sql.dialect);
    sql.push("SELECT ").push(&inner.columns.join(", ")).push(" FROM (").push(&inner.sql.text);
    sql.params = inner.sql.params;
    sql.push(") AS w WHERE rn > ").int(args.skip);
    if let Some(take) = args.take {
        sql.push(" AND rn <= ").int(args.skip.saturating_add(take));
    }
    let groups: Vec<String> = (0..inner.group_width).map(|i| format!("g{i}")).collect();
    sql.push(" ORDER BY ").push(&groups.join(", ")).push(", rn");
    sql
}

fn push_limit(sql: &mut Sql, take: Option<i64>, skip: i64) {
    match (take, sql.dialect) {
        (Some(take), _) => {
            sql.push(" LIMIT ").int(take);
        }
        (None, Dialect::Sqlite) if skip > 0 => {
            sql.push(" LIMIT -1");
        }
        (None, _) => {}
    }
    if skip > 0 {
        sql.push(" OFFSET ").int(skip);
    }
}

/// `<child key> IN (<parent keys>)`, one column or a row value.
fn write_key_match(
    sql: &mut Sql,
    parent: &Entity,
    entity: &Entity,
    r: &crate::entity::RelationField,
    keys: &[Vec<Value>],
) {
    let (columns, casts): (Vec<(String, String)>, Vec<String>) = match &r.link {
        Link::Owns { remote, .. } | Link::Inverse { remote, .. } => remote
            .iter()
            .map(|&f| (("t0".to_string(), entity.fields[f].column.clone()), entity.fields[f].cast.clone()))
            .unzip(),
        // The join column holds the parent's id, of the id's type.
        Link::Join { this_column, local, .. } => {
            (vec![("j".to_string(), this_column.clone())], vec![parent.fields[*local].cast.clone()])
        }
    };
    if keys.is_empty() {
        sql.push("FALSE");
        return;
    }
    let tuple = columns.len() > 1;
    if tuple {
        sql.push("(");
    }
    for (i, (alias, column)) in columns.iter().enumerate() {
        if i > 0 {
            sql.push(", ");
        }
        sql.column(alias, column);
    }
    if tuple {
        sql.push(")");
    }
    sql.push(" IN (");
    if tuple {
        sql.push("VALUES ");
    }
    for (k, key) in keys.iter().enumerate() {
        if k > 0 {
            sql.push(", ");
        }
        if tuple {
            sql.push("(");
        }
        for (i, value) in key.iter().enumerate() {
            if i > 0 {
                sql.push(", ");
            }
            sql.param(value.clone(), &casts[i]);
        }
        if tuple {
            sql.push(")");
        }
    }
    sql.push(")");
}

fn key_string(values: &[Value]) -> String {
    let mut out = String::new();
    for v in values {
        match v {
            Value::Null => out.push_str("\u{0}n"),
            Value::Int(i) => out.push_str(&format!("\u{0}{i}")),
            Value::Float(f) => out.push_str(&format!("\u{0}{f}")),
            Value::Text(t) => {
                out.push('\u{0}');
                out.push_str(t);
            }
            Value::Bytes(b) => out.push_str(&format!("\u{0}{}", crate::value::hex(b))),
        }
    }
    out
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
        fields.insert(entity.fields[f].name.clone(), decode(&entity.fields[f], &es.enums, value));
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
    };
    Ok(fetch(conn, es, model, &args, &Scope::All)?.into_iter().next().map(|f| f.raw))
}
