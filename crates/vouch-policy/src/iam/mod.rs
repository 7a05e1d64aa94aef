//! IAM guardrails: policy documents found in AWS policy JSON, Terraform JSON plans
//! (`terraform show -json`) and CloudFormation templates (JSON or YAML), checked by the
//! `iam/*` rules (one file each under [`rules`]).

pub mod diff;
pub mod rules;

use std::collections::BTreeMap;

use serde::Deserialize;
use vouch_core::{Finding, InputError, Location, Region};

use crate::doc::{self, Node, Value};

/// `[iam]` in vouch.toml.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IamOptions {
    /// Tag keys every IAM role, user and managed policy must carry (`iam/missing-tags`).
    #[serde(default)]
    pub required_tags: Vec<String>,
    /// Environments by account id and name pattern (`iam/cross-environment`).
    #[serde(default)]
    pub environments: BTreeMap<String, Environment>,
}

/// `[iam.environments.<name>]`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Environment {
    /// 12-digit AWS account ids that belong to this environment.
    #[serde(default)]
    pub accounts: Vec<String>,
    /// `*`/`?` patterns matched (case-insensitively) against role/policy names, file paths and
    /// ARNs (`*prod*`).
    #[serde(default)]
    pub patterns: Vec<String>,
}

impl IamOptions {
    /// The environment a name or ARN belongs to, by account id (ARN field 5) or pattern.
    pub fn environment_of(&self, text: &str) -> Option<&str> {
        let account = text.split(':').nth(4).filter(|a| !a.is_empty());
        for (name, env) in &self.environments {
            if let Some(acct) = account
                && env.accounts.iter().any(|a| a == acct)
            {
                return Some(name);
            }
            if env
                .patterns
                .iter()
                .any(|p| crate::catalogue::wildcard_match(p, text))
            {
                return Some(name);
            }
        }
        None
    }
}

/// What kind of policy a document is, which decides which rules apply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PolicyKind {
    /// Attached to a user, group or role: Action + Resource.
    Identity,
    /// Attached to a resource (bucket, queue, key): has a Principal.
    Resource,
    /// A role's trust policy (who may assume it).
    Trust,
}

/// One policy document found in a file.
#[derive(Debug, Clone)]
pub struct PolicyDoc {
    pub node: Node,
    /// Who the policy belongs to: a CloudFormation logical id, a Terraform address, or the
    /// file path for a bare policy. Used in messages and fingerprints.
    pub owner: String,
    /// Names that identify the owner's environment (role name, address, path).
    pub names: Vec<String>,
    pub kind: PolicyKind,
    /// For policies embedded as a JSON string (Terraform plans), every finding points at the
    /// string, as positions inside the escaped text do not map to the file.
    pub anchor: Option<Region>,
}

/// A resource that should carry tags (`iam/missing-tags`).
#[derive(Debug, Clone)]
pub struct TaggedResource {
    pub owner: String,
    pub resource_type: String,
    pub tags: Vec<String>,
    pub region: Region,
}

/// What a file holds, for the rules.
#[derive(Debug, Clone, Default)]
pub struct IamFile {
    /// Path as reported (relative, `/`-separated).
    pub path: String,
    pub format: &'static str,
    pub policies: Vec<PolicyDoc>,
    pub resources: Vec<TaggedResource>,
}

/// A statement, with references into its policy's tree.
pub struct Statement<'a> {
    pub node: &'a Node,
    pub index: usize,
    pub sid: Option<&'a str>,
    pub allow: bool,
    pub actions: Vec<&'a Node>,
    pub not_actions: Option<(&'a doc::Key, Vec<&'a Node>)>,
    pub resources: Vec<&'a Node>,
    pub not_resources: Option<(&'a doc::Key, Vec<&'a Node>)>,
    pub principal: Option<&'a Node>,
    pub condition: Option<&'a Node>,
}

impl Statement<'_> {
    /// `Sid` or `#<index>`, for messages and fingerprints.
    pub fn label(&self) -> String {
        match self.sid {
            Some(s) if !s.is_empty() => s.to_string(),
            _ => format!("#{}", self.index),
        }
    }
}

