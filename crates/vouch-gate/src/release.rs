//! `release.json`: the manifest `vouch release` writes, listing every file of a release with
//! its digest, and which bundle signs or attests what. The gate reads it to find evidence.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use vouch_core::InputError;

/// The manifest's file name.
pub const MANIFEST: &str = "release.json";

/// Version of the manifest format.
pub const SCHEMA_VERSION: u32 = 1;

/// One released artifact.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Artifact {
    /// File name of the artifact (its subject name in statements).
    pub name: String,
    /// Lowercase hex SHA-256 of the artifact.
    pub sha256: String,
    pub size: u64,
    /// The blob bundle signing it, relative to the manifest.
    pub signature: String,
}

/// One attestation covering the artifacts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Attestation {
    /// The predicate type URI.
    #[serde(rename = "type")]
    pub predicate_type: String,
    /// The DSSE bundle, relative to the manifest.
    pub bundle: String,
    /// The predicate document (SBOM, provenance), relative to the manifest.
    pub predicate: String,
}

/// A file of the release with its digest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileDigest {
    pub path: String,
    pub sha256: String,
}

/// The manifest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    pub schema_version: u32,
    pub artifacts: Vec<Artifact>,
    pub attestations: Vec<Attestation>,
    /// `checksums.txt` (sha256sum format) and its blob bundle.
    pub checksums: String,
    pub checksums_signature: String,
    /// Every file the release wrote besides this manifest, sorted by path.
    pub files: Vec<FileDigest>,
}

/// A manifest read from disk, with its directory.
#[derive(Debug, Clone)]
pub struct Loaded {
    pub dir: PathBuf,
    pub manifest: Manifest,
}

impl Loaded {
    /// A path named in the manifest, resolved against its directory. Names that would leave
    /// the release directory are refused (`None`).
    pub fn resolve(&self, rel: &str) -> Option<PathBuf> {
        let p = Path::new(rel);
        let safe = p
            .components()
            .all(|c| matches!(c, std::path::Component::Normal(_)));
        safe.then(|| self.dir.join(p))
    }
}

/// Reads `dir/release.json`.
pub fn load(dir: &Path) -> Result<Loaded, InputError> {
    let path = dir.join(MANIFEST);
    let text = std::fs::read_to_string(&path)
        .map_err(|e| InputError::in_file(&path, format!("cannot read: {e}")))?;
    let manifest: Manifest = serde_json::from_str(&text).map_err(|e| {
        InputError::at(
            &path,
            u32::try_from(e.line()).unwrap_or(0),
            u32::try_from(e.column()).ok(),
            format!("not a vouch release manifest: {e}"),
        )
    })?;
    if manifest.schema_version != SCHEMA_VERSION {
        return Err(InputError::in_file(
            &path,
            format!(
                "release manifest version {} is not supported (expected {SCHEMA_VERSION})",
                manifest.schema_version
            ),
        ));
    }
    Ok(Loaded {
        dir: dir.to_path_buf(),
        manifest,
    })
}

/// Release directories to search when the user names none: the artifact's directory, the
/// current directory, and the current directory's immediate subdirectories.
pub fn search(artifact_dir: Option<&Path>) -> Vec<PathBuf> {
    let mut dirs: Vec<PathBuf> = Vec::new();
    let mut push = |d: PathBuf| {
        if d.join(MANIFEST).is_file() && !dirs.contains(&d) {
            dirs.push(d);
        }
    };
    if let Some(d) = artifact_dir {
        push(if d.as_os_str().is_empty() {
            PathBuf::from(".")
        } else {
            d.to_path_buf()
        });
    }
    push(PathBuf::from("."));
    if let Ok(entries) = std::fs::read_dir(".") {
        let mut subdirs: Vec<PathBuf> = entries
            .flatten()
            .filter(|e| e.path().is_dir())
            .map(|e| PathBuf::from(e.file_name()))
            .collect();
        subdirs.sort();
        for d in subdirs {
            push(d);
        }
    }
    dirs
}

/// What `vouch release` is given.
pub struct ReleaseInput<'a> {
    /// The artifacts to release.
    pub artifacts: &'a [PathBuf],
    /// The directory to write (must not exist, or be empty, unless `replace`).
    pub out_dir: &'a Path,
    pub replace: bool,
    pub signer: &'a dyn vouch_crypto::signer::Signer,
    /// The provenance predicate (SLSA v1).
    pub provenance: serde_json::Value,
    /// A CycloneDX JSON SBOM of what was built, if any.
    pub sbom: Option<Vec<u8>>,
    /// Logs each bundle in a transparency log and adds the entry to it (`--tlog`), before the
    /// bundle is written.
    pub log: Option<&'a BundleLogger<'a>>,
}

