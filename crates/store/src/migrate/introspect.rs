//! What a database holds now: tables, columns, indexes, foreign keys and enum types, read
//! from SQLite's pragmas or PostgreSQL's catalog into the [`Catalog`] shape, so that the
//! differ compares like with like. The search objects of `@@search` are left out: they
//! are `search::ddl`'s to compare.

use crate::catalog::{Catalog, Column, EnumType, ForeignKey, IndexDef, Key, Table};
use crate::conn::{Conn, Value};
use crate::dialect::Dialect;
use crate::error::StoreError;
use ssot_schema::ir::ReferentialAction;

fn text(v: &Value) -> String {
    match v {
        Value::Text(t) => t.clone(),
        Value::Int(i) => i.to_string(),
        Value::Float(f) => f.to_string(),
        _ => String::new(),
    }
}

fn truthy(v: &Value) -> bool {
    match v {
        Value::Int(i) => *i != 0,
        Value::Text(t) => matches!(t.as_str(), "t" | "true" | "1"),
        _ => false,
    }
}

fn action(name: &str) -> ReferentialAction {
    match name.to_ascii_uppercase().as_str() {
        "CASCADE" | "C" => ReferentialAction::Cascade,
        "RESTRICT" | "R" => ReferentialAction::Restrict,
        "SET NULL" | "N" => ReferentialAction::SetNull,
        "SET DEFAULT" | "D" => ReferentialAction::SetDefault,
        _ => ReferentialAction::NoAction,
    }
}

/// A partial index's condition from SQLite's copy of the `CREATE INDEX` (kept as it was
/// written): what follows the column list's `) WHERE `.
fn sqlite_condition(sql: &str) -> Option<String> {
    let after_on = sql.find(" ON ")?;
    let at = sql[after_on..].find(") WHERE ")? + after_on;
    Some(sql[at + ") WHERE ".len()..].to_string())
}

/// A partial index's condition on PostgreSQL: as ssot wrote it when the index's comment
/// keeps it (`partial::COMMENT_MARKER`), else PostgreSQL's normalized form (which then
/// differs from the schema's, so the index is made again once, with the comment).
fn postgres_condition(predicate: &Value, comment: &Value) -> Option<String> {
    if *predicate == Value::Null {
        return None;
    }
    match comment {
        Value::Text(c) if c.starts_with(crate::partial::COMMENT_MARKER) => {
            Some(c[crate::partial::COMMENT_MARKER.len()..].to_string())
        }
        _ => Some(text(predicate)),
    }
}

pub fn introspect(conn: &mut dyn Conn) -> Result<Catalog, StoreError> {
    match conn.dialect() {
        Dialect::Sqlite => sqlite(conn),
        Dialect::Postgres => postgres(conn),
    }
}

