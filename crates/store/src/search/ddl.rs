//! The search objects in the database, and the migration steps that create, change and
//! drop them.
//!
//! SQLite: `_ssot_search_<table>`, an FTS5 table with external content (the model's
//! table, by `rowid`), and the triggers `_ssot_search_<table>_ai|_ad|_au` that keep it in
//! step with every write, whoever makes it (they use nothing newer than SQLite 3.9).
//! PostgreSQL: the stored generated column `_ssot_search` (a `tsvector`), a GIN index on
//! it, and a comment holding its expression, by which a later `migrate` knows it.
//!
//! Introspection of the tables leaves these out ([`crate::migrate::introspect`]); here
//! the database's own are compared with the wanted ones, text for text. Drops run before
//! the schema's other steps, creations after, so a table rebuilt (SQLite) or a column
//! changed (PostgreSQL) gets its search objects back, filled again.

use super::{Index, PREFIX};
use crate::catalog::Catalog;
use crate::conn::{Conn, Value};
use crate::dialect::{literal, qualified, quote, Dialect};
use crate::error::StoreError;
use crate::migrate::Step;

/// The PostgreSQL column (and, on SQLite, the start of every object's name).
pub const COLUMN: &str = PREFIX;

const TRIGGERS: [&str; 3] = ["ai", "ad", "au"];

/// Whether `name` is one of the search triggers (not the change log's, which end in
/// `_create`, `_update` or `_delete`).
pub fn is_search_trigger(name: &str) -> bool {
    name.starts_with(&format!("{PREFIX}_")) && TRIGGERS.iter().any(|t| name.ends_with(&format!("_{t}")))
}

/// Whether a PostgreSQL index is the search index (it covers the search column alone).
pub fn is_search_index(columns: &[String]) -> bool {
    columns.len() == 1 && columns[0] == COLUMN
}

/// Everything that creates `index` on a table that may hold rows (filled at once).
pub fn create(dialect: Dialect, index: &Index) -> Vec<String> {
    match dialect {
        Dialect::Sqlite => {
            let fts = quote(&index.fts_table());
            let mut out = vec![sqlite_table(index)];
            out.extend(sqlite_triggers(index).into_iter().map(|(_, sql)| sql));
            out.push(format!("INSERT INTO {fts} ({fts}) VALUES ('rebuild')"));
            out
        }
        Dialect::Postgres => {
            let target = qualified(index.schema.as_deref(), &index.table);
            let expression = vector(index, &(0..index.columns.len()).collect::<Vec<_>>(), "");
            vec![
                format!(
                    "ALTER TABLE {target} ADD COLUMN {} tsvector GENERATED ALWAYS AS ({expression}) STORED",
                    quote(COLUMN)
                ),
                format!("CREATE INDEX {} ON {target} USING GIN ({})", quote(&pg_index_name(index)), quote(COLUMN)),
                format!("COMMENT ON COLUMN {target}.{} IS {}", quote(COLUMN), literal(&expression)),
            ]
        }
    }
}

/// Everything that drops the search objects of `table` (each statement safe when they are absent).
pub fn drop(dialect: Dialect, schema: Option<&str>, table: &str) -> Vec<String> {
    match dialect {
        Dialect::Sqlite => {
            let fts = format!("{PREFIX}_{table}");
            let mut out: Vec<String> =
                TRIGGERS.iter().map(|t| format!("DROP TRIGGER IF EXISTS {}", quote(&format!("{fts}_{t}")))).collect();
            out.push(format!("DROP TABLE IF EXISTS {}", quote(&fts)));
            out
        }
        Dialect::Postgres => {
            vec![format!("ALTER TABLE IF EXISTS {} DROP COLUMN IF EXISTS {}", qualified(schema, table), quote(COLUMN))]
        }
    }
}

fn pg_index_name(index: &Index) -> String {
    format!("{}{PREFIX}_idx", index.table)
}

