//! `workflow/hardcoded-container-credentials`: registry passwords written into the workflow.

use vouch_core::{Finding, Rule, Severity};

use super::Ctx;
use crate::yaml::Node;

pub const RULE: Rule = Rule {
    id: "workflow/hardcoded-container-credentials",
    severity: Severity::High,
    summary: "A container or service registry password is written in the workflow",
    help: "`credentials.password` of a job `container:` or a `services:` entry is a registry \
           credential; written as text it is readable by everyone who can read the repository \
           and stays in its history after removal. Rotate it, store it as a secret and \
           reference it: `password: ${{ secrets.REGISTRY_TOKEN }}` (for GHCR, \
           `${{ secrets.GITHUB_TOKEN }}` with `packages: read`).",
    references: &[
        "https://docs.github.com/en/actions/writing-workflows/workflow-syntax-for-github-actions#jobsjob_idcontainercredentials",
        "https://docs.zizmor.sh/audits/#hardcoded-container-credentials",
    ],
};

fn check(ctx: &Ctx<'_>, what: String, holder: &Node, out: &mut Vec<Finding>) {
    let Some((key, creds)) = holder.entry("credentials") else {
        return;
    };
    let Some(pw) = creds.get("password") else {
        return;
    };
    let Some(text) = pw.as_str() else { return };
    if text.trim().is_empty() || text.contains("${{") {
        return;
    }
    out.push(
        Finding::new(
            &RULE,
            ctx.doc.at(key),
            format!(
                "{what} has a registry password written in the workflow (line {})",
                pw.start.line
            ),
            &what,
        )
        .with_annotation("registry password is hard-coded")
        .with_evidence("password: ********"),
    );
}

pub fn run(ctx: &Ctx<'_>, out: &mut Vec<Finding>) {
    for job in ctx.doc.jobs() {
        if let Some(c) = job.node.get("container") {
            check(ctx, format!("the container of job `{}`", job.id()), c, out);
        }
        if let Some(services) = job.node.get("services").and_then(Node::as_map) {
            for (name, svc) in services {
                check(
                    ctx,
                    format!(
                        "service `{}` of job `{}`",
                        name.as_str().unwrap_or(""),
                        job.id()
                    ),
                    svc,
                    out,
                );
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
    container:
      image: ghcr.io/o/i@sha256:x
      credentials:
        username: me
        password: hunter2
    services:
      db:
        image: o/db
        credentials:
          username: ${{ github.actor }}
          password: ${{ secrets.GITHUB_TOKEN }}
";

    #[test]
    fn literal_passwords_only() {
        let f = audit(run, WF);
        assert_eq!(positions(&f), vec![(6, 7)]);
        assert!(!f[0].message.contains("hunter2"));
    }

    #[test]
    fn snapshot() {
        insta::assert_snapshot!(snapshot_text(&audit(run, WF)));
    }
}
