//! `workflow/archived-uses`: actions and reusable workflows from archived repositories.
//!
//! The list is offline and ships with vouch (`archived-actions.txt` beside this file). It
//! started from the archived-repository list that zizmor (MIT) ships and is kept sorted, one
//! `owner/repo` per line, lower case.

use std::collections::HashSet;
use std::sync::OnceLock;

use vouch_core::{Finding, Rule, Severity};

use super::Ctx;
use crate::model::Uses;
use crate::yaml::Node;

pub const RULE: Rule = Rule {
    id: "workflow/archived-uses",
    severity: Severity::Medium,
    summary: "An action or reusable workflow comes from an archived repository",
    help: "An archived repository gets no fixes: a vulnerability found in it (or in the \
           dependencies it bundles) stays, and its owner may have moved on so that the name can \
           be taken over. Replace it with the maintained successor (`actions/create-release` → \
           `softprops/action-gh-release` or `gh release create`; `actions-rs/toolchain` → \
           `dtolnay/rust-toolchain`; `gradle/gradle-build-action` → \
           `gradle/actions/setup-gradle`) or with a few lines of `run:`. vouch's list is \
           offline; it is refreshed with vouch releases.",
    references: &[
        "https://docs.github.com/en/repositories/archiving-a-github-repository/archiving-repositories",
        "https://docs.zizmor.sh/audits/#archived-uses",
    ],
};

const ARCHIVED: &str = include_str!("archived-actions.txt");

/// The list as a set, built once per process.
fn archived() -> &'static HashSet<&'static str> {
    static SET: OnceLock<HashSet<&'static str>> = OnceLock::new();
    SET.get_or_init(|| {
        ARCHIVED
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
            .collect()
    })
}

fn is_archived(owner_repo: &str) -> bool {
    archived().contains(owner_repo.to_ascii_lowercase().as_str())
}

fn check(ctx: &Ctx<'_>, node: &Node, out: &mut Vec<Finding>) {
    let Some(text) = node.as_str() else { return };
    let Uses::Repo { owner, repo, .. } = Uses::parse(text) else {
        return;
    };
    let name = format!("{owner}/{repo}");
    if !is_archived(&name) {
        return;
    }
    out.push(
        Finding::new(
            &RULE,
            ctx.doc.at(node),
            format!("`{name}` is an archived repository: it gets no security fixes"),
            &name.to_ascii_lowercase(),
        )
        .with_annotation("repository is archived"),
    );
}

pub fn run(ctx: &Ctx<'_>, out: &mut Vec<Finding>) {
    for job in ctx.doc.jobs() {
        if let Some(u) = job.uses() {
            check(ctx, u, out);
        }
        for step in job.steps() {
            if let Some(u) = step.uses() {
                check(ctx, u, out);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audits::testing::{positions, run as audit, snapshot_text};

    const WF: &str = "on: push
jobs:
  a:
    steps:
      - uses: actions/create-release@v1
      - uses: Actions-RS/Toolchain@v1
      - uses: actions/checkout@v4
      - uses: gradle/gradle-build-action/sub@v2
";

    #[test]
    fn archived_repositories() {
        assert_eq!(positions(&audit(run, WF)), vec![(5, 15), (6, 15), (8, 15)]);
    }

    #[test]
    fn list_is_sorted_lower_case_and_unique() {
        let rows: Vec<&str> = ARCHIVED
            .lines()
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
            .collect();
        assert!(rows.len() > 100);
        let mut sorted = rows.clone();
        sorted.sort_unstable();
        sorted.dedup();
        assert_eq!(rows, sorted);
        assert!(
            rows.iter()
                .all(|r| *r == r.to_ascii_lowercase() && r.split('/').count() == 2)
        );
    }

    #[test]
    fn snapshot() {
        insta::assert_snapshot!(snapshot_text(&audit(run, WF)));
    }
}
