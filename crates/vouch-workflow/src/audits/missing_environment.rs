//! `workflow/missing-environment`: a deploy job without an `environment:` gate.

use vouch_core::{Finding, Rule, Severity};

use super::Ctx;
use crate::model::{FileKind, deploy_reason};

pub const RULE: Rule = Rule {
    id: "workflow/missing-environment",
    severity: Severity::Medium,
    summary: "A deploy job has no `environment:`, so nothing gates it",
    help: "Give every job that deploys or publishes an environment:\n\n\
           ```yaml\njobs:\n  deploy:\n    environment: production\n```\n\n\
           Environments are where GitHub enforces required reviewers, wait timers and \
           deployment-branch rules, and where environment-scoped secrets live (so a test job \
           cannot read production keys). Cloud OIDC trust policies can then require \
           `environment:production` in the token's `sub` claim. A job counts as a deployment \
           when it logs in to a cloud, deploys to Kubernetes/Pages/serverless platforms, \
           publishes a package (`npm publish`, `cargo publish`, PyPI), or is named \
           `deploy`; add your own commands with `deploy_patterns` under `[workflow]`.",
    references: &[
        "https://docs.github.com/en/actions/managing-workflow-runs-and-deployments/managing-deployments/managing-environments-for-deployment",
        "https://docs.github.com/en/actions/security-for-github-actions/security-hardening-your-deployments/about-security-hardening-with-openid-connect#filtering-for-a-specific-environment",
    ],
};

pub fn run(ctx: &Ctx<'_>, out: &mut Vec<Finding>) {
    let doc = ctx.doc;
    if doc.kind != FileKind::Workflow {
        return;
    }
    for job in doc.jobs() {
        if job.environment().is_some() || job.uses().is_some() {
            continue;
        }
        let Some(why) = deploy_reason(&job, &ctx.settings.section.deploy_patterns) else {
            continue;
        };
        out.push(
            Finding::new(
                &RULE,
                doc.at(job.key),
                format!(
                    "job `{}` deploys ({why}) without an `environment:`: no approval or branch rule gates it",
                    job.id()
                ),
                job.id(),
            )
            .with_annotation("deploy job without environment"),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Settings;
    use crate::audits::testing::{positions, run as audit, run_with};

    #[test]
    fn deploy_jobs_need_environments() {
        let text = "on: push
jobs:
  build:
    steps:
      - run: make
  deploy:
    steps:
      - run: |
          helm upgrade --install app ./chart
  publish:
    environment: pypi
    steps:
      - uses: pypa/gh-action-pypi-publish@release/v1
  release:
    steps:
      - run: ./scripts/ship.sh
";
        let f = audit(run, text);
        assert_eq!(positions(&f), vec![(6, 3)]);
        assert!(f[0].message.contains("helm upgrade"));
        let mut s = Settings::default();
        s.section.deploy_patterns = vec!["scripts/ship.sh".into()];
        assert_eq!(positions(&run_with(run, text, &s)), vec![(6, 3), (14, 3)]);
    }
}
