//! Keyless (certificate) verification of Sigstore bundles, offline, against a
//! [`TrustedRoot`] the user supplies.
//!
//! The checks are the ones sigstore-python 4.5.1 and cosign make for a Fulcio certificate
//! and a Rekor v1 entry:
//!
//! 1. exactly one transparency-log entry (`hashedrekord` or `dsse` 0.0.1) from a log listed
//!    in `tlogs`; its `integratedTime` is the verified time;
//! 2. the leaf chains to a `certificateAuthorities[].certChain` (root last) valid at that
//!    time; leaf and CAs are valid at that time; the leaf has KeyUsage digitalSignature
//!    and EKU codeSigning;
//! 3. exactly one embedded precertificate SCT, signed by a `ctlogs` key;
//! 4. a subject alternative name and the OIDC issuer match one trusted [`Identity`];
//! 5. (in [`crate::verify`]) the artifact or DSSE signature verifies with the leaf's key;
//! 6. the log entry: the SET (RFC 8785 JSON `{body,integratedTime,logID,logIndex}` signed
//!    by the log) is required, since it is what makes `integratedTime` trustworthy (RFC 3161
//!    timestamps are not supported yet); for bundles v0.2 and later the inclusion proof is
//!    required too: the RFC 6962 audit path must lead to `rootHash`, and the checkpoint (a
//!    C2SP signed note) must be signed by the log and name that root and size; the entry
//!    body must describe this signature, this certificate and this artifact/payload.
//!
//! Each failure maps to its own [`Outcome`]: an untrusted certificate, an identity mismatch,
//! a transparency-log problem, or (step 5) no valid signature.

// A failed check returns the final `Outcome` directly; it is the cold path, taken once.
#![allow(clippy::result_large_err)]

use sha2::{Digest, Sha256};
use vouch_tlog::checkpoint::Checkpoint as CheckpointBody;
use vouch_tlog::merkle;
use vouch_tlog::note::Note;

use crate::b64;
use crate::bundle::{Bundle, BundleVersion, TransparencyLogEntry};
use crate::trusted_root::{TimeRange, TrustedRoot};
use crate::verify::{Identity, Outcome};
use crate::x509::Cert;

/// A certificate that passed steps 1–4.
#[derive(Debug, Clone)]
pub(crate) struct Leaf {
    pub cert: Cert,
    pub key: vouch_crypto::keys::PublicKey,
    /// Index into the policy's identities.
    pub identity: usize,
    /// The SAN that matched.
    pub subject: String,
    /// The OIDC issuer in the certificate.
    pub issuer: String,
}

/// What the log entry must describe (step 6).
pub(crate) enum Signed<'a> {
    /// `hashedrekord`: the artifact digest and the signature.
    Blob {
        sha256: &'a [u8],
        signature: &'a [u8],
    },
    /// `dsse`: the payload and the envelope's signature(s).
    Dsse {
        payload: &'a [u8],
        signatures: Vec<&'a [u8]>,
    },
}

fn untrusted(reason: impl Into<String>) -> Outcome {
    Outcome::UntrustedCertificate {
        reason: reason.into(),
    }
}

pub(crate) fn tlog_fail(reason: impl Into<String>) -> Outcome {
    Outcome::TransparencyLog {
        reason: reason.into(),
    }
}

fn entry(bundle: &Bundle) -> Result<&TransparencyLogEntry, Outcome> {
    match bundle.verification_material.tlog_entries.as_slice() {
        [e] => Ok(e),
        [] => Err(tlog_fail(
            "the bundle has no transparency-log entry (a keyless bundle needs exactly one)",
        )),
        more => Err(tlog_fail(format!(
            "the bundle has {} transparency-log entries; exactly one is expected",
            more.len()
        ))),
    }
}

