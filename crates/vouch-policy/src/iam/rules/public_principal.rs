//! `iam/public-principal`: `"Principal": "*"` (or `{"AWS": "*"}`) without a restricting condition.

use vouch_core::{Finding, Rule, Severity};

use crate::doc::Node;
use crate::iam::{IamFile, IamOptions};

pub const RULE: Rule = Rule {
    id: "iam/public-principal",
    severity: Severity::Critical,
    summary: "A resource or trust policy allows anyone (`Principal: *`) with no restricting condition",
    help: "Name the principals (account ARNs, roles, services) or add a condition that narrows \
`*` to your organisation or source (`aws:PrincipalOrgID`, `aws:SourceAccount`, `aws:SourceArn`, \
`aws:SourceVpce`, `aws:SourceIp`). As written, any AWS account — or anonymous users — can act.",
    references: &[
        "https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_principal.html",
        "https://docs.aws.amazon.com/IAM/latest/UserGuide/access-analyzer-reference-policy-checks.html",
    ],
};

/// Condition keys that tie a `*` principal to an identifiable caller.
const RESTRICTING_KEYS: &[&str] = &[
    "aws:principalorgid",
    "aws:principalorgpaths",
    "aws:principalaccount",
    "aws:principalarn",
    "aws:sourceaccount",
    "aws:sourcearn",
    "aws:sourceowner",
    "aws:sourcevpc",
    "aws:sourcevpce",
    "aws:sourceip",
    "aws:userid",
    "aws:sourceorgid",
    "aws:sourceorgpaths",
    "kms:calleraccount",
    "kms:viaservice",
];

/// The `*` in a principal, if the principal is public.
pub fn public_star(principal: &Node) -> Option<&Node> {
    if principal.as_str() == Some("*") {
        return Some(principal);
    }
    principal.get("AWS").and_then(|aws| {
        aws.one_or_many()
            .into_iter()
            .find(|n| n.as_str() == Some("*"))
    })
}

fn restricted(condition: Option<&Node>) -> bool {
    let Some(cond) = condition else { return false };
    cond.members().iter().any(|(_, ops)| {
        ops.members()
            .iter()
            .any(|(k, _)| RESTRICTING_KEYS.contains(&k.name.to_ascii_lowercase().as_str()))
    })
}

pub fn check(file: &IamFile, _options: &IamOptions, out: &mut Vec<Finding>) {
    for policy in &file.policies {
        for st in policy.statements() {
            if !st.allow || restricted(st.condition) {
                continue;
            }
            let Some(star) = st.principal.and_then(public_star) else {
                continue;
            };
            let actions: Vec<&str> = st.actions.iter().filter_map(|a| a.as_str()).collect();
            out.push(
                Finding::new(
                    &RULE,
                    policy.location(&file.path, star.region()),
                    format!(
                        "{}: statement {} allows any principal to {}",
                        policy.owner,
                        st.label(),
                        if actions.is_empty() {
                            "act".to_string()
                        } else {
                            actions.join(", ")
                        }
                    ),
                    &format!("{}|{}", policy.owner, st.label()),
                )
                .with_annotation("public principal, no restricting condition"),
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
    fn public_fires_restricted_does_not() {
        assert_eq!(
            count(
                r#"{"Statement":{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::b/*"}}"#
            ),
            1
        );
        assert_eq!(
            count(
                r#"{"Statement":{"Effect":"Allow","Principal":{"AWS":["arn:aws:iam::1:root","*"]},"Action":"sqs:SendMessage","Resource":"*"}}"#
            ),
            1
        );
        assert_eq!(
            count(
                r#"{"Statement":{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::b/*","Condition":{"StringEquals":{"aws:PrincipalOrgID":"o-1"}}}}"#
            ),
            0
        );
        assert_eq!(
            count(
                r#"{"Statement":{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::123456789012:root"},"Action":"s3:GetObject","Resource":"*"}}"#
            ),
            0
        );
    }
}
