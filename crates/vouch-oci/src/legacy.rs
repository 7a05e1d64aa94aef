//! cosign v2's legacy storage, read only: signatures under the tag `sha256-<hex>.sig` and
//! attestations under `sha256-<hex>.att`, one image manifest each whose layers are the
//! signed payloads, with the signature and its verification material in layer annotations:
//!
//! - `dev.cosignproject.cosign/signature`: base64 signature over the layer's bytes
//!   (empty for `.att`, whose layer is a DSSE envelope carrying its own signature);
//! - `dev.sigstore.cosign/certificate`, `dev.sigstore.cosign/chain`: PEM, keyless signers;
//! - `dev.sigstore.cosign/bundle`: the Rekor v1 "bundle" (`SignedEntryTimestamp` and the
//!   entry's `body`, `integratedTime`, `logIndex`, `logID`).
//!
//! Each layer becomes a Sigstore bundle v0.1 (a message signature over the simple-signing
//! payload, or the DSSE envelope; the certificate chain or a key; the Rekor entry with its
//! SET), so vouch-attest's one verifier judges it like any other bundle. Writing this format
//! is deliberately not supported: cosign v3 reads referrers, and two formats to keep
//! consistent would be one too many. Nothing here decides trust; a malformed annotation
//! makes that layer's evidence unusable (a failed verification), never a panic.

use std::collections::BTreeMap;

use serde_json::Value;
use vouch_attest::b64::{self, Bytes, Int64};
use vouch_attest::bundle::{
    Bundle, HashOutput, InclusionPromise, KindVersion, LogId, MessageSignature,
    PublicKeyIdentifier, TransparencyLogEntry, VerificationMaterial, X509Certificate,
    X509CertificateChain,
};
use vouch_attest::dsse::Envelope;

use crate::OciError;
use crate::digest::Digest;
use crate::image;
use crate::manifest::{Descriptor, Manifest};
use crate::reference::Reference;
use crate::registry::{Registry, RegistryError};

/// Simple-signing payload media type.
pub const SIMPLESIGNING: &str = "application/vnd.dev.cosign.simplesigning.v1+json";
/// DSSE envelope layer media type (`.att`).
pub const DSSE_LAYER: &str = "application/vnd.dsse.envelope.v1+json";
/// Signature annotation.
pub const SIGNATURE: &str = "dev.cosignproject.cosign/signature";
/// Certificate annotation.
pub const CERTIFICATE: &str = "dev.sigstore.cosign/certificate";
/// Chain annotation.
pub const CHAIN: &str = "dev.sigstore.cosign/chain";
/// Rekor bundle annotation.
pub const REKOR_BUNDLE: &str = "dev.sigstore.cosign/bundle";
/// The `critical.type` of a cosign image signature.
pub const SIGNATURE_TYPE: &str = "cosign container image signature";
const MAX_PAYLOAD: u64 = 16 * 1024 * 1024;

/// Which legacy tag.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// `.sig`: simple-signing payloads.
    Signature,
    /// `.att`: DSSE envelopes.
    Attestation,
}

impl Kind {
    /// The tag suffix.
    pub fn suffix(self) -> &'static str {
        match self {
            Kind::Signature => "sig",
            Kind::Attestation => "att",
        }
    }
}

/// One legacy layer turned into a bundle (or why it cannot be used).
#[derive(Debug, Clone)]
pub struct LegacyEvidence {
    /// The layer's digest.
    pub layer: String,
    /// The signed bytes (the simple-signing payload; for `.att`, the envelope).
    pub payload: Vec<u8>,
    /// The bundle, or why the annotations are unusable.
    pub bundle: Result<Bundle, String>,
}

/// The layers under `sha256-<hex>.<sig|att>`, each digest-checked; empty when the tag does
/// not exist.
pub fn read(
    registry: &dyn Registry,
    repo: &Reference,
    digest: &Digest,
    kind: Kind,
) -> Result<Vec<LegacyEvidence>, OciError> {
    let tag = format!("{}.{}", digest.tag(), kind.suffix());
    let raw = match registry.get_manifest(repo, &tag) {
        Ok(r) => r,
        Err(RegistryError::NotFound(_)) => return Ok(Vec::new()),
        Err(e) => return Err(OciError::registry(format!("{}:{tag}", repo.name()), e)),
    };
    let manifest = Manifest::parse(&raw.bytes, raw.content_type.as_deref())
        .map_err(|e| OciError::Integrity(format!("{}:{tag}: {e}", repo.name())))?;
    let Manifest::Image(m) = manifest else {
        return Err(OciError::Integrity(format!(
            "{}:{tag} is an index",
            repo.name()
        )));
    };
    let mut out = Vec::new();
    for layer in &m.layers {
        let wanted = match kind {
            Kind::Signature => SIMPLESIGNING,
            Kind::Attestation => DSSE_LAYER,
        };
        if layer.media_type != wanted {
            continue;
        }
        let payload = image::fetch_small_blob(registry, repo, layer, MAX_PAYLOAD)?;
        let bundle = to_bundle(layer, &payload, kind);
        out.push(LegacyEvidence {
            layer: layer.digest.clone(),
            payload,
            bundle,
        });
    }
    Ok(out)
}

