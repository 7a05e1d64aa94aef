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
use crate::keyless::{LogKey, Signed, check_inclusion, tlog_fail};
use crate::trusted_root::TrustedRoot;
use crate::verify::Outcome;

/// The Rekor v2 entry version vouch writes and reads.
pub const API_VERSION: &str = "0.0.2";

/// The Sigstore `PublicKeyDetails` name of a signing key's algorithm.
pub fn key_details(alg: KeyAlgorithm) -> Option<&'static str> {
    match alg {
        KeyAlgorithm::EcdsaP256 => Some("PKIX_ECDSA_P256_SHA_256"),
        KeyAlgorithm::EcdsaP384 => Some("PKIX_ECDSA_P384_SHA_384"),
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

/// Checks the bundle's one log entry against the trusted root for a signature made with the
/// key `spki` (already verified by the caller).
pub(crate) fn check(
    bundle: &Bundle,
    root: &TrustedRoot,
    spki: &[u8],
    signed: Signed<'_>,
) -> Result<(), Outcome> {
    let e = match bundle.verification_material.tlog_entries.as_slice() {
        [e] => e,
        [] => {
            return Err(tlog_fail(
                "the bundle has no transparency-log entry, and one is required",
            ));
        }
        more => {
            return Err(tlog_fail(format!(
                "the bundle has {} transparency-log entries; exactly one is expected",
                more.len()
            )));
        }
    };
    let Some(log) = root.tlog(&e.log_id.key_id.0) else {
        return Err(tlog_fail(format!(
            "the log entry is from a transparency log not in the trusted root (log id {})",
            b64::encode(&e.log_id.key_id.0)
        )));
    };
    let (kind, version) = (
        e.kind_version.kind.as_str(),
        e.kind_version.version.as_str(),
    );
    let want = match signed {
        Signed::Blob { .. } => "hashedrekord",
        Signed::Dsse { .. } => "dsse",
    };
    if (kind, version) != (want, API_VERSION) {
        return Err(tlog_fail(format!(
            "a key-signed bundle needs a {want}/{API_VERSION} log entry, not {kind}/{version}"
        )));
    }
    check_inclusion(
        e,
        &LogKey {
            hint: log.checkpoint_hint(),
            spki: &log.public_key.raw_bytes.0,
            name: Some(log.checkpoint_name()),
        },
    )?;
    let body = &e.canonicalized_body.0;
    check_body(body, spki, signed)
}

fn check_body(body: &[u8], spki: &[u8], signed: Signed<'_>) -> Result<(), Outcome> {
    let v: Value = serde_json::from_slice(body)
        .map_err(|e| tlog_fail(format!("the log entry body is not JSON: {e}")))?;
    let bytes_at = |node: &Value, path: &str| {
        node.pointer(path)
            .and_then(Value::as_str)
            .and_then(b64::decode)
    };
    let same_signer = |sig: &Value, signature: &[u8]| {
        bytes_at(sig, "/content").as_deref() == Some(signature)
            && bytes_at(sig, "/verifier/publicKey/rawBytes").as_deref() == Some(spki)
    };
    match signed {
        Signed::Blob { sha256, signature } => {
            let Some(spec) = v.pointer("/spec/hashedRekordV002") else {
                return Err(tlog_fail("the log entry body has no hashedRekordV002 spec"));
            };
            if spec.pointer("/data/algorithm").and_then(Value::as_str) != Some("SHA2_256")
                || bytes_at(spec, "/data/digest").as_deref() != Some(sha256)
            {
                return Err(tlog_fail("the log entry is for another artifact digest"));
            }
            match spec.get("signature") {
                Some(s) if same_signer(s, signature) => Ok(()),
                _ => Err(tlog_fail(
                    "the log entry records another signature or another key",
                )),
            }
        }
        Signed::Dsse {
            payload,
            signatures,
        } => {
            let Some(spec) = v.pointer("/spec/dsseV002") else {
                return Err(tlog_fail("the log entry body has no dsseV002 spec"));
            };
            if spec
                .pointer("/payloadHash/algorithm")
                .and_then(Value::as_str)
                != Some("SHA2_256")
                || bytes_at(spec, "/payloadHash/digest").as_deref()
                    != Some(Sha256::digest(payload).as_slice())
            {
                return Err(tlog_fail("the log entry is for another DSSE payload"));
            }
            let recorded = spec
                .get("signatures")
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default();
            let ok = !signatures.is_empty()
                && signatures
                    .iter()
                    .all(|sig| recorded.iter().any(|r| same_signer(r, sig)));
            if ok {
                Ok(())
            } else {
                Err(tlog_fail(
                    "the log entry does not record this signature by this key",
                ))
            }
        }
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

    proptest::proptest! {
        #[test]
        fn body_checks_never_panic(body in proptest::collection::vec(proptest::num::u8::ANY, 0..200)) {
            let _ = check_body(&body, b"k", Signed::Blob { sha256: &[0u8; 32], signature: b"s" });
            let _ = check_body(&body, b"k", Signed::Dsse { payload: b"p", signatures: vec![b"s"] });
        }
    }
}