fn sqlite(conn: &mut dyn Conn) -> Result<Catalog, StoreError> {
    let names = conn
        .query("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name", &[])?;
    let mut tables = Vec::new();
    for row in names {
        let name = text(&row[0]);
        let param = [Value::Text(name.clone())];
        let columns_rows = conn
            .query("SELECT name, type, \"notnull\", dflt_value, pk FROM pragma_table_info(?1) ORDER BY cid", &param)?;
        let mut pk: Vec<(i64, String)> = Vec::new();
        let columns = columns_rows
            .iter()
            .map(|c| {
                let pk_position = c[4].as_i64().unwrap_or(0);
                if pk_position > 0 {
                    pk.push((pk_position, text(&c[0])));
                }
                Column {
                    name: text(&c[0]),
                    sql_type: text(&c[1]),
                    nullable: !truthy(&c[2]),
                    default: (c[3] != Value::Null).then(|| text(&c[3])),
                    autoincrement: false,
                }
            })
            .collect();
        pk.sort();
        let mut indexes = Vec::new();
        for index in conn.query(
            "SELECT l.name, l.\"unique\", l.origin, m.sql FROM pragma_index_list(?1) AS l \
             LEFT JOIN sqlite_master AS m ON m.type = 'index' AND m.name = l.name AND l.partial = 1",
            &param,
        )? {
            if text(&index[2]) == "pk" {
                continue;
            }
            let index_name = text(&index[0]);
            let columns = conn
                .query(
                    "SELECT name, desc FROM pragma_index_xinfo(?1) WHERE key = 1 ORDER BY seqno",
                    &[Value::Text(index_name.clone())],
                )?
                .iter()
                .map(|c| (text(&c[0]), truthy(&c[1]).then_some(ssot_schema::ir::SortOrder::Desc)))
                .collect();
            let condition = (index[3] != Value::Null).then(|| sqlite_condition(&text(&index[3]))).flatten();
            indexes.push(IndexDef { name: index_name, unique: truthy(&index[1]), columns, method: None, condition });
        }
        let mut foreign_keys: Vec<ForeignKey> = Vec::new();
        let mut current = -1;
        for fk in conn.query(
            "SELECT id, \"table\", \"from\", \"to\", on_update, on_delete FROM pragma_foreign_key_list(?1) ORDER BY id, seq",
            &param,
        )? {
            let id = fk[0].as_i64().unwrap_or(0);
            if id != current {
                current = id;
                foreign_keys.push(ForeignKey {
                    name: String::new(),
                    columns: Vec::new(),
                    referenced_schema: None,
                    referenced_table: text(&fk[1]),
                    referenced_columns: Vec::new(),
                    on_delete: action(&text(&fk[5])),
                    on_update: action(&text(&fk[4])),
                });
            }
            if let Some(last) = foreign_keys.last_mut() {
                last.columns.push(text(&fk[2]));
                last.referenced_columns.push(text(&fk[3]));
            }
        }
        tables.push(Table {
            name,
            schema: None,
            model: None,
            columns,
            primary_key: (!pk.is_empty())
                .then(|| Key { name: None, columns: pk.into_iter().map(|(_, c)| c).collect() }),
            indexes,
            foreign_keys,
        });
    }
    Ok(Catalog { dialect: Dialect::Sqlite, tables, enums: Vec::new(), extensions: Vec::new(), searches: Vec::new() })
}

