//! The first hour of a new user (issue 21): vouch's secrets stay out of commits, one problem is
//! one finding, `vouch … | head` ends quietly, `gate init` writes a policy the gate reads, and
//! what users of cosign, syft, gitleaks and conftest type is understood or refused helpfully.

use std::io::Read;
use std::path::Path;
use std::process::{Command as Std, Stdio};

use assert_cmd::Command;
use predicates::prelude::*;
use serde_json::Value;

fn vouch(dir: &Path) -> Command {
    let mut c = Command::cargo_bin("vouch").unwrap();
    c.current_dir(dir)
        .env("VOUCH_PASSWORD", "first-hour")
        .env("NO_COLOR", "1")
        .env("VOUCH_TODAY", "2026-06-01")
        .env_remove("VOUCH_DB");
    c
}

fn git_repo() -> tempfile::TempDir {
    let t = tempfile::tempdir().unwrap();
    std::fs::create_dir(t.path().join(".git")).unwrap();
    t
}

// ---- safe by default -----------------------------------------------------------------------

#[test]
fn key_generate_in_a_work_tree_ignores_the_private_key() {
    let t = git_repo();
    vouch(t.path())
        .args(["key", "generate", "--output-key-prefix", "release"])
        .assert()
        .success()
        .stderr(predicate::str::contains("added /release.key to .gitignore"));
    let ignore = std::fs::read_to_string(t.path().join(".gitignore")).unwrap();
    assert!(ignore.lines().any(|l| l == "/release.key"), "{ignore}");
    assert!(
        !ignore.contains("release.pub"),
        "the public key stays committable"
    );
    // Idempotent: a second key with the same name adds nothing.
    vouch(t.path())
        .args([
            "key",
            "generate",
            "--output-key-prefix",
            "release",
            "--force",
        ])
        .assert()
        .success();
    let again = std::fs::read_to_string(t.path().join(".gitignore")).unwrap();
    assert_eq!(again, ignore);
}

#[test]
fn key_generate_keeps_an_existing_gitignore() {
    let t = git_repo();
    std::fs::write(t.path().join(".gitignore"), "target").unwrap();
    vouch(t.path())
        .args(["key", "generate", "--output-key-prefix", "k"])
        .assert()
        .success();
    let ignore = std::fs::read_to_string(t.path().join(".gitignore")).unwrap();
    assert!(ignore.starts_with("target\n# written by vouch"), "{ignore}");
    assert!(ignore.ends_with("/k.key\n"), "{ignore}");
}

#[test]
fn outside_a_work_tree_no_gitignore_is_written() {
    let t = tempfile::tempdir().unwrap();
    vouch(t.path())
        .args(["key", "generate", "--output-key-prefix", "k"])
        .assert()
        .success();
    assert!(!t.path().join(".gitignore").exists());
}