/// Steps 1–4.
pub(crate) fn check_certificate(
    bundle: &Bundle,
    root: &TrustedRoot,
    identities: &[Identity],
) -> Result<Leaf, Outcome> {
    let vm = &bundle.verification_material;
    let leaf_der = match (&vm.certificate, &vm.x509_certificate_chain) {
        (Some(c), _) => &c.raw_bytes.0,
        (None, Some(chain)) => match chain.certificates.first() {
            Some(c) => &c.raw_bytes.0,
            None => return Err(untrusted("the certificate chain in the bundle is empty")),
        },
        (None, None) => return Err(untrusted("the bundle carries no certificate")),
    };
    let leaf = Cert::from_der(leaf_der).map_err(untrusted)?;
    let e = entry(bundle)?;
    let time = e.integrated_time.0;
    if time <= 0 {
        return Err(tlog_fail("the log entry has no integratedTime"));
    }
    let when = jiff::Timestamp::from_second(time)
        .map_err(|_| tlog_fail(format!("integratedTime {time} is out of range")))?;
    if !leaf.valid_at(time) {
        return Err(untrusted(format!(
            "the certificate was not valid at the log's integrated time {when}"
        )));
    }
    leaf.check_code_signing()
        .map_err(|r| untrusted(format!("the certificate is not for code signing: {r}")))?;

    // Step 2: the chain.
    let mut reasons = Vec::new();
    let mut issuer: Option<Cert> = None;
    for (i, ca) in root.certificate_authorities.iter().enumerate() {
        if !TimeRange::contains(ca.valid_for.as_ref(), when) {
            reasons.push(format!("CA {i} is not valid at {when}"));
            continue;
        }
        match chain_to(&leaf, ca, time) {
            Ok(first) => {
                issuer = Some(first);
                break;
            }
            Err(r) => reasons.push(format!("CA {i}: {r}")),
        }
    }
    let Some(issuer) = issuer else {
        return Err(untrusted(format!(
            "the certificate does not chain to a CA in the trusted root ({})",
            reasons.join("; ")
        )));
    };

    // Step 3: the SCT.
    check_sct(&leaf, &issuer, root)?;

    // Step 4: the identity.
    let sans = leaf.identities();
    let cert_issuer = leaf.oidc_issuer();
    let matched = identities.iter().enumerate().find_map(|(i, id)| {
        let iss = cert_issuer.as_deref().filter(|s| id.issuer.matches(s))?;
        let san = sans.iter().find(|s| id.subject.matches(s))?;
        Some((i, san.clone(), iss.to_string()))
    });
    let Some((identity, subject, issuer_name)) = matched else {
        return Err(Outcome::IdentityMismatch {
            subjects: sans,
            issuer: cert_issuer,
        });
    };
    let spki = leaf.spki_der().map_err(untrusted)?;
    let key = vouch_crypto::keys::PublicKey::from_spki_der(&spki)
        .map_err(|e| untrusted(format!("the certificate's key is not usable: {e}")))?;
    Ok(Leaf {
        cert: leaf,
        key,
        identity,
        subject,
        issuer: issuer_name,
    })
}

/// Chains `leaf` through one CA's certificates; returns the leaf's issuer.
fn chain_to(
    leaf: &Cert,
    ca: &crate::trusted_root::CertificateAuthority,
    time: i64,
) -> Result<Cert, String> {
    let certs: Vec<Cert> = ca
        .cert_chain
        .certificates
        .iter()
        .map(|c| Cert::from_der(&c.raw_bytes.0))
        .collect::<Result<_, _>>()?;
    let Some(first) = certs.first() else {
        return Err("empty chain".into());
    };
    leaf.issued_by(first)?;
    for (i, c) in certs.iter().enumerate() {
        if !c.valid_at(time) {
            return Err(format!("`{}` is not valid at that time", c.subject()));
        }
        if !c.is_ca() {
            return Err(format!("`{}` is not a CA certificate", c.subject()));
        }
        if let Some(parent) = certs.get(i + 1) {
            c.issued_by(parent)?;
        }
    }
    Ok(first.clone())
}

