//! `vouch policy test`: conftest-compatible output and every exit code path.

use std::path::{Path, PathBuf};

use assert_cmd::Command;
use predicates::prelude::*;

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../vouch-policy/tests/fixtures/rego")
}

fn vouch() -> Command {
    let mut c = Command::cargo_bin("vouch").unwrap();
    c.current_dir(fixtures()).arg("--color").arg("never");
    c
}

#[test]
fn passing_input_exits_0() {
    vouch()
        .args([
            "policy",
            "test",
            "--policy",
            "policy/basic",
            "inputs/deploy-ok.yaml",
        ])
        .assert()
        .code(0)
        .stdout("5 tests, 5 passed, 0 warnings, 0 failures, 0 exceptions\n");
}

#[test]
fn conftest_text_output() {
    let out = vouch()
        .args([
            "policy",
            "test",
            "-p",
            "policy/basic",
            "inputs/deploy.yaml",
            "inputs/privileged.json",
        ])
        .assert()
        .code(1)
        .get_output()
        .stdout
        .clone();
    insta::assert_snapshot!("policy_test_text", String::from_utf8(out).unwrap());
}

#[test]
fn warnings_alone_pass() {
    let dir = tempfile::tempdir().unwrap();
    let svc = dir.path().join("svc.yaml");
    std::fs::write(
        &svc,
        "kind: Service\nmetadata:\n  name: s\n  labels: {app: s}\nspec:\n  type: LoadBalancer\n",
    )
    .unwrap();
    vouch()
        .args(["policy", "test", "--policy", "policy/basic"])
        .arg(&svc)
        .assert()
        .code(0)
        .stdout(predicate::str::contains("WARN - "));
}

#[test]
fn namespaces_data_and_formats() {
    vouch()
        .args([
            "policy",
            "test",
            "--policy",
            "policy/namespaces",
            "--namespace",
            "docker",
            "inputs/Dockerfile",
        ])
        .assert()
        .code(1)
        .stdout(predicate::str::contains(
            "FAIL - inputs/Dockerfile - docker - containers must not run as root",
        ));
    vouch()
        .args([
            "policy",
            "test",
            "--policy",
            "policy/namespaces",
            "--all-namespaces",
            "inputs/main.tf",
        ])
        .assert()
        .code(1)
        .stdout(predicate::str::contains(
            "terraform - bucket site is public",
        ));
    vouch()
        .args([
            "policy",
            "test",
            "--policy",
            "policy/data",
            "--data",
            "data/registries.yaml",
            "inputs/pods.yaml",
        ])
        .assert()
        .code(1)
        .stdout(predicate::str::contains("docker.io/library/nginx:1.27"));
    vouch()
        .args([
            "policy",
            "test",
            "--policy",
            "policy/formats",
            "inputs/server.ini",
            "inputs/app.env",
            "inputs/server.toml",
        ])
        .assert()
        .code(1)
        .stdout(predicate::str::contains("DB_PASSWORD holds a password"));
}

#[test]
fn combine_sees_every_file() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("combine.rego"),
        "package main\n\nimport rego.v1\n\ndeny contains msg if {\n\tcount(input) != 2\n\tmsg := \"expected two files\"\n}\n\ndeny contains msg if {\n\tsome f in input\n\tf.contents.kind == \"Service\"\n\tnot f.contents.metadata.labels.app\n\tmsg := sprintf(\"%s: service without app label\", [f.path])\n}\n",
    )
    .unwrap();
    vouch()
        .args(["policy", "test", "--combine", "--policy"])
        .arg(dir.path())
        .args(["inputs/deploy-ok.yaml", "inputs/privileged.json"])
        .assert()
        .code(0)
        .stdout(predicate::str::contains("2 tests, 2 passed"));
}

#[test]
fn json_and_conftest_formats() {
    let out = vouch()
        .args([
            "policy",
            "test",
            "--format",
            "conftest",
            "-p",
            "policy/basic",
            "inputs/privileged.json",
        ])
        .assert()
        .code(1)
        .get_output()
        .stdout
        .clone();
    let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
    assert_eq!(v[0]["failures"][0]["msg"], "container shell is privileged");
    let out = vouch()
        .args([
            "policy",
            "test",
            "--format",
            "json",
            "-p",
            "policy/basic",
            "inputs/privileged.json",
        ])
        .assert()
        .code(1)
        .get_output()
        .stdout
        .clone();
    let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
    assert_eq!(v["findings"][0]["rule"], "rego/main.deny_privileged");
    assert_eq!(v["findings"][0]["severity"], "high");
    vouch()
        .args([
            "policy",
            "test",
            "--format",
            "sarif",
            "-p",
            "policy/basic",
            "inputs/privileged.json",
        ])
        .assert()
        .code(1)
        .stdout(predicate::str::contains("2.1.0"));
}

