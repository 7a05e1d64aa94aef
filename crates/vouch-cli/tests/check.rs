//! `vouch check`: exit codes, the four report formats (snapshots), exceptions, determinism,
//! fingerprint stability and malformed inputs.

use std::fs;
use std::path::Path;

use assert_cmd::Command;
use predicates::prelude::*;

/// A fixed "today" so expiry decisions and snapshots do not drift.
const TODAY: &str = "2026-11-24";

fn vouch(dir: &Path) -> Command {
    let mut c = Command::cargo_bin("vouch").expect("vouch binary");
    c.current_dir(dir)
        .env("VOUCH_TODAY", TODAY)
        .env_remove("NO_COLOR");
    c
}

fn write(dir: &Path, rel: &str, text: &str) {
    let p = dir.join(rel);
    fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
    fs::write(p, text).expect("write");
}

/// A small repository with one finding of each kind the foundation has: no SECURITY.md (info),
/// an expired exception (high), a stale one (low) and one that expires too far out (medium).
fn fixture() -> tempfile::TempDir {
    let d = tempfile::tempdir().expect("tempdir");
    write(d.path(), "app.py", "print('hi')\n");
    // Only the foundation's own check, so the snapshots do not change as capabilities land.
    write(d.path(), "vouch.toml", "[checks]\nenable = [\"repo\"]\n");
    write(
        d.path(),
        ".vouch/exceptions.yaml",
        "exceptions:\n\
         \x20 - id: EXC-1\n    rule: repo/security-md\n    owner: sec@example.com\n    expires: 2026-01-31\n    reason: policy being written, SEC-7\n\
         \x20 - id: EXC-2\n    rule: secrets/*\n    path: tests/**\n    owner: sec@example.com\n    expires: 2026-12-31\n    reason: test fixtures\n\
         \x20 - id: EXC-3\n    rule: workflow/*\n    owner: platform@example.com\n    expires: 2027-12-31\n    reason: migration\n",
    );
    d
}

#[test]
fn clean_repository_passes_with_exit_0() {
    let d = tempfile::tempdir().unwrap();
    write(d.path(), "SECURITY.md", "Report to security@example.com\n");
    vouch(d.path())
        .args(["check", "."])
        .assert()
        .code(0)
        .stdout(predicate::str::contains("passed"));
}

#[test]
fn info_findings_do_not_fail_by_default_but_do_with_fail_on_info() {
    let d = tempfile::tempdir().unwrap();
    write(d.path(), "a.txt", "x");
    vouch(d.path()).args(["check", "."]).assert().code(0);
    vouch(d.path())
        .args(["check", ".", "--fail-on", "info"])
        .assert()
        .code(1);
    write(d.path(), "vouch.toml", "fail_on = \"info\"\n");
    vouch(d.path()).args(["check", "."]).assert().code(1);
    vouch(d.path())
        .args(["check", ".", "--fail-on", "critical"])
        .assert()
        .code(0);
}

#[test]
fn expired_exception_fails_with_exit_1() {
    let d = fixture();
    vouch(d.path())
        .args(["check", "."])
        .assert()
        .code(1)
        .stdout(
            predicate::str::contains("exception/expired")
                .and(predicate::str::contains("EXC-1 expired on 2026-01-31")),
        );
}

