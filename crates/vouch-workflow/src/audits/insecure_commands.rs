//! `workflow/insecure-commands`: `ACTIONS_ALLOW_UNSECURE_COMMANDS` re-enables `set-env`.

use vouch_core::{Finding, Rule, Severity};

use super::Ctx;
use crate::yaml::Node;

pub const RULE: Rule = Rule {
    id: "workflow/insecure-commands",
    severity: Severity::High,
    summary: "ACTIONS_ALLOW_UNSECURE_COMMANDS re-enables the `set-env`/`add-path` commands",
    help: "GitHub disabled the `::set-env::` and `::add-path::` workflow commands in 2020 \
           (CVE-2020-15228): any text a step prints — a test log, a pull request title echoed \
           by a tool — could set environment variables such as `NODE_OPTIONS` or prepend to \
           PATH for later steps. `ACTIONS_ALLOW_UNSECURE_COMMANDS: true` turns them back on. \
           Remove it and write to `$GITHUB_ENV`/`$GITHUB_PATH` from the step that computes the \
           value; update actions that still print `::set-env::`.",
    references: &[
        "https://github.blog/changelog/2020-10-01-github-actions-deprecating-set-env-and-add-path-commands/",
        "https://github.com/advisories/GHSA-mfwh-5m23-j46w",
        "https://docs.zizmor.sh/audits/#insecure-commands",
    ],
};

fn check(ctx: &Ctx<'_>, holder: &str, env_key: &Node, env: &Node, out: &mut Vec<Finding>) {
    let Some(map) = env.as_map() else { return };
    for (k, v) in map {
        if k.as_str() != Some("ACTIONS_ALLOW_UNSECURE_COMMANDS") {
            continue;
        }
        let value = v.as_str().unwrap_or("").trim().to_ascii_lowercase();
        if value == "false" || value.is_empty() {
            continue;
        }
        out.push(
            Finding::new(
                &RULE,
                ctx.doc.at(env_key),
                format!(
                    "{holder} sets ACTIONS_ALLOW_UNSECURE_COMMANDS (line {}): printed text can set environment variables and PATH",
                    k.start.line
                ),
                holder,
            )
            .with_annotation("insecure commands enabled here"),
        );
    }
}

pub fn run(ctx: &Ctx<'_>, out: &mut Vec<Finding>) {
    let doc = ctx.doc;
    if let Some((k, v)) = doc.root.entry("env") {
        check(ctx, "the workflow", k, v, out);
    }
    for job in doc.jobs() {
        if let Some((k, v)) = job.node.entry("env") {
            check(ctx, &format!("job `{}`", job.id()), k, v, out);
        }
        for (i, step) in job.steps().iter().enumerate() {
            if let Some((k, v)) = step.node.entry("env") {
                check(
                    ctx,
                    &format!("step {} of job `{}`", i + 1, job.id()),
                    k,
                    v,
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
env:
  ACTIONS_ALLOW_UNSECURE_COMMANDS: 'true'
jobs:
  a:
    env:
      ACTIONS_ALLOW_UNSECURE_COMMANDS: false
    steps:
      - run: echo
        env:
          OTHER: 1
          ACTIONS_ALLOW_UNSECURE_COMMANDS: yes
";

    #[test]
    fn enabled_anywhere() {
        let f = audit(run, WF);
        assert_eq!(positions(&f), vec![(2, 1), (10, 9)]);
    }

    #[test]
    fn snapshot() {
        insta::assert_snapshot!(snapshot_text(&audit(run, WF)));
    }
}
