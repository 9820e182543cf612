//! Who is calling.

use serde_json::{Map, Value as Json};
use std::sync::Arc;

#[derive(Debug, Clone, PartialEq)]
pub enum Caller {
    /// No credentials: `auth` is null in rules.
    Anonymous,
    /// The admin key: rules do not apply.
    Admin,
    /// A verified token: `auth` in rules is this object (the user's row from the `@@auth`
    /// model when the token names one, and the token's claims).
    User(Arc<Map<String, Json>>),
}

impl Caller {
    /// The value of `auth` in rules.
    pub fn auth(&self) -> Option<&Map<String, Json>> {
        match self {
            Caller::User(auth) => Some(auth),
            Caller::Anonymous | Caller::Admin => None,
        }
    }
}
