//! Turning a path into an [`Inventory`]: a project directory (recursively, every lockfile of a
//! monorepo), an unpacked root filesystem (OS package databases), a single lockfile, or an
//! SBOM document.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use vouch_core::InputError;

use crate::model::{Inventory, Subject};
use crate::readers::{self, Parsed};

/// How to scan.
#[derive(Debug, Clone, Default)]
pub struct ScanOptions {
    /// Go on past a lockfile that cannot be read, recording it in [`Inventory::warnings`],
    /// instead of failing on it (the default: an SBOM missing a lockfile's components reads
    /// as "those packages are not there" downstream, so skipping must be asked for).
    pub skip_unreadable: bool,
}

/// Directories never descended into: installed dependency trees and VCS metadata (their
/// lockfiles describe other projects).
const SKIP_DIRS: &[&str] = &[
    "node_modules",
    ".git",
    ".hg",
    ".svn",
    "target",
    "__pycache__",
    ".venv",
    "venv",
    ".tox",
];

/// Scans `path` with default options (a lockfile that cannot be read is an error).
pub fn scan(path: &Path) -> Result<Inventory, InputError> {
    scan_with(path, &ScanOptions::default())
}

/// Scans `path`.
pub fn scan_with(path: &Path, opts: &ScanOptions) -> Result<Inventory, InputError> {
    let meta = std::fs::metadata(path)
        .map_err(|e| InputError::in_file(path, format!("cannot read: {e}")))?;
    if crate::image::is_image(path) {
        return crate::image::scan_image(path, opts);
    }
    if meta.is_file() {
        return scan_file(path);
    }
    let files = find_lockfiles(path);
    let mut inv = Inventory::default();
    let mut seen: BTreeSet<PathBuf> = BTreeSet::new();
    let mut queue: Vec<(String, PathBuf)> = files;
    let mut subject: Option<(usize, Subject)> = None;
    while let Some((rel, full)) = queue.pop() {
        if !seen.insert(full.clone()) {
            continue;
        }
        let result = read_one(&rel, &full);
        match result {
            Ok(parsed) => {
                let dir_rel = rel.rsplit_once('/').map(|(d, _)| d).unwrap_or("");
                for inc in &parsed.includes {
                    let inc_full = full.parent().unwrap_or(path).join(inc);
                    let inc_rel = if dir_rel.is_empty() {
                        inc.clone()
                    } else {
                        format!("{dir_rel}/{inc}")
                    };
                    if inc_full.is_file() {
                        queue.push((inc_rel, inc_full));
                    } else {
                        let e =
                            InputError::in_file(&rel, format!("included file `{inc}` not found"));
                        if !opts.skip_unreadable {
                            return Err(e);
                        }
                        inv.warnings.push(e);
                    }
                }
                let depth = rel.matches('/').count();
                if let Some(s) = parsed.subject.clone()
                    && subject.as_ref().is_none_or(|(d, _)| depth < *d)
                {
                    subject = Some((depth, s));
                }
                inv.files.push(rel);
                inv.direct.extend(parsed.direct);
                inv.add(parsed.components);
            }
            Err(e) => {
                if !opts.skip_unreadable {
                    return Err(e);
                }
                inv.warnings.push(e);
            }
        }
    }
    inv.subject = subject.map(|(_, s)| s).unwrap_or_else(|| Subject {
        name: dir_name(path),
        version: None,
    });
    // Never follow a symlink here: in an unpacked root filesystem an absolute link would
    // point at the host's own os-release.
    for candidate in ["usr/lib/os-release", "etc/os-release"] {
        let p = path.join(candidate);
        if p.symlink_metadata()
            .is_ok_and(|m| m.file_type().is_symlink())
        {
            continue;
        }
        if let Ok(text) = std::fs::read_to_string(&p) {
            apply_os_release(&mut inv, &text);
            break;
        }
    }
    inv.finish();
    Ok(inv)
}

