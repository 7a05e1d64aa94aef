//! Sigstore bundles in the protobuf-specs proto3 JSON mapping.
//!
//! We write `application/vnd.dev.sigstore.bundle.v0.3+json` and read v0.1, v0.2 and v0.3
//! (both media-type spellings). Field names are lowerCamelCase, `bytes` standard base64,
//! `int64` decimal strings, enums by name, and `verificationMaterial.tlogEntries` is always
//! written (empty for key-signed bundles: `@sigstore/verify` and sigstore-go require it).
//!
//! Why our own types rather than `sigstore_protobuf_specs`: we need byte-exact, deterministic
//! output with a fixed field order and strict reading with positions for error messages; the
//! types are ~150 lines and follow `sigstore_bundle.proto` and `sigstore_rekor.proto` field
//! for field. Unknown fields are rejected, as sigstore-go's protojson does.
//!
//! Transparency-log entries are modelled in full (inclusion promise, inclusion proof with
//! checkpoint, canonicalized body) so `vouch-tlog` can fill and check them; this crate does
//! not verify them.

use serde::{Deserialize, Serialize};

use crate::b64::{Bytes, Int64};
use crate::dsse::Envelope;
use crate::error::AttestError;

/// The media type written.
pub const MEDIA_TYPE_V03: &str = "application/vnd.dev.sigstore.bundle.v0.3+json";

/// Bundle format versions we read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum BundleVersion {
    /// v0.1
    V01,
    /// v0.2
    V02,
    /// v0.3
    V03,
}

impl BundleVersion {
    /// Recognises a bundle media type.
    pub fn from_media_type(m: &str) -> Option<Self> {
        match m {
            "application/vnd.dev.sigstore.bundle+json;version=0.1" => Some(BundleVersion::V01),
            "application/vnd.dev.sigstore.bundle+json;version=0.2" => Some(BundleVersion::V02),
            "application/vnd.dev.sigstore.bundle+json;version=0.3" | MEDIA_TYPE_V03 => {
                Some(BundleVersion::V03)
            }
            _ => None,
        }
    }
}

/// A Sigstore bundle.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Bundle {
    /// The media type with the version.
    #[serde(alias = "media_type")]
    pub media_type: String,
    /// Keys, certificates, log entries, timestamps.
    #[serde(alias = "verification_material")]
    pub verification_material: VerificationMaterial,
    /// A signature over an artifact (sign-blob).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[serde(alias = "message_signature")]
    pub message_signature: Option<MessageSignature>,
    /// A DSSE envelope (attestations).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[serde(alias = "dsse_envelope")]
    pub dsse_envelope: Option<Envelope>,
}

/// `VerificationMaterial`: exactly one of the key identifiers, plus log entries.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct VerificationMaterial {
    /// A public key named by its hint.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[serde(alias = "public_key")]
    pub public_key: Option<PublicKeyIdentifier>,
    /// A leaf certificate (v0.3).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub certificate: Option<X509Certificate>,
    /// A certificate chain, leaf first (v0.1/v0.2).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[serde(alias = "x509_certificate_chain")]
    pub x509_certificate_chain: Option<X509CertificateChain>,
    /// Transparency-log entries (always written, possibly empty).
    #[serde(default)]
    #[serde(alias = "tlog_entries")]
    pub tlog_entries: Vec<TransparencyLogEntry>,
    /// RFC 3161 timestamps.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[serde(alias = "timestamp_verification_data")]
    pub timestamp_verification_data: Option<TimestampVerificationData>,
}

/// `PublicKeyIdentifier`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PublicKeyIdentifier {
    /// base64(SHA-256(SPKI DER)) for keys vouch writes; free-form in general.
    #[serde(default)]
    pub hint: String,
}

/// `X509Certificate`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct X509Certificate {
    /// DER.
    #[serde(alias = "raw_bytes")]
    pub raw_bytes: Bytes,
}

/// `X509CertificateChain`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct X509CertificateChain {
    /// Leaf first.
    #[serde(default)]
    pub certificates: Vec<X509Certificate>,
}

/// `TimestampVerificationData`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TimestampVerificationData {
    /// RFC 3161 signed timestamps.
    #[serde(default)]
    #[serde(alias = "rfc3161_timestamps")]
    pub rfc3161_timestamps: Vec<Rfc3161Timestamp>,
}

/// `RFC3161SignedTimestamp`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Rfc3161Timestamp {
    /// DER TimeStampResponse.
    #[serde(alias = "signed_timestamp")]
    pub signed_timestamp: Bytes,
}

