//! Who is calling, and what they may do.
//!
//! Until policies are enforced, access is fail-closed: every model is closed to everyone
//! except callers presenting the admin key (`Authorization: Bearer <key>`), who may do
//! anything. The key is compared in constant time and never logged.

use crate::problem::Problem;
use axum::http::{header, HeaderMap, StatusCode};
use ssot_store::entity::{Entities, Entity};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Caller {
    Anonymous,
    Admin,
}

pub struct Access {
    admin_key: Option<String>,
}

impl Access {
    pub fn new(admin_key: Option<String>) -> Access {
        Access { admin_key: admin_key.filter(|k| !k.is_empty()) }
    }

    pub fn caller(&self, headers: &HeaderMap) -> Result<Caller, Problem> {
        let Some(value) = headers.get(header::AUTHORIZATION) else { return Ok(Caller::Anonymous) };
        let unauthorized = |detail: &str| Problem::new(StatusCode::UNAUTHORIZED, "unauthorized", detail);
        let text = value.to_str().map_err(|_| unauthorized("the Authorization header is not readable text"))?;
        let token = text
            .strip_prefix("Bearer ")
            .or_else(|| text.strip_prefix("bearer "))
            .ok_or_else(|| unauthorized("use `Authorization: Bearer <token>`"))?;
        match &self.admin_key {
            Some(key) if constant_time_eq(token.trim().as_bytes(), key.as_bytes()) => Ok(Caller::Admin),
            _ => Err(unauthorized("the token is not valid")),
        }
    }

    /// Whether `caller` may use `entity` at all. Without policies, only the admin may.
    pub fn authorize(&self, caller: &Caller, entity: &Entity) -> Result<(), Problem> {
        match caller {
            Caller::Admin => Ok(()),
            Caller::Anonymous => Err(Problem::new(
                StatusCode::FORBIDDEN,
                "forbidden",
                format!("`{}` is closed: no policy opens it to this caller (the admin key may use it)", entity.name),
            )),
        }
    }

    /// What `ssot serve` prints at start: per model, which operations are open to whom.
    pub fn describe(&self, entities: &Entities) -> String {
        let who = if self.admin_key.is_some() { "admin key only" } else { "nobody (no admin key is set)" };
        let width = entities.entities.iter().map(|e| e.name.len()).max().unwrap_or(0);
        let mut out = String::new();
        for entity in &entities.entities {
            out.push_str(&format!(
                "  {:width$}  /api/{:<24} read, create, update, delete: {who}\n",
                entity.name, entity.resource
            ));
        }
        out
    }
}

/// Equal-length comparison that takes the same time wherever the inputs differ.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}