/// Names the distribution in OS package purls from an `os-release` file: the namespace
/// becomes its `ID` (`ubuntu` instead of the default `debian`) and a `distro` qualifier
/// `ID-VERSION_ID` is added, as the purl specification's deb/apk/rpm examples do. Edges are
/// rewritten to the new purls.
pub fn apply_os_release(inv: &mut Inventory, text: &str) {
    let field = |k: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(k)?.strip_prefix('='))
            .map(|v| v.trim().trim_matches('"').trim_matches('\'').to_string())
            .filter(|v| !v.is_empty())
    };
    let Some(id) = field("ID") else { return };
    let distro = match field("VERSION_ID") {
        Some(v) => format!("{id}-{v}"),
        None => id.clone(),
    };
    let mut renamed: std::collections::HashMap<String, String> = std::collections::HashMap::new();
    for c in &mut inv.components {
        use crate::model::Ecosystem::{Apk, Deb, Rpm};
        if !matches!(c.ecosystem, Deb | Apk | Rpm) {
            continue;
        }
        let Some(mut p) = crate::purl::Purl::parse(&c.purl) else {
            continue;
        };
        if c.ecosystem != Rpm || p.namespace.is_none() {
            p.namespace = Some(id.to_ascii_lowercase());
        }
        p.qualifiers.insert("distro".into(), distro.clone());
        let new = p.to_canonical();
        renamed.insert(c.purl.clone(), new.clone());
        c.purl = new;
    }
    if renamed.is_empty() {
        return;
    }
    let rename = |v: &mut Vec<String>| {
        for d in v.iter_mut() {
            if let Some(n) = renamed.get(d) {
                *d = n.clone();
            }
        }
    };
    for c in &mut inv.components {
        rename(&mut c.dependencies);
    }
    rename(&mut inv.direct);
    inv.components.sort_by(|a, b| a.purl.cmp(&b.purl));
}

