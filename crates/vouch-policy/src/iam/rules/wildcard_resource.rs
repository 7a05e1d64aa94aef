//! `iam/wildcard-resource`: `"Resource": "*"` on write or permission-management actions.

use vouch_core::{Finding, Rule, Severity};

use crate::catalogue::Catalogue;
use crate::iam::{IamFile, IamOptions, PolicyKind};

pub const RULE: Rule = Rule {
    id: "iam/wildcard-resource",
    severity: Severity::High,
    summary: "Write or permission-management actions are allowed on every resource (`Resource: *`)",
    help: "Scope the statement to the ARNs it needs (`arn:aws:s3:::my-bucket/*`). Read and list \
actions on `*` are common and not reported; actions that change state or permissions are, \
because on `*` they reach every resource in the account.",
    references: &[
        "https://docs.aws.amazon.com/service-authorization/latest/reference/reference_policies_actions-resources-contextkeys.html",
    ],
};

pub fn check(file: &IamFile, _options: &IamOptions, out: &mut Vec<Finding>) {
    let cat = Catalogue::get();
    for policy in &file.policies {
        if policy.kind == PolicyKind::Trust {
            continue;
        }
        for st in policy.statements() {
            if !st.allow || st.not_actions.is_some() {
                continue;
            }
            let Some(star) = st.resources.iter().find(|r| r.as_str() == Some("*")) else {
                continue;
            };
            let mut mutating: Vec<String> = st
                .actions
                .iter()
                .filter_map(|a| a.as_str())
                .flat_map(|a| cat.expand(a))
                .filter(|(_, level)| level.is_some_and(|l| l.is_mutating()))
                .map(|(a, _)| a)
                .collect();
            mutating.sort();
            mutating.dedup();
            if mutating.is_empty() {
                continue;
            }
            let shown: Vec<&str> = mutating.iter().take(3).map(String::as_str).collect();
            let more = if mutating.len() > 3 {
                format!(" and {} more", mutating.len() - 3)
            } else {
                String::new()
            };
            out.push(
                Finding::new(
                    &RULE,
                    policy.location(&file.path, star.region()),
                    format!(
                        "{}: statement {} allows {}{more} on every resource",
                        policy.owner,
                        st.label(),
                        shown.join(", ")
                    ),
                    &format!("{}|{}|{}", policy.owner, st.label(), mutating.join(",")),
                )
                .with_annotation(format!(
                    "{} write/permission action(s) on `*`",
                    mutating.len()
                ))
                .with_property("actions", mutating.len()),
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
    fn writes_on_star_fire_reads_do_not() {
        assert_eq!(
            count(r#"{"Statement":{"Effect":"Allow","Action":"s3:PutObject","Resource":"*"}}"#),
            1
        );
        assert_eq!(
            count(
                r#"{"Statement":{"Effect":"Allow","Action":["s3:GetObject","ec2:Describe*"],"Resource":"*"}}"#
            ),
            0
        );
        assert_eq!(
            count(
                r#"{"Statement":{"Effect":"Allow","Action":"s3:PutObject","Resource":"arn:aws:s3:::b/*"}}"#
            ),
            0
        );
    }
}
