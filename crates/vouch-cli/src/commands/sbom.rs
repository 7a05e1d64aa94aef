//! `vouch sbom generate|validate|diff`: software bills of materials.

use std::io::Write as _;
use std::path::PathBuf;

use anyhow::Result;
use clap::{Args, Subcommand, ValueEnum};
use vouch_core::InputError;
use vouch_sbom::{SbomFormat, ScanOptions, SpecVersion, WriteOptions};

use crate::cli::GlobalArgs;
use crate::output;

#[derive(Debug, Subcommand)]
pub enum SbomCommand {
    /// Write an SBOM of a project directory, lockfile or root filesystem.
    ///
    /// PATH is a project directory (every lockfile below it, for monorepos), one lockfile, or
    /// an unpacked root filesystem (dpkg / apk databases). Formats (--format): cyclonedx-json
    /// (default), cyclonedx-xml (1.6 only), spdx-json (2.3). Output is byte-deterministic; set
    /// SOURCE_DATE_EPOCH to record a creation time. A lockfile that cannot be read is an
    /// error (exit 2, file and line:column, nothing written) unless --skip-unreadable.
    Generate(GenerateArgs),

    /// Check a CycloneDX 1.6/1.7 or SPDX 2.3 JSON document against its specification.
    ///
    /// Exit 0 valid, 1 invalid (each problem printed with its JSON pointer), 2 not an SBOM.
    Validate(ValidateArgs),

    /// Show what changed between two SBOMs, lockfiles or project directories.
    ///
    /// OLD and NEW may be of different kinds (a CycloneDX file against an SPDX file or a
    /// directory). --format markdown (default; a pull-request comment) or json.
    Diff(DiffArgs),
}

#[derive(Debug, Args)]
pub struct GenerateArgs {
    /// Project directory, lockfile, root filesystem, saved image (`docker save` tarball or
    /// OCI layout), or a container image in a registry (`registry/repo:tag`, pulled with
    /// its layers streamed to a temporary directory).
    pub path: PathBuf,
    #[command(flatten)]
    pub registry: crate::registry::RegistryArgs,
    /// CycloneDX specification version.
    #[arg(long, value_name = "VERSION", default_value = "1.6", value_parser = ["1.6", "1.7"])]
    pub spec_version: String,
    /// Use this `urn:uuid:…` as the CycloneDX serialNumber instead of one derived from the content.
    #[arg(long, value_name = "URN")]
    pub serial_number: Option<String>,
    /// Skip a lockfile that cannot be read (with a warning; its components are then missing
    /// from the SBOM) instead of failing with exit 2.
    #[arg(long)]
    pub skip_unreadable: bool,
    /// Fail on a lockfile that cannot be read: the default; kept so that existing scripts work.
    #[arg(long, hide = true, conflicts_with = "skip_unreadable")]
    pub strict: bool,
    /// Write an empty SBOM for a directory without any package source (lockfile, manifest,
    /// OS package database) instead of failing with exit 2.
    #[arg(long)]
    pub allow_empty: bool,
}

#[derive(Debug, Args)]
pub struct ValidateArgs {
    /// The SBOM file (JSON).
    pub file: PathBuf,
}