fn dir_name(path: &Path) -> String {
    std::fs::canonicalize(path)
        .ok()
        .and_then(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
        .unwrap_or_else(|| "project".to_string())
}

/// The error for a directory in which no reader found a package source (lockfile, manifest,
/// OS package database): an SBOM of it would be empty, and an empty SBOM reads as "nothing
/// vulnerable" downstream, so commands fail closed unless asked to allow it.
pub fn no_sources(path: &Path) -> InputError {
    InputError::in_file(
        path,
        format!("no package sources found under {}", path.display()),
    )
    .with_hint(
        "point at the project root (lockfiles: Cargo.lock, package-lock.json, go.mod, …), \
         or pass --allow-empty for an intentionally empty SBOM",
    )
}

/// Fails closed on an inventory that read nothing: `Err` when no package source was read
/// and no component found. When sources existed but none could be read, the first
/// reading error is returned instead (it says what is wrong).
pub fn require_sources(path: &Path, inv: &Inventory) -> Result<(), InputError> {
    if !inv.files.is_empty() || !inv.components.is_empty() {
        return Ok(());
    }
    match inv.warnings.first() {
        Some(e) => Err(e.clone()),
        None => Err(no_sources(path)),
    }
}

/// SBOM documents under `root` (`*.cdx.json`, `bom.json`, `*.spdx.json`, `*.spdx`, …), as
/// (relative `/` path, full path), sorted, skipping the same directories as lockfiles.
pub fn find_sbom_files(root: &Path) -> Vec<(String, PathBuf)> {
    find_files(root, is_sbom_name)
}

/// Whether a file name is one SBOM tools conventionally write.
pub fn is_sbom_name(path: &str) -> bool {
    let name = path.rsplit('/').next().unwrap_or(path).to_ascii_lowercase();
    name.ends_with(".cdx.json")
        || name.ends_with(".spdx.json")
        || name.ends_with(".spdx")
        || name.ends_with(".sbom.json")
        || name == "bom.json"
        || name == "sbom.json"
}

/// Every file under `root` a reader knows, as (relative `/` path, full path), sorted.
pub fn find_lockfiles(root: &Path) -> Vec<(String, PathBuf)> {
    let mut out = find_files(root, |rel| readers::reader_for(rel).is_some());
    out.reverse(); // popped from the end: read in sorted order
    out
}

/// Files under `root` whose relative path satisfies `wanted`, sorted.
fn find_files(root: &Path, wanted: impl Fn(&str) -> bool) -> Vec<(String, PathBuf)> {
    let walker = ignore::WalkBuilder::new(root)
        .hidden(false)
        .git_ignore(false)
        .git_exclude(false)
        .git_global(false)
        .ignore(false)
        .parents(false)
        .follow_links(false)
        .filter_entry(|e| {
            !(e.file_type().is_some_and(|t| t.is_dir())
                && e.depth() > 0
                && SKIP_DIRS.contains(&e.file_name().to_string_lossy().as_ref()))
        })
        .build();
    let mut out = Vec::new();
    for entry in walker.flatten() {
        if !entry.file_type().is_some_and(|t| t.is_file()) {
            continue;
        }
        let Ok(rel) = entry.path().strip_prefix(root) else {
            continue;
        };
        let rel = rel
            .components()
            .map(|c| c.as_os_str().to_string_lossy())
            .collect::<Vec<_>>()
            .join("/");
        if wanted(&rel) {
            out.push((rel, entry.path().to_path_buf()));
        }
    }
    out.sort();
    out
}

fn read_one(rel: &str, full: &Path) -> Result<Parsed, InputError> {
    let reader = readers::reader_for(rel)
        .ok_or_else(|| InputError::in_file(rel, "not a lockfile vouch reads"))?;
    if rel.ends_with("rpmdb.sqlite") {
        return readers::rpm::read_db(rel, full);
    }
    let bytes =
        std::fs::read(full).map_err(|e| InputError::in_file(rel, format!("cannot read: {e}")))?;
    let text = String::from_utf8(bytes).map_err(|e| {
        InputError::in_file(
            rel,
            format!("not UTF-8 text (byte {})", e.utf8_error().valid_up_to()),
        )
    })?;
    let text = text.strip_prefix('\u{feff}').unwrap_or(&text);
    if rel == "yarn.lock" || rel.ends_with("/yarn.lock") {
        let manifest = full
            .parent()
            .map(|d| d.join("package.json"))
            .and_then(|p| std::fs::read_to_string(p).ok())
            .and_then(|t| serde_json::from_str::<serde_json::Value>(&t).ok());
        return readers::yarn::read_with_manifest(rel, text, manifest.as_ref());
    }
    reader(rel, text)
}

/// A single file: an SBOM document or a lockfile.
fn scan_file(path: &Path) -> Result<Inventory, InputError> {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let display = path.to_string_lossy().into_owned();
    if readers::reader_for(&name).is_some() || readers::reader_for(&display).is_some() {
        let rel = if readers::reader_for(&name).is_some() {
            name.clone()
        } else {
            display.clone()
        };
        let parsed = read_one(&rel, path).map_err(|e| InputError {
            file: Some(path.to_path_buf()),
            ..e
        })?;
        let mut inv = Inventory {
            subject: parsed.subject.unwrap_or_else(|| Subject {
                name: name.clone(),
                version: None,
            }),
            files: vec![rel],
            direct: parsed.direct,
            ..Inventory::default()
        };
        inv.add(parsed.components);
        inv.finish();
        return Ok(inv);
    }
    let bytes =
        std::fs::read(path).map_err(|e| InputError::in_file(path, format!("cannot read: {e}")))?;
    if readers::gobinary::is_executable(&bytes) {
        let parsed = readers::gobinary::read_bytes(&display, &bytes)?;
        let mut inv = Inventory {
            subject: parsed.subject.unwrap_or_else(|| Subject {
                name: name.clone(),
                version: None,
            }),
            files: vec![name],
            direct: parsed.direct,
            ..Inventory::default()
        };
        inv.add(parsed.components);
        inv.finish();
        return Ok(inv);
    }
    crate::sbom_read::read_sbom(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn os_release_names_the_distribution() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("var/lib/dpkg")).unwrap();
        std::fs::create_dir_all(dir.path().join("etc")).unwrap();
        std::fs::write(dir.path().join("var/lib/dpkg/status"), "Package: libc6\nStatus: install ok installed\nArchitecture: amd64\nVersion: 2.35-0ubuntu3\n\nPackage: bash\nStatus: install ok installed\nArchitecture: amd64\nVersion: 5.1-6ubuntu1\nDepends: libc6\n").unwrap();
        std::fs::write(
            dir.path().join("etc/os-release"),
            "NAME=\"Ubuntu\"\nID=ubuntu\nVERSION_ID=\"22.04\"\n",
        )
        .unwrap();
        let inv = scan(dir.path()).unwrap();
        assert_eq!(
            inv.components[0].purl,
            "pkg:deb/ubuntu/bash@5.1-6ubuntu1?arch=amd64&distro=ubuntu-22.04"
        );
        assert_eq!(
            inv.components[0].dependencies,
            vec!["pkg:deb/ubuntu/libc6@2.35-0ubuntu3?arch=amd64&distro=ubuntu-22.04".to_string()]
        );
    }
}
