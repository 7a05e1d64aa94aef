//! `workflow/dangerous-trigger`: `pull_request_target`/`workflow_run` that run PR code.

use vouch_core::{Finding, Rule, Severity};

use super::Ctx;
use crate::model::{FileKind, Step, Uses, context_refs, expressions};
use crate::yaml::Node;

pub const RULE: Rule = Rule {
    id: "workflow/dangerous-trigger",
    severity: Severity::Critical,
    summary: "A privileged trigger checks out and runs code from a pull request",
    help: "`pull_request_target`, `workflow_run` and `issue_comment` run in the base \
           repository's context: \
           with its secrets, a token that can write, and access to its cache. Checking out \
           the pull request's head (`ref: ${{ github.event.pull_request.head.sha }}`, \
           `gh pr checkout`, an artifact of the triggering run) and then building, testing or \
           installing it lets anyone who opens a pull request run code with those privileges \
           (\"pwn request\").\n\n\
           - Use `pull_request` for anything that builds or tests PR code; it runs without \
           secrets and with a read-only token for forks.\n\
           - If a privileged step must follow (labelling, commenting), split it into a \
           `workflow_run` workflow that only reads the results as data, never executes them.\n\
           - Restricting the job to same-repository PRs (`if: \
           github.event.pull_request.head.repo.full_name == github.repository`) is accepted; \
           a label gate is not (the code can change after the label is set).",
    references: &[
        "https://securitylab.github.com/resources/github-actions-preventing-pwn-requests/",
        "https://docs.github.com/en/actions/writing-workflows/choosing-when-your-workflow-runs/events-that-trigger-workflows#pull_request_target",
        "https://docs.zizmor.sh/audits/#dangerous-triggers",
    ],
};

/// Expressions that name the pull request's (or triggering run's) code.
const HEAD_REFS: &[&str] = &[
    "github.event.pull_request.head.sha",
    "github.event.pull_request.head.ref",
    "github.event.pull_request.head.repo.full_name",
    "github.event.pull_request.merge_commit_sha",
    "github.event.pull_request.number",
    "github.event.number",
    "github.head_ref",
    "github.event.workflow_run.head_sha",
    "github.event.workflow_run.head_branch",
    "github.event.workflow_run.head_repository.full_name",
    "github.event.workflow_run.id",
    "github.event.issue.number",
];

fn names_head(text: &str) -> Option<String> {
    expressions(text)
        .iter()
        .flat_map(|e| context_refs(e.inner))
        .map(|r| r.to_ascii_lowercase())
        .find(|r| HEAD_REFS.contains(&r.as_str()))
}

/// The node and reference when `step` brings the PR's code into the workspace.
fn checks_out_head<'a>(step: &Step<'a>) -> Option<(&'a Node, String)> {
    if step.uses_action("actions/checkout") {
        for key in ["ref", "repository"] {
            if let Some(v) = step.with(key) {
                if let Some(r) = v.as_str().and_then(names_head) {
                    return Some((v, r));
                }
                if key == "ref" && v.as_str().is_some_and(|s| s.contains("refs/pull/")) {
                    return Some((v, "refs/pull/…".to_string()));
                }
            }
        }
        return None;
    }
    if let Some(name) = step.action_name() {
        let downloads =
            name == "actions/download-artifact" || name == "dawidd6/action-download-artifact";
        if downloads {
            if let Some(v) = step.with("run-id").or_else(|| step.with("run_id"))
                && let Some(r) = v.as_str().and_then(names_head)
            {
                return Some((v, format!("artifacts of {r}")));
            }
            if name == "dawidd6/action-download-artifact" && step.with("workflow").is_some() {
                return Some((step.uses()?, "artifacts of the triggering run".to_string()));
            }
        }
        return None;
    }
    let run = step.run()?;
    let text = run.as_str()?;
    let lower = text.to_ascii_lowercase();
    if lower.contains("gh pr checkout") {
        return Some((run, "`gh pr checkout`".to_string()));
    }
    if lower.contains("git fetch") || lower.contains("git checkout") || lower.contains("git switch")
    {
        if let Some(r) = names_head(text) {
            return Some((run, r));
        }
        if lower.contains("refs/pull/") || lower.contains("pull/") && lower.contains("/head") {
            return Some((run, "refs/pull/…".to_string()));
        }
    }
    None
}

