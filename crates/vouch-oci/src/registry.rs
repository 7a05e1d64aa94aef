//! What vouch needs from a registry (the OCI distribution API), as a trait, so that all the
//! orchestration in this crate runs against any implementation: the real HTTP client in
//! `vouch-cli` (the only crate besides `vouch-server` that talks to the network) or
//! [`MemoryRegistry`] in unit tests.
//!
//! The trait is synchronous. Every caller is a command doing one thing after another (resolve,
//! then read referrers, then read each bundle), so an async trait would only move the
//! runtime into this crate; the HTTP implementation owns a small runtime and blocks on it.
//! Blobs are streamed by handing the implementation a writer ([`Registry::get_blob`]), so a
//! layer is never held in memory whole.
//!
//! Implementations return what the registry said; they need not verify digests. This crate
//! verifies every digest itself (`image.rs`), because a registry is not trusted to.

use std::collections::BTreeMap;
use std::io::Write;
use std::sync::Mutex;

use crate::digest::Digest;
use crate::manifest::{self, Descriptor, ImageIndex, Manifest};
use crate::reference::Reference;

/// A registry's answer that is not the content asked for.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RegistryError {
    /// 404 (manifest, blob, tag or repository unknown).
    #[error("not found: {0}")]
    NotFound(String),
    /// 401/403 after authenticating (or no credentials).
    #[error("the registry refused the credentials: {0}")]
    Unauthorized(String),
    /// The registry served bytes that do not match the digest they were asked by (found by
    /// an implementation that checks digests while streaming).
    #[error("{0}")]
    Corrupt(String),
    /// Anything else: a connection error, a 5xx after retries, an unexpected answer.
    #[error("{0}")]
    Other(String),
}

/// A manifest as the registry served it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawManifest {
    /// The bytes, exactly as served (they are what is hashed).
    pub bytes: Vec<u8>,
    /// The `Content-Type` the registry sent, if any.
    pub content_type: Option<String>,
}

/// The OCI distribution operations vouch uses. `repo` is always a reference's registry and
/// repository; its tag and digest are ignored.
pub trait Registry {
    /// `GET /v2/<name>/manifests/<tag-or-digest>`.
    fn get_manifest(&self, repo: &Reference, target: &str) -> Result<RawManifest, RegistryError>;
    /// `PUT /v2/<name>/manifests/<tag-or-digest>`.
    fn put_manifest(
        &self,
        repo: &Reference,
        target: &str,
        media_type: &str,
        bytes: &[u8],
    ) -> Result<(), RegistryError>;
    /// `GET /v2/<name>/blobs/<digest>`, written to `sink` as it arrives; returns the number of
    /// bytes written.
    fn get_blob(
        &self,
        repo: &Reference,
        digest: &Digest,
        sink: &mut dyn Write,
    ) -> Result<u64, RegistryError>;
    /// Uploads a blob (`POST` + `PUT ?digest=`), unless the registry has it already.
    fn put_blob(
        &self,
        repo: &Reference,
        digest: &Digest,
        bytes: &[u8],
    ) -> Result<(), RegistryError>;
    /// `GET /v2/<name>/referrers/<digest>`: `Ok(None)` when the registry has no referrers API
    /// (404 on the endpoint, or an answer that is not an image index: the `OCI-Subject` header
    /// alone is never taken as proof of support).
    fn referrers(
        &self,
        repo: &Reference,
        digest: &Digest,
    ) -> Result<Option<Vec<u8>>, RegistryError>;
    /// `GET /v2/<name>/tags/list`, every page.
    fn list_tags(&self, repo: &Reference) -> Result<Vec<String>, RegistryError>;
}

/// Manifests, blobs and tags of one repository in memory.
#[derive(Debug, Default, Clone)]
struct Repo {
    manifests: BTreeMap<String, (String, Vec<u8>)>,
    tags: BTreeMap<String, String>,
    blobs: BTreeMap<String, Vec<u8>>,
}

/// An in-memory registry for tests: with or without the referrers API, and with faults a
/// hostile registry could produce.
#[derive(Debug, Default)]
pub struct MemoryRegistry {
    repos: Mutex<BTreeMap<String, Repo>>,
    /// Whether `GET /referrers/` is supported (computed from the stored manifests' `subject`).
    pub referrers_api: bool,
    /// Serve these bytes instead of the stored ones for a manifest or blob digest (tampering).
    pub substitute: Mutex<BTreeMap<String, Vec<u8>>>,
}