/// `TransparencyLogEntry` (sigstore_rekor.proto).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TransparencyLogEntry {
    /// Index in the log.
    #[serde(alias = "log_index")]
    pub log_index: Int64,
    /// The log's key id.
    #[serde(alias = "log_id")]
    pub log_id: LogId,
    /// Entry kind and version (`hashedrekord`/`0.0.1`, `dsse`/`0.0.1`).
    #[serde(alias = "kind_version")]
    pub kind_version: KindVersion,
    /// Seconds since the epoch when the log integrated the entry.
    #[serde(default)]
    #[serde(alias = "integrated_time")]
    pub integrated_time: Int64,
    /// Signed entry timestamp (Rekor v1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[serde(alias = "inclusion_promise")]
    pub inclusion_promise: Option<InclusionPromise>,
    /// Merkle inclusion proof with a checkpoint.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[serde(alias = "inclusion_proof")]
    pub inclusion_proof: Option<InclusionProof>,
    /// The canonicalized log entry body.
    #[serde(default)]
    #[serde(alias = "canonicalized_body")]
    pub canonicalized_body: Bytes,
}

/// `LogId`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct LogId {
    /// SHA-256 of the log's SPKI DER.
    #[serde(alias = "key_id")]
    pub key_id: Bytes,
}

/// `KindVersion`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct KindVersion {
    /// Entry kind.
    pub kind: String,
    /// Entry version.
    pub version: String,
}

/// `InclusionPromise`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct InclusionPromise {
    /// The SET.
    #[serde(alias = "signed_entry_timestamp")]
    pub signed_entry_timestamp: Bytes,
}

/// `InclusionProof`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct InclusionProof {
    /// Leaf index.
    #[serde(alias = "log_index")]
    pub log_index: Int64,
    /// Root hash at `tree_size`.
    #[serde(alias = "root_hash")]
    pub root_hash: Bytes,
    /// Tree size.
    #[serde(alias = "tree_size")]
    pub tree_size: Int64,
    /// Audit path.
    #[serde(default)]
    pub hashes: Vec<Bytes>,
    /// The signed checkpoint the proof is against (REQUIRED by the spec; a proof without
    /// one is read and then fails verification, it is not a parse error).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub checkpoint: Option<Checkpoint>,
}

/// `Checkpoint`: a C2SP signed note.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Checkpoint {
    /// The note text with signatures.
    pub envelope: String,
}

/// `MessageSignature`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct MessageSignature {
    /// The artifact digest (optional in the spec; always written by vouch).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[serde(alias = "message_digest")]
    pub message_digest: Option<HashOutput>,
    /// The signature over the artifact.
    pub signature: Bytes,
}

/// `HashOutput`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct HashOutput {
    /// `SHA2_256`, `SHA2_384`, `SHA2_512`.
    pub algorithm: String,
    /// Raw digest bytes.
    pub digest: Bytes,
}

