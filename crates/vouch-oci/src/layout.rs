//! Pushing a local OCI image layout (`oci-layout`, `index.json`, `blobs/sha256/…`) to a
//! registry: `vouch push DIR IMAGE`, how a release pipeline (and vouch's tests and benchmark)
//! puts an image built from files into a registry without a container runtime.
//!
//! The image is the one manifest `index.json` lists (or the one tagged with the reference's
//! tag through `org.opencontainers.image.ref.name`); an index is pushed with its manifests.
//! Every blob is read from a path built from a validated digest only, and its digest is
//! checked before it is uploaded: a layout cannot make vouch read outside it or push bytes
//! that are not what the manifest names.

use std::path::{Path, PathBuf};

use crate::OciError;
use crate::digest::Digest;
use crate::manifest::{self, Descriptor, Manifest};
use crate::reference::Reference;
use crate::registry::Registry;

/// The largest blob pushed from a layout (blobs are read whole before upload).
pub const MAX_BLOB_LEN: u64 = 2 * 1024 * 1024 * 1024;

fn blob_path(dir: &Path, digest: &Digest) -> PathBuf {
    dir.join("blobs/sha256").join(digest.hex())
}

fn read_blob(dir: &Path, desc: &Descriptor) -> Result<Vec<u8>, OciError> {
    let digest = desc.valid_digest().ok_or_else(|| {
        OciError::Usage(format!(
            "{}: `{}` is not a sha256 digest",
            dir.display(),
            desc.digest
        ))
    })?;
    let path = blob_path(dir, &digest);
    let meta = std::fs::symlink_metadata(&path)
        .map_err(|e| OciError::Usage(format!("{}: {e}", path.display())))?;
    if !meta.is_file() || meta.len() > MAX_BLOB_LEN {
        return Err(OciError::Usage(format!(
            "{}: not a regular file of at most {MAX_BLOB_LEN} bytes",
            path.display()
        )));
    }
    let bytes =
        std::fs::read(&path).map_err(|e| OciError::Usage(format!("{}: {e}", path.display())))?;
    if Digest::of(&bytes) != digest {
        return Err(OciError::Usage(format!(
            "{}: the content is not {digest}",
            path.display()
        )));
    }
    Ok(bytes)
}

/// Pushes the image of layout `dir` to `reference` (its tag, or by digest); returns the
/// digest of the pushed manifest or index.
pub fn push(
    registry: &dyn Registry,
    dir: &Path,
    reference: &Reference,
) -> Result<Digest, OciError> {
    let index_path = dir.join("index.json");
    let index_bytes = std::fs::read(&index_path).map_err(|e| {
        OciError::Usage(format!(
            "{}: {e} (not an OCI image layout?)",
            index_path.display()
        ))
    })?;
    let Ok(Manifest::Index(index)) = Manifest::parse(&index_bytes, Some(manifest::OCI_INDEX))
    else {
        return Err(OciError::Usage(format!(
            "{}: not an OCI image index",
            index_path.display()
        )));
    };
    let tagged: Vec<&Descriptor> = index
        .manifests
        .iter()
        .filter(|d| {
            reference.tag.is_some()
                && d.annotations.get("org.opencontainers.image.ref.name") == reference.tag.as_ref()
        })
        .collect();
    let chosen = match (tagged.as_slice(), index.manifests.as_slice()) {
        ([one], _) => *one,
        ([], [one]) => one,
        _ => {
            return Err(OciError::Usage(format!(
                "{}: {} manifests and none tagged `{}`; which one to push is ambiguous",
                index_path.display(),
                index.manifests.len(),
                reference.tag.as_deref().unwrap_or("")
            )));
        }
    };
    let digest = push_manifest(registry, dir, reference, chosen, true)?;
    if let Some(wanted) = &reference.digest
        && *wanted != digest
    {
        return Err(OciError::Usage(format!(
            "the layout's image is {digest}, not {wanted}"
        )));
    }
    Ok(digest)
}

fn push_manifest(
    registry: &dyn Registry,
    dir: &Path,
    reference: &Reference,
    desc: &Descriptor,
    top: bool,
) -> Result<Digest, OciError> {
    let bytes = read_blob(dir, desc)?;
    let digest = Digest::of(&bytes);
    let parsed = Manifest::parse(&bytes, Some(&desc.media_type))
        .map_err(|e| OciError::Usage(format!("{}: {e}", blob_path(dir, &digest).display())))?;
    let upload = |d: &Descriptor| -> Result<(), OciError> {
        let b = read_blob(dir, d)?;
        registry
            .put_blob(reference, &Digest::of(&b), &b)
            .map_err(|e| {
                OciError::registry(format!("{}: uploading {}", reference.name(), d.digest), e)
            })
    };
    match &parsed {
        Manifest::Image(m) => {
            upload(&m.config)?;
            for l in &m.layers {
                upload(l)?;
            }
        }
        Manifest::Index(i) => {
            for m in &i.manifests {
                push_manifest(registry, dir, reference, m, false)?;
            }
        }
    }
    let target = match (&reference.tag, top) {
        (Some(t), true) => t.clone(),
        _ => digest.to_string(),
    };
    registry
        .put_manifest(reference, &target, parsed.media_type(), &bytes)
        .map_err(|e| OciError::registry(format!("{}: pushing {target}", reference.name()), e))?;
    Ok(digest)
}

