//! `workflow/self-hosted-runner`: jobs that run on self-hosted runners.

use vouch_core::{Finding, Rule, Severity};

use super::Ctx;
use crate::model::FileKind;
use crate::yaml::Node;

pub const RULE: Rule = Rule {
    id: "workflow/self-hosted-runner",
    severity: Severity::Low,
    summary: "A job runs on a self-hosted runner",
    help: "Self-hosted runners are not wiped between jobs: a job can leave a process, a \
           poisoned tool cache or credentials behind for the next one, and the machine usually \
           sits inside a network worth attacking. GitHub advises against them for public \
           repositories, where anyone can open a pull request. Use GitHub-hosted or ephemeral \
           (just-in-time, single-job) runners, never run `pull_request` code from forks on a \
           persistent runner, and require approval for outside contributors. The finding is \
           medium when the workflow runs on pull requests.",
    references: &[
        "https://docs.github.com/en/actions/hosting-your-own-runners/managing-self-hosted-runners/about-self-hosted-runners#self-hosted-runner-security",
        "https://docs.zizmor.sh/audits/#self-hosted-runner",
    ],
};

/// Whether a `runs-on:` value names a self-hosted runner: the `self-hosted` label, or a
/// runner `group:`.
fn self_hosted(runs_on: &Node) -> Option<&'static str> {
    if let Some(s) = runs_on.as_str() {
        return s
            .split(',')
            .any(|l| l.trim().eq_ignore_ascii_case("self-hosted"))
            .then_some("the `self-hosted` label");
    }
    if let Some(seq) = runs_on.as_seq() {
        return seq
            .iter()
            .any(|n| {
                n.as_str()
                    .is_some_and(|s| s.trim().eq_ignore_ascii_case("self-hosted"))
            })
            .then_some("the `self-hosted` label");
    }
    if runs_on.get("group").is_some() {
        return Some("a runner group");
    }
    runs_on.get("labels").and_then(self_hosted)
}

pub fn run(ctx: &Ctx<'_>, out: &mut Vec<Finding>) {
    let doc = ctx.doc;
    if doc.kind != FileKind::Workflow {
        return;
    }
    let prs = doc.has_trigger("pull_request") || doc.has_trigger("pull_request_target");
    for job in doc.jobs() {
        let Some(runs_on) = job.node.get("runs-on") else {
            continue;
        };
        let Some(why) = self_hosted(runs_on) else {
            continue;
        };
        let mut f = Finding::new(
            &RULE,
            doc.at(runs_on.head()),
            format!(
                "job `{}` runs on a self-hosted runner ({why}){}",
                job.id(),
                if prs {
                    ", and the workflow runs on pull requests"
                } else {
                    ""
                }
            ),
            job.id(),
        )
        .with_annotation("self-hosted runner");
        if prs {
            f = f.with_severity(Severity::Medium);
        }
        out.push(f);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audits::testing::{positions, run as audit, snapshot_text};

    const WF: &str = "on: pull_request
jobs:
  a:
    runs-on: [self-hosted, linux, x64]
  b:
    runs-on: ubuntu-latest
  c:
    runs-on:
      group: build-farm
  d:
    runs-on: self-hosted
  e:
    runs-on: ${{ matrix.os }}
";

    #[test]
    fn labels_and_groups() {
        let f = audit(run, WF);
        assert_eq!(positions(&f), vec![(4, 14), (9, 7), (11, 14)]);
        assert_eq!(f[0].severity, Severity::Medium);
        let push = WF.replace("pull_request", "push");
        assert_eq!(audit(run, &push)[0].severity, Severity::Low);
    }

    #[test]
    fn snapshot() {
        insta::assert_snapshot!(snapshot_text(&audit(run, WF)));
    }
}