/// What a bundle signs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Content<'a> {
    /// A message signature over an artifact.
    Message(&'a MessageSignature),
    /// A DSSE envelope.
    Dsse(&'a Envelope),
}

impl Bundle {
    /// A v0.3 bundle naming a public key by hint.
    pub fn for_key(hint: String) -> Bundle {
        Bundle {
            media_type: MEDIA_TYPE_V03.to_string(),
            verification_material: VerificationMaterial {
                public_key: Some(PublicKeyIdentifier { hint }),
                certificate: None,
                x509_certificate_chain: None,
                tlog_entries: Vec::new(),
                timestamp_verification_data: None,
            },
            message_signature: None,
            dsse_envelope: None,
        }
    }

    /// Parses and checks a bundle.
    pub fn from_json(bytes: &[u8]) -> Result<Bundle, AttestError> {
        // Check the media type first so a random JSON document gets a useful message.
        let v: serde_json::Value =
            serde_json::from_slice(bytes).map_err(|e| AttestError::from_json(&e, false))?;
        let Some(obj) = v.as_object() else {
            return Err(AttestError::bundle("the document is not a JSON object"));
        };
        let media_type = obj.get("mediaType").or_else(|| obj.get("media_type"));
        match media_type.and_then(|m| m.as_str()) {
            None => return Err(AttestError::bundle("no `mediaType`")),
            Some(m) if BundleVersion::from_media_type(m).is_none() => {
                return Err(AttestError::bundle(format!("unknown mediaType `{m}`")));
            }
            Some(_) => {}
        }
        let b: Bundle =
            serde_json::from_slice(bytes).map_err(|e| AttestError::from_json(&e, false))?;
        b.check()?;
        Ok(b)
    }

    /// The format version.
    pub fn version(&self) -> Option<BundleVersion> {
        BundleVersion::from_media_type(&self.media_type)
    }

    /// Structural rules the JSON schema cannot express.
    pub fn check(&self) -> Result<(), AttestError> {
        let version = self.version().ok_or_else(|| {
            AttestError::bundle(format!("unknown mediaType `{}`", self.media_type))
        })?;
        let vm = &self.verification_material;
        let n = usize::from(vm.public_key.is_some())
            + usize::from(vm.certificate.is_some())
            + usize::from(vm.x509_certificate_chain.is_some());
        if n != 1 {
            return Err(AttestError::bundle(
                "verificationMaterial needs exactly one of publicKey, certificate, x509CertificateChain",
            ));
        }
        if version == BundleVersion::V03 && vm.x509_certificate_chain.is_some() {
            return Err(AttestError::bundle(
                "a v0.3 bundle carries `certificate`, not `x509CertificateChain`",
            ));
        }
        if version < BundleVersion::V03 && vm.certificate.is_some() {
            return Err(AttestError::bundle(
                "`certificate` needs bundle v0.3 (older versions use x509CertificateChain)",
            ));
        }
        match (&self.message_signature, &self.dsse_envelope) {
            (Some(_), Some(_)) => Err(AttestError::bundle(
                "both messageSignature and dsseEnvelope are present",
            )),
            (None, None) => Err(AttestError::bundle(
                "neither messageSignature nor dsseEnvelope is present",
            )),
            (Some(m), None) => {
                if let Some(d) = &m.message_digest {
                    let alg = vouch_crypto::keys::HashAlgorithm::from_proto_name(&d.algorithm)
                        .ok_or_else(|| {
                            AttestError::bundle(format!(
                                "unknown messageDigest algorithm `{}`",
                                d.algorithm
                            ))
                        })?;
                    if d.digest.0.len() != alg.output_len() {
                        return Err(AttestError::bundle(format!(
                            "messageDigest is {} bytes, {} needs {}",
                            d.digest.0.len(),
                            d.algorithm,
                            alg.output_len()
                        )));
                    }
                }
                Ok(())
            }
            (None, Some(e)) => {
                if e.signatures.len() != 1 {
                    return Err(AttestError::bundle(format!(
                        "a bundle's DSSE envelope has exactly one signature, this one has {}",
                        e.signatures.len()
                    )));
                }
                Ok(())
            }
        }
    }

    /// What the bundle signs.
    pub fn content(&self) -> Option<Content<'_>> {
        match (&self.message_signature, &self.dsse_envelope) {
            (Some(m), None) => Some(Content::Message(m)),
            (None, Some(e)) => Some(Content::Dsse(e)),
            _ => None,
        }
    }

    /// Pretty JSON with a final newline; field order is fixed, so the same bundle always
    /// gives the same bytes.
    pub fn to_json(&self) -> Vec<u8> {
        let mut v = serde_json::to_vec_pretty(self).unwrap_or_default();
        v.push(b'\n');
        v
    }

    /// SHA-256 (hex) of the bundle's canonical JSON (RFC 8785): the same for any formatting
    /// of the same bundle.
    pub fn canonical_digest(&self) -> String {
        let v = serde_json::to_value(self).unwrap_or(serde_json::Value::Null);
        let bytes = crate::canonical::canonicalize(&v);
        hex::encode(vouch_crypto::keys::HashAlgorithm::Sha256.hash(&bytes).value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn rejects_non_bundles_with_reasons() {
        let e = Bundle::from_json(br#"{"not":"a bundle"}"#).unwrap_err();
        assert!(e.to_string().contains("mediaType"), "{e}");
        let e = Bundle::from_json(b"[1,2").unwrap_err();
        assert!(e.position().is_some());
        let e = Bundle::from_json(
            br#"{"mediaType":"application/vnd.dev.sigstore.bundle.v0.3+json","verificationMaterial":{"publicKey":{"hint":"x"},"tlogEntries":[]}}"#,
        )
        .unwrap_err();
        assert!(e.to_string().contains("neither"), "{e}");
    }

    proptest! {
        #[test]
        fn bundle_parser_never_panics(s in ".{0,300}") {
            let _ = Bundle::from_json(s.as_bytes());
        }

        #[test]
        fn mutated_bundles_never_panic(pos in 0usize..600, byte in any::<u8>()) {
            let mut b = br#"{"mediaType":"application/vnd.dev.sigstore.bundle.v0.3+json","verificationMaterial":{"publicKey":{"hint":"NRPlMyTvqdbGmid4ig7kl5/SWVjfzZOSuEDMHO0ay6Y="},"tlogEntries":[{"logIndex":"1","logId":{"keyId":"AA=="},"kindVersion":{"kind":"k","version":"v"},"integratedTime":"2","inclusionProof":{"logIndex":"1","rootHash":"AA==","treeSize":"3","hashes":["AA=="],"checkpoint":{"envelope":"x"}},"canonicalizedBody":"AA=="}]},"messageSignature":{"messageDigest":{"algorithm":"SHA2_256","digest":"fi3QuhOeqG/vi24dqi81xU/pX7+Ly5A8g5vLqGgygAM="},"signature":"MEQCIA=="}}"#.to_vec();
            let i = pos % b.len();
            b[i] = byte;
            let _ = Bundle::from_json(&b);
        }
    }
}

#[cfg(test)]
mod proto_names {
    use super::*;

    #[test]
    fn original_proto_field_names_are_read() {
        let b = Bundle::from_json(
            br#"{"media_type":"application/vnd.dev.sigstore.bundle.v0.3+json","verification_material":{"public_key":{"hint":"x"},"tlog_entries":[]},"message_signature":{"message_digest":{"algorithm":"SHA2_256","digest":"fi3QuhOeqG/vi24dqi81xU/pX7+Ly5A8g5vLqGgygAM="},"signature":"AA=="}}"#,
        )
        .unwrap();
        assert!(b.to_json().starts_with(b"{\n  \"mediaType\""));
    }
}
