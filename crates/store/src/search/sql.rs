//! The SQL of a search inside a list: where the rows come from, the match condition, the
//! relevance a list is ordered by, and the count.
//!
//! Only the searched columns the caller may read on every row take part ([`Search::visible`],
//! set by the access guard): on SQLite the FTS5 match is restricted to them by a column
//! filter and [`crate::conn::fts5`]'s `ssot_rank` weighs only them; on PostgreSQL the
//! indexed column is a prefilter (a necessary condition, without the exclusions) and the
//! match and `ts_rank_cd` run on a vector of the visible columns alone. Neither ranking
//! reads statistics over other rows, so no hidden text or row moves a result.

use super::{Index, Query};
use crate::conn::Value;
use crate::dialect::{quote, Dialect};
use crate::entity::Entities;
use crate::query::args::Filter;
use crate::query::filter::{write_filter, Aliases};
use crate::sql::Sql;

/// A search as a list runs it.
#[derive(Debug, Clone, PartialEq)]
pub struct Search {
    pub query: Query,
    /// The searched columns (indices into the model's [`Index::columns`]) the caller may
    /// read on every row: the access guard sets them; none until it has.
    pub visible: Vec<usize>,
    /// `meta.highlights` is asked for.
    pub highlight: bool,
}

const FTS_ALIAS: &str = "s";

fn index(es: &Entities, model: usize) -> Option<&Index> {
    es.storage[model].search.as_ref().map(|(index, _)| index)
}

fn fts_column(index: &Index) -> String {
    format!("{FTS_ALIAS}.{}", quote(&index.fts_table()))
}

fn all_visible(index: &Index, search: &Search) -> bool {
    search.visible.len() == index.columns.len()
}

/// The most matching rows one search considers: it ranks, pages and counts these. On
/// SQLite they are the newest (highest `rowid`), which FTS5 yields first without sorting;
/// on PostgreSQL the first the index scan yields. Past it, `meta.capped` says so.
pub const MAX_MATCHES: i64 = 1000;

/// The matching rows `filter` keeps, at most `limit`, from `t0` (its own scope): ` FROM
/// ... WHERE <match> AND <filter> [ORDER BY rowid DESC] LIMIT n`, after a select list.
fn write_matches(
    sql: &mut Sql,
    es: &Entities,
    model: usize,
    search: &Search,
    filter: &Filter,
    limit: i64,
    aliases: &mut Aliases,
) {
    let table = es.table(model);
    let fts = index(es, model).filter(|_| sql.dialect == Dialect::Sqlite);
    match fts {
        // Without a filter (the admin, no `where`) the FTS5 table alone has the matches.
        Some(index) if matches!(filter, Filter::True) => {
            sql.push(" FROM ").ident(&index.fts_table()).push(&format!(" AS {FTS_ALIAS}"));
        }
        Some(index) => {
            sql.push(" FROM ")
                .ident(&index.fts_table())
                .push(&format!(" AS {FTS_ALIAS} JOIN {table} AS t0 ON t0.rowid = {FTS_ALIAS}.rowid"));
        }
        None => {
            sql.push(" FROM ").push(table).push(" AS t0");
        }
    }
    sql.push(" WHERE ");
    write_match(sql, es, model, search);
    if !matches!(filter, Filter::True) {
        sql.push(" AND ");
        write_filter(sql, es, model, "t0", filter, aliases);
    }
    if fts.is_some() {
        sql.push(&format!(" ORDER BY {FTS_ALIAS}.rowid DESC"));
    }
    sql.push(" LIMIT ").int(limit);
}

/// ` FROM (<the matches, each with its id and relevance>) AS c JOIN <table> AS t0 ON <id>`:
/// a searched list's rows, the match and `filter` applied (its `WHERE` needs neither).
pub(crate) fn write_from(
    sql: &mut Sql,
    es: &Entities,
    model: usize,
    search: &Search,
    filter: &Filter,
    aliases: &mut Aliases,
) {
    // The rows are found again by `rowid` on SQLite (the FTS5 table's own key), by id on
    // PostgreSQL.
    let key: Vec<(String, String)> = match sql.dialect {
        Dialect::Sqlite => vec![(format!("{FTS_ALIAS}.rowid"), "t0.rowid".to_string())],
        Dialect::Postgres => es.entities[model]
            .id
            .iter()
            .map(|&f| {
                let column = format!("t0.{}", quote(&es.storage[model].columns[f].name));
                (column.clone(), column)
            })
            .collect(),
    };
    sql.push(" FROM (SELECT ");
    for (i, (inner, _)) in key.iter().enumerate() {
        sql.push(inner).push(&format!(" AS k{i}, "));
    }
    write_rank(sql, es, model, search);
    sql.push(" AS score");
    write_matches(sql, es, model, search, filter, MAX_MATCHES, aliases);
    sql.push(") AS c JOIN ").push(es.table(model)).push(" AS t0 ON ");
    for (i, (_, outer)) in key.iter().enumerate() {
        if i > 0 {
            sql.push(" AND ");
        }
        sql.push(outer).push(&format!(" = c.k{i}"));
    }
}

