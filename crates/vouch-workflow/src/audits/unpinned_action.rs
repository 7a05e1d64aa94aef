//! `workflow/unpinned-action`: a `uses:` that is not pinned to a full commit SHA.

use serde::Deserialize;
use vouch_core::{Finding, Rule, Severity};

use super::Ctx;
use crate::model::{Uses, is_commit_sha};
use crate::yaml::Node;

pub const RULE: Rule = Rule {
    id: "workflow/unpinned-action",
    severity: Severity::High,
    summary: "A third-party action or reusable workflow is not pinned to a full commit SHA",
    help: "Pin `uses:` to the 40-hex commit SHA the tag points at and keep the tag as a \
           comment so that Dependabot or Renovate can still update it:\n\n\
           `uses: owner/repo@<40-hex sha> # v1.2.3`\n\n\
           Tags and branches can be moved by whoever controls the action's repository, so a \
           tag pin runs whatever that repository holds next time (tj-actions/changed-files, \
           2025). vouch is offline and does not resolve tags: find the SHA with \
           `git ls-remote https://github.com/OWNER/REPO refs/tags/TAG` (use the peeled `^{}` \
           line for annotated tags) or `gh api repos/OWNER/REPO/commits/TAG --jq .sha`. \
           `./local` actions are pinned by the commit that runs them, and `docker://` images \
           are fine with an `@sha256:` digest. First-party actions (`actions/*`, `github/*`) \
           are allowed with tags by default; set `allow_first_party = false` under \
           `[rules.\"workflow/unpinned-action\"]` to require SHAs for them too, and `allow = \
           [\"owner/*\"]` to accept tags from owners you trust.",
    references: &[
        "https://docs.github.com/en/actions/security-for-github-actions/security-guides/security-hardening-for-github-actions#using-third-party-actions",
        "https://docs.zizmor.sh/audits/#unpinned-uses",
        "https://github.com/ossf/scorecard/blob/main/docs/checks.md#pinned-dependencies",
    ],
};

/// `[rules."workflow/unpinned-action"]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Options {
    /// Allow tags and branches for first-party owners (`first_party`). Default `true`.
    #[serde(default = "yes")]
    pub allow_first_party: bool,
    /// Owners treated as first party. Default `["actions", "github"]`.
    #[serde(default = "first_party")]
    pub first_party: Vec<String>,
    /// Globs over `owner/repo` whose tag pins are accepted (`"my-org/*"`).
    #[serde(default)]
    pub allow: Vec<String>,
}

fn yes() -> bool {
    true
}

fn first_party() -> Vec<String> {
    vec!["actions".to_string(), "github".to_string()]
}

impl Default for Options {
    fn default() -> Self {
        Options {
            allow_first_party: true,
            first_party: first_party(),
            allow: Vec::new(),
        }
    }
}

pub fn run(ctx: &Ctx<'_>, out: &mut Vec<Finding>) {
    let opts = &ctx.settings.unpinned_action;
    let allow: Vec<globset::GlobMatcher> = opts
        .allow
        .iter()
        .filter_map(|g| globset::Glob::new(&g.to_ascii_lowercase()).ok())
        .map(|g| g.compile_matcher())
        .collect();
    for job in ctx.doc.jobs() {
        if let Some(uses) = job.uses() {
            check(ctx, opts, &allow, uses, "reusable workflow", out);
        }
        for step in job.steps() {
            if let Some(uses) = step.uses() {
                check(ctx, opts, &allow, uses, "action", out);
            }
        }
    }
}

