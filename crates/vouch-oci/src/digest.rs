//! Content digests as OCI writes them (`sha256:<64 lowercase hex>`).
//!
//! Only sha256 is accepted: it is the only algorithm registries and cosign use, and a digest
//! that cannot be recomputed cannot be verified. This module must never accept a digest it
//! cannot check, and never build a tag or path from an unvalidated one.

use std::fmt;

use sha2::{Digest as _, Sha256};

/// A validated `sha256:<hex>` digest.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Digest(String);

impl Digest {
    /// Parses `sha256:<64 lowercase hex>`; `None` for anything else.
    pub fn parse(s: &str) -> Option<Digest> {
        let hex = s.strip_prefix("sha256:")?;
        (hex.len() == 64
            && hex
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)))
        .then(|| Digest(s.to_string()))
    }

    /// The digest of `bytes`.
    pub fn of(bytes: &[u8]) -> Digest {
        Digest(format!("sha256:{}", hex::encode(Sha256::digest(bytes))))
    }

    /// The 64 hex characters.
    pub fn hex(&self) -> &str {
        self.0.get(7..).unwrap_or_default()
    }

    /// `sha256:<hex>`.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The tag a digest is known by in tag-based schemes: `sha256-<hex>` (the referrers tag
    /// schema; cosign v2 appends `.sig` / `.att`).
    pub fn tag(&self) -> String {
        format!("sha256-{}", self.hex())
    }
}

impl fmt::Display for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Computes a sha256 digest over bytes written to it in pieces (streamed blobs), counting
/// them.
#[derive(Default)]
pub struct Hasher {
    inner: Sha256,
    len: u64,
}

impl Hasher {
    /// Adds bytes.
    pub fn update(&mut self, bytes: &[u8]) {
        self.inner.update(bytes);
        self.len = self.len.saturating_add(bytes.len() as u64);
    }

    /// The digest and the number of bytes seen.
    pub fn finish(self) -> (Digest, u64) {
        (
            Digest(format!("sha256:{}", hex::encode(self.inner.finalize()))),
            self.len,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_only_lowercase_sha256() {
        let d = Digest::of(b"{}");
        assert_eq!(
            d.as_str(),
            "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a"
        );
        assert_eq!(Digest::parse(d.as_str()), Some(d.clone()));
        assert!(Digest::parse(&d.as_str().to_uppercase()).is_none());
        assert!(Digest::parse("sha512:00").is_none());
        assert!(Digest::parse("sha256:abc").is_none());
        assert_eq!(d.tag(), format!("sha256-{}", d.hex()));
    }
}
