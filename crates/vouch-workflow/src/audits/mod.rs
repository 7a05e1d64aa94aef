//! The audits: one file per rule, each with its `RULE` metadata at the top and its tests
//! below. Adding an audit means adding its file, its line in [`RULES`] and in [`run_all`].

pub mod cache_poisoning;
pub mod dangerous_trigger;
pub mod missing_environment;
pub mod permissions;
pub mod static_cloud_credentials;
pub mod template_injection;
pub mod unpinned_action;

use vouch_core::{Finding, Rule};

use crate::Settings;
use crate::model::Document;

/// Every `workflow/*` rule, sorted by id.
pub const RULES: &[&Rule] = &[
    &cache_poisoning::RULE,
    &dangerous_trigger::RULE,
    &missing_environment::RULE,
    &permissions::RULE,
    &static_cloud_credentials::RULE,
    &template_injection::RULE,
    &unpinned_action::RULE,
];

/// What an audit sees.
pub struct Ctx<'a> {
    pub doc: &'a Document,
    pub settings: &'a Settings,
}

/// Runs every audit over `doc`.
pub fn run_all(doc: &Document, settings: &Settings, out: &mut Vec<Finding>) {
    let ctx = Ctx { doc, settings };
    cache_poisoning::run(&ctx, out);
    dangerous_trigger::run(&ctx, out);
    missing_environment::run(&ctx, out);
    permissions::run(&ctx, out);
    static_cloud_credentials::run(&ctx, out);
    template_injection::run(&ctx, out);
    unpinned_action::run(&ctx, out);
}

#[cfg(test)]
pub(crate) mod testing {
    use vouch_core::Finding;

    use crate::Settings;
    use crate::model::{Document, FileKind};

    /// Findings of the audit `run` on workflow `text` with `settings`.
    pub fn run_with(
        run: fn(&super::Ctx<'_>, &mut Vec<Finding>),
        text: &str,
        settings: &Settings,
    ) -> Vec<Finding> {
        let kind = if text.contains("\nruns:") || text.starts_with("runs:") {
            FileKind::Action
        } else {
            FileKind::Workflow
        };
        let path = if kind == FileKind::Action {
            "action.yml"
        } else {
            ".github/workflows/t.yml"
        };
        let doc = Document::parse(path, kind, text).expect("test input parses");
        let mut out = Vec::new();
        run(
            &super::Ctx {
                doc: &doc,
                settings,
            },
            &mut out,
        );
        out
    }

    pub fn run(run: fn(&super::Ctx<'_>, &mut Vec<Finding>), text: &str) -> Vec<Finding> {
        run_with(run, text, &Settings::default())
    }

    /// (line, column) of each finding.
    pub fn positions(findings: &[Finding]) -> Vec<(u32, u32)> {
        findings
            .iter()
            .map(|f| f.location.region.map_or((0, 0), |r| (r.line, r.column)))
            .collect()
    }
}
