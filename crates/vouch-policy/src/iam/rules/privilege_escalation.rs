//! `iam/privilege-escalation`: combinations of allowed actions that let a principal grant
//! itself more permissions (after Rhino Security Labs' AWS privilege-escalation methods).

use std::collections::BTreeMap;

use vouch_core::{Finding, Rule, Severity};

use crate::catalogue::wildcard_match;
use crate::doc::Node;
use crate::iam::{IamFile, IamOptions, PolicyKind};

pub const RULE: Rule = Rule {
    id: "iam/privilege-escalation",
    severity: Severity::High,
    summary: "The allowed actions let the principal escalate its own privileges",
    help: "Remove the action(s), or scope them with resource ARNs and conditions so they cannot \
target the principal itself (for `iam:PassRole`, list the roles and add an \
`iam:PassedToService` condition). Each listed combination is a known path to administrator \
access.",
    references: &[
        "https://rhinosecuritylabs.com/aws/aws-privilege-escalation-methods-mitigation/",
        "https://bishopfox.com/blog/privilege-escalation-in-aws",
    ],
};

/// Each method: every action in the set must be allowed.
const METHODS: &[&[&str]] = &[
    &["iam:CreatePolicyVersion"],
    &["iam:SetDefaultPolicyVersion"],
    &["iam:CreateAccessKey"],
    &["iam:CreateLoginProfile"],
    &["iam:UpdateLoginProfile"],
    &["iam:AttachUserPolicy"],
    &["iam:AttachGroupPolicy"],
    &["iam:AttachRolePolicy"],
    &["iam:PutUserPolicy"],
    &["iam:PutGroupPolicy"],
    &["iam:PutRolePolicy"],
    &["iam:AddUserToGroup"],
    &["iam:UpdateAssumeRolePolicy", "sts:AssumeRole"],
    &["iam:PassRole", "ec2:RunInstances"],
    &[
        "iam:PassRole",
        "lambda:CreateFunction",
        "lambda:InvokeFunction",
    ],
    &[
        "iam:PassRole",
        "lambda:CreateFunction",
        "lambda:CreateEventSourceMapping",
    ],
    &["iam:PassRole", "cloudformation:CreateStack"],
    &["iam:PassRole", "glue:CreateDevEndpoint"],
    &[
        "iam:PassRole",
        "datapipeline:CreatePipeline",
        "datapipeline:PutPipelineDefinition",
    ],
    &["glue:UpdateDevEndpoint"],
    &["lambda:UpdateFunctionCode"],
];

/// Every action an identity policy allows, each with the action node that grants it first.
fn allowed<'a>(nodes: &[(&'a Node, bool, Vec<&'a Node>)]) -> BTreeMap<String, &'a Node> {
    let mut out = BTreeMap::new();
    for (stmt, is_not, actions) in nodes {
        for method in METHODS {
            for action in *method {
                let key = action.to_ascii_lowercase();
                if out.contains_key(&key) {
                    continue;
                }
                let matched = actions
                    .iter()
                    .find(|a| a.as_str().is_some_and(|p| wildcard_match(p, action)));
                let grants = if *is_not {
                    matched.is_none()
                } else {
                    matched.is_some()
                };
                if grants {
                    out.insert(key, matched.copied().unwrap_or(stmt));
                }
            }
        }
    }
    out
}

pub fn check(file: &IamFile, _options: &IamOptions, out: &mut Vec<Finding>) {
    for policy in &file.policies {
        if policy.kind != PolicyKind::Identity {
            continue;
        }
        let statements = policy.statements();
        let grants: Vec<(&Node, bool, Vec<&Node>)> = statements
            .iter()
            .filter(|s| s.allow)
            .map(|s| match &s.not_actions {
                Some((_, list)) => (s.node, true, list.clone()),
                None => (s.node, false, s.actions.clone()),
            })
            .collect();
        let allowed = allowed(&grants);
        let mut paths: Vec<(String, &Node)> = Vec::new();
        for method in METHODS {
            let nodes: Option<Vec<&Node>> = method
                .iter()
                .map(|a| allowed.get(&a.to_ascii_lowercase()).copied())
                .collect();
            if let Some(nodes) = nodes {
                paths.push((method.join(" + "), nodes[0]));
            }
        }
        let Some((_, at)) = paths.first() else {
            continue;
        };
        let names: Vec<&str> = paths.iter().map(|(p, _)| p.as_str()).collect();
        let shown = names.iter().take(3).copied().collect::<Vec<_>>().join("; ");
        let more = if names.len() > 3 {
            format!(" and {} more", names.len() - 3)
        } else {
            String::new()
        };
        out.push(
            Finding::new(
                &RULE,
                policy.location(&file.path, at.region()),
                format!(
                    "{}: allows {} privilege-escalation path(s): {shown}{more}",
                    policy.owner,
                    names.len()
                ),
                &format!("{}|{}", policy.owner, names.join(";")),
            )
            .with_annotation(format!("escalation path: {}", names[0]))
            .with_property("paths", names),
        );
    }
}

#[cfg(test)]
mod tests {
    use crate::iam::{IamOptions, lint_text};

    fn msgs(text: &str) -> Vec<String> {
        lint_text("p.json", text, &IamOptions::default())
            .unwrap()
            .into_iter()
            .filter(|f| f.rule == super::RULE.id)
            .map(|f| f.message)
            .collect()
    }

    #[test]
    fn passrole_with_run_instances() {
        let m = msgs(
            r#"{"Statement":[{"Effect":"Allow","Action":["iam:PassRole"],"Resource":"*"},{"Effect":"Allow","Action":"ec2:Run*","Resource":"*"}]}"#,
        );
        assert_eq!(m.len(), 1);
        assert!(
            m[0].contains("1 privilege-escalation path(s): iam:PassRole + ec2:RunInstances"),
            "{m:?}"
        );
    }

    #[test]
    fn passrole_alone_is_fine_and_star_is_everything() {
        assert!(
            msgs(r#"{"Statement":{"Effect":"Allow","Action":"iam:PassRole","Resource":"*"}}"#)
                .is_empty()
        );
        let all = msgs(r#"{"Statement":{"Effect":"Allow","Action":"*","Resource":"*"}}"#);
        assert_eq!(all.len(), 1);
        assert!(
            all[0].contains("21 privilege-escalation path(s)"),
            "{all:?}"
        );
    }
}
