//! `iam/cross-environment`: a policy owned by one environment grants access to another
//! environment's resources or principals (a stage role allowed on prod ARNs).

use vouch_core::{Finding, Rule, Severity};

use crate::iam::{IamFile, IamOptions};

pub const RULE: Rule = Rule {
    id: "iam/cross-environment",
    severity: Severity::High,
    summary: "A policy of one environment allows access to another environment's resources",
    help: "Keep each environment's roles within its own accounts and resources: a stage role \
that can write prod resources turns a stage compromise into a prod one. Environments are \
declared in vouch.toml (`[iam.environments.prod] accounts = [\"111111111111\"]`, \
`patterns = [\"*prod*\"]`); the policy's environment comes from its role/policy name, \
Terraform address or file path, the target's from the ARN's account or name.",
    references: &[
        "https://docs.aws.amazon.com/whitepapers/latest/organizing-your-aws-environment/organizing-workload-oriented-ous.html",
    ],
};

pub fn check(file: &IamFile, options: &IamOptions, out: &mut Vec<Finding>) {
    if options.environments.is_empty() {
        return;
    }
    for policy in &file.policies {
        let Some(own) = policy.names.iter().find_map(|n| options.environment_of(n)) else {
            continue;
        };
        for st in policy.statements() {
            if !st.allow {
                continue;
            }
            let mut targets: Vec<&crate::doc::Node> = st.resources.clone();
            if let Some(aws) = st.principal.and_then(|p| p.get("AWS")) {
                targets.extend(aws.one_or_many());
            }
            for target in targets {
                let Some(arn) = target.as_str() else { continue };
                if arn == "*" {
                    continue;
                }
                let Some(other) = options.environment_of(arn) else {
                    continue;
                };
                if other == own {
                    continue;
                }
                out.push(
                    Finding::new(
                        &RULE,
                        policy.location(&file.path, target.region()),
                        format!(
                            "{} belongs to `{own}` but statement {} reaches `{other}`: {arn}",
                            policy.owner,
                            st.label()
                        ),
                        &format!("{}|{}|{arn}", policy.owner, st.label()),
                    )
                    .with_annotation(format!("`{other}` resource in a `{own}` policy")),
                );
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::iam::{Environment, IamOptions, lint_text};

    #[test]
    fn stage_role_on_prod_account() {
        let mut opts = IamOptions::default();
        opts.environments.insert(
            "prod".into(),
            Environment {
                accounts: vec!["111111111111".into()],
                patterns: vec!["*prod*".into()],
            },
        );
        opts.environments.insert(
            "stage".into(),
            Environment {
                accounts: vec!["222222222222".into()],
                patterns: vec!["*stage*".into()],
            },
        );
        let t = r#"{"Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":["arn:aws:s3:::app-stage/*","arn:aws:dynamodb:eu-west-1:111111111111:table/t"]}]}"#;
        let f = lint_text("iam/stage/app.json", t, &opts).unwrap();
        let hits: Vec<_> = f.iter().filter(|f| f.rule == super::RULE.id).collect();
        assert_eq!(hits.len(), 1);
        assert!(hits[0].message.contains("111111111111"));
        assert!(
            lint_text("iam/other/app.json", t, &opts)
                .unwrap()
                .iter()
                .all(|f| f.rule != super::RULE.id)
        );
    }
}
