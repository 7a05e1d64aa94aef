//! What Sigstore bundles need from a vouch log, shaped as Rekor v2 (rekor-tiles) does it:
//! the `hashedrekord` v0.0.2 entry body (the log leaf is SHA-256(0x00 || canonical JSON
//! body)), the DSSE pre-authentication encoding whose digest is logged for attestations
//! (Rekor v2 dropped its `dsse` kind for clients of this shape), and the bundle's
//! `tlogEntries[]` item with `inclusionProof` and `checkpoint.envelope`.
//!
//! Rekor v2 entries carry no integrated time: a verifier that needs a signing time must get
//! it from an RFC 3161 timestamp in the bundle.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use serde_json::{Map, Value, json};
use sha2::{Digest as _, Sha256};

use crate::log::Appended;

/// How the signature's verifier is given.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RekorVerifier {
    /// DER SubjectPublicKeyInfo.
    PublicKey(Vec<u8>),
    /// DER certificate.
    Certificate(Vec<u8>),
}

fn obj(pairs: Vec<(&str, Value)>) -> Value {
    // serde_json keeps insertion order here; callers pass keys already sorted, which is
    // what RFC 8785 canonical JSON needs for these ASCII-only documents.
    let mut m = Map::new();
    for (k, v) in pairs {
        m.insert(k.to_string(), v);
    }
    Value::Object(m)
}

/// The canonical (RFC 8785) JSON body of a `hashedrekord` v0.0.2 entry: the bytes that go
/// into the log. `key_details` is the Sigstore `PublicKeyDetails` name, e.g.
/// `PKIX_ECDSA_P256_SHA_256`.
pub fn hashedrekord_v002_body(
    sha256_digest: &[u8; 32],
    signature: &[u8],
    verifier: &RekorVerifier,
    key_details: &str,
) -> Vec<u8> {
    let v = match verifier {
        RekorVerifier::PublicKey(der) => obj(vec![
            ("keyDetails", json!(key_details)),
            ("publicKey", obj(vec![("rawBytes", json!(B64.encode(der)))])),
        ]),
        RekorVerifier::Certificate(der) => obj(vec![
            ("keyDetails", json!(key_details)),
            (
                "x509Certificate",
                obj(vec![("rawBytes", json!(B64.encode(der)))]),
            ),
        ]),
    };
    let body = obj(vec![
        ("apiVersion", json!("0.0.2")),
        ("kind", json!("hashedrekord")),
        (
            "spec",
            obj(vec![(
                "hashedRekordV0_0_2",
                obj(vec![
                    (
                        "data",
                        obj(vec![
                            ("algorithm", json!("SHA2_256")),
                            ("digest", json!(B64.encode(sha256_digest))),
                        ]),
                    ),
                    (
                        "signature",
                        obj(vec![
                            ("content", json!(B64.encode(signature))),
                            ("verifier", v),
                        ]),
                    ),
                ]),
            )]),
        ),
    ]);
    serde_json::to_vec(&body).unwrap_or_default()
}

/// DSSE pre-authentication encoding: `DSSEv1 SP len(type) SP type SP len(body) SP body`.
pub fn dsse_pae(payload_type: &str, payload: &[u8]) -> Vec<u8> {
    let mut out = format!(
        "DSSEv1 {} {} {} ",
        payload_type.len(),
        payload_type,
        payload.len()
    )
    .into_bytes();
    out.extend_from_slice(payload);
    out
}

/// SHA-256 of the DSSE PAE: the digest logged for a DSSE envelope.
pub fn dsse_digest(payload_type: &str, payload: &[u8]) -> [u8; 32] {
    Sha256::digest(dsse_pae(payload_type, payload)).into()
}

/// The Sigstore log ID of an Ed25519 log key: SHA-256 of its DER SubjectPublicKeyInfo.
pub fn ed25519_log_id(public_key: &[u8; 32]) -> [u8; 32] {
    let mut spki = vec![
        0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00,
    ];
    spki.extend_from_slice(public_key);
    Sha256::digest(spki).into()
}

/// A Sigstore bundle v0.3 `tlogEntries[]` item (proto3 JSON) for an appended entry.
pub fn tlog_entry_json(ack: &Appended, canonicalized_body: &[u8], log_id: &[u8; 32]) -> Value {
    let root = crate::note::Note::parse(ack.checkpoint.as_bytes())
        .ok()
        .and_then(|n| crate::checkpoint::Checkpoint::parse_body(&n.text).ok())
        .map(|c| B64.encode(c.root))
        .unwrap_or_default();
    json!({
        "logIndex": ack.index.to_string(),
        "logId": {"keyId": B64.encode(log_id)},
        "kindVersion": {"kind": "hashedrekord", "version": "0.0.2"},
        "integratedTime": "0",
        "inclusionProof": {
            "logIndex": ack.index.to_string(),
            "rootHash": root,
            "treeSize": ack.size.to_string(),
            "hashes": ack.proof.iter().map(|h| B64.encode(h)).collect::<Vec<_>>(),
            "checkpoint": {"envelope": ack.checkpoint},
        },
        "canonicalizedBody": B64.encode(canonicalized_body),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn body_is_canonical_json_with_sorted_keys() {
        let b = hashedrekord_v002_body(
            &[0; 32],
            b"sig",
            &RekorVerifier::PublicKey(vec![1, 2]),
            "PKIX_ECDSA_P256_SHA_256",
        );
        let s = String::from_utf8(b).unwrap();
        assert_eq!(
            s,
            r#"{"apiVersion":"0.0.2","kind":"hashedrekord","spec":{"hashedRekordV0_0_2":{"data":{"algorithm":"SHA2_256","digest":"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="},"signature":{"content":"c2ln","verifier":{"keyDetails":"PKIX_ECDSA_P256_SHA_256","publicKey":{"rawBytes":"AQI="}}}}}}"#
        );
        assert_eq!(dsse_pae("t", b"ab"), b"DSSEv1 1 t 2 ab");
    }

    #[test]
    fn dsse_pae_matches_shared_vectors() {
        let p = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../../shared/vectors/dsse/vectors.json");
        let d: Value = serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap();
        for c in d["pae"].as_array().unwrap() {
            let payload = B64.decode(c["payloadBase64"].as_str().unwrap()).unwrap();
            let want = B64.decode(c["paeBase64"].as_str().unwrap()).unwrap();
            assert_eq!(dsse_pae(c["payloadType"].as_str().unwrap(), &payload), want);
        }
    }
}
