//! Full-text search (`@@search`): what a searched model stores besides its table, how
//! `ssot migrate` creates and changes it ([`ddl`]), the query language users type
//! ([`query`]), the SQL a search runs ([`sql`]) and the highlighted snippets ([`highlight`]).
//!
//! Both engines use no stemming, so SQLite and PostgreSQL find the same rows: FTS5's
//! `unicode61` tokenizer (diacritics removed) and PostgreSQL's `simple` configuration.
//! - SQLite: an FTS5 external-content table `_ssot_search_<table>` over the model's
//!   table (by `rowid`), kept in step by three triggers, so writes from any client are
//!   indexed.
//! - PostgreSQL: a stored generated column `_ssot_search tsvector` (each field weighted
//!   A–D) with a GIN index.
//!
//! Nothing here trusts the request: a query is parsed into words in Rust, and the match
//! text handed to the database is built from those words alone, quoted.

pub mod ddl;
pub mod highlight;
pub mod query;
pub mod sql;

use crate::catalog::CatalogError;
use crate::dialect::Dialect;
use ssot_schema::annotations::SearchEngine;
use ssot_schema::ir::{Model, Schema};

pub use query::{Query, QueryError, Term};
pub use sql::Search;

/// The name every hidden search object starts with (tables, triggers, the column).
pub const PREFIX: &str = "_ssot_search";

/// The searched columns of one model's table, as migrations and queries need them.
#[derive(Debug, Clone, PartialEq)]
pub struct Index {
    /// The model's table (bare) and its schema.
    pub table: String,
    pub schema: Option<String>,
    /// Each searched field: its column and weight, in the order `@@search` lists them.
    pub columns: Vec<(String, f64)>,
}

impl Index {
    /// The FTS5 table (SQLite).
    pub fn fts_table(&self) -> String {
        format!("{PREFIX}_{}", self.table)
    }

    /// The weight class (`A`–`D`) of column `i` on PostgreSQL: the columns in order of
    /// weight (highest first, ties in `@@search`'s order) take `A`, `B` and `C`, and the
    /// rest `D`. Up to four columns each have a class of their own, so the stored vector
    /// filtered by class (`ts_filter`) is exactly the vector of some of them.
    pub fn class(&self, i: usize) -> char {
        let weight = self.columns.get(i).map_or(0.0, |c| c.1);
        let before =
            self.columns.iter().enumerate().filter(|(j, (_, w))| *w > weight || (*w == weight && *j < i)).count();
        ['A', 'B', 'C', 'D'][before.min(3)]
    }
}

/// The search index of every stored model with `@@search`, for `dialect`.
pub fn indexes(schema: &Schema, dialect: Dialect) -> Result<Vec<Index>, CatalogError> {
    let mut out = Vec::new();
    for model in crate::catalog::stored_models(schema) {
        let Some(search) = &model.annotations.search else { continue };
        let wrong = match (search.engine, dialect) {
            (SearchEngine::Fts5, Dialect::Postgres) => Some("fts5"),
            (SearchEngine::Tsvector, Dialect::Sqlite) => Some("tsvector"),
            _ => None,
        };
        if let Some(engine) = wrong {
            return Err(CatalogError::SearchEngine { model: model.name.to_string(), engine, database: dialect.name() });
        }
        out.push(index(model, &search.fields, &search.weights));
    }
    Ok(out)
}

fn index(model: &Model, fields: &[String], weights: &[f64]) -> Index {
    let columns = fields
        .iter()
        .enumerate()
        .map(|(i, name)| {
            let column = model.field(name).map_or_else(|| name.clone(), |f| f.db_name.to_string());
            (column, weights.get(i).copied().filter(|w| w.is_finite()).unwrap_or(1.0))
        })
        .collect();
    Index { table: model.db_name.to_string(), schema: model.schema.as_ref().map(ToString::to_string), columns }
}

#[cfg(test)]
mod tests {
    use super::Index;

    #[test]
    fn weights_map_to_classes_highest_first() {
        let index = Index {
            table: "t".into(),
            schema: None,
            columns: vec![
                ("a".into(), 1.0),
                ("b".into(), 5.0),
                ("c".into(), 2.0),
                ("d".into(), 0.5),
                ("e".into(), 0.1),
            ],
        };
        let classes: Vec<char> = (0..5).map(|i| index.class(i)).collect();
        assert_eq!(classes, ['C', 'A', 'B', 'D', 'D']);
        let ties = Index { columns: vec![("a".into(), 3.0), ("b".into(), 1.0), ("c".into(), 1.0)], ..index };
        let classes: Vec<char> = (0..3).map(|i| ties.class(i)).collect();
        assert_eq!(classes, ['A', 'B', 'C']);
    }
}
