//! The log's objects in the database: its table, and the triggers (SQLite) or the trigger
//! function and triggers (PostgreSQL) that write an entry for every change of every table,
//! inside the writing transaction.

use super::{PG_LOCK_KEY, SQLITE_NOW_MS, TABLE};
use crate::catalog::{Catalog, Table};
use crate::dialect::{literal, qualified, quote, Dialect};

/// SQLite allows 127 arguments per function call by default: objects are built in
/// chunks of this many key/value pairs and merged.
const JSON_PAIRS_PER_CALL: usize = 50;

/// The log table, the PostgreSQL trigger function, and a trigger per table, each
/// statement safe to run again (`IF NOT EXISTS` / `OR REPLACE` / drop-then-create).
pub fn statements(catalog: &Catalog) -> Vec<String> {
    let mut out = Vec::new();
    match catalog.dialect {
        Dialect::Sqlite => {
            out.push(format!(
                "CREATE TABLE IF NOT EXISTS {} (\n    \"seq\" INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,\n    \
                 \"at\" INTEGER NOT NULL DEFAULT ({SQLITE_NOW_MS}),\n    \
                 \"model\" TEXT NOT NULL,\n    \"op\" TEXT NOT NULL,\n    \"pk\" TEXT NOT NULL,\n    \
                 \"old\" TEXT,\n    \"new\" TEXT\n)",
                quote(TABLE)
            ));
            out.push(format!("CREATE INDEX IF NOT EXISTS \"_ssot_changes_at_idx\" ON {}(\"at\")", quote(TABLE)));
            for table in &catalog.tables {
                out.extend(sqlite_triggers(table));
            }
        }
        Dialect::Postgres => {
            out.push(format!(
                "CREATE TABLE IF NOT EXISTS {} (\n    \"seq\" BIGSERIAL NOT NULL PRIMARY KEY,\n    \
                 \"at\" TIMESTAMPTZ NOT NULL DEFAULT now(),\n    \"model\" TEXT NOT NULL,\n    \
                 \"op\" TEXT NOT NULL,\n    \"pk\" JSONB NOT NULL,\n    \"old\" JSONB,\n    \"new\" JSONB\n)",
                table(Dialect::Postgres)
            ));
            out.push(format!(
                "CREATE INDEX IF NOT EXISTS \"_ssot_changes_at_idx\" ON {}(\"at\")",
                table(Dialect::Postgres)
            ));
            out.push(postgres_function());
            for table in &catalog.tables {
                out.extend(postgres_triggers(table));
            }
        }
    }
    out
}

/// The log table as SQL: on PostgreSQL always in `public`, wherever the writer's
/// `search_path` points, so that every trigger finds the one log.
pub fn table(dialect: Dialect) -> String {
    match dialect {
        Dialect::Sqlite => quote(TABLE),
        Dialect::Postgres => format!("public.{}", quote(TABLE)),
    }
}

/// The name every ssot trigger starts with (so migrations can find and replace them).
pub const TRIGGER_PREFIX: &str = "_ssot_";

fn label(table: &Table) -> String {
    table.model.clone().unwrap_or_else(|| table.name.clone())
}

fn pk_columns(table: &Table) -> Vec<String> {
    match &table.primary_key {
        Some(pk) => pk.columns.clone(),
        // Join tables and models keyed by a unique: every column of the first unique index.
        None => table
            .indexes
            .iter()
            .find(|i| i.unique)
            .map(|i| i.columns.iter().map(|(c, _)| c.clone()).collect())
            .unwrap_or_else(|| table.columns.iter().map(|c| c.name.clone()).collect()),
    }
}

