//! `iam/not-resource-allow`: `Effect: Allow` with `NotResource`.

use vouch_core::{Finding, Rule, Severity};

use crate::iam::{IamFile, IamOptions, PolicyKind};

pub const RULE: Rule = Rule {
    id: "iam/not-resource-allow",
    severity: Severity::High,
    summary: "An Allow statement uses NotResource, granting its actions on every resource except the listed ones",
    help: "`Allow` + `NotResource` grants the actions on every resource not listed, in every \
account the principal can reach and on resources created later. List the resources the \
principal needs in `Resource`; keep `NotResource` for `Deny` statements (guardrails).",
    references: &[
        "https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_notresource.html",
    ],
};

pub fn check(file: &IamFile, _options: &IamOptions, out: &mut Vec<Finding>) {
    for policy in &file.policies {
        // A trust policy's resource is the role itself; NotResource there is meaningless
        // rather than broad, and AWS rejects it.
        if policy.kind == PolicyKind::Trust {
            continue;
        }
        for st in policy.statements() {
            let (true, Some((key, excluded))) = (st.allow, &st.not_resources) else {
                continue;
            };
            let list: Vec<&str> = excluded.iter().filter_map(|n| n.as_str()).collect();
            let actions: Vec<&str> = match &st.not_actions {
                Some(_) => vec!["every action but those in NotAction"],
                None => st.actions.iter().filter_map(|n| n.as_str()).collect(),
            };
            out.push(
                Finding::new(
                    &RULE,
                    policy.location(&file.path, key.region()),
                    format!(
                        "{}: statement {} allows {} on every resource except {}",
                        policy.owner,
                        st.label(),
                        if actions.is_empty() {
                            "its actions".to_string()
                        } else {
                            actions.join(", ")
                        },
                        if list.is_empty() {
                            "none".to_string()
                        } else {
                            list.join(", ")
                        }
                    ),
                    &format!("{}|{}|{}", policy.owner, st.label(), list.join(",")),
                )
                .with_annotation("Allow with NotResource"),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::iam::{IamOptions, lint_text};

    fn found(path: &str, text: &str) -> Vec<vouch_core::Finding> {
        lint_text(path, text, &IamOptions::default())
            .unwrap()
            .into_iter()
            .filter(|f| f.rule == super::RULE.id)
            .collect()
    }

    #[test]
    fn fires_on_allow_only() {
        let f = found(
            "p.json",
            r#"{"Statement":{"Sid":"Most","Effect":"Allow","Action":"s3:GetObject","NotResource":"arn:aws:s3:::secret/*"}}"#,
        );
        assert_eq!(f.len(), 1);
        assert_eq!(
            f[0].message,
            "p.json: statement Most allows s3:GetObject on every resource except arn:aws:s3:::secret/*"
        );
        // The finding points at the `NotResource` key.
        assert_eq!(f[0].location.region.map(|r| r.line), Some(1));
        assert!(
            found(
                "p.json",
                r#"{"Statement":{"Effect":"Deny","Action":"s3:*","NotResource":["arn:aws:s3:::b","arn:aws:s3:::b/*"]}}"#
            )
            .is_empty()
        );
        assert!(
            found(
                "p.json",
                r#"{"Statement":{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::b/*"}}"#
            )
            .is_empty()
        );
    }

    #[test]
    fn fires_in_cloudformation_with_a_list_and_not_action() {
        let t = "Resources:\n  P:\n    Type: AWS::IAM::ManagedPolicy\n    Properties:\n      PolicyDocument:\n        Statement:\n          - Effect: Allow\n            NotAction: iam:*\n            NotResource:\n              - arn:aws:s3:::a\n              - arn:aws:s3:::b\n";
        let f = found("t.yaml", t);
        assert_eq!(f.len(), 1, "{f:?}");
        assert!(
            f[0].message
                .contains("except arn:aws:s3:::a, arn:aws:s3:::b")
        );
        assert!(f[0].message.contains("every action but those in NotAction"));
        assert_eq!(f[0].location.region.map(|r| r.line), Some(9));
    }
}
