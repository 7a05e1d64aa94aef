//! OCI image manifests, indexes and descriptors (image-spec v1.1), and the Docker v2
//! schema 2 media types registries still serve.
//!
//! Manifests are parsed from the exact bytes the registry returned, and those bytes are what
//! is hashed: a manifest is never re-serialised before its digest is checked. Serialising
//! ([`ImageManifest::to_json`], [`ImageIndex::to_json`]) writes the fields in image-spec
//! order with no insignificant whitespace, so the same manifest always has the same digest.
//! Parsing must never panic or allocate beyond [`MAX_MANIFEST_LEN`].

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::digest::Digest;

/// The largest manifest accepted (the distribution spec's recommended minimum for what a
/// registry must accept is 4 MiB).
pub const MAX_MANIFEST_LEN: usize = 4 * 1024 * 1024;

/// OCI image manifest.
pub const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
/// OCI image index.
pub const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";
/// Docker image manifest (schema 2).
pub const DOCKER_MANIFEST: &str = "application/vnd.docker.distribution.manifest.v2+json";
/// Docker manifest list.
pub const DOCKER_LIST: &str = "application/vnd.docker.distribution.manifest.list.v2+json";
/// The empty descriptor's media type (config of artifacts that need none).
pub const EMPTY: &str = "application/vnd.oci.empty.v1+json";
/// The empty descriptor's content.
pub const EMPTY_CONTENT: &[u8] = b"{}";
/// OCI image config.
pub const OCI_CONFIG: &str = "application/vnd.oci.image.config.v1+json";
/// Every manifest media type a registry is asked for.
pub const ACCEPTED: &[&str] = &[OCI_MANIFEST, OCI_INDEX, DOCKER_MANIFEST, DOCKER_LIST];

/// A content descriptor.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Descriptor {
    /// The content's media type.
    pub media_type: String,
    /// `sha256:<hex>` of the content.
    pub digest: String,
    /// Size in bytes.
    pub size: u64,
    /// For manifests of artifacts: their artifact type.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub artifact_type: Option<String>,
    /// Annotations.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
    /// In an index: the platform the manifest is for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub platform: Option<Platform>,
}

impl Descriptor {
    /// A descriptor of `bytes`.
    pub fn of(media_type: &str, bytes: &[u8]) -> Descriptor {
        Descriptor {
            media_type: media_type.to_string(),
            digest: Digest::of(bytes).to_string(),
            size: bytes.len() as u64,
            artifact_type: None,
            annotations: BTreeMap::new(),
            platform: None,
        }
    }

    /// The validated digest, or `None` when the descriptor's is not `sha256:<hex>`.
    pub fn valid_digest(&self) -> Option<Digest> {
        Digest::parse(&self.digest)
    }
}

/// An index entry's platform.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Platform {
    /// CPU architecture (`amd64`, `arm64`).
    pub architecture: String,
    /// Operating system (`linux`).
    pub os: String,
    /// OS version.
    #[serde(
        default,
        rename = "os.version",
        skip_serializing_if = "Option::is_none"
    )]
    pub os_version: Option<String>,
    /// CPU variant (`v8`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub variant: Option<String>,
}

impl Platform {
    /// `os/arch[/variant]`.
    pub fn name(&self) -> String {
        match &self.variant {
            Some(v) => format!("{}/{}/{v}", self.os, self.architecture),
            None => format!("{}/{}", self.os, self.architecture),
        }
    }

    /// Whether `os/arch[/variant]` names this platform (a name without a variant matches any).
    pub fn matches(&self, wanted: &str) -> bool {
        let mut parts = wanted.split('/');
        let (Some(os), Some(arch)) = (parts.next(), parts.next()) else {
            return false;
        };
        let variant = parts.next();
        os == self.os
            && arch == self.architecture
            && variant.is_none_or(|v| self.variant.as_deref() == Some(v))
            && parts.next().is_none()
    }
}

/// An image manifest (also the shape of artifact manifests).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ImageManifest {
    /// Always 2.
    pub schema_version: u32,
    /// The manifest's own media type.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub media_type: Option<String>,
    /// The artifact type, for artifacts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub artifact_type: Option<String>,
    /// The config blob.
    pub config: Descriptor,
    /// The layers, base first.
    #[serde(default)]
    pub layers: Vec<Descriptor>,
    /// What this manifest refers to (OCI 1.1 referrers).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject: Option<Descriptor>,
    /// Annotations.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
}

impl ImageManifest {
    /// The compact JSON, in image-spec field order.
    pub fn to_json(&self) -> Vec<u8> {
        serde_json::to_vec(self).unwrap_or_default()
    }
}

/// An image index (manifest list), also the shape of referrers listings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ImageIndex {
    /// Always 2.
    pub schema_version: u32,
    /// The index's own media type.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub media_type: Option<String>,
    /// The artifact type, for artifacts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub artifact_type: Option<String>,
    /// The manifests.
    #[serde(default)]
    pub manifests: Vec<Descriptor>,
    /// What this index refers to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject: Option<Descriptor>,
    /// Annotations.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
}

