//! Server-issued DPoP nonces (RFC 9449 §8), stateless so that any replica accepts a nonce
//! another replica issued: `nonce = base64url(issued_at_be_u64 || HMAC-SHA256(secret, issued_at_be_u64))`,
//! valid for a configured lifetime.
//!
//! It must never: accept a nonce whose tag does not verify (the comparison is constant-time,
//! by `aws_lc_rs::hmac::verify`), accept one older than its lifetime or issued in the future
//! beyond a small clock skew, or show the secret in `Debug` output or an error.

use aws_lc_rs::hmac;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

/// Tolerated clock skew between replicas for a nonce's issue time, in seconds.
const FUTURE_SKEW_SECONDS: u64 = 5;
/// The shortest secret accepted, in bytes.
pub const MIN_SECRET_LEN: usize = 32;

/// Issues and checks nonces with one HMAC key.
pub struct NonceIssuer {
    key: hmac::Key,
    lifetime_seconds: u64,
}

impl std::fmt::Debug for NonceIssuer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NonceIssuer")
            .field("key", &"<redacted>")
            .field("lifetime_seconds", &self.lifetime_seconds)
            .finish()
    }
}

/// Why a nonce was not accepted (never shown to the client beyond "invalid or expired").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NonceError {
    Malformed,
    BadTag,
    Expired,
    FromTheFuture,
}

impl NonceIssuer {
    /// A secret shorter than [`MIN_SECRET_LEN`] bytes is refused.
    pub fn new(secret: &[u8], lifetime_seconds: u64) -> Result<Self, String> {
        if secret.len() < MIN_SECRET_LEN {
            return Err(format!(
                "the DPoP nonce secret must be at least {MIN_SECRET_LEN} bytes"
            ));
        }
        Ok(NonceIssuer {
            key: hmac::Key::new(hmac::HMAC_SHA256, secret),
            lifetime_seconds,
        })
    }

    pub fn lifetime_seconds(&self) -> u64 {
        self.lifetime_seconds
    }

    /// A fresh nonce issued at `now` (unix seconds).
    pub fn issue(&self, now: u64) -> String {
        let ts = now.to_be_bytes();
        let tag = hmac::sign(&self.key, &ts);
        let mut raw = Vec::with_capacity(8 + tag.as_ref().len());
        raw.extend_from_slice(&ts);
        raw.extend_from_slice(tag.as_ref());
        URL_SAFE_NO_PAD.encode(raw)
    }

    /// Checks a nonce received at `now`.
    pub fn verify(&self, nonce: &str, now: u64) -> Result<(), NonceError> {
        // 8 + 32 bytes encode to 54 characters; anything longer is not ours.
        if nonce.len() > 64 {
            return Err(NonceError::Malformed);
        }
        let raw = URL_SAFE_NO_PAD
            .decode(nonce)
            .map_err(|_| NonceError::Malformed)?;
        if raw.len() != 8 + 32 {
            return Err(NonceError::Malformed);
        }
        let (ts, tag) = raw.split_at(8);
        hmac::verify(&self.key, ts, tag).map_err(|_| NonceError::BadTag)?;
        let mut b = [0u8; 8];
        b.copy_from_slice(ts);
        let issued = u64::from_be_bytes(b);
        if issued > now.saturating_add(FUTURE_SKEW_SECONDS) {
            return Err(NonceError::FromTheFuture);
        }
        if now.saturating_sub(issued) > self.lifetime_seconds {
            return Err(NonceError::Expired);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &[u8] = b"0123456789abcdef0123456789abcdef";

    #[test]
    fn round_trip_and_expiry() {
        let n = NonceIssuer::new(SECRET, 300).unwrap();
        let nonce = n.issue(1_000);
        assert_eq!(n.verify(&nonce, 1_000), Ok(()));
        assert_eq!(n.verify(&nonce, 1_300), Ok(()));
        assert_eq!(n.verify(&nonce, 1_301), Err(NonceError::Expired));
        assert_eq!(n.verify(&nonce, 900), Err(NonceError::FromTheFuture));
    }

    #[test]
    fn another_replica_with_the_same_secret_accepts() {
        let a = NonceIssuer::new(SECRET, 300).unwrap();
        let b = NonceIssuer::new(SECRET, 300).unwrap();
        assert_eq!(b.verify(&a.issue(50), 60), Ok(()));
    }

    #[test]
    fn forged_and_malformed_refused() {
        let n = NonceIssuer::new(SECRET, 300).unwrap();
        let other = NonceIssuer::new(b"another secret of thirty-two byt", 300).unwrap();
        assert_eq!(n.verify(&other.issue(10), 10), Err(NonceError::BadTag));
        // Changing the timestamp invalidates the tag.
        let mut raw = URL_SAFE_NO_PAD.decode(n.issue(10)).unwrap();
        raw[7] ^= 1;
        assert_eq!(
            n.verify(&URL_SAFE_NO_PAD.encode(raw), 10),
            Err(NonceError::BadTag)
        );
        assert_eq!(n.verify("", 10), Err(NonceError::Malformed));
        assert_eq!(n.verify("!!!", 10), Err(NonceError::Malformed));
        assert_eq!(n.verify(&"A".repeat(500), 10), Err(NonceError::Malformed));
    }

    #[test]
    fn short_secret_refused_and_debug_redacts() {
        assert!(NonceIssuer::new(b"short", 300).is_err());
        let n = NonceIssuer::new(SECRET, 300).unwrap();
        assert!(!format!("{n:?}").contains("0123"));
    }
}
