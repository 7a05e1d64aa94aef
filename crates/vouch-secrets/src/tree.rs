//! Scanning a directory (or one file): the walk and the scan run together on every core. The
//! walker is `ignore`'s parallel walker with the same rules as vouch-core's walker
//! (`.gitignore`, `.vouchignore`, `ignore` globs from vouch.toml, `.git` skipped, hidden files
//! included, symbolic links not followed, the size limit); each walker thread scans the files
//! it finds as it finds them, so reading, matching and directory listing overlap.
//!
//! Reads are tuned for many small files: one reusable buffer per thread, the first 8 KiB read
//! first, and a file whose first 8 KiB hold a NUL byte (a binary) is dropped without reading the
//! rest, unless it is an archive the scanner opens.

use std::io::Read;
use std::path::Path;
use std::sync::Mutex;

use ignore::overrides::OverrideBuilder;
use ignore::{WalkBuilder, WalkState};
use vouch_core::walk::{self, WalkOptions};
use vouch_core::{Finding, InputError};

use crate::scan::Scanner;

/// Findings (unsorted, not yet suppressed) and what the walk and scan had to say.
#[derive(Debug, Default)]
pub struct TreeScan {
    pub findings: Vec<Finding>,
    pub warnings: Vec<String>,
    pub files: usize,
    pub bytes: u64,
}

/// Scans `root`; finding paths are `prefix` + the walked relative path.
pub fn scan_tree(
    scanner: &Scanner,
    root: &Path,
    options: &WalkOptions,
    prefix: &str,
) -> Result<TreeScan, InputError> {
    let meta = std::fs::metadata(root)
        .map_err(|e| InputError::in_file(root, format!("cannot read: {e}")))?;
    if meta.is_file() {
        // One file: the shared walker gives its display name and the size check.
        let walked = walk::walk(root, options)?;
        let mut out = TreeScan::default();
        let mut buf = Vec::new();
        for wf in &walked.files {
            out.files += 1;
            scan_one(
                scanner,
                &wf.full_path,
                &format!("{prefix}{}", wf.path),
                &mut buf,
                &mut out,
            );
        }
        crate::report::group_same_secret(&mut out.findings);
        return Ok(out);
    }

    let mut overrides = OverrideBuilder::new(root);
    for glob in &options.ignore {
        overrides
            .add(&format!("!{glob}"))
            .map_err(|e| InputError::new(format!("bad ignore glob `{glob}`: {e}")))?;
    }
    overrides
        .add("!.git/")
        .map_err(|e| InputError::new(e.to_string()))?;
    let overrides = overrides
        .build()
        .map_err(|e| InputError::new(format!("bad ignore globs: {e}")))?;
    let threads = std::thread::available_parallelism().map_or(2, |n| n.get());
    let walker = WalkBuilder::new(root)
        .hidden(false)
        .follow_links(false)
        .require_git(false)
        .git_global(false)
        .add_custom_ignore_filename(walk::IGNORE_FILE)
        .overrides(overrides)
        .threads(threads)
        .build_parallel();

    let total = Mutex::new(TreeScan::default());
    let max_size = options.max_file_size;
    walker.run(|| {
        // Per thread: a buffer reused for every file and a local result merged once.
        let mut buf: Vec<u8> = Vec::with_capacity(64 * 1024);
        let mut local = Local {
            scan: TreeScan::default(),
            total: &total,
        };
        Box::new(move |entry| {
            let entry = match entry {
                Ok(e) => e,
                Err(e) => {
                    local.scan.warnings.push(e.to_string());
                    return WalkState::Continue;
                }
            };
            if !entry.file_type().is_some_and(|t| t.is_file()) {
                return WalkState::Continue;
            }
            let Ok(rel) = entry.path().strip_prefix(root) else {
                return WalkState::Continue;
            };
            let rel = walk::to_slash(rel);
            let size = match entry.metadata() {
                Ok(m) => m.len(),
                Err(e) => {
                    local.scan.warnings.push(format!("{rel}: {e}"));
                    return WalkState::Continue;
                }
            };
            if size > max_size {
                local.scan.warnings.push(format!(
                    "{rel}: skipped, {size} bytes is over the size limit (max_file_size)"
                ));
                return WalkState::Continue;
            }
            local.scan.files += 1;
            scan_one(
                scanner,
                entry.path(),
                &format!("{prefix}{rel}"),
                &mut buf,
                &mut local.scan,
            );
            WalkState::Continue
        })
    });
    let mut out = total.into_inner().unwrap_or_else(|p| p.into_inner());
    out.warnings.sort();
    crate::report::group_same_secret(&mut out.findings);
    Ok(out)
}

/// A walker thread's results, merged into the total when the thread is done.
struct Local<'a> {
    scan: TreeScan,
    total: &'a Mutex<TreeScan>,
}

impl Drop for Local<'_> {
    fn drop(&mut self) {
        let mut t = self.total.lock().unwrap_or_else(|p| p.into_inner());
        t.findings.append(&mut self.scan.findings);
        t.warnings.append(&mut self.scan.warnings);
        t.files += self.scan.files;
        t.bytes += self.scan.bytes;
    }
}

/// Reads and scans one file into `out`.
fn scan_one(scanner: &Scanner, full: &Path, shown: &str, buf: &mut Vec<u8>, out: &mut TreeScan) {
    buf.clear();
    let mut f = match std::fs::File::open(full) {
        Ok(f) => f,
        Err(e) => {
            out.warnings.push(format!("{shown}: cannot read: {e}"));
            return;
        }
    };
    // The first 8 KiB decide whether the rest is worth reading.
    let head = match (&mut f).take(8192).read_to_end(buf) {
        Ok(n) => n,
        Err(e) => {
            out.warnings.push(format!("{shown}: cannot read: {e}"));
            return;
        }
    };
    if crate::scan::looks_binary(buf)
        && !(scanner.options().archives && crate::scan::is_archive(shown))
    {
        return;
    }
    if head == 8192
        && let Err(e) = f.read_to_end(buf)
    {
        out.warnings.push(format!("{shown}: cannot read: {e}"));
        return;
    }
    let o = scanner.scan_bytes(shown, buf);
    let mut fs: Vec<Finding> = o.hits.iter().map(crate::report::finding).collect();
    crate::report::pair_aws(&mut fs);
    out.findings.extend(fs);
    out.warnings.extend(o.warnings);
    out.bytes += o.bytes;
}
