//! `iam/not-action-allow`: `Effect: Allow` with `NotAction`.

use vouch_core::{Finding, Rule, Severity};

use crate::iam::{IamFile, IamOptions};

pub const RULE: Rule = Rule {
    id: "iam/not-action-allow",
    severity: Severity::High,
    summary: "An Allow statement uses NotAction, granting every action except the listed ones",
    help: "`Allow` + `NotAction` grants everything not listed, including actions AWS adds later. \
Use `Action` with the actions needed; keep `NotAction` for `Deny` statements (guardrails).",
    references: &[
        "https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_notaction.html",
    ],
};

pub fn check(file: &IamFile, _options: &IamOptions, out: &mut Vec<Finding>) {
    for policy in &file.policies {
        for st in policy.statements() {
            let (true, Some((key, excluded))) = (st.allow, &st.not_actions) else {
                continue;
            };
            let list: Vec<&str> = excluded.iter().filter_map(|n| n.as_str()).collect();
            out.push(
                Finding::new(
                    &RULE,
                    policy.location(&file.path, key.region()),
                    format!(
                        "{}: statement {} allows every action except {}",
                        policy.owner,
                        st.label(),
                        if list.is_empty() {
                            "none".to_string()
                        } else {
                            list.join(", ")
                        }
                    ),
                    &format!("{}|{}|{}", policy.owner, st.label(), list.join(",")),
                )
                .with_annotation("Allow with NotAction"),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::iam::{IamOptions, lint_text};

    fn count(text: &str) -> usize {
        lint_text("p.json", text, &IamOptions::default())
            .unwrap()
            .iter()
            .filter(|f| f.rule == super::RULE.id)
            .count()
    }

    #[test]
    fn fires_on_allow_only() {
        assert_eq!(
            count(r#"{"Statement":{"Effect":"Allow","NotAction":"iam:*","Resource":"*"}}"#),
            1
        );
        assert_eq!(
            count(r#"{"Statement":{"Effect":"Deny","NotAction":"iam:*","Resource":"*"}}"#),
            0
        );
    }
}
