//! The steps from the database as it is to the catalog the schema wants.
//!
//! Each step carries its SQL and, when it drops or narrows data, the reason, so that
//! `ssot migrate` can refuse it without `--accept-data-loss`. On SQLite, changes that
//! `ALTER TABLE` cannot make (a column's type or nullability, keys, foreign keys) rebuild
//! the table as Prisma does: create `new_T`, copy the common columns, drop, rename.

use crate::catalog::{Catalog, Column, Table};
use crate::ddl;
use crate::dialect::{qualified, quote, Dialect};

#[derive(Debug, Clone)]
pub struct Step {
    pub summary: String,
    pub statements: Vec<String>,
    /// Why this step loses or narrows data, if it does.
    pub data_loss: Option<String>,
}

/// Tables the differ leaves alone: ssot's own, Prisma's migration history, SQLite's.
pub fn is_internal(table: &str) -> bool {
    table.starts_with("_ssot_") || table == "_prisma_migrations" || table.starts_with("sqlite_")
}

fn same_schema(a: Option<&str>, b: Option<&str>, dialect: Dialect) -> bool {
    let default = if dialect == Dialect::Postgres { Some("public") } else { None };
    a.or(default) == b.or(default)
}

/// A type as PostgreSQL's `format_type` spells it (SQLite: upper-cased), so that the
/// schema's `VARCHAR(191)` and the database's `character varying(191)` compare equal.
pub fn normalize_type(sql_type: &str, dialect: Dialect) -> String {
    if dialect == Dialect::Sqlite {
        return sql_type.trim().to_ascii_uppercase();
    }
    let t = sql_type.trim();
    // `format_type` leaves out the schema when it is on the search path (`public`).
    let t = t.strip_prefix("\"public\".").or_else(|| t.strip_prefix("public.")).unwrap_or(t);
    if let Some(element) = t.strip_suffix("[]") {
        return format!("{}[]", normalize_type(element, dialect));
    }
    if t.contains('"') {
        // A (schema-qualified) type name: `format_type` quotes each part only when it must.
        return t
            .split('.')
            .map(|part| match part.strip_prefix('"').and_then(|r| r.strip_suffix('"')) {
                Some(inner) if inner.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_') => {
                    inner
                }
                _ => part,
            })
            .collect::<Vec<_>>()
            .join(".");
    }
    let mut lower = t.to_ascii_lowercase();
    // Already in `format_type`'s words: `timestamp(3) without time zone`.
    let zone = [(" without time zone", false), (" with time zone", true)]
        .into_iter()
        .find_map(|(suffix, with)| lower.strip_suffix(suffix).map(|rest| (rest.to_string(), with)));
    if let Some((rest, with)) = zone {
        lower = format!(
            "{}{}",
            rest.replacen("timestamp", if with { "timestamptz" } else { "timestamp" }, 1).replacen(
                "time(",
                if with { "timetz(" } else { "time(" },
                1
            ),
            ""
        );
        if with && lower == "time" {
            lower = "timetz".to_string();
        }
    }
    let (base, args) = match lower.split_once('(') {
        Some((base, rest)) => (base.trim().to_string(), format!("({}", rest.replace(' ', ""))),
        None => (lower.clone(), String::new()),
    };
    let (base, args) = match base.as_str() {
        "serial" | "int" | "int4" => ("integer".to_string(), args),
        "bigserial" | "int8" => ("bigint".to_string(), args),
        "smallserial" | "int2" => ("smallint".to_string(), args),
        "decimal" => ("numeric".to_string(), args),
        "float8" => ("double precision".to_string(), args),
        "float4" => ("real".to_string(), args),
        "bool" => ("boolean".to_string(), args),
        "varchar" => ("character varying".to_string(), args),
        "char" => ("character".to_string(), args),
        "varbit" => ("bit varying".to_string(), args),
        "timestamp" => return format!("timestamp{args} without time zone"),
        "timestamptz" => return format!("timestamp{args} with time zone"),
        "time" => return format!("time{args} without time zone"),
        "timetz" => return format!("time{args} with time zone"),
        _ => (base, args),
    };
    format!("{base}{args}")
}

