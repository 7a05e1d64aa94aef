//! Transparency-log entries in Sigstore bundles, as Rekor v1 and Rekor v2 write them, checked
//! offline against a trusted root.
//!
//! One entry is accepted when:
//! - its log (`logId.keyId`) is a `tlogs` entry of the trusted root;
//! - its body is consistent with the bundle: the same artifact digest (or DSSE payload), the
//!   same signature and the same certificate or key. Kinds: `hashedrekord` 0.0.1 and 0.0.2,
//!   `dsse` 0.0.1 and 0.0.2, `intoto` 0.0.2; a DSSE envelope may also be logged as a
//!   `hashedrekord` 0.0.2 over the digest of its PAE, as Rekor v2 does;
//! - Rekor v1: the SET (`inclusionPromise`: the log's signature over the RFC 8785 JSON
//!   `{body, integratedTime, logID, logIndex}`, with the entry's *global* index) verifies; it
//!   is what makes `integratedTime` a verified time. Bundles v0.1 need it;
//! - an inclusion proof, required from bundle v0.2 on and checked whenever present: the audit
//!   path from the leaf hash at the proof's own index (the index *inside the shard's tree*,
//!   which differs from the global `logIndex` on the sharded public log and is never compared
//!   with it) leads to `rootHash`, and the checkpoint (a C2SP signed note, REQUIRED) carries a
//!   signature by the log's key over a body naming that size and root. Other signature lines
//!   (witness cosignatures, further lines) are ignored;
//! - Rekor v2 entries (0.0.2) carry no SET and their `integratedTime` is ignored: they prove
//!   inclusion, not a time; a verified time must then come from an RFC 3161 timestamp.
//!
//! The Merkle and signed-note code is vouch-tlog's (the one vouch's own log uses); only the
//! signature check is here, since Sigstore names log keys by SPKI rather than note key.

// A failed check returns the final `Outcome`; the cold path, taken once.
#![allow(clippy::result_large_err)]

use serde_json::Value;
use sha2::{Digest as _, Sha256};
use vouch_crypto::keys::{HashAlgorithm, Prehash};
use vouch_tlog::checkpoint::Checkpoint as CheckpointBody;
use vouch_tlog::merkle;
use vouch_tlog::note::Note;

use crate::b64;
use crate::bundle::{BundleVersion, TransparencyLogEntry};
use crate::trusted_root::{TransparencyLogInstance, TrustedRoot};
use crate::verify::Outcome;

/// At most this many signature lines of a checkpoint are tried (witnessed checkpoints carry a
/// handful; the bound keeps a hostile note from costing unbounded signature checks).
const MAX_NOTE_SIGNATURES: usize = 32;

/// What the log entry must describe.
pub(crate) enum Signed<'a> {
    /// A message signature: the artifact's digests (whichever were computed) and the
    /// signature.
    Blob {
        digests: &'a [Prehash],
        signature: &'a [u8],
    },
    /// A DSSE envelope with its one signature.
    Dsse {
        payload_type: &'a str,
        payload: &'a [u8],
        signature: &'a [u8],
    },
}

impl Signed<'_> {
    /// The signature bytes (what RFC 3161 timestamps are over).
    pub(crate) fn signature(&self) -> &[u8] {
        match self {
            Signed::Blob { signature, .. } | Signed::Dsse { signature, .. } => signature,
        }
    }

    fn digest(&self, alg: HashAlgorithm) -> Option<&[u8]> {
        match self {
            Signed::Blob { digests, .. } => digests
                .iter()
                .find(|d| d.algorithm == alg)
                .map(|d| d.value.as_slice()),
            Signed::Dsse { .. } => None,
        }
    }
}

/// Who signed: a certificate (DER, and its key's SPKI) or a bare key (SPKI).
pub(crate) struct SignerMaterial<'a> {
    pub cert_der: Option<&'a [u8]>,
    pub spki: &'a [u8],
}

