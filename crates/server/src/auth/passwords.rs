//! Password hashing: Argon2id (the crate's defaults, OWASP's minimum: 19 MiB, 2 passes),
//! on blocking threads, at most a few at a time so a burst of logins cannot take the
//! server's memory or its async workers; and the passwords REST writes set, hashed before
//! the write runs.

use super::Auth;
use crate::problem::Problem;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use argon2::Argon2;
use serde_json::Value as Json;
use ssot_store::entity::Entities;
use ssot_store::query::write::items;
use std::sync::Arc;
use tokio::sync::Semaphore;

/// The shortest and the longest password accepted (hashing time grows with the length).
pub use ssot_shape::limits::{MAX_PASSWORD_LENGTH as MAX_LENGTH, MIN_PASSWORD_LENGTH as MIN_LENGTH};

#[derive(Clone)]
pub struct Passwords {
    permits: Arc<Semaphore>,
    /// A hash of a random password, verified against when the account does not exist,
    /// so that a login takes as long whether or not it does.
    decoy: Arc<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum PasswordError {
    #[error("must be at least {MIN_LENGTH} characters")]
    TooShort,
    #[error("must be at most {MAX_LENGTH} characters")]
    TooLong,
    #[error("the password could not be hashed")]
    Hashing,
}

impl Passwords {
    pub fn new() -> Passwords {
        let mut random = [0u8; 16];
        let _ = getrandom::fill(&mut random);
        let decoy = hash_now(&crate::auth::refresh::hex(&random)).unwrap_or_default();
        let parallel = std::thread::available_parallelism().map_or(2, |n| n.get()).max(2);
        Passwords { permits: Arc::new(Semaphore::new(parallel)), decoy: Arc::new(decoy) }
    }

    pub fn check(password: &str) -> Result<(), PasswordError> {
        match password.chars().count() {
            n if n < MIN_LENGTH => Err(PasswordError::TooShort),
            n if n > MAX_LENGTH => Err(PasswordError::TooLong),
            _ => Ok(()),
        }
    }

    /// The PHC string of `password` (`$argon2id$v=19$...`).
    pub async fn hash(&self, password: String) -> Result<String, PasswordError> {
        Self::check(&password)?;
        let _permit = self.permits.acquire().await.map_err(|_| PasswordError::Hashing)?;
        tokio::task::spawn_blocking(move || hash_now(&password)).await.map_err(|_| PasswordError::Hashing)?
    }

