//! Gating a local OCI image layout (`oci-layout` + `index.json` + `blobs/`): the subject is
//! the image manifest, and evidence is found as OCI 1.1 referrers — manifests in the layout
//! whose `subject` is the image manifest and whose `artifactType` is the Sigstore bundle media
//! type, with the bundle as their first layer. A referrer annotated with the cosign v3
//! image-signature predicate type (what `vouch sign IMAGE` writes) is a signature; other DSSE
//! bundles are attestations. `vouch gate IMAGE` pulls a registry image and its referrers into
//! such a layout first.
//!
//! Blob paths are built only from validated `sha256:<64 hex>` digests, so a hostile
//! `index.json` cannot make the gate read outside the layout.

use std::path::{Path, PathBuf};

use serde_json::Value;
use vouch_core::InputError;

use crate::evidence::{Found, Subject};

/// The OCI 1.1 `artifactType` of a Sigstore bundle.
pub const BUNDLE_ARTIFACT_TYPE: &str = "application/vnd.dev.sigstore.bundle.v0.3+json";

const MANIFEST_TYPES: &[&str] = &[
    "application/vnd.oci.image.manifest.v1+json",
    "application/vnd.docker.distribution.manifest.v2+json",
];

/// Whether `dir` is an OCI image layout.
pub fn is_layout(dir: &Path) -> bool {
    dir.join("oci-layout").is_file() && dir.join("index.json").is_file()
}

fn blob_path(dir: &Path, digest: &str) -> Option<PathBuf> {
    let hex = digest.strip_prefix("sha256:")?;
    (hex.len() == 64
        && hex
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)))
    .then(|| dir.join("blobs/sha256").join(hex))
}

fn read_json(path: &Path) -> Result<Value, InputError> {
    let bytes = vouch_core::fs::read_regular(path, vouch_core::fs::MAX_INPUT_LEN)?;
    serde_json::from_slice(&bytes).map_err(|e| {
        InputError::at(
            path,
            u32::try_from(e.line()).unwrap_or(0),
            u32::try_from(e.column()).ok(),
            format!("not JSON: {e}"),
        )
    })
}

/// Reads the layout: the image manifest is the one `index.json` entry that is not a referrer
/// (or the one whose `org.opencontainers.image.ref.name` is `reference`, when given).
pub fn load(dir: &Path, reference: Option<&str>) -> Result<(Subject, Found), InputError> {
    let index_path = dir.join("index.json");
    let index = read_json(&index_path)?;
    let entries = index
        .get("manifests")
        .and_then(Value::as_array)
        .ok_or_else(|| {
            InputError::in_file(&index_path, "no `manifests` list")
                .with_hint("is this an OCI image layout?")
        })?;
    let mut images = Vec::new();
    let mut referrers = Vec::new();
    for e in entries {
        let Some(digest) = e.get("digest").and_then(Value::as_str) else {
            continue;
        };
        let Some(path) = blob_path(dir, digest) else {
            return Err(InputError::in_file(
                &index_path,
                format!("`{digest}` is not a sha256 digest"),
            ));
        };
        let media = e.get("mediaType").and_then(Value::as_str).unwrap_or("");
        if !MANIFEST_TYPES.contains(&media) {
            continue;
        }
        let manifest = read_json(&path)?;
        if manifest.get("subject").is_some() {
            referrers.push((path, manifest));
        } else {
            let name = e
                .pointer("/annotations/org.opencontainers.image.ref.name")
                .and_then(Value::as_str)
                .map(str::to_string);
            images.push((digest.to_string(), path, name));
        }
    }
    let chosen: Vec<_> = match reference {
        Some(r) => images
            .into_iter()
            .filter(|(_, _, n)| n.as_deref() == Some(r))
            .collect(),
        None => images,
    };
    let [(digest, manifest_path, name)] = <[_; 1]>::try_from(chosen).map_err(|v: Vec<_>| {
        InputError::in_file(&index_path, format!("{} image manifests match", v.len()))
            .with_hint("name one with SUBJECT:REF (org.opencontainers.image.ref.name)")
    })?;
    let hex = digest.trim_start_matches("sha256:").to_string();
    let subject = Subject {
        name: format!(
            "{}{}",
            dir.display(),
            name.map(|n| format!(":{n}")).unwrap_or_default()
        ),
        file_name: None,
        sha256: hex,
        path: Some(manifest_path),
    };
    let mut found = Found::default();
    for (_, m) in referrers {
        if m.pointer("/subject/digest").and_then(Value::as_str) != Some(digest.as_str()) {
            continue;
        }
        let is_bundle = m.get("artifactType").and_then(Value::as_str) == Some(BUNDLE_ARTIFACT_TYPE)
            || m.pointer("/config/mediaType").and_then(Value::as_str) == Some(BUNDLE_ARTIFACT_TYPE);
        if !is_bundle {
            continue;
        }
        for layer in m
            .get("layers")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let Some(p) = layer
                .get("digest")
                .and_then(Value::as_str)
                .and_then(|d| blob_path(dir, d))
            else {
                continue;
            };
            let bytes =
                vouch_core::fs::read_regular(&p, vouch_core::fs::MAX_INPUT_LEN).unwrap_or_default();
            let v: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
            // A cosign v3 image signature is a DSSE statement too; its referrer says so.
            let image_signature = m
                .pointer("/annotations/dev.sigstore.bundle.predicateType")
                .and_then(Value::as_str)
                == Some(crate::evidence::IMAGE_SIGNATURE_PREDICATE);
            if v.get("dsseEnvelope").is_some() && !image_signature {
                found.attestations.push(p);
            } else {
                found.signatures.push(p);
            }
        }
    }
    found.signatures.sort();
    found.attestations.sort();
    Ok((subject, found))
}

#[cfg(test)]
mod digest_tests {
    use super::*;

    #[test]
    fn digests_are_validated_before_they_become_paths() {
        let dir = Path::new("layout");
        let good = format!("sha256:{}", "ab".repeat(32));
        assert_eq!(
            blob_path(dir, &good),
            Some(dir.join("blobs/sha256").join("ab".repeat(32)))
        );
        for bad in [
            "sha256:../../../outside/x.tar".to_string(),
            format!("sha256:../{}", "a".repeat(61)),
            format!("sha256:{}", "AB".repeat(32)),
            format!("sha256:{}", "ab".repeat(33)),
            format!("sha512:{}", "ab".repeat(64)),
            format!("sha256:{}/", "ab".repeat(32)),
            "sha256:".to_string(),
        ] {
            assert_eq!(blob_path(dir, &bad), None, "{bad}");
        }
    }
}