#[test]
fn bad_rego_exits_2_with_position() {
    vouch()
        .args([
            "policy",
            "test",
            "--policy",
            "policy/broken",
            "inputs/deploy-ok.yaml",
        ])
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "policy/broken/bad.rego:6:9: invalid Rego",
        ));
}

#[test]
fn bad_input_exits_2_with_position() {
    vouch()
        .args([
            "policy",
            "test",
            "--policy",
            "policy/basic",
            "inputs/broken.yaml",
        ])
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "inputs/broken.yaml:4:1: invalid YAML",
        ));
}

#[test]
fn runtime_error_names_the_rule() {
    vouch()
        .args([
            "policy",
            "test",
            "--policy",
            "policy/runtime",
            "inputs/runtime.json",
        ])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("rule data.main.deny"));
}

#[test]
fn usage_errors_exit_2() {
    vouch()
        .args(["policy", "test", "--policy", "nope", "inputs/deploy.yaml"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("policy directory not found"));
    vouch()
        .args([
            "policy",
            "test",
            "--policy",
            "policy/basic",
            "--namespace",
            "x",
            "--all-namespaces",
            "inputs/deploy.yaml",
        ])
        .assert()
        .code(2);
    vouch()
        .args([
            "policy",
            "test",
            "--policy",
            "policy/basic",
            "--format",
            "yaml",
            "inputs/deploy.yaml",
        ])
        .assert()
        .code(2);
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(entry.path(), to.join(entry.file_name())).unwrap();
    }
}

#[test]
fn vouch_check_runs_repository_policies_and_iam() {
    let repo = tempfile::tempdir().unwrap();
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    copy_dir(&root.join("policy"), &repo.path().join("policy"));
    let lib = fixtures().join("library");
    std::fs::create_dir_all(repo.path().join("k8s")).unwrap();
    std::fs::copy(
        lib.join("deployment-bad.yaml"),
        repo.path().join("k8s/web.yaml"),
    )
    .unwrap();
    std::fs::create_dir_all(repo.path().join("iam")).unwrap();
    std::fs::copy(
        lib.join("admin-star.json"),
        repo.path().join("iam/admin.json"),
    )
    .unwrap();
    let out = Command::cargo_bin("vouch")
        .unwrap()
        .args(["check", "--format", "json"])
        .arg(repo.path())
        .assert()
        .code(1)
        .get_output()
        .stdout
        .clone();
    let report: serde_json::Value = serde_json::from_slice(&out).unwrap();
    let rules: Vec<(&str, &str)> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["rule"].as_str().unwrap(),
                f["location"]["path"].as_str().unwrap(),
            )
        })
        .collect();
    assert!(
        rules.contains(&("rego/main.deny_k8s_privileged", "k8s/web.yaml")),
        "{rules:?}"
    );
    assert!(
        rules.contains(&("rego/main.deny_iam_admin", "iam/admin.json")),
        "{rules:?}"
    );
    assert!(
        rules.contains(&("iam/wildcard-action", "iam/admin.json")),
        "{rules:?}"
    );
    assert!(
        report["checks"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c == "policy")
    );

    // A policy that does not parse is bad input for `vouch check` too.
    std::fs::write(
        repo.path().join("policy/broken.rego"),
        "package main\n\ndeny contains msg if {\n",
    )
    .unwrap();
    Command::cargo_bin("vouch")
        .unwrap()
        .arg("check")
        .arg(repo.path())
        .assert()
        .code(2)
        .stderr(predicate::str::contains("broken.rego"));
}

#[test]
fn vouch_check_without_policy_dir_skips_rego() {
    let repo = tempfile::tempdir().unwrap();
    std::fs::write(repo.path().join("app.yaml"), "kind: Deployment\n").unwrap();
    Command::cargo_bin("vouch")
        .unwrap()
        .args(["check", "--format", "json"])
        .arg(repo.path())
        .assert()
        .stdout(predicate::str::contains("rego/").not());
}
