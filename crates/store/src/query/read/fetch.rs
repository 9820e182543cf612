//! The statements behind every read: one `SELECT` per list, and one per relation and
//! level for the related rows of all parents at once, in one of three shapes (plain,
//! windowed per parent, from a cursor). Rows come back raw, with their group key and
//! guard flags, for [`super::shape`] to decode.

use crate::conn::{Conn, Row, Value};
use crate::dialect::Dialect;
use crate::entity::{Entities, JoinTable, Link, Storage};
use crate::error::StoreError;
use crate::query::args::FindArgs;
use crate::query::filter::{write_filter, write_order, Aliases};
use crate::sql::Sql;

/// Every scalar column of `model` as `c0, c1, ...`, in a form [`decode`] reads.
pub(crate) fn write_columns(sql: &mut Sql, es: &Entities, model: usize, alias: &str) {
    let columns = &es.storage[model].columns;
    for (i, (f, column)) in es.entities[model].fields.iter().zip(columns).enumerate() {
        if i > 0 {
            sql.push(", ");
        }
        match sql.dialect {
            Dialect::Sqlite => {
                sql.column(alias, &column.name);
            }
            Dialect::Postgres if f.list => {
                sql.push("to_json(").column(alias, &column.name).push(")::text");
            }
            Dialect::Postgres => {
                sql.column(alias, &column.name).push("::text");
            }
        }
        sql.push(" AS c").push(&i.to_string());
    }
}

/// A row as fetched: every scalar column raw (to follow relations from), and its group
/// key when it was fetched for several parents at once.
pub(super) struct Fetched {
    pub(super) raw: Row,
    pub(super) group: String,
    /// Per guard of the selection: whether its field shows on this row.
    pub(super) shown: Vec<bool>,
}

impl Fetched {
    /// A result row cut into its parts: the `lead` columns before the row (a related
    /// row's group key, a batched read's place), then the row, `fields` scalar columns,
    /// with the flags of its `guards` (the statement's further columns left out).
    fn cut(mut row: Row, lead: usize, fields: usize, guards: usize) -> (Row, Fetched) {
        let mut raw = row.split_off(lead.min(row.len()));
        let flags = raw.split_off(fields.min(raw.len()));
        let shown = flags.iter().take(guards).map(|v| v.as_i64() == Some(1)).collect();
        (row, Fetched { group: String::new(), raw, shown })
    }
}

/// How a fetch is scoped: the whole table, or the rows related to some parents.
pub(super) enum Scope<'a> {
    All,
    Related { parent: usize, relation: usize, keys: &'a [Vec<Value>] },
}