impl ImageIndex {
    /// An empty OCI index.
    pub fn empty() -> ImageIndex {
        ImageIndex {
            schema_version: 2,
            media_type: Some(OCI_INDEX.to_string()),
            artifact_type: None,
            manifests: Vec::new(),
            subject: None,
            annotations: BTreeMap::new(),
        }
    }

    /// The compact JSON, in image-spec field order.
    pub fn to_json(&self) -> Vec<u8> {
        serde_json::to_vec(self).unwrap_or_default()
    }
}

/// A parsed manifest of either kind.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Manifest {
    /// An image (or artifact) manifest.
    Image(ImageManifest),
    /// An index.
    Index(ImageIndex),
}

/// Why manifest bytes are not a manifest.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ManifestError {
    /// Too large.
    #[error("the manifest is {0} bytes, more than the {MAX_MANIFEST_LEN} accepted")]
    TooLarge(usize),
    /// Not JSON, or not the shape of a manifest.
    #[error("not an OCI manifest: {0}")]
    Malformed(String),
    /// A media type vouch does not read (Docker schema 1, or anything else).
    #[error("unsupported manifest media type `{0}`")]
    Unsupported(String),
}

impl Manifest {
    /// Parses manifest bytes; `content_type` is what the registry said, used only when the
    /// document does not name its own media type.
    pub fn parse(bytes: &[u8], content_type: Option<&str>) -> Result<Manifest, ManifestError> {
        if bytes.len() > MAX_MANIFEST_LEN {
            return Err(ManifestError::TooLarge(bytes.len()));
        }
        let value: serde_json::Value =
            serde_json::from_slice(bytes).map_err(|e| ManifestError::Malformed(e.to_string()))?;
        let Some(obj) = value.as_object() else {
            return Err(ManifestError::Malformed("not a JSON object".into()));
        };
        if obj.get("schemaVersion").and_then(|v| v.as_u64()) != Some(2) {
            return Err(ManifestError::Malformed("schemaVersion is not 2".into()));
        }
        let declared = obj
            .get("mediaType")
            .and_then(|v| v.as_str())
            .map(str::to_string)
            .or_else(|| content_type.map(|c| c.split(';').next().unwrap_or(c).trim().to_string()));
        let is_index = match declared.as_deref() {
            Some(OCI_INDEX | DOCKER_LIST) => true,
            Some(OCI_MANIFEST | DOCKER_MANIFEST) => false,
            // A document without a media type is told apart by its fields, as the
            // image-spec allows.
            None | Some("" | "application/json" | "application/octet-stream") => {
                obj.contains_key("manifests")
            }
            Some(other) => return Err(ManifestError::Unsupported(other.to_string())),
        };
        let malformed = |e: serde_json::Error| ManifestError::Malformed(e.to_string());
        if is_index {
            Ok(Manifest::Index(
                serde_json::from_value(value).map_err(malformed)?,
            ))
        } else {
            Ok(Manifest::Image(
                serde_json::from_value(value).map_err(malformed)?,
            ))
        }
    }

    /// The media type to send with the manifest.
    pub fn media_type(&self) -> &str {
        match self {
            Manifest::Image(m) => m.media_type.as_deref().unwrap_or(OCI_MANIFEST),
            Manifest::Index(i) => i.media_type.as_deref().unwrap_or(OCI_INDEX),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_both_kinds_and_refuses_others() {
        let m = ImageManifest {
            schema_version: 2,
            media_type: Some(OCI_MANIFEST.into()),
            artifact_type: None,
            config: Descriptor::of(EMPTY, EMPTY_CONTENT),
            layers: vec![],
            subject: None,
            annotations: BTreeMap::new(),
        };
        let bytes = m.to_json();
        assert_eq!(Manifest::parse(&bytes, None).unwrap(), Manifest::Image(m));
        let i = ImageIndex::empty();
        assert_eq!(
            Manifest::parse(&i.to_json(), None).unwrap(),
            Manifest::Index(i)
        );
        assert!(matches!(
            Manifest::parse(br#"{"schemaVersion":1}"#, None),
            Err(ManifestError::Malformed(_))
        ));
        assert!(matches!(
            Manifest::parse(br#"{"schemaVersion":2,"mediaType":"text/plain"}"#, None),
            Err(ManifestError::Unsupported(_))
        ));
        assert!(Manifest::parse(b"[", None).is_err());
    }

    #[test]
    fn platforms() {
        let p = Platform {
            architecture: "arm64".into(),
            os: "linux".into(),
            os_version: None,
            variant: Some("v8".into()),
        };
        assert!(p.matches("linux/arm64"));
        assert!(p.matches("linux/arm64/v8"));
        assert!(!p.matches("linux/arm64/v7"));
        assert!(!p.matches("linux"));
        assert_eq!(p.name(), "linux/arm64/v8");
    }
}