/// Whether `step` executes code from the workspace: a script, a local action, or a
/// third-party action other than toolchain installers, caches and artifact transfers.
fn executes(step: &Step<'_>) -> bool {
    if step.run().is_some() {
        return true;
    }
    match step.action() {
        Some(Uses::Local(_)) => true,
        Some(Uses::Repo { repo, .. }) => {
            let repo = repo.to_ascii_lowercase();
            let inert = [
                "setup",
                "toolchain",
                "cache",
                "artifact",
                "checkout",
                "labeler",
            ];
            !inert.iter().any(|w| repo.contains(w))
        }
        _ => false,
    }
}

pub fn run(ctx: &Ctx<'_>, out: &mut Vec<Finding>) {
    let doc = ctx.doc;
    if doc.kind != FileKind::Workflow {
        return;
    }
    let privileged = doc.privileged_triggers();
    let Some((trigger, _)) = privileged.first() else {
        return;
    };
    for job in doc.jobs() {
        let same_repo_only = job.node.get_str("if").is_some_and(|c| {
            let c = c.replace(' ', "");
            c.contains("head.repo.full_name==github.repository")
                || c.contains("github.repository==github.event.pull_request.head.repo.full_name")
                || c.contains("head.repo.fork==false")
                || c.contains("!github.event.pull_request.head.repo.fork")
        });
        if same_repo_only {
            continue;
        }
        let steps = job.steps();
        for (i, step) in steps.iter().enumerate() {
            let Some((node, what)) = checks_out_head(step) else {
                continue;
            };
            let Some(runner) = steps[i + 1..].iter().find(|s| executes(s)) else {
                continue;
            };
            let runs = runner
                .run()
                .map(|_| "a `run:` step".to_string())
                .or_else(|| {
                    runner
                        .uses()
                        .and_then(Node::as_str)
                        .map(|u| format!("`{u}`"))
                })
                .unwrap_or_default();
            let line = runner.node.start.line;
            out.push(
                Finding::new(
                    &RULE,
                    doc.at(node),
                    format!(
                        "`{trigger}` job `{}` checks out pull-request code ({what}) and then runs it ({runs}, line {line})",
                        job.id()
                    ),
                    &format!("{}:{what}", job.id()),
                )
                .with_annotation("untrusted code checked out with privileges"),
            );
            break;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audits::testing::{positions, run as audit};

    #[test]
    fn pwn_request_fires() {
        let text = "on: pull_request_target
jobs:
  test:
    steps:
      - uses: actions/checkout@v4
        with:
          ref: ${{ github.event.pull_request.head.sha }}
      - run: npm ci && npm test
  label:
    steps:
      - uses: actions/checkout@v4
      - run: ./label.sh
";
        let f = audit(run, text);
        assert_eq!(positions(&f), vec![(7, 16)]);
        assert!(f[0].message.contains("github.event.pull_request.head.sha"));
        assert_eq!(f[0].severity, Severity::Critical);
    }

    #[test]
    fn workflow_run_artifacts_and_gh_checkout() {
        let text = "on:
  workflow_run:
    workflows: [ci]
    types: [completed]
jobs:
  a:
    steps:
      - uses: actions/download-artifact@v4
        with:
          run-id: ${{ github.event.workflow_run.id }}
      - run: ./artifact/report.sh
  b:
    steps:
      - run: gh pr checkout 1
      - run: make
";
        assert_eq!(positions(&audit(run, text)), vec![(10, 19), (14, 14)]);
    }

    #[test]
    fn safe_forms_do_not_fire() {
        let same_repo = "on: pull_request_target
jobs:
  a:
    if: github.event.pull_request.head.repo.full_name == github.repository
    steps:
      - uses: actions/checkout@v4
        with:
          ref: ${{ github.event.pull_request.head.sha }}
      - run: make
";
        assert!(audit(run, same_repo).is_empty());
        let plain_pr = "on: pull_request\njobs:\n  a:\n    steps:\n      - uses: actions/checkout@v4\n        with:\n          ref: ${{ github.event.pull_request.head.sha }}\n      - run: make\n";
        assert!(audit(run, plain_pr).is_empty());
        let no_exec = "on: pull_request_target\njobs:\n  a:\n    steps:\n      - uses: actions/checkout@v4\n        with:\n          ref: ${{ github.event.pull_request.head.sha }}\n";
        assert!(audit(run, no_exec).is_empty());
    }
}
