//! `vouch iam lint` and `vouch iam diff`: every exit code path.

use std::path::{Path, PathBuf};

use assert_cmd::Command;
use predicates::prelude::*;

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../vouch-policy/tests/fixtures/iam")
}

fn vouch() -> Command {
    let mut c = Command::cargo_bin("vouch").unwrap();
    c.current_dir(fixtures()).arg("--color").arg("never");
    c
}

const CONFIG: &str = r#"
[iam]
required_tags = ["owner", "env"]
[iam.environments.prod]
accounts = ["111111111111"]
patterns = ["*prod*"]
[iam.environments.stage]
accounts = ["222222222222"]
patterns = ["*stage*"]
"#;

#[test]
fn clean_policy_passes() {
    vouch()
        .args([
            "iam",
            "lint",
            "policies/s3-readonly.json",
            "policies/kms-decrypt.json",
        ])
        .assert()
        .code(0)
        .stdout(predicate::str::contains("0 findings"));
}

#[test]
fn findings_fail_with_positions() {
    vouch()
        .args(["iam", "lint", "policies/s3-service-star.json"])
        .assert()
        .code(1)
        .stdout(predicate::str::contains("iam/wildcard-action"))
        .stdout(predicate::str::contains("policies/s3-service-star.json:4:"));
}

#[test]
fn fail_on_threshold_applies() {
    // logs-star has only high findings: --fail-on critical passes.
    vouch()
        .args([
            "iam",
            "lint",
            "--fail-on",
            "critical",
            "policies/logs-star.json",
        ])
        .assert()
        .code(0);
}

#[test]
fn templates_and_plans_with_config() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("vouch.toml");
    std::fs::write(&cfg, CONFIG).unwrap();
    let out = vouch()
        .args(["iam", "lint", "--format", "json", "--config"])
        .arg(&cfg)
        .args([
            "cloudformation/app-stage.yaml",
            "cloudformation/bucket-policy.json",
            "terraform/plan.json",
        ])
        .assert()
        .code(1)
        .get_output()
        .stdout
        .clone();
    let report: serde_json::Value = serde_json::from_slice(&out).unwrap();
    let findings = report["findings"].as_array().unwrap();
    let rules: std::collections::BTreeSet<&str> = findings
        .iter()
        .map(|f| f["rule"].as_str().unwrap())
        .collect();
    for r in [
        "iam/cross-environment",
        "iam/missing-tags",
        "iam/not-action-allow",
        "iam/privilege-escalation",
        "iam/public-principal",
        "iam/wildcard-action",
        "iam/wildcard-resource",
    ] {
        assert!(rules.contains(r), "{r} missing from {rules:?}");
    }
    let cross = findings
        .iter()
        .find(|f| {
            f["rule"] == "iam/cross-environment"
                && f["location"]["path"] == "cloudformation/app-stage.yaml"
        })
        .unwrap();
    assert_eq!(cross["location"]["line"], 28);
    assert_eq!(cross["location"]["column"], 27);
}

#[test]
fn bad_config_exits_2() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("vouch.toml");
    std::fs::write(&cfg, "[iam]\nrequired_tag = [\"owner\"]\n").unwrap();
    vouch()
        .args(["iam", "lint", "--config"])
        .arg(&cfg)
        .arg("policies/s3-readonly.json")
        .assert()
        .code(2)
        .stderr(predicate::str::contains("required_tag"));
}

#[test]
fn sarif_output() {
    vouch()
        .args([
            "iam",
            "lint",
            "--format",
            "sarif",
            "policies/bucket-public-read.json",
        ])
        .assert()
        .code(1)
        .stdout(predicate::str::contains("iam/public-principal"))
        .stdout(predicate::str::contains("2.1.0"));
}

#[test]
fn bad_input_exits_2_with_position() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.json");
    std::fs::write(
        &bad,
        "{\n  \"Statement\": [\n    {\"Effect\": \"Allow\",}\n  ]\n}\n",
    )
    .unwrap();
    vouch()
        .args(["iam", "lint"])
        .arg(&bad)
        .assert()
        .code(2)
        .stderr(predicate::str::contains("bad.json:3:24: invalid JSON"));
    let yaml = dir.path().join("t.yaml");
    std::fs::write(&yaml, "Resources:\n  A: [1, 2\n").unwrap();
    vouch()
        .args(["iam", "lint"])
        .arg(&yaml)
        .assert()
        .code(2)
        .stderr(predicate::str::contains("invalid YAML"));
    let other = dir.path().join("other.json");
    std::fs::write(&other, "{\"name\": \"x\"}").unwrap();
    vouch()
        .args(["iam", "lint"])
        .arg(&other)
        .assert()
        .code(2)
        .stderr(predicate::str::contains("not an IAM policy"));
    vouch()
        .args(["iam", "lint", "missing.json"])
        .assert()
        .code(2);
}

#[test]
fn diff_reports_unused_and_proposes_policy() {
    let out = vouch()
        .args([
            "iam",
            "diff",
            "--granted",
            "granted.json",
            "--used",
            "cloudtrail/app.json.gz",
            "--format",
            "json",
        ])
        .assert()
        .code(1)
        .get_output()
        .stdout
        .clone();
    let d: serde_json::Value = serde_json::from_slice(&out).unwrap();
    assert_eq!(d["unused"], serde_json::json!(["s3:PutObject"]));
    assert_eq!(
        d["used"],
        serde_json::json!(["s3:GetObject", "s3:ListBucket"])
    );
    assert_eq!(d["denied"], serde_json::json!(["s3:DeleteObject"]));
    assert_eq!(d["events"], 5);
    insta::assert_json_snapshot!("iam_diff_proposed_policy", d["proposed_policy"]);
}

#[test]
fn diff_text_and_policy_formats() {
    vouch()
        .args([
            "iam",
            "diff",
            "--granted",
            "granted-exact.json",
            "--used",
            "cloudtrail/app.json",
        ])
        .assert()
        .code(0)
        .stdout(predicate::str::contains("0 granted but unused"))
        .stdout(predicate::str::contains("proposed least-privilege policy"));
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("least.json");
    vouch()
        .args([
            "iam",
            "diff",
            "--granted",
            "granted-exact.json",
            "--used",
            "cloudtrail/app.json",
            "--format",
            "policy",
            "-o",
        ])
        .arg(&out)
        .assert()
        .code(0);
    let p: serde_json::Value = serde_json::from_slice(&std::fs::read(&out).unwrap()).unwrap();
    assert_eq!(p["Version"], "2012-10-17");
}

#[test]
fn diff_bad_input_exits_2() {
    let dir = tempfile::tempdir().unwrap();
    let trail = dir.path().join("trail.json");
    std::fs::write(&trail, "{\"Records\": [ {\"eventSource\": 3} ]}").unwrap();
    vouch()
        .args(["iam", "diff", "--granted", "granted.json", "--used"])
        .arg(&trail)
        .assert()
        .code(2)
        .stderr(predicate::str::contains("invalid CloudTrail JSON"));
    vouch()
        .args([
            "iam",
            "diff",
            "--granted",
            "granted.json",
            "--used",
            "cloudtrail/app.json",
            "--format",
            "sarif",
        ])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("unknown --format"));
}
