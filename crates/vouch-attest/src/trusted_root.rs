//! Sigstore trusted roots: `application/vnd.dev.sigstore.trustedroot+json;version=0.1`
//! (`sigstore_trustroot.proto`, proto3 JSON mapping).
//!
//! A trusted root names the certificate authorities (Fulcio), transparency logs (Rekor), CT
//! logs and timestamp authorities a keyless verification trusts, each with a validity window.
//! vouch reads it from a file given by the user (`--trusted-root`); it never fetches one (no
//! TUF client, no network), so keeping the file current is the user's job.
//!
//! Our own serde types rather than `sigstore_protobuf_specs`, for the same reasons as
//! [`crate::bundle`]: strict reading with line/column in errors and no generated-code
//! dependency tree. Unknown fields are ignored (newer roots add fields such as `operator`).

use serde::Deserialize;

use crate::b64::Bytes;
use crate::error::{AttestError, Position};

/// The media type of the only version defined so far.
pub const MEDIA_TYPE_V01: &str = "application/vnd.dev.sigstore.trustedroot+json;version=0.1";

/// A parsed trusted root.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TrustedRoot {
    /// The media type.
    pub media_type: String,
    /// Transparency logs (Rekor).
    #[serde(default)]
    pub tlogs: Vec<TransparencyLogInstance>,
    /// Certificate authorities (Fulcio).
    #[serde(default)]
    pub certificate_authorities: Vec<CertificateAuthority>,
    /// Certificate transparency logs.
    #[serde(default)]
    pub ctlogs: Vec<TransparencyLogInstance>,
    /// RFC 3161 timestamp authorities (read, not used yet).
    #[serde(default)]
    pub timestamp_authorities: Vec<CertificateAuthority>,
}

/// `TransparencyLogInstance`: a log's key and id.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TransparencyLogInstance {
    /// The log's URL (informational).
    #[serde(default)]
    pub base_url: String,
    /// `SHA2_256`.
    #[serde(default)]
    pub hash_algorithm: String,
    /// The log's public key.
    pub public_key: TrustedPublicKey,
    /// SHA-256 of the key's SPKI DER (how bundles and SCTs name the log).
    pub log_id: LogId,
    /// Rekor v2 / C2SP logs: the signed-note key ID of the log's checkpoint key (its first 4
    /// bytes are the key hint on checkpoint signatures). Without it the hint is `log_id`'s.
    #[serde(default)]
    pub checkpoint_key_id: Option<LogId>,
}

impl TransparencyLogInstance {
    /// The 4-byte key hint the log's checkpoint signatures carry.
    pub fn checkpoint_hint(&self) -> &[u8] {
        let id = match &self.checkpoint_key_id {
            Some(c) => &c.key_id.0,
            None => &self.log_id.key_id.0,
        };
        id.get(..4).unwrap_or(id)
    }

    /// The name a Rekor v2 log signs its checkpoints under: the `baseUrl` without its scheme
    /// and trailing slash, as sigstore-go derives the note verifier's name (rekor-tiles
    /// names its key after the host it serves).
    pub fn checkpoint_name(&self) -> &str {
        let u = self.base_url.trim_end_matches('/');
        u.strip_prefix("https://")
            .or_else(|| u.strip_prefix("http://"))
            .unwrap_or(u)
    }
}

/// `LogId`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LogId {
    /// The id bytes.
    pub key_id: Bytes,
}

/// `PublicKey` with its validity.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TrustedPublicKey {
    /// SPKI DER.
    pub raw_bytes: Bytes,
    /// e.g. `PKIX_ECDSA_P256_SHA_256`.
    #[serde(default)]
    pub key_details: String,
    /// When the key may be used.
    #[serde(default)]
    pub valid_for: Option<TimeRange>,
}

/// `CertificateAuthority`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CertificateAuthority {
    /// Informational subject.
    #[serde(default)]
    pub subject: Option<serde_json::Value>,
    /// Informational URI.
    #[serde(default)]
    pub uri: String,
    /// Issuing certificate first, root last.
    pub cert_chain: CertChain,
    /// When the CA may be used.
    #[serde(default)]
    pub valid_for: Option<TimeRange>,
}

/// `X509CertificateChain`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CertChain {
    /// DER certificates.
    #[serde(default)]
    pub certificates: Vec<RawCert>,
}

/// `X509Certificate`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RawCert {
    /// DER.
    pub raw_bytes: Bytes,
}

/// `TimeRange` (RFC 3339 timestamps; an absent end is open).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct TimeRange {
    /// Start (inclusive).
    #[serde(default)]
    pub start: Option<jiff::Timestamp>,
    /// End (inclusive); `None`: still valid.
    #[serde(default)]
    pub end: Option<jiff::Timestamp>,
}

impl TimeRange {
    /// Whether `t` is inside the window (an absent range or bound is open).
    pub fn contains(range: Option<&TimeRange>, t: jiff::Timestamp) -> bool {
        range.is_none_or(|r| r.start.is_none_or(|s| s <= t) && r.end.is_none_or(|e| t <= e))
    }
}

