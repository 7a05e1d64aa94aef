//! GitHub Actions workflow and composite-action audits (`workflow/*`).
//!
//! A workflow (`.github/workflows/*.yml`) or action metadata file (`action.yml`) is parsed into
//! a span-carrying YAML tree ([`yaml`]), viewed through a small model of triggers, jobs and
//! steps ([`model`]), and handed to each audit in [`audits`] (one file per rule, metadata at
//! the top). Findings point at the line and column of the offending key or value.
//!
//! Everything is offline: no tag is resolved to a commit and no action metadata is fetched, so
//! judgements about what an action needs come from tables in the audits, and are conservative
//! (an unknown action is assumed to need whatever it was given).
//!
//! The crate never prints or exits: [`audit`] returns findings or an [`InputError`];
//! [`WorkflowCheck`] plugs the same audits into `vouch check`, where a broken file is a
//! warning so that the rest of the repository is still audited.

// Panics on input are bugs: library and binary code returns errors instead (tests may unwrap).
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]

pub mod audits;
pub mod model;
pub mod suppress;
pub mod yaml;

use serde::Deserialize;
use vouch_core::{Check, CheckContext, Config, Finding, InputError, Rule, Sink, SourceFile};

pub use model::{Document, FileKind};

/// `[workflow]` in `vouch.toml`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WorkflowSection {
    /// Extra action names or `run:` commands (substrings, case-insensitive) that make a job a
    /// deployment, besides the built-in list (cloud logins, `kubectl apply`, `npm publish`, …).
    #[serde(default)]
    pub deploy_patterns: Vec<String>,
}

/// Every option the audits read, validated once.
#[derive(Debug, Clone, Default)]
pub struct Settings {
    pub section: WorkflowSection,
    pub unpinned_action: audits::unpinned_action::Options,
    pub permissions: audits::permissions::Options,
    pub static_cloud_credentials: audits::static_cloud_credentials::Options,
    pub template_injection: audits::template_injection::Options,
}

impl Settings {
    /// Reads `[workflow]` and the `[rules."workflow/…"]` options; errors name the line.
    pub fn from_config(config: &Config) -> Result<Settings, InputError> {
        Settings {
            section: config.section("workflow")?,
            unpinned_action: config.rule_options(audits::unpinned_action::RULE.id)?,
            permissions: config.rule_options(audits::permissions::RULE.id)?,
            static_cloud_credentials: config
                .rule_options(audits::static_cloud_credentials::RULE.id)?,
            template_injection: config.rule_options(audits::template_injection::RULE.id)?,
        }
        .validated()
    }

    fn validated(self) -> Result<Settings, InputError> {
        for g in &self.unpinned_action.allow {
            globset::Glob::new(g).map_err(|e| {
                InputError::new(format!(
                    "[rules.\"workflow/unpinned-action\"] allow: bad glob `{g}`: {e}"
                ))
                .with_hint("use owner/repo or owner/* patterns")
            })?;
        }
        Ok(self)
    }
}

/// Every rule of this crate.
pub fn rules() -> Vec<&'static Rule> {
    audits::RULES.to_vec()
}

/// Whether `path` (relative, `/`-separated) is a file GitHub reads as a workflow or action.
pub fn is_workflow_path(path: &str) -> bool {
    let lower = path.to_ascii_lowercase();
    let yaml = lower.ends_with(".yml") || lower.ends_with(".yaml");
    if !yaml {
        return false;
    }
    if FileKind::of_path(path) == FileKind::Action {
        return true;
    }
    // Only files directly inside .github/workflows run.
    match lower.rsplit_once('/') {
        Some((dir, _)) => dir == ".github/workflows" || dir.ends_with("/.github/workflows"),
        None => false,
    }
}

/// Parses and audits one file. `path` is the name used in findings and errors.
pub fn audit(
    path: &str,
    text: &str,
    kind: FileKind,
    settings: &Settings,
) -> Result<Vec<Finding>, InputError> {
    let doc = Document::parse(path, kind, text)?;
    Ok(audit_document(&doc, settings))
}

