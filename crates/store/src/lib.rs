//! `ssot-store`: where the data lives.
//!
//! From the schema's IR it derives the physical database ([`catalog`]), in Prisma's exact
//! names and types, on SQLite or PostgreSQL ([`dialect`]); creates and migrates it
//! ([`ddl`], [`migrate`]); keeps the change log ([`changelog`]); and answers the API's
//! reads and writes ([`query`]) on worker threads that own the connections ([`conn`]).
//! Data enters as JSON checked against the schema, leaves as JSON in the API's forms
//! ([`value`]), and reaches SQL only as bound parameters ([`sql`]).

pub mod catalog;
pub mod changelog;
pub mod conn;
pub mod ddl;
pub mod dialect;
pub mod entity;
pub mod error;
pub mod ids;
pub mod migrate;
pub mod partial;
pub mod query;
pub mod search;
pub mod sql;
mod store;
pub mod time;
pub mod value;

pub use error::{FieldError, StoreError};
pub use store::{DatabaseUrl, OpenError, Store, DEFAULT_QUERY_TIMEOUT};
