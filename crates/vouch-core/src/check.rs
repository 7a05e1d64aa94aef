//! The trait every `vouch check` capability implements.
//!
//! The engine walks the repository once. For each file a check [`Check::wants`], it calls
//! [`Check::check_file`] with the bytes already read; after the walk it calls
//! [`Check::check_repo`] once with the list of walked files, for checks that look at the
//! repository as a whole (a missing SECURITY.md, lockfiles, registers). Adding a check means
//! writing one type and adding it to the registry in `vouch-cli`; the walker never changes.

use std::path::Path;

use jiff::civil::Date;

use crate::{Config, Finding, InputError, Rule};

/// What a check sees of the run.
pub struct CheckContext<'a> {
    /// The scanned directory.
    pub root: &'a Path,
    pub config: &'a Config,
    /// Every walked file, relative to `root`, `/`-separated, sorted.
    pub files: &'a [String],
    /// "Today" for anything date-dependent (SLA, expiry, review dates).
    pub today: Date,
}

/// A file handed to [`Check::check_file`].
pub struct SourceFile<'a> {
    /// Relative to the root, `/`-separated.
    pub path: &'a str,
    /// Absolute or root-joined path, for error messages and nested opens.
    pub full_path: &'a Path,
    pub bytes: &'a [u8],
}

impl SourceFile<'_> {
    /// The contents as UTF-8, or `None` for files that are not valid UTF-8.
    pub fn text(&self) -> Option<&str> {
        std::str::from_utf8(self.bytes).ok()
    }
}

/// Where a check puts what it found.
#[derive(Debug, Default)]
pub struct Sink {
    pub findings: Vec<Finding>,
    /// Problems that did not stop the check (a lockfile that failed to parse in a monorepo).
    pub warnings: Vec<String>,
    /// Set by a check that could not run (no database, nothing to check): the report lists
    /// it under `skipped_checks` with this reason instead of under `checks`.
    pub skipped: Option<String>,
}

impl Sink {
    /// Marks the check as skipped, with the reason shown to the user.
    pub fn skip(&mut self, reason: impl Into<String>) {
        self.skipped = Some(reason.into());
    }

    pub fn push(&mut self, finding: Finding) {
        self.findings.push(finding);
    }

    pub fn warn(&mut self, warning: impl Into<String>) {
        self.warnings.push(warning.into());
    }
}

/// A capability plugged into `vouch check`.
pub trait Check: Send + Sync {
    /// Short name used in `vouch.toml` `[checks]` and in the report (`secrets`, `workflow`).
    fn name(&self) -> &'static str;

    /// Every rule this check can report, for `vouch explain` and SARIF.
    fn rules(&self) -> Vec<&'static Rule>;

    /// Reads and validates this check's configuration before the walk; a bad option is an
    /// [`InputError`] naming `vouch.toml` and the line.
    fn configure(&mut self, _config: &Config) -> Result<(), InputError> {
        Ok(())
    }

    /// Whether this check wants the contents of `path` (relative, `/`-separated).
    fn wants(&self, _path: &str) -> bool {
        false
    }

    /// Whether files that look binary (a NUL in the first 8 KiB) are still handed over
    /// (archives, executables with embedded build information).
    fn accepts_binary(&self) -> bool {
        false
    }

    /// Checks one file. Bad input in a scanned file is usually a warning in `sink`, not an
    /// error: one broken file must not hide findings in the rest of the repository.
    fn check_file(
        &self,
        _ctx: &CheckContext<'_>,
        _file: &SourceFile<'_>,
        _sink: &mut Sink,
    ) -> Result<(), InputError> {
        Ok(())
    }

    /// Checks the repository as a whole, after the walk.
    fn check_repo(&self, _ctx: &CheckContext<'_>, _sink: &mut Sink) -> Result<(), InputError> {
        Ok(())
    }
}
