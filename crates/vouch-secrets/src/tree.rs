//! Scanning a directory (or one file): one walk with vouch-core's walker (`.gitignore`,
//! `.vouchignore`, `ignore` globs, size limit), files scanned in parallel with rayon.

use std::path::Path;

use rayon::prelude::*;
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
    let walked = walk::walk(root, options)?;
    let mut out = TreeScan {
        files: walked.files.len(),
        ..TreeScan::default()
    };
    for (path, size) in &walked.too_large {
        out.warnings.push(format!(
            "{path}: skipped, {size} bytes is over the size limit (max_file_size)"
        ));
    }
    out.warnings.extend(walked.errors.iter().cloned());
    let per_file: Vec<(Vec<Finding>, Vec<String>, u64)> = walked
        .files
        .par_iter()
        .map(|wf| match std::fs::read(&wf.full_path) {
            Ok(bytes) => {
                let o = scanner.scan_bytes(&format!("{prefix}{}", wf.path), &bytes);
                let mut fs: Vec<Finding> = o.hits.iter().map(crate::report::finding).collect();
                crate::report::pair_aws(&mut fs);
                (fs, o.warnings, o.bytes)
            }
            Err(e) => (
                Vec::new(),
                vec![format!("{}: cannot read: {e}", wf.path)],
                0,
            ),
        })
        .collect();
    for (fs, ws, b) in per_file {
        out.findings.extend(fs);
        out.warnings.extend(ws);
        out.bytes += b;
    }
    crate::report::group_same_secret(&mut out.findings);
    Ok(out)
}
