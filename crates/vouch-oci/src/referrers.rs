//! Bundles attached to an image as OCI 1.1 referrers, the way cosign v3 stores them:
//! an artifact manifest whose `artifactType` and only layer are the Sigstore bundle
//! (`application/vnd.dev.sigstore.bundle.v0.3+json`), whose config is the empty descriptor,
//! whose `subject` is the image, and whose annotations say what the bundle holds
//! (`dev.sigstore.bundle.content`, `dev.sigstore.bundle.predicateType`,
//! `org.opencontainers.image.created`).
//!
//! Registries with the referrers API (`GET /v2/<name>/referrers/<digest>`) list such
//! manifests themselves. For registries without it, the distribution spec's referrers tag
//! schema is kept: an image index tagged `sha256-<hex>` lists them, and is updated (read,
//! append, write) on every attach. Support is decided by probing the endpoint and checking
//! that it answers an image index, never by the `OCI-Subject` header alone.
//!
//! This module never trusts a listing: each referrer manifest is pulled by digest and
//! checked, and its subject must be the image it was listed for.

use std::collections::BTreeMap;

use crate::OciError;
use crate::digest::Digest;
use crate::image::{self, Resolved};
use crate::manifest::{self, Descriptor, ImageIndex, ImageManifest, Manifest};
use crate::reference::Reference;
use crate::registry::{Registry, RegistryError};

/// The artifact type (and layer media type) of a Sigstore bundle v0.3.
pub const BUNDLE_ARTIFACT_TYPE: &str = "application/vnd.dev.sigstore.bundle.v0.3+json";
/// Annotation: `message-signature` or `dsse-envelope`.
pub const CONTENT_ANNOTATION: &str = "dev.sigstore.bundle.content";
/// Annotation: the in-toto predicate type of a DSSE bundle.
pub const PREDICATE_TYPE_ANNOTATION: &str = "dev.sigstore.bundle.predicateType";
/// Annotation: RFC 3339 creation time.
pub const CREATED_ANNOTATION: &str = "org.opencontainers.image.created";
/// Layer annotation: a file name for the bundle.
pub const TITLE_ANNOTATION: &str = "org.opencontainers.image.title";
/// The largest referrers listing or bundle accepted.
pub const MAX_BUNDLE_LEN: u64 = 16 * 1024 * 1024;

/// Where referrers of an image are listed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Storage {
    /// The registry's referrers API.
    ReferrersApi,
    /// The referrers tag schema (`sha256-<hex>` index), kept by clients.
    TagSchema,
}

impl Storage {
    /// A name for reports.
    pub fn name(self) -> &'static str {
        match self {
            Storage::ReferrersApi => "referrers API",
            Storage::TagSchema => "referrers tag schema",
        }
    }
}

/// The referrers of `digest` (unfiltered), and where they were listed.
pub fn list(
    registry: &dyn Registry,
    repo: &Reference,
    digest: &Digest,
) -> Result<(Storage, Vec<Descriptor>), OciError> {
    let what = format!("{}@{digest} referrers", repo.name());
    if let Some(bytes) = registry
        .referrers(repo, digest)
        .map_err(|e| OciError::registry(what.clone(), e))?
    {
        // An answer that is not an index means the endpoint is not the referrers API (the
        // trait says so already, but an implementation's word is checked here too).
        if let Ok(Manifest::Index(index)) = Manifest::parse(&bytes, Some(manifest::OCI_INDEX)) {
            return Ok((Storage::ReferrersApi, index.manifests));
        }
    }
    Ok((
        Storage::TagSchema,
        tag_schema_index(registry, repo, digest)?.manifests,
    ))
}

/// The tag-schema index of `digest`, empty when the tag does not exist.
fn tag_schema_index(
    registry: &dyn Registry,
    repo: &Reference,
    digest: &Digest,
) -> Result<ImageIndex, OciError> {
    let tag = digest.tag();
    match registry.get_manifest(repo, &tag) {
        Ok(raw) => match Manifest::parse(&raw.bytes, raw.content_type.as_deref()) {
            Ok(Manifest::Index(i)) => Ok(i),
            Ok(Manifest::Image(_)) => Err(OciError::Integrity(format!(
                "{}:{tag} is an image manifest, not a referrers index",
                repo.name()
            ))),
            Err(e) => Err(OciError::Integrity(format!("{}:{tag}: {e}", repo.name()))),
        },
        Err(RegistryError::NotFound(_)) => Ok(ImageIndex::empty()),
        Err(e) => Err(OciError::registry(format!("{}:{tag}", repo.name()), e)),
    }
}

/// What attaching a bundle did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attached {
    /// The referrer manifest's digest.
    pub manifest: Digest,
    /// Where it is listed.
    pub storage: Storage,
}