#[derive(Debug, Args)]
pub struct DiffArgs {
    /// The old SBOM, lockfile or directory.
    pub old: PathBuf,
    /// The new SBOM, lockfile or directory.
    pub new: PathBuf,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum GenerateFormat {
    CyclonedxJson,
    CyclonedxXml,
    SpdxJson,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum DiffFormat {
    Markdown,
    Json,
}

pub fn run(global: &GlobalArgs, cmd: SbomCommand) -> Result<u8> {
    match cmd {
        SbomCommand::Generate(a) => generate(global, a),
        SbomCommand::Validate(a) => validate(global, a),
        SbomCommand::Diff(a) => diff(global, a),
    }
}

fn valid_urn(s: &str) -> bool {
    let Some(u) = s.strip_prefix("urn:uuid:") else {
        return false;
    };
    let groups: Vec<&str> = u.split('-').collect();
    groups.len() == 5
        && groups.iter().zip([8, 4, 4, 4, 12]).all(|(g, n)| {
            g.len() == n
                && g.bytes()
                    .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
        })
        && matches!(groups[2].as_bytes()[0], b'1'..=b'5')
        && matches!(groups[3].as_bytes()[0], b'8' | b'9' | b'a' | b'b')
}

fn generate(global: &GlobalArgs, a: GenerateArgs) -> Result<u8> {
    let format = match output::format_as(global, GenerateFormat::CyclonedxJson)? {
        GenerateFormat::CyclonedxJson => SbomFormat::CycloneDxJson,
        GenerateFormat::CyclonedxXml => SbomFormat::CycloneDxXml,
        GenerateFormat::SpdxJson => SbomFormat::SpdxJson,
    };
    let spec = SpecVersion::parse(&a.spec_version).unwrap_or_default();
    if format == SbomFormat::CycloneDxXml && spec != SpecVersion::V1_6 {
        return Err(
            InputError::new("CycloneDX XML is written for spec version 1.6 only")
                .with_hint("use --spec-version 1.6, or --format cyclonedx-json for 1.7")
                .into(),
        );
    }
    if let Some(s) = &a.serial_number
        && !valid_urn(s)
    {
        return Err(
            InputError::new(format!("--serial-number `{s}` is not a urn:uuid"))
                .with_hint("use the form urn:uuid:xxxxxxxx-xxxx-4xxx-8xxx-xxxxxxxxxxxx (lowercase)")
                .into(),
        );
    }
    let opts = WriteOptions {
        cyclonedx_version: spec,
        serial_number: a.serial_number.clone(),
        timestamp: WriteOptions::timestamp_from_env()?,
    };
    let pulled = crate::commands::image::pull_for_scan(global, &a.path, &a.registry)?;
    let path = pulled.as_ref().map_or(a.path.as_path(), |d| d.path());
    let scan_opts = ScanOptions {
        skip_unreadable: a.skip_unreadable,
    };
    let inv = vouch_sbom::scan_with(path, &scan_opts)?;
    if !a.allow_empty {
        vouch_sbom::scan::require_sources(path, &inv)?;
    }
    for w in &inv.warnings {
        output::warn(
            global,
            &format!("{w} (skipped: --skip-unreadable; its components are missing)"),
        );
    }
    if matches!(format, SbomFormat::CycloneDxJson) {
        // Streamed: a million-component SBOM is never held in memory as one buffer.
        stream(global, |w| {
            vouch_sbom::cyclonedx::write_json(&inv, &opts, w)
        })?;
    } else {
        let bytes = vouch_sbom::write(&inv, format, &opts);
        output::emit(global, &bytes)?;
    }
    Ok(0)
}

/// Writes through `f` to `-o FILE` (atomically: a temporary file in the same directory,
/// renamed into place) or to stdout.
fn stream(
    global: &GlobalArgs,
    f: impl FnOnce(&mut dyn std::io::Write) -> std::io::Result<()>,
) -> Result<()> {
    match &global.output {
        Some(path) => {
            let dir = match path.parent() {
                Some(d) if !d.as_os_str().is_empty() => d,
                _ => std::path::Path::new("."),
            };
            let cannot =
                |e: std::io::Error| InputError::in_file(path, format!("cannot write: {e}"));
            let tmp = tempfile::NamedTempFile::new_in(dir).map_err(cannot)?;
            let mut w = std::io::BufWriter::with_capacity(1 << 20, tmp);
            f(&mut w).and_then(|_| w.flush()).map_err(cannot)?;
            let tmp = w.into_inner().map_err(|e| cannot(e.into_error()))?;
            tmp.as_file().sync_all().map_err(cannot)?;
            tmp.persist(path)
                .map_err(|e| InputError::in_file(path, format!("cannot write: {}", e.error)))?;
            Ok(())
        }
        None => {
            let mut w = std::io::BufWriter::with_capacity(1 << 20, std::io::stdout().lock());
            f(&mut w)
                .and_then(|_| w.flush())
                .map_err(|e| anyhow::anyhow!("writing to stdout: {e}"))
        }
    }
}

fn validate(global: &GlobalArgs, a: ValidateArgs) -> Result<u8> {
    let text = std::fs::read_to_string(&a.file)
        .map_err(|e| InputError::in_file(&a.file, format!("cannot read: {e}")))?;
    let name = a.file.to_string_lossy();
    let (kind, problems) = vouch_sbom::validate(&name, &text)?;
    let what = match &kind {
        vouch_sbom::validate::Kind::CycloneDx(v) => format!("CycloneDX {v}"),
        vouch_sbom::validate::Kind::Spdx(v) => v.clone(),
    };
    let mut out = String::new();
    if problems.is_empty() {
        out.push_str(&format!("{name}: valid {what}\n"));
    } else {
        for p in &problems {
            let ptr = if p.pointer.is_empty() {
                "/"
            } else {
                &p.pointer
            };
            out.push_str(&format!("{name}: {ptr}: {}\n", p.message));
        }
        out.push_str(&format!(
            "{name}: invalid {what} ({} problems)\n",
            problems.len()
        ));
    }
    if !(global.quiet && problems.is_empty()) {
        output::emit(global, out.as_bytes())?;
    }
    let _ = std::io::stdout().flush();
    Ok(if problems.is_empty() { 0 } else { 1 })
}

fn diff(global: &GlobalArgs, a: DiffArgs) -> Result<u8> {
    let format = output::format_as(global, DiffFormat::Markdown)?;
    // CycloneDX files are streamed: two million-component SBOMs are never held as documents.
    let d = vouch_sbom::diff::diff_paths(&a.old, &a.new)?;
    let bytes = match format {
        DiffFormat::Markdown => vouch_sbom::diff::to_markdown(&d).into_bytes(),
        DiffFormat::Json => vouch_sbom::diff::to_json(&d),
    };
    output::emit(global, &bytes)?;
    Ok(0)
}