impl SignerMaterial<'_> {
    /// Whether a base64 PEM (a Rekor v1 body's `publicKey.content` / `verifier`) is this
    /// certificate or key.
    fn same_pem(&self, b64_pem: Option<&str>) -> bool {
        let Some(der) = b64_pem
            .and_then(b64::decode)
            .and_then(|pem| String::from_utf8(pem).ok())
            .and_then(|pem| vouch_crypto::keys::decode_pem(&pem).ok())
        else {
            return false;
        };
        match der.0.as_str() {
            "CERTIFICATE" => self.cert_der == Some(der.1.as_slice()),
            "PUBLIC KEY" => der.1 == self.spki,
            _ => false,
        }
    }

    /// Whether a Rekor v2 `verifier` is this certificate or key.
    fn same_verifier(&self, verifier: Option<&Value>) -> bool {
        let Some(v) = verifier else { return false };
        let raw = |path: &str| {
            v.pointer(path)
                .and_then(Value::as_str)
                .and_then(b64::decode)
        };
        if let Some(der) = raw("/x509Certificate/rawBytes") {
            return self.cert_der == Some(der.as_slice());
        }
        raw("/publicKey/rawBytes").is_some_and(|k| k == self.spki)
    }
}

/// An entry that verified.
#[derive(Debug, Clone)]
pub(crate) struct VerifiedEntry {
    /// The log's base URL as the trusted root names it.
    pub log: String,
    /// The entry's global index.
    pub index: i64,
    /// `integratedTime`, when a verified SET vouches for it.
    pub integrated_time: Option<i64>,
    /// The log key's validity window (the caller checks it against verified times).
    pub valid_for: Option<crate::trusted_root::TimeRange>,
}

pub(crate) fn tlog_fail(reason: impl Into<String>) -> Outcome {
    Outcome::TransparencyLog {
        reason: reason.into(),
    }
}

/// Checks one entry. See the module documentation for what is checked.
pub(crate) fn verify_entry(
    e: &TransparencyLogEntry,
    root: &TrustedRoot,
    version: BundleVersion,
    signer: &SignerMaterial<'_>,
    signed: &Signed<'_>,
) -> Result<VerifiedEntry, Outcome> {
    let Some(log) = root.tlog(&e.log_id.key_id.0) else {
        return Err(tlog_fail(format!(
            "the log entry is from a transparency log not in the trusted root (log id {})",
            b64::encode(&e.log_id.key_id.0)
        )));
    };
    let (kind, api) = (
        e.kind_version.kind.as_str(),
        e.kind_version.version.as_str(),
    );
    let v2 = api == "0.0.2" && kind != "intoto";
    let key = &log.public_key.raw_bytes.0;
    let body = &e.canonicalized_body.0;
    if body.is_empty() {
        return Err(tlog_fail("the log entry has no canonicalized body"));
    }

    // The SET (Rekor v1 only).
    let mut integrated_time = None;
    match &e.inclusion_promise {
        Some(promise) if !v2 => {
            let time = e.integrated_time.0;
            let set_payload = format!(
                r#"{{"body":"{}","integratedTime":{},"logID":"{}","logIndex":{}}}"#,
                b64::encode(body),
                time,
                hex::encode(&e.log_id.key_id.0),
                e.log_index.0
            );
            crate::x509::verify_spki_der(
                key,
                set_payload.as_bytes(),
                &promise.signed_entry_timestamp.0,
            )
            .map_err(|r| tlog_fail(format!("the inclusion promise (SET) {r}")))?;
            if time <= 0 {
                return Err(tlog_fail("the log entry's integratedTime is not positive"));
            }
            integrated_time = Some(time);
        }
        Some(_) => {
            return Err(tlog_fail(
                "a Rekor v2 entry carries an inclusion promise (SET), which v2 logs never make",
            ));
        }
        None if version == BundleVersion::V01 && !v2 => {
            return Err(tlog_fail(
                "a v0.1 bundle's log entry needs an inclusion promise (SET)",
            ));
        }
        None => {}
    }

    // The inclusion proof and its checkpoint.
    match &e.inclusion_proof {
        Some(_) => check_inclusion(e, log)?,
        None if version >= BundleVersion::V02 || v2 => {
            return Err(tlog_fail(
                "the log entry has no inclusion proof (required from bundle v0.2 on)",
            ));
        }
        None => {}
    }

    check_body(body, kind, api, signer, signed)?;
    Ok(VerifiedEntry {
        log: log.base_url.clone(),
        index: e.log_index.0,
        integrated_time,
        valid_for: log.public_key.valid_for.clone(),
    })
}

