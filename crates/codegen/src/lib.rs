//! `ssot-codegen`: what `ssot generate` writes from a checked schema, other than the
//! database's SQL.
//!
//! - [`typescript::files`]: the typed TypeScript client (`ssot.ts`: the API's rows,
//!   filters, writes and a delegate per model) and the runtime it imports, and
//!   [`typescript::react`]'s hooks, from the schema's IR.
//! - [`openapi::text`]: the REST API's OpenAPI 3.1 document, from the API's shape
//!   (`ssot-shape`) and the compiled rules (`ssot-policy`); the server serves the same bytes.
//!
//! No database is read or needed: the output depends on nothing but the schema, so it is
//! the same on every machine and for every database that serves the schema.

pub mod openapi;
pub mod typescript;