/// The FTS5 table. Its prefix indexes (2 to 5 characters) answer the word being typed
/// without merging every term that starts with it (a 3-letter prefix over a 20,000-word
/// vocabulary took 70 ms without them, under 1 ms with them).
fn sqlite_table(index: &Index) -> String {
    let columns: Vec<String> = index.columns.iter().map(|(c, _)| quote(c)).collect();
    format!(
        "CREATE VIRTUAL TABLE {} USING fts5({}, content={}, content_rowid='rowid', tokenize='unicode61 remove_diacritics 2', prefix='2 3 4 5')",
        quote(&index.fts_table()),
        columns.join(", "),
        literal(&index.table)
    )
}

/// The three triggers, by name: insert, delete, and an update of a searched column (or
/// of the rowid) as a delete and an insert, as FTS5's external content needs.
fn sqlite_triggers(index: &Index) -> Vec<(String, String)> {
    let fts = index.fts_table();
    let (q_fts, target) = (quote(&fts), quote(&index.table));
    let names: Vec<String> = index.columns.iter().map(|(c, _)| quote(c)).collect();
    let values = |row: &str| names.iter().map(|c| format!("{row}.{c}")).collect::<Vec<_>>().join(", ");
    let list = names.join(", ");
    let insert = format!("INSERT INTO {q_fts} (rowid, {list}) VALUES (new.rowid, {});", values("new"));
    let delete =
        format!("INSERT INTO {q_fts} ({q_fts}, rowid, {list}) VALUES ('delete', old.rowid, {});", values("old"));
    let changed: Vec<String> = std::iter::once("old.rowid IS NOT new.rowid".to_string())
        .chain(names.iter().map(|c| format!("old.{c} IS NOT new.{c}")))
        .collect();
    let name = |t: &str| format!("{fts}_{t}");
    vec![
        (
            name("ai"),
            format!("CREATE TRIGGER {} AFTER INSERT ON {target} BEGIN\n    {insert}\nEND", quote(&name("ai"))),
        ),
        (
            name("ad"),
            format!("CREATE TRIGGER {} AFTER DELETE ON {target} BEGIN\n    {delete}\nEND", quote(&name("ad"))),
        ),
        (
            name("au"),
            format!(
                "CREATE TRIGGER {} AFTER UPDATE ON {target} WHEN {} BEGIN\n    {delete}\n    {insert}\nEND",
                quote(&name("au")),
                changed.join(" OR ")
            ),
        ),
    ]
}

/// The `tsvector` of the columns `visible` (indices into `index.columns`), each weighted
/// by its class, read from `alias` (empty: unqualified, as in the generated column).
pub fn vector(index: &Index, visible: &[usize], alias: &str) -> String {
    let parts: Vec<String> = visible
        .iter()
        .filter_map(|&i| {
            let (column, _) = index.columns.get(i)?;
            let column = if alias.is_empty() { quote(column) } else { format!("{alias}.{}", quote(column)) };
            Some(format!("setweight(to_tsvector('simple'::regconfig, COALESCE({column}, '')), '{}')", index.class(i)))
        })
        .collect();
    if parts.is_empty() {
        "''::tsvector".to_string()
    } else {
        parts.join(" || ")
    }
}

/// The steps that bring the database's search objects to `want`'s: drops to run before
/// `steps` (the schema's other changes) and creations after.
pub fn plan(conn: &mut dyn Conn, want: &Catalog, steps: &[Step]) -> Result<(Vec<Step>, Vec<Step>), StoreError> {
    let dialect = want.dialect;
    let have = existing(conn)?;
    let (mut before, mut after) = (Vec::new(), Vec::new());
    for (schema, table) in have.iter().map(|(s, t, _)| (s, t)) {
        let wanted = want.searches.iter().any(|i| &i.table == table && same_schema(dialect, i, schema.as_deref()));
        if !wanted {
            before.push(Step {
                summary: format!("drop search index of {table}"),
                statements: drop(dialect, schema.as_deref(), table),
                data_loss: None,
            });
        }
    }
    for index in &want.searches {
        let current = have
            .iter()
            .find(|(s, t, _)| t == &index.table && same_schema(dialect, index, s.as_deref()))
            .map(|(_, _, text)| text);
        let up_to_date = current.is_some_and(|text| *text == fingerprint(dialect, index));
        if up_to_date && !rewritten(dialect, index, steps) {
            continue;
        }
        if current.is_some() {
            before.push(Step {
                summary: format!("drop search index of {}", index.table),
                statements: drop(dialect, index.schema.as_deref(), &index.table),
                data_loss: None,
            });
        }
        after.push(Step {
            summary: format!("create search index of {}", index.table),
            statements: create(dialect, index),
            data_loss: None,
        });
    }
    Ok((before, after))
}