/// The entry's inclusion proof leads to its root hash, and its checkpoint is signed by the
/// log and commits to that tree size and root.
pub(crate) fn check_inclusion(
    e: &TransparencyLogEntry,
    log: &TransparencyLogInstance,
) -> Result<(), Outcome> {
    let Some(p) = &e.inclusion_proof else {
        return Err(tlog_fail("the log entry has no inclusion proof"));
    };
    let Some(checkpoint) = &p.checkpoint else {
        return Err(tlog_fail(
            "the inclusion proof has no checkpoint (a signed checkpoint is required)",
        ));
    };
    let shape = || tlog_fail("the inclusion proof has the wrong shape for its index and tree size");
    let (Ok(index), Ok(size)) = (u64::try_from(p.log_index.0), u64::try_from(p.tree_size.0)) else {
        return Err(shape());
    };
    let hashes = p
        .hashes
        .iter()
        .map(|h| merkle::Hash::try_from(h.0.as_slice()))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|_| shape())?;
    let leaf = merkle::leaf_hash(&e.canonicalized_body.0);
    let computed = merkle::root_from_inclusion(index, size, &leaf, &hashes).map_err(|_| shape())?;
    if computed.as_slice() != p.root_hash.0.as_slice() {
        return Err(tlog_fail(
            "the inclusion proof does not lead to the proof's root hash",
        ));
    }
    let note = Note::parse(checkpoint.envelope.as_bytes())
        .map_err(|r| tlog_fail(format!("the checkpoint is unreadable: {r}")))?;
    let cp = CheckpointBody::parse_body(&note.text)
        .map_err(|r| tlog_fail(format!("the checkpoint is unreadable: {r}")))?;
    verify_note(&note, &cp.origin, log).map_err(|r| tlog_fail(format!("the checkpoint {r}")))?;
    if cp.size != size || cp.root != p.root_hash.0 {
        return Err(tlog_fail(
            "the checkpoint does not commit to the proof's tree size and root hash",
        ));
    }
    Ok(())
}

/// A signature line of the log verifies over the note text. A line is the log's when its
/// name is the checkpoint's origin (Rekor v1 origins read `<name> - <tree id>`) and its key
/// hint is one the log signs under: the first 4 bytes of its log id, of its C2SP checkpoint
/// key id, or of the C2SP Ed25519 key id for that name (Rekor v2). Other lines (witness
/// cosignatures) are ignored; several lines of the log may be present, one must verify.
pub(crate) fn verify_note(
    note: &Note,
    origin: &str,
    log: &TransparencyLogInstance,
) -> Result<(), String> {
    let spki = &log.public_key.raw_bytes.0;
    let hint_of = |id: &[u8]| match id {
        [a, b, c, d, ..] => Some(u32::from_be_bytes([*a, *b, *c, *d])),
        _ => None,
    };
    let raw = ed25519_raw(spki);
    let is_logs = |name: &str, key_id: u32| {
        let named = origin == name
            || origin
                .strip_prefix(name)
                .is_some_and(|rest| rest.starts_with(" - "));
        let hinted = [
            hint_of(&log.log_id.key_id.0),
            hint_of(log.checkpoint_hint()),
            raw.and_then(|k| hint_of(&vouch_tlog::rekor::checkpoint_key_id(name, &k))),
        ]
        .contains(&Some(key_id));
        named && hinted
    };
    let mut found = false;
    for s in note
        .sigs
        .iter()
        .take(MAX_NOTE_SIGNATURES)
        .filter(|s| is_logs(&s.name, s.key_id))
    {
        found = true;
        if crate::x509::verify_spki_der(spki, note.text.as_bytes(), &s.sig).is_ok() {
            return Ok(());
        }
    }
    Err(if found {
        "has no valid signature by the log's key".into()
    } else {
        "has no signature line by the log (its name and key hint)".into()
    })
}