/// Logs a bundle in a transparency log and puts the entry in it.
pub type BundleLogger<'a> = dyn Fn(&mut vouch_attest::Bundle) -> Result<(), InputError> + 'a;

/// Why a release could not be written.
#[derive(Debug, thiserror::Error)]
pub enum ReleaseError {
    #[error(transparent)]
    Input(#[from] InputError),
    #[error("signing failed: {0}")]
    Sign(#[from] vouch_attest::AttestError),
}

fn sha256_file(path: &Path) -> Result<(String, u64), InputError> {
    use sha2::Digest;
    use std::io::Read;
    let mut f = std::fs::File::open(path)
        .map_err(|e| InputError::in_file(path, format!("cannot read: {e}")))?;
    let mut h = sha2::Sha256::new();
    let mut buf = vec![0u8; 64 * 1024];
    let mut size = 0u64;
    loop {
        let n = f
            .read(&mut buf)
            .map_err(|e| InputError::in_file(path, format!("cannot read: {e}")))?;
        if n == 0 {
            break;
        }
        size += n as u64;
        h.update(&buf[..n]);
    }
    Ok((hex::encode(h.finalize()), size))
}

/// Writes a release: a signed bundle per artifact, a signed provenance attestation and SBOM
/// attestation over all artifacts, `checksums.txt` and its signature, and `release.json`
/// listing every file with its digest. Everything is written to a temporary directory beside
/// `out_dir` and renamed into place, so a failure leaves nothing half-written.
pub fn write(input: &ReleaseInput<'_>) -> Result<Manifest, ReleaseError> {
    use vouch_attest::statement::{ResourceDescriptor, STATEMENT_V1, Statement};
    let out = input.out_dir;
    if out.exists() {
        let empty = std::fs::read_dir(out)
            .map(|mut d| d.next().is_none())
            .unwrap_or(false);
        if !empty && !input.replace {
            return Err(
                InputError::in_file(out, "the release directory already exists")
                    .with_hint("choose another --out-dir or pass --force to replace it")
                    .into(),
            );
        }
    }
    if input.artifacts.is_empty() {
        return Err(InputError::new("no artifacts to release").into());
    }
    let parent = out
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    std::fs::create_dir_all(parent)
        .map_err(|e| InputError::in_file(parent, format!("cannot create: {e}")))?;
    let tmp = tempfile_dir(parent)?;
    let mut files: Vec<FileDigest> = Vec::new();
    let put = |name: &str, bytes: &[u8], files: &mut Vec<FileDigest>| -> Result<(), InputError> {
        use sha2::Digest;
        let p = tmp.path().join(name);
        std::fs::write(&p, bytes)
            .map_err(|e| InputError::in_file(&p, format!("cannot write: {e}")))?;
        files.push(FileDigest {
            path: name.to_string(),
            sha256: hex::encode(sha2::Sha256::digest(bytes)),
        });
        Ok(())
    };

    let mut artifacts = Vec::new();
    let mut names = BTreeSet::new();
    for path in input.artifacts {
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .ok_or_else(|| InputError::in_file(path, "not a file"))?;
        if !names.insert(name.clone()) {
            return Err(
                InputError::in_file(path, format!("two artifacts are named `{name}`"))
                    .with_hint("release artifacts need distinct file names")
                    .into(),
            );
        }
        let (sha256, size) = sha256_file(path)?;
        let reader = std::fs::File::open(path)
            .map_err(|e| InputError::in_file(path, format!("cannot read: {e}")))?;
        let mut bundle =
            vouch_attest::sign::sign_blob(input.signer, std::io::BufReader::new(reader))?;
        if let Some(log) = input.log {
            log(&mut bundle)?;
        }
        let sig_name = format!("{name}.sigstore.json");
        put(&sig_name, &bundle.to_json(), &mut files)?;
        artifacts.push(Artifact {
            name,
            sha256,
            size,
            signature: sig_name,
        });
    }
    artifacts.sort_by(|a, b| a.name.cmp(&b.name));
    let subjects: Vec<ResourceDescriptor> = artifacts
        .iter()
        .map(|a| ResourceDescriptor {
            name: Some(a.name.clone()),
            uri: None,
            digest: [("sha256".to_string(), a.sha256.clone())]
                .into_iter()
                .collect(),
            other: serde_json::Map::new(),
        })
        .collect();

    let mut attestations = Vec::new();
    let mut attest = |kind: &str,
                      predicate_type: &str,
                      predicate: serde_json::Value,
                      predicate_file: &str,
                      predicate_bytes: &[u8],
                      files: &mut Vec<FileDigest>|
     -> Result<(), ReleaseError> {
        let statement = Statement {
            type_: STATEMENT_V1.to_string(),
            subject: subjects.clone(),
            predicate_type: predicate_type.to_string(),
            predicate: Some(predicate),
        };
        let mut bundle = vouch_attest::sign::attest(input.signer, &statement)?;
        if let Some(log) = input.log {
            log(&mut bundle)?;
        }
        let bundle_name = format!("{kind}.sigstore.json");
        put(predicate_file, predicate_bytes, files)?;
        put(&bundle_name, &bundle.to_json(), files)?;
        attestations.push(Attestation {
            predicate_type: predicate_type.to_string(),
            bundle: bundle_name,
            predicate: predicate_file.to_string(),
        });
        Ok(())
    };
    let prov_bytes = pretty(&input.provenance);
    attest(
        "provenance",
        crate::provenance::PREDICATE_TYPE,
        input.provenance.clone(),
        "provenance.json",
        &prov_bytes,
        &mut files,
    )?;
    if let Some(sbom) = &input.sbom {
        let value: serde_json::Value = serde_json::from_slice(sbom)
            .map_err(|e| InputError::new(format!("the SBOM is not JSON: {e}")))?;
        attest(
            "sbom",
            "https://cyclonedx.org/bom",
            value,
            "sbom.cdx.json",
            sbom,
            &mut files,
        )?;
    }

    let mut checksums = String::new();
    for a in &artifacts {
        checksums.push_str(&format!("{}  {}\n", a.sha256, a.name));
    }
    put("checksums.txt", checksums.as_bytes(), &mut files)?;
    let mut bundle = vouch_attest::sign::sign_blob(input.signer, checksums.as_bytes())?;
    if let Some(log) = input.log {
        log(&mut bundle)?;
    }
    put("checksums.txt.sigstore.json", &bundle.to_json(), &mut files)?;
    files.sort_by(|a, b| a.path.cmp(&b.path));

    let manifest = Manifest {
        schema_version: SCHEMA_VERSION,
        artifacts,
        attestations,
        checksums: "checksums.txt".into(),
        checksums_signature: "checksums.txt.sigstore.json".into(),
        files,
    };
    let manifest_bytes =
        pretty(&serde_json::to_value(&manifest).map_err(|e| InputError::new(e.to_string()))?);
    let p = tmp.path().join(MANIFEST);
    std::fs::write(&p, &manifest_bytes)
        .map_err(|e| InputError::in_file(&p, format!("cannot write: {e}")))?;
    if out.exists() {
        std::fs::remove_dir_all(out)
            .map_err(|e| InputError::in_file(out, format!("cannot replace: {e}")))?;
    }
    let kept = tmp.keep();
    std::fs::rename(&kept, out).map_err(|e| {
        let _ = std::fs::remove_dir_all(&kept);
        InputError::in_file(out, format!("cannot move the release into place: {e}"))
    })?;
    Ok(manifest)
}

fn pretty(v: &serde_json::Value) -> Vec<u8> {
    let mut b = serde_json::to_vec_pretty(v).unwrap_or_default();
    b.push(b'\n');
    b
}

fn tempfile_dir(parent: &Path) -> Result<tempfile::TempDir, InputError> {
    tempfile::Builder::new()
        .prefix(".vouch-release-")
        .tempdir_in(parent)
        .map_err(|e| {
            InputError::in_file(parent, format!("cannot create a temporary directory: {e}"))
        })
}

use std::collections::BTreeSet;

/// The SBOM a release carries, and what the caller should tell the user about it.
#[derive(Debug, Clone, Default)]
pub struct ReleaseSbom {
    /// CycloneDX JSON; `None` when the default tree has no package sources.
    pub sbom: Option<Vec<u8>>,
    /// Why there is no SBOM, to show as a warning.
    pub warning: Option<String>,
}

/// The CycloneDX SBOM of the source tree for a release (the project's lockfiles and manifests,
/// as `vouch sbom generate` reads them): `given`, or `.`. A tree without package sources is an
/// error when it was given (or a lockfile in it cannot be read); the default tree without them
/// gives no SBOM and a warning, rather than an empty SBOM that claims no dependencies.
/// `allow_empty` writes the empty SBOM instead. The document time is `SOURCE_DATE_EPOCH`,
/// read through `env`.
pub fn sbom(
    given: Option<&Path>,
    allow_empty: bool,
    env: &crate::provenance::Env<'_>,
) -> Result<ReleaseSbom, InputError> {
    let source = given.unwrap_or(Path::new("."));
    let inventory = vouch_sbom::scan(source)?;
    if !allow_empty && let Err(e) = vouch_sbom::scan::require_sources(source, &inventory) {
        // The gate's SBOM and vulnerability conditions then have nothing to accept.
        if given.is_some() || !inventory.warnings.is_empty() {
            return Err(e);
        }
        return Ok(ReleaseSbom {
            sbom: None,
            warning: Some(format!(
                "no package sources found under {}: the release carries no SBOM (point --sbom-source at the project, or --allow-empty to write an empty one)",
                source.display()
            )),
        });
    }
    let opts = vouch_sbom::WriteOptions {
        timestamp: sbom_timestamp(env)?,
        ..Default::default()
    };
    Ok(ReleaseSbom {
        sbom: Some(vouch_sbom::write(
            &inventory,
            vouch_sbom::SbomFormat::CycloneDxJson,
            &opts,
        )),
        warning: None,
    })
}

/// `SOURCE_DATE_EPOCH` as the SBOM's document time (as `vouch sbom generate` reads it).
fn sbom_timestamp(env: &crate::provenance::Env<'_>) -> Result<Option<jiff::Timestamp>, InputError> {
    let Some(v) = env("SOURCE_DATE_EPOCH") else {
        return Ok(None);
    };
    v.trim()
        .parse::<i64>()
        .ok()
        .and_then(|s| jiff::Timestamp::from_second(s).ok())
        .map(Some)
        .ok_or_else(|| {
            InputError::new(format!("SOURCE_DATE_EPOCH=`{v}` is not a Unix time")).with_hint(
                "set it to whole seconds since 1970-01-01, e.g. `git log -1 --format=%ct`",
            )
        })
}

/// Refuses artifacts that are not regular files (checked before a signing key is unlocked).
pub fn check_artifacts(files: &[PathBuf]) -> Result<(), InputError> {
    for f in files {
        if !f.is_file() {
            return Err(InputError::in_file(f, "not a file")
                .with_hint("vouch release takes the artifact files"));
        }
    }
    Ok(())
}

/// What `vouch release` is asked: the artifacts, the signer, the build's provenance inputs and
/// the SBOM source.
pub struct ReleaseRequest<'a> {
    pub artifacts: &'a [PathBuf],
    pub out_dir: &'a Path,
    /// Replace an existing release directory.
    pub replace: bool,
    pub signer: &'a dyn vouch_crypto::signer::Signer,
    /// Overrides of the detected builder.
    pub overrides: &'a crate::provenance::Overrides,
    /// The build's environment (CI variables, `SOURCE_DATE_EPOCH`).
    pub env: &'a crate::provenance::Env<'a>,
    /// The source tree for the SBOM; `None` = `.` (see [`sbom`]).
    pub sbom_source: Option<&'a Path>,
    pub allow_empty: bool,
    pub log: Option<&'a BundleLogger<'a>>,
}

/// A written release.
#[derive(Debug)]
pub struct Released {
    pub manifest: Manifest,
    /// Warnings for the user (a release without an SBOM).
    pub warnings: Vec<String>,
}

/// A release that failed, with the warnings produced before it did.
#[derive(Debug)]
pub struct ReleaseFailure {
    pub error: ReleaseError,
    pub warnings: Vec<String>,
}

impl From<ReleaseError> for ReleaseFailure {
    fn from(error: ReleaseError) -> Self {
        ReleaseFailure {
            error,
            warnings: Vec::new(),
        }
    }
}

impl From<InputError> for ReleaseFailure {
    fn from(e: InputError) -> Self {
        ReleaseError::Input(e).into()
    }
}

/// Releases the artifacts: provenance from the environment, the SBOM of the source tree, then
/// [`write`].
pub fn release(req: &ReleaseRequest<'_>) -> Result<Released, ReleaseFailure> {
    check_artifacts(req.artifacts)?;
    let provenance = crate::provenance::predicate(
        req.env,
        req.overrides,
        crate::provenance::source_date_epoch(req.env)?,
    );
    let sbom = sbom(req.sbom_source, req.allow_empty, req.env)?;
    let warnings: Vec<String> = sbom.warning.into_iter().collect();
    let manifest = write(&ReleaseInput {
        artifacts: req.artifacts,
        out_dir: req.out_dir,
        replace: req.replace,
        signer: req.signer,
        provenance,
        sbom: sbom.sbom,
        log: req.log,
    })
    .map_err(|error| ReleaseFailure {
        error,
        warnings: warnings.clone(),
    })?;
    Ok(Released { manifest, warnings })
}