/// The condition that a row matches the search on the visible columns.
pub(crate) fn write_match(sql: &mut Sql, es: &Entities, model: usize, search: &Search) {
    let Some(index) = index(es, model).filter(|_| !search.visible.is_empty()) else {
        sql.push("FALSE");
        return;
    };
    match sql.dialect {
        Dialect::Sqlite => {
            let columns: Vec<String> =
                search.visible.iter().filter_map(|&i| index.columns.get(i)).map(|c| quote(&c.0)).collect();
            sql.push(&fts_column(index)).push(" MATCH ");
            sql.param(Value::Text(search.query.fts5(&columns)), "");
        }
        Dialect::Postgres => {
            let all = all_visible(index, search);
            sql.column("t0", super::ddl::COLUMN).push(" @@ to_tsquery('simple'::regconfig, ");
            sql.param(Value::Text(search.query.tsquery(!all)), "").push(")");
            if !all {
                sql.push(" AND ").push(&pg_vector(index, search)).push(" @@ to_tsquery('simple'::regconfig, ");
                sql.param(Value::Text(search.query.tsquery(false)), "").push(")");
            }
        }
    }
}

/// The relevance of a matching row (higher is better).
pub(crate) fn write_rank(sql: &mut Sql, es: &Entities, model: usize, search: &Search) {
    let Some(index) = index(es, model) else {
        sql.push("0");
        return;
    };
    match sql.dialect {
        Dialect::Sqlite => {
            sql.push(crate::conn::fts5::RANK).push("(").push(&fts_column(index));
            for (i, (_, weight)) in index.columns.iter().enumerate() {
                let weight = if search.visible.contains(&i) { *weight } else { 0.0 };
                sql.push(&format!(", {weight:?}"));
            }
            sql.push(")");
        }
        Dialect::Postgres => write_pg_rank(sql, index, search),
    }
}

/// The `tsvector` of the visible columns: the stored one when all are, filtered by class
/// when no hidden column shares a class with a visible one (up to four columns), else
/// computed from the visible columns' text.
fn pg_vector(index: &Index, search: &Search) -> String {
    let stored = format!("t0.{}", quote(super::ddl::COLUMN));
    if all_visible(index, search) {
        return stored;
    }
    let visible: Vec<char> = search.visible.iter().map(|&i| index.class(i)).collect();
    let shared = (0..index.columns.len()).any(|i| !search.visible.contains(&i) && visible.contains(&index.class(i)));
    if shared {
        return format!("({})", super::ddl::vector(index, &search.visible, "t0"));
    }
    let classes: Vec<String> = visible.iter().map(|c| c.to_ascii_lowercase().to_string()).collect();
    format!("ts_filter({stored}, '{{{}}}'::\"char\"[])", classes.join(","))
}

/// PostgreSQL's relevance, as close to `ssot_rank` as its weight classes allow: for each
/// word or phrase of the query and each class of the visible columns, `ts_rank_cd` with
/// unit weights counts its matches `n` (on the class's lexemes alone, `ts_filter`), which
/// count `n / (n + 1.2)` times the class's weight (the highest declared weight in it).
fn write_pg_rank(sql: &mut Sql, index: &Index, search: &Search) {
    let vector = pg_vector(index, search);
    let mut classes: Vec<(char, f64)> = Vec::new();
    for &i in &search.visible {
        let (class, weight) = (index.class(i), index.columns.get(i).map_or(0.0, |c| c.1));
        match classes.iter_mut().find(|(c, _)| *c == class) {
            Some((_, w)) => *w = w.max(weight),
            None => classes.push((class, weight)),
        }
    }
    sql.push("(0");
    for term in search.query.positive() {
        let single = Query { terms: vec![term.clone()] };
        for (class, weight) in &classes {
            sql.push(&format!(
                " + {weight:?} * (1 - 1.2 / (1.2 + ts_rank_cd('{{1,1,1,1}}'::float4[], ts_filter({vector}, '{{{}}}'::\"char\"[]), to_tsquery('simple'::regconfig, ",
                class.to_ascii_lowercase()
            ));
            sql.param(Value::Text(single.tsquery(false)), "").push("))))");
        }
    }
    sql.push(")");
}

/// ` ORDER BY <relevance> DESC, <id> ASC`: a searched list without `orderBy` (the other
/// way round when paging backwards); the relevance is the matches' (`write_from`).
pub(crate) fn write_order(sql: &mut Sql, es: &Entities, model: usize, backwards: bool) {
    let (down, up) = if backwards { (" ASC", " DESC") } else { (" DESC", " ASC") };
    sql.push(" ORDER BY c.score").push(down);
    for &f in &es.entities[model].id {
        sql.push(", ").column("t0", &es.storage[model].columns[f].name).push(up);
    }
}

/// How many rows match `filter` and the search, counted up to [`MAX_MATCHES`], and
/// whether more match.
pub fn count(
    conn: &mut dyn crate::conn::Conn,
    es: &Entities,
    model: usize,
    filter: &Filter,
    search: &Search,
) -> Result<(i64, bool), crate::StoreError> {
    let mut sql = Sql::new(conn.dialect());
    sql.push("SELECT COUNT(*) FROM (SELECT 1 AS one");
    write_matches(&mut sql, es, model, search, filter, MAX_MATCHES + 1, &mut Aliases::default());
    sql.push(") AS c");
    let rows = conn.query(&sql.text, &sql.params)?;
    let n = rows.first().and_then(|r| r.first()).and_then(Value::as_i64).unwrap_or(0);
    Ok((n.min(MAX_MATCHES), n > MAX_MATCHES))
}
