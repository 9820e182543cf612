//! The two SQL dialects ssot speaks, and the few places where they differ in spelling.
//!
//! Everything else (query shapes, names, the change log) is written once for both.

use ssot_schema::ir::Provider;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    Sqlite,
    Postgres,
}

impl Dialect {
    pub fn of(provider: Provider) -> Option<Dialect> {
        match provider {
            Provider::Sqlite => Some(Dialect::Sqlite),
            Provider::Postgresql => Some(Dialect::Postgres),
            _ => None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Dialect::Sqlite => "SQLite",
            Dialect::Postgres => "PostgreSQL",
        }
    }
}

/// `name` as a quoted SQL identifier: the same rule in both dialects.
pub fn quote(name: &str) -> String {
    let mut out = String::with_capacity(name.len() + 2);
    push_quoted(&mut out, name);
    out
}

pub fn push_quoted(out: &mut String, name: &str) {
    out.push('"');
    for c in name.chars() {
        if c == '"' {
            out.push('"');
        }
        out.push(c);
    }
    out.push('"');
}

/// A string literal in SQL (used only in DDL, for values that come from the schema).
pub fn literal(text: &str) -> String {
    format!("'{}'", text.replace('\'', "''"))
}

/// A table name with its schema, quoted: `"schema"."table"` or `"table"`.
pub fn qualified(schema: Option<&str>, table: &str) -> String {
    match schema {
        Some(schema) => format!("{}.{}", quote(schema), quote(table)),
        None => quote(table),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quotes_double_quotes() {
        assert_eq!(quote(r#"we"ird"#), r#""we""ird""#);
        assert_eq!(literal("it's"), "'it''s'");
        assert_eq!(qualified(Some("auth"), "User"), r#""auth"."User""#);
    }
}
