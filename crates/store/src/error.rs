//! What can go wrong with a request to the store, in terms the API answers with.

use crate::conn::{DbError, PoolClosed};

/// One problem with a request's input: where (`data.title`, `where.author.is.name`) and why.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct FieldError {
    pub path: String,
    pub message: String,
}

impl FieldError {
    pub fn new(path: impl Into<String>, message: impl Into<String>) -> FieldError {
        FieldError { path: path.into(), message: message.into() }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The request is malformed or does not fit the schema (400).
    #[error("invalid request: {}", summary(.0))]
    Invalid(Vec<FieldError>),
    /// A full-text search that cannot run (400, code `invalid_search`): its words, or a
    /// model without `@@search`.
    #[error("invalid search: {0}")]
    InvalidSearch(FieldError),
    /// No such record (404).
    #[error("{0}")]
    NotFound(String),
    /// A policy refuses the operation to this caller (403); the field, when one is to blame.
    #[error("{}", .0)]
    Forbidden(FieldError),
    /// A unique or foreign-key constraint refused the write (409), with the fields involved.
    #[error("{message}")]
    Conflict { message: String, fields: Vec<String> },
    /// The request is well-formed but past a limit on its cost (422): `code` names the
    /// limit (`relation_filter_depth`, `relation_filter_count`).
    #[error("{message}")]
    TooComplex { code: &'static str, message: String },
    /// The database refused a value or the write (a value its column cannot hold: 400; a
    /// check or trigger of its own: 409). `message` is for the client; `cause`, the
    /// database's words, for the log only.
    #[error("{message} ({cause})")]
    Refused { conflict: bool, message: String, cause: String },
    /// Anything else the database said: a failure, shown to no client.
    #[error("database error: {0}")]
    Database(DbError),
    #[error(transparent)]
    Closed(#[from] PoolClosed),
}

impl std::fmt::Display for FieldError {
    /// `data.title: expected a string`, or the message alone when it is about the whole input.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.path.is_empty() {
            f.write_str(&self.message)
        } else {
            write!(f, "{}: {}", self.path, self.message)
        }
    }
}

/// Every error, in one line.
pub fn summary(errors: &[FieldError]) -> String {
    errors.iter().map(ToString::to_string).collect::<Vec<_>>().join("; ")
}

impl StoreError {
    /// No row of `model` has the id asked for (or the caller may not see it: the answer
    /// is the same, word for word).
    pub fn no_record(model: &str) -> StoreError {
        StoreError::NotFound(format!("no `{model}` record with this id"))
    }

    pub fn forbidden(path: impl Into<String>, message: impl Into<String>) -> StoreError {
        StoreError::Forbidden(FieldError::new(path, message))
    }

    pub fn invalid(path: impl Into<String>, message: impl Into<String>) -> StoreError {
        StoreError::Invalid(vec![FieldError::new(path, message)])
    }
}

impl From<DbError> for StoreError {
    fn from(e: DbError) -> StoreError {
        match e {
            DbError::InvalidValue(message) => StoreError::invalid("", message),
            DbError::Refused { message, cause } => {
                StoreError::Refused { conflict: false, message: message.to_string(), cause }
            }
            DbError::Check(cause) => StoreError::Refused {
                conflict: true,
                message: "the database refused the write: the data breaks a rule the database enforces".into(),
                cause,
            },
            other => StoreError::Database(other),
        }
    }
}
