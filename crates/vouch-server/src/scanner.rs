//! Scanner release verification: before the service signs a scanner's SBOM or report, the
//! scanner image digest named in the request must be signed by the configured release key,
//! checked with the same `vouch_attest::Verifier` as `vouch verify-blob` /
//! `verify-attestation` on the bundles attached to that digest.
//!
//! Where the bundles come from: a directory of Sigstore bundles (`bundles_dir`; what an OCI
//! referrers pull or `vouch release` writes). Any bundle about the digest that does NOT verify
//! makes the verdict fail, even if another verifies (a tampered or foreign signature on a
//! release is not something to sign past). With no verifying bundle, the audited allow-list
//! of digests is the fallback. Everything else fails closed: `scanner_unverified`.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use vouch_attest::verify::{Evidence, Policy, SubjectDigest, Verifier};
use vouch_crypto::keys::PublicKey;

use crate::error::{ApiError, Code};

/// `[scanner]` in serve.toml.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScannerConfig {
    /// Public keys (PEM files) that sign scanner releases.
    pub release_keys: Vec<PathBuf>,
    /// Directory of bundles about scanner images.
    pub bundles_dir: PathBuf,
    /// Digests accepted without a verifying bundle (audited as `allow_listed`).
    #[serde(default)]
    pub allow_digests: Vec<String>,
    /// Predicate types whose signing requires a verified scanner [default: CycloneDX, SPDX,
    /// OSV/vuln, OpenVEX, SARIF].
    #[serde(default = "default_types")]
    pub require_for: Vec<String>,
}

fn default_types() -> Vec<String> {
    [
        "https://cyclonedx.org/bom",
        "https://spdx.dev/Document",
        "https://cosign.sigstore.dev/attestation/vuln/v1",
        "https://openvex.dev/ns",
        "https://in-toto.io/attestation/vulns",
        "https://docs.oasis-open.org/sarif",
    ]
    .into_iter()
    .map(String::from)
    .collect()
}

impl ScannerConfig {
    pub(crate) fn resolve_paths(&mut self, base: &Path) {
        for k in &mut self.release_keys {
            if k.is_relative() {
                *k = base.join(&*k);
            }
        }
        if self.bundles_dir.is_relative() {
            self.bundles_dir = base.join(&self.bundles_dir);
        }
    }

    /// Whether signing `predicate_type` needs a verified scanner.
    pub fn required_for(&self, predicate_type: &str) -> bool {
        self.require_for.iter().any(|p| {
            predicate_type == p
                || predicate_type.starts_with(&format!("{p}/"))
                || (p.ends_with("Document") && predicate_type.starts_with(p.as_str()))
        })
    }
}

/// The verdict on a scanner image digest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ScannerVerdict {
    pub digest: String,
    /// `verified`, `allow_listed` or `unverified`.
    pub verdict: &'static str,
    /// Bundles that verified.
    pub verified_bundles: Vec<String>,
    /// Why it is not verified, when it is not.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

impl ScannerVerdict {
    pub fn trusted(&self) -> bool {
        self.verdict != "unverified"
    }
}

/// The scanner verifier.
#[derive(Debug)]
pub struct ScannerTrust {
    config: ScannerConfig,
    verifier: Verifier,
}

impl ScannerTrust {
    /// Loads the release keys (an unusable key is a start-up error, not a later pass).
    pub fn new(config: ScannerConfig) -> Result<ScannerTrust, String> {
        if config.release_keys.is_empty() {
            return Err("[scanner] needs at least one release key".into());
        }
        let mut keys = Vec::new();
        for k in &config.release_keys {
            let pem = std::fs::read_to_string(k)
                .map_err(|e| format!("{}: cannot read: {e}", k.display()))?;
            keys.push(
                PublicKey::from_pem(&pem)
                    .map_err(|e| format!("{}: not a public key: {e}", k.display()))?,
            );
        }
        Ok(ScannerTrust {
            verifier: Verifier::new(Policy::keys(keys)),
            config,
        })
    }

    pub fn config(&self) -> &ScannerConfig {
        &self.config
    }

    /// The verdict for `digest` (`sha256:<hex>`).
    pub fn verdict(&self, digest: &str) -> Result<ScannerVerdict, ApiError> {
        let Some(subject) = SubjectDigest::parse(digest) else {
            return Err(ApiError::new(
                Code::InvalidRequest,
                format!("`{digest}` is not a digest (sha256:<64 hex>)"),
            ));
        };
        let canonical = subject.display();
        let mut verified = Vec::new();
        let mut failures = Vec::new();
        let entries = match std::fs::read_dir(&self.config.bundles_dir) {
            Ok(e) => e,
            Err(e) => {
                return Err(ApiError::unavailable(format!(
                    "the scanner bundle directory cannot be read: {e}"
                )));
            }
        };
        let mut paths: Vec<PathBuf> = entries
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "json"))
            .collect();
        paths.sort();
        for path in paths {
            let name = path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            let Ok(bytes) = vouch_core::fs::read_regular(&path, 16 << 20) else {
                continue;
            };
            let Ok(evidence) = Evidence::from_json(&bytes) else {
                continue;
            };
            let outcome = match &evidence {
                Evidence::Bundle(b) if b.message_signature.is_some() => {
                    let about = b
                        .message_signature
                        .as_ref()
                        .and_then(|m| m.message_digest.as_ref())
                        .is_some_and(|d| d.digest.0 == subject.value);
                    if !about {
                        continue;
                    }
                    self.verifier.verify_blob_digest(b, &subject)
                }
                _ => self
                    .verifier
                    .verify_attestation_for(&evidence, std::slice::from_ref(&subject)),
            };
            match outcome {
                Ok(o) if o.is_verified() => verified.push(name),
                Ok(vouch_attest::Outcome::SubjectDigestMismatch { .. }) => {}
                Ok(o) => failures.push(format!("{name}: {}", o.message())),
                Err(e) => failures.push(format!("{name}: {e}")),
            }
        }
        if !failures.is_empty() {
            return Ok(ScannerVerdict {
                digest: canonical,
                verdict: "unverified",
                verified_bundles: verified,
                reason: Some(format!(
                    "a bundle about this scanner does not verify: {}",
                    failures.join("; ")
                )),
            });
        }
        if !verified.is_empty() {
            return Ok(ScannerVerdict {
                digest: canonical,
                verdict: "verified",
                verified_bundles: verified,
                reason: None,
            });
        }
        if self
            .config
            .allow_digests
            .iter()
            .any(|d| d.eq_ignore_ascii_case(&canonical))
        {
            return Ok(ScannerVerdict {
                digest: canonical,
                verdict: "allow_listed",
                verified_bundles: vec![],
                reason: None,
            });
        }
        Ok(ScannerVerdict {
            digest: canonical,
            verdict: "unverified",
            verified_bundles: vec![],
            reason: Some("no bundle signed by a scanner release key names this digest".into()),
        })
    }
}