fn columns_match(want: &Column, have: &Column, dialect: Dialect) -> bool {
    normalize_type(&want.sql_type, dialect) == normalize_type(&have.sql_type, dialect) && want.nullable == have.nullable
}

pub fn diff(want: &Catalog, have: &Catalog) -> Vec<Step> {
    let dialect = want.dialect;
    let mut steps = Vec::new();
    let find = |t: &Table| {
        have.tables.iter().find(|h| h.name == t.name && same_schema(h.schema.as_deref(), t.schema.as_deref(), dialect))
    };

    // Schemas (`@@schema`) of the tables and enums still to create.
    let mut schemas: Vec<&str> = want
        .tables
        .iter()
        .filter(|t| find(t).is_none())
        .filter_map(|t| t.schema.as_deref())
        .chain(
            want.enums
                .iter()
                .filter(|e| {
                    !have
                        .enums
                        .iter()
                        .any(|h| h.name == e.name && same_schema(h.schema.as_deref(), e.schema.as_deref(), dialect))
                })
                .filter_map(|e| e.schema.as_deref()),
        )
        .filter(|s| *s != "public")
        .collect();
    schemas.sort_unstable();
    schemas.dedup();
    for schema in schemas {
        steps.push(Step {
            summary: format!("create schema {schema}"),
            statements: vec![format!("CREATE SCHEMA IF NOT EXISTS {}", quote(schema))],
            data_loss: None,
        });
    }
    for extension in want.extensions.iter().filter(|e| !have.extensions.contains(e)) {
        steps.push(Step {
            summary: format!("create extension {extension}"),
            statements: vec![format!("CREATE EXTENSION IF NOT EXISTS {}", quote(extension))],
            data_loss: None,
        });
    }
    for e in &want.enums {
        let existing = have
            .enums
            .iter()
            .find(|h| h.name == e.name && same_schema(h.schema.as_deref(), e.schema.as_deref(), dialect));
        match existing {
            None => steps.push(Step {
                summary: format!("create enum {}", e.name),
                statements: vec![ddl::create_enum(e)],
                data_loss: None,
            }),
            Some(h) => {
                let added: Vec<&String> = e.values.iter().filter(|v| !h.values.contains(v)).collect();
                let removed: Vec<&String> = h.values.iter().filter(|v| !e.values.contains(v)).collect();
                if !added.is_empty() {
                    steps.push(Step {
                        summary: format!("add values to enum {}", e.name),
                        statements: added
                            .iter()
                            .map(|v| {
                                format!(
                                    "ALTER TYPE {} ADD VALUE IF NOT EXISTS {}",
                                    qualified(e.schema.as_deref(), &e.name),
                                    crate::dialect::literal(v)
                                )
                            })
                            .collect(),
                        data_loss: None,
                    });
                }
                if !removed.is_empty() {
                    let list: Vec<&str> = removed.iter().map(|v| v.as_str()).collect();
                    let ty = qualified(e.schema.as_deref(), &e.name);
                    let old = quote(&format!("{}_old", e.name));
                    // Recreate the type; columns of it convert through text (rows holding a
                    // removed value make the conversion fail, and the migration with it).
                    let mut statements = vec![format!("ALTER TYPE {ty} RENAME TO {old}"), ddl::create_enum(e)];
                    for table in &want.tables {
                        for column in
                            table.columns.iter().filter(|c| c.sql_type.trim_end_matches("[]") == quote(&e.name))
                        {
                            statements.push(format!(
                                "ALTER TABLE {} ALTER COLUMN {} TYPE {} USING ({}::text::{})",
                                qualified(table.schema.as_deref(), &table.name),
                                quote(&column.name),
                                column.sql_type,
                                quote(&column.name),
                                column.sql_type
                            ));
                        }
                    }
                    statements.push(format!("DROP TYPE {old}"));
                    steps.push(Step {
                        summary: format!("remove values from enum {}", e.name),
                        statements,
                        data_loss: Some(format!("enum {} loses the values {}", e.name, list.join(", "))),
                    });
                }
            }
        }
    }

    let mut foreign_keys_to_add = Vec::new();
    for table in &want.tables {
        let Some(existing) = find(table) else {
            steps.push(Step {
                summary: format!("create table {}", table.name),
                statements: std::iter::once(ddl::create_table(dialect, table))
                    .chain(table.indexes.iter().flat_map(|i| ddl::index_statements(dialect, table, i)))
                    .collect(),
                data_loss: None,
            });
            if dialect == Dialect::Postgres {
                foreign_keys_to_add.extend(table.foreign_keys.iter().map(|fk| ddl::add_foreign_key(table, fk)));
            }
            continue;
        };
        match dialect {
            Dialect::Sqlite => steps.extend(sqlite_table(table, existing)),
            Dialect::Postgres => {
                let (table_steps, fks) = postgres_table(table, existing);
                steps.extend(table_steps);
                foreign_keys_to_add.extend(fks);
            }
        }
    }
    if !foreign_keys_to_add.is_empty() {
        steps.push(Step { summary: "add foreign keys".into(), statements: foreign_keys_to_add, data_loss: None });
    }
    for table in &have.tables {
        let wanted = want
            .tables
            .iter()
            .any(|t| t.name == table.name && same_schema(t.schema.as_deref(), table.schema.as_deref(), dialect));
        if !wanted && !is_internal(&table.name) {
            steps.push(Step {
                summary: format!("drop table {}", table.name),
                statements: vec![format!("DROP TABLE {}", qualified(table.schema.as_deref(), &table.name))],
                data_loss: Some(format!("table {} is not in the schema: it and its rows would be dropped", table.name)),
            });
        }
    }
    steps
}