#[test]
fn log_init_and_db_build_ignore_their_key_and_database() {
    let t = git_repo();
    vouch(t.path())
        .args([
            "log",
            "init",
            "--origin",
            "example.com/log",
            "--dir",
            ".vouch/log",
        ])
        .assert()
        .success();
    let ignore = std::fs::read_to_string(t.path().join(".vouch/.gitignore")).unwrap();
    assert!(ignore.lines().any(|l| l == "/log.key"), "{ignore}");

    let osv = t.path().join("osv");
    std::fs::create_dir(&osv).unwrap();
    std::fs::write(
        osv.join("GHSA-1.json"),
        r#"{"id":"GHSA-1","modified":"2025-01-01T00:00:00Z","affected":[{"package":{"ecosystem":"npm","name":"x"},"ranges":[{"type":"SEMVER","events":[{"introduced":"0"},{"fixed":"1.0.0"}]}]}]}"#,
    )
    .unwrap();
    vouch(t.path())
        .args(["db", "build", "osv", "-o", ".vouch/osv.db"])
        .assert()
        .success();
    let ignore = std::fs::read_to_string(t.path().join(".vouch/.gitignore")).unwrap();
    assert!(ignore.lines().any(|l| l == "/osv.db"), "{ignore}");

    // `vouch check` walks none of it: no size warnings about vouch's own state.
    let out = vouch(t.path())
        .args(["check", ".", "--format", "json"])
        .output()
        .unwrap();
    assert!(
        matches!(out.status.code(), Some(0 | 1)),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    let warnings = report["warnings"].as_array().cloned().unwrap_or_default();
    assert!(
        !warnings
            .iter()
            .any(|w| w.as_str().unwrap_or("").contains(".vouch/")),
        "{warnings:?}"
    );
}

#[test]
fn a_leaked_key_in_a_register_is_one_finding() {
    let t = tempfile::tempdir().unwrap();
    // An unencrypted key (an encrypted one is a low-severity finding of its own rule).
    vouch(t.path())
        .env("VOUCH_PASSWORD", "")
        .args(["key", "generate", "--output-key-prefix", "release"])
        .assert()
        .success();
    vouch(t.path())
        .args(["register", "sync"])
        .assert()
        .success();
    let out = vouch(t.path())
        .args(["check", ".", "--format", "json"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    let about_the_key: Vec<&Value> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| {
            let rule = f["rule"].as_str().unwrap();
            rule.starts_with("secrets/") || rule.starts_with("register/secret")
        })
        .collect();
    assert_eq!(about_the_key.len(), 1, "{about_the_key:#?}");
    let f = about_the_key[0];
    assert_eq!(f["rule"], "secrets/private-key");
    assert!(
        f["message"]
            .as_str()
            .unwrap()
            .ends_with("recorded in security/secrets.csv:2"),
        "{f}"
    );
}

#[test]
fn broken_pipe_ends_quietly_with_the_usual_status() {
    let t = tempfile::tempdir().unwrap();
    vouch(t.path())
        .env("VOUCH_PASSWORD", "")
        .args(["key", "generate", "--output-key-prefix", "leaked"])
        .assert()
        .success();
    for (args, code) in [
        (vec!["completions", "bash"], 0),
        (vec!["check", ".", "--format", "json"], 1),
    ] {
        let mut child = Std::new(assert_cmd::cargo::cargo_bin("vouch"))
            .args(&args)
            .current_dir(t.path())
            .env("NO_COLOR", "1")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        // The reader goes away before vouch writes (`vouch … | head -0`).
        drop(child.stdout.take());
        let mut stderr = String::new();
        child
            .stderr
            .take()
            .unwrap()
            .read_to_string(&mut stderr)
            .unwrap();
        let status = child.wait().unwrap();
        assert_eq!(status.code(), Some(code), "{args:?}: {stderr}");
        assert!(!stderr.contains("error"), "{args:?}: {stderr}");
        assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
    }
}

#[test]
fn gate_init_writes_a_policy_the_gate_reads() {
    let t = tempfile::tempdir().unwrap();
    vouch(t.path())
        .args(["gate", "init", "--key", "release.pub"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("release.pub: no such file"));
    vouch(t.path())
        .args(["key", "generate", "--output-key-prefix", "release"])
        .assert()
        .success();
    std::fs::create_dir(t.path().join("deploy")).unwrap();
    vouch(t.path())
        .args([
            "gate",
            "init",
            "--key",
            "release.pub",
            "-o",
            "deploy/gate.yaml",
        ])
        .assert()
        .success();
    let text = std::fs::read_to_string(t.path().join("deploy/gate.yaml")).unwrap();
    assert!(
        text.contains("- \"../release.pub\""),
        "relative to the policy: {text}"
    );
    assert!(text.contains("# freeze:"), "commented knobs: {text}");
    vouch(t.path())
        .args([
            "gate",
            "init",
            "--key",
            "release.pub",
            "-o",
            "deploy/gate.yaml",
        ])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("already exists"));
    // The gate reads it: an unsigned artifact is denied (exit 1), not bad input (exit 2).
    std::fs::write(t.path().join("app"), "app").unwrap();
    vouch(t.path())
        .args(["gate", "app", "--policy", "deploy/gate.yaml"])
        .assert()
        .code(1)
        .stdout(predicate::str::contains("DENY"));
}

// ---- migration -----------------------------------------------------------------------------

#[test]
fn output_followed_by_a_format_name_is_refused() {
    let t = tempfile::tempdir().unwrap();
    for (format, want) in [
        ("json", "--format json"),
        ("sarif", "--format sarif"),
        ("table", "--format text"),
        ("cyclonedx-json", "--format cyclonedx-json"),
        ("spdx-json", "--format spdx-json"),
    ] {
        vouch(t.path())
            .args(["check", ".", "-o", format])
            .assert()
            .code(2)
            .stderr(predicate::str::contains(format!("did you mean {want}?")));
        assert!(!t.path().join(format).exists());
    }
    vouch(t.path())
        .args(["sbom", "generate", ".", "-o", "spdx-json"])
        .assert()
        .code(2);
    // A file really named like a format is still possible.
    vouch(t.path())
        .args(["check", ".", "-o", "./json"])
        .assert()
        .code(0);
    assert!(t.path().join("json").exists());
}

#[test]
fn did_you_mean_for_formats_subcommands_and_flags() {
    let t = tempfile::tempdir().unwrap();
    vouch(t.path())
        .args(["check", ".", "--format", "tabel"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("did you mean --format text?"));
    vouch(t.path())
        .args(["sbom", "generate", ".", "--format", "cyclonedx"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "did you mean --format cyclonedx-json?",
        ));
    vouch(t.path())
        .args(["scan", "."])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("vouch secrets scan"))
        .stderr(predicate::str::contains("vouch check"));
    for flag in ["--severity", "--sevrity", "--min-severity"] {
        vouch(t.path())
            .args(["check", ".", flag, "high"])
            .assert()
            .code(2)
            .stderr(predicate::str::contains("--fail-on"))
            .stderr(predicate::str::contains("--version").not());
    }
    // clap's own suggestion stays when it is a real option…
    vouch(t.path())
        .args(["check", ".", "--fail-onn", "high"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("--fail-on"));
    // …but never --version for an option that only looks like it.
    vouch(t.path())
        .args(["check", ".", "--versio"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("--version").not());
}

#[test]
fn help_lists_only_what_a_command_takes() {
    let t = tempfile::tempdir().unwrap();
    let help = |args: &[&str]| {
        let out = vouch(t.path()).args(args).arg("--help").output().unwrap();
        assert!(out.status.success());
        String::from_utf8(out.stdout).unwrap()
    };
    let key = help(&["key", "generate"]);
    for hidden in ["--fail-on", "--format", "--output <FILE>", "--config"] {
        assert!(
            !key.contains(hidden),
            "key generate help shows {hidden}:\n{key}"
        );
    }
    let check = help(&["check"]);
    for shown in ["--fail-on", "--format", "--output <FILE>", "--config"] {
        assert!(check.contains(shown), "check help lacks {shown}:\n{check}");
    }
    let sbom = help(&["sbom", "generate"]);
    assert!(
        sbom.contains("Output format: cyclonedx-json (default), cyclonedx-xml, spdx-json"),
        "{sbom}"
    );
    assert!(
        !sbom.contains("sarif"),
        "sbom generate writes no SARIF:\n{sbom}"
    );
    let sign = help(&["sign-blob"]);
    assert!(
        !sign.contains("--fail-on") && !sign.contains("--format"),
        "{sign}"
    );
    assert!(sign.contains("--tlog-upload") && sign.contains("--new-bundle-format"));

    vouch(t.path())
        .args(["key", "generate", "--fail-on", "high"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("does not take --fail-on"));
    vouch(t.path())
        .args(["explain", "secrets/private-key", "--format", "json"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("has no --format"));
    assert!(
        !t.path().join("vouch.key").exists(),
        "refused before doing anything"
    );
}

#[test]
fn cosign_aliases_flags_and_kms_keys() {
    let t = tempfile::tempdir().unwrap();
    vouch(t.path())
        .args(["key", "generate", "--output-key-prefix", "k"])
        .assert()
        .success();
    std::fs::write(t.path().join("a.txt"), "artifact").unwrap();
    std::fs::write(t.path().join("pred.json"), "{}").unwrap();
    vouch(t.path())
        .args([
            "sign-blob",
            "a.txt",
            "--key",
            "k.key",
            "--bundle",
            "a.sigstore.json",
            "--new-bundle-format",
            "--yes",
            "--tlog-upload=false",
        ])
        .assert()
        .success();
    vouch(t.path())
        .args([
            "verify-blob",
            "a.txt",
            "--bundle",
            "a.sigstore.json",
            "--key",
            "k.pub",
        ])
        .assert()
        .success();
    vouch(t.path())
        .args([
            "attest-blob",
            "a.txt",
            "--predicate",
            "pred.json",
            "--type",
            "custom",
            "--key",
            "k.key",
            "--bundle",
            "att.json",
            "-y",
            "--new-bundle-format=true",
        ])
        .assert()
        .success();
    vouch(t.path())
        .args([
            "verify-blob-attestation",
            "a.txt",
            "--bundle",
            "att.json",
            "--key",
            "k.pub",
            "--type",
            "custom",
        ])
        .assert()
        .success();
    vouch(t.path())
        .args(["sign-blob", "a.txt", "--key", "k.key", "--tlog-upload=true"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("--tlog DIR"));
    vouch(t.path())
        .args([
            "sign-blob",
            "a.txt",
            "--key",
            "k.key",
            "--new-bundle-format=false",
        ])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("bundle v0.3"));
    for kms in [
        "awskms:///alias/release",
        "gcpkms://projects/p/k",
        "azurekms://v/k",
        "hashivault://k",
    ] {
        vouch(t.path())
            .args(["sign-blob", "a.txt", "--key", kms])
            .assert()
            .code(2)
            .stderr(predicate::str::contains("not supported yet"))
            .stderr(predicate::str::contains("pkcs11:"));
    }
}

#[test]
fn control_characters_in_names_and_lines_never_reach_the_terminal() {
    let t = tempfile::tempdir().unwrap();
    vouch(t.path())
        .args(["key", "generate", "--output-key-prefix", "k"])
        .assert()
        .success();
    let key = std::fs::read(t.path().join("k.key")).unwrap();
    std::fs::remove_file(t.path().join("k.key")).unwrap();
    std::fs::write(t.path().join("a\u{1b}]0;owned\u{7}\u{202e}.pem"), key).unwrap();
    for format in ["text", "markdown", "html"] {
        let out = vouch(t.path())
            .args([
                "secrets", "scan", ".", "--format", format, "--color", "always",
            ])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(1), "{format}");
        let text = String::from_utf8(out.stdout).unwrap();
        assert!(
            text.contains("a\\x1b]0;owned\\x07\\u{202e}.pem"),
            "{format}: {text}"
        );
        assert!(
            !text.contains("\u{1b}]0") && !text.contains('\u{7}') && !text.contains('\u{202e}'),
            "{format}"
        );
    }
}

#[test]
fn output_to_a_fifo_or_device_writes_to_it_and_never_replaces_it() {
    // `-o /dev/null` used to rename a temporary file over the device. A FIFO shows the same
    // without putting the machine's /dev/null at risk.
    use std::os::unix::fs::FileTypeExt;
    let t = tempfile::tempdir().unwrap();
    let fifo = t.path().join("out.fifo");
    assert!(Std::new("mkfifo").arg(&fifo).status().unwrap().success());
    let reader = {
        let fifo = fifo.clone();
        std::thread::spawn(move || std::fs::read(fifo).unwrap())
    };
    vouch(t.path())
        .args(["check", ".", "--format", "json", "-o"])
        .arg(&fifo)
        .assert()
        .code(0);
    // Checked before joining: had vouch replaced the FIFO, the reader would wait forever.
    let meta = std::fs::symlink_metadata(&fifo).unwrap();
    assert!(
        meta.file_type().is_fifo(),
        "-o FIFO replaced the FIFO with a file"
    );
    let got = reader.join().unwrap();
    let report: Value = serde_json::from_slice(&got).unwrap();
    assert_eq!(report["schema_version"], 1);
}
