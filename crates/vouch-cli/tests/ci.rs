//! `vouch ci audit` and the workflow check of `vouch check`: every exit-code path.

use std::path::Path;

use assert_cmd::Command;
use predicates::prelude::*;

fn vouch() -> Command {
    let mut c = Command::cargo_bin("vouch").expect("binary");
    c.env("VOUCH_TODAY", "2026-06-01").env("NO_COLOR", "1");
    c
}

fn write(root: &Path, rel: &str, text: &str) {
    let p = root.join(rel);
    std::fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
    std::fs::write(p, text).expect("write");
}

const CLEAN: &str = "name: ci
on: [push, pull_request]
permissions:
  contents: read
jobs:
  test:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
      - uses: dtolnay/rust-toolchain@b3b07ba8b418998c39fb20f53e8b695cdcc8de1b # master
      - run: cargo test
";

const BAD: &str = "name: ci
on: pull_request_target
jobs:
  test:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
        with:
          ref: ${{ github.event.pull_request.head.sha }}
      - uses: dtolnay/rust-toolchain@stable
      - run: echo \"${{ github.event.pull_request.title }}\"
";

#[test]
fn clean_repository_exits_0() {
    let dir = tempfile::tempdir().expect("tempdir");
    write(dir.path(), ".github/workflows/ci.yml", CLEAN);
    vouch()
        .args(["ci", "audit"])
        .arg(dir.path())
        .assert()
        .code(0)
        .stdout(predicate::str::contains("1 files scanned"));
}

#[test]
fn findings_exit_1_with_locations() {
    let dir = tempfile::tempdir().expect("tempdir");
    write(dir.path(), ".github/workflows/ci.yml", BAD);
    write(
        dir.path(),
        ".github/actions/x/action.yml",
        "name: x\nruns:\n  using: composite\n  steps:\n    - uses: foo/bar@v1\n",
    );
    let out = vouch()
        .args(["ci", "audit", "--format", "json"])
        .arg(dir.path())
        .assert()
        .code(1)
        .get_output()
        .stdout
        .clone();
    let report: serde_json::Value = serde_json::from_slice(&out).expect("json");
    let found: Vec<(String, String, u64, u64)> = report["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .map(|f| {
            (
                f["rule"].as_str().unwrap_or("").to_string(),
                f["location"]["path"].as_str().unwrap_or("").to_string(),
                f["location"]["line"].as_u64().unwrap_or(0),
                f["location"]["column"].as_u64().unwrap_or(0),
            )
        })
        .collect();
    let want = [
        (
            "workflow/unpinned-action",
            ".github/actions/x/action.yml",
            5,
            13,
        ),
        ("workflow/permissions", ".github/workflows/ci.yml", 2, 1),
        (
            "workflow/dangerous-trigger",
            ".github/workflows/ci.yml",
            9,
            16,
        ),
        (
            "workflow/unpinned-action",
            ".github/workflows/ci.yml",
            10,
            15,
        ),
        (
            "workflow/template-injection",
            ".github/workflows/ci.yml",
            11,
            20,
        ),
    ];
    for (rule, path, line, col) in want {
        assert!(
            found
                .iter()
                .any(|f| f.0 == rule && f.1 == path && f.2 == line && f.3 == col),
            "missing {rule} at {path}:{line}:{col} in {found:?}"
        );
    }
    // a lower threshold can only fail more; a higher one passes on these findings
    vouch()
        .args(["ci", "audit", "--fail-on", "critical"])
        .arg(dir.path().join(".github/actions/x/action.yml"))
        .assert()
        .code(0);
}

#[test]
fn single_files_and_workflow_directories() {
    let dir = tempfile::tempdir().expect("tempdir");
    write(dir.path(), "wf/workflows/a.yml", BAD);
    write(dir.path(), "wf/workflows/b.yml", CLEAN);
    vouch()
        .args(["ci", "audit"])
        .arg(dir.path().join("wf/workflows"))
        .assert()
        .code(1)
        .stdout(predicate::str::contains("a.yml:9:16"))
        .stdout(predicate::str::contains("2 files scanned"));
    vouch()
        .args(["ci", "audit"])
        .arg(dir.path().join("wf/workflows/b.yml"))
        .assert()
        .code(0);
}

#[test]
fn invalid_yaml_exits_2_with_file_line_and_column() {
    let dir = tempfile::tempdir().expect("tempdir");
    write(dir.path(), ".github/workflows/ok.yml", CLEAN);
    write(
        dir.path(),
        ".github/workflows/broken.yml",
        "on: push\njobs:\n  a:\n    steps:\n      - run: \"unterminated\n",
    );
    vouch()
        .args(["ci", "audit"])
        .arg(dir.path())
        .assert()
        .code(2)
        .stdout(predicate::str::is_empty())
        .stderr(predicate::str::is_match(r"error: \.github/workflows/broken\.yml:\d+:\d+: .+ \(GitHub cannot run a workflow that is not valid YAML\)").expect("regex"));
    write(
        dir.path(),
        ".github/workflows/broken.yml",
        "on: push\non: pull_request\n",
    );
    vouch()
        .args(["ci", "audit"])
        .arg(dir.path())
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "broken.yml:2:1: duplicate key `on`",
        ));
}