fn index_matches(a: &crate::catalog::IndexDef, b: &crate::catalog::IndexDef) -> bool {
    a.unique == b.unique
        && a.condition == b.condition
        && a.columns.len() == b.columns.len()
        && a.columns.iter().zip(&b.columns).all(|(x, y)| x.0 == y.0)
}

fn foreign_key_matches(a: &crate::catalog::ForeignKey, b: &crate::catalog::ForeignKey) -> bool {
    a.columns == b.columns
        && a.referenced_table == b.referenced_table
        && a.referenced_columns == b.referenced_columns
        && a.on_delete == b.on_delete
        && a.on_update == b.on_update
}

fn index_steps(dialect: Dialect, table: &Table, existing: &Table) -> Vec<Step> {
    let mut steps = Vec::new();
    for index in &existing.indexes {
        let keep = table.indexes.iter().any(|i| i.name == index.name && index_matches(i, index));
        // SQLite's automatic indexes for inline UNIQUE constraints cannot be dropped.
        if !keep && !index.name.starts_with("sqlite_autoindex") {
            steps.push(Step {
                summary: format!("drop index {}", index.name),
                statements: vec![format!(
                    "DROP INDEX {}",
                    qualified(existing.schema.as_deref().filter(|s| *s != "public"), &index.name)
                )],
                data_loss: None,
            });
        }
    }
    for index in &table.indexes {
        let present = existing.indexes.iter().any(|i| i.name == index.name && index_matches(i, index));
        if !present {
            steps.push(Step {
                summary: format!("create index {}", index.name),
                statements: ddl::index_statements(dialect, table, index),
                data_loss: None,
            });
        }
    }
    steps
}

