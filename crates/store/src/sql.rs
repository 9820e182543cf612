//! A SQL text with its parameters, written for one dialect.
//!
//! Only identifiers from the schema and fixed keywords are ever written into the text;
//! every value a request brings is a bound parameter.

use crate::conn::Value;
use crate::dialect::{push_quoted, Dialect};

pub struct Sql {
    pub text: String,
    pub params: Vec<Value>,
    pub dialect: Dialect,
}

impl Sql {
    pub fn new(dialect: Dialect) -> Sql {
        Sql { text: String::with_capacity(256), params: Vec::new(), dialect }
    }

    pub fn push(&mut self, text: &str) -> &mut Sql {
        self.text.push_str(text);
        self
    }

    pub fn ident(&mut self, name: &str) -> &mut Sql {
        push_quoted(&mut self.text, name);
        self
    }

    /// `alias."column"`, or `"column"` without an alias.
    pub fn column(&mut self, alias: &str, column: &str) -> &mut Sql {
        if !alias.is_empty() {
            self.text.push_str(alias);
            self.text.push('.');
        }
        push_quoted(&mut self.text, column);
        self
    }

    /// A parameter of the column type `cast` (used on PostgreSQL, where parameters
    /// travel as text: `$1::text::integer`).
    pub fn param(&mut self, value: Value, cast: &str) -> &mut Sql {
        self.params.push(value);
        let n = self.params.len();
        match self.dialect {
            Dialect::Sqlite => {
                self.text.push('?');
                self.text.push_str(&n.to_string());
            }
            Dialect::Postgres => {
                self.text.push('$');
                self.text.push_str(&n.to_string());
                self.text.push_str("::text");
                if !cast.is_empty() && !cast.eq_ignore_ascii_case("text") {
                    self.text.push_str("::");
                    self.text.push_str(cast);
                }
            }
        }
        self
    }

    /// A whole number (limits, offsets).
    pub fn int(&mut self, n: i64) -> &mut Sql {
        self.param(Value::Int(n), "bigint")
    }
}
