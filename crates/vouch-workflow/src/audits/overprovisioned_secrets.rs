//! `workflow/overprovisioned-secrets`: the whole `secrets` context reaches a step.

use vouch_core::{Finding, Rule, Severity};

use super::Ctx;

pub const RULE: Rule = Rule {
    id: "workflow/overprovisioned-secrets",
    severity: Severity::Medium,
    summary: "An expression hands every secret to the runner (`toJSON(secrets)`, `secrets[x]`)",
    help: "GitHub only sends a job the secrets its expressions name. `${{ toJSON(secrets) }}` \
           names all of them, and `secrets[expr]` with a computed index makes GitHub send \
           every secret because it cannot know which one will be read. Every secret of the \
           repository, organisation and environment then sits in the runner's memory, where a \
           compromised step or action can read it. Name each secret the step needs: \
           `${{ secrets.DEPLOY_TOKEN }}`.",
    references: &[
        "https://docs.github.com/en/actions/security-for-github-actions/security-guides/using-secrets-in-github-actions",
        "https://docs.zizmor.sh/audits/#overprovisioned-secrets",
    ],
};

/// `secrets` used as a whole (not `secrets.NAME` or `secrets['NAME']`) in an expression.
pub(crate) fn whole_secrets(inner: &str) -> bool {
    let lower = inner.to_ascii_lowercase();
    let b = lower.as_bytes();
    let mut from = 0;
    while let Some(i) = lower.get(from..).and_then(|s| s.find("secrets")) {
        let at = from + i;
        let end = at + "secrets".len();
        from = end;
        let word_start = at == 0
            || !(b[at - 1].is_ascii_alphanumeric() || matches!(b[at - 1], b'_' | b'.' | b'-'));
        let word_end = b
            .get(end)
            .is_none_or(|c| !(c.is_ascii_alphanumeric() || *c == b'_' || *c == b'-'));
        if !word_start || !word_end {
            continue;
        }
        let rest = lower[end..].trim_start();
        if rest.starts_with('.') {
            continue;
        }
        if let Some(idx) = rest.strip_prefix('[') {
            let idx = idx.trim_start();
            // a literal index names one secret
            if idx.starts_with('\'') || idx.starts_with('"') {
                continue;
            }
        }
        return true;
    }
    false
}

pub fn run(ctx: &Ctx<'_>, out: &mut Vec<Finding>) {
    super::expression_findings(ctx, out, whole_secrets, |at, text, inner| {
        Finding::new(
            &RULE,
            at,
            format!("`{text}` sends every secret to the runner"),
            inner,
        )
        .with_annotation("injects the entire secrets context")
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
      - run: echo ok
        env:
          ALL: ${{ toJSON(secrets) }}
          ONE: ${{ secrets.TOKEN }}
          IDX: ${{ secrets['TOKEN'] }}
          DYN: ${{ secrets[format('{0}_TOKEN', matrix.env)] }}
          NOT: ${{ inputs.secrets_file }}
";

    #[test]
    fn whole_context_only() {
        assert_eq!(positions(&audit(run, WF)), vec![(7, 16), (10, 16)]);
        assert!(!whole_secrets("github.secrets_x"));
        assert!(whole_secrets("tojson( secrets )"));
    }

    #[test]
    fn snapshot() {
        insta::assert_snapshot!(snapshot_text(&audit(run, WF)));
    }
}
