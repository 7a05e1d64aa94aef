//! Stable finding fingerprints.
//!
//! A fingerprint is the first 16 bytes of SHA-256 over the rule id, the path and a key the rule
//! chooses (the offending text, never a line number), hex-encoded. Identical keys in one file
//! are told apart by [`disambiguate`], which appends the occurrence number in file order, as
//! GitHub's `primaryLocationLineHash` does.

use std::collections::HashMap;
use std::fmt;

use sha2::{Digest as _, Sha256};

use crate::Finding;

/// A 128-bit finding fingerprint.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Fingerprint([u8; 16]);

impl Fingerprint {
    /// The fingerprint of `key` for `rule` in `path`. Whitespace runs in `key` are folded so a
    /// re-indented line keeps its fingerprint.
    pub fn of(rule: &str, path: &str, key: &str) -> Fingerprint {
        let mut h = Sha256::new();
        h.update(rule.as_bytes());
        h.update([0]);
        h.update(path.as_bytes());
        h.update([0]);
        let mut first = true;
        for word in key.split_whitespace() {
            if !first {
                h.update(b" ");
            }
            first = false;
            h.update(word.as_bytes());
        }
        let full = h.finalize();
        let mut out = [0u8; 16];
        out.copy_from_slice(&full[..16]);
        Fingerprint(out)
    }
}

impl fmt::Display for Fingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&hex::encode(self.0))
    }
}

/// Makes fingerprints unique within a report: the second and later findings with the same
/// fingerprint get `:2`, `:3`, … in their sorted order. Call on sorted findings.
pub fn disambiguate(findings: &mut [Finding]) {
    let mut seen: HashMap<String, u32> = HashMap::new();
    for f in findings.iter_mut() {
        let n = seen.entry(f.fingerprint.clone()).or_insert(0);
        *n += 1;
        if *n > 1 {
            f.fingerprint = format!("{}:{}", f.fingerprint, n);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn whitespace_is_folded_and_inputs_are_separated() {
        assert_eq!(
            Fingerprint::of("r", "p", "uses:  a/b@v1"),
            Fingerprint::of("r", "p", "  uses: a/b@v1 ")
        );
        assert_ne!(Fingerprint::of("r", "p", "x"), Fingerprint::of("r", "px", ""));
        assert_eq!(Fingerprint::of("r", "p", "x").to_string().len(), 32);
    }
}
