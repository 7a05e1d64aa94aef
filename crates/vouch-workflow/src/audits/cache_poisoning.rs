//! `workflow/cache-poisoning`: caches restored where a poisoned entry would be shipped.

use vouch_core::{Finding, Rule, Severity};

use super::Ctx;
use crate::model::{FileKind, Job, Step, Uses, runs_command};
use crate::yaml::Node;

pub const RULE: Rule = Rule {
    id: "workflow/cache-poisoning",
    severity: Severity::High,
    summary: "A job that publishes release artifacts restores the Actions cache",
    help: "GitHub's Actions cache is shared: entries written on the default branch are \
           visible to every branch, and any workflow run that executes attacker-influenced \
           code with the base repository's scope (`pull_request_target`, `workflow_run`, a \
           compromised test dependency) can write an entry that a later release restores and \
           ships.\n\n\
           vouch reports a cache-aware step in a job that publishes: a job that uses a \
           publishing action (PyPI, RubyGems, GoReleaser, GitHub releases, `docker/build-push-action` \
           with `push: true`, cloud deploy actions) or runs a publish command (`npm publish`, \
           `cargo publish`, `twine upload`, `gh release create`, `docker push`, …), and, in a \
           workflow triggered by a release, a tag push or a push to a `release` branch, a job \
           that uploads artifacts or that a publishing job `needs:`. A test or lint job of a \
           release workflow that ships nothing is not reported.\n\n\
           Fix: build release artifacts from a clean state. Remove `actions/cache`, set \
           `cache: ''`/`cache: false` on `setup-*` actions (`setup-go` caches by default), \
           `lookup-only: true` on `Swatinem/rust-cache`, and drop `type=gha` Docker layer \
           caches in publishing jobs.",
    references: &[
        "https://docs.github.com/en/actions/writing-workflows/choosing-what-your-workflow-does/caching-dependencies-to-speed-up-workflows#restrictions-for-accessing-a-cache",
        "https://adnanthekhan.com/2024/05/06/the-monsters-in-your-build-cache-github-actions-cache-poisoning/",
        "https://docs.zizmor.sh/audits/#cache-poisoning",
    ],
};

/// The major version of a `uses:` ref (`v4.1.0` → 4); `None` for SHAs and branches.
fn major(step: &Step<'_>) -> Option<u32> {
    match step.action() {
        Some(Uses::Repo {
            git_ref: Some(r), ..
        }) => r
            .trim_start_matches('v')
            .split('.')
            .next()
            .and_then(|m| m.parse::<u32>().ok()),
        _ => None,
    }
}

