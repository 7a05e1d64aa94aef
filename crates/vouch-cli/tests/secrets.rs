//! `vouch secrets scan|baseline|inventory` and the secrets check of `vouch check`: every exit
//! code path. Tokens are built at run time (see the corpus README): no literal secret here.

use std::path::Path;
use std::process::Command as StdCommand;

use assert_cmd::Command;
use predicates::prelude::*;

fn token() -> String {
    vouch_secrets::validate::make_crc32_token("ghp_", concat!("Qw3rTy7UiOp", "AsDfGhJkLzXcVbNm123"))
}

fn vouch() -> Command {
    let mut c = Command::cargo_bin("vouch").unwrap();
    c.env("VOUCH_TODAY", "2026-11-01").env_remove("NO_COLOR");
    c
}

fn write(dir: &Path, rel: &str, text: &str) {
    let p = dir.join(rel);
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(p, text).unwrap();
}

fn git(dir: &Path, args: &[&str]) {
    let out = StdCommand::new("git")
        .args([
            "-c",
            "user.name=t",
            "-c",
            "user.email=t@example.test",
            "-c",
            "commit.gpgsign=false",
        ])
        .args(args)
        .current_dir(dir)
        .output()
        .expect("these tests need the `git` binary to build fixture repositories");
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn clean_tree_passes() {
    let d = tempfile::tempdir().unwrap();
    write(
        d.path(),
        "a.py",
        "password = os.environ['PASSWORD']\nkey = 'AKIAIOSFODNN7EXAMPLE'\n",
    );
    vouch()
        .args(["secrets", "scan"])
        .arg(d.path())
        .assert()
        .code(0);
}

#[test]
fn leak_fails_and_is_redacted_in_every_format() {
    let d = tempfile::tempdir().unwrap();
    let t = token();
    write(d.path(), "app.env", &format!("GITHUB_TOKEN={t}\n"));
    for format in ["text", "json", "sarif", "markdown", "html"] {
        vouch()
            .args(["secrets", "scan", "--format", format])
            .arg(d.path())
            .assert()
            .code(1)
            .stdout(predicate::str::contains(&t[4..]).not())
            .stdout(predicate::str::contains("secrets/github-pat"));
    }
    let out = vouch()
        .args(["secrets", "scan", "--color", "never"])
        .arg(d.path())
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("ghp_… (40 chars, sha256:"), "{text}");
    assert!(text.contains("app.env:1:14"), "{text}");
}

#[test]
fn inline_allow_exceptions_and_baseline_suppress() {
    let d = tempfile::tempdir().unwrap();
    let t = token();
    write(
        d.path(),
        "a.env",
        &format!("T={t} # vouch:allow test fixture\n"),
    );
    vouch()
        .args(["secrets", "scan"])
        .arg(d.path())
        .assert()
        .code(0);

    write(d.path(), "a.env", &format!("T={t}\n"));
    write(
        d.path(),
        ".vouch/exceptions.yaml",
        "exceptions:\n  - id: EXC-1\n    rule: secrets/*\n    path: a.env\n    owner: sec@example.test\n    expires: 2026-12-01\n    reason: revoked, tracked in SEC-1\n",
    );
    vouch()
        .args(["secrets", "scan"])
        .arg(d.path())
        .assert()
        .code(0);
    std::fs::remove_file(d.path().join(".vouch/exceptions.yaml")).unwrap();

    let b = d.path().join("baseline.json");
    vouch()
        .args(["secrets", "baseline"])
        .arg(d.path())
        .arg("-o")
        .arg(&b)
        .assert()
        .code(0);
    let baseline = std::fs::read_to_string(&b).unwrap();
    assert!(!baseline.contains(&t[4..]));
    vouch()
        .args(["secrets", "scan", "--baseline"])
        .arg(&b)
        .arg(d.path())
        .assert()
        .code(0);
    // A new secret is not covered by the old baseline.
    write(d.path(), "b.env", &format!("U={t}\n"));
    vouch()
        .args(["secrets", "scan", "--baseline"])
        .arg(&b)
        .arg(d.path())
        .assert()
        .code(1);
}

#[test]
fn bad_input_exits_2() {
    let d = tempfile::tempdir().unwrap();
    vouch()
        .args(["secrets", "scan"])
        .arg(d.path().join("missing"))
        .assert()
        .code(2)
        .stderr(predicate::str::contains("no such file"));
    write(d.path(), "bad.json", "{");
    vouch()
        .args(["secrets", "scan", "--baseline"])
        .arg(d.path().join("bad.json"))
        .arg(d.path())
        .assert()
        .code(2)
        .stderr(predicate::str::starts_with("error: ").and(predicate::str::contains("bad.json:")));
    write(
        d.path(),
        ".vouch/exceptions.yaml",
        "exceptions:\n  - id: A\n    rule: secrets/*\n",
    );
    vouch()
        .args(["secrets", "scan"])
        .arg(d.path())
        .assert()
        .code(2);
    vouch()
        .args(["secrets", "scan", "--format", "yaml"])
        .arg(d.path())
        .assert()
        .code(2);
    vouch()
        .args(["secrets", "scan", "--staged"])
        .arg(d.path())
        .assert()
        .code(2)
        .stderr(predicate::str::contains("git"));
    write(
        d.path(),
        "vouch.toml",
        "[secrets]\nbase64 = true\nmax_dept = 2\n",
    );
    std::fs::remove_file(d.path().join(".vouch/exceptions.yaml")).unwrap();
    vouch()
        .args(["secrets", "scan"])
        .arg(d.path())
        .assert()
        .code(2)
        .stderr(predicate::str::contains("vouch.toml:3"));
}