/// The raw 32-byte key of an Ed25519 SPKI.
fn ed25519_raw(spki: &[u8]) -> Option<[u8; 32]> {
    // SEQUENCE { SEQUENCE { OID 1.3.101.112 } BIT STRING 0x00 || key }: a fixed 12-byte prefix.
    const PREFIX: [u8; 12] = [
        0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00,
    ];
    let rest = spki.strip_prefix(&PREFIX)?;
    rest.try_into().ok()
}

fn hash_name(name: &str) -> Option<HashAlgorithm> {
    match name.to_ascii_lowercase().as_str() {
        "sha256" | "sha2_256" => Some(HashAlgorithm::Sha256),
        "sha384" | "sha2_384" => Some(HashAlgorithm::Sha384),
        "sha512" | "sha2_512" => Some(HashAlgorithm::Sha512),
        _ => None,
    }
}

/// A base64 field that decodes to `want`; Rekor's `intoto` 0.0.2 stores DSSE signatures
/// base64-encoded twice, so a second decoding is tried too.
fn same_b64(field: Option<&str>, want: &[u8]) -> bool {
    let Some(once) = field.and_then(b64::decode) else {
        return false;
    };
    once == want
        || std::str::from_utf8(&once)
            .ok()
            .and_then(b64::decode)
            .is_some_and(|twice| twice == want)
}

fn str_at<'v>(node: &'v Value, path: &str) -> Option<&'v str> {
    node.pointer(path).and_then(Value::as_str)
}