/// How a step restores from the cache, if it does (the table follows zizmor's cache-aware
/// actions and their opt-in/opt-out inputs).
fn cache_use(step: &Step<'_>) -> Option<&'static str> {
    let name = step.action_name()?;
    let with = |k: &str| step.with(k).and_then(Node::as_str).map(str::trim);
    let truthy = |k: &str| with(k).is_some_and(|v| !v.is_empty() && v != "false");
    let is_true = |k: &str| with(k) == Some("true");
    let not_false = |k: &str| with(k) != Some("false");
    let is = |a: &str| name == a || name.starts_with(&format!("{a}/"));
    if name == "actions/cache/save" {
        return None; // writes, does not restore
    }
    if is("actions/cache") && !is_true("lookup-only") {
        return Some("actions/cache");
    }
    if is("swatinem/rust-cache") && !is_true("lookup-only") {
        return Some("rust-cache");
    }
    if is("mozilla-actions/sccache-action")
        || is("nix-community/cache-nix-action")
        || is("awalsh128/cache-apt-pkgs-action")
    {
        return Some("a caching action");
    }
    if is("actions/setup-node") {
        if with("cache").is_some_and(|v| matches!(v, "npm" | "yarn" | "pnpm")) {
            return Some("setup-node's `cache:`");
        }
        // Since v5 setup-node caches on its own when package.json names a package manager.
        if major(step).is_some_and(|m| m >= 5) && not_false("package-manager-cache") {
            return Some("setup-node's default package-manager cache");
        }
        return None;
    }
    if (is("actions/setup-python") || is("actions/setup-java") || is("graalvm/setup-graalvm"))
        && truthy("cache")
    {
        return Some("a setup action's `cache:`");
    }
    if is("actions/setup-dotnet") && is_true("cache") {
        return Some("setup-dotnet's `cache:`");
    }
    if is("actions/setup-go") && not_false("cache") {
        // setup-go caches by default since v4; SHA pins are assumed current.
        if major(step).is_none_or(|m| m >= 4) {
            return Some("setup-go's default cache");
        }
    }
    if is("ruby/setup-ruby") && is_true("bundler-cache") {
        return Some("setup-ruby's `bundler-cache`");
    }
    if is("astral-sh/setup-uv") {
        let v = with("enable-cache");
        let old = major(step).is_some_and(|m| m < 10);
        if v == Some("true") || (old && v != Some("false")) {
            return Some("setup-uv's cache");
        }
        return None;
    }
    if is("pyo3/maturin-action") && is_true("sccache") {
        return Some("maturin-action's `sccache`");
    }
    if (is("mlugg/setup-zig") && not_false("use-cache"))
        || (is("determinatesystems/magic-nix-cache-action") && not_false("use-gha-cache"))
        || (is("actions-rust-lang/setup-rust-toolchain") && not_false("cache"))
        || (is("jdx/mise-action") && not_false("cache"))
    {
        return Some("the action's default cache");
    }
    if is("oven-sh/setup-bun") && !is_true("no-cache") {
        return Some("setup-bun's cache");
    }
    if is("gradle/actions/setup-gradle") && !is_true("cache-disabled") {
        return Some("setup-gradle's cache");
    }
    if is("ramsey/composer-install")
        && !with("ignore-cache").is_some_and(|v| matches!(v, "yes" | "true" | "1"))
    {
        return Some("composer-install's cache");
    }
    if is("docker/setup-buildx-action")
        && not_false("cache-binary")
        && with("version").is_some_and(|v| !v.is_empty())
    {
        return Some("setup-buildx's binary cache");
    }
    if is("docker/build-push-action") && with("cache-from").is_some_and(|v| v.contains("type=gha"))
    {
        return Some("a `type=gha` Docker layer cache");
    }
    None
}

/// Actions that publish what the job built (zizmor's list of publishers).
const PUBLISH_ACTIONS: &[&str] = &[
    "pypa/gh-action-pypi-publish",
    "rubygems/release-gem",
    "jreleaser/release-action",
    "goreleaser/goreleaser-action",
    "softprops/action-gh-release",
    "ncipollo/release-action",
    "release-drafter/release-drafter",
    "googleapis/release-please-action",
    "redhat-actions/push-to-registry",
    "aws-actions/amazon-ecs-deploy-task-definition",
    "aws-actions/aws-cloudformation-github-deploy",
    "azure/aci-deploy",
    "azure/container-apps-deploy-action",
    "azure/functions-action",
    "azure/sql-action",
    "cloudflare/wrangler-action",
    "google-github-actions/deploy-appengine",
    "google-github-actions/deploy-cloudrun",
    "google-github-actions/deploy-cloud-functions",
    "js-devtools/npm-publish",
    "actions/upload-release-asset",
];

/// `run:` commands that publish.
const PUBLISH_COMMANDS: &[&str] = &[
    "npm publish",
    "pnpm publish",
    "yarn publish",
    "cargo publish",
    "twine upload",
    "gem push",
    "poetry publish",
    "uv publish",
    "flit publish",
    "hatch publish",
    "dotnet nuget push",
    "nuget push",
    "mvn deploy",
    "gradle publish",
    "./gradlew publish",
    "gh release create",
    "gh release upload",
    "docker push",
    "goreleaser release",
    "vsce publish",
    "ovsx publish",
];

/// What makes `job` publish, if anything.
fn publishes(job: &Job<'_>) -> Option<String> {
    for step in job.steps() {
        if let Some(name) = step.action_name() {
            if let Some(a) = PUBLISH_ACTIONS
                .iter()
                .find(|a| name == **a || name.starts_with(&format!("{a}/")))
            {
                return Some(format!("uses {a}"));
            }
            if name == "docker/build-push-action"
                && step
                    .with("push")
                    .and_then(Node::as_str)
                    .is_some_and(|v| v.trim() != "false")
            {
                return Some("pushes an image with docker/build-push-action".to_string());
            }
        }
        if let Some(run) = step.run().and_then(Node::as_str) {
            let lower = run.to_ascii_lowercase();
            if let Some(c) = PUBLISH_COMMANDS.iter().find(|c| runs_command(&lower, c)) {
                return Some(format!("runs `{c}`"));
            }
        }
    }
    None
}

/// The trigger that makes the workflow a release workflow: a `release` event, a tag push or
/// a push to a branch named like `release`.
fn release_trigger(doc: &crate::model::Document) -> Option<&'static str> {
    if doc.has_trigger("release") {
        return Some("a `release` event");
    }
    let push = doc.root.get("on").and_then(|on| on.get("push"))?;
    if push.get("tags").is_some() {
        return Some("a tag push");
    }
    let release_branch = push.get("branches").is_some_and(|b| {
        b.scalars().iter().any(|n| {
            n.as_str()
                .is_some_and(|s| s.to_ascii_lowercase().contains("release"))
        })
    });
    release_branch.then_some("a push to a release branch")
}