#[test]
fn bad_input_exits_2_with_file_and_line() {
    let d = tempfile::tempdir().unwrap();
    write(
        d.path(),
        ".vouch/exceptions.yaml",
        "exceptions:\n  - id: EXC-1\n    rule: x\n    reason: r\n",
    );
    vouch(d.path())
        .args(["check", "."])
        .assert()
        .code(2)
        .stderr(
            predicate::str::contains("error: ").and(predicate::str::contains(
                ".vouch/exceptions.yaml:2: exception is missing `owner`",
            )),
        );

    write(
        d.path(),
        ".vouch/exceptions.yaml",
        "exceptions:\n  - id: EXC-1\n    rule: x\n    owner: o\n    expires: 31/12/2026\n    reason: r\n",
    );
    vouch(d.path())
        .args(["check", "."])
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            ":5: `expires: 31/12/2026` is not a date",
        ));

    fs::remove_file(d.path().join(".vouch/exceptions.yaml")).unwrap();
    write(
        d.path(),
        "vouch.toml",
        "[checks]\ndisable = [\"secrets\"]\nfail-on = \"low\"\n",
    );
    vouch(d.path())
        .args(["check", "."])
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "vouch.toml:3:1: unknown field `fail-on`",
        ));

    vouch(d.path())
        .args(["check", ".", "--config", "missing.toml"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("missing.toml"));
    vouch(d.path())
        .args(["check", "no-such-dir"])
        .assert()
        .code(2);
    vouch(d.path())
        .args(["check", ".", "--format", "yaml"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("sarif"));
    vouch(d.path())
        .args(["check", ".", "--fail-on", "severe"])
        .assert()
        .code(2);
    vouch(d.path()).args(["no-such-command"]).assert().code(2);
}

#[test]
fn help_and_version_exit_0() {
    let d = tempfile::tempdir().unwrap();
    vouch(d.path())
        .arg("--help")
        .assert()
        .code(0)
        .stdout(predicate::str::contains("Exit codes"));
    vouch(d.path())
        .arg("--version")
        .assert()
        .code(0)
        .stdout(predicate::str::starts_with("vouch "));
    vouch(d.path())
        .args(["completions", "bash"])
        .assert()
        .code(0)
        .stdout(predicate::str::contains("vouch"));
    vouch(d.path())
        .args(["explain", "repo/security-md"])
        .assert()
        .code(0)
        .stdout(predicate::str::contains("SECURITY.md"));
    vouch(d.path())
        .args(["explain", "repo/security-mb"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("did you mean `repo/security-md`?"));
}

#[test]
fn exceptions_list_shows_days_left() {
    let d = fixture();
    vouch(d.path())
        .args(["exceptions", "list"])
        .assert()
        .code(0)
        .stdout(
            predicate::str::contains("expired 297 days ago")
                .and(predicate::str::contains("37 days left")),
        );
}

fn render(dir: &Path, format: &str) -> String {
    let out = vouch(dir)
        .args(["check", ".", "--format", format])
        .output()
        .expect("run");
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("utf-8")
}

#[test]
fn snapshots_of_every_format() {
    let d = fixture();
    for format in ["text", "json", "sarif", "markdown", "html"] {
        let mut settings = insta::Settings::clone_current();
        settings.add_filter(r#""version": "\d+\.\d+\.\d+""#, r#""version": "[version]""#);
        settings.add_filter(
            r#""semanticVersion": "\d+\.\d+\.\d+""#,
            r#""semanticVersion": "[version]""#,
        );
        settings.add_filter(r"vouch \d+\.\d+\.\d+", "vouch [version]");
        settings
            .bind(|| insta::assert_snapshot!(format!("check_{format}"), render(d.path(), format)));
    }
}

#[test]
fn output_is_deterministic_and_written_atomically() {
    let d = fixture();
    for format in ["text", "json", "sarif", "markdown", "html"] {
        assert_eq!(
            render(d.path(), format),
            render(d.path(), format),
            "{format} differs between runs"
        );
    }
    vouch(d.path())
        .args(["check", ".", "--format", "json", "-o", "report.json"])
        .assert()
        .code(1)
        .stdout("");
    let json: serde_json::Value =
        serde_json::from_slice(&fs::read(d.path().join("report.json")).unwrap()).unwrap();
    assert_eq!(json["schema_version"], 1);
    // A failed write leaves nothing behind.
    vouch(d.path())
        .args(["check", ".", "-o", "no/such/dir/r.txt"])
        .assert()
        .code(2);
    assert!(!d.path().join("no").exists());
}

fn fingerprints(dir: &Path) -> Vec<(String, String, u64)> {
    let out = vouch(dir)
        .args(["check", ".", "--format", "json"])
        .output()
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["rule"].as_str().unwrap().to_string(),
                f["fingerprint"].as_str().unwrap().to_string(),
                f["location"]["line"].as_u64().unwrap_or(0),
            )
        })
        .collect()
}

#[test]
fn fingerprints_survive_lines_inserted_above() {
    let d = fixture();
    let before = fingerprints(d.path());
    let path = d.path().join(".vouch/exceptions.yaml");
    let text = fs::read_to_string(&path).unwrap();
    fs::write(
        &path,
        format!("# accepted risks\n# reviewed monthly\n\n{text}"),
    )
    .unwrap();
    let after = fingerprints(d.path());
    assert_eq!(before.len(), after.len());
    for (b, a) in before.iter().zip(&after) {
        assert_eq!((&b.0, &b.1), (&a.0, &a.1), "fingerprint changed");
        if b.2 > 0 {
            assert_eq!(a.2, b.2 + 3, "line should move by 3");
        }
    }
}

#[test]
fn malformed_files_never_crash_the_walk() {
    let d = tempfile::tempdir().unwrap();
    write(d.path(), "SECURITY.md", "x");
    fs::write(d.path().join("binary.bin"), [0u8, 159, 146, 150, 0, 1, 2]).unwrap();
    fs::write(d.path().join("latin1.txt"), [0xe9u8, 0xe8, 0x0a, 0xff]).unwrap();
    fs::write(d.path().join("empty"), b"").unwrap();
    let mut deep = d.path().to_path_buf();
    for i in 0..120 {
        deep = deep.join(format!("d{i}"));
    }
    fs::create_dir_all(&deep).unwrap();
    fs::write(deep.join("leaf.txt"), "leaf").unwrap();
    #[cfg(unix)]
    {
        std::os::unix::fs::symlink(d.path(), d.path().join("loop")).unwrap();
        std::os::unix::fs::symlink("/nonexistent/target", d.path().join("dangling")).unwrap();
    }
    let out = vouch(d.path())
        .args(["check", ".", "--format", "json"])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(v["files_scanned"].as_u64().unwrap() >= 5);
}