/// What [`pull`] copies besides the image manifest and config.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PullOptions {
    /// The layers (for SBOMs and scans).
    pub layers: bool,
    /// The Sigstore bundles attached as referrers, as referrer manifests in the layout (for
    /// the deploy gate, which finds evidence in a layout this way).
    pub referrers: bool,
}

/// Pulls one image into a new OCI image layout at `dir` (which must not exist or be empty),
/// streaming each blob to its file with its digest checked, so memory stays bounded whatever
/// the layer sizes; vouch-sbom's image scanner and vouch-gate read the layout as they read a
/// local one. An index without `platform` is narrowed to `linux/amd64` when it has one (else
/// its first manifest), the platform the scanner would pick in a saved index.
pub fn pull(
    registry: &dyn Registry,
    reference: &Reference,
    platform: Option<&str>,
    dir: &Path,
    options: PullOptions,
) -> Result<crate::image::Resolved, OciError> {
    let mut image = crate::image::resolve(registry, reference, platform)?;
    if let Manifest::Index(index) = &image.manifest {
        let pick = index
            .manifests
            .iter()
            .find(|d| {
                d.platform
                    .as_ref()
                    .is_some_and(|p| p.matches("linux/amd64"))
            })
            .or_else(|| index.manifests.first())
            .and_then(|d| d.platform.as_ref().map(|p| p.name()));
        let Some(p) = pick else {
            return Err(OciError::Usage(format!(
                "{reference}: the index names no platform; pass --platform"
            )));
        };
        image = crate::image::resolve(registry, reference, Some(&p))?;
    }
    let Manifest::Image(m) = &image.manifest else {
        return Err(OciError::Integrity(format!(
            "{reference}: not an image manifest"
        )));
    };
    let blobs = dir.join("blobs/sha256");
    std::fs::create_dir_all(&blobs)
        .map_err(|e| OciError::Usage(format!("{}: {e}", blobs.display())))?;
    let io = |p: &Path, e: std::io::Error| OciError::Usage(format!("{}: {e}", p.display()));
    let layers: &[Descriptor] = if options.layers { &m.layers } else { &[] };
    for desc in std::iter::once(&m.config).chain(layers) {
        let digest = desc.valid_digest().ok_or_else(|| {
            OciError::Integrity(format!(
                "a descriptor names `{}`, not a sha256 digest",
                desc.digest
            ))
        })?;
        let path = blob_path(dir, &digest);
        let file = std::fs::File::create(&path).map_err(|e| io(&path, e))?;
        let mut w = std::io::BufWriter::with_capacity(1 << 20, file);
        if let Err(e) = crate::image::fetch_blob(registry, &image.reference, desc, &mut w) {
            drop(w);
            let _ = std::fs::remove_file(&path);
            return Err(e);
        }
        std::io::Write::flush(&mut w).map_err(|e| io(&path, e))?;
    }
    let manifest_bytes = m.to_json();
    // The manifest as the registry served it (its digest is the image's): re-fetched
    // digest-checked rather than re-serialised.
    let (_, raw) = crate::image::fetch_manifest(registry, &image.reference, &image.digest)?;
    drop(manifest_bytes);
    let mpath = blob_path(dir, &image.digest);
    std::fs::write(&mpath, &raw).map_err(|e| io(&mpath, e))?;
    let mut entry = Descriptor::of(manifest::OCI_MANIFEST, &raw);
    entry.media_type = image.descriptor.media_type.clone();
    entry.annotations.insert(
        "org.opencontainers.image.ref.name".into(),
        reference.to_string(),
    );
    let mut index = crate::manifest::ImageIndex::empty();
    index.manifests.push(entry);
    if options.referrers {
        let repo = &image.reference;
        let (_, found) = crate::referrers::list(registry, repo, &image.digest)?;
        for d in found
            .iter()
            .filter(|d| d.artifact_type.as_deref() == Some(crate::referrers::BUNDLE_ARTIFACT_TYPE))
        {
            let Some(digest) = d.valid_digest() else {
                return Err(OciError::Integrity(format!(
                    "a referrer is listed as `{}`",
                    d.digest
                )));
            };
            let (rm, bytes) = crate::image::fetch_manifest(registry, repo, &digest)?;
            let Manifest::Image(rm) = rm else { continue };
            if rm.subject.as_ref().map(|s| s.digest.as_str()) != Some(image.digest.as_str()) {
                continue;
            }
            for b in std::iter::once(&rm.config).chain(&rm.layers) {
                let blob = crate::image::fetch_small_blob(
                    registry,
                    repo,
                    b,
                    crate::referrers::MAX_BUNDLE_LEN,
                )?;
                let Some(bd) = b.valid_digest() else { continue };
                let p = blob_path(dir, &bd);
                std::fs::write(&p, &blob).map_err(|e| io(&p, e))?;
            }
            let p = blob_path(dir, &digest);
            std::fs::write(&p, &bytes).map_err(|e| io(&p, e))?;
            let mut e = Descriptor::of(manifest::OCI_MANIFEST, &bytes);
            e.artifact_type = rm.artifact_type.clone();
            index.manifests.push(e);
        }
    }
    let write = |name: &str, bytes: &[u8]| {
        let p = dir.join(name);
        std::fs::write(&p, bytes).map_err(|e| io(&p, e))
    };
    write("oci-layout", br#"{"imageLayoutVersion":"1.0.0"}"#)?;
    write("index.json", &index.to_json())?;
    Ok(image)
}