/// Job ids named in `needs:` of `job`.
fn needs(job: &Job<'_>) -> Vec<String> {
    job.node
        .get("needs")
        .map(|n| {
            n.scalars()
                .iter()
                .filter_map(|s| s.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

pub fn run(ctx: &Ctx<'_>, out: &mut Vec<Finding>) {
    let doc = ctx.doc;
    if doc.kind != FileKind::Workflow {
        return;
    }
    let jobs = doc.jobs();
    let release = release_trigger(doc);
    let publishing: Vec<(&str, String)> = jobs
        .iter()
        .filter_map(|j| publishes(j).map(|why| (j.id(), why)))
        .collect();
    // Jobs whose output a publishing job consumes, transitively through `needs:`.
    let mut feeds: Vec<(String, String)> = Vec::new();
    if release.is_some() {
        let mut frontier: Vec<(String, String)> = publishing
            .iter()
            .map(|(id, _)| (id.to_string(), id.to_string()))
            .collect();
        while let Some((id, publisher)) = frontier.pop() {
            if let Some(job) = jobs.iter().find(|j| j.id() == id) {
                for n in needs(job) {
                    if !feeds.iter().any(|(f, _)| *f == n)
                        && !publishing.iter().any(|(p, _)| *p == n)
                    {
                        feeds.push((n.clone(), publisher.clone()));
                        frontier.push((n, publisher.clone()));
                    }
                }
            }
        }
    }
    for job in &jobs {
        let why = if let Some((_, what)) = publishing.iter().find(|(id, _)| *id == job.id()) {
            format!("job `{}`, which publishes ({what})", job.id())
        } else if let Some(trigger) = release {
            if let Some((_, p)) = feeds.iter().find(|(id, _)| id == job.id()) {
                format!(
                    "job `{}` of a workflow run by {trigger}, whose output publishing job `{p}` needs",
                    job.id()
                )
            } else if job.steps().iter().any(|s| {
                s.action_name()
                    .is_some_and(|n| n == "actions/upload-artifact")
            }) {
                format!(
                    "job `{}` of a workflow run by {trigger}, which uploads build artifacts",
                    job.id()
                )
            } else {
                continue;
            }
        } else {
            continue;
        };
        for step in job.steps() {
            let Some(what) = cache_use(&step) else {
                continue;
            };
            let Some(uses) = step.uses() else { continue };
            out.push(
                Finding::new(
                    &RULE,
                    doc.at(uses),
                    format!("{what} restores a cache in {why}"),
                    &format!("{}:{}", job.id(), uses.as_str().unwrap_or("")),
                )
                .with_annotation("cache restored here"),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audits::testing::{positions, run as audit};

    #[test]
    fn publishing_jobs_of_release_workflows() {
        let text = "on:
  push:
    tags: ['v*']
jobs:
  test:
    steps:
      - uses: actions/setup-node@v4
        with:
          cache: npm
      - run: npm test
  build:
    steps:
      - uses: actions/setup-go@v5
      - run: go build
  dist:
    steps:
      - uses: Swatinem/rust-cache@v2
      - uses: actions/upload-artifact@v4
  publish:
    needs: [build]
    steps:
      - uses: actions/setup-python@v5
        with:
          cache: pip
      - uses: pypa/gh-action-pypi-publish@release/v1
";
        let f = audit(run, text);
        // test job: ships nothing, not reported; build: publish needs it; dist: uploads.
        assert_eq!(positions(&f), vec![(13, 15), (17, 15), (22, 15)], "{f:#?}");
        assert!(
            f[0].message.contains("publishing job `publish` needs"),
            "{}",
            f[0].message
        );
        assert!(f[1].message.contains("uploads build artifacts"));
        assert!(f[2].message.contains("pypa/gh-action-pypi-publish"));
        assert_eq!(f[2].severity, Severity::High);
    }

    #[test]
    fn publishing_without_release_triggers_and_opt_outs() {
        let text = "on: push
jobs:
  ci:
    steps:
      - uses: actions/setup-go@v5
      - uses: actions/cache@v4
        with:
          key: k
  npm:
    steps:
      - uses: actions/setup-node@v4
        with:
          cache: npm
      - uses: actions/setup-go@v5
        with:
          cache: false
      - uses: Swatinem/rust-cache@v2
        with:
          lookup-only: true
      - uses: actions/setup-node@v5
      - uses: actions/setup-node@v5
        with:
          package-manager-cache: false
      - run: npm publish --provenance
";
        assert_eq!(positions(&audit(run, text)), vec![(11, 15), (20, 15)]);
    }

    #[test]
    fn privileged_triggers_alone_are_not_cache_poisoning_here() {
        let prt =
            "on: pull_request_target\njobs:\n  a:\n    steps:\n      - uses: actions/setup-go@v5\n";
        assert!(audit(run, prt).is_empty());
        let branch = "on:\n  push:\n    branches: [release/*]\njobs:\n  a:\n    steps:\n      - uses: actions/cache@v4\n      - run: cargo publish\n";
        assert_eq!(positions(&audit(run, branch)), vec![(7, 15)]);
    }
}