#[test]
fn git_history_and_staged() {
    let d = tempfile::tempdir().unwrap();
    let p = d.path();
    let t = token();
    git(p, &["init", "-q", "-b", "main"]);
    write(p, "README.md", "hello\n");
    git(p, &["add", "."]);
    git(p, &["commit", "-qm", "init"]);
    write(p, "config/app.env", &format!("GITHUB_TOKEN={t}\n"));
    git(p, &["add", "."]);
    git(p, &["commit", "-qm", "add config"]);
    write(p, "copy.env", &format!("GITHUB_TOKEN={t}\n"));
    std::fs::remove_file(p.join("config/app.env")).unwrap();
    git(p, &["add", "-A"]);
    git(p, &["commit", "-qm", "move config"]);
    std::fs::remove_file(p.join("copy.env")).unwrap();
    git(p, &["add", "-A"]);
    git(p, &["commit", "-qm", "remove secret"]);
    git(p, &["tag", "base"]);

    // The working tree is clean; history is not.
    vouch().args(["secrets", "scan"]).arg(p).assert().code(0);
    let out = vouch()
        .args(["secrets", "scan", "--git", "--format", "json"])
        .arg(p)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let findings = report["findings"].as_array().unwrap();
    assert_eq!(findings.len(), 1, "one blob, scanned once: {report}");
    let f = &findings[0];
    assert_eq!(f["properties"]["in_head"], false);
    let sites = f["properties"]["commits"].as_array().unwrap();
    let paths: Vec<&str> = sites.iter().map(|s| s["path"].as_str().unwrap()).collect();
    assert_eq!(paths, ["config/app.env", "copy.env"]);
    assert!(f["message"].as_str().unwrap().contains("no longer in HEAD"));
    assert!(!String::from_utf8_lossy(&out.stdout).contains(&t[4..]));

    // Pre-push: nothing new since `base`.
    vouch()
        .args(["secrets", "scan", "--git", "--since", "base"])
        .arg(p)
        .assert()
        .code(0);
    vouch()
        .args(["secrets", "scan", "--git", "--since", "no-such-rev"])
        .arg(p)
        .assert()
        .code(2);

    // Pre-commit: only what is staged.
    vouch()
        .args(["secrets", "scan", "--staged"])
        .arg(p)
        .assert()
        .code(0);
    write(p, "new.env", &format!("T={t}\n"));
    vouch()
        .args(["secrets", "scan", "--staged"])
        .arg(p)
        .assert()
        .code(0);
    git(p, &["add", "new.env"]);
    vouch()
        .args(["secrets", "scan", "--staged"])
        .arg(p)
        .assert()
        .code(1)
        .stdout(predicate::str::contains("new.env"));
}

#[test]
fn inventory_register_and_check() {
    let d = tempfile::tempdir().unwrap();
    let p = d.path();
    vouch()
        .args(["secrets", "inventory"])
        .arg(p)
        .assert()
        .code(2)
        .stderr(predicate::str::contains("secrets.yaml"));
    write(
        p,
        ".vouch/secrets.yaml",
        "secrets:\n  - name: STRIPE_API_KEY\n    scope: prod\n    storage: vault\n    rotation: 90 days\n    access: [payments]\n    owner: payments@example.test\n    last_rotated: 2026-01-15\n    audit_log: https://audit.example.test\n  - name: OTA_SIGN_KEY\n    scope: prod\n    storage: HSM\n",
    );
    vouch()
        .args(["secrets", "inventory"])
        .arg(p)
        .assert()
        .code(0);
    let csv = std::fs::read_to_string(p.join("security/secrets.csv")).unwrap();
    assert!(
        csv.starts_with(
            "Secret,Scope,StorageMethod,RotationPolicy,AccessRoles,LastRotated,AuditLog,Owner\n"
        ),
        "{csv}"
    );
    assert!(csv.contains("STRIPE_API_KEY,prod,vault,90 days,payments,2026-01-15,https://audit.example.test,payments@example.test"));
    let out = vouch()
        .args(["check", "--format", "json"])
        .arg(p)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let rules: Vec<&str> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["rule"].as_str().unwrap())
        .collect();
    assert!(rules.contains(&"secrets/rotation-overdue"), "{rules:?}");
    assert!(rules.contains(&"secrets/inventory-no-owner"), "{rules:?}");
    assert!(
        rules.contains(&"secrets/inventory-no-rotation-policy"),
        "{rules:?}"
    );
    write(
        p,
        ".vouch/secrets.yaml",
        "secrets:\n  - name: A\n    last_rotated: yesterday\n",
    );
    vouch()
        .args(["secrets", "inventory"])
        .arg(p)
        .assert()
        .code(2)
        .stderr(predicate::str::contains("secrets.yaml:3"));
}

#[test]
fn vouch_check_reports_secrets_and_explains_rules() {
    let d = tempfile::tempdir().unwrap();
    write(d.path(), "SECURITY.md", "report to sec@example.test\n");
    write(d.path(), "a.env", &format!("T={}\n", token()));
    vouch()
        .arg("check")
        .arg(d.path())
        .assert()
        .code(1)
        .stdout(predicate::str::contains("secrets/github-pat"));
    vouch()
        .args(["explain", "secrets/github-pat"])
        .assert()
        .code(0)
        .stdout(predicate::str::contains("checksum"));
}