impl PolicyDoc {
    /// The statements of the document (`Statement` may be one object or a list).
    pub fn statements(&self) -> Vec<Statement<'_>> {
        let Some(list) = self.node.get("Statement") else {
            return Vec::new();
        };
        list.one_or_many()
            .into_iter()
            .enumerate()
            .filter(|(_, s)| matches!(s.value, Value::Object(_)))
            .map(|(index, node)| Statement {
                node,
                index,
                sid: node.get("Sid").and_then(Node::as_str),
                allow: node.get("Effect").and_then(Node::as_str) == Some("Allow"),
                actions: node
                    .get("Action")
                    .map(Node::one_or_many)
                    .unwrap_or_default(),
                not_actions: node.entry("NotAction").map(|(k, v)| (k, v.one_or_many())),
                resources: node
                    .get("Resource")
                    .map(Node::one_or_many)
                    .unwrap_or_default(),
                not_resources: node.entry("NotResource").map(|(k, v)| (k, v.one_or_many())),
                principal: node.get("Principal"),
                condition: node.get("Condition"),
            })
            .collect()
    }

    /// Where a finding about `node` goes.
    pub fn location(&self, path: &str, region: Region) -> Location {
        Location::at(path, self.anchor.unwrap_or(region))
    }
}

/// Which file formats `parse` accepts, by content.
fn detect(root: &Node) -> Option<&'static str> {
    if root.get("Statement").is_some() {
        Some("policy")
    } else if root.get("planned_values").is_some()
        || root.get("resource_changes").is_some()
        || (root.get("format_version").is_some() && root.get("terraform_version").is_some())
    {
        Some("terraform-plan")
    } else if root.get("Resources").is_some() || root.get("AWSTemplateFormatVersion").is_some() {
        Some("cloudformation")
    } else {
        None
    }
}

/// Parses a policy, Terraform JSON plan or CloudFormation template. `path` is used in
/// findings; `text` is the file's contents. Unrecognised documents are bad input.
pub fn parse(path: &str, text: &str) -> Result<IamFile, InputError> {
    let trimmed = text.trim_start_matches('\u{feff}').trim_start();
    let lower = path.to_ascii_lowercase();
    let yaml = !trimmed.starts_with('{')
        && (lower.ends_with(".yaml") || lower.ends_with(".yml") || lower.ends_with(".template"));
    let root = if yaml {
        let mut docs = doc::parse_yaml(text).map_err(|e| e.or_file(path))?;
        if docs.is_empty() {
            return Err(InputError::in_file(path, "empty YAML document"));
        }
        docs.swap_remove(0)
    } else {
        doc::parse_json(text).map_err(|e| e.or_file(path))?
    };
    let Some(format) = detect(&root) else {
        return Err(InputError::in_file(
            path,
            "not an IAM policy, Terraform JSON plan or CloudFormation template",
        )
        .with_hint("a policy has `Statement`; a plan comes from `terraform show -json`; a template has `Resources`"));
    };
    let mut file = IamFile {
        path: path.to_string(),
        format,
        ..IamFile::default()
    };
    match format {
        "policy" => file.policies.push(PolicyDoc {
            kind: kind_of(&root, PolicyKind::Identity),
            node: root,
            owner: path.to_string(),
            names: vec![path.to_string()],
            anchor: None,
        }),
        "cloudformation" => cloudformation(&root, &mut file),
        _ => terraform(&root, &mut file)?,
    }
    Ok(file)
}

/// A document whose statements name a principal is a resource (or trust) policy.
fn kind_of(node: &Node, default: PolicyKind) -> PolicyKind {
    let has_principal = node
        .get("Statement")
        .map(|s| {
            s.one_or_many()
                .iter()
                .any(|st| st.get("Principal").is_some() || st.get("NotPrincipal").is_some())
        })
        .unwrap_or(false);
    if !has_principal {
        return default;
    }
    let assume = node
        .get("Statement")
        .map(|s| {
            s.one_or_many().iter().any(|st| {
                st.get("Action")
                    .map(|a| {
                        a.one_or_many().iter().any(|x| {
                            x.as_str().is_some_and(|v| {
                                v.to_ascii_lowercase().starts_with("sts:assumerole")
                            })
                        })
                    })
                    .unwrap_or(false)
            })
        })
        .unwrap_or(false);
    if assume && default != PolicyKind::Resource {
        PolicyKind::Trust
    } else {
        PolicyKind::Resource
    }
}