fn sqlite_json_object(table: &Table, row: &str, columns: &[String]) -> String {
    let value = |column: &String| {
        let is_blob = table.column(column).is_some_and(|c| c.sql_type.eq_ignore_ascii_case("BLOB"));
        let reference = format!("{row}.{}", quote(column));
        // JSON cannot hold a BLOB: bytes go into the log as hex.
        if is_blob {
            format!("CASE WHEN {reference} IS NULL THEN NULL ELSE hex({reference}) END")
        } else {
            reference
        }
    };
    let calls: Vec<String> = columns
        .chunks(JSON_PAIRS_PER_CALL)
        .map(|chunk| {
            let pairs: Vec<String> = chunk.iter().map(|c| format!("{}, {}", literal(c), value(c))).collect();
            format!("json_object({})", pairs.join(", "))
        })
        .collect();
    calls.into_iter().reduce(|a, b| format!("json_patch({a}, {b})")).unwrap_or_else(|| "json_object()".to_string())
}

fn sqlite_triggers(table: &Table) -> Vec<String> {
    let columns: Vec<String> = table.columns.iter().map(|c| c.name.clone()).collect();
    let pk = pk_columns(table);
    let model = literal(&label(table));
    let target = qualified(table.schema.as_deref(), &table.name);
    let mut out = Vec::new();
    for (event, op, old, new) in [
        ("INSERT", "create", None, Some("NEW")),
        ("UPDATE", "update", Some("OLD"), Some("NEW")),
        ("DELETE", "delete", Some("OLD"), None),
    ] {
        let name = quote(&format!("{TRIGGER_PREFIX}{}_{}", table.name, op));
        let key_row = new.or(old).unwrap_or("NEW");
        let object = |row: Option<&str>| row.map_or("NULL".to_string(), |r| sqlite_json_object(table, r, &columns));
        out.push(format!("DROP TRIGGER IF EXISTS {name}"));
        out.push(format!(
            "CREATE TRIGGER {name} AFTER {event} ON {target} BEGIN\n    INSERT INTO {} (\"at\", \"model\", \"op\", \"pk\", \"old\", \"new\") VALUES ({SQLITE_NOW_MS}, {model}, '{op}', {}, {}, {});\nEND",
            quote(TABLE),
            sqlite_json_object(table, key_row, &pk),
            object(old),
            object(new),
        ));
    }
    out
}

/// The function every table's trigger calls. Rows are logged without the search column
/// (`search::ddl`), which only the database reads.
fn postgres_function() -> String {
    format!(
        r#"CREATE OR REPLACE FUNCTION "_ssot_capture"() RETURNS trigger LANGUAGE plpgsql AS $ssot$
DECLARE
    old_row JSONB := CASE WHEN TG_OP IN ('UPDATE', 'DELETE') THEN to_jsonb(OLD) - '_ssot_search' END;
    new_row JSONB := CASE WHEN TG_OP IN ('INSERT', 'UPDATE') THEN to_jsonb(NEW) - '_ssot_search' END;
    key_row JSONB := COALESCE(new_row, old_row);
    pk JSONB := '{{}}'::jsonb;
    i INTEGER;
BEGIN
    FOR i IN 1..TG_NARGS - 1 LOOP
        pk := pk || jsonb_build_object(TG_ARGV[i], key_row -> TG_ARGV[i]);
    END LOOP;
    PERFORM pg_advisory_xact_lock({PG_LOCK_KEY});
    INSERT INTO {table} ("model", "op", "pk", "old", "new")
    VALUES (TG_ARGV[0], CASE TG_OP WHEN 'INSERT' THEN 'create' WHEN 'UPDATE' THEN 'update' ELSE 'delete' END,
            pk, old_row, new_row);
    PERFORM pg_notify('ssot_changes', '');
    RETURN NULL;
END
$ssot$"#,
        table = table(Dialect::Postgres),
    )
}

fn postgres_triggers(table: &Table) -> Vec<String> {
    let name = quote(&format!("{TRIGGER_PREFIX}capture"));
    let target = qualified(table.schema.as_deref(), &table.name);
    let mut args = vec![literal(&label(table))];
    args.extend(pk_columns(table).iter().map(|c| literal(c)));
    vec![
        format!("DROP TRIGGER IF EXISTS {name} ON {target}"),
        format!(
            "CREATE TRIGGER {name} AFTER INSERT OR UPDATE OR DELETE ON {target} FOR EACH ROW EXECUTE FUNCTION \"_ssot_capture\"({})",
            args.join(", ")
        ),
    ]
}
