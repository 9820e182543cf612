//! Who is calling: a bearer token (from the `Authorization` header, [`bearer`], or the
//! socket's handshake) as a [`Caller`], and the refusal of an operation no rule opens to them.
//!
//! `Authorization: Bearer <admin key>` is the admin (compared in constant time, never
//! logged); any other bearer token must be a valid access token ([`crate::auth`]); no
//! header is an anonymous caller.

use crate::auth::Tokens;
use crate::problem::Problem;
use axum::http::{header, HeaderMap, StatusCode};
use ssot_access::{Caller, Guard, KnownRows, Op, Policies};
use ssot_store::entity::Entities;
use ssot_store::query::policy::is_false;

/// The bearer token of an `Authorization` header, if there is one; a header that is not
/// one bearer token is a 401.
pub fn bearer(headers: &HeaderMap) -> Result<Option<&str>, Problem> {
    let mut values = headers.get_all(header::AUTHORIZATION).iter();
    let Some(value) = values.next() else { return Ok(None) };
    // Two credentials: which one counts would depend on who reads them (a proxy, a
    // framework), so neither does.
    if values.next().is_some() {
        return Err(unauthorized("send one Authorization header, not several"));
    }
    let text = value.to_str().map_err(|_| unauthorized("the Authorization header is not readable text"))?;
    let token = text
        .strip_prefix("Bearer ")
        .or_else(|| text.strip_prefix("bearer "))
        .ok_or_else(|| unauthorized("use `Authorization: Bearer <token>`"))?
        .trim();
    Ok(Some(token))
}

fn unauthorized(detail: &str) -> Problem {
    Problem::new(StatusCode::UNAUTHORIZED, "unauthorized", detail)
}

pub struct Access {
    admin_key: Option<String>,
    pub policies: std::sync::Arc<Policies>,
    pub tokens: Option<Tokens>,
}

impl Access {
    pub fn new(admin_key: Option<String>, policies: Policies, tokens: Option<Tokens>) -> Access {
        Access { admin_key: admin_key.filter(|k| !k.is_empty()), policies: std::sync::Arc::new(policies), tokens }
    }

    /// The caller a bearer token stands for: none is anonymous, the admin key the admin
    /// (compared in constant time), anything else must be a valid access token.
    pub fn verify(&self, token: Option<&str>) -> Result<Caller, Problem> {
        let Some(token) = token else { return Ok(Caller::Anonymous) };
        if let Some(key) = &self.admin_key {
            if constant_time_eq(token.as_bytes(), key.as_bytes()) {
                return Ok(Caller::Admin);
            }
        }
        match &self.tokens {
            Some(tokens) => tokens.verify_access(token).map(Caller::User).map_err(|e| unauthorized(&e.to_string())),
            None => Err(unauthorized("the token is not valid")),
        }
    }

    /// Refuses `op` on `model` when no rule can open it to `caller`, whatever the row: a
    /// caller with no access learns nothing from validation errors, and a 403 here says
    /// nothing about any row (401 for an anonymous caller, whom credentials may admit). Returns the row filter it built, for the guard that runs
    /// the request ([`Guard::with_known_rows`]).
    pub fn authorize(
        &self,
        caller: &Caller,
        entities: &Entities,
        model: usize,
        op: Op,
    ) -> Result<Vec<KnownRows>, Problem> {
        let guard = Guard::new(&self.policies, entities, caller);
        let rows = guard.rows(model, op).map_err(Problem::from)?;
        if is_false(&rows) {
            let verb = format!("{op:?}").to_lowercase();
            let hint = if self.admin_key.is_some() { " (the admin key may)" } else { "" };
            let name = &entities.entities[model].name;
            // Credentials could change the answer for an anonymous caller: 401, not 403.
            if matches!(caller, Caller::Anonymous) {
                return Err(Problem::new(
                    StatusCode::UNAUTHORIZED,
                    "unauthorized",
                    format!("sign in: no policy lets an anonymous caller {verb} `{name}`{hint}"),
                ));
            }
            return Err(Problem::new(
                StatusCode::FORBIDDEN,
                "forbidden",
                format!("no policy lets this caller {verb} `{name}`{hint}"),
            ));
        }
        Ok(guard.into_known_rows())
    }

    /// What `ssot serve` prints at start: per model, which operations are open to whom.
    pub fn describe(&self, entities: &Entities) -> String {
        self.policies.describe(entities, self.admin_key.is_some())
    }
}

/// Equal-length comparison that takes the same time wherever the inputs differ.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}
