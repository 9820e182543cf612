//! The API's operations as SQL: reading Prisma-style arguments ([`args`]), filters and
//! orders ([`filter`]), filters decided in memory on changed rows ([`matches`]), reads ([`read`]) and writes ([`write`](mod@write)).

pub mod args;
pub mod filter;
pub mod matches;
pub mod policy;
pub mod read;
pub mod write;