fn check_sct(leaf: &Cert, issuer: &Cert, root: &TrustedRoot) -> Result<(), Outcome> {
    let scts = leaf
        .embedded_scts()
        .map_err(|r| untrusted(format!("the certificate's SCT list is unreadable: {r}")))?;
    let [sct] = scts.as_slice() else {
        return Err(untrusted(format!(
            "the certificate carries {} embedded SCTs; exactly one is expected",
            scts.len()
        )));
    };
    let Some(log) = root.ctlog(&sct.log_id) else {
        return Err(untrusted(
            "the certificate's SCT is from a CT log not in the trusted root",
        ));
    };
    let when = jiff::Timestamp::from_millisecond(i64::try_from(sct.timestamp).unwrap_or(i64::MAX))
        .map_err(|_| untrusted("the SCT timestamp is out of range"))?;
    if !TimeRange::contains(log.public_key.valid_for.as_ref(), when) {
        return Err(untrusted(
            "the SCT was made outside the CT log key's validity",
        ));
    }
    if sct.hash_alg != 4 {
        return Err(untrusted("the SCT is not signed with SHA-256"));
    }
    let issuer_key_hash = Sha256::digest(issuer.spki_der().map_err(untrusted)?);
    let tbs = leaf.precert_tbs().map_err(untrusted)?;
    let data = sct.signed_data(&issuer_key_hash, &tbs);
    crate::x509::verify_spki_der(&log.public_key.raw_bytes.0, &data, &sct.signature)
        .map_err(|r| untrusted(format!("the certificate's SCT {r}")))
}

/// Step 6.
pub(crate) fn check_tlog(
    bundle: &Bundle,
    root: &TrustedRoot,
    leaf: &Leaf,
    signed: Signed<'_>,
) -> Result<(), Outcome> {
    let e = entry(bundle)?;
    let Some(log) = root.tlog(&e.log_id.key_id.0) else {
        return Err(tlog_fail(
            "the log entry is from a transparency log not in the trusted root",
        ));
    };
    let time = e.integrated_time.0;
    let when = jiff::Timestamp::from_second(time)
        .map_err(|_| tlog_fail(format!("integratedTime {time} is out of range")))?;
    if !TimeRange::contains(log.public_key.valid_for.as_ref(), when) {
        return Err(tlog_fail(
            "the entry was integrated outside the log key's validity",
        ));
    }
    let key = &log.public_key.raw_bytes.0;
    let body = &e.canonicalized_body.0;

    // The SET: the only source of a verified time we support.
    let Some(promise) = &e.inclusion_promise else {
        return Err(tlog_fail(
            "the log entry has no inclusion promise (SET) and the bundle no signed timestamp: nothing vouches for the signing time",
        ));
    };
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

    // The inclusion proof and its checkpoint.
    match &e.inclusion_proof {
        None if bundle.version() >= Some(BundleVersion::V02) => {
            return Err(tlog_fail(
                "the log entry has no inclusion proof (required from bundle v0.2 on)",
            ));
        }
        None => {}
        Some(_) => check_inclusion(
            e,
            &LogKey {
                hint: &e.log_id.key_id.0,
                spki: key,
                name: None,
            },
        )?,
    }

    check_body(
        body,
        &e.kind_version.kind,
        &e.kind_version.version,
        leaf,
        signed,
    )
}

/// Which signature on a checkpoint speaks for the log: the trusted root's key (SPKI DER) and
/// the 4-byte key hint it signs under, and for Rekor v2 logs also the signer name.
pub(crate) struct LogKey<'a> {
    /// First 4 bytes of the log ID (Rekor v1) or of the C2SP checkpoint key ID (v2).
    pub hint: &'a [u8],
    pub spki: &'a [u8],
    /// The name the signature line must carry. sigstore-go and sigstore-js both match it
    /// against the log's `baseUrl` for Rekor v2 (the C2SP key ID hashes the name, so a
    /// signature under another name is by another note key). `None` for Rekor v1, where
    /// sigstore-python checks only the hint.
    pub name: Option<&'a str>,
}

