//! `workflow/cache-poisoning`: caches restored where a poisoned entry would be shipped.

use vouch_core::{Finding, Rule, Severity};

use super::Ctx;
use crate::model::{FileKind, Step, deploy_reason, expressions};
use crate::yaml::Node;

pub const RULE: Rule = Rule {
    id: "workflow/cache-poisoning",
    severity: Severity::Medium,
    summary: "A cache is restored in a release, deploy or privileged workflow",
    help: "GitHub's Actions cache is shared: entries written on the default branch are \
           visible to every branch, and a workflow that runs attacker-influenced code with the \
           base repository's scope (`pull_request_target`, `workflow_run`, `issue_comment`, a compromised test \
           step) can write an entry that a later release restores and ships.\n\n\
           - In release and deploy jobs, build from a clean state: remove `actions/cache`, set \
           `cache: ''`/`cache: false` on `setup-*` actions (`setup-go` caches by default), \
           and drop `Swatinem/rust-cache`, `type=gha` Docker layer caches and the like.\n\
           - In `pull_request_target`/`workflow_run`/`issue_comment` workflows, never save a cache.\n\
           - Scope `actions/cache` keys with `hashFiles(...)` of the lockfile and \
           `github.ref`/`github.sha` when an entry must not be shared, and avoid a bare \
           `restore-keys:` prefix that falls back to any entry.",
    references: &[
        "https://docs.github.com/en/actions/writing-workflows/choosing-what-your-workflow-does/caching-dependencies-to-speed-up-workflows#restrictions-for-accessing-a-cache",
        "https://adnanthekhan.com/2024/05/06/the-monsters-in-your-build-cache-github-actions-cache-poisoning/",
        "https://docs.zizmor.sh/audits/#cache-poisoning",
    ],
};