/// Whether a simple-signing payload is a cosign signature of `digest`.
pub fn payload_names(payload: &[u8], digest: &Digest) -> Result<(), String> {
    let v: Value = serde_json::from_slice(payload)
        .map_err(|e| format!("the simple-signing payload is not JSON: {e}"))?;
    let critical = v
        .get("critical")
        .ok_or("the payload has no `critical` section")?;
    let ty = critical.get("type").and_then(Value::as_str).unwrap_or("");
    if ty != SIGNATURE_TYPE {
        return Err(format!(
            "the payload's critical.type is `{ty}`, not `{SIGNATURE_TYPE}`"
        ));
    }
    let named = critical
        .get("image")
        .and_then(Value::as_object)
        .and_then(|o| {
            o.iter()
                .find(|(k, _)| k.eq_ignore_ascii_case("docker-manifest-digest"))
                .and_then(|(_, v)| v.as_str())
        })
        .ok_or("the payload names no critical.image.docker-manifest-digest")?;
    if named != digest.as_str() {
        return Err(format!("the payload signs {named}, not {digest}"));
    }
    Ok(())
}

/// DER certificates from PEM text.
fn pem_certificates(pem: &str) -> Result<Vec<Vec<u8>>, String> {
    const BEGIN: &str = "-----BEGIN CERTIFICATE-----";
    const END: &str = "-----END CERTIFICATE-----";
    let mut out = Vec::new();
    let mut rest = pem;
    while let Some(start) = rest.find(BEGIN) {
        let after = &rest[start + BEGIN.len()..];
        let end = after.find(END).ok_or("a PEM certificate has no END line")?;
        let body: String = after[..end]
            .chars()
            .filter(|c| !c.is_whitespace())
            .collect();
        out.push(b64::decode(&body).ok_or("a PEM certificate is not base64")?);
        rest = &after[end + END.len()..];
    }
    if out.is_empty() {
        return Err("no PEM certificate".into());
    }
    Ok(out)
}

/// The Rekor v1 bundle annotation as a bundle log entry (SET, no inclusion proof).
fn rekor_entry(text: &str) -> Result<TransparencyLogEntry, String> {
    let v: Value =
        serde_json::from_str(text).map_err(|e| format!("the Rekor bundle is not JSON: {e}"))?;
    let set = v
        .get("SignedEntryTimestamp")
        .and_then(Value::as_str)
        .and_then(b64::decode)
        .ok_or("the Rekor bundle has no base64 SignedEntryTimestamp")?;
    let p = v.get("Payload").ok_or("the Rekor bundle has no Payload")?;
    let body = p
        .get("body")
        .and_then(Value::as_str)
        .and_then(b64::decode)
        .ok_or("the Rekor bundle's body is not base64")?;
    let int = |k: &str| {
        p.get(k)
            .and_then(Value::as_i64)
            .ok_or(format!("the Rekor bundle has no {k}"))
    };
    let log_id = p
        .get("logID")
        .and_then(Value::as_str)
        .and_then(|h| hex::decode(h).ok())
        .ok_or("the Rekor bundle's logID is not hex")?;
    let entry: Value = serde_json::from_slice(&body)
        .map_err(|e| format!("the Rekor entry body is not JSON: {e}"))?;
    let kind = entry
        .get("kind")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let version = entry
        .get("apiVersion")
        .and_then(Value::as_str)
        .unwrap_or_default();
    Ok(TransparencyLogEntry {
        log_index: Int64(int("logIndex")?),
        log_id: LogId {
            key_id: Bytes(log_id),
        },
        kind_version: KindVersion {
            kind: kind.to_string(),
            version: version.to_string(),
        },
        integrated_time: Int64(int("integratedTime")?),
        inclusion_promise: Some(InclusionPromise {
            signed_entry_timestamp: Bytes(set),
        }),
        inclusion_proof: None,
        canonicalized_body: Bytes(body),
    })
}

fn to_bundle(layer: &Descriptor, payload: &[u8], kind: Kind) -> Result<Bundle, String> {
    let ann: &BTreeMap<String, String> = &layer.annotations;
    let mut material = VerificationMaterial {
        public_key: None,
        certificate: None,
        x509_certificate_chain: None,
        tlog_entries: Vec::new(),
        timestamp_verification_data: None,
    };
    match ann.get(CERTIFICATE).filter(|c| !c.trim().is_empty()) {
        Some(cert) => {
            let mut chain = pem_certificates(cert)?;
            if let Some(rest) = ann.get(CHAIN).filter(|c| !c.trim().is_empty()) {
                chain.extend(pem_certificates(rest)?);
            }
            material.x509_certificate_chain = Some(X509CertificateChain {
                certificates: chain
                    .into_iter()
                    .map(|der| X509Certificate {
                        raw_bytes: Bytes(der),
                    })
                    .collect(),
            });
        }
        None => {
            material.public_key = Some(PublicKeyIdentifier {
                hint: String::new(),
            })
        }
    }
    if let Some(rekor) = ann.get(REKOR_BUNDLE) {
        material.tlog_entries.push(rekor_entry(rekor)?);
    }
    let mut bundle = Bundle {
        media_type: "application/vnd.dev.sigstore.bundle+json;version=0.1".to_string(),
        verification_material: material,
        message_signature: None,
        dsse_envelope: None,
    };
    match kind {
        Kind::Signature => {
            let sig = ann
                .get(SIGNATURE)
                .and_then(|s| b64::decode(s.trim()))
                .ok_or("the layer's signature annotation is missing or not base64")?;
            let digest = Digest::of(payload);
            bundle.message_signature = Some(MessageSignature {
                message_digest: Some(HashOutput {
                    algorithm: "SHA2_256".to_string(),
                    digest: Bytes(hex::decode(digest.hex()).unwrap_or_default()),
                }),
                signature: Bytes(sig),
            });
        }
        Kind::Attestation => {
            let env = Envelope::from_json(payload)
                .map_err(|e| format!("the layer is not a DSSE envelope: {e}"))?;
            bundle.dsse_envelope = Some(env);
        }
    }
    Ok(bundle)
}
