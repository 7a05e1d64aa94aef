//! `workflow/bot-conditions`: `if: github.actor == '…[bot]'` in `pull_request_target` jobs.

use vouch_core::{Finding, Rule, Severity};

use super::Ctx;
use crate::yaml::Node;

pub const RULE: Rule = Rule {
    id: "workflow/bot-conditions",
    severity: Severity::High,
    summary: "A privileged job trusts a spoofable actor check (`github.actor == 'dependabot[bot]'`)",
    help: "`github.actor` is whoever caused the latest event, not who wrote the pull request: \
           when Dependabot updates a pull request an attacker opened or pushed to, or when a \
           workflow is re-run, the actor is the bot while the code is the attacker's. A \
           `pull_request_target` job gated on `github.actor == 'dependabot[bot]'` (auto-merge, \
           auto-approve) therefore runs with secrets and a writable token for attacker code.\n\n\
           Check the pull request's author instead: \
           `github.event.pull_request.user.login == 'dependabot[bot]'`, and for Dependabot use \
           `dependabot/fetch-metadata`, which verifies the commits' author.",
    references: &[
        "https://www.synacktiv.com/publications/github-actions-exploitation-dependabot",
        "https://docs.github.com/en/code-security/dependabot/working-with-dependabot/automating-dependabot-with-github-actions",
        "https://docs.zizmor.sh/audits/#bot-conditions",
    ],
};

const SPOOFABLE_NAMES: &[&str] = &[
    "github.actor",
    "github.triggering_actor",
    "github.event.pull_request.sender.login",
];
const SPOOFABLE_IDS: &[&str] = &["github.actor_id", "github.event.pull_request.sender.id"];
/// Dependabot's and Renovate's user and integration ids.
const BOT_IDS: &[&str] = &["29110", "49699333", "27856297", "29139614"];

fn unquote(s: &str) -> Option<&str> {
    let s = s.trim();
    s.strip_prefix('\'')
        .and_then(|r| r.strip_suffix('\''))
        .or_else(|| s.strip_prefix('"').and_then(|r| r.strip_suffix('"')))
}

/// The spoofable comparison in an `if:` condition, if there is one.
pub(crate) fn bot_check(cond: &str) -> Option<String> {
    let bare = cond
        .trim()
        .strip_prefix("${{")
        .and_then(|c| c.strip_suffix("}}"))
        .unwrap_or(cond);
    // Split into comparisons at boolean operators and grouping.
    let pieces = bare.split(['(', ')', '&', '|', '!']);
    for piece in pieces {
        // `!=` was split at `!`, so what is left of it has no `==`.
        let Some((l, r)) = piece.split_once("==") else {
            continue;
        };
        let (l, r) = (l.trim(), r.trim_start_matches('=').trim());
        for (ctx, lit) in [(l, r), (r, l)] {
            let ctx_l = ctx.to_ascii_lowercase();
            let Some(lit) = unquote(lit).or_else(|| lit.parse::<u64>().ok().map(|_| lit)) else {
                continue;
            };
            if (SPOOFABLE_NAMES.contains(&ctx_l.as_str())
                && lit.to_ascii_lowercase().ends_with("[bot]"))
                || (SPOOFABLE_IDS.contains(&ctx_l.as_str()) && BOT_IDS.contains(&lit))
            {
                return Some(format!("{ctx} == '{lit}'"));
            }
        }
    }
    None
}

fn check(ctx: &Ctx<'_>, what: &str, cond: &Node, out: &mut Vec<Finding>) {
    let Some(text) = cond.as_str() else { return };
    let Some(cmp) = bot_check(text) else { return };
    out.push(
        Finding::new(
            &RULE,
            ctx.doc.at(cond),
            format!(
                "{what} runs when `{cmp}`, but the actor is whoever triggered the event, not the pull request's author"
            ),
            &format!("{what}:{text}"),
        )
        .with_annotation("actor context may be spoofed"),
    );
}

pub fn run(ctx: &Ctx<'_>, out: &mut Vec<Finding>) {
    if !ctx.doc.has_trigger("pull_request_target") {
        return;
    }
    for job in ctx.doc.jobs() {
        if let Some(cond) = job.node.get("if") {
            check(ctx, &format!("job `{}`", job.id()), cond, out);
        }
        for (i, step) in job.steps().iter().enumerate() {
            if let Some(cond) = step.node.get("if") {
                check(
                    ctx,
                    &format!("step {} of job `{}`", i + 1, job.id()),
                    cond,
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

    const WF: &str = "on: pull_request_target
jobs:
  automerge:
    if: github.actor == 'dependabot[bot]'
    steps:
      - if: ${{ github.event.pull_request.user.login == 'dependabot[bot]' }}
        run: gh pr merge --auto
      - if: \"'renovate[bot]' == github.triggering_actor && github.event.action == 'opened'\"
        run: echo
      - if: github.actor != 'dependabot[bot]'
        run: echo
      - if: github.actor_id == 49699333
        run: echo
";

    #[test]
    fn spoofable_actor_checks() {
        let f = audit(run, WF);
        assert_eq!(positions(&f), vec![(4, 9), (8, 13), (12, 13)], "{f:#?}");
        let push = WF.replace("pull_request_target", "pull_request");
        assert!(audit(run, &push).is_empty());
    }

    #[test]
    fn snapshot() {
        insta::assert_snapshot!(snapshot_text(&audit(run, WF)));
    }
}
