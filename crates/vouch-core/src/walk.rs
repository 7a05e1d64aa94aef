//! Walks a repository once: `.gitignore`, `.vouchignore` and `vouch.toml` `ignore` globs are
//! respected, `.git` is skipped, symbolic links are not followed (no loops), files over the
//! size limit are skipped and reported.
//!
//! Hidden files are included: `.github/workflows`, `.env` and `.npmrc` are where problems live.

use std::path::{Path, PathBuf};

use ignore::WalkBuilder;
use ignore::overrides::OverrideBuilder;

use crate::InputError;

/// Default size limit: larger files are skipped (and listed in the report).
pub const DEFAULT_MAX_FILE_SIZE: u64 = 10 * 1024 * 1024;

/// The name of vouch's own ignore file (gitignore syntax).
pub const IGNORE_FILE: &str = ".vouchignore";

/// One walked file.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct WalkedFile {
    /// Relative to the root, `/`-separated.
    pub path: String,
    pub full_path: PathBuf,
    pub size: u64,
}

/// What the walk found.
#[derive(Debug, Default)]
pub struct Walk {
    /// Sorted by path.
    pub files: Vec<WalkedFile>,
    /// Files skipped for their size: (path, size).
    pub too_large: Vec<(String, u64)>,
    /// Entries that could not be read (permissions, broken links), as messages.
    pub errors: Vec<String>,
}

/// Options for [`walk`].
#[derive(Debug, Clone)]
pub struct WalkOptions {
    pub max_file_size: u64,
    /// Extra gitignore-style globs to skip.
    pub ignore: Vec<String>,
}

impl Default for WalkOptions {
    fn default() -> Self {
        WalkOptions {
            max_file_size: DEFAULT_MAX_FILE_SIZE,
            ignore: Vec::new(),
        }
    }
}

/// vouch's own state under `.vouch/`, never walked: SQLite databases (the OSV database, log
/// indexes) are rebuilt rather than reviewed, and transparency-log tiles are published data;
/// both are large, so walking them only produced a size warning on every run.
pub const STATE_GLOBS: [&str; 4] = [
    "!.vouch/**/*.db",
    "!.vouch/**/*.db-*",
    "!.vouch/**/tile/",
    "!.vouch/**/.state/",
];

/// Lists the files under `root` (or `root` itself when it is a file).
pub fn walk(root: &Path, options: &WalkOptions) -> Result<Walk, InputError> {
    let meta = std::fs::metadata(root)
        .map_err(|e| InputError::in_file(root, format!("cannot read: {e}")))?;
    let mut out = Walk::default();
    if meta.is_file() {
        let name = root
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        out.files.push(WalkedFile {
            path: name,
            full_path: root.to_path_buf(),
            size: meta.len(),
        });
        return Ok(out);
    }
    if !meta.is_dir() {
        // `/dev/zero`, a FIFO or a socket: nothing to check, and reading it would never end.
        return Err(crate::fs::read_regular(root, 0)
            .err()
            .unwrap_or_else(|| InputError::in_file(root, "not a regular file or directory")));
    }

    let mut overrides = OverrideBuilder::new(root);
    for glob in &options.ignore {
        overrides
            .add(&format!("!{glob}"))
            .map_err(|e| InputError::new(format!("bad ignore glob `{glob}`: {e}")))?;
    }
    for glob in std::iter::once("!.git/").chain(STATE_GLOBS) {
        overrides
            .add(glob)
            .map_err(|e| InputError::new(e.to_string()))?;
    }
    let overrides = overrides
        .build()
        .map_err(|e| InputError::new(format!("bad ignore globs: {e}")))?;

    let walker = WalkBuilder::new(root)
        .hidden(false)
        .follow_links(false)
        .require_git(false)
        .git_global(false)
        .add_custom_ignore_filename(IGNORE_FILE)
        .overrides(overrides)
        .build();
    for entry in walker {
        let entry = match entry {
            Ok(e) => e,
            Err(e) => {
                out.errors.push(e.to_string());
                continue;
            }
        };
        let Some(ft) = entry.file_type() else {
            continue;
        };
        if !ft.is_file() {
            continue;
        }
        let rel = match entry.path().strip_prefix(root) {
            Ok(r) => to_slash(r),
            Err(_) => continue,
        };
        let size = match entry.metadata() {
            Ok(m) => m.len(),
            Err(e) => {
                out.errors.push(format!("{rel}: {e}"));
                continue;
            }
        };
        if size > options.max_file_size {
            out.too_large.push((rel, size));
            continue;
        }
        out.files.push(WalkedFile {
            path: rel,
            full_path: entry.into_path(),
            size,
        });
    }
    out.files.sort();
    out.too_large.sort();
    out.errors.sort();
    Ok(out)
}

