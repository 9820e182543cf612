//! `ssot-codegen`: what `ssot generate` writes from a checked schema, other than the
//! database's SQL and the OpenAPI document.
//!
//! Today: [`typescript::types`], the TypeScript types of the API's rows (one interface per
//! model, view and composite type, a union per enum, and the `$Schema` map that the client
//! runtime's `createClient<$Schema>()` takes). The input is the schema's IR alone: the
//! output depends on nothing but the schema, so it is the same on every machine.

pub mod typescript;
