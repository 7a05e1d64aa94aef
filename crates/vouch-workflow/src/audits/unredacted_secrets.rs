//! `workflow/unredacted-secrets`: a field of a JSON secret escapes log redaction.

use vouch_core::{Finding, Rule, Severity};

use super::Ctx;

pub const RULE: Rule = Rule {
    id: "workflow/unredacted-secrets",
    severity: Severity::Medium,
    summary: "A field of a structured secret is read with `fromJSON(secrets.X).field`",
    help: "GitHub masks the exact value of each secret in logs. A field taken out of a JSON \
           secret (`${{ fromJSON(secrets.CREDS).password }}`) is a different string, so it is \
           printed in clear wherever it reaches a log. Store each credential as its own secret \
           (`secrets.DB_PASSWORD`), or mask the field before use with \
           `echo \"::add-mask::$VALUE\"`.",
    references: &[
        "https://docs.github.com/en/actions/security-for-github-actions/security-guides/using-secrets-in-github-actions#using-secrets-in-a-workflow",
        "https://docs.zizmor.sh/audits/#unredacted-secrets",
    ],
};

/// `fromJSON(secrets…)` followed by a field access or an index.
pub(crate) fn unredacted(inner: &str) -> bool {
    let lower = inner.to_ascii_lowercase();
    let mut from = 0;
    while let Some(i) = lower.get(from..).and_then(|s| s.find("fromjson(")) {
        let open = from + i + "fromjson".len();
        from = open + 1;
        if !lower[open + 1..].trim_start().starts_with("secrets") {
            continue;
        }
        // find the matching `)`
        let mut depth = 0usize;
        let mut close = None;
        for (j, c) in lower[open..].char_indices() {
            match c {
                '(' => depth += 1,
                ')' => {
                    depth -= 1;
                    if depth == 0 {
                        close = Some(open + j);
                        break;
                    }
                }
                _ => {}
            }
        }
        if let Some(c) = close
            && lower[c + 1..].trim_start().starts_with(['.', '['])
        {
            return true;
        }
    }
    false
}

pub fn run(ctx: &Ctx<'_>, out: &mut Vec<Finding>) {
    super::expression_findings(ctx, out, unredacted, |at, text, inner| {
        Finding::new(
            &RULE,
            at,
            format!(
                "`{text}` is not masked in logs: GitHub redacts whole secrets, not fields of them"
            ),
            inner,
        )
        .with_annotation("bypasses secret redaction")
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audits::testing::{positions, run as audit, snapshot_text};

    const WF: &str = "on: push
jobs:
  a:
    steps:
      - run: login -p ${{ fromJSON(secrets.CREDS).password }}
      - run: echo ${{ fromJson(secrets.CREDS)['user'] }} ${{ fromJSON(secrets.LIST) }}
      - run: echo ${{ fromJSON(steps.x.outputs.y).z }}
";

    #[test]
    fn fields_of_json_secrets() {
        assert_eq!(positions(&audit(run, WF)), vec![(5, 23), (6, 19)]);
    }

    #[test]
    fn snapshot() {
        insta::assert_snapshot!(snapshot_text(&audit(run, WF)));
    }
}
