//! Cross-check of the `iam/*` rules with parliament (Duo Labs' IAM linter) on the fixture
//! corpus of policies modelled on public examples (`tests/fixtures/iam/policies`).
//!
//! Two of parliament's findings map onto vouch rules: `RESOURCE_STAR` ↔
//! `iam/wildcard-resource` and `PRIVILEGE_ESCALATION` ↔ `iam/privilege-escalation`. For
//! each, the files where the two tools disagree must be exactly the explained differences
//! below, so a new disagreement fails the test until it is fixed or explained (the
//! explanations are repeated in docs/iam.md). Needs parliament from
//! `.ci/setup.d/40-policy.sh`; fails, never skips, when it is missing.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use vouch_policy::iam::{IamOptions, lint_text};

const CORPUS: &str = "tests/fixtures/iam/policies";

/// (parliament issue, vouch rule, file, which tool reports it, why they differ)
const EXPLAINED: &[(&str, &str, &str, &str, &str)] = &[
    (
        "RESOURCE_STAR",
        "iam/wildcard-resource",
        "admin-star.json",
        "vouch",
        "parliament skips Resource * when Action is * as well; vouch reports it (the statement does grant writes on *)",
    ),
    (
        "RESOURCE_STAR",
        "iam/wildcard-resource",
        "ec2-describe.json",
        "parliament",
        "vouch reports Resource * only for Write and Permissions-management actions; ec2:Describe* is List/Read",
    ),
    (
        "RESOURCE_STAR",
        "iam/wildcard-resource",
        "not-action-allow.json",
        "parliament",
        "vouch reports Allow+NotAction as iam/not-action-allow instead of expanding it for this rule",
    ),
    (
        "PRIVILEGE_ESCALATION",
        "iam/privilege-escalation",
        "iam-put-role-policy.json",
        "vouch",
        "iam:PutRolePolicy/AttachRolePolicy alone are escalation paths (Rhino Security Labs #9/#10); parliament lists them only as PERMISSIONS_MANAGEMENT_ACTIONS",
    ),
    (
        "PRIVILEGE_ESCALATION",
        "iam/privilege-escalation",
        "not-action-allow.json",
        "vouch",
        "Allow+NotAction iam:* still grants lambda:UpdateFunctionCode and glue:UpdateDevEndpoint; parliament does not expand NotAction",
    ),
];

fn parliament() -> PathBuf {
    let p = std::env::var_os("VOUCH_PARLIAMENT")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            let home = std::env::var_os("HOME")
                .map(PathBuf::from)
                .unwrap_or_default();
            std::env::var_os("VOUCH_POLICY_CACHE")
                .map(PathBuf::from)
                .unwrap_or_else(|| home.join(".cache/vouch-policy"))
                .join("venv/bin/parliament")
        });
    assert!(
        p.exists(),
        "parliament not found at {} (run .ci/setup.d/40-policy.sh)",
        p.display()
    );
    p
}

fn files() -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(CORPUS)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    v.sort();
    v
}

fn name(p: &str) -> String {
    Path::new(p)
        .file_name()
        .unwrap()
        .to_string_lossy()
        .to_string()
}

#[test]
fn agrees_with_parliament_except_where_explained() {
    let out = Command::new(parliament())
        .args([
            "--directory",
            CORPUS,
            "--json",
            "--include-community-auditors",
        ])
        .stdin(Stdio::null())
        .output()
        .expect("run parliament");
    assert!(
        out.status.code().is_some_and(|c| c <= 1),
        "parliament failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut theirs: BTreeMap<&str, BTreeSet<String>> = BTreeMap::new();
    for line in String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| !l.trim().is_empty())
    {
        let f: serde_json::Value = serde_json::from_str(line).expect("parliament JSON line");
        let issue = f["issue"].as_str().unwrap_or_default();
        if let Some(issue) = ["RESOURCE_STAR", "PRIVILEGE_ESCALATION"]
            .into_iter()
            .find(|i| *i == issue)
        {
            theirs
                .entry(issue)
                .or_default()
                .insert(name(f["location"]["filepath"].as_str().unwrap()));
        }
    }
    let mut ours: BTreeMap<&str, BTreeSet<String>> = BTreeMap::new();
    for path in files() {
        let text = std::fs::read_to_string(&path).unwrap();
        for f in lint_text(&path.display().to_string(), &text, &IamOptions::default()).unwrap() {
            for (p_issue, rule) in [
                ("RESOURCE_STAR", "iam/wildcard-resource"),
                ("PRIVILEGE_ESCALATION", "iam/privilege-escalation"),
            ] {
                if f.rule == rule {
                    ours.entry(p_issue)
                        .or_default()
                        .insert(name(&f.location.path));
                }
            }
        }
    }
    let mut differences = BTreeSet::new();
    for issue in ["RESOURCE_STAR", "PRIVILEGE_ESCALATION"] {
        let (t, o) = (
            theirs.remove(issue).unwrap_or_default(),
            ours.remove(issue).unwrap_or_default(),
        );
        assert!(
            !t.is_empty() && !o.is_empty(),
            "{issue}: one tool reported nothing"
        );
        for f in t.difference(&o) {
            differences.insert((issue, f.clone(), "parliament"));
        }
        for f in o.difference(&t) {
            differences.insert((issue, f.clone(), "vouch"));
        }
    }
    let explained: BTreeSet<(&str, String, &str)> = EXPLAINED
        .iter()
        .map(|(i, _, f, who, _)| (*i, f.to_string(), *who))
        .collect();
    assert_eq!(
        differences, explained,
        "unexplained differences with parliament"
    );
}