fn postgres(conn: &mut dyn Conn) -> Result<Catalog, StoreError> {
    let user_schemas = "n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg_toast%' AND n.nspname NOT LIKE 'pg_temp%'";
    let table_rows = conn.query(
        &format!(
            "SELECT n.nspname, c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
             WHERE c.relkind IN ('r', 'p') AND {user_schemas} \
             AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.objid = c.oid AND d.deptype = 'e') ORDER BY 1, 2"
        ),
        &[],
    )?;
    let mut tables = Vec::new();
    for row in table_rows {
        let (schema, name) = (text(&row[0]), text(&row[1]));
        let params = [Value::Text(schema.clone()), Value::Text(name.clone())];
        let relation = "(SELECT c.oid FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = $1::text AND c.relname = $2::text)";
        let columns = conn
            .query(
                &format!(
                    "SELECT a.attname::text, format_type(a.atttypid, a.atttypmod), a.attnotnull, pg_get_expr(d.adbin, d.adrelid) \
                     FROM pg_attribute a LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum \
                     WHERE a.attrelid = {relation} AND a.attnum > 0 AND NOT a.attisdropped \
                     AND a.attname <> '{search}' ORDER BY a.attnum",
                    search = crate::search::ddl::COLUMN
                ),
                &params,
            )?
            .iter()
            .map(|c| {
                let default = (c[3] != Value::Null).then(|| text(&c[3]));
                Column {
                    name: text(&c[0]),
                    sql_type: text(&c[1]),
                    nullable: !truthy(&c[2]),
                    autoincrement: default.as_deref().is_some_and(|d| d.starts_with("nextval(")),
                    default,
                }
            })
            .collect();
        let mut primary_key = None;
        let mut indexes = Vec::new();
        for index in conn.query(
            &format!(
                "SELECT i.relname::text, x.indisunique, x.indisprimary, \
                 (SELECT string_agg(a.attname::text, ',' ORDER BY k.ord) FROM unnest(x.indkey) WITH ORDINALITY AS k(attnum, ord) \
                  JOIN pg_attribute a ON a.attrelid = x.indrelid AND a.attnum = k.attnum), am.amname::text, \
                 pg_get_expr(x.indpred, x.indrelid), obj_description(x.indexrelid, 'pg_class') \
                 FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid JOIN pg_am am ON am.oid = i.relam \
                 WHERE x.indrelid = {relation} ORDER BY 1"
            ),
            &params,
        )? {
            let columns: Vec<String> = text(&index[3]).split(',').filter(|c| !c.is_empty()).map(String::from).collect();
            // The search index is `search::ddl`'s (as the search column is).
            if crate::search::ddl::is_search_index(&columns) {
                continue;
            }
            if truthy(&index[2]) {
                primary_key = Some(Key { name: Some(text(&index[0])), columns });
                continue;
            }
            let method = text(&index[4]);
            indexes.push(IndexDef {
                name: text(&index[0]),
                unique: truthy(&index[1]),
                columns: columns.into_iter().map(|c| (c, None)).collect(),
                method: (method != "btree").then_some(method),
                condition: postgres_condition(&index[5], &index[6]),
            });
        }
        let foreign_keys = conn
            .query(
                &format!(
                    "SELECT con.conname::text, \
                     (SELECT string_agg(a.attname::text, ',' ORDER BY k.ord) FROM unnest(con.conkey) WITH ORDINALITY AS k(attnum, ord) JOIN pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = k.attnum), \
                     rn.nspname::text, rc.relname::text, \
                     (SELECT string_agg(a.attname::text, ',' ORDER BY k.ord) FROM unnest(con.confkey) WITH ORDINALITY AS k(attnum, ord) JOIN pg_attribute a ON a.attrelid = con.confrelid AND a.attnum = k.attnum), \
                     con.confdeltype::text, con.confupdtype::text \
                     FROM pg_constraint con JOIN pg_class rc ON rc.oid = con.confrelid JOIN pg_namespace rn ON rn.oid = rc.relnamespace \
                     WHERE con.contype = 'f' AND con.conrelid = {relation} ORDER BY 1"
                ),
                &params,
            )?
            .iter()
            .map(|f| ForeignKey {
                name: text(&f[0]),
                columns: text(&f[1]).split(',').map(String::from).collect(),
                referenced_schema: Some(text(&f[2])),
                referenced_table: text(&f[3]),
                referenced_columns: text(&f[4]).split(',').map(String::from).collect(),
                on_delete: action(&text(&f[5])),
                on_update: action(&text(&f[6])),
            })
            .collect();
        tables.push(Table { name, schema: Some(schema), model: None, columns, primary_key, indexes, foreign_keys });
    }
    let mut enums: Vec<EnumType> = Vec::new();
    for row in conn.query(
        &format!(
            "SELECT n.nspname::text, t.typname::text, e.enumlabel::text FROM pg_type t JOIN pg_enum e ON e.enumtypid = t.oid \
             JOIN pg_namespace n ON n.oid = t.typnamespace WHERE {user_schemas} ORDER BY 1, 2, e.enumsortorder"
        ),
        &[],
    )? {
        let (schema, name, value) = (text(&row[0]), text(&row[1]), text(&row[2]));
        match enums.last_mut() {
            Some(last) if last.name == name && last.schema.as_deref() == Some(schema.as_str()) => last.values.push(value),
            _ => enums.push(EnumType { name, schema: Some(schema), values: vec![value] }),
        }
    }
    let extensions = conn.query("SELECT extname::text FROM pg_extension", &[])?.iter().map(|r| text(&r[0])).collect();
    Ok(Catalog { dialect: Dialect::Postgres, tables, enums, extensions, searches: Vec::new() })
}