/// The entry's inclusion proof leads to its root hash, and its checkpoint carries a signature
/// by `log` that verifies and commits to the same tree size and root.
///
/// The Merkle and signed-note code is vouch-tlog's, the one the log itself uses; only the
/// signature check is here, since Sigstore names log keys by SPKI (ECDSA or Ed25519) rather
/// than by C2SP verifier key.
pub(crate) fn check_inclusion(e: &TransparencyLogEntry, log: &LogKey<'_>) -> Result<(), Outcome> {
    let Some(p) = &e.inclusion_proof else {
        return Err(tlog_fail("the log entry has no inclusion proof"));
    };
    if p.log_index.0 != e.log_index.0 {
        return Err(tlog_fail("the inclusion proof is for another log index"));
    }
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
    let note = Note::parse(p.checkpoint.envelope.as_bytes())
        .map_err(|r| tlog_fail(format!("the checkpoint is unreadable: {r}")))?;
    let cp = CheckpointBody::parse_body(&note.text)
        .map_err(|r| tlog_fail(format!("the checkpoint is unreadable: {r}")))?;
    verify_note(&note, log).map_err(|r| tlog_fail(format!("the checkpoint {r}")))?;
    if cp.size != size || cp.root != p.root_hash.0 {
        return Err(tlog_fail(
            "the checkpoint does not commit to the proof's tree size and root hash",
        ));
    }
    Ok(())
}

/// A signature with the log's key hint (and name, when given) must verify over the note text.
fn verify_note(note: &Note, log: &LogKey<'_>) -> Result<(), String> {
    let hint = match log.hint {
        [a, b, c, d, ..] => u32::from_be_bytes([*a, *b, *c, *d]),
        _ => return Err("cannot be matched: the log's key id is shorter than 4 bytes".into()),
    };
    let mut other_name = None;
    let mut found = false;
    for s in note.sigs.iter().filter(|s| s.key_id == hint) {
        if log.name.is_some_and(|n| n != s.name) {
            other_name = Some(&s.name);
            continue;
        }
        found = true;
        if crate::x509::verify_spki_der(log.spki, note.text.as_bytes(), &s.sig).is_ok() {
            return Ok(());
        }
    }
    Err(match (found, other_name, log.name) {
        (true, _, _) => "signature by the log does not verify".into(),
        (false, Some(got), Some(want)) => format!(
            "is signed with the log's key hint under the name `{got}`, but the trusted root names the log `{want}`"
        ),
        _ => "has no signature by the log".into(),
    })
}

