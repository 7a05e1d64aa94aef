//! Redaction: the only form in which a secret leaves this crate.

use sha2::{Digest, Sha256};

/// First 4 characters, the length and a short hash: enough to recognise and rotate the right
/// credential, not enough to use it. `ghp_… (40 chars, sha256:3f1c2a9b)`.
pub fn redact(secret: &str) -> String {
    let head: String = secret.chars().take(4).filter(|c| !c.is_control()).collect();
    format!(
        "{head}… ({} chars, sha256:{})",
        secret.chars().count(),
        &secret_hash(secret)[..8]
    )
}

/// SHA-256 of the secret, hex: the fingerprint key of its findings and the baseline key.
pub fn secret_hash(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_four_chars_and_length() {
        let r = redact("abcdefghijklmnop");
        assert!(r.starts_with("abcd… (16 chars, sha256:"), "{r}");
        assert!(!r.contains("efgh"));
    }
}
