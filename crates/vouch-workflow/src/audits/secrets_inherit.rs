//! `workflow/secrets-inherit`: a reusable workflow called with `secrets: inherit`.

use vouch_core::{Finding, Rule, Severity};

use super::Ctx;

pub const RULE: Rule = Rule {
    id: "workflow/secrets-inherit",
    severity: Severity::Medium,
    summary: "A reusable workflow receives every secret of the caller (`secrets: inherit`)",
    help: "`secrets: inherit` hands the called workflow every repository, organisation and \
           environment secret the caller can read, whether it needs them or not; a compromise \
           of the called workflow (or of any action it uses) exposes all of them. Pass the \
           secrets it needs by name:\n\n\
           ```yaml\njobs:\n  release:\n    uses: org/shared/.github/workflows/release.yml@<sha>\n    \
           secrets:\n      NPM_TOKEN: ${{ secrets.NPM_TOKEN }}\n```",
    references: &[
        "https://docs.github.com/en/actions/sharing-automations/reusing-workflows#passing-inputs-and-secrets-to-a-reusable-workflow",
        "https://docs.zizmor.sh/audits/#secrets-inherit",
    ],
};

pub fn run(ctx: &Ctx<'_>, out: &mut Vec<Finding>) {
    for job in ctx.doc.jobs() {
        let Some(uses) = job.uses() else { continue };
        if job.node.get_str("secrets") != Some("inherit") {
            continue;
        }
        out.push(
            Finding::new(
                &RULE,
                ctx.doc.at(uses),
                format!(
                    "job `{}` passes every secret to `{}` with `secrets: inherit`",
                    job.id(),
                    uses.as_str().unwrap_or("")
                ),
                job.id(),
            )
            .with_annotation("this reusable workflow gets all secrets"),
        );
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
    secrets: inherit
  b:
    uses: ./.github/workflows/y.yml
    secrets:
      T: ${{ secrets.T }}
";

    #[test]
    fn inherit_only() {
        assert_eq!(positions(&audit(run, WF)), vec![(4, 11)]);
    }

    #[test]
    fn snapshot() {
        insta::assert_snapshot!(snapshot_text(&audit(run, WF)));
    }
}