/// Fetches the rows `args` asks for within `scope`. One of three statements:
/// - plain: `SELECT ... WHERE ... ORDER BY ... LIMIT/OFFSET` (a top-level list);
/// - windowed: related rows for many parents at once, each parent's own `take`/`skip`
///   applied through `ROW_NUMBER() OVER (PARTITION BY <parent key>)`;
/// - from a cursor: the numbered rows, starting at the cursor's row.
pub(super) fn fetch(
    conn: &mut dyn Conn,
    es: &Entities,
    model: usize,
    args: &FindArgs,
    scope: &Scope<'_>,
) -> Result<Vec<Fetched>, StoreError> {
    let entity = &es.entities[model];
    // A many-to-many relation's rows are reached through its join table, which every one
    // has (`Entities::new`); without it none would be.
    let join = match scope {
        Scope::Related { parent, relation, .. } => match &es.entities[*parent].relations[*relation].link {
            Link::Join { .. } => match es.join(*parent, *relation) {
                Some(join) => Some(join),
                None => return Ok(Vec::new()),
            },
            _ => None,
        },
        Scope::All => None,
    };
    let windowed = matches!(scope, Scope::Related { .. }) && (args.take.is_some() || args.skip > 0);
    // Paging backwards: read in the reverse order, then turn the rows around.
    let backwards = matches!(scope, Scope::All) && args.take.is_some_and(|t| t < 0);
    let take = args.take.map(i64::abs);
    let mut aliases = Aliases::default();
    let numbered = windowed || args.cursor.is_some();
    let inner = inner_select(Sql::new(conn.dialect()), es, model, args, (scope, join), numbered, &mut aliases);
    let group_width = inner.group_width;
    let sql = match &args.cursor {
        Some(cursor) => from_cursor(inner, &es.storage[model], cursor, take, args.skip, backwards),
        None if windowed => windowed_page(inner, args),
        None => {
            let mut sql = inner.sql;
            order(&mut sql, es, model, args, backwards, &mut aliases);
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
        .map(|row| {
            let (key, fetched) = Fetched::cut(row, group_width, entity.fields.len(), guards);
            Fetched { group: key_string(&key), ..fetched }
        })
        .collect();
    if backwards {
        fetched.reverse();
    }
    Ok(fetched)
}

/// Whether [`fetch_each`] can read `args` in the one statement: a top-level page without
/// a cursor or a search, read forwards.
pub(super) fn batchable(args: &FindArgs) -> bool {
    args.cursor.is_none() && args.search.is_none() && args.take.is_none_or(|t| t >= 0)
}

/// The rows of several top-level reads of `model` (each [`batchable`]) in one statement:
/// each read ordered and limited as a plain page, its rows numbered by the same order
/// (`ROW_NUMBER() OVER (ORDER BY ...)`), all of them joined by `UNION ALL`, tagged with
/// their place in `each` and sorted by it and their number, so that each read's rows come
/// back in its order (a `UNION ALL` alone promises none).
pub(super) fn fetch_each(
    conn: &mut dyn Conn,
    es: &Entities,
    model: usize,
    each: &[&FindArgs],
) -> Result<Vec<Vec<Fetched>>, StoreError> {
    let mut sql = Sql::new(conn.dialect());
    for (i, args) in each.iter().enumerate() {
        // Each part's parameters are numbered on from the parts before it.
        let seed = Sql { dialect: sql.dialect, text: String::new(), params: std::mem::take(&mut sql.params) };
        let mut aliases = Aliases::default();
        let mut inner = inner_select(seed, es, model, args, (&Scope::All, None), true, &mut aliases);
        // Ordered and cut as a plain page is (an index can serve it), numbered by the same
        // order: the page's rows are numbers 1 to skip + take.
        order(&mut inner.sql, es, model, args, false, &mut aliases);
        push_limit(&mut inner.sql, args.take.map(|take| take.saturating_add(args.skip)), 0);
        if i > 0 {
            sql.push(" UNION ALL ");
        }
        sql.push(&format!("SELECT {i} AS b, ")).push(&inner.columns.join(", ")).push(", rn FROM (");
        sql.push(&inner.sql.text);
        sql.params = inner.sql.params;
        sql.push(&format!(") AS w{i} WHERE rn > ")).int(args.skip);
    }
    sql.push(" ORDER BY b, rn");
    let fields = es.entities[model].fields.len();
    let mut out: Vec<Vec<Fetched>> = each.iter().map(|_| Vec::new()).collect();
    for row in conn.query(&sql.text, &sql.params)? {
        // The read's place leads the row, where a group key leads a related row.
        let (place, fetched) = Fetched::cut(row, 1, fields, each.first().map_or(0, |a| a.selection.guards.len()));
        let read = place.first().and_then(Value::as_i64).and_then(|b| usize::try_from(b).ok());
        if let Some(rows) = read.and_then(|read| out.get_mut(read)) {
            rows.push(fetched);
        }
    }
    Ok(out)
}

/// ` ORDER BY ...`: `args.order`, or by relevance for a search without one.
fn order(sql: &mut Sql, es: &Entities, model: usize, args: &FindArgs, backwards: bool, aliases: &mut Aliases) {
    match &args.search {
        Some(_) if args.order.is_empty() => crate::search::sql::write_order(sql, es, model, backwards),
        _ => write_order(sql, es, model, "t0", &args.order, backwards, aliases),
    }
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
    mut sql: Sql,
    es: &Entities,
    model: usize,
    args: &FindArgs,
    (scope, join): (&Scope<'_>, Option<&JoinTable>),
    numbered: bool,
    aliases: &mut Aliases,
) -> Inner {
    let entity = &es.entities[model];
    let stored = &es.storage[model];
    let dialect = sql.dialect;
    sql.push("SELECT ");
    let group_columns: Vec<(String, String)> = match (scope, join) {
        (Scope::All, _) => Vec::new(),
        (Scope::Related { .. }, Some(join)) => vec![("j".to_string(), join.this_column.clone())],
        (Scope::Related { parent, relation, .. }, None) => match &es.entities[*parent].relations[*relation].link {
            Link::Owns { remote, .. } | Link::Inverse { remote, .. } => {
                remote.iter().map(|&f| ("t0".to_string(), stored.columns[f].name.clone())).collect()
            }
            Link::Join { .. } => Vec::new(),
        },
    };
    for (i, (alias, column)) in group_columns.iter().enumerate() {
        sql.column(alias, column);
        if dialect == Dialect::Postgres {
            sql.push("::text");
        }
        sql.push(" AS g").push(&i.to_string()).push(", ");
    }
    write_columns(&mut sql, es, model, "t0");
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
        order(&mut sql, es, model, args, false, aliases);
        sql.push(") AS rn");
    }
    if let Some(cursor) = &args.cursor {
        // The cursor's unique columns, raw, to find its row by.
        for (i, (f, _)) in cursor.iter().enumerate() {
            sql.push(", ").column("t0", &stored.columns[*f].name).push(&format!(" AS k{i}"));
        }
    }
    match scope {
        Scope::Related { parent, relation, .. } => {
            let r = &es.entities[*parent].relations[*relation];
            match (&r.link, join) {
                (Link::Join { remote, .. }, Some(join)) => {
                    sql.push(&format!(
                        " FROM {} AS j JOIN {} AS t0 ON t0.{} = j.{}",
                        join.table,
                        stored.table,
                        crate::dialect::quote(&stored.columns[*remote].name),
                        crate::dialect::quote(&join.other_column)
                    ));
                }
                _ => {
                    sql.push(" FROM ").push(&stored.table).push(" AS t0");
                }
            }
        }
        // Only top-level lists search (the arguments of relations have no `search`).
        Scope::All if args.search.is_some() => {
            if let Some(search) = &args.search {
                crate::search::sql::write_from(&mut sql, es, model, search, &args.filter, aliases);
            }
        }
        Scope::All => {
            sql.push(" FROM ").push(&stored.table).push(" AS t0");
        }
    }
    sql.push(" WHERE ");
    if let Scope::Related { parent, relation, keys } = scope {
        write_key_match(&mut sql, es, (*parent, *relation, join), keys);
        sql.push(" AND ");
    }
    match (&args.search, scope) {
        // The search's matches are already filtered (`search::sql::write_from`).
        (Some(_), Scope::All) => {
            sql.push("TRUE");
        }
        _ => write_filter(&mut sql, es, model, "t0", &args.filter, aliases),
    }
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
    stored: &Storage,
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
        sql.param(value.clone(), &stored.columns[*f].cast);
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
    es: &Entities,
    (parent, relation, join): (usize, usize, Option<&JoinTable>),
    keys: &[Vec<Value>],
) {
    let r = &es.entities[parent].relations[relation];
    let stored = &es.storage[r.target];
    let (columns, casts): (Vec<(String, String)>, Vec<String>) = match &r.link {
        Link::Owns { remote, .. } | Link::Inverse { remote, .. } => remote
            .iter()
            .map(|&f| (("t0".to_string(), stored.columns[f].name.clone()), stored.columns[f].cast.clone()))
            .unzip(),
        // The join column holds the parent's id, of the id's type.
        Link::Join { local, .. } => match join {
            Some(join) => {
                (vec![("j".to_string(), join.this_column.clone())], vec![es.column(parent, *local).cast.clone()])
            }
            None => (Vec::new(), Vec::new()),
        },
    };
    if columns.is_empty() {
        sql.push("FALSE");
        return;
    }
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

pub(super) fn key_string(values: &[Value]) -> String {
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