fn same_schema(dialect: Dialect, index: &Index, schema: Option<&str>) -> bool {
    let default = (dialect == Dialect::Postgres).then_some("public");
    index.schema.as_deref().or(default) == schema.or(default)
}

/// Whether the schema's steps rebuild `index`'s table (SQLite: its triggers go with it and
/// rowids may change) or change columns the generated column reads (PostgreSQL refuses
/// that while the column exists).
fn rewritten(dialect: Dialect, index: &Index, steps: &[Step]) -> bool {
    let target = qualified(index.schema.as_deref(), &index.table);
    steps.iter().flat_map(|s| &s.statements).any(|statement| match dialect {
        Dialect::Sqlite => *statement == format!("DROP TABLE {target}"),
        Dialect::Postgres => {
            statement.starts_with(&format!("ALTER TABLE {target} "))
                && (statement.contains(" ALTER COLUMN ") || statement.contains(" DROP COLUMN "))
        }
    })
}

/// What [`existing`] reads back for an up-to-date `index`: the FTS table's and triggers'
/// text (SQLite), the comment on the generated column (PostgreSQL).
fn fingerprint(dialect: Dialect, index: &Index) -> String {
    match dialect {
        Dialect::Sqlite => {
            let mut parts = vec![sqlite_table(index)];
            let mut triggers = sqlite_triggers(index);
            triggers.sort();
            parts.extend(triggers.into_iter().map(|(_, sql)| sql));
            parts.join("\n;\n")
        }
        Dialect::Postgres => vector(index, &(0..index.columns.len()).collect::<Vec<_>>(), ""),
    }
}

/// The search objects the database holds: per table (schema, table, fingerprint).
fn existing(conn: &mut dyn Conn) -> Result<Vec<(Option<String>, String, String)>, StoreError> {
    let text = |v: Option<&Value>| v.and_then(Value::as_text).unwrap_or_default().to_string();
    match conn.dialect() {
        Dialect::Sqlite => {
            let rows = conn.query(
                "SELECT type, name, tbl_name, sql FROM sqlite_master WHERE name LIKE '\\_ssot\\_search\\_%' ESCAPE '\\' \
                 AND type IN ('table', 'trigger') ORDER BY name",
                &[],
            )?;
            let mut out: Vec<(Option<String>, String, String)> = Vec::new();
            for row in &rows {
                let (kind, name, sql) = (text(row.first()), text(row.get(1)), text(row.get(3)));
                if kind == "table" && sql.starts_with("CREATE VIRTUAL TABLE") {
                    let table = name.strip_prefix(&format!("{PREFIX}_")).unwrap_or(&name).to_string();
                    out.push((None, table, sql));
                }
            }
            for (_, table, fingerprint) in &mut out {
                let fts = format!("{PREFIX}_{table}");
                for row in &rows {
                    let name = text(row.get(1));
                    let own = name.strip_prefix(&fts).is_some_and(|t| TRIGGERS.iter().any(|s| t == format!("_{s}")));
                    if text(row.first()) == "trigger" && own {
                        fingerprint.push_str("\n;\n");
                        fingerprint.push_str(&text(row.get(3)));
                    }
                }
            }
            Ok(out)
        }
        Dialect::Postgres => {
            let rows = conn.query(
                &format!(
                    "SELECT n.nspname::text, c.relname::text, COALESCE(col_description(c.oid, a.attnum), '') \
                     FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace \
                     WHERE a.attname = {} AND NOT a.attisdropped AND c.relkind IN ('r', 'p') ORDER BY 1, 2",
                    literal(COLUMN)
                ),
                &[],
            )?;
            Ok(rows.iter().map(|r| (Some(text(r.first())), text(r.get(1)), text(r.get(2)))).collect())
        }
    }
}