fn root_error(message: impl Into<String>, position: Option<Position>) -> AttestError {
    AttestError::NotATrustedRoot {
        message: message.into(),
        position,
    }
}

impl TrustedRoot {
    /// Parses a trusted root, checking its media type and that it can anchor a keyless
    /// verification (at least one CA and one transparency log).
    pub fn from_json(bytes: &[u8]) -> Result<TrustedRoot, AttestError> {
        TrustedRoot::parse(bytes, true)
    }

    /// Parses a trusted root that only has to name transparency logs: what verifying the log
    /// entries of key-signed bundles needs (e.g. the root `vouch log trusted-root` prints).
    pub fn for_logs(bytes: &[u8]) -> Result<TrustedRoot, AttestError> {
        TrustedRoot::parse(bytes, false)
    }

    fn parse(bytes: &[u8], need_cas: bool) -> Result<TrustedRoot, AttestError> {
        let root: TrustedRoot = serde_json::from_slice(bytes).map_err(|e| {
            let AttestError::NotABundle { message, position } = AttestError::from_json(&e, false)
            else {
                return root_error(e.to_string(), None);
            };
            root_error(message, position)
        })?;
        if root.media_type != MEDIA_TYPE_V01 {
            return Err(root_error(
                format!(
                    "unknown mediaType `{}` (expected `{MEDIA_TYPE_V01}`)",
                    root.media_type
                ),
                None,
            ));
        }
        if need_cas && root.certificate_authorities.is_empty() {
            return Err(root_error("no `certificateAuthorities`", None));
        }
        if let Some(i) = root
            .certificate_authorities
            .iter()
            .position(|c| c.cert_chain.certificates.is_empty())
        {
            return Err(root_error(
                format!("certificateAuthorities[{i}].certChain has no certificates"),
                None,
            ));
        }
        // A keyless root may list no log (GitHub's private instance: timestamps only); a
        // bundle verified against it then needs --insecure-ignore-tlog. A root for checking
        // log entries of key-signed bundles must name a log.
        if !need_cas && root.tlogs.is_empty() {
            return Err(root_error("no `tlogs`", None));
        }
        Ok(root)
    }

    /// The transparency log with this log id.
    pub fn tlog(&self, log_id: &[u8]) -> Option<&TransparencyLogInstance> {
        self.tlogs.iter().find(|l| l.log_id.key_id.0 == log_id)
    }

    /// The CT log with this log id.
    pub fn ctlog(&self, log_id: &[u8]) -> Option<&TransparencyLogInstance> {
        self.ctlogs.iter().find(|l| l.log_id.key_id.0 == log_id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture() -> Vec<u8> {
        let p = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../../shared/interop/fixtures/keyless/trusted_root.json");
        std::fs::read(p).unwrap_or_default()
    }

    #[test]
    fn reads_the_fixture_root() {
        let root = TrustedRoot::from_json(&fixture()).unwrap();
        assert_eq!(root.tlogs.len(), 1);
        assert_eq!(root.ctlogs.len(), 1);
        assert_eq!(root.certificate_authorities.len(), 1);
        let id = root.tlogs[0].log_id.key_id.0.clone();
        assert!(root.tlog(&id).is_some());
        assert!(root.ctlog(&id).is_none());
    }

    #[test]
    fn errors_carry_positions() {
        let e = TrustedRoot::from_json(b"{\n \"mediaType\": 3}").unwrap_err();
        assert_eq!(e.position().map(|p| p.line), Some(2));
        let e = TrustedRoot::from_json(br#"{"mediaType":"x"}"#).unwrap_err();
        assert!(e.to_string().contains("unknown mediaType"), "{e}");
        let e = TrustedRoot::from_json(
            br#"{"mediaType":"application/vnd.dev.sigstore.trustedroot+json;version=0.1"}"#,
        )
        .unwrap_err();
        assert!(e.to_string().contains("certificateAuthorities"), "{e}");
    }

    #[test]
    fn time_ranges() {
        let t: jiff::Timestamp = "2026-01-01T00:00:00Z".parse().unwrap();
        let r: TimeRange = serde_json::from_str(
            r#"{"start":"2025-01-01T00:00:00Z","end":"2025-12-31T00:00:00Z"}"#,
        )
        .unwrap();
        assert!(!TimeRange::contains(Some(&r), t));
        assert!(TimeRange::contains(None, t));
    }

    proptest::proptest! {
        #[test]
        fn malformed_roots_give_errors(s in ".{0,200}") {
            let _ = TrustedRoot::from_json(s.as_bytes());
        }

        #[test]
        fn mutated_fixture_never_panics(i in 0usize..2062, b in proptest::prelude::any::<u8>()) {
            let mut f = fixture();
            if !f.is_empty() {
                let n = f.len();
                f[i % n] = b;
            }
            let _ = TrustedRoot::from_json(&f);
        }
    }
}
