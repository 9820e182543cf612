//! `CREATE` statements for a [`Catalog`], written the way Prisma Migrate writes them.

use crate::catalog::{Catalog, Column, EnumType, ForeignKey, IndexDef, Table};
use crate::dialect::{literal, qualified, quote, Dialect};
use ssot_schema::ir::{ReferentialAction, SortOrder};

/// Every statement that creates the catalog in an empty database, in an order that works:
/// enum types, tables, indexes, then (PostgreSQL) foreign keys.
pub fn create_all(catalog: &Catalog) -> Vec<String> {
    let mut out = Vec::new();
    let mut schemas: Vec<&str> = catalog
        .tables
        .iter()
        .filter_map(|t| t.schema.as_deref())
        .chain(catalog.enums.iter().filter_map(|e| e.schema.as_deref()))
        .collect();
    schemas.sort_unstable();
    schemas.dedup();
    for schema in schemas {
        out.push(format!("CREATE SCHEMA IF NOT EXISTS {}", quote(schema)));
    }
    out.extend(catalog.extensions.iter().map(|e| format!("CREATE EXTENSION IF NOT EXISTS {}", quote(e))));
    out.extend(catalog.enums.iter().map(create_enum));
    for table in &catalog.tables {
        out.push(create_table(catalog.dialect, table));
    }
    for table in &catalog.tables {
        out.extend(table.indexes.iter().flat_map(|i| index_statements(catalog.dialect, table, i)));
    }
    if catalog.dialect == Dialect::Postgres {
        for table in &catalog.tables {
            out.extend(table.foreign_keys.iter().map(|fk| add_foreign_key(table, fk)));
        }
    }
    out
}

pub fn create_enum(e: &EnumType) -> String {
    let values: Vec<String> = e.values.iter().map(|v| literal(v)).collect();
    format!("CREATE TYPE {} AS ENUM ({})", qualified(e.schema.as_deref(), &e.name), values.join(", "))
}

pub fn column_definition(dialect: Dialect, table: &Table, column: &Column) -> String {
    let mut out = format!("{} {}", quote(&column.name), column.sql_type);
    if !column.nullable {
        out.push_str(" NOT NULL");
    }
    let single_pk = table.primary_key.as_ref().is_some_and(|pk| pk.columns.len() == 1 && pk.columns[0] == column.name);
    if dialect == Dialect::Sqlite && single_pk {
        out.push_str(" PRIMARY KEY");
        if column.autoincrement {
            out.push_str(" AUTOINCREMENT");
        }
    }
    if let Some(default) = &column.default {
        out.push_str(" DEFAULT ");
        out.push_str(default);
    }
    out
}

pub fn create_table(dialect: Dialect, table: &Table) -> String {
    create_table_named(dialect, table, &table.name)
}

/// `CREATE TABLE` under another name (SQLite's table rebuilds create `new_X` first).
pub fn create_table_named(dialect: Dialect, table: &Table, name: &str) -> String {
    let mut lines: Vec<String> = table.columns.iter().map(|c| column_definition(dialect, table, c)).collect();
    if let Some(pk) = &table.primary_key {
        let columns = column_list(&pk.columns);
        match dialect {
            Dialect::Postgres => {
                let name = pk.name.clone().unwrap_or_else(|| format!("{}_pkey", table.name));
                lines.push(format!("CONSTRAINT {} PRIMARY KEY ({columns})", quote(&name)));
            }
            Dialect::Sqlite if pk.columns.len() > 1 => lines.push(format!("PRIMARY KEY ({columns})")),
            Dialect::Sqlite => {}
        }
    }
    if dialect == Dialect::Sqlite {
        lines.extend(table.foreign_keys.iter().map(foreign_key_clause));
    }
    format!("CREATE TABLE {} (\n    {}\n)", qualified(table.schema.as_deref(), name), lines.join(",\n    "))
}

/// The statements that create `index`: the `CREATE INDEX`, and on PostgreSQL, for a
/// partial index, a comment keeping its condition as written, which PostgreSQL itself
/// keeps only normalized (migrations compare it; see `migrate::introspect`).
pub fn index_statements(dialect: Dialect, table: &Table, index: &IndexDef) -> Vec<String> {
    let mut out = vec![create_index(table, index)];
    if let (Dialect::Postgres, Some(condition)) = (dialect, &index.condition) {
        out.push(format!(
            "COMMENT ON INDEX {} IS {}",
            qualified(table.schema.as_deref(), &index.name),
            literal(&format!("{}{condition}", crate::partial::COMMENT_MARKER))
        ));
    }
    out
}

fn create_index(table: &Table, index: &IndexDef) -> String {
    let columns: Vec<String> = index
        .columns
        .iter()
        .map(|(c, sort)| match sort {
            Some(SortOrder::Desc) => format!("{} DESC", quote(c)),
            Some(SortOrder::Asc) => format!("{} ASC", quote(c)),
            None => quote(c),
        })
        .collect();
    let method = match index.method.as_deref() {
        Some(m) if !m.eq_ignore_ascii_case("btree") => format!(" USING {}", m.to_ascii_uppercase()),
        _ => String::new(),
    };
    let condition = index.condition.as_ref().map(|c| format!(" WHERE {c}")).unwrap_or_default();
    // An index lives in its table's schema; only the table is qualified.
    format!(
        "CREATE {}INDEX {} ON {}{method}({}){condition}",
        if index.unique { "UNIQUE " } else { "" },
        quote(&index.name),
        qualified(table.schema.as_deref(), &table.name),
        columns.join(", ")
    )
}

fn foreign_key_clause(fk: &ForeignKey) -> String {
    format!(
        "CONSTRAINT {} FOREIGN KEY ({}) REFERENCES {} ({}) ON DELETE {} ON UPDATE {}",
        quote(&fk.name),
        column_list(&fk.columns),
        qualified(fk.referenced_schema.as_deref(), &fk.referenced_table),
        column_list(&fk.referenced_columns),
        action(fk.on_delete),
        action(fk.on_update)
    )
}

pub fn add_foreign_key(table: &Table, fk: &ForeignKey) -> String {
    format!("ALTER TABLE {} ADD {}", qualified(table.schema.as_deref(), &table.name), foreign_key_clause(fk))
}

pub fn column_list(columns: &[String]) -> String {
    columns.iter().map(|c| quote(c)).collect::<Vec<_>>().join(", ")
}

fn action(action: ReferentialAction) -> &'static str {
    match action {
        ReferentialAction::Cascade => "CASCADE",
        ReferentialAction::Restrict => "RESTRICT",
        ReferentialAction::NoAction => "NO ACTION",
        ReferentialAction::SetNull => "SET NULL",
        ReferentialAction::SetDefault => "SET DEFAULT",
    }
}
