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
    signature_json_with(
        signature,
        &VerifierMaterial::PublicKey(spki.to_vec()),
        details,
    )
}

/// What verifies an entry's signature: a public key (SPKI DER) or an X.509 certificate (DER),
/// as Rekor v2's `Verifier` message has them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VerifierMaterial {
    PublicKey(Vec<u8>),
    X509Certificate(Vec<u8>),
}

fn signature_json_with(signature: &[u8], verifier: &VerifierMaterial, details: &str) -> Value {
    let (name, raw) = match verifier {
        VerifierMaterial::PublicKey(spki) => ("publicKey", spki),
        VerifierMaterial::X509Certificate(der) => ("x509Certificate", der),
    };
    obj(vec![
        ("content", json!(b64::encode(signature))),
        (
            "verifier",
            obj(vec![
                ("keyDetails", json!(details)),
                (name, obj(vec![("rawBytes", json!(b64::encode(raw)))])),
            ]),
        ),
    ])
}

/// A Rekor v2 `CreateEntryRequest` with a `hashedRekordRequestV002`, read and checked: the
/// digest is 32 bytes, the key details are known, and the signature verifies over the digest
/// with the verifier's key (as Rekor v2 checks before logging).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HashedRekordRequest {
    pub digest: Vec<u8>,
    pub signature: Vec<u8>,
    pub verifier: VerifierMaterial,
    pub key_details: String,
}

impl HashedRekordRequest {
    /// Parses a `POST /api/v2/log/entries` body. Only `hashedRekordRequestV002` is accepted
    /// (DSSE is logged as a hashedrekord over the PAE digest, as Sigstore clients send it).
    pub fn parse(body: &[u8]) -> Result<HashedRekordRequest, AttestError> {
        let bad = |m: String| AttestError::Usage(m);
        let v: Value = serde_json::from_slice(body)
            .map_err(|e| bad(format!("not a Rekor v2 request: {e}")))?;
        let Some(obj) = v.as_object() else {
            return Err(bad("not a Rekor v2 request: not an object".into()));
        };
        if obj.contains_key("dsseRequestV002") {
            return Err(bad(
                "dsseRequestV002 is not accepted: log a DSSE envelope as a hashedRekordRequestV002 over the SHA-256 of its PAE".into(),
            ));
        }
        if obj.len() != 1 {
            return Err(bad(
                "the request must hold exactly hashedRekordRequestV002".into()
            ));
        }
        let r = obj
            .get("hashedRekordRequestV002")
            .ok_or_else(|| bad("no hashedRekordRequestV002".into()))?;
        let field = |v: &Value, name: &str| -> Result<Vec<u8>, AttestError> {
            let s = v
                .get(name)
                .and_then(Value::as_str)
                .ok_or_else(|| bad(format!("`{name}` is missing")))?;
            b64::decode(s).ok_or_else(|| bad(format!("`{name}` is not base64")))
        };
        let digest = field(r, "digest")?;
        if digest.len() != 32 {
            return Err(bad(format!(
                "`digest` must be a SHA-256 (32 bytes), not {} bytes",
                digest.len()
            )));
        }
        let sig = r
            .get("signature")
            .ok_or_else(|| bad("`signature` is missing".into()))?;
        let signature = field(sig, "content")?;
        let verifier = sig
            .get("verifier")
            .ok_or_else(|| bad("`signature.verifier` is missing".into()))?;
        let key_details = verifier
            .get("keyDetails")
            .and_then(Value::as_str)
            .ok_or_else(|| bad("`keyDetails` is missing".into()))?
            .to_string();
        let material = match (verifier.get("publicKey"), verifier.get("x509Certificate")) {
            (Some(pk), None) => VerifierMaterial::PublicKey(field(pk, "rawBytes")?),
            (None, Some(c)) => VerifierMaterial::X509Certificate(field(c, "rawBytes")?),
            _ => {
                return Err(bad(
                    "the verifier must have exactly one of publicKey and x509Certificate".into(),
                ));
            }
        };
        let req = HashedRekordRequest {
            digest,
            signature,
            verifier: material,
            key_details,
        };
        req.verify()?;
        Ok(req)
    }

