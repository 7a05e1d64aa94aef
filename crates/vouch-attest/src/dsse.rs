//! DSSE (Dead Simple Signing Envelope) v1: PAE, signing with one or more keys, and threshold
//! verification.
//!
//! The signature covers `PAE(type, payload) = "DSSEv1" SP LEN(type) SP type SP LEN(payload) SP
//! payload`, lengths in ASCII decimal bytes. `keyid` is optional and unauthenticated: we
//! write the lowercase hex SHA-256 of the signer's SPKI DER in raw envelopes (empty inside
//! Sigstore bundles, where the bundle names the key) and never trust it when verifying.

use serde::{Deserialize, Serialize};
use vouch_crypto::keys::PublicKey;
use vouch_crypto::signer::Signer;

use crate::b64::Bytes;
use crate::error::AttestError;

/// The payload type of in-toto statements.
pub const IN_TOTO_PAYLOAD_TYPE: &str = "application/vnd.in-toto+json";

/// Pre-Authentication Encoding.
pub fn pae(payload_type: &str, payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(payload.len() + payload_type.len() + 32);
    out.extend_from_slice(b"DSSEv1 ");
    out.extend_from_slice(payload_type.len().to_string().as_bytes());
    out.push(b' ');
    out.extend_from_slice(payload_type.as_bytes());
    out.push(b' ');
    out.extend_from_slice(payload.len().to_string().as_bytes());
    out.push(b' ');
    out.extend_from_slice(payload);
    out
}

/// One signature in an envelope.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Signature {
    /// The signature bytes (ECDSA: ASN.1 DER; fixed `r||s` is accepted on reading).
    pub sig: Bytes,
    /// Unauthenticated hint naming the key.
    #[serde(default)]
    pub keyid: String,
}

/// A DSSE envelope.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Envelope {
    /// The signed payload.
    pub payload: Bytes,
    /// Its media type (authenticated through PAE).
    #[serde(alias = "payload_type")]
    pub payload_type: String,
    /// Signatures over PAE(payloadType, payload).
    pub signatures: Vec<Signature>,
}

/// How to fill `keyid`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyIdStyle {
    /// Empty (Sigstore bundles: the bundle's verification material names the key).
    Empty,
    /// Lowercase hex SHA-256 of the SPKI DER (raw envelopes with several signers).
    Sha256Spki,
}

/// Which keys verified an envelope.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verification {
    /// Indices into the key list of the keys with at least one valid signature.
    pub keys: Vec<usize>,
}

impl Envelope {
    /// Signs `payload` with every signer (one signature each, in order).
    pub fn sign(
        payload_type: &str,
        payload: Vec<u8>,
        signers: &[&dyn Signer],
        keyid: KeyIdStyle,
    ) -> Result<Envelope, AttestError> {
        if signers.is_empty() {
            return Err(AttestError::Usage("signing needs at least one key".into()));
        }
        let message = pae(payload_type, &payload);
        let mut signatures = Vec::with_capacity(signers.len());
        for s in signers {
            signatures.push(Signature {
                sig: Bytes(s.sign(&message)?),
                keyid: match keyid {
                    KeyIdStyle::Empty => String::new(),
                    KeyIdStyle::Sha256Spki => s.public_key().key_id(),
                },
            });
        }
        Ok(Envelope {
            payload: Bytes(payload),
            payload_type: payload_type.to_string(),
            signatures,
        })
    }

    /// Parses an envelope from JSON.
    pub fn from_json(bytes: &[u8]) -> Result<Envelope, AttestError> {
        serde_json::from_slice(bytes).map_err(|e| AttestError::from_json(&e, true))
    }

    /// Serialises as pretty JSON with a final newline (field order fixed: deterministic).
    pub fn to_json(&self) -> Vec<u8> {
        let mut v = serde_json::to_vec_pretty(self).unwrap_or_default();
        v.push(b'\n');
        v
    }

    /// SHA-256 (hex) of the envelope's canonical JSON (RFC 8785).
    pub fn canonical_digest(&self) -> String {
        let v = serde_json::to_value(self).unwrap_or(serde_json::Value::Null);
        vouch_crypto::keys::HashAlgorithm::Sha256
            .hash(&crate::canonical::canonicalize(&v))
            .to_hex()
    }

    /// The bytes signatures cover.
    pub fn pae(&self) -> Vec<u8> {
        pae(&self.payload_type, &self.payload.0)
    }

    /// Counts the distinct `keys` that made a valid signature; succeeds when at least
    /// `threshold` did. Each key counts once however many signatures it made, and each
    /// signature counts for one key at most.
    pub fn verify(&self, keys: &[PublicKey], threshold: usize) -> Result<Verification, String> {
        self.verify_with(keys, threshold, |k, m, s| {
            k.verify_der_or_fixed(m, s).is_ok()
        })
    }

    /// As [`Envelope::verify`], for an envelope inside a Sigstore bundle: ECDSA signatures
    /// in ASN.1 DER only, so that one signature has exactly one byte string.
    pub fn verify_sigstore(
        &self,
        keys: &[PublicKey],
        threshold: usize,
    ) -> Result<Verification, String> {
        self.verify_with(keys, threshold, |k, m, s| k.verify(m, s).is_ok())
    }

    fn verify_with(
        &self,
        keys: &[PublicKey],
        threshold: usize,
        ok: impl Fn(&PublicKey, &[u8], &[u8]) -> bool,
    ) -> Result<Verification, String> {
        if self.signatures.is_empty() {
            return Err("the envelope has no signatures".into());
        }
        if threshold == 0 {
            return Err("threshold must be at least 1".into());
        }
        let message = self.pae();
        let mut verified: Vec<usize> = Vec::new();
        for sig in &self.signatures {
            if let Some(i) = keys
                .iter()
                .enumerate()
                .position(|(i, k)| !verified.contains(&i) && ok(k, &message, &sig.sig.0))
            {
                verified.push(i);
            }
        }
        verified.sort_unstable();
        if verified.len() >= threshold {
            Ok(Verification { keys: verified })
        } else if verified.is_empty() {
            Err(format!(
                "none of the {} signature(s) verifies with the given key(s)",
                self.signatures.len()
            ))
        } else {
            Err(format!(
                "{} of the required {threshold} keys signed",
                verified.len()
            ))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use vouch_crypto::keys::{KeyAlgorithm, PrivateKey};

    #[test]
    fn multi_signature_threshold() {
        let a = PrivateKey::generate(KeyAlgorithm::EcdsaP256).unwrap();
        let b = PrivateKey::generate(KeyAlgorithm::Ed25519).unwrap();
        let c = PrivateKey::generate(KeyAlgorithm::EcdsaP384).unwrap();
        let env = Envelope::sign("t", b"p".to_vec(), &[&a, &b], KeyIdStyle::Sha256Spki).unwrap();
        let keys = [
            a.public_key().clone(),
            b.public_key().clone(),
            c.public_key().clone(),
        ];
        assert_eq!(env.verify(&keys, 2).unwrap().keys, vec![0, 1]);
        assert!(env.verify(&keys, 3).is_err());
        // The same key twice does not count twice.
        let twice = Envelope::sign("t", b"p".to_vec(), &[&a, &a], KeyIdStyle::Empty).unwrap();
        assert!(twice.verify(&keys, 2).is_err());
        let back = Envelope::from_json(&env.to_json()).unwrap();
        assert_eq!(back, env);
    }

    proptest! {
        #[test]
        fn envelope_parser_never_panics(s in ".{0,200}") {
            let _ = Envelope::from_json(s.as_bytes());
        }
    }
}
