//! `iam/missing-tags`: IAM roles, users and managed policies without the tags `vouch.toml`
//! requires (`[iam] required_tags`).

use vouch_core::{Finding, Location, Rule, Severity};

use crate::iam::{IamFile, IamOptions};

pub const RULE: Rule = Rule {
    id: "iam/missing-tags",
    severity: Severity::Medium,
    summary: "An IAM role, user or managed policy lacks tags required by vouch.toml",
    help: "Add the tags listed in `[iam] required_tags` (for example `owner` and `env`) so every \
identity has an accountable owner and a known environment. The rule is off until \
`required_tags` is set.",
    references: &["https://docs.aws.amazon.com/IAM/latest/UserGuide/id_tags.html"],
};

pub fn check(file: &IamFile, options: &IamOptions, out: &mut Vec<Finding>) {
    if options.required_tags.is_empty() {
        return;
    }
    for res in &file.resources {
        let missing: Vec<&str> = options
            .required_tags
            .iter()
            .filter(|t| !res.tags.iter().any(|have| have.eq_ignore_ascii_case(t)))
            .map(String::as_str)
            .collect();
        if missing.is_empty() {
            continue;
        }
        out.push(
            Finding::new(
                &RULE,
                Location::at(&file.path, res.region),
                format!(
                    "{} ({}) is missing required tag(s): {}",
                    res.owner,
                    res.resource_type,
                    missing.join(", ")
                ),
                &format!("{}|{}", res.owner, missing.join(",")),
            )
            .with_annotation(format!("missing {}", missing.join(", "))),
        );
    }
}

#[cfg(test)]
mod tests {
    use crate::iam::{IamOptions, lint_text};

    #[test]
    fn required_tags() {
        let t = "Resources:\n  R:\n    Type: AWS::IAM::Role\n    Properties:\n      Tags:\n        - Key: owner\n          Value: x\n";
        let opts = IamOptions {
            required_tags: vec!["owner".into(), "env".into()],
            ..IamOptions::default()
        };
        let f = lint_text("t.yaml", t, &opts).unwrap();
        assert_eq!(f.len(), 1);
        assert!(f[0].message.contains("env"));
        assert_eq!(f[0].location.line(), Some(2));
        assert!(
            lint_text("t.yaml", t, &IamOptions::default())
                .unwrap()
                .is_empty()
        );
    }
}
