//! `workflow/invalid-uses`: a `uses:` value GitHub cannot resolve.

use vouch_core::{Finding, Rule, Severity};

use super::Ctx;
use crate::model::is_valid_uses;
use crate::yaml::Node;

pub const RULE: Rule = Rule {
    id: "workflow/invalid-uses",
    severity: Severity::High,
    summary: "A `uses:` reference is not `owner/repo[/path]@ref`, `./path` or `docker://image`",
    help: "GitHub accepts three forms of `uses:`: `owner/repo[/path]@ref` (a ref is required; \
           pin it to a full commit SHA), `./path/in/this/repository` and `docker://image`. \
           Expressions (`${{ … }}`) are not evaluated in `uses:`. Anything else fails when the \
           workflow starts, so vouch reports it as a parse problem rather than guessing which \
           action was meant: fix the reference (`actions/checkout` → \
           `actions/checkout@<sha> # v4`).",
    references: &[
        "https://docs.github.com/en/actions/writing-workflows/workflow-syntax-for-github-actions#jobsjob_idstepsuses",
        "https://docs.github.com/en/actions/writing-workflows/workflow-syntax-for-github-actions#jobsjob_iduses",
    ],
};

pub fn run(ctx: &Ctx<'_>, out: &mut Vec<Finding>) {
    for job in ctx.doc.jobs() {
        if let Some(uses) = job.uses() {
            check(ctx, uses, "reusable workflow", out);
        }
        for step in job.steps() {
            if let Some(uses) = step.uses() {
                check(ctx, uses, "action", out);
            }
        }
    }
}

fn check(ctx: &Ctx<'_>, node: &Node, what: &str, out: &mut Vec<Finding>) {
    let Some(text) = node.as_str() else {
        out.push(
            Finding::new(
                &RULE,
                ctx.doc.at(node),
                format!("`uses:` of this {what} is not a string"),
                "non-scalar",
            )
            .with_annotation("not a string"),
        );
        return;
    };
    if is_valid_uses(text) {
        return;
    }
    let why = if text.contains("${{") {
        "expressions are not evaluated in `uses:`"
    } else if !text.contains('@') && !text.starts_with("./") && !text.starts_with("docker://") {
        "no `@ref`"
    } else {
        "not `owner/repo[/path]@ref`, `./path` or `docker://image`"
    };
    out.push(
        Finding::new(
            &RULE,
            ctx.doc.at(node),
            format!("{what} reference `{text}` is not valid: {why}"),
            text,
        )
        .with_annotation("GitHub cannot resolve this reference"),
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audits::testing::{positions, run as audit, snapshot_text};

    const WF: &str = "on: push
jobs:
  a:
    steps:
      - uses: actions/checkout@v4
      - uses: actions/checkout
      - uses: ${{ matrix.action }}
      - uses: ./.github/actions/x
      - uses: docker://alpine:3
      - uses: [not, a, string]
  b:
    uses: org/repo/.github/workflows/x.yml
";

    #[test]
    fn malformed_references() {
        let f = audit(run, WF);
        assert_eq!(positions(&f), vec![(6, 15), (7, 15), (10, 15), (12, 11)]);
        assert!(f[0].message.contains("no `@ref`"));
        // Not an unpinned action as well.
        let u = audit(super::super::unpinned_action::run, WF);
        assert!(u.iter().all(|f| f.location.line() != Some(6)), "{u:#?}");
    }

    #[test]
    fn snapshot() {
        insta::assert_snapshot!(snapshot_text(&audit(run, WF)));
    }
}