impl MemoryRegistry {
    /// A registry with (`true`) or without the referrers API.
    pub fn new(referrers_api: bool) -> MemoryRegistry {
        MemoryRegistry {
            referrers_api,
            ..MemoryRegistry::default()
        }
    }

    fn with_repo<T>(&self, repo: &Reference, f: impl FnOnce(&mut Repo) -> T) -> T {
        let mut repos = self.repos.lock().unwrap_or_else(|p| p.into_inner());
        f(repos.entry(repo.name()).or_default())
    }

    fn substituted(&self, digest: &str) -> Option<Vec<u8>> {
        self.substitute
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(digest)
            .cloned()
    }
}

impl Registry for MemoryRegistry {
    fn get_manifest(&self, repo: &Reference, target: &str) -> Result<RawManifest, RegistryError> {
        let found = self.with_repo(repo, |r| {
            let digest = if Digest::parse(target).is_some() {
                target.to_string()
            } else {
                r.tags.get(target).cloned()?
            };
            r.manifests.get(&digest).cloned().map(|m| (digest, m))
        });
        let Some((digest, (media_type, bytes))) = found else {
            return Err(RegistryError::NotFound(format!("manifest {target}")));
        };
        Ok(RawManifest {
            bytes: self.substituted(&digest).unwrap_or(bytes),
            content_type: Some(media_type),
        })
    }

    fn put_manifest(
        &self,
        repo: &Reference,
        target: &str,
        media_type: &str,
        bytes: &[u8],
    ) -> Result<(), RegistryError> {
        let digest = Digest::of(bytes);
        if let Some(d) = Digest::parse(target)
            && d != digest
        {
            return Err(RegistryError::Other("manifest digest mismatch".into()));
        }
        self.with_repo(repo, |r| {
            r.manifests
                .insert(digest.to_string(), (media_type.to_string(), bytes.to_vec()));
            if Digest::parse(target).is_none() {
                r.tags.insert(target.to_string(), digest.to_string());
            }
        });
        Ok(())
    }

    fn get_blob(
        &self,
        repo: &Reference,
        digest: &Digest,
        sink: &mut dyn Write,
    ) -> Result<u64, RegistryError> {
        let Some(bytes) = self.with_repo(repo, |r| r.blobs.get(digest.as_str()).cloned()) else {
            return Err(RegistryError::NotFound(format!("blob {digest}")));
        };
        let bytes = self.substituted(digest.as_str()).unwrap_or(bytes);
        // Hand the bytes over in pieces, as a network stream would.
        for chunk in bytes.chunks(64 * 1024) {
            sink.write_all(chunk)
                .map_err(|e| RegistryError::Other(e.to_string()))?;
        }
        Ok(bytes.len() as u64)
    }

    fn put_blob(
        &self,
        repo: &Reference,
        digest: &Digest,
        bytes: &[u8],
    ) -> Result<(), RegistryError> {
        if Digest::of(bytes) != *digest {
            return Err(RegistryError::Other("blob digest mismatch".into()));
        }
        self.with_repo(repo, |r| {
            r.blobs.insert(digest.to_string(), bytes.to_vec());
        });
        Ok(())
    }

    fn referrers(
        &self,
        repo: &Reference,
        digest: &Digest,
    ) -> Result<Option<Vec<u8>>, RegistryError> {
        if !self.referrers_api {
            return Ok(None);
        }
        let mut index = ImageIndex::empty();
        self.with_repo(repo, |r| {
            for (d, (media_type, bytes)) in &r.manifests {
                if let Ok(Manifest::Image(m)) = Manifest::parse(bytes, Some(media_type))
                    && m.subject
                        .as_ref()
                        .is_some_and(|s| s.digest == digest.as_str())
                {
                    index.manifests.push(Descriptor {
                        media_type: media_type.clone(),
                        digest: d.clone(),
                        size: bytes.len() as u64,
                        artifact_type: m.artifact_type.clone().or(Some(m.config.media_type)),
                        annotations: m.annotations.clone(),
                        platform: None,
                    });
                }
            }
        });
        Ok(Some(index.to_json()))
    }

    fn list_tags(&self, repo: &Reference) -> Result<Vec<String>, RegistryError> {
        Ok(self.with_repo(repo, |r| r.tags.keys().cloned().collect()))
    }
}

/// The media types a manifest request accepts, for implementations.
pub fn accepted_media_types() -> &'static [&'static str] {
    manifest::ACCEPTED
}