fn check(
    ctx: &Ctx<'_>,
    opts: &Options,
    allow: &[globset::GlobMatcher],
    node: &Node,
    what: &str,
    out: &mut Vec<Finding>,
) {
    let Some(text) = node.as_str() else { return };
    match Uses::parse(text) {
        Uses::Local(_) | Uses::Other(_) => {}
        Uses::Docker {
            digest: Some(_), ..
        } => {}
        Uses::Docker {
            image,
            digest: None,
        } => out.push(
            Finding::new(
                &RULE,
                ctx.doc.at(node),
                format!("container image `{image}` is not pinned to a digest"),
                text,
            )
            .with_annotation("tag, not an @sha256: digest")
            .with_help(format!(
                "Pin the image by digest: `docker://{}@sha256:<digest>` (find it with \
                 `docker buildx imagetools inspect {image}`). A tag can be re-pushed.",
                image.split(':').next().unwrap_or(image)
            )),
        ),
        Uses::Repo {
            owner,
            repo,
            path,
            git_ref,
        } => {
            if git_ref.is_some_and(is_commit_sha) || !crate::model::is_valid_uses(text) {
                // malformed references are `workflow/invalid-uses`
                return;
            }
            let owner_l = owner.to_ascii_lowercase();
            let name = format!("{owner_l}/{}", repo.to_ascii_lowercase());
            let first = opts
                .first_party
                .iter()
                .any(|o| o.eq_ignore_ascii_case(owner));
            if first && opts.allow_first_party {
                return;
            }
            if allow.iter().any(|g| g.is_match(&name)) {
                return;
            }
            let full = match path {
                Some(p) => format!("{owner}/{repo}/{p}"),
                None => format!("{owner}/{repo}"),
            };
            let (message, annotation) = match git_ref {
                None => return,
                Some(r)
                    if r.len() >= 7 && r.len() < 40 && r.bytes().all(|b| b.is_ascii_hexdigit()) =>
                {
                    (
                        format!(
                            "{what} `{full}` is pinned to a short SHA `{r}`, which can be made ambiguous"
                        ),
                        format!("short SHA `{r}`"),
                    )
                }
                Some(r) => (
                    format!("{what} `{full}@{r}` is pinned to a tag or branch, not a commit SHA"),
                    format!("`{r}` can be moved"),
                ),
            };
            let comment = git_ref.unwrap_or("vX.Y");
            let mut f = Finding::new(&RULE, ctx.doc.at(node), message, text)
                .with_annotation(annotation)
                .with_help(format!(
                    "Pin it: `uses: {full}@<40-hex commit SHA> # {comment}`. vouch is offline \
                     and cannot resolve `{comment}` to a SHA: run `git ls-remote \
                     https://github.com/{owner}/{repo} {comment}` and use the commit it \
                     names (the `^{{}}` line for an annotated tag)."
                ))
                .with_property("suggestion", format!("{full}@<sha> # {comment}"));
            if first {
                f = f.with_severity(Severity::Medium);
            }
            out.push(f);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Settings;
    use crate::audits::testing::{positions, run as audit, run_with};

    const WF: &str = "on: push
jobs:
  build:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
      - uses: ./.github/actions/local
      - uses: docker://alpine@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef
      - uses: docker://alpine:3.20
      - uses: dtolnay/rust-toolchain@stable
      - uses: Swatinem/rust-cache@98c8021b550208e191a6a3145459bfc9fb29c4c0 # v2.8.0
      - uses: codecov/codecov-action@v4.5.0
      - uses: github/codeql-action/init@v3
      - uses: foo/bar@1234567
  call:
    uses: org/shared/.github/workflows/deploy.yml@main
";

    #[test]
    fn fires_on_tags_branches_and_images() {
        let f = audit(run, WF);
        assert_eq!(
            positions(&f),
            vec![(9, 15), (10, 15), (12, 15), (14, 15), (16, 11)]
        );
        assert!(
            f[1].message.contains("`dtolnay/rust-toolchain@stable`"),
            "{}",
            f[1].message
        );
        assert!(f[3].message.contains("short SHA"));
        assert!(f[4].message.contains("reusable workflow"));
        assert_eq!(
            f[1].properties["suggestion"],
            "dtolnay/rust-toolchain@<sha> # stable"
        );
        let r = f[2].location.region.unwrap();
        assert_eq!((r.column, r.end_column), (15, 43));
    }

    #[test]
    fn first_party_and_allow_are_options() {
        let mut s = Settings::default();
        s.unpinned_action.allow_first_party = false;
        s.unpinned_action.allow = vec!["codecov/*".into()];
        let f = run_with(run, WF, &s);
        let names: Vec<&str> = f.iter().map(|f| f.fingerprint.as_str()).collect();
        assert_eq!(f.len(), 6, "{names:?}");
        assert!(
            f.iter()
                .any(|f| f.message.contains("actions/checkout") && f.severity == Severity::Medium)
        );
        assert!(!f.iter().any(|f| f.message.contains("codecov")));
    }

    #[test]
    fn composite_actions_are_audited() {
        let f = audit(
            run,
            "name: x\nruns:\n  using: composite\n  steps:\n    - uses: foo/bar@v1\n",
        );
        assert_eq!(positions(&f), vec![(5, 13)]);
    }

    #[test]
    fn options_reject_unknown_keys() {
        let e = toml::from_str::<Options>("allow_first_prty = false").unwrap_err();
        assert!(e.to_string().contains("unknown field"));
    }
}