fn check_body(
    body: &[u8],
    kind: &str,
    version: &str,
    leaf: &Leaf,
    signed: Signed<'_>,
) -> Result<(), Outcome> {
    let v: serde_json::Value = serde_json::from_slice(body)
        .map_err(|e| tlog_fail(format!("the log entry body is not JSON: {e}")))?;
    let str_at = |path: &str| v.pointer(path).and_then(|x| x.as_str());
    let same_cert = |b64_pem: Option<&str>| {
        b64_pem
            .and_then(b64::decode)
            .and_then(|pem| String::from_utf8(pem).ok())
            .and_then(|pem| vouch_crypto::keys::decode_pem(&pem).ok())
            .is_some_and(|(_, der)| der == leaf.cert.der)
    };
    if str_at("/kind") != Some(kind) || str_at("/apiVersion") != Some(version) {
        return Err(tlog_fail(
            "the log entry body's kind/version differ from the entry's kindVersion",
        ));
    }
    match (kind, version, signed) {
        ("hashedrekord", "0.0.1", Signed::Blob { sha256, signature }) => {
            if str_at("/spec/data/hash/algorithm") != Some("sha256")
                || str_at("/spec/data/hash/value") != Some(hex::encode(sha256).as_str())
            {
                return Err(tlog_fail("the log entry is for another artifact digest"));
            }
            if str_at("/spec/signature/content")
                .and_then(b64::decode)
                .as_deref()
                != Some(signature)
            {
                return Err(tlog_fail("the log entry records another signature"));
            }
            if !same_cert(str_at("/spec/signature/publicKey/content")) {
                return Err(tlog_fail("the log entry records another certificate"));
            }
            Ok(())
        }
        (
            "dsse",
            "0.0.1",
            Signed::Dsse {
                payload,
                signatures,
            },
        ) => {
            if str_at("/spec/payloadHash/algorithm") != Some("sha256")
                || str_at("/spec/payloadHash/value")
                    != Some(hex::encode(Sha256::digest(payload)).as_str())
            {
                return Err(tlog_fail("the log entry is for another DSSE payload"));
            }
            let recorded = v
                .pointer("/spec/signatures")
                .and_then(|s| s.as_array())
                .cloned()
                .unwrap_or_default();
            let ok = signatures.iter().all(|sig| {
                recorded.iter().any(|r| {
                    r.get("signature")
                        .and_then(|s| s.as_str())
                        .and_then(b64::decode)
                        .as_deref()
                        == Some(*sig)
                        && same_cert(r.get("verifier").and_then(|s| s.as_str()))
                })
            });
            if !ok || signatures.is_empty() {
                return Err(tlog_fail(
                    "the log entry does not record this signature by this certificate",
                ));
            }
            Ok(())
        }
        (k, ver, Signed::Blob { .. }) => Err(tlog_fail(format!(
            "a blob signature needs a hashedrekord/0.0.1 log entry, not {k}/{ver}"
        ))),
        (k, ver, Signed::Dsse { .. }) => Err(tlog_fail(format!(
            "an attestation needs a dsse/0.0.1 log entry, not {k}/{ver}"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry_with(envelope: &str, hashes: usize, index: i64, size: i64) -> TransparencyLogEntry {
        let zero = b64::encode(&[0u8; 32]);
        serde_json::from_value(serde_json::json!({
            "logIndex": index.to_string(), "logId": {"keyId": ""},
            "kindVersion": {"kind": "k", "version": "v"},
            "integratedTime": "0", "canonicalizedBody": "",
            "inclusionProof": {
                "logIndex": index.to_string(), "rootHash": zero, "treeSize": size.to_string(),
                "hashes": vec![zero.clone(); hashes], "checkpoint": {"envelope": envelope},
            },
        }))
        .unwrap()
    }

    /// Each way a checkpoint can fail to speak for the log has its own reason.
    #[test]
    fn checkpoint_signatures_must_be_by_the_logs_key_under_its_name() {
        use vouch_tlog::note::{ALG_ED25519, Signer};
        use vouch_tlog::rekor::{checkpoint_key_id, ed25519_spki};
        let text = "example.com/log\n1\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n";
        let log = Signer::generate("example.com/log", ALG_ED25519).unwrap();
        let pk = log.verifier().ed25519_public_key().unwrap();
        let (spki, id) = (ed25519_spki(&pk), checkpoint_key_id("example.com/log", &pk));
        let key = |name| LogKey {
            hint: &id,
            spki: &spki,
            name,
        };
        let signed = Note::parse(log.sign(text).unwrap().as_bytes()).unwrap();
        assert_eq!(verify_note(&signed, &key(Some("example.com/log"))), Ok(()));
        // Rekor v1 matching (hint only) accepts it too.
        assert_eq!(verify_note(&signed, &key(None)), Ok(()));

        let other = Signer::generate("example.com/log", ALG_ED25519).unwrap();
        let by_other = Note::parse(other.sign(text).unwrap().as_bytes()).unwrap();
        assert_eq!(
            verify_note(&by_other, &key(Some("example.com/log"))).unwrap_err(),
            "has no signature by the log"
        );

        let mut renamed = signed.clone();
        renamed.sigs[0].name = "evil.example/log".into();
        assert!(
            verify_note(&renamed, &key(Some("example.com/log")))
                .unwrap_err()
                .contains("under the name `evil.example/log`")
        );

        let mut altered = signed.clone();
        altered.text = altered.text.replace("\n1\n", "\n2\n");
        assert_eq!(
            verify_note(&altered, &key(Some("example.com/log"))).unwrap_err(),
            "signature by the log does not verify"
        );
    }

    proptest::proptest! {
        #[test]
        fn inclusion_check_never_panics(
            env in "(.|\n){0,120}", i in -3i64..40, n in -3i64..40, k in 0usize..8,
        ) {
            let log = LogKey { hint: &[1, 2, 3, 4], spki: b"", name: Some("x") };
            let _ = check_inclusion(&entry_with(&env, k, i, n), &log);
        }
    }
}