/// Reads and audits many files in parallel: `(shown path, path to read)`. Findings come back
/// sorted; the first bad file (in the order given) is the error, so runs are deterministic.
pub fn audit_files(
    files: &[(String, std::path::PathBuf)],
    settings: &Settings,
) -> Result<Vec<Finding>, InputError> {
    use rayon::prelude::*;
    let results: Vec<Result<Vec<Finding>, InputError>> = files
        .par_iter()
        .map(|(shown, full)| {
            let bytes = std::fs::read(full)
                .map_err(|e| InputError::in_file(shown, format!("cannot read: {e}")))?;
            let text = String::from_utf8(bytes).map_err(|_| {
                InputError::in_file(shown, "not valid UTF-8").with_hint("workflows are UTF-8 YAML")
            })?;
            audit(shown, &text, FileKind::of_path(shown), settings)
        })
        .collect();
    let mut out = Vec::new();
    for r in results {
        out.extend(r?);
    }
    out.sort_by(|a, b| a.sort_key().cmp(&b.sort_key()));
    Ok(out)
}

/// Runs every audit over a parsed document; findings are sorted.
pub fn audit_document(doc: &Document, settings: &Settings) -> Vec<Finding> {
    let mut out = Vec::new();
    audits::run_all(doc, settings, &mut out);
    out.sort_by(|a, b| a.sort_key().cmp(&b.sort_key()));
    out.dedup_by(|a, b| a.rule == b.rule && a.location == b.location && a.message == b.message);
    suppress::apply(doc, &mut out);
    out
}

/// The `workflow` check of `vouch check`.
#[derive(Debug, Default)]
pub struct WorkflowCheck {
    settings: Settings,
}

impl Check for WorkflowCheck {
    fn name(&self) -> &'static str {
        "workflow"
    }

    fn rules(&self) -> Vec<&'static Rule> {
        rules()
    }

    fn configure(&mut self, config: &Config) -> Result<(), InputError> {
        self.settings = Settings::from_config(config)?;
        Ok(())
    }

    fn wants(&self, path: &str) -> bool {
        is_workflow_path(path)
    }

    fn check_file(
        &self,
        _ctx: &CheckContext<'_>,
        file: &SourceFile<'_>,
        sink: &mut Sink,
    ) -> Result<(), InputError> {
        let Some(text) = file.text() else {
            sink.warn(format!("{}: not UTF-8, workflow not audited", file.path));
            return Ok(());
        };
        match audit(
            file.path,
            text,
            FileKind::of_path(file.path),
            &self.settings,
        ) {
            Ok(findings) => findings.into_iter().for_each(|f| sink.push(f)),
            Err(e) => sink.warn(format!("{e}; workflow not audited")),
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn workflow_paths() {
        assert!(is_workflow_path(".github/workflows/ci.yml"));
        assert!(is_workflow_path("sub/.github/workflows/ci.yaml"));
        assert!(is_workflow_path("action.yml"));
        assert!(is_workflow_path(".github/actions/setup/action.yaml"));
        assert!(!is_workflow_path(".github/workflows/nested/ci.yml"));
        assert!(!is_workflow_path(".github/dependabot.yml"));
        assert!(!is_workflow_path("ci.yml"));
    }

    #[test]
    fn a_nul_byte_is_an_error_not_a_shorter_workflow() {
        // Issue 22: everything after a NUL used to vanish, and the injection with it.
        let text = "on: issues\npermissions: {}\n# \0\njobs:\n  a:\n    runs-on: ubuntu-latest\n    steps:\n      - run: echo \"${{ github.event.issue.title }}\"\n";
        let e = audit(
            ".github/workflows/a.yml",
            text,
            FileKind::Workflow,
            &Settings::default(),
        )
        .unwrap_err();
        assert_eq!((e.line, e.column), (Some(3), Some(3)), "{e}");
        let clean = text.replace('\0', "");
        let f = audit(
            ".github/workflows/a.yml",
            &clean,
            FileKind::Workflow,
            &Settings::default(),
        )
        .unwrap();
        assert!(f.iter().any(|f| f.rule == "workflow/template-injection"));
    }
}
