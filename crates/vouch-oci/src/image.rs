//! Reading an image from a registry with every digest checked: a tag is resolved to a
//! digest once, and each manifest and blob pulled afterwards is hashed and compared with the
//! digest it was asked for. A registry that serves other bytes is an error
//! ([`OciError::Integrity`]); nothing it served is used.
//!
//! Blobs are streamed ([`fetch_blob`]): the caller's writer receives the bytes as they come
//! and the digest is checked at the end, so a layer of any size is pulled in bounded memory.
//! A caller must discard what it wrote when the fetch fails.

use std::io::Write;

use crate::OciError;
use crate::digest::{Digest, Hasher};
use crate::manifest::{Descriptor, Manifest};
use crate::reference::Reference;
use crate::registry::Registry;

/// An image reference resolved to the digest everything is about.
#[derive(Debug, Clone)]
pub struct Resolved {
    /// The reference as given (its tag, if any, is only for display).
    pub reference: Reference,
    /// The digest of the manifest (or index) the reference names.
    pub digest: Digest,
    /// The manifest.
    pub manifest: Manifest,
    /// A descriptor of the manifest (media type, digest, size): the `subject` of referrers.
    pub descriptor: Descriptor,
}

impl Resolved {
    /// The reference pinned to the digest (`registry/repo@sha256:…`).
    pub fn pinned(&self) -> Reference {
        self.reference.at_digest(&self.digest)
    }
}

/// Resolves `reference` to a digest (pulling its manifest once). With `platform`
/// (`os/arch[/variant]`), an index is resolved to the one manifest for that platform; without
/// it, an index is the subject itself (signing an index signs every platform at once).
pub fn resolve(
    registry: &dyn Registry,
    reference: &Reference,
    platform: Option<&str>,
) -> Result<Resolved, OciError> {
    let raw = registry
        .get_manifest(reference, &reference.target())
        .map_err(|e| OciError::registry(format!("{reference}"), e))?;
    let digest = Digest::of(&raw.bytes);
    if let Some(wanted) = &reference.digest
        && *wanted != digest
    {
        return Err(OciError::Integrity(format!(
            "{reference}: the registry served a manifest whose digest is {digest}"
        )));
    }
    let manifest = Manifest::parse(&raw.bytes, raw.content_type.as_deref())
        .map_err(|e| OciError::Integrity(format!("{reference}: {e}")))?;
    let descriptor = Descriptor::of(manifest.media_type(), &raw.bytes);
    let resolved = Resolved {
        reference: reference.clone(),
        digest,
        manifest,
        descriptor,
    };
    match platform {
        None => Ok(resolved),
        Some(p) => select_platform(registry, resolved, p),
    }
}

fn select_platform(
    registry: &dyn Registry,
    resolved: Resolved,
    platform: &str,
) -> Result<Resolved, OciError> {
    let Manifest::Index(index) = &resolved.manifest else {
        return Err(OciError::Usage(format!(
            "{}: --platform {platform} given, but the image is a single-platform manifest",
            resolved.reference
        )));
    };
    let mut matching = index
        .manifests
        .iter()
        .filter(|d| d.platform.as_ref().is_some_and(|p| p.matches(platform)));
    let (Some(entry), None) = (matching.next(), matching.next()) else {
        let available: Vec<String> = index
            .manifests
            .iter()
            .filter_map(|d| d.platform.as_ref().map(|p| p.name()))
            .collect();
        return Err(OciError::Usage(format!(
            "{}: no single manifest for platform {platform} (the index has: {})",
            resolved.reference,
            available.join(", ")
        )));
    };
    let digest = entry.valid_digest().ok_or_else(|| {
        OciError::Integrity(format!(
            "the index lists `{}`, not a sha256 digest",
            entry.digest
        ))
    })?;
    let (manifest, bytes) = fetch_manifest(registry, &resolved.reference, &digest)?;
    Ok(Resolved {
        reference: resolved.reference.at_digest(&digest),
        descriptor: Descriptor::of(manifest.media_type(), &bytes),
        digest,
        manifest,
    })
}

/// Pulls the manifest at `digest` and checks that it is that digest.
pub fn fetch_manifest(
    registry: &dyn Registry,
    repo: &Reference,
    digest: &Digest,
) -> Result<(Manifest, Vec<u8>), OciError> {
    let raw = registry
        .get_manifest(repo, digest.as_str())
        .map_err(|e| OciError::registry(format!("{}@{digest}", repo.name()), e))?;
    let got = Digest::of(&raw.bytes);
    if got != *digest {
        return Err(OciError::Integrity(format!(
            "{}: asked for manifest {digest}, the registry served {got}",
            repo.name()
        )));
    }
    let manifest = Manifest::parse(&raw.bytes, raw.content_type.as_deref())
        .map_err(|e| OciError::Integrity(format!("{}@{digest}: {e}", repo.name())))?;
    Ok((manifest, raw.bytes))
}

/// A writer that hashes, counts and refuses to go past a limit.
struct Checked<'a> {
    sink: &'a mut dyn Write,
    hasher: Hasher,
    written: u64,
    limit: u64,
}

impl Write for Checked<'_> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.written = self.written.saturating_add(buf.len() as u64);
        if self.written > self.limit {
            return Err(std::io::Error::other(format!(
                "more than the {} bytes the descriptor announced",
                self.limit
            )));
        }
        self.hasher.update(buf);
        self.sink.write_all(buf)?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.sink.flush()
    }
}

/// Streams the blob `desc` names into `sink`, checking its size and digest. On error the
/// caller must discard what `sink` received.
pub fn fetch_blob(
    registry: &dyn Registry,
    repo: &Reference,
    desc: &Descriptor,
    sink: &mut dyn Write,
) -> Result<(), OciError> {
    let digest = desc.valid_digest().ok_or_else(|| {
        OciError::Integrity(format!(
            "a descriptor names `{}`, not a sha256 digest",
            desc.digest
        ))
    })?;
    let mut checked = Checked {
        sink,
        hasher: Hasher::default(),
        written: 0,
        limit: desc.size,
    };
    let result = registry.get_blob(repo, &digest, &mut checked);
    if checked.written > checked.limit {
        return Err(OciError::Integrity(format!(
            "{}: blob {digest} is longer than the {} bytes its descriptor announced",
            repo.name(),
            desc.size
        )));
    }
    result.map_err(|e| OciError::registry(format!("{}@{digest}", repo.name()), e))?;
    let (got, len) = checked.hasher.finish();
    if got != digest || len != desc.size {
        return Err(OciError::Integrity(format!(
            "{}: asked for blob {digest} ({} bytes), the registry served {got} ({len} bytes)",
            repo.name(),
            desc.size
        )));
    }
    Ok(())
}

/// Pulls a small blob (a bundle, a signature payload) whole, checked; at most `max` bytes.
pub fn fetch_small_blob(
    registry: &dyn Registry,
    repo: &Reference,
    desc: &Descriptor,
    max: u64,
) -> Result<Vec<u8>, OciError> {
    if desc.size > max {
        return Err(OciError::Integrity(format!(
            "{}: blob {} is {} bytes, more than the {max} accepted",
            repo.name(),
            desc.digest,
            desc.size
        )));
    }
    let mut out = Vec::with_capacity(usize::try_from(desc.size).unwrap_or(0));
    fetch_blob(registry, repo, desc, &mut out)?;
    Ok(out)
}
