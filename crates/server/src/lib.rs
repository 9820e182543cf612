//! `ssot-server`: the HTTP and WebSocket face of a store.
//!
//! Requests enter through [`router`] ([`http`]): the REST routes of DESIGN.md under
//! `/api` ([`rest`]), `$batch` ([`batch`]), `@@auth`'s endpoints ([`auth`]), plus
//! `/healthz`, `/metrics`, the index at `/` and `/api` ([`index`]) and the OpenAPI document
//! at `/api/openapi.json` (`ssot_codegen::openapi`, the bytes `ssot generate` writes), and the admin
//! studio at `/_/` ([`studio`]); browsers'
//! cross-origin preflights are answered by [`cors`] before routing. Every transport
//! writes what it asks as a transport-neutral request and takes the one guarded path
//! ([`execute`]): the caller from a bearer token, the early refusal ([`access`]), the
//! operation run on a database worker in one transaction under the caller's guard.
//! Errors leave as `problem+json` ([`problem`]). Every response carries a request id,
//! which every log line of the request carries too. [`serve`] runs the listener and the
//! background tasks, and shuts them down gracefully; [`serve_swapping`] also takes over
//! from the app it serves the apps a [`Swapper`] hands it (`ssot dev`).

pub mod access;
pub mod actions;
mod app;
pub mod auth;
mod batch;
pub mod cors;
pub mod execute;
mod http;
mod index;
pub mod metrics;
pub mod problem;
pub mod rest;
mod search_cache;
mod serve;
mod services;
mod studio;
pub mod ws;

pub use app::{App, AppError, Settings, DEFAULT_LOG_POLL, DEFAULT_SHUTDOWN_GRACE, MAX_BODY_BYTES};
pub use execute::{caller, write_and_settle};
pub use http::{json_body, request_id, router};
pub use serve::{serve, serve_swapping, swaps, Swapper, Swaps};