/// The CloudFormation resource types whose tags `iam/missing-tags` checks.
const TAGGED_CFN: &[&str] = &[
    "AWS::IAM::Role",
    "AWS::IAM::User",
    "AWS::IAM::ManagedPolicy",
];
/// The Terraform resource types whose tags `iam/missing-tags` checks.
const TAGGED_TF: &[&str] = &["aws_iam_role", "aws_iam_user", "aws_iam_policy"];

fn cloudformation(root: &Node, file: &mut IamFile) {
    let Some(resources) = root.get("Resources") else {
        return;
    };
    for (id, res) in resources.members() {
        let rtype = res.get("Type").and_then(Node::as_str).unwrap_or_default();
        let Some(props) = res.get("Properties") else {
            if TAGGED_CFN.contains(&rtype) {
                file.resources.push(TaggedResource {
                    owner: id.name.clone(),
                    resource_type: rtype.to_string(),
                    tags: Vec::new(),
                    region: id.region(),
                });
            }
            continue;
        };
        let mut names = vec![id.name.clone()];
        for name_key in [
            "RoleName",
            "PolicyName",
            "ManagedPolicyName",
            "UserName",
            "GroupName",
        ] {
            if let Some(n) = props.get(name_key).and_then(Node::as_str) {
                names.push(n.to_string());
            }
        }
        let mut push = |node: &Node, owner: String, kind: PolicyKind| {
            if matches!(node.value, Value::Object(_)) {
                file.policies.push(PolicyDoc {
                    kind: kind_of(node, kind),
                    node: node.clone(),
                    owner,
                    names: names.clone(),
                    anchor: None,
                });
            }
        };
        for (key, value) in props.members() {
            match key.name.as_str() {
                "PolicyDocument" | "KeyPolicy" => {
                    let kind = if rtype.starts_with("AWS::IAM::") {
                        PolicyKind::Identity
                    } else {
                        PolicyKind::Resource
                    };
                    push(value, id.name.clone(), kind);
                }
                "AssumeRolePolicyDocument" => push(
                    value,
                    format!("{} (trust policy)", id.name),
                    PolicyKind::Trust,
                ),
                "Policies" => {
                    for p in value.one_or_many() {
                        let pname = p
                            .get("PolicyName")
                            .and_then(Node::as_str)
                            .unwrap_or("inline");
                        if let Some(d) = p.get("PolicyDocument") {
                            push(d, format!("{}/{pname}", id.name), PolicyKind::Identity);
                        }
                    }
                }
                _ => {}
            }
        }
        if TAGGED_CFN.contains(&rtype) {
            let tags = props
                .get("Tags")
                .map(|t| {
                    t.one_or_many()
                        .iter()
                        .filter_map(|kv| kv.get("Key").and_then(Node::as_str).map(str::to_string))
                        .collect()
                })
                .unwrap_or_default();
            file.resources.push(TaggedResource {
                owner: id.name.clone(),
                resource_type: rtype.to_string(),
                tags,
                region: id.region(),
            });
        }
    }
}

fn terraform(root: &Node, file: &mut IamFile) -> Result<(), InputError> {
    let mut modules = Vec::new();
    if let Some(rm) = root
        .get("planned_values")
        .and_then(|p| p.get("root_module"))
    {
        modules.push(rm);
    }
    while let Some(module) = modules.pop() {
        if let Some(children) = module.get("child_modules") {
            modules.extend(children.one_or_many());
        }
        let Some(resources) = module.get("resources") else {
            continue;
        };
        for res in resources.one_or_many() {
            let address = res
                .get("address")
                .and_then(Node::as_str)
                .unwrap_or("resource")
                .to_string();
            let rtype = res.get("type").and_then(Node::as_str).unwrap_or_default();
            let Some(values) = res.get("values") else {
                continue;
            };
            let mut names = vec![address.clone()];
            if let Some(n) = values.get("name").and_then(Node::as_str) {
                names.push(n.to_string());
            }
            for (key, value) in values.members() {
                let kind = match key.name.as_str() {
                    "assume_role_policy" => PolicyKind::Trust,
                    "policy" if rtype.starts_with("aws_iam_") => PolicyKind::Identity,
                    "policy" => PolicyKind::Resource,
                    _ => continue,
                };
                let Some(text) = value.as_str() else { continue };
                if text.trim().is_empty() {
                    continue;
                }
                let inner = doc::parse_json(text).map_err(|e| InputError {
                    file: Some(file.path.clone().into()),
                    line: Some(value.start.line),
                    column: Some(value.start.col),
                    message: format!("{address}.{}: {}", key.name, e.message),
                    hint: Some("the attribute holds a policy as a JSON string".into()),
                })?;
                let owner = if kind == PolicyKind::Trust {
                    format!("{address} (trust policy)")
                } else {
                    address.clone()
                };
                file.policies.push(PolicyDoc {
                    kind: kind_of(&inner, kind),
                    node: inner,
                    owner,
                    names: names.clone(),
                    anchor: Some(value.region()),
                });
            }
            if TAGGED_TF.contains(&rtype) {
                let tags = values
                    .get("tags")
                    .map(|t| t.members().iter().map(|(k, _)| k.name.clone()).collect())
                    .unwrap_or_default();
                file.resources.push(TaggedResource {
                    owner: address.clone(),
                    resource_type: rtype.to_string(),
                    tags,
                    region: res.region(),
                });
            }
        }
    }
    Ok(())
}

