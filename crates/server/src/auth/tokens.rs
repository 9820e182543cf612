//! Access tokens: JWTs ssot signs for its own users, and JWTs from an external identity
//! provider, verified with the shared secret or a JWKS file.
//!
//! ssot's own tokens are HS256, signed with `SSOT_JWT_SECRET`, and carry the user's
//! fields (the password never) as claims, so rules read `auth.<field>` without a query.
//! Every token must carry `exp` and the configured audience (`ssot` unless set), and an
//! issuer of `ssot` or the configured one. `alg: none` and algorithms the key does not
//! use are refused by the verifier itself.

pub use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{decode, decode_header, encode, Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde_json::{Map, Value as Json};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// ssot's own issuer name.
pub const ISSUER: &str = "ssot";

/// How tokens are checked, from `ssot serve`'s options.
#[derive(Debug, Clone, Default)]
pub struct TokenSettings {
    /// The shared secret (HS256): ssot signs with it and accepts tokens signed with it.
    pub secret: Option<Vec<u8>>,
    /// Public keys of an external identity provider.
    pub jwks: Option<JwkSet>,
    /// An external provider's issuer, accepted besides `ssot`.
    pub issuer: Option<String>,
    /// The audience every token must name (`ssot` by default).
    pub audience: Option<String>,
}

pub struct Tokens {
    settings: TokenSettings,
    encoding: Option<EncodingKey>,
    decoding: Option<DecodingKey>,
    /// Lifetime of the access tokens ssot issues, in seconds.
    pub expiry_seconds: u64,
    /// Tokens verified lately, with their claims and expiry: a client sends the same
    /// token with every request, and checking its signature and parsing its claims each
    /// time is a tenth of a small request's cost.
    verified: Mutex<HashMap<String, Verified>>,
}

/// A verified token's claims and expiry (seconds since the epoch).
type Verified = (Arc<Map<String, Json>>, u64);

/// Verified tokens remembered before the memory is cleared and starts again.
const VERIFIED_CAPACITY: usize = 10_000;

#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    #[error("the token has expired")]
    Expired,
    #[error("the token is not valid: {0}")]
    Invalid(&'static str),
}

impl Tokens {
    pub fn new(settings: TokenSettings, expiry_seconds: u64) -> Tokens {
        let encoding = settings.secret.as_deref().map(EncodingKey::from_secret);
        let decoding = settings.secret.as_deref().map(DecodingKey::from_secret);
        Tokens { settings, encoding, decoding, expiry_seconds, verified: Mutex::default() }
    }

    fn audience(&self) -> &str {
        self.settings.audience.as_deref().unwrap_or(ISSUER)
    }

    /// A signed access token for a user in session `session`; the user's fields become
    /// its claims (for the client to read: rules read the user's current row).
    pub fn issue(&self, subject: &str, session: &str, fields: &Map<String, Json>) -> Option<String> {
        let key = self.encoding.as_ref()?;
        let now = now_seconds();
        let mut claims = fields.clone();
        claims.insert("sub".into(), Json::String(subject.to_string()));
        claims.insert("sid".into(), Json::String(session.to_string()));
        claims.insert("nbf".into(), Json::from(now));
        claims.insert("iss".into(), Json::String(ISSUER.into()));
        claims.insert("aud".into(), Json::String(self.audience().to_string()));
        claims.insert("iat".into(), Json::from(now));
        claims.insert("exp".into(), Json::from(now + self.expiry_seconds));
        encode(&Header::new(Algorithm::HS256), &claims, key).ok()
    }

    /// The claims of a valid token: what `auth` is in rules. A token without an `id`
    /// claim gets its subject as `id`, so `isOwner` works with an external provider's
    /// user ids.
    pub fn verify_access(&self, token: &str) -> Result<Arc<Map<String, Json>>, TokenError> {
        let now = now_seconds();
        {
            let verified = self.verified.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            if let Some((claims, exp)) = verified.get(token) {
                if now < *exp {
                    return Ok(Arc::clone(claims));
                }
            }
        }
        let claims = Arc::new(self.verify_signed(token)?);
        let exp = claims.get("exp").and_then(Json::as_u64).unwrap_or(0);
        let mut verified = self.verified.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if verified.len() >= VERIFIED_CAPACITY {
            verified.clear();
        }
        verified.insert(token.to_string(), (Arc::clone(&claims), exp));
        Ok(claims)
    }

    fn verify_signed(&self, token: &str) -> Result<Map<String, Json>, TokenError> {
        let header = decode_header(token).map_err(|_| TokenError::Invalid("it is not a JWT"))?;
        let (key, algorithm) = match header.alg {
            Algorithm::HS256 => {
                (self.decoding.clone().ok_or(TokenError::Invalid("no shared secret is set"))?, Algorithm::HS256)
            }
            alg => {
                let jwks = self.settings.jwks.as_ref().ok_or(TokenError::Invalid("the algorithm is not accepted"))?;
                let jwk = match &header.kid {
                    Some(kid) => jwks.find(kid),
                    None if jwks.keys.len() == 1 => jwks.keys.first(),
                    None => None,
                }
                .ok_or(TokenError::Invalid("no key of the JWKS matches it"))?;
                (DecodingKey::from_jwk(jwk).map_err(|_| TokenError::Invalid("its key cannot be used"))?, alg)
            }
        };
        let mut validation = Validation::new(algorithm);
        validation.leeway = 5;
        validation.validate_nbf = true;
        validation.set_required_spec_claims(&["exp", "aud", "iss"]);
        validation.set_audience(&[self.audience()]);
        let mut issuers = vec![ISSUER.to_string()];
        issuers.extend(self.settings.issuer.clone());
        validation.set_issuer(&issuers);
        let data = decode::<Map<String, Json>>(token, &key, &validation).map_err(|e| match e.kind() {
            jsonwebtoken::errors::ErrorKind::ExpiredSignature => TokenError::Expired,
            jsonwebtoken::errors::ErrorKind::ImmatureSignature => TokenError::Invalid("it is not valid yet (nbf)"),
            jsonwebtoken::errors::ErrorKind::InvalidAudience => TokenError::Invalid("wrong audience"),
            jsonwebtoken::errors::ErrorKind::InvalidIssuer => TokenError::Invalid("wrong issuer"),
            jsonwebtoken::errors::ErrorKind::InvalidSignature => TokenError::Invalid("bad signature"),
            jsonwebtoken::errors::ErrorKind::InvalidAlgorithm => TokenError::Invalid("the algorithm is not accepted"),
            _ => TokenError::Invalid("it cannot be verified"),
        })?;
        let mut claims = data.claims;
        if !claims.contains_key("id") {
            if let Some(sub) = claims.get("sub").cloned() {
                claims.insert("id".into(), sub);
            }
        }
        Ok(claims)
    }
}

pub fn now_seconds() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

/// A JWKS document (`{"keys": [...]}`), as `--jwks` gives it.
pub fn parse_jwks(text: &str) -> Result<JwkSet, String> {
    serde_json::from_str(text).map_err(|e| format!("not a JWKS document: {e}"))
}

/// A fresh signing secret: 32 random bytes as 64 hexadecimal digits.
pub fn generate_secret() -> Result<String, String> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(|e| format!("no randomness: {e}"))?;
    Ok(super::refresh::hex(&bytes))
}