fn sqlite_table(table: &Table, existing: &Table) -> Vec<Step> {
    let missing: Vec<&Column> = table.columns.iter().filter(|c| existing.column(&c.name).is_none()).collect();
    let dropped: Vec<&Column> = existing.columns.iter().filter(|c| table.column(&c.name).is_none()).collect();
    let changed: Vec<&Column> = table
        .columns
        .iter()
        .filter(|c| existing.column(&c.name).is_some_and(|h| !columns_match(c, h, Dialect::Sqlite)))
        .collect();
    let pk_changed =
        table.primary_key.as_ref().map(|k| &k.columns) != existing.primary_key.as_ref().map(|k| &k.columns);
    let fks_changed = table.foreign_keys.len() != existing.foreign_keys.len()
        || !table.foreign_keys.iter().all(|fk| existing.foreign_keys.iter().any(|h| foreign_key_matches(fk, h)));
    // New required columns without a default cannot be added to a table by ALTER.
    let addable = missing.iter().all(|c| c.nullable || c.default.is_some());
    let needs_rebuild = !dropped.is_empty() || !changed.is_empty() || pk_changed || fks_changed || !addable;
    if !needs_rebuild {
        let mut steps: Vec<Step> = missing
            .iter()
            .map(|c| Step {
                summary: format!("add column {}.{}", table.name, c.name),
                statements: vec![format!(
                    "ALTER TABLE {} ADD COLUMN {}",
                    quote(&table.name),
                    ddl::column_definition(Dialect::Sqlite, table, c)
                )],
                data_loss: None,
            })
            .collect();
        steps.extend(index_steps(Dialect::Sqlite, table, existing));
        return steps;
    }
    let mut losses = Vec::new();
    for c in &dropped {
        losses.push(format!("column {}.{} would be dropped", table.name, c.name));
    }
    for c in &changed {
        if let Some(h) = existing.column(&c.name) {
            if normalize_type(&c.sql_type, Dialect::Sqlite) != normalize_type(&h.sql_type, Dialect::Sqlite) {
                losses.push(format!(
                    "column {}.{} changes type from {} to {}",
                    table.name, c.name, h.sql_type, c.sql_type
                ));
            } else if !c.nullable {
                losses.push(format!("column {}.{} becomes required: rows holding null would fail", table.name, c.name));
            }
        }
    }
    for c in missing.iter().filter(|c| !c.nullable && c.default.is_none()) {
        losses.push(format!(
            "required column {}.{} is added without a default: existing rows cannot be kept",
            table.name, c.name
        ));
    }
    let new_name = format!("new_{}", table.name);
    let common: Vec<String> =
        table.columns.iter().filter(|c| existing.column(&c.name).is_some()).map(|c| quote(&c.name)).collect();
    let mut statements = vec![ddl::create_table_named(Dialect::Sqlite, table, &new_name)];
    if !common.is_empty() {
        statements.push(format!(
            "INSERT INTO {} ({cols}) SELECT {cols} FROM {}",
            quote(&new_name),
            quote(&table.name),
            cols = common.join(", ")
        ));
    }
    statements.push(format!("DROP TABLE {}", quote(&table.name)));
    statements.push(format!("ALTER TABLE {} RENAME TO {}", quote(&new_name), quote(&table.name)));
    statements.extend(table.indexes.iter().flat_map(|i| ddl::index_statements(Dialect::Sqlite, table, i)));
    vec![Step {
        summary: format!("rebuild table {}", table.name),
        statements,
        data_loss: (!losses.is_empty()).then(|| losses.join("; ")),
    }]
}

