//! The limits the API declares and enforces: one definition, read by the store and the
//! server that enforce them and by the OpenAPI document that states them, so the two
//! cannot drift apart.

/// The most rows one request may ask for (`take`, either way).
pub const MAX_TAKE: i64 = 1000;
/// Rows a list returns when it does not say.
pub const DEFAULT_TAKE: i64 = 100;
/// The shortest password accepted.
pub const MIN_PASSWORD_LENGTH: usize = 8;
/// The longest password accepted (hashing time grows with it).
pub const MAX_PASSWORD_LENGTH: usize = 1024;
/// How many passwords one request (a `$batch` included) may set: each costs a hash.
pub const MAX_PASSWORDS_PER_REQUEST: usize = 10;
/// How many operations one `$batch` may hold.
pub const MAX_BATCH_OPERATIONS: usize = 100;
