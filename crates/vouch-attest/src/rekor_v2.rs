//! Rekor v2 (rekor-tiles) transparency-log entries for bundles signed with a key: the entry
//! bodies vouch logs and the checks a verifier makes of a bundle's entry.
//!
//! Bodies are RFC 8785 canonical JSON, as Rekor v2 stores them (the log leaf is
//! SHA-256(0x00 || body)):
//! - blobs: `hashedrekord` v0.0.2 — the artifact's SHA-256, the signature, the verifier;
//! - attestations: `dsse` v0.0.2 — the SHA-256 of the DSSE payload, the envelope signature,
//!   the verifier.
//!
//! A bundle entry is accepted when the log is in the trusted root, the inclusion proof leads
//! to the proof's root hash, the checkpoint (a C2SP signed note) is signed by the log's key
//! and commits to that root and size, and the body records exactly this digest, signature and
//! key. Rekor v2 entries carry no integrated time, so they prove publication, not a signing
//! time. This module never talks to a log: appending is the caller's business.

// Failures are the verifier's typed `Outcome`, as in `keyless`; they are rare and not hot.
#![allow(clippy::result_large_err)]

use serde_json::{Map, Value, json};
use sha2::{Digest as _, Sha256};
use vouch_crypto::keys::KeyAlgorithm;

use crate::b64;
use crate::bundle::{Bundle, Content};
use crate::error::AttestError;

/// The Rekor v2 entry version vouch writes and reads.
pub const API_VERSION: &str = "0.0.2";

/// The Sigstore `PublicKeyDetails` name of a signing key's algorithm.
pub fn key_details(alg: KeyAlgorithm) -> Option<&'static str> {
    match alg {
        KeyAlgorithm::EcdsaP256 => Some("PKIX_ECDSA_P256_SHA_256"),
        KeyAlgorithm::EcdsaP384 => Some("PKIX_ECDSA_P384_SHA_384"),
        KeyAlgorithm::EcdsaP521 => Some("PKIX_ECDSA_P521_SHA_512"),
        KeyAlgorithm::Ed25519 => Some("PKIX_ED25519"),
        KeyAlgorithm::Rsa => None,
    }
}

fn obj(pairs: Vec<(&str, Value)>) -> Value {
    // Callers pass keys in sorted order: with ASCII keys that is RFC 8785's order, whether or
    // not serde_json preserves insertion order in this build.
    let mut m = Map::new();
    for (k, v) in pairs {
        m.insert(k.to_string(), v);
    }
    Value::Object(m)
}

fn signature_json(signature: &[u8], spki: &[u8], details: &str) -> Value {
    obj(vec![
        ("content", json!(b64::encode(signature))),
        (
            "verifier",
            obj(vec![
                ("keyDetails", json!(details)),
                (
                    "publicKey",
                    obj(vec![("rawBytes", json!(b64::encode(spki)))]),
                ),
            ]),
        ),
    ])
}

fn entry_json(kind: &str, spec_name: &str, spec: Value) -> Vec<u8> {
    let body = obj(vec![
        ("apiVersion", json!(API_VERSION)),
        ("kind", json!(kind)),
        ("spec", obj(vec![(spec_name, spec)])),
    ]);
    serde_json::to_vec(&body).unwrap_or_default()
}

/// The `hashedrekord` v0.0.2 body for a blob signature.
pub fn hashedrekord_body(sha256: &[u8], signature: &[u8], spki: &[u8], details: &str) -> Vec<u8> {
    entry_json(
        "hashedrekord",
        "hashedRekordV002",
        obj(vec![
            (
                "data",
                obj(vec![
                    ("algorithm", json!("SHA2_256")),
                    ("digest", json!(b64::encode(sha256))),
                ]),
            ),
            ("signature", signature_json(signature, spki, details)),
        ]),
    )
}

/// The `dsse` v0.0.2 body for a DSSE envelope with one signature.
pub fn dsse_body(payload: &[u8], signature: &[u8], spki: &[u8], details: &str) -> Vec<u8> {
    entry_json(
        "dsse",
        "dsseV002",
        obj(vec![
            (
                "payloadHash",
                obj(vec![
                    ("algorithm", json!("SHA2_256")),
                    ("digest", json!(b64::encode(&Sha256::digest(payload)))),
                ]),
            ),
            (
                "signatures",
                json!([signature_json(signature, spki, details)]),
            ),
        ]),
    )
}

/// The body to log for a bundle signed with the key `spki` (blob or DSSE), and its kind.
/// A blob bundle must carry its `messageDigest` (SHA-256), which vouch bundles always do.
pub fn body_for_bundle(
    bundle: &Bundle,
    spki: &[u8],
    details: &str,
) -> Result<(Vec<u8>, &'static str), AttestError> {
    match bundle.content() {
        Some(Content::Message(ms)) => {
            let digest = ms
                .message_digest
                .as_ref()
                .filter(|d| d.algorithm == "SHA2_256" && d.digest.0.len() == 32)
                .ok_or_else(|| {
                    AttestError::Usage(
                        "the bundle's messageSignature has no SHA2_256 messageDigest to log".into(),
                    )
                })?;
            Ok((
                hashedrekord_body(&digest.digest.0, &ms.signature.0, spki, details),
                "hashedrekord",
            ))
        }
        Some(Content::Dsse(env)) => match env.signatures.as_slice() {
            [s] => Ok((dsse_body(&env.payload.0, &s.sig.0, spki, details), "dsse")),
            more => Err(AttestError::Usage(format!(
                "the DSSE envelope has {} signatures; a bundle logs exactly one",
                more.len()
            ))),
        },
        None => Err(AttestError::Usage("the bundle has no content".into())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bodies_are_canonical_and_shaped_as_rekor_v2() {
        let b = hashedrekord_body(&[1u8; 32], b"sig", b"spki", "PKIX_ECDSA_P256_SHA_256");
        assert_eq!(
            String::from_utf8(b).unwrap(),
            r#"{"apiVersion":"0.0.2","kind":"hashedrekord","spec":{"hashedRekordV002":{"data":{"algorithm":"SHA2_256","digest":"AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE="},"signature":{"content":"c2ln","verifier":{"keyDetails":"PKIX_ECDSA_P256_SHA_256","publicKey":{"rawBytes":"c3BraQ=="}}}}}}"#
        );
        let d = dsse_body(b"{}", b"sig", b"spki", "PKIX_ED25519");
        let v: Value = serde_json::from_slice(&d).unwrap();
        assert_eq!(v["kind"], "dsse");
        assert_eq!(
            v["spec"]["dsseV002"]["payloadHash"]["digest"],
            b64::encode(&Sha256::digest(b"{}"))
        );
        assert_eq!(
            v["spec"]["dsseV002"]["signatures"][0]["verifier"]["keyDetails"],
            "PKIX_ED25519"
        );
    }
}