/// A relative path as a `/`-separated string (lossy for non-UTF-8 names).
pub fn to_slash(p: &Path) -> String {
    let mut s = String::new();
    for (i, c) in p.components().enumerate() {
        if i > 0 {
            s.push('/');
        }
        s.push_str(&c.as_os_str().to_string_lossy());
    }
    s
}

/// `true` when the first 8 KiB contain a NUL byte: the heuristic git and ripgrep use.
pub fn looks_binary(bytes: &[u8]) -> bool {
    bytes.iter().take(8192).any(|b| *b == 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn respects_ignores_and_sizes() {
        let d = tempfile::tempdir().unwrap();
        let root = d.path();
        std::fs::create_dir_all(root.join(".git")).unwrap();
        std::fs::write(root.join(".git/config"), "x").unwrap();
        std::fs::create_dir_all(root.join(".github/workflows")).unwrap();
        std::fs::write(root.join(".github/workflows/ci.yml"), "on: push").unwrap();
        std::fs::write(root.join(".gitignore"), "build/\n").unwrap();
        std::fs::create_dir_all(root.join("build")).unwrap();
        std::fs::write(root.join("build/out"), "x").unwrap();
        std::fs::write(root.join(".vouchignore"), "vendor/\n").unwrap();
        std::fs::create_dir_all(root.join("vendor")).unwrap();
        std::fs::write(root.join("vendor/a"), "x").unwrap();
        std::fs::write(root.join("big.bin"), vec![1u8; 100]).unwrap();
        std::fs::write(root.join("skip.me"), "x").unwrap();
        let w = walk(
            root,
            &WalkOptions {
                max_file_size: 50,
                ignore: vec!["*.me".into()],
            },
        )
        .unwrap();
        let paths: Vec<_> = w.files.iter().map(|f| f.path.as_str()).collect();
        assert_eq!(
            paths,
            vec![".github/workflows/ci.yml", ".gitignore", ".vouchignore"]
        );
        assert_eq!(w.too_large, vec![("big.bin".to_string(), 100)]);
    }

    #[cfg(unix)]
    #[test]
    fn skips_vouch_state() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        std::fs::create_dir_all(root.join(".vouch/log/tile/0")).unwrap();
        std::fs::create_dir_all(root.join(".vouch/log/.state")).unwrap();
        std::fs::write(root.join(".vouch/log/tile/0/000"), vec![b'x'; 100]).unwrap();
        std::fs::write(root.join(".vouch/log/.state/index.db"), vec![b'x'; 100]).unwrap();
        std::fs::write(root.join(".vouch/log/checkpoint"), "origin\n").unwrap();
        std::fs::write(root.join(".vouch/osv.db"), vec![b'x'; 100]).unwrap();
        std::fs::write(root.join(".vouch/osv.db-wal"), vec![b'x'; 100]).unwrap();
        std::fs::write(root.join(".vouch/exceptions.yaml"), "exceptions: []\n").unwrap();
        std::fs::write(root.join("app.db"), vec![b'x'; 100]).unwrap();
        let w = walk(
            root,
            &WalkOptions {
                max_file_size: 50,
                ..Default::default()
            },
        )
        .unwrap();
        let files: Vec<_> = w.files.iter().map(|f| f.path.as_str()).collect();
        assert_eq!(
            files,
            vec![".vouch/exceptions.yaml", ".vouch/log/checkpoint"]
        );
        // Outside .vouch/ a large file is still reported, not silently skipped.
        assert_eq!(w.too_large, vec![("app.db".to_string(), 100)]);
    }

    #[test]
    fn symlink_loops_do_not_hang() {
        let d = tempfile::tempdir().unwrap();
        std::fs::create_dir(d.path().join("a")).unwrap();
        std::os::unix::fs::symlink(d.path(), d.path().join("a/loop")).unwrap();
        std::fs::write(d.path().join("a/f"), "x").unwrap();
        let w = walk(d.path(), &WalkOptions::default()).unwrap();
        assert_eq!(w.files.len(), 1);
    }
}
