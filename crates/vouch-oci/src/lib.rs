//! vouch-oci: container images in OCI registries — references, manifests and indexes, and
//! signatures and attestations stored beside images the way cosign stores them.
//!
//! - [`reference`]: `registry/repo:tag`, `@sha256:…`, Docker's defaults.
//! - [`manifest`]: manifests, indexes, descriptors, platforms.
//! - [`registry`]: the [`Registry`] trait (the distribution API vouch uses) and an
//!   in-memory implementation for tests. The network implementation lives in `vouch-cli`:
//!   this crate never opens a connection, reads credentials, prints or exits.
//! - [`image`]: tag → digest once, digest-checked pulls, streamed blobs.
//! - [`referrers`]: bundles as OCI 1.1 referrers (cosign v3), referrers API or tag schema.
//! - [`legacy`]: cosign v2 `.sig` / `.att` tags, read as bundles.
//! - [`ops`]: `sign`, `attest`, `verify`, `tree`.
//! - [`layout`]: push a local OCI image layout to a registry.
//!
//! Signatures are made and judged by vouch-attest; nothing here decides whether a signature
//! is good.

// Panics on input are bugs: library code returns errors instead (tests may unwrap).
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]

pub mod digest;
pub mod image;
pub mod layout;
pub mod legacy;
pub mod manifest;
pub mod ops;
pub mod reference;
pub mod referrers;
pub mod registry;

pub use digest::Digest;
pub use reference::{Reference, ReferenceError, looks_like_image};
pub use registry::{MemoryRegistry, RawManifest, Registry, RegistryError};

/// Why an image operation could not be done.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OciError {
    /// Bad usage: a reference that does not parse, a platform the image lacks.
    #[error("{0}")]
    Usage(String),
    /// The registry could not be asked, or refused (after the client's retries).
    #[error("{what}: {source}")]
    Registry {
        /// What was being asked for.
        what: String,
        /// The registry's answer.
        source: RegistryError,
    },
    /// The registry served content that is not what it was asked for (a digest mismatch), or
    /// a manifest that is not one: evidence that cannot be trusted.
    #[error("{0}")]
    Integrity(String),
}

impl OciError {
    /// A registry error about `what`.
    pub fn registry(what: String, source: RegistryError) -> OciError {
        match source {
            RegistryError::Corrupt(m) => OciError::Integrity(format!("{what}: {m}")),
            source => OciError::Registry { what, source },
        }
    }
}

impl From<ReferenceError> for OciError {
    fn from(e: ReferenceError) -> Self {
        OciError::Usage(e.to_string())
    }
}
