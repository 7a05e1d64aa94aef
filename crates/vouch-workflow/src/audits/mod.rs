//! The audits: one file per rule, each with its `RULE` metadata at the top and its tests
//! below. Adding an audit means adding its file, its line in [`RULES`] and in [`run_all`].

pub mod archived_uses;
pub mod artipacked;
pub mod bot_conditions;
pub mod cache_poisoning;
pub mod dangerous_trigger;
pub mod github_env;
pub mod hardcoded_container_credentials;
pub mod insecure_commands;
pub mod invalid_uses;
pub mod missing_environment;
pub mod overprovisioned_secrets;
pub mod permissions;
pub mod reusable_workflow_permissions;
pub mod secrets_inherit;
pub mod self_hosted_runner;
pub mod static_cloud_credentials;
pub mod template_injection;
pub mod unpinned_action;
pub mod unpinned_images;
pub mod unredacted_secrets;
pub mod use_trusted_publishing;

use vouch_core::{Finding, Rule};

use crate::Settings;
use crate::model::Document;

/// Every `workflow/*` rule, sorted by id.
pub const RULES: &[&Rule] = &[
    &archived_uses::RULE,
    &artipacked::RULE,
    &bot_conditions::RULE,
    &cache_poisoning::RULE,
    &dangerous_trigger::RULE,
    &github_env::RULE,
    &hardcoded_container_credentials::RULE,
    &insecure_commands::RULE,
    &invalid_uses::RULE,
    &missing_environment::RULE,
    &overprovisioned_secrets::RULE,
    &permissions::RULE,
    &reusable_workflow_permissions::RULE,
    &secrets_inherit::RULE,
    &self_hosted_runner::RULE,
    &static_cloud_credentials::RULE,
    &template_injection::RULE,
    &unpinned_action::RULE,
    &unpinned_images::RULE,
    &unredacted_secrets::RULE,
    &use_trusted_publishing::RULE,
];

/// What an audit sees.
pub struct Ctx<'a> {
    pub doc: &'a Document,
    pub settings: &'a Settings,
}

/// For audits about one kind of `${{ … }}` expression: every expression in the document's
/// scalars whose inner text `pick` selects becomes one finding, made by `finding` from its
/// precise location, the expression's text and its inner text.
pub(crate) fn expression_findings(
    ctx: &Ctx<'_>,
    out: &mut Vec<Finding>,
    pick: fn(&str) -> bool,
    finding: impl Fn(vouch_core::Location, &str, &str) -> Finding,
) {
    for node in ctx.doc.root.scalars() {
        let Some(text) = node.as_str() else { continue };
        if !text.contains("${{") {
            continue;
        }
        let mut seen: Vec<&str> = Vec::new();
        for e in crate::model::expressions(text) {
            if !pick(e.inner) {
                continue;
            }
            let nth = seen.iter().filter(|t| **t == e.text).count();
            seen.push(e.text);
            out.push(finding(ctx.doc.at_text(node, e.text, nth), e.text, e.inner));
        }
    }
}

/// Runs every audit over `doc`.
pub fn run_all(doc: &Document, settings: &Settings, out: &mut Vec<Finding>) {
    let ctx = Ctx { doc, settings };
    archived_uses::run(&ctx, out);
    artipacked::run(&ctx, out);
    bot_conditions::run(&ctx, out);
    cache_poisoning::run(&ctx, out);
    dangerous_trigger::run(&ctx, out);
    github_env::run(&ctx, out);
    hardcoded_container_credentials::run(&ctx, out);
    insecure_commands::run(&ctx, out);
    invalid_uses::run(&ctx, out);
    missing_environment::run(&ctx, out);
    overprovisioned_secrets::run(&ctx, out);
    permissions::run(&ctx, out);
    reusable_workflow_permissions::run(&ctx, out);
    secrets_inherit::run(&ctx, out);
    self_hosted_runner::run(&ctx, out);
    static_cloud_credentials::run(&ctx, out);
    template_injection::run(&ctx, out);
    unpinned_action::run(&ctx, out);
    unpinned_images::run(&ctx, out);
    unredacted_secrets::run(&ctx, out);
    use_trusted_publishing::run(&ctx, out);
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

    /// One line per finding, for the per-audit insta snapshots: position, rule, severity,
    /// message and annotation (what a reviewer must see change).
    pub fn snapshot_text(findings: &[Finding]) -> String {
        findings
            .iter()
            .map(|f| {
                let (l, c) = f.location.region.map_or((0, 0), |r| (r.line, r.column));
                format!(
                    "{l}:{c} {} [{}] {} ({})",
                    f.rule,
                    f.severity,
                    f.message,
                    f.annotation.as_deref().unwrap_or("")
                )
            })
            .collect::<Vec<_>>()
            .join("\n")
    }

    /// (line, column) of each finding.
    pub fn positions(findings: &[Finding]) -> Vec<(u32, u32)> {
        findings
            .iter()
            .map(|f| f.location.region.map_or((0, 0), |r| (r.line, r.column)))
            .collect()
    }
}
