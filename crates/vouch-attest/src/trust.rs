//! Trust material a verifier works offline with: what a trusted root contains, and Offline
//! Kits — a trusted root (and optionally a Sigstore signing config) with a manifest of their
//! digests, signed, so that air-gapped machines can take trust from a publisher they know.
//!
//! Kit layout (a directory):
//! ```text
//! trusted_root.json          Sigstore trusted root (trustedroot+json;version=0.1)
//! signing_config.json        optional: Sigstore SigningConfig v0.2 (service URLs)
//! manifest.json              {"mediaType": MANIFEST_MEDIA_TYPE, "files": {name: "sha256:<hex>"}}
//! manifest.sigstore.json     a Sigstore bundle: the publisher's signature over manifest.json
//! ```
//! Importing verifies the manifest's signature with the publisher's key, then every file's
//! digest, and only then installs the files: a kit with a changed, missing or extra file is
//! refused whole. This module holds the rules; reading and writing files is the caller's.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::error::AttestError;
use crate::trusted_root::{TimeRange, TrustedRoot};

/// The manifest's media type.
pub const MANIFEST_MEDIA_TYPE: &str = "application/vnd.vouch.offline-kit.manifest.v1+json";

/// File names in a kit.
pub const TRUSTED_ROOT: &str = "trusted_root.json";
/// The optional signing config.
pub const SIGNING_CONFIG: &str = "signing_config.json";
/// The manifest.
pub const MANIFEST: &str = "manifest.json";
/// The manifest's signature bundle.
pub const MANIFEST_BUNDLE: &str = "manifest.sigstore.json";

/// A kit's manifest: every file and its digest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Manifest {
    /// [`MANIFEST_MEDIA_TYPE`].
    pub media_type: String,
    /// File name → `sha256:<hex>`, sorted.
    pub files: BTreeMap<String, String>,
}

fn sha256(bytes: &[u8]) -> String {
    format!(
        "sha256:{}",
        hex::encode(vouch_crypto::keys::HashAlgorithm::Sha256.hash(bytes).value)
    )
}

impl Manifest {
    /// The manifest for these files (name, bytes). The trusted root must be among them and
    /// parse; the signing config, when present, must be JSON.
    pub fn for_files(files: &[(&str, &[u8])]) -> Result<Manifest, AttestError> {
        let root = files
            .iter()
            .find(|(n, _)| *n == TRUSTED_ROOT)
            .ok_or_else(|| AttestError::Usage("an Offline Kit needs a trusted root".into()))?;
        TrustedRoot::from_json(root.1)?;
        Ok(Manifest {
            media_type: MANIFEST_MEDIA_TYPE.into(),
            files: files
                .iter()
                .map(|(n, b)| ((*n).to_string(), sha256(b)))
                .collect(),
        })
    }

    /// Canonical bytes (sorted keys, no whitespace, final newline): what is signed.
    pub fn to_bytes(&self) -> Vec<u8> {
        let v = serde_json::to_value(self).unwrap_or(serde_json::Value::Null);
        let mut b = crate::canonical::canonicalize(&v);
        b.push(b'\n');
        b
    }

    /// Parses a manifest.
    pub fn from_json(bytes: &[u8]) -> Result<Manifest, AttestError> {
        let m: Manifest =
            serde_json::from_slice(bytes).map_err(|e| AttestError::from_json(&e, false))?;
        if m.media_type != MANIFEST_MEDIA_TYPE {
            return Err(AttestError::Usage(format!(
                "not an Offline Kit manifest (mediaType `{}`)",
                m.media_type
            )));
        }
        Ok(m)
    }

