//! The `secrets` check of `vouch check`: every walked file (archives included) through the
//! scanner, the `[secrets]` section of vouch.toml, inline allows, an optional baseline, and the
//! inventory rules over `.vouch/secrets.yaml`.

use std::path::PathBuf;

use serde::Deserialize;
use vouch_core::{Check, CheckContext, Config, InputError, Rule, Sink, SourceFile};

use crate::baseline::Baseline;
use crate::inventory;
use crate::scan::{ScanOptions, Scanner};

/// `[secrets]` in vouch.toml.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SecretsConfig {
    /// Look inside base64 blobs (default true).
    pub base64: Option<bool>,
    /// Look inside zip/jar/tar.gz archives (default true).
    pub archives: Option<bool>,
    /// Decoding layers to open (default 3).
    pub max_depth: Option<u8>,
    /// Decompressed bytes allowed per archive (default 256 MiB).
    pub max_archive_bytes: Option<u64>,
    /// A baseline file (relative to the scanned root) whose findings are suppressed.
    pub baseline: Option<String>,
    /// The inventory file (default `.vouch/secrets.yaml`).
    pub inventory: Option<String>,
    /// Custom rules, in the shape of gitleaks' `[[rules]]` (`[[secrets.rules]]`).
    #[serde(default)]
    pub rules: Vec<crate::custom::CustomRule>,
}

impl SecretsConfig {
    pub fn scan_options(&self) -> ScanOptions {
        let d = ScanOptions::default();
        ScanOptions {
            base64: self.base64.unwrap_or(d.base64),
            archives: self.archives.unwrap_or(d.archives),
            max_depth: self.max_depth.unwrap_or(d.max_depth),
            max_archive_bytes: self.max_archive_bytes.unwrap_or(d.max_archive_bytes),
            max_entry_bytes: d.max_entry_bytes,
            prefilter: true,
        }
    }
}

/// The check.
#[derive(Default)]
pub struct SecretsCheck {
    scanner: Option<Scanner>,
    config: SecretsConfig,
    baseline: Option<Baseline>,
    gitleaks: Option<crate::gitleaks::GitleaksIgnore>,
}

impl SecretsCheck {
    pub fn new() -> SecretsCheck {
        SecretsCheck::default()
    }
}

impl Check for SecretsCheck {
    fn name(&self) -> &'static str {
        "secrets"
    }

    fn rules(&self) -> Vec<&'static Rule> {
        let mut out = crate::rules::metadata();
        if let Some(s) = &self.scanner {
            out.extend(s.custom_metadata());
        }
        out
    }

    fn configure(&mut self, config: &Config) -> Result<(), InputError> {
        self.config = config.section::<SecretsConfig>("secrets")?;
        self.scanner = Some(crate::custom::scanner(
            self.config.scan_options(),
            &self.config.rules,
            config.path(),
        )?);
        if let Some(b) = &self.config.baseline {
            let base = config
                .path()
                .and_then(|p| p.parent())
                .map(PathBuf::from)
                .unwrap_or_default();
            self.baseline = Some(Baseline::load(&base.join(b))?);
        }
        // `.gitleaksignore` beside vouch.toml (the repository root).
        if let Some(dir) = config.path().and_then(|p| p.parent()) {
            let dir = if dir.as_os_str().is_empty() {
                std::path::Path::new(".")
            } else {
                dir
            };
            self.gitleaks = crate::gitleaks::GitleaksIgnore::discover(dir)?;
        }
        Ok(())
    }

    fn wants(&self, _path: &str) -> bool {
        true
    }

    fn accepts_binary(&self) -> bool {
        true // archives; other binaries are skipped by the scanner
    }

    fn check_file(
        &self,
        _ctx: &CheckContext<'_>,
        file: &SourceFile<'_>,
        sink: &mut Sink,
    ) -> Result<(), InputError> {
        let Some(scanner) = &self.scanner else {
            return Ok(());
        };
        let out = scanner.scan_bytes(file.path, file.bytes);
        let mut findings: Vec<_> = out.hits.iter().map(crate::report::finding).collect();
        crate::report::pair_aws(&mut findings);
        if let Some(b) = &self.baseline {
            b.apply(&mut findings);
        }
        if let Some(g) = &self.gitleaks {
            g.apply(&mut findings);
        }
        for w in out.warnings {
            sink.warn(w);
        }
        for f in findings {
            sink.push(f);
        }
        Ok(())
    }

    fn check_repo(&self, ctx: &CheckContext<'_>, sink: &mut Sink) -> Result<(), InputError> {
        let rel = self
            .config
            .inventory
            .clone()
            .unwrap_or_else(|| inventory::INVENTORY_FILE.to_string());
        let path = ctx.root.join(&rel);
        if !ctx.root.is_dir() || !path.is_file() {
            return Ok(());
        }
        let inv = inventory::Inventory::load(&path, &rel)?;
        for f in inv.check(ctx.today) {
            sink.push(f);
        }
        Ok(())
    }
}
