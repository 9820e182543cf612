//! Password hashing: Argon2id (the crate's defaults, OWASP's minimum: 19 MiB, 2 passes),
//! on blocking threads, at most a few at a time so a burst of logins cannot take the
//! server's memory or its async workers.

use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use argon2::Argon2;
use std::sync::Arc;
use tokio::sync::Semaphore;

/// The shortest password accepted.
pub const MIN_LENGTH: usize = 8;
/// The longest (hashing time grows with it).
pub const MAX_LENGTH: usize = 1024;

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