    /// Checks the kit's files (name, bytes) are exactly the manifest's, digest for digest.
    pub fn check_files(&self, files: &[(String, Vec<u8>)]) -> Result<(), String> {
        for (name, bytes) in files {
            match self.files.get(name) {
                Some(d) if *d == sha256(bytes) => {}
                Some(_) => return Err(format!("{name} differs from the signed manifest")),
                None => return Err(format!("{name} is not in the signed manifest")),
            }
        }
        for name in self.files.keys() {
            if !files.iter().any(|(n, _)| n == name) {
                return Err(format!("{name} is in the manifest but missing"));
            }
        }
        Ok(())
    }
}

fn window(v: Option<&TimeRange>) -> String {
    let show = |t: Option<jiff::Timestamp>| t.map(|t| t.to_string());
    match v {
        None => "always".into(),
        Some(r) => format!(
            "{} .. {}",
            show(r.start).unwrap_or_else(|| "(open)".into()),
            show(r.end).unwrap_or_else(|| "now".into())
        ),
    }
}

/// The subject of an authority's first (issuing or signing) certificate.
fn first_subject(ca: &crate::trusted_root::CertificateAuthority) -> String {
    ca.cert_chain
        .certificates
        .first()
        .and_then(|c| crate::x509::Cert::from_der(&c.raw_bytes.0).ok())
        .map(|c| c.subject())
        .unwrap_or_else(|| "(unreadable)".into())
}

/// What a trusted root contains, one line per anchor with its validity window (inclusive at
/// both ends), for `vouch trust show`.
pub fn describe(root: &TrustedRoot) -> Vec<String> {
    let mut out = Vec::new();
    let b64 = |b: &[u8]| crate::b64::encode(b);
    out.push(format!(
        "certificate authorities: {}",
        root.certificate_authorities.len()
    ));
    for ca in &root.certificate_authorities {
        out.push(format!(
            "  {}  {}  chain of {}  valid {}",
            first_subject(ca),
            ca.uri,
            ca.cert_chain.certificates.len(),
            window(ca.valid_for.as_ref())
        ));
    }
    for (title, logs) in [
        ("transparency logs", &root.tlogs),
        ("CT logs", &root.ctlogs),
    ] {
        out.push(format!("{title}: {}", logs.len()));
        for l in logs {
            out.push(format!(
                "  {}  {}  log id {}  valid {}",
                l.base_url,
                if l.public_key.key_details.is_empty() {
                    "key"
                } else {
                    l.public_key.key_details.as_str()
                },
                b64(&l.log_id.key_id.0),
                window(l.public_key.valid_for.as_ref())
            ));
        }
    }
    out.push(format!(
        "timestamp authorities: {}",
        root.timestamp_authorities.len()
    ));
    for t in &root.timestamp_authorities {
        out.push(format!(
            "  {}  {}  valid {}",
            first_subject(t),
            t.uri,
            window(t.valid_for.as_ref())
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const ROOT: &str = r#"{"mediaType":"application/vnd.dev.sigstore.trustedroot+json;version=0.1","certificateAuthorities":[{"certChain":{"certificates":[{"rawBytes":"AA=="}]}}]}"#;

    #[test]
    fn manifests_name_every_file_and_refuse_changes() {
        let m = Manifest::for_files(&[(TRUSTED_ROOT, ROOT.as_bytes())]).unwrap();
        let again = Manifest::from_json(&m.to_bytes()).unwrap();
        assert_eq!(m, again);
        let good = vec![(TRUSTED_ROOT.to_string(), ROOT.as_bytes().to_vec())];
        assert_eq!(m.check_files(&good), Ok(()));
        let mut changed = good.clone();
        changed[0].1.push(b' ');
        assert!(m.check_files(&changed).unwrap_err().contains("differs"));
        let mut extra = good.clone();
        extra.push(("evil.json".into(), b"{}".to_vec()));
        assert!(
            m.check_files(&extra)
                .unwrap_err()
                .contains("not in the signed")
        );
        assert!(m.check_files(&[]).unwrap_err().contains("missing"));
        assert!(Manifest::for_files(&[(SIGNING_CONFIG, b"{}")]).is_err());
    }
}