fn postgres_table(table: &Table, existing: &Table) -> (Vec<Step>, Vec<String>) {
    let target = qualified(table.schema.as_deref(), &table.name);
    let mut steps = Vec::new();
    for existing_fk in &existing.foreign_keys {
        if !table.foreign_keys.iter().any(|fk| fk.name == existing_fk.name && foreign_key_matches(fk, existing_fk)) {
            steps.push(Step {
                summary: format!("drop foreign key {}", existing_fk.name),
                statements: vec![format!("ALTER TABLE {target} DROP CONSTRAINT {}", quote(&existing_fk.name))],
                data_loss: None,
            });
        }
    }
    for column in &table.columns {
        match existing.column(&column.name) {
            None => {
                let loss = (!column.nullable && column.default.is_none() && !column.autoincrement).then(|| {
                    format!(
                        "required column {}.{} is added without a default: it fails if the table has rows",
                        table.name, column.name
                    )
                });
                steps.push(Step {
                    summary: format!("add column {}.{}", table.name, column.name),
                    statements: vec![format!(
                        "ALTER TABLE {target} ADD COLUMN {}",
                        ddl::column_definition(Dialect::Postgres, table, column)
                    )],
                    data_loss: loss,
                });
            }
            Some(have) => {
                let (want_type, have_type) = (
                    normalize_type(&column.sql_type, Dialect::Postgres),
                    normalize_type(&have.sql_type, Dialect::Postgres),
                );
                if want_type != have_type {
                    let cast_type = match column.sql_type.as_str() {
                        "SERIAL" => "INTEGER",
                        "BIGSERIAL" => "BIGINT",
                        "SMALLSERIAL" => "SMALLINT",
                        other => other,
                    };
                    steps.push(Step {
                        summary: format!("change type of {}.{}", table.name, column.name),
                        statements: vec![format!(
                            "ALTER TABLE {target} ALTER COLUMN {col} TYPE {cast_type} USING ({col}::text::{cast_type})",
                            col = quote(&column.name)
                        )],
                        data_loss: Some(format!(
                            "column {}.{} changes type from {} to {}",
                            table.name, column.name, have.sql_type, column.sql_type
                        )),
                    });
                }
                if column.nullable != have.nullable {
                    let (sql, loss) = if column.nullable {
                        ("DROP NOT NULL", None)
                    } else {
                        (
                            "SET NOT NULL",
                            Some(format!(
                                "column {}.{} becomes required: rows holding null would fail",
                                table.name, column.name
                            )),
                        )
                    };
                    steps.push(Step {
                        summary: format!("change nullability of {}.{}", table.name, column.name),
                        statements: vec![format!("ALTER TABLE {target} ALTER COLUMN {} {sql}", quote(&column.name))],
                        data_loss: loss,
                    });
                }
            }
        }
    }
    for column in &existing.columns {
        if table.column(&column.name).is_none() {
            steps.push(Step {
                summary: format!("drop column {}.{}", table.name, column.name),
                statements: vec![format!("ALTER TABLE {target} DROP COLUMN {}", quote(&column.name))],
                data_loss: Some(format!("column {}.{} would be dropped", table.name, column.name)),
            });
        }
    }
    let want_pk = table.primary_key.as_ref().map(|k| &k.columns);
    let have_pk = existing.primary_key.as_ref().map(|k| &k.columns);
    if want_pk != have_pk {
        let mut statements = Vec::new();
        if let Some(name) = existing.primary_key.as_ref().and_then(|k| k.name.as_ref()) {
            statements.push(format!("ALTER TABLE {target} DROP CONSTRAINT {}", quote(name)));
        }
        if let Some(pk) = &table.primary_key {
            let name = pk.name.clone().unwrap_or_else(|| format!("{}_pkey", table.name));
            statements.push(format!(
                "ALTER TABLE {target} ADD CONSTRAINT {} PRIMARY KEY ({})",
                quote(&name),
                ddl::column_list(&pk.columns)
            ));
        }
        steps.push(Step { summary: format!("change primary key of {}", table.name), statements, data_loss: None });
    }
    steps.extend(index_steps(Dialect::Postgres, table, existing));
    let fks = table
        .foreign_keys
        .iter()
        .filter(|fk| !existing.foreign_keys.iter().any(|h| h.name == fk.name && foreign_key_matches(fk, h)))
        .map(|fk| ddl::add_foreign_key(table, fk))
        .collect();
    (steps, fks)
}

#[cfg(test)]
mod tests {
    use super::normalize_type;
    use crate::dialect::Dialect::Postgres;

    #[test]
    fn postgres_types_normalize_to_format_type() {
        assert_eq!(normalize_type("VARCHAR(191)", Postgres), "character varying(191)");
        assert_eq!(normalize_type("TIMESTAMP(3)", Postgres), "timestamp(3) without time zone");
        assert_eq!(normalize_type("timestamp(3) without time zone", Postgres), "timestamp(3) without time zone");
        assert_eq!(normalize_type("DECIMAL(65,30)", Postgres), "numeric(65,30)");
        assert_eq!(normalize_type("SERIAL", Postgres), "integer");
        assert_eq!(normalize_type("TEXT[]", Postgres), "text[]");
        assert_eq!(normalize_type("\"Role\"", Postgres), "\"Role\"");
        assert_eq!(normalize_type("DOUBLE PRECISION", Postgres), "double precision");
        assert_eq!(normalize_type("\"public\".geography", Postgres), "geography");
        assert_eq!(normalize_type("\"auth\".\"Kind\"", Postgres), "auth.\"Kind\"");
    }
}
