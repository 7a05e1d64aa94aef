//! `workflow/permissions`: the `GITHUB_TOKEN` gets more than the jobs need.

use serde::Deserialize;
use vouch_core::{Finding, Rule, Severity};

use super::Ctx;
use crate::model::{FileKind, Job, deploy_reason};
use crate::yaml::Node;

pub const RULE: Rule = Rule {
    id: "workflow/permissions",
    severity: Severity::Medium,
    summary: "The workflow's GITHUB_TOKEN has broader permissions than its jobs need",
    help: "Declare `permissions:` at the top of every workflow, deny by default, and grant \
           write scopes on the one job that needs them:\n\n\
           ```yaml\npermissions: {}          # or contents: read\njobs:\n  release:\n    \
           permissions:\n      contents: write      # to create the release\n```\n\n\
           Without a top-level block, jobs get the repository's default token permissions, \
           which are read/write on repositories created before February 2023 and in many \
           organisations. `write-all` grants every scope. A write scope that no step uses is \
           reported when every step of the job is known to vouch (run scripts that do not \
           call `gh`/`git push`/the API, and actions in its table); jobs with unknown actions \
           are given the benefit of the doubt. Deploy workflows are held to a stricter rule: \
           a missing block is high severity, and write scopes must be granted per job, not \
           to the whole workflow.",
    references: &[
        "https://docs.github.com/en/actions/writing-workflows/choosing-what-your-workflow-does/controlling-permissions-for-github_token",
        "https://docs.zizmor.sh/audits/#excessive-permissions",
        "https://github.com/ossf/scorecard/blob/main/docs/checks.md#token-permissions",
    ],
};

/// `[rules."workflow/permissions"]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Options {
    /// Report write scopes that no step of the job needs. Default `true`.
    #[serde(default = "yes")]
    pub unused_write: bool,
}

fn yes() -> bool {
    true
}

impl Default for Options {
    fn default() -> Self {
        Options { unused_write: true }
    }
}

/// What a job's steps need of the token.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Needs {
    /// These scopes (write), and nothing else.
    Known(Vec<&'static str>),
    /// A step vouch cannot see into may use anything.
    Unknown,
}