fn check_body(
    body: &[u8],
    kind: &str,
    api: &str,
    signer: &SignerMaterial<'_>,
    signed: &Signed<'_>,
) -> Result<(), Outcome> {
    let v: Value = serde_json::from_slice(body)
        .map_err(|e| tlog_fail(format!("the log entry body is not JSON: {e}")))?;
    if str_at(&v, "/kind") != Some(kind) || str_at(&v, "/apiVersion") != Some(api) {
        return Err(tlog_fail(
            "the log entry body's kind/version differ from the entry's kindVersion",
        ));
    }
    let pae_digest;
    match (kind, api, signed) {
        ("hashedrekord", "0.0.1", Signed::Blob { signature, .. }) => {
            let alg = str_at(&v, "/spec/data/hash/algorithm")
                .and_then(hash_name)
                .ok_or_else(|| tlog_fail("the log entry names no known artifact hash"))?;
            let digest = signed.digest(alg).ok_or_else(|| {
                tlog_fail(format!(
                    "the log entry hashes the artifact with {}, which the signature does not use",
                    alg.proto_name()
                ))
            })?;
            if str_at(&v, "/spec/data/hash/value") != Some(hex::encode(digest).as_str()) {
                return Err(tlog_fail("the log entry is for another artifact digest"));
            }
            if !same_b64(str_at(&v, "/spec/signature/content"), signature) {
                return Err(tlog_fail("the log entry records another signature"));
            }
            if !signer.same_pem(str_at(&v, "/spec/signature/publicKey/content")) {
                return Err(tlog_fail(
                    "the log entry records another certificate or key",
                ));
            }
            Ok(())
        }
        ("hashedrekord", "0.0.2", _) => {
            let Some(spec) = v.pointer("/spec/hashedRekordV002") else {
                return Err(tlog_fail("the log entry body has no hashedRekordV002 spec"));
            };
            let alg = str_at(spec, "/data/algorithm")
                .and_then(hash_name)
                .ok_or_else(|| tlog_fail("the log entry names no known digest algorithm"))?;
            let want: &[u8] = match signed {
                Signed::Blob { .. } => signed.digest(alg).ok_or_else(|| {
                    tlog_fail(format!(
                        "the log entry hashes the artifact with {}, which the signature does not use",
                        alg.proto_name()
                    ))
                })?,
                // Rekor v2 logs a DSSE envelope as a hashedrekord over its PAE.
                Signed::Dsse {
                    payload_type,
                    payload,
                    ..
                } => {
                    pae_digest = alg.hash(&crate::dsse::pae(payload_type, payload));
                    &pae_digest.value
                }
            };
            if str_at(spec, "/data/digest")
                .and_then(b64::decode)
                .as_deref()
                != Some(want)
            {
                return Err(tlog_fail("the log entry is for another artifact digest"));
            }
            if !same_b64(str_at(spec, "/signature/content"), signed.signature()) {
                return Err(tlog_fail("the log entry records another signature"));
            }
            if !signer.same_verifier(spec.pointer("/signature/verifier")) {
                return Err(tlog_fail(
                    "the log entry records another certificate or key",
                ));
            }
            Ok(())
        }
        (
            "dsse",
            "0.0.1",
            Signed::Dsse {
                payload, signature, ..
            },
        ) => {
            if str_at(&v, "/spec/payloadHash/algorithm") != Some("sha256")
                || str_at(&v, "/spec/payloadHash/value")
                    != Some(hex::encode(Sha256::digest(payload)).as_str())
            {
                return Err(tlog_fail("the log entry is for another DSSE payload"));
            }
            let ok = v
                .pointer("/spec/signatures")
                .and_then(Value::as_array)
                .is_some_and(|sigs| {
                    sigs.iter().any(|r| {
                        same_b64(str_at(r, "/signature"), signature)
                            && signer.same_pem(str_at(r, "/verifier"))
                    })
                });
            if ok {
                Ok(())
            } else {
                Err(tlog_fail(
                    "the log entry does not record this signature by this certificate or key",
                ))
            }
        }
        (
            "dsse",
            "0.0.2",
            Signed::Dsse {
                payload, signature, ..
            },
        ) => {
            let Some(spec) = v.pointer("/spec/dsseV002") else {
                return Err(tlog_fail("the log entry body has no dsseV002 spec"));
            };
            if str_at(spec, "/payloadHash/algorithm") != Some("SHA2_256")
                || str_at(spec, "/payloadHash/digest")
                    .and_then(b64::decode)
                    .as_deref()
                    != Some(Sha256::digest(payload).as_slice())
            {
                return Err(tlog_fail("the log entry is for another DSSE payload"));
            }
            let ok = spec
                .get("signatures")
                .and_then(Value::as_array)
                .is_some_and(|sigs| {
                    sigs.iter().any(|r| {
                        same_b64(str_at(r, "/content"), signature)
                            && signer.same_verifier(r.get("verifier"))
                    })
                });
            if ok {
                Ok(())
            } else {
                Err(tlog_fail(
                    "the log entry does not record this signature by this certificate or key",
                ))
            }
        }
        (
            "intoto",
            "0.0.2",
            Signed::Dsse {
                payload, signature, ..
            },
        ) => {
            let c = v
                .pointer("/spec/content")
                .ok_or_else(|| tlog_fail("the intoto log entry has no content"))?;
            if str_at(c, "/payloadHash/algorithm") != Some("sha256")
                || str_at(c, "/payloadHash/value")
                    != Some(hex::encode(Sha256::digest(payload)).as_str())
            {
                return Err(tlog_fail("the log entry is for another DSSE payload"));
            }
            let ok = c
                .pointer("/envelope/signatures")
                .and_then(Value::as_array)
                .is_some_and(|sigs| {
                    sigs.iter().any(|r| {
                        same_b64(str_at(r, "/sig"), signature)
                            && signer.same_pem(str_at(r, "/publicKey"))
                    })
                });
            if ok {
                Ok(())
            } else {
                Err(tlog_fail(
                    "the log entry does not record this signature by this certificate or key",
                ))
            }
        }
        (k, ver, Signed::Blob { .. }) => Err(tlog_fail(format!(
            "a blob signature needs a hashedrekord log entry, not {k}/{ver}"
        ))),
        (k, ver, Signed::Dsse { .. }) => Err(tlog_fail(format!(
            "an attestation needs a dsse, intoto or hashedrekord/0.0.2 log entry, not {k}/{ver}"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn log_with(spki: Vec<u8>, id: Vec<u8>, name: &str) -> TransparencyLogInstance {
        serde_json::from_value(serde_json::json!({
            "baseUrl": format!("https://{name}"),
            "hashAlgorithm": "SHA2_256",
            "publicKey": {"rawBytes": b64::encode(&spki), "keyDetails": "PKIX_ED25519"},
            "logId": {"keyId": b64::encode(&id)},
        }))
        .unwrap()
    }

    /// Witness cosignatures and the log's line in any position: the log's signature decides.
    #[test]
    fn checkpoint_signatures_by_the_log_verify_wherever_they_are() {
        use vouch_tlog::note::{ALG_ED25519, Signer};
        use vouch_tlog::rekor::{checkpoint_key_id, ed25519_spki};
        let text = "example.com/log\n1\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n";
        let log = Signer::generate("example.com/log", ALG_ED25519).unwrap();
        let pk = log.verifier().ed25519_public_key().unwrap();
        let (spki, id) = (ed25519_spki(&pk), checkpoint_key_id("example.com/log", &pk));
        let inst = log_with(spki, id.to_vec(), "example.com/log");
        let origin = "example.com/log";
        let signed = Note::parse(log.sign(text).unwrap().as_bytes()).unwrap();
        assert_eq!(verify_note(&signed, origin, &inst), Ok(()));

        let witness = Signer::generate("witness.example", ALG_ED25519).unwrap();
        let by_witness = Note::parse(witness.sign(text).unwrap().as_bytes()).unwrap();
        assert!(verify_note(&by_witness, origin, &inst).is_err());
        let mut both = by_witness.clone();
        both.sigs.extend(signed.sigs.clone());
        assert_eq!(verify_note(&both, origin, &inst), Ok(()));

        // The log's signature under another name is not the log's line.
        let mut renamed = signed.clone();
        renamed.sigs[0].name = "evil.example/log".into();
        assert!(verify_note(&renamed, origin, &inst).is_err());

        let mut altered = signed.clone();
        altered.text = altered.text.replace("\n1\n", "\n2\n");
        assert!(verify_note(&altered, origin, &inst).is_err());
    }

    proptest::proptest! {
        #[test]
        fn body_checks_never_panic(body in proptest::collection::vec(proptest::num::u8::ANY, 0..200)) {
            let signer = SignerMaterial { cert_der: None, spki: b"k" };
            let d = [HashAlgorithm::Sha256.hash(b"x")];
            for (k, v) in [("hashedrekord", "0.0.1"), ("hashedrekord", "0.0.2"), ("dsse", "0.0.1"), ("dsse", "0.0.2"), ("intoto", "0.0.2")] {
                let _ = check_body(&body, k, v, &signer, &Signed::Blob { digests: &d, signature: b"s" });
                let _ = check_body(&body, k, v, &signer, &Signed::Dsse { payload_type: "t", payload: b"p", signature: b"s" });
            }
        }
    }
}