/// Runs every `iam/*` rule on a parsed file.
pub fn lint(file: &IamFile, options: &IamOptions) -> Vec<Finding> {
    let mut out = Vec::new();
    for rule in rules::ALL {
        (rule.check)(file, options, &mut out);
    }
    out.sort_by(|a, b| a.sort_key().cmp(&b.sort_key()));
    out
}

/// Parses and lints one file's text.
pub fn lint_text(path: &str, text: &str, options: &IamOptions) -> Result<Vec<Finding>, InputError> {
    Ok(lint(&parse(path, text)?, options))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn finds_policies_in_cloudformation_yaml() {
        let t = "Resources:\n  Role:\n    Type: AWS::IAM::Role\n    Properties:\n      RoleName: app-prod\n      AssumeRolePolicyDocument:\n        Statement:\n          - Effect: Allow\n            Principal: {Service: lambda.amazonaws.com}\n            Action: sts:AssumeRole\n      Policies:\n        - PolicyName: p\n          PolicyDocument:\n            Statement:\n              - Effect: Allow\n                Action: s3:GetObject\n                Resource: !Sub 'arn:aws:s3:::b/*'\n";
        let f = parse("t.yaml", t).unwrap();
        assert_eq!(f.format, "cloudformation");
        assert_eq!(f.policies.len(), 2);
        assert_eq!(f.policies[0].kind, PolicyKind::Trust);
        assert_eq!(f.policies[1].owner, "Role/p");
        assert_eq!(f.resources.len(), 1);
    }

    #[test]
    fn finds_policies_in_terraform_plan() {
        let t = r#"{"format_version":"1.2","terraform_version":"1.9.0","planned_values":{"root_module":{"resources":[
          {"address":"aws_iam_policy.p","type":"aws_iam_policy","values":{"name":"p","policy":"{\"Statement\":[{\"Effect\":\"Allow\",\"Action\":\"*\",\"Resource\":\"*\"}]}","tags":{"owner":"x"}}}]}}}"#;
        let f = parse("plan.json", t).unwrap();
        assert_eq!(f.format, "terraform-plan");
        assert_eq!(f.policies.len(), 1);
        assert!(f.policies[0].anchor.is_some());
        assert_eq!(f.resources[0].tags, vec!["owner".to_string()]);
    }

    #[test]
    fn unknown_documents_are_bad_input() {
        let e = parse("x.json", "{\"a\": 1}").unwrap_err();
        assert!(e.message.contains("not an IAM policy"));
        let e = parse("x.json", "{\"Statement\": [}").unwrap_err();
        assert_eq!(e.line, Some(1));
        assert_eq!(e.column, Some(16));
    }

    proptest! {
        #[test]
        fn parse_never_panics(s in r#"[\[\]{}",:a-zA-Z\* ]{0,80}"#) {
            let _ = parse("p.json", &s);
            let _ = parse("p.yaml", &s);
        }

        #[test]
        fn lint_never_panics_on_policy_shapes(
            effect in "(Allow|Deny|x)",
            action in r#"(\*|s3:\*|iam:PassRole|ec2:Run\*|[a-z:]{0,8})"#,
            resource in r#"(\*|arn:aws:s3:::b|[a-z:]{0,8})"#,
        ) {
            let text = format!(r#"{{"Statement":[{{"Effect":"{effect}","Action":["{action}"],"Resource":"{resource}","Principal":"*"}}]}}"#);
            let file = parse("p.json", &text).unwrap();
            let _ = lint(&file, &IamOptions::default());
        }
    }
}