/// Actions and the write scopes they use. Actions not listed are unknown.
const ACTION_SCOPES: &[(&str, &[&str])] = &[
    ("actions/checkout", &[]),
    ("actions/cache", &[]),
    ("actions/upload-artifact", &[]),
    ("actions/download-artifact", &[]),
    ("actions/setup-node", &[]),
    ("actions/setup-python", &[]),
    ("actions/setup-go", &[]),
    ("actions/setup-java", &[]),
    ("actions/setup-dotnet", &[]),
    ("actions/configure-pages", &[]),
    ("actions/upload-pages-artifact", &[]),
    ("actions/deploy-pages", &["pages", "id-token"]),
    (
        "actions/attest-build-provenance",
        &["id-token", "attestations"],
    ),
    ("actions/attest-sbom", &["id-token", "attestations"]),
    ("actions/stale", &["issues", "pull-requests"]),
    ("actions/labeler", &["pull-requests", "issues"]),
    ("actions/dependency-review-action", &["pull-requests"]),
    ("actions/create-release", &["contents"]),
    ("actions/upload-release-asset", &["contents"]),
    ("github/codeql-action", &["security-events"]),
    ("docker/setup-qemu-action", &[]),
    ("docker/setup-buildx-action", &[]),
    ("docker/metadata-action", &[]),
    ("docker/login-action", &["packages"]),
    ("docker/build-push-action", &["packages"]),
    ("softprops/action-gh-release", &["contents"]),
    ("ncipollo/release-action", &["contents"]),
    ("goreleaser/goreleaser-action", &["contents", "packages"]),
    (
        "peter-evans/create-pull-request",
        &["contents", "pull-requests"],
    ),
    (
        "peter-evans/create-or-update-comment",
        &["issues", "pull-requests"],
    ),
    ("marocchino/sticky-pull-request-comment", &["pull-requests"]),
    ("stefanzweifel/git-auto-commit-action", &["contents"]),
    ("endbug/add-and-commit", &["contents"]),
    ("peaceiris/actions-gh-pages", &["contents"]),
    ("jamesives/github-pages-deploy-action", &["contents"]),
    (
        "googleapis/release-please-action",
        &["contents", "pull-requests", "issues"],
    ),
    (
        "google-github-actions/release-please-action",
        &["contents", "pull-requests", "issues"],
    ),
    ("changesets/action", &["contents", "pull-requests"]),
    // OIDC consumers: they exchange the job's ID token, so `id-token: write` is needed.
    ("actions/attest", &["id-token", "attestations"]),
    ("aws-actions/configure-aws-credentials", &["id-token"]),
    ("rubygems/release-gem", &["id-token", "contents"]),
    ("rubygems/configure-rubygems-credentials", &["id-token"]),
    ("rust-lang/crates-io-auth-action", &["id-token"]),
    ("hashicorp/vault-action", &["id-token"]),
    ("js-devtools/npm-publish", &["id-token"]),
    ("octo-sts/action", &["id-token"]),
    ("azure/cli", &["id-token"]),
    ("google-github-actions/setup-gcloud", &["id-token"]),
    ("docker/login-action", &["packages", "id-token"]),
    (
        "slsa-framework/slsa-github-generator",
        &["id-token", "contents", "actions"],
    ),
    ("google-github-actions/auth", &["id-token"]),
    ("azure/login", &["id-token"]),
    ("pypa/gh-action-pypi-publish", &["id-token"]),
    ("sigstore/gh-action-sigstore-python", &["id-token"]),
    ("sigstore/cosign-installer", &[]),
    ("codecov/codecov-action", &["id-token"]),
    ("dtolnay/rust-toolchain", &[]),
    ("actions-rs/toolchain", &[]),
    ("actions-rs/cargo", &[]),
    ("swatinem/rust-cache", &[]),
    ("taiki-e/install-action", &[]),
    ("pnpm/action-setup", &[]),
    ("oven-sh/setup-bun", &[]),
    ("astral-sh/setup-uv", &[]),
    ("astral-sh/ruff-action", &[]),
    ("ruby/setup-ruby", &[]),
    ("shivammathur/setup-php", &[]),
    ("hashicorp/setup-terraform", &[]),
    ("azure/setup-kubectl", &[]),
    ("azure/setup-helm", &[]),
    ("gradle/actions", &[]),
    ("mlugg/setup-zig", &[]),
    ("erlef/setup-beam", &[]),
    ("haskell-actions/setup", &[]),
    ("denoland/setup-deno", &[]),
    ("subosito/flutter-action", &[]),
    ("pre-commit/action", &[]),
    ("golangci/golangci-lint-action", &[]),
    ("super-linter/super-linter", &["statuses"]),
    ("mozilla-actions/sccache-action", &[]),
    ("jdx/mise-action", &[]),
    ("actions/github-script", &["*"]),
];

/// `run:` commands and the write scopes they use; `*` marks "could use any".
const RUN_SCOPES: &[(&str, &[&str])] = &[
    ("git push", &["contents"]),
    ("gh release", &["contents"]),
    ("gh pr", &["pull-requests", "contents"]),
    ("gh issue", &["issues"]),
    ("gh label", &["issues"]),
    ("gh workflow", &["actions"]),
    ("gh run", &["actions"]),
    ("gh api", &["*"]),
    ("api.github.com", &["*"]),
    ("github_token", &["*"]),
    ("github.token", &["*"]),
    ("gh_token", &["*"]),
    // npm trusted publishing (npm 11.5+) and `--provenance` both use the OIDC token.
    ("npm publish", &["id-token"]),
    ("pnpm publish", &["id-token"]),
    ("yarn npm publish", &["id-token"]),
    ("--provenance", &["id-token"]),
    // uv and PyPI trusted publishing, crates.io and RubyGems trusted publishing.
    ("uv publish", &["id-token"]),
    ("trusted-publishing", &["id-token"]),
    ("sigstore sign", &["id-token"]),
    ("gitsign", &["id-token"]),
    ("cosign sign", &["id-token"]),
    ("cosign attest", &["id-token"]),
    ("actions_id_token_request", &["id-token"]),
    ("docker push ghcr.io", &["packages"]),
    ("docker login ghcr.io", &["packages"]),
];

