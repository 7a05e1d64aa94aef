//! The `vuln` check of `vouch check`: runs when a database is configured (`[vuln] db`) or
//! found at a default location, over the SBOMs committed in the repository (and, once
//! vouch-sbom is wired in, its lockfiles); otherwise it is reported as skipped, with why.

use std::path::{Path, PathBuf};

use vouch_core::{Check, CheckContext, Config, InputError, Rule, Sink};

use crate::db::Database;
use crate::matcher::PackageRef;
use crate::scan::{self, VULNERABLE_DEPENDENCY};
use crate::sla::{self, SLA_OVERDUE, State, VulnConfig};
use crate::{sbom, vex};

/// Default database locations, in order: `<root>/.vouch/osv.db`, `$VOUCH_DB`,
/// `$XDG_CACHE_HOME/vouch/osv.db` (or `~/.cache/vouch/osv.db`).
pub fn default_db_paths(root: &Path) -> Vec<PathBuf> {
    let mut out = vec![root.join(".vouch/osv.db")];
    if let Some(p) = std::env::var_os("VOUCH_DB") {
        out.push(PathBuf::from(p));
    }
    out.push(user_cache_db());
    out
}

/// `$XDG_CACHE_HOME/vouch/osv.db`, else `~/.cache/vouch/osv.db`.
pub fn user_cache_db() -> PathBuf {
    let base = std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))
        .unwrap_or_else(|| PathBuf::from(".cache"));
    base.join("vouch/osv.db")
}

/// VEX files `vouch check` applies automatically.
pub const VEX_FILES: &[&str] = &[
    ".vouch/vex.json",
    ".vouch/openvex.json",
    "vex.json",
    ".openvex.json",
];

#[derive(Default)]
pub struct VulnCheck {
    config: VulnConfig,
}

impl Check for VulnCheck {
    fn name(&self) -> &'static str {
        "vuln"
    }

    fn rules(&self) -> Vec<&'static Rule> {
        vec![&VULNERABLE_DEPENDENCY, &SLA_OVERDUE]
    }

    fn configure(&mut self, config: &Config) -> Result<(), InputError> {
        self.config = config.section::<VulnConfig>("vuln")?;
        Ok(())
    }

    fn check_repo(&self, ctx: &CheckContext<'_>, sink: &mut Sink) -> Result<(), InputError> {
        let root = if ctx.root.is_dir() {
            ctx.root
        } else {
            ctx.root.parent().unwrap_or(ctx.root)
        };
        let db_path = match &self.config.db {
            Some(p) => {
                let p = if p.is_absolute() {
                    p.clone()
                } else {
                    root.join(p)
                };
                if !p.is_file() {
                    return Err(InputError::new(format!(
                        "the vulnerability database {} configured in [vuln] db does not exist",
                        p.display()
                    ))
                    .with_hint("build it with vouch db build"));
                }
                p
            }
            None => match default_db_paths(root).into_iter().find(|p| p.is_file()) {
                Some(p) => p,
                None => {
                    sink.skip("no vulnerability database: set [vuln] db in vouch.toml or run vouch db build -o .vouch/osv.db");
                    return Ok(());
                }
            },
        };
        let mut packages: Vec<PackageRef> = scan::packages_from_project(root)?;
        let mut products: Vec<String> = Vec::new();
        for rel in ctx.files.iter().filter(|f| sbom::looks_like_sbom(f)) {
            let full = root.join(rel);
            let Ok(text) = std::fs::read_to_string(&full) else {
                continue;
            };
            match sbom::read(&full, rel, &text) {
                Ok(s) => {
                    packages.extend(s.packages);
                    products.extend(s.product);
                }
                Err(e) => sink.warn(format!(
                    "{rel}: not checked for vulnerabilities: {}",
                    e.message
                )),
            }
        }
        if packages.is_empty() {
            sink.skip("no SBOM (*.cdx.json, *.spdx.json, bom.json, sbom.json) in the repository; lockfile reading arrives with vouch-sbom");
            return Ok(());
        }
        let mut db = Database::open(&db_path)?;
        let result = scan::scan(&mut db, &packages)?;
        let mut findings = result.findings;
        for w in result.warnings {
            sink.warn(w);
        }
        for v in VEX_FILES {
            let p = root.join(v);
            if p.is_file() {
                let text = std::fs::read_to_string(&p)
                    .map_err(|e| InputError::in_file(&p, format!("cannot read: {e}")))?;
                let statements = vex::parse(&p, &text)?;
                vex::apply(&statements, &mut findings, None);
                for root in &products {
                    vex::apply(&statements, &mut findings, Some(root));
                }
            }
        }
        let state = State::load(&root.join(sla::STATE_FILE))?;
        let overdue = sla::overdue(&findings, &state, &self.config.sla, ctx.today);
        findings.extend(overdue);
        for f in findings {
            sink.push(f);
        }
        Ok(())
    }
}