    /// The signature verifies over the digest with the verifier's key, and the key is what
    /// `keyDetails` says.
    fn verify(&self) -> Result<(), AttestError> {
        let spki = match &self.verifier {
            VerifierMaterial::PublicKey(spki) => spki.clone(),
            VerifierMaterial::X509Certificate(der) => crate::x509::Cert::from_der(der)
                .and_then(|c| c.spki_der())
                .map_err(|e| AttestError::Usage(format!("the verifier certificate: {e}")))?,
        };
        let key = vouch_crypto::keys::PublicKey::from_spki_der(&spki)
            .map_err(|e| AttestError::Usage(format!("the verifier key: {e}")))?;
        if key_details(key.algorithm()) != Some(self.key_details.as_str()) {
            return Err(AttestError::Usage(format!(
                "keyDetails `{}` does not describe the verifier's {} key",
                self.key_details,
                key.algorithm()
            )));
        }
        if !key.algorithm().signs_prehashed() {
            return Err(AttestError::Usage(format!(
                "a {} signature cannot be checked over a digest",
                key.algorithm()
            )));
        }
        let prehash = vouch_crypto::keys::Prehash {
            algorithm: vouch_crypto::keys::HashAlgorithm::Sha256,
            value: self.digest.clone(),
        };
        key.verify_prehashed_any(&prehash, &self.signature)
            .map_err(|_| AttestError::Usage("the signature does not verify over the digest".into()))
    }

    /// The canonical `hashedrekord` v0.0.2 body to log.
    pub fn body(&self) -> Vec<u8> {
        entry_json(
            "hashedrekord",
            "hashedRekordV002",
            obj(vec![
                (
                    "data",
                    obj(vec![
                        ("algorithm", json!("SHA2_256")),
                        ("digest", json!(b64::encode(&self.digest))),
                    ]),
                ),
                (
                    "signature",
                    signature_json_with(&self.signature, &self.verifier, &self.key_details),
                ),
            ]),
        )
    }
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
    fn hashedrekord_requests_are_checked_before_they_are_logged() {
        use vouch_crypto::keys::{HashAlgorithm, PrivateKey};
        let key = PrivateKey::generate(KeyAlgorithm::EcdsaP256).unwrap();
        let digest = HashAlgorithm::Sha256.hash(b"artifact");
        let sig = key.sign_prehashed(&digest).unwrap();
        let req = |digest: &[u8], sig: &[u8], details: &str| {
            serde_json::to_vec(&json!({"hashedRekordRequestV002": {
                "digest": b64::encode(digest),
                "signature": {"content": b64::encode(sig), "verifier": {
                    "publicKey": {"rawBytes": b64::encode(key.public_key().spki_der())},
                    "keyDetails": details}}}}))
            .unwrap()
        };
        let ok = HashedRekordRequest::parse(&req(&digest.value, &sig, "PKIX_ECDSA_P256_SHA_256"))
            .unwrap();
        assert_eq!(
            ok.body(),
            hashedrekord_body(
                &digest.value,
                &sig,
                key.public_key().spki_der(),
                "PKIX_ECDSA_P256_SHA_256"
            )
        );
        // Another digest, wrong key details, a short digest, a DSSE request: refused.
        let other = HashAlgorithm::Sha256.hash(b"other");
        assert!(
            HashedRekordRequest::parse(&req(&other.value, &sig, "PKIX_ECDSA_P256_SHA_256"))
                .is_err()
        );
        assert!(HashedRekordRequest::parse(&req(&digest.value, &sig, "PKIX_ED25519")).is_err());
        assert!(
            HashedRekordRequest::parse(&req(&digest.value[..20], &sig, "PKIX_ECDSA_P256_SHA_256"))
                .is_err()
        );
        assert!(HashedRekordRequest::parse(br#"{"dsseRequestV002":{}}"#).is_err());
        assert!(HashedRekordRequest::parse(b"[]").is_err());
    }

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