fn needs(job: &Job<'_>) -> Needs {
    if job.uses().is_some() {
        return Needs::Unknown;
    }
    let mut scopes: Vec<&'static str> = Vec::new();
    for step in job.steps() {
        if let Some(name) = step.action_name() {
            let known = ACTION_SCOPES
                .iter()
                .find(|(a, _)| name == *a || name.starts_with(&format!("{a}/")));
            match known {
                Some((_, s)) if s.contains(&"*") => return Needs::Unknown,
                Some((_, s)) => scopes.extend(s.iter().copied()),
                None => return Needs::Unknown,
            }
        } else if step.uses().is_some() {
            // local or docker actions: not visible from here
            return Needs::Unknown;
        }
        let mut text = String::new();
        if let Some(run) = step.run().and_then(Node::as_str) {
            text.push_str(run);
        }
        if let Some(env) = step.node.get("env") {
            for n in env.scalars() {
                text.push(' ');
                text.push_str(n.as_str().unwrap_or(""));
            }
        }
        let lower = text.to_ascii_lowercase();
        for (cmd, s) in RUN_SCOPES {
            if lower.contains(cmd) {
                if s.contains(&"*") {
                    return Needs::Unknown;
                }
                scopes.extend(s.iter().copied());
            }
        }
    }
    let token_in_env = job.node.get("env").is_some_and(|env| {
        env.scalars().iter().any(|n| {
            n.as_str().is_some_and(|s| {
                s.to_ascii_lowercase().contains("github_token") || s.contains("github.token")
            })
        })
    });
    if token_in_env {
        return Needs::Unknown;
    }
    scopes.sort_unstable();
    scopes.dedup();
    Needs::Known(scopes)
}

/// The write scopes of a `permissions:` mapping, with their key nodes.
fn write_scopes(perms: &Node) -> Vec<(&str, &Node)> {
    perms
        .as_map()
        .map(|m| {
            m.iter()
                .filter(|(_, v)| v.as_str() == Some("write"))
                .filter_map(|(k, _)| k.as_str().map(|s| (s, k)))
                .collect()
        })
        .unwrap_or_default()
}

