//! The API's operations as SQL: reading Prisma-style arguments ([`args`]), filters and
//! orders ([`filter`]), reads ([`read`]) and writes ([`write`](mod@write)).

pub mod args;
pub mod filter;
pub mod policy;
pub mod read;
pub mod write;
