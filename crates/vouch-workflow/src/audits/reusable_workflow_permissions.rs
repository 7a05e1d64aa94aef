//! `workflow/reusable-workflow-permissions`: a reusable workflow called with the default token.

use vouch_core::{Finding, Rule, Severity};

use super::Ctx;
use crate::model::FileKind;

pub const RULE: Rule = Rule {
    id: "workflow/reusable-workflow-permissions",
    severity: Severity::Medium,
    summary: "A job calls a reusable workflow without `permissions:`, handing it the default token",
    help: "A called workflow cannot raise its token above what the calling job grants, and the \
           caller is the only place the ceiling can be set. A calling job with no \
           `permissions:`, in a workflow with none at the top, passes the repository's default \
           token — read/write on every scope in repositories created before February 2023 and \
           in many organisations — to a workflow that may live in another repository. Declare \
           what it needs on the calling job:\n\n\
           ```yaml\njobs:\n  release:\n    uses: org/shared/.github/workflows/release.yml@<sha>\n    \
           permissions:\n      contents: write\n```\n\n\
           `write-all` on a calling job is high.",
    references: &[
        "https://docs.github.com/en/actions/sharing-automations/reusing-workflows#access-and-permissions",
        "https://docs.zizmor.sh/audits/#excessive-permissions",
    ],
};

pub fn run(ctx: &Ctx<'_>, out: &mut Vec<Finding>) {
    let doc = ctx.doc;
    if doc.kind != FileKind::Workflow {
        return;
    }
    let top = doc.permissions();
    for job in doc.jobs() {
        let Some(uses) = job.uses() else { continue };
        let target = uses.as_str().unwrap_or("");
        match job.permissions() {
            Some((_, v)) if v.as_str() == Some("write-all") => out.push(
                Finding::new(
                    &RULE,
                    doc.at(v),
                    format!("job `{}` hands `{target}` a token with every scope writable", job.id()),
                    &format!("write-all:{}", job.id()),
                )
                .with_annotation("write-all for a called workflow")
                .with_severity(Severity::High),
            ),
            Some(_) => {}
            None if top.is_none() => out.push(
                Finding::new(
                    &RULE,
                    doc.at(job.key),
                    format!(
                        "job `{}` calls `{target}` with the repository's default token: neither the job nor the workflow sets `permissions:`",
                        job.id()
                    ),
                    &format!("default:{}", job.id()),
                )
                .with_annotation("default permissions passed to a reusable workflow"),
            ),
            None => {}
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
    uses: org/r/.github/workflows/x.yml@main
  b:
    uses: ./.github/workflows/y.yml
    permissions:
      contents: read
  c:
    uses: ./.github/workflows/z.yml
    permissions: write-all
  d:
    runs-on: ubuntu-latest
    steps:
      - run: make
";

    #[test]
    fn calling_jobs_need_permissions() {
        let f = audit(run, WF);
        assert_eq!(positions(&f), vec![(3, 3), (11, 18)]);
        let scoped = WF.replace("on: push\n", "on: push\npermissions: {}\n");
        assert_eq!(positions(&audit(run, &scoped)), vec![(12, 18)]);
    }

    #[test]
    fn snapshot() {
        insta::assert_snapshot!(snapshot_text(&audit(run, WF)));
    }
}
