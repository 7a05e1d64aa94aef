//! `iam/wildcard-action`: `"Action": "*"` or a whole service (`s3:*`) allowed.

use vouch_core::{Finding, Rule, Severity};

use crate::iam::{IamFile, IamOptions};

pub const RULE: Rule = Rule {
    id: "iam/wildcard-action",
    severity: Severity::High,
    summary: "An Allow statement grants every action (`*`) or every action of a service (`s3:*`)",
    help: "List the actions the principal needs (`s3:GetObject`, `s3:PutObject`) instead of a \
wildcard: a service wildcard includes permission-management and destructive actions, and new \
actions AWS adds later. `vouch iam diff --granted POLICY --used CLOUDTRAIL` proposes the list \
from real usage.",
    references: &[
        "https://docs.aws.amazon.com/IAM/latest/UserGuide/best-practices.html#grant-least-privilege",
    ],
};

pub fn check(file: &IamFile, _options: &IamOptions, out: &mut Vec<Finding>) {
    for policy in &file.policies {
        for st in policy.statements() {
            if !st.allow {
                continue;
            }
            for action in &st.actions {
                let Some(a) = action.as_str() else { continue };
                let all = a == "*";
                let service = a.split_once(':').filter(|(_, n)| *n == "*").map(|(s, _)| s);
                if !all && service.is_none() {
                    continue;
                }
                let what = match service {
                    Some(s) => format!("every `{s}` action"),
                    None => "every action of every service".to_string(),
                };
                out.push(
                    Finding::new(
                        &RULE,
                        policy.location(&file.path, action.region()),
                        format!(
                            "{}: statement {} allows `{a}` ({what})",
                            policy.owner,
                            st.label()
                        ),
                        &format!("{}|{}|{a}", policy.owner, st.label()),
                    )
                    .with_annotation(format!("`{a}` grants {what}")),
                );
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::iam::{IamOptions, lint_text};

    fn ids(text: &str) -> Vec<String> {
        lint_text("p.json", text, &IamOptions::default())
            .unwrap()
            .into_iter()
            .filter(|f| f.rule == super::RULE.id)
            .map(|f| f.message)
            .collect()
    }

    #[test]
    fn fires_on_star_and_service_star() {
        let t = r#"{"Statement":[{"Sid":"All","Effect":"Allow","Action":["*","s3:*"],"Resource":"arn:aws:s3:::b"}]}"#;
        assert_eq!(ids(t).len(), 2);
    }

    #[test]
    fn quiet_on_deny_and_prefixes() {
        let t = r#"{"Statement":[{"Effect":"Deny","Action":"*","Resource":"*"},{"Effect":"Allow","Action":"s3:Get*","Resource":"arn:aws:s3:::b/*"}]}"#;
        assert!(ids(t).is_empty());
    }

    #[test]
    fn snapshot() {
        let t = "{\n  \"Statement\": [\n    {\"Sid\": \"Admin\", \"Effect\": \"Allow\", \"Action\": \"s3:*\", \"Resource\": \"arn:aws:s3:::b\"}\n  ]\n}\n";
        let f = lint_text("policies/app.json", t, &IamOptions::default()).unwrap();
        insta::assert_json_snapshot!(f);
    }
}