    /// Whether `password` matches `hash`; with no hash (no such account), a decoy is
    /// verified and the answer is no.
    pub async fn verify(&self, password: String, hash: Option<String>) -> bool {
        let Ok(_permit) = self.permits.acquire().await else { return false };
        let known = hash.is_some();
        let hash = hash.unwrap_or_else(|| self.decoy.as_str().to_string());
        let matched = tokio::task::spawn_blocking(move || {
            Argon2::default().verify_password(password.as_bytes(), hash.as_str()).is_ok()
        })
        .await
        .unwrap_or(false);
        matched && known
    }
}

impl Default for Passwords {
    fn default() -> Self {
        Passwords::new()
    }
}

fn hash_now(password: &str) -> Result<String, PasswordError> {
    Argon2::default().hash_password(password.as_bytes()).map(|h| h.to_string()).map_err(|_| PasswordError::Hashing)
}

/// How many passwords one request (a `$batch` included) may set: each costs a hash.
pub use ssot_shape::limits::MAX_PASSWORDS_PER_REQUEST;

/// Replaces every password a REST write sets on the `@@auth` model (at the top or in a
/// nested create) with its hash, before the write runs. The plain text is never stored.
/// `budget` is how many more passwords the request may set.
pub async fn hash_passwords(
    auth: &Auth,
    es: &Entities,
    op: &mut ssot_access::operation::Operation,
    budget: &mut usize,
) -> Result<(), Problem> {
    let Some((model, data, _)) = op.data_mut() else { return Ok(()) };
    let mut found = Vec::new();
    collect_passwords(auth, es, model, data, "data", &mut found);
    if found.is_empty() {
        return Ok(());
    }
    if found.len() > *budget {
        return Err(Problem::bad_request(
            found[*budget].0.clone(),
            format!("a request sets at most {MAX_PASSWORDS_PER_REQUEST} passwords (each is hashed)"),
        ));
    }
    *budget -= found.len();
    let mut hashes = Vec::with_capacity(found.len());
    for (path, plain) in found {
        let plain = plain.ok_or_else(|| Problem::bad_request(path.clone(), "expected a string"))?;
        hashes.push(auth.passwords.hash(plain).await.map_err(|e| Problem::bad_request(path, e.to_string()))?);
    }
    let mut hashes = hashes.into_iter();
    replace_passwords(auth, es, model, data, &mut hashes);
    Ok(())
}

/// The passwords in `data` (for model `model`) in document order, with their paths.
fn collect_passwords(
    auth: &Auth,
    es: &Entities,
    model: usize,
    data: &Json,
    path: &str,
    out: &mut Vec<(String, Option<String>)>,
) {
    for (i, item) in items(data).into_iter().enumerate() {
        let Some(object) = item.as_object() else { continue };
        let here = if data.is_array() { format!("{path}[{i}]") } else { path.to_string() };
        let entity = &es.entities[model];
        for (key, value) in object {
            if model == auth.user.model && entity.field(key) == Some(auth.user.password) {
                out.push((format!("{here}.{key}"), value.as_str().map(String::from)));
            } else if let Some(r) = entity.relation(key) {
                let target = entity.relations[r].target;
                for (op, operand) in value.as_object().into_iter().flatten() {
                    let nested = match op.as_str() {
                        "create" => Some(operand),
                        "createMany" => operand.get("data"),
                        "connectOrCreate" => None,
                        _ => None,
                    };
                    if let Some(nested) = nested {
                        collect_passwords(auth, es, target, nested, &format!("{here}.{key}.{op}"), out);
                    }
                    if op == "connectOrCreate" {
                        for item in items(operand) {
                            if let Some(create) = item.get("create") {
                                collect_passwords(auth, es, target, create, &format!("{here}.{key}.{op}.create"), out);
                            }
                        }
                    }
                }
            }
        }
    }
}

/// Puts `hashes` where [`collect_passwords`] found the passwords, in the same order.
fn replace_passwords(
    auth: &Auth,
    es: &Entities,
    model: usize,
    data: &mut Json,
    hashes: &mut impl Iterator<Item = String>,
) {
    let items: Vec<&mut Json> = match data {
        Json::Array(items) => items.iter_mut().collect(),
        other => vec![other],
    };
    for item in items {
        let Some(object) = item.as_object_mut() else { continue };
        let entity = &es.entities[model];
        for (key, value) in object.iter_mut() {
            if model == auth.user.model && entity.field(key) == Some(auth.user.password) {
                if let Some(hash) = hashes.next() {
                    *value = Json::String(hash);
                }
            } else if let Some(r) = entity.relation(key) {
                let target = entity.relations[r].target;
                for (op, operand) in value.as_object_mut().into_iter().flatten() {
                    match op.as_str() {
                        "create" => replace_passwords(auth, es, target, operand, hashes),
                        "createMany" => {
                            if let Some(nested) = operand.get_mut("data") {
                                replace_passwords(auth, es, target, nested, hashes);
                            }
                        }
                        "connectOrCreate" => {
                            let items: Vec<&mut Json> = match operand {
                                Json::Array(items) => items.iter_mut().collect(),
                                other => vec![other],
                            };
                            for item in items {
                                if let Some(create) = item.get_mut("create") {
                                    replace_passwords(auth, es, target, create, hashes);
                                }
                            }
                        }
                        _ => {}
                    }
                }
            }
        }
    }
}