pub fn run(ctx: &Ctx<'_>, out: &mut Vec<Finding>) {
    let doc = ctx.doc;
    if doc.kind != FileKind::Workflow {
        return;
    }
    let extra = &ctx.settings.section.deploy_patterns;
    let jobs = doc.jobs();
    let deploy_job = jobs
        .iter()
        .find_map(|j| deploy_reason(j, extra).map(|r| (j.id(), r)));
    let top = doc.permissions();

    // write-all anywhere
    let mut scalar_all = |holder: &str, node: &Node| {
        if node.as_str() == Some("write-all") {
            out.push(
                Finding::new(
                    &RULE,
                    doc.at(node),
                    format!("{holder} grants `write-all`: every scope of the token is writable"),
                    &format!("write-all:{holder}"),
                )
                .with_annotation("every scope writable")
                .with_severity(Severity::High),
            );
        }
    };
    if let Some((_, v)) = top {
        scalar_all("the workflow", v);
    }
    for job in &jobs {
        if let Some((_, v)) = job.permissions() {
            scalar_all(&format!("job `{}`", job.id()), v);
        }
    }

    // missing top-level block; a workflow that only runs through `workflow_call` runs with
    // its caller's token (the caller is audited), and jobs that call a reusable workflow are
    // `workflow/reusable-workflow-permissions`'s
    let reusable_only =
        doc.triggers().iter().all(|(t, _)| *t == "workflow_call") && !doc.triggers().is_empty();
    if top.is_none() && !reusable_only {
        let bare: Vec<&str> = jobs
            .iter()
            .filter(|j| j.permissions().is_none() && j.uses().is_none())
            .map(|j| j.id())
            .collect();
        if !bare.is_empty() {
            let list = bare
                .iter()
                .map(|j| format!("`{j}`"))
                .collect::<Vec<_>>()
                .join(", ");
            let mut f = Finding::new(
                &RULE,
                doc.at(doc.head()),
                format!(
                    "no top-level `permissions:`: job{} {list} run{} with the repository's \
                     default token permissions",
                    if bare.len() == 1 { "" } else { "s" },
                    if bare.len() == 1 { "s" } else { "" },
                ),
                "missing-permissions",
            )
            .with_annotation("no `permissions:` block");
            if let Some((id, why)) = &deploy_job {
                f = f
                    .with_severity(Severity::High)
                    .with_property("deploy", format!("job `{id}` {why}"));
                f.message
                    .push_str(&format!(" (deploy workflow: job `{id}` {why})"));
            }
            out.push(f);
        }
    }

    // write scopes granted to the whole workflow
    if let Some((_, perms)) = top {
        let inheriting: Vec<&Job<'_>> = jobs.iter().filter(|j| j.permissions().is_none()).collect();
        for (scope, key) in write_scopes(perms) {
            let users: Vec<Needs> = inheriting.iter().map(|j| needs(j)).collect();
            let used = users.iter().any(|n| match n {
                Needs::Unknown => true,
                Needs::Known(s) => s.contains(&scope),
            });
            if !used && ctx.settings.permissions.unused_write && !inheriting.is_empty() {
                out.push(
                    Finding::new(
                        &RULE,
                        doc.at(key),
                        format!(
                            "`{scope}: write` is granted to the whole workflow but no job uses it"
                        ),
                        &format!("unused:*:{scope}"),
                    )
                    .with_annotation("write scope no step needs"),
                );
            } else if inheriting.len() > 1 {
                // Used by some job (or by one vouch cannot see into), but every inheriting
                // job gets it: grant it on the job that needs it.
                let idle: Vec<&str> = inheriting
                    .iter()
                    .zip(&users)
                    .filter(|(_, n)| matches!(n, Needs::Known(s) if !s.contains(&scope)))
                    .map(|(j, _)| j.id())
                    .collect();
                let mut message = format!(
                    "`{scope}: write` is granted to all {} jobs of the workflow; grant it on the job that needs it",
                    inheriting.len()
                );
                if let Some((id, why)) = &deploy_job {
                    message.push_str(&format!(" (deploy workflow: job `{id}` {why})"));
                }
                if !idle.is_empty() {
                    let list = idle
                        .iter()
                        .map(|j| format!("`{j}`"))
                        .collect::<Vec<_>>()
                        .join(", ");
                    message.push_str(&format!(
                        "; job{} {list} do{} not need it",
                        if idle.len() == 1 { "" } else { "s" },
                        if idle.len() == 1 { "es" } else { "" },
                    ));
                }
                out.push(
                    Finding::new(
                        &RULE,
                        doc.at(key),
                        message,
                        &format!("workflow-write:{scope}"),
                    )
                    .with_annotation("write scope for every job"),
                );
            }
        }
    }

    // job-level write scopes that no step uses
    if ctx.settings.permissions.unused_write {
        for job in &jobs {
            let Some((_, perms)) = job.permissions() else {
                continue;
            };
            let Needs::Known(used) = needs(job) else {
                continue;
            };
            for (scope, key) in write_scopes(perms) {
                if !used.contains(&scope) {
                    out.push(
                        Finding::new(
                            &RULE,
                            doc.at(key),
                            format!(
                                "`{scope}: write` is granted to job `{}` but none of its steps needs it",
                                job.id()
                            ),
                            &format!("unused:{}:{scope}", job.id()),
                        )
                        .with_annotation("write scope no step needs"),
                    );
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audits::testing::{positions, run as audit};

    #[test]
    fn missing_block_is_reported_once_at_on() {
        let f = audit(
            run,
            "name: ci\non: push\njobs:\n  a:\n    runs-on: x\n    steps:\n      - run: make\n",
        );
        assert_eq!(positions(&f), vec![(2, 1)]);
        assert_eq!(f[0].severity, Severity::Medium);
    }

    #[test]
    fn missing_block_in_deploy_workflow_is_high() {
        let f = audit(
            run,
            "on: push\njobs:\n  deploy:\n    runs-on: x\n    steps:\n      - run: kubectl apply -f k8s/\n",
        );
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].severity, Severity::High);
        assert!(f[0].message.contains("kubectl apply"), "{}", f[0].message);
    }

    #[test]
    fn all_jobs_with_permissions_need_no_top_level() {
        let f = audit(
            run,
            "on: push\njobs:\n  a:\n    permissions:\n      contents: read\n    steps:\n      - run: make\n",
        );
        assert!(f.is_empty(), "{f:?}");
    }

    #[test]
    fn write_all_and_unused_writes() {
        let text = "on: push
permissions: write-all
jobs:
  test:
    permissions:
      contents: write
      id-token: write
    steps:
      - uses: actions/checkout@v4
      - run: cargo test
  rel:
    permissions:
      contents: write
    steps:
      - uses: softprops/action-gh-release@v2
  other:
    permissions:
      contents: write
    steps:
      - uses: some/unknown@v1
";
        let f = audit(run, text);
        assert_eq!(positions(&f), vec![(2, 14), (6, 7), (7, 7)], "{f:#?}");
        assert_eq!(f[0].severity, Severity::High);
    }

    #[test]
    fn oidc_consumers_need_id_token() {
        let text = "on: push
permissions: {}
jobs:
  npm:
    permissions:
      id-token: write
    steps:
      - run: npm publish --access public
  attest:
    permissions:
      id-token: write
      attestations: write
    steps:
      - uses: actions/attest-build-provenance@v2
  pypi:
    permissions:
      id-token: write
    steps:
      - uses: pypa/gh-action-pypi-publish@release/v1
  aws:
    permissions:
      id-token: write
    steps:
      - uses: aws-actions/configure-aws-credentials@v4
  test:
    permissions:
      id-token: write
    steps:
      - run: make test
";
        let f = audit(run, text);
        assert_eq!(positions(&f), vec![(27, 7)], "{f:#?}");
    }

    #[test]
    fn reusable_only_workflows_and_call_jobs() {
        let callee = "on: workflow_call\njobs:\n  a:\n    steps:\n      - run: make\n";
        assert!(audit(run, callee).is_empty());
        let caller = "on: push\njobs:\n  a:\n    uses: org/r/.github/workflows/x.yml@main\n";
        assert!(audit(run, caller).is_empty());
    }

    #[test]
    fn workflow_level_writes_in_deploy_workflows() {
        let text = "on: push
permissions:
  contents: read
  id-token: write
jobs:
  test:
    steps:
      - run: make test
  deploy:
    steps:
      - uses: aws-actions/configure-aws-credentials@v4
";
        let f = audit(run, text);
        assert_eq!(positions(&f), vec![(4, 3)]);
        assert!(f[0].message.contains("deploy workflow"), "{}", f[0].message);
    }

    #[test]
    fn workflow_level_write_handed_to_jobs_that_do_not_need_it() {
        let text = "on:
  push:
    tags: ['v*']
permissions:
  contents: write
jobs:
  build:
    steps:
      - uses: actions/checkout@v4
      - run: make dist
  release:
    steps:
      - uses: softprops/action-gh-release@v2
";
        let f = audit(run, text);
        assert_eq!(positions(&f), vec![(5, 3)]);
        assert!(
            f[0].message.contains("job `build` does not need it"),
            "{}",
            f[0].message
        );
    }
}
