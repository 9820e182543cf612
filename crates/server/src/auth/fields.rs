//! The user model's fields on their way in: login identities normalized and checked
//! alike at sign-up, login and in REST writes, and passwords hashed (and, through REST,
//! changed by the admin key only).

use super::{passwords, Auth};
use crate::problem::Problem;
use serde_json::Value as Json;
use ssot_access::Caller;
use ssot_store::entity::Entities;
use ssot_store::StoreError;

/// The longest login identity accepted: an e-mail address is at most 254 bytes (RFC 5321's
/// path limit), checked alike at sign-up and at login.
const MAX_IDENTITY_BYTES: usize = 254;

impl Auth {
    /// A login identity as it is stored and looked up: without surrounding spaces, and an
    /// e-mail address in lower case and well-formed, so that `Ann@X.com ` and `ann@x.com`
    /// are one account; the same limits at sign-up, login and in REST writes.
    pub fn identity(&self, path: &str, value: &str) -> Result<String, Problem> {
        let value = value.trim();
        if value.is_empty() || value.len() > MAX_IDENTITY_BYTES {
            return Err(Problem::bad_request(path, format!("must be 1 to {MAX_IDENTITY_BYTES} bytes long")));
        }
        if !self.email {
            return Ok(value.to_string());
        }
        let email = value.to_lowercase();
        // The browsers' rule (WHATWG's valid e-mail address), which users know from forms:
        // a local part without spaces, and a domain of dot-separated labels of letters,
        // digits and inner hyphens.
        let label = |l: &str| {
            !l.is_empty()
                && l.len() <= 63
                && !l.starts_with('-')
                && !l.ends_with('-')
                && l.chars().all(|c| c.is_alphanumeric() || c == '-')
        };
        let well_formed = match email.rsplit_once('@') {
            Some((local, domain)) => {
                !local.is_empty()
                    && local.len() <= 64
                    && local.chars().all(|c| c.is_ascii_graphic() && !"()<>[]:;@\\,\"".contains(c))
                    && domain.split('.').all(label)
            }
            None => false,
        };
        if !well_formed {
            return Err(Problem::bad_request(path, "is not an e-mail address (name@example.com)"));
        }
        Ok(email)
    }
}

/// What a REST write needs before it runs, where it writes user rows: login identities
/// normalized as at sign-up ([`Auth::identity`]), passwords hashed, and no password
/// changed by an update except with the admin key (a user changes theirs through
/// `/api/auth/password`, which asks for the current one).
pub async fn prepare_user_fields(
    auth: &Auth,
    es: &Entities,
    caller: &Caller,
    op: &mut ssot_access::operation::Operation,
    budget: &mut usize,
) -> Result<(), Problem> {
    let Some((model, data, update)) = op.data_mut() else { return Ok(()) };
    if model == auth.user.model {
        let entity = &es.entities[model];
        let identity = &entity.fields[auth.user.identity].name;
        let password = &entity.fields[auth.user.password].name;
        let many = data.is_array();
        let rows: Vec<&mut Json> = match data {
            Json::Array(rows) => rows.iter_mut().collect(),
            other => vec![other],
        };
        for (i, row) in rows.into_iter().enumerate() {
            let Some(row) = row.as_object_mut() else { continue };
            let path = if many { format!("data[{i}].{identity}") } else { format!("data.{identity}") };
            let value = match row.get_mut(identity.as_str()) {
                Some(Json::Object(ops)) => ops.get_mut("set"),
                other => other,
            };
            if let Some(Json::String(text)) = value {
                *text = auth.identity(&path, text)?;
            }
            if update && row.contains_key(password.as_str()) && !matches!(caller, Caller::Admin) {
                return Err(Problem::from(StoreError::forbidden(
                    format!("data.{password}"),
                    "a password is changed with POST /api/auth/password, which asks for the current one",
                )));
            }
        }
    }
    passwords::hash_passwords(auth, es, op, budget).await
}
