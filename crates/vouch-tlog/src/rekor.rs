//! What Sigstore bundles and verifiers need to know about a vouch log, shaped as Rekor v2
//! (rekor-tiles) does it: the bundle's `tlogEntries[]` item for an appended entry (with
//! `inclusionProof` and `checkpoint.envelope`), and the trusted-root `tlogs[]` item that lets
//! Sigstore clients verify it.
//!
//! The entry bodies themselves (`hashedrekord` / `dsse` v0.0.2) are built by
//! `vouch_attest::rekor_v2`, which also verifies them: this crate only logs bytes.
//!
//! Rekor v2 entries carry no integrated time: a verifier that needs a signing time within a
//! certificate's validity must get it from an RFC 3161 timestamp in the bundle.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use serde_json::{Value, json};
use sha2::{Digest as _, Sha256};

#[cfg(feature = "sqlite")]
use crate::log::Appended;
use crate::note::Verifier;

/// DER SubjectPublicKeyInfo of an Ed25519 public key.
pub fn ed25519_spki(public_key: &[u8; 32]) -> Vec<u8> {
    let mut spki = vec![
        0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00,
    ];
    spki.extend_from_slice(public_key);
    spki
}

/// The Sigstore log ID of an Ed25519 log key: SHA-256 of its DER SubjectPublicKeyInfo.
pub fn ed25519_log_id(public_key: &[u8; 32]) -> [u8; 32] {
    Sha256::digest(ed25519_spki(public_key)).into()
}

/// The C2SP signed-note key ID of an Ed25519 note key in full: SHA-256(name || "\n" || 0x01 ||
/// key). Its first 4 bytes are the hint on checkpoint signatures (Sigstore's
/// `checkpointKeyId`).
pub fn checkpoint_key_id(name: &str, public_key: &[u8; 32]) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(name.as_bytes());
    h.update(b"\n");
    h.update([0x01]);
    h.update(public_key);
    h.finalize().into()
}

/// A Sigstore bundle v0.3 `tlogEntries[]` item (proto3 JSON) for an appended entry of `kind`
/// (`hashedrekord` or `dsse`, version 0.0.2).
#[cfg(feature = "sqlite")]
pub fn tlog_entry_json(
    ack: &Appended,
    kind: &str,
    canonicalized_body: &[u8],
    log_id: &[u8; 32],
) -> Value {
    let root = crate::note::Note::parse(ack.checkpoint.as_bytes())
        .ok()
        .and_then(|n| crate::checkpoint::Checkpoint::parse_body(&n.text).ok())
        .map(|c| B64.encode(c.root))
        .unwrap_or_default();
    json!({
        "logIndex": ack.index.to_string(),
        "logId": {"keyId": B64.encode(log_id)},
        "kindVersion": {"kind": kind, "version": "0.0.2"},
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

/// A Sigstore trusted root (`trustedroot+json;version=0.1`) naming this log only: its
/// Ed25519 key, log ID, checkpoint key ID, and a `baseUrl` the checkpoint's key name matches
/// (Sigstore clients match the signature's key name against the log's `baseUrl`). `None` for
/// a log whose key is not Ed25519.
pub fn trusted_root_json(log_key: &Verifier, valid_from: &str) -> Option<Value> {
    let pk = log_key.ed25519_public_key()?;
    Some(json!({
        "mediaType": "application/vnd.dev.sigstore.trustedroot+json;version=0.1",
        "tlogs": [{
            "baseUrl": format!("https://{}", log_key.name()),
            "hashAlgorithm": "SHA2_256",
            "publicKey": {
                "rawBytes": B64.encode(ed25519_spki(&pk)),
                "keyDetails": "PKIX_ED25519",
                "validFor": {"start": valid_from},
            },
            "logId": {"keyId": B64.encode(ed25519_log_id(&pk))},
            "checkpointKeyId": {"keyId": B64.encode(checkpoint_key_id(log_key.name(), &pk))},
        }],
        "certificateAuthorities": [],
        "ctlogs": [],
        "timestampAuthorities": [],
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::note::Signer;

    #[test]
    fn checkpoint_key_id_is_the_note_key_id() {
        let s = Signer::generate("example.com/log", 0x01).unwrap();
        let v = s.verifier();
        let pk = v.ed25519_public_key().unwrap();
        let full = checkpoint_key_id(v.name(), &pk);
        assert_eq!(
            u32::from_be_bytes([full[0], full[1], full[2], full[3]]),
            v.key_id()
        );
        let root = trusted_root_json(&v, "2026-01-01T00:00:00Z").unwrap();
        assert_eq!(root["tlogs"][0]["baseUrl"], "https://example.com/log");
        assert_eq!(
            root["tlogs"][0]["logId"]["keyId"],
            B64.encode(ed25519_log_id(&pk))
        );
    }
}
