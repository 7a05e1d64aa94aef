//! `workflow/artipacked`: `actions/checkout` leaves the token in `.git/config`.

use vouch_core::{Finding, Rule, Severity};

use super::Ctx;
use crate::yaml::Node;

pub const RULE: Rule = Rule {
    id: "workflow/artipacked",
    severity: Severity::Medium,
    summary: "actions/checkout persists the job's token in .git/config",
    help: "By default `actions/checkout` writes the job's `GITHUB_TOKEN` into the checked-out \
           repository's git configuration so that later `git` commands are authenticated. Any \
           later step can read it, and an artifact of the workspace (`actions/upload-artifact` \
           with `path: .`) publishes it to anyone who can download the run's artifacts.\n\n\
           Set `persist-credentials: false` unless a later step pushes with git (then say so \
           with `persist-credentials: true`, which vouch accepts as deliberate):\n\n\
           ```yaml\n- uses: actions/checkout@<sha> # v4\n  with:\n    persist-credentials: false\n```\n\n\
           The finding is high when the same job uploads the workspace as an artifact.",
    references: &[
        "https://unit42.paloaltonetworks.com/github-repo-artifacts-leak-tokens/",
        "https://github.com/actions/checkout#usage",
        "https://docs.zizmor.sh/audits/#artipacked",
    ],
};

/// An `actions/upload-artifact` path that includes the workspace root (and so `.git/`).
fn uploads_workspace(path: &str) -> bool {
    path.lines().map(str::trim).any(|p| {
        matches!(p, "." | "./" | "*" | "**" | "./*" | "./**")
            || p.contains("github.workspace")
            || p.contains("GITHUB_WORKSPACE")
    })
}

pub fn run(ctx: &Ctx<'_>, out: &mut Vec<Finding>) {
    for job in ctx.doc.jobs() {
        let steps = job.steps();
        let leaks = steps.iter().any(|s| {
            s.uses_action("actions/upload-artifact")
                && s.with("path")
                    .and_then(Node::as_str)
                    .is_some_and(uploads_workspace)
        });
        for step in &steps {
            if !step.uses_action("actions/checkout") {
                continue;
            }
            // Only the default persists silently: an explicit `persist-credentials: true` is
            // a deliberate choice for a job that pushes (zizmor agrees).
            let persisted = step.with("persist-credentials").is_none();
            if !persisted {
                continue;
            }
            let mut f = Finding::new(
                &RULE,
                ctx.doc.at(step.node.head()),
                if leaks {
                    format!(
                        "actions/checkout in job `{}` keeps the token in .git/config, and the job uploads the workspace as an artifact",
                        job.id()
                    )
                } else {
                    format!(
                        "actions/checkout in job `{}` keeps the token in .git/config for every later step",
                        job.id()
                    )
                },
                &format!("{}:checkout", job.id()),
            )
            .with_annotation("does not set `persist-credentials: false`");
            if leaks {
                f = f.with_severity(Severity::High);
            }
            out.push(f);
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
      - uses: actions/checkout@v4
      - name: safe
        uses: actions/checkout@v4
        with:
          persist-credentials: false
      - name: explicit
        uses: actions/checkout@v4
        with:
          persist-credentials: true
  b:
    steps:
      - uses: actions/checkout@v4
      - uses: actions/upload-artifact@v4
        with:
          path: .
";

    #[test]
    fn persisted_credentials() {
        let f = audit(run, WF);
        assert_eq!(positions(&f), vec![(5, 9), (16, 9)]);
        assert_eq!(f[1].severity, Severity::High);
        assert_eq!(f[0].severity, Severity::Medium);
    }

    #[test]
    fn snapshot() {
        insta::assert_snapshot!(snapshot_text(&audit(run, WF)));
    }
}
