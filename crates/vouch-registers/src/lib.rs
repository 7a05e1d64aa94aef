//! vouch-registers: the D1–D7 security registers of the security & privacy mini-spec, kept as
//! CSV or YAML files under `security/`, validated, gated, and reported.
//!
//! Registers are the team's own records, so malformed files are bad input (file, row, column);
//! gates produce ordinary `vouch_core::Finding`s that go through exceptions and thresholds like
//! every other check. This crate never prints, never writes outside the paths it is given, and
//! never fetches anything: the HTML report is one self-contained file.

// Panics on input are bugs: library and binary code returns errors instead (tests may unwrap).
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]

pub mod check;
pub mod csv;
pub mod export;
pub mod gates;
pub mod register;
pub mod report;
pub mod schema;
pub mod svg;
pub mod sync;
pub mod threats;

use std::path::{Path, PathBuf};

use serde::Deserialize;
use vouch_core::{Finding, InputError, Location};

pub use gates::GateContext;
pub use register::Register;
pub use schema::RegisterKind;

/// The directory registers live in, relative to the repository root.
pub const DEFAULT_DIR: &str = "security";

/// `[registers]` in vouch.toml.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RegistersConfig {
    /// Directory holding the registers (default `security`).
    pub dir: Option<String>,
    /// SPDX licence ids allowed in D3; when unset, licences are not judged.
    pub allowed_licences: Option<Vec<String>>,
}

impl RegistersConfig {
    pub fn dir(&self) -> &str {
        self.dir.as_deref().unwrap_or(DEFAULT_DIR)
    }
}

/// A register file found on disk.
#[derive(Debug, Clone)]
pub struct Found {
    pub kind: RegisterKind,
    pub full: PathBuf,
    /// Relative to the repository root, `/`-separated.
    pub rel: String,
}

/// Finds the register files in `root/dir` (not in subdirectories such as `examples/`).
/// Two files for one register (CSV and YAML) are an error.
pub fn discover(root: &Path, dir: &str) -> Result<Vec<Found>, InputError> {
    let base = root.join(dir);
    let Ok(entries) = std::fs::read_dir(&base) else {
        return Ok(Vec::new());
    };
    let mut found: Vec<Found> = Vec::new();
    for entry in entries.flatten() {
        let path = entry.path();
        if !path.is_file() {
            continue;
        }
        let Some(ext) = path.extension().and_then(|e| e.to_str()) else {
            continue;
        };
        if !matches!(ext, "csv" | "yaml" | "yml") {
            continue;
        }
        let Some(stem) = path.file_stem().and_then(|s| s.to_str()) else {
            continue;
        };
        let Some(kind) = RegisterKind::from_stem(stem) else {
            continue;
        };
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let rel = format!("{}/{name}", dir.trim_end_matches('/'));
        if let Some(other) = found.iter().find(|f| f.kind == kind) {
            return Err(InputError::in_file(
                &path,
                format!("the {} register is also in {}", kind.code(), other.rel),
            )
            .with_hint("keep one file per register"));
        }
        // Keep `./` out of paths shown to users when the root is the current directory.
        let full = if root == Path::new(".") {
            PathBuf::from(&rel)
        } else {
            path
        };
        found.push(Found { kind, full, rel });
    }
    found.sort_by_key(|f| f.kind);
    Ok(found)
}

/// Loads every register under `root/dir`.
pub fn load_all(root: &Path, dir: &str) -> Result<Vec<Register>, InputError> {
    discover(root, dir)?
        .into_iter()
        .map(|f| Register::load(f.kind, &f.full, &f.rel))
        .collect()
}

/// Runs every gate; registers absent from a directory that has some are reported as missing.
pub fn lint(registers: &[Register], dir: &str, ctx: &GateContext) -> Vec<Finding> {
    let mut out = Vec::new();
    for r in registers {
        out.extend(gates::check(r, ctx));
    }
    if !registers.is_empty() {
        for kind in RegisterKind::ALL {
            if !registers.iter().any(|r| r.kind == kind) {
                out.push(Finding::new(
                    &gates::MISSING,
                    Location::file(format!("{dir}/{}.csv", kind.stem())),
                    format!("no {} register ({}) in {dir}/", kind.code(), kind.title()),
                    kind.code(),
                ));
            }
        }
    }
    out
}

/// Writes the starter files: `dir/<register>.csv` with the mini-spec's headers and
/// `dir/examples/<register>.csv` with its example rows. Existing files are left alone.
/// Returns the files written.
pub fn init(root: &Path, dir: &str) -> Result<Vec<PathBuf>, InputError> {
    let base = root.join(dir);
    let examples = base.join("examples");
    std::fs::create_dir_all(&examples)
        .map_err(|e| InputError::in_file(&examples, format!("cannot create: {e}")))?;
    let existing = discover(root, dir)?;
    let mut written = Vec::new();
    for kind in RegisterKind::ALL {
        let header = format!("{}\n", kind.starter_header());
        if !existing.iter().any(|f| f.kind == kind) {
            let p = base.join(format!("{}.csv", kind.stem()));
            std::fs::write(&p, &header)
                .map_err(|e| InputError::in_file(&p, format!("cannot write: {e}")))?;
            written.push(p);
        }
        let ex = examples.join(format!("{}.csv", kind.stem()));
        if !ex.exists() {
            std::fs::write(&ex, format!("{header}{}", kind.example_rows()))
                .map_err(|e| InputError::in_file(&ex, format!("cannot write: {e}")))?;
            written.push(ex);
        }
    }
    Ok(written)
}