#[test]
fn usage_errors_exit_2() {
    let dir = tempfile::tempdir().expect("tempdir");
    vouch()
        .args(["ci", "audit"])
        .arg(dir.path().join("missing"))
        .assert()
        .code(2)
        .stderr(predicate::str::contains("cannot read"));
    vouch()
        .args(["ci", "audit"])
        .arg(dir.path())
        .assert()
        .code(2)
        .stderr(predicate::str::contains("no workflow or action files"));
    write(dir.path(), ".github/workflows/ci.yml", CLEAN);
    write(
        dir.path(),
        "vouch.toml",
        "[rules.\"workflow/unpinned-action\"]\nallow_frist_party = false\n",
    );
    vouch()
        .args(["ci", "audit"])
        .arg(dir.path())
        .assert()
        .code(2)
        .stderr(predicate::str::contains("allow_frist_party"));
    write(
        dir.path(),
        "vouch.toml",
        "[workflow]\ndeploy_pattern = []\n",
    );
    vouch()
        .args(["ci", "audit"])
        .arg(dir.path())
        .assert()
        .code(2)
        .stderr(predicate::str::contains("vouch.toml:2"));
    vouch()
        .args(["ci", "audit", "--format", "yaml"])
        .arg(dir.path())
        .assert()
        .code(2);
}

#[test]
fn rule_options_from_vouch_toml() {
    let dir = tempfile::tempdir().expect("tempdir");
    write(dir.path(), ".github/workflows/ci.yml", CLEAN);
    vouch()
        .args(["ci", "audit"])
        .arg(dir.path())
        .assert()
        .code(0);
    write(
        dir.path(),
        "vouch.toml",
        "[rules.\"workflow/unpinned-action\"]\nallow_first_party = false\nseverity = \"high\"\n",
    );
    vouch()
        .args(["ci", "audit"])
        .arg(dir.path())
        .assert()
        .code(1)
        .stdout(predicate::str::contains("actions/checkout@v4"));
}

#[test]
fn exceptions_suppress_findings() {
    let dir = tempfile::tempdir().expect("tempdir");
    write(dir.path(), ".github/workflows/ci.yml", BAD);
    write(
        dir.path(),
        ".vouch/exceptions.yaml",
        "exceptions:\n  - id: EXC-1\n    rule: workflow/*\n    owner: platform@example.com\n    expires: 2026-07-01\n    reason: migrating this workflow in SEC-9\n",
    );
    vouch()
        .args(["ci", "audit"])
        .arg(dir.path())
        .assert()
        .code(0)
        .stdout(predicate::str::contains("suppressed"));
}

#[test]
fn only_exceptions_about_workflow_rules_are_judged() {
    let dir = tempfile::tempdir().expect("tempdir");
    write(dir.path(), ".github/workflows/ci.yml", CLEAN);
    // An exception for another family matches nothing here and is not stale here.
    write(
        dir.path(),
        ".vouch/exceptions.yaml",
        "exceptions:\n  - id: EXC-REG\n    rule: register/ir-rehearsal-overdue\n    owner: sec@example.com\n    expires: 2026-07-01\n    reason: rehearsal booked\n",
    );
    vouch()
        .args(["ci", "audit"])
        .arg(dir.path())
        .assert()
        .code(0)
        .stdout(predicate::str::contains("exception/stale").not());
    // One about a workflow rule that matches nothing is.
    write(
        dir.path(),
        ".vouch/exceptions.yaml",
        "exceptions:\n  - id: EXC-WF\n    rule: workflow/unpinned-action\n    owner: sec@example.com\n    expires: 2026-07-01\n    reason: vendor action\n",
    );
    vouch()
        .args(["ci", "audit"])
        .arg(dir.path())
        .assert()
        .code(0)
        .stdout(predicate::str::contains("exception/stale"));
}

#[test]
fn sarif_output_to_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    write(dir.path(), ".github/workflows/ci.yml", BAD);
    let out = dir.path().join("out.sarif");
    vouch()
        .args(["ci", "audit", "--format", "sarif", "-o"])
        .arg(&out)
        .arg(dir.path())
        .assert()
        .code(1);
    let sarif: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out).expect("written")).expect("json");
    assert_eq!(sarif["version"], "2.1.0");
}

#[test]
fn vouch_check_warns_on_broken_workflow_and_audits_the_rest() {
    let dir = tempfile::tempdir().expect("tempdir");
    write(
        dir.path(),
        "SECURITY.md",
        "report to security@example.com\n",
    );
    write(dir.path(), ".github/workflows/bad.yml", BAD);
    write(dir.path(), ".github/workflows/broken.yml", "on: [push\n");
    let out = vouch()
        .args(["check", "--format", "json"])
        .arg(dir.path())
        .assert()
        .code(1)
        .stderr(predicate::str::contains("broken.yml:"))
        .get_output()
        .stdout
        .clone();
    let report: serde_json::Value = serde_json::from_slice(&out).expect("json");
    let rules: Vec<&str> = report["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .filter_map(|f| f["rule"].as_str())
        .collect();
    assert!(rules.contains(&"workflow/dangerous-trigger"), "{rules:?}");
    let warnings = report["warnings"].to_string();
    assert!(
        warnings.contains("broken.yml") && warnings.contains("not audited"),
        "{warnings}"
    );
}

#[test]
fn explain_lists_workflow_rules() {
    vouch()
        .args(["explain", "workflow/unpinned-action"])
        .assert()
        .code(0)
        .stdout(predicate::str::contains("git ls-remote"));
}