/// The referrer manifest cosign v3 writes for a bundle about `subject`.
pub fn bundle_manifest(
    subject: &Descriptor,
    bundle: &[u8],
    annotations: BTreeMap<String, String>,
) -> ImageManifest {
    let mut layer = Descriptor::of(BUNDLE_ARTIFACT_TYPE, bundle);
    let title = format!("sha256-{}.sigstore.json", Digest::of(bundle).hex());
    layer
        .annotations
        .insert(TITLE_ANNOTATION.to_string(), title);
    ImageManifest {
        schema_version: 2,
        media_type: Some(manifest::OCI_MANIFEST.to_string()),
        artifact_type: Some(BUNDLE_ARTIFACT_TYPE.to_string()),
        config: Descriptor::of(manifest::EMPTY, manifest::EMPTY_CONTENT),
        layers: vec![layer],
        subject: Some(Descriptor {
            media_type: subject.media_type.clone(),
            digest: subject.digest.clone(),
            size: subject.size,
            artifact_type: None,
            annotations: BTreeMap::new(),
            platform: None,
        }),
        annotations,
    }
}

/// Attaches `bundle` to the image: blobs, then the referrer manifest (by digest), then, if
/// the registry has no referrers API, the tag-schema index.
pub fn attach(
    registry: &dyn Registry,
    image: &Resolved,
    bundle: &[u8],
    annotations: BTreeMap<String, String>,
) -> Result<Attached, OciError> {
    let repo = &image.reference;
    let m = bundle_manifest(&image.descriptor, bundle, annotations);
    let push = |what: &str, e| OciError::registry(format!("{}: {what}", repo.name()), e);
    registry
        .put_blob(
            repo,
            &Digest::of(manifest::EMPTY_CONTENT),
            manifest::EMPTY_CONTENT,
        )
        .map_err(|e| push("uploading the empty config", e))?;
    registry
        .put_blob(repo, &Digest::of(bundle), bundle)
        .map_err(|e| push("uploading the bundle", e))?;
    let bytes = m.to_json();
    let digest = Digest::of(&bytes);
    registry
        .put_manifest(repo, digest.as_str(), manifest::OCI_MANIFEST, &bytes)
        .map_err(|e| push("pushing the referrer manifest", e))?;
    let supported = registry
        .referrers(repo, &image.digest)
        .map_err(|e| push("probing the referrers API", e))?
        .is_some_and(|b| matches!(Manifest::parse(&b, None), Ok(Manifest::Index(_))));
    if supported {
        return Ok(Attached {
            manifest: digest,
            storage: Storage::ReferrersApi,
        });
    }
    let mut index = tag_schema_index(registry, repo, &image.digest)?;
    if !index.manifests.iter().any(|d| d.digest == digest.as_str()) {
        index.manifests.push(Descriptor {
            media_type: manifest::OCI_MANIFEST.to_string(),
            digest: digest.to_string(),
            size: bytes.len() as u64,
            artifact_type: m.artifact_type.clone(),
            annotations: m.annotations.clone(),
            platform: None,
        });
    }
    let index_bytes = index.to_json();
    registry
        .put_manifest(repo, &image.digest.tag(), manifest::OCI_INDEX, &index_bytes)
        .map_err(|e| push("updating the referrers tag schema index", e))?;
    Ok(Attached {
        manifest: digest,
        storage: Storage::TagSchema,
    })
}

/// A Sigstore bundle found among an image's referrers.
#[derive(Debug, Clone)]
pub struct FoundBundle {
    /// The referrer manifest's digest.
    pub manifest: Digest,
    /// Its annotations.
    pub annotations: BTreeMap<String, String>,
    /// The bundle bytes (digest-checked).
    pub bundle: Vec<u8>,
}

/// Pulls every Sigstore bundle attached to `image` as a referrer. A listed manifest whose
/// subject is another image, or whose bytes do not match the listing, is an integrity error.
pub fn bundles(
    registry: &dyn Registry,
    image: &Resolved,
) -> Result<(Storage, Vec<FoundBundle>), OciError> {
    let repo = &image.reference;
    let (storage, listed) = list(registry, repo, &image.digest)?;
    let mut out = Vec::new();
    for d in listed {
        if d.artifact_type.as_deref() != Some(BUNDLE_ARTIFACT_TYPE) {
            continue;
        }
        let Some(digest) = d.valid_digest() else {
            return Err(OciError::Integrity(format!(
                "a referrer is listed as `{}`, not a sha256 digest",
                d.digest
            )));
        };
        let (m, _) = image::fetch_manifest(registry, repo, &digest)?;
        let Manifest::Image(m) = m else {
            return Err(OciError::Integrity(format!(
                "referrer {digest} is an index"
            )));
        };
        if m.subject.as_ref().map(|s| s.digest.as_str()) != Some(image.digest.as_str()) {
            return Err(OciError::Integrity(format!(
                "referrer {digest} is listed for {} but its subject is another image",
                image.digest
            )));
        }
        let Some(layer) = m.layers.iter().find(|l| {
            l.media_type
                .starts_with("application/vnd.dev.sigstore.bundle")
        }) else {
            continue;
        };
        let bundle = image::fetch_small_blob(registry, repo, layer, MAX_BUNDLE_LEN)?;
        out.push(FoundBundle {
            manifest: digest,
            annotations: m.annotations,
            bundle,
        });
    }
    Ok((storage, out))
}
