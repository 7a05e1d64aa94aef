//! `workflow/use-trusted-publishing`: publishing with a long-lived token where OIDC works.

use vouch_core::{Finding, Rule, Severity};

use super::Ctx;
use crate::model::{Job, Step, runs_command};
use crate::yaml::Node;

pub const RULE: Rule = Rule {
    id: "workflow/use-trusted-publishing",
    severity: Severity::Low,
    summary: "A package is published with a stored API token where trusted publishing works",
    help: "PyPI, npm, crates.io and RubyGems accept short-lived credentials exchanged for the \
           job's OIDC token (\"trusted publishing\"): nothing to store, rotate or leak, and the \
           package records which workflow published it. A stored API token works from \
           anywhere until someone revokes it. Configure the package's trusted publisher on the \
           registry, grant the publishing job `id-token: write`, and drop the token:\n\n\
           - PyPI: `pypa/gh-action-pypi-publish` without `password:`, or `uv publish`.\n\
           - npm: `npm publish` (npm 11.5 or later) without `NODE_AUTH_TOKEN`.\n\
           - crates.io: `rust-lang/crates-io-auth-action`, then `cargo publish`.\n\
           - RubyGems: `rubygems/release-gem` or `rubygems/configure-rubygems-credentials`.",
    references: &[
        "https://docs.github.com/en/actions/security-for-github-actions/security-hardening-your-deployments/about-security-hardening-with-openid-connect",
        "https://docs.zizmor.sh/audits/#use-trusted-publishing",
    ],
};

/// Every `env:` of the workflow and the job (all steps included) and every `run:` of the job,
/// lower-cased: a token can be set up in one step (`cargo login`, `.npmrc`) and used in another.
fn context_text(doc_env: Option<&Node>, job: &Job<'_>) -> String {
    let mut s = String::new();
    let steps = job.steps();
    let envs = [doc_env, job.node.get("env")]
        .into_iter()
        .chain(steps.iter().map(|st| st.node.get("env")))
        .flatten();
    for n in envs {
        for (k, v) in n.as_map().unwrap_or_default() {
            s.push_str(k.as_str().unwrap_or(""));
            s.push('=');
            s.push_str(v.as_str().unwrap_or(""));
            s.push('\n');
        }
    }
    for st in &steps {
        if let Some(r) = st.run().and_then(Node::as_str) {
            s.push_str(r);
            s.push('\n');
        }
    }
    s.to_ascii_lowercase()
}

fn job_uses(job: &Job<'_>, action: &str) -> bool {
    job.steps().iter().any(|s| s.uses_action(action))
}

/// Why `step` publishes with a stored token, if it does.
fn token_publish(doc_env: Option<&Node>, job: &Job<'_>, step: &Step<'_>) -> Option<&'static str> {
    if step.uses_action("pypa/gh-action-pypi-publish") {
        let pw = step.with("password").and_then(Node::as_str).unwrap_or("");
        return (!pw.trim().is_empty()).then_some("pypa/gh-action-pypi-publish with `password:`");
    }
    let run = step.run().and_then(Node::as_str)?.to_ascii_lowercase();
    // A dry run publishes nothing.
    let run: String = run
        .lines()
        .filter(|l| !l.contains("--dry-run"))
        .collect::<Vec<_>>()
        .join("\n");
    let ctx = context_text(doc_env, job);
    let secret_in = |names: &[&str]| {
        ctx.lines()
            .any(|l| names.iter().any(|n| l.contains(n)) && l.contains("secrets."))
    };
    if runs_command(&run, "twine upload") {
        return Some("`twine upload` with an API token");
    }
    if (runs_command(&run, "uv publish") || runs_command(&run, "poetry publish"))
        && (secret_in(&["token", "password"])
            || run.contains("--token")
            || run.contains("--password"))
    {
        return Some("a PyPI API token");
    }
    if (runs_command(&run, "npm publish")
        || runs_command(&run, "pnpm publish")
        || runs_command(&run, "yarn npm publish"))
        && secret_in(&["node_auth_token", "npm_token", "npm_auth_token"])
    {
        return Some("`npm publish` with an npm token");
    }
    if runs_command(&run, "cargo publish")
        && !job_uses(job, "rust-lang/crates-io-auth-action")
        && (secret_in(&["cargo_registry_token", "crates", "cargo login"])
            || run.contains("--token"))
    {
        return Some("`cargo publish` with a crates.io token");
    }
    if runs_command(&run, "gem push")
        && !job_uses(job, "rubygems/configure-rubygems-credentials")
        && secret_in(&["gem_host_api_key", "rubygems"])
    {
        return Some("`gem push` with a RubyGems API key");
    }
    None
}

pub fn run(ctx: &Ctx<'_>, out: &mut Vec<Finding>) {
    let doc_env = ctx.doc.root.get("env");
    for job in ctx.doc.jobs() {
        for step in job.steps() {
            let Some(how) = token_publish(doc_env, &job, &step) else {
                continue;
            };
            let at = step.uses().or_else(|| step.run()).unwrap_or(step.node);
            out.push(
                Finding::new(
                    &RULE,
                    ctx.doc.at(at),
                    format!(
                        "job `{}` publishes with {how}; the registry supports trusted publishing (OIDC)",
                        job.id()
                    ),
                    &format!("{}:{how}", job.id()),
                )
                .with_annotation("long-lived publishing token"),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audits::testing::{positions, run as audit, snapshot_text};

    const WF: &str = "on: push
jobs:
  pypi:
    steps:
      - uses: pypa/gh-action-pypi-publish@release/v1
        with:
          password: ${{ secrets.PYPI_TOKEN }}
      - uses: pypa/gh-action-pypi-publish@release/v1
      - run: twine upload dist/*
  npm:
    env:
      NODE_AUTH_TOKEN: ${{ secrets.NPM_TOKEN }}
    steps:
      - run: npm publish --provenance
  npm-oidc:
    permissions:
      id-token: write
    steps:
      - run: npm publish
  crates:
    steps:
      - run: cargo publish --token ${{ secrets.CRATES_TOKEN }}
  crates-login:
    steps:
      - run: cargo login ${{ secrets.CRATES_IO_API_TOKEN }}
      - run: cargo publish --dry-run
      - run: cargo publish
  crates-oidc:
    steps:
      - uses: rust-lang/crates-io-auth-action@v1
        id: auth
      - run: cargo publish
        env:
          CARGO_REGISTRY_TOKEN: ${{ steps.auth.outputs.token }}
";

    #[test]
    fn stored_tokens_only() {
        let f = audit(run, WF);
        assert_eq!(
            positions(&f),
            vec![(5, 15), (9, 14), (14, 14), (22, 14), (27, 14)],
            "{f:#?}"
        );
    }

    #[test]
    fn snapshot() {
        insta::assert_snapshot!(snapshot_text(&audit(run, WF)));
    }
}
