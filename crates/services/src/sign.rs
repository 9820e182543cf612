//! Standard Webhooks signing: `webhook-id`, `webhook-timestamp` and `webhook-signature`
//! (`v1,` + base64 of HMAC-SHA256 over `{id}.{timestamp}.{body}`). This module owns the
//! secret's decoding and the signature; nothing here logs a secret.

use base64::Engine;
use hmac::{KeyInit, Mac};

/// A signing key, decoded once at start.
#[derive(Clone)]
pub struct Secret(Vec<u8>);

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(..)")
    }
}

impl Secret {
    /// `whsec_<base64>` is the base64 part decoded, as the Standard Webhooks spec says;
    /// any other text is used as its bytes. `None`: `whsec_` with invalid base64, or empty.
    pub fn parse(text: &str) -> Option<Secret> {
        let bytes = match text.strip_prefix("whsec_") {
            Some(b64) => base64::engine::general_purpose::STANDARD.decode(b64).ok()?,
            None => text.as_bytes().to_vec(),
        };
        (!bytes.is_empty()).then_some(Secret(bytes))
    }

    /// The `webhook-signature` header's value for one message.
    pub fn sign(&self, id: &str, timestamp: i64, body: &[u8]) -> String {
        // HMAC takes keys of any length, so this cannot fail; an empty MAC would only fail
        // verification at the receiver, never leak anything.
        let Ok(mut mac) = hmac::Hmac::<sha2::Sha256>::new_from_slice(&self.0) else {
            return String::new();
        };
        mac.update(id.as_bytes());
        mac.update(b".");
        mac.update(timestamp.to_string().as_bytes());
        mac.update(b".");
        mac.update(body);
        let digest = mac.finalize().into_bytes();
        format!("v1,{}", base64::engine::general_purpose::STANDARD.encode(digest))
    }
}

#[cfg(test)]
mod tests {
    use super::Secret;

    #[test]
    fn the_specs_example_verifies() {
        // The example of the Standard Webhooks spec (and of svix's libraries).
        let secret = Secret::parse("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").expect("secret");
        let body = br#"{"test": 2432232314}"#;
        assert_eq!(
            secret.sign("msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, body),
            "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
        );
    }

    #[test]
    fn raw_secrets_are_their_bytes() {
        assert!(Secret::parse("").is_none());
        assert!(Secret::parse("whsec_***").is_none());
        assert!(Secret::parse("plain").is_some());
    }
}