/// How a step uses the cache, if it does.
fn cache_use(step: &Step<'_>) -> Option<&'static str> {
    let name = step.action_name()?;
    let with = |k: &str| step.with(k).and_then(Node::as_str).map(str::trim);
    let enabled = |k: &str| with(k).is_some_and(|v| !v.is_empty() && v != "false");
    let is = |a: &str| name == a || name.starts_with(&format!("{a}/"));
    if name == "actions/cache/save" {
        return None; // writes, does not restore
    }
    if is("actions/cache") {
        return Some("actions/cache");
    }
    if is("swatinem/rust-cache") {
        return Some("rust-cache");
    }
    if is("mozilla-actions/sccache-action") {
        return Some("sccache");
    }
    if (is("actions/setup-node")
        || is("actions/setup-python")
        || is("actions/setup-java")
        || is("actions/setup-dotnet"))
        && enabled("cache")
    {
        return Some("a setup action's `cache:`");
    }
    if is("actions/setup-go") && with("cache") != Some("false") {
        let major = match step.action() {
            Some(crate::model::Uses::Repo {
                git_ref: Some(r), ..
            }) => r
                .trim_start_matches('v')
                .split('.')
                .next()
                .and_then(|m| m.parse::<u32>().ok()),
            _ => None,
        };
        // setup-go caches by default since v4; SHA pins are assumed current.
        if major.is_none_or(|m| m >= 4) {
            return Some("setup-go's default cache");
        }
    }
    if is("ruby/setup-ruby") && with("bundler-cache") == Some("true") {
        return Some("setup-ruby's `bundler-cache`");
    }
    if is("astral-sh/setup-uv") && with("enable-cache") == Some("true") {
        return Some("setup-uv's `enable-cache`");
    }
    if is("gradle/actions/setup-gradle") && with("cache-disabled") != Some("true") {
        return Some("setup-gradle's cache");
    }
    if is("jdx/mise-action") && with("cache") != Some("false") {
        return Some("mise-action's cache");
    }
    if is("docker/build-push-action") && with("cache-from").is_some_and(|v| v.contains("type=gha"))
    {
        return Some("a `type=gha` Docker layer cache");
    }
    None
}

pub fn run(ctx: &Ctx<'_>, out: &mut Vec<Finding>) {
    let doc = ctx.doc;
    if doc.kind != FileKind::Workflow {
        return;
    }
    let privileged = doc.privileged_triggers();
    let release = doc.is_release_workflow();
    let pr = doc.has_trigger("pull_request") || doc.has_trigger("pull_request_target");
    let extra = &ctx.settings.section.deploy_patterns;
    for job in doc.jobs() {
        let deploy = deploy_reason(&job, extra);
        let why = if let Some((t, _)) = privileged.first() {
            Some((
                format!("a `{t}` workflow, which runs with the base repository's cache scope"),
                Severity::High,
            ))
        } else if let Some(d) = &deploy {
            let shared = if pr {
                "; pull-request runs of this workflow write the same cache"
            } else {
                ""
            };
            Some((
                format!("deploy job `{}` ({d}){shared}", job.id()),
                Severity::High,
            ))
        } else if release {
            Some(("a release workflow".to_string(), Severity::Medium))
        } else {
            None
        };
        for step in job.steps() {
            let Some(what) = cache_use(&step) else {
                continue;
            };
            let Some(uses) = step.uses() else { continue };
            match &why {
                Some((context, severity)) => out.push(
                    Finding::new(
                        &RULE,
                        doc.at(uses),
                        format!("{what} restores a cache in {context}"),
                        &format!("{}:{}", job.id(), uses.as_str().unwrap_or("")),
                    )
                    .with_annotation("cache restored here")
                    .with_severity(*severity),
                ),
                None => {
                    if let Some(f) = unscoped_key(ctx, &step) {
                        out.push(f);
                    }
                }
            }
        }
    }
}

/// `actions/cache` whose key depends on nothing but the runner: one entry shared by every
/// branch and run, overwritten by whichever writes first.
fn unscoped_key(ctx: &Ctx<'_>, step: &Step<'_>) -> Option<Finding> {
    let name = step.action_name()?;
    if name != "actions/cache" && name != "actions/cache/restore" {
        return None;
    }
    let key = step.with("key")?;
    let text = key.as_str()?;
    let scoped = expressions(text).iter().any(|e| {
        let i = e.inner.to_ascii_lowercase();
        i.contains("hashfiles(")
            || i.contains("github.ref")
            || i.contains("github.head_ref")
            || i.contains("github.sha")
            || i.contains("github.run_id")
            || i.contains("github.event")
            || i.contains("steps.")
            || i.contains("needs.")
            || i.contains("env.")
            || i.contains("inputs.")
    });
    if scoped {
        return None;
    }
    Some(
        Finding::new(
            &RULE,
            ctx.doc.at(key),
            format!("cache key `{text}` is not scoped to the lockfile or ref: every branch shares one entry"),
            &format!("key:{text}"),
        )
        .with_annotation("unscoped cache key")
        .with_severity(Severity::Low),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audits::testing::{positions, run as audit};

    #[test]
    fn release_and_deploy_caches() {
        let text = "on:
  push:
    tags: ['v*']
  pull_request:
jobs:
  build:
    steps:
      - uses: actions/setup-node@v4
        with:
          cache: npm
      - uses: actions/setup-node@v4
      - uses: actions/setup-go@v5
        with:
          cache: false
  deploy:
    steps:
      - uses: Swatinem/rust-cache@v2
      - run: cargo publish
";
        let f = audit(run, text);
        assert_eq!(positions(&f), vec![(8, 15), (17, 15)], "{f:#?}");
        assert_eq!(f[0].severity, Severity::Medium);
        assert_eq!(f[1].severity, Severity::High);
        assert!(
            f[1].message.contains("pull-request runs"),
            "{}",
            f[1].message
        );
    }

    #[test]
    fn privileged_triggers_and_plain_ci() {
        let prt =
            "on: pull_request_target\njobs:\n  a:\n    steps:\n      - uses: actions/setup-go@v5\n";
        assert_eq!(positions(&audit(run, prt)), vec![(5, 15)]);
        let ci = "on: [push, pull_request]\njobs:\n  a:\n    steps:\n      - uses: actions/cache@v4\n        with:\n          key: ${{ runner.os }}-${{ hashFiles('**/Cargo.lock') }}\n";
        assert!(audit(run, ci).is_empty());
        let unscoped = "on: push\njobs:\n  a:\n    steps:\n      - uses: actions/cache@v4\n        with:\n          key: ${{ runner.os }}-deps\n";
        let f = audit(run, unscoped);
        assert_eq!(positions(&f), vec![(7, 16)]);
        assert_eq!(f[0].severity, Severity::Low);
    }
}
