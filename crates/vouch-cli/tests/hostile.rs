//! Hostile input, end to end: one regression test per class found by the campaign against the
//! released binary (issue 22). Every case must end in a clear error (exit 2, or 1 where a
//! verification fails), never a shorter document, a hang, a panic or exit 0.

use std::fs;
use std::path::Path;
use std::time::Duration;

use assert_cmd::Command;
use predicates::prelude::*;

/// Generous: a hang shows up as a failure, not a stuck CI job.
const LIMIT: Duration = Duration::from_secs(120);

fn vouch(dir: &Path) -> Command {
    let mut c = Command::cargo_bin("vouch").expect("vouch binary");
    c.current_dir(dir)
        .timeout(LIMIT)
        .env("VOUCH_PASSWORD", "test-pass")
        .env("SOURCE_DATE_EPOCH", "1700000000")
        .env("VOUCH_NOW", "2026-11-24T12:00:00Z")
        .env("VOUCH_TODAY", "2026-11-24")
        .env_remove("VOUCH_SEAL_KEYRING")
        .env_remove("VOUCH_SEAL_KEK_FILE")
        .env_remove("VOUCH_SEAL_AUDIT_LOG")
        .env_remove("VOUCH_LOG_POSTGRES");
    for v in ["GITHUB_ACTIONS", "GITLAB_CI"] {
        c.env_remove(v);
    }
    c
}

#[cfg(unix)]
fn mkfifo(p: &Path) {
    let st = std::process::Command::new("mkfifo")
        .arg(p)
        .status()
        .unwrap();
    assert!(st.success());
}

/// A signed release in `dist/` and its key, as the gate tests make it.
fn released() -> tempfile::TempDir {
    let d = tempfile::tempdir().unwrap();
    vouch(d.path())
        .args(["key", "generate", "--output-key-prefix", "release"])
        .assert()
        .code(0);
    fs::create_dir(d.path().join("dist")).unwrap();
    fs::write(d.path().join("dist/app"), "binary one\n").unwrap();
    vouch(d.path())
        .args([
            "release",
            "dist/app",
            "--key",
            "release.key",
            "--out-dir",
            "rel",
            // the release has no lockfile: an empty SBOM on purpose
            "--allow-empty",
        ])
        .assert()
        .code(0);
    d
}

const SIGNED_ONLY: &str = "signatures:\n  keys: [release.pub]\n  threshold: 1\n";

#[test]
fn gate_policy_with_nul_before_attestations_is_bad_input_not_a_shorter_policy() {
    let d = released();
    // Without the NUL the policy requires provenance, which this release lacks → denied (1).
    // Truncated at the NUL it would only require the signature → allowed (0).
    let full = format!("{SIGNED_ONLY}attestations:\n  - type: spdxjson\n");
    fs::write(d.path().join("gate.yaml"), &full).unwrap();
    vouch(d.path())
        .args(["gate", "dist/app", "--policy", "gate.yaml"])
        .assert()
        .code(1);
    fs::write(
        d.path().join("nul.yaml"),
        full.replace("attestations:", "# \0\nattestations:"),
    )
    .unwrap();
    vouch(d.path())
        .args(["gate", "dist/app", "--policy", "nul.yaml"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("nul.yaml:4:3").and(predicate::str::contains("NUL")));
}

#[test]
fn huge_durations_are_errors_not_panics() {
    let d = released();
    let weekly = format!(
        "{SIGNED_ONLY}freeze:\n  - name: weekend\n    weekly: {{days: [fri], at: \"16:00\", duration: 10000000000h}}\n"
    );
    fs::write(d.path().join("weekly.yaml"), weekly).unwrap();
    vouch(d.path())
        .args(["gate", "dist/app", "--policy", "weekly.yaml"])
        .assert()
        .code(2)
        .stderr(
            predicate::str::contains("longer than").and(predicate::str::contains("panick").not()),
        );
    let frozen = format!(
        "{SIGNED_ONLY}freeze:\n  - name: always\n    start: 2026-01-01T00:00:00Z\n    end: 2027-01-01T00:00:00Z\nbreak_glass:\n  approvers: [alice]\n"
    );
    fs::write(d.path().join("frozen.yaml"), frozen).unwrap();
    for ttl in ["10000000000h", "99999999999999999999h"] {
        vouch(d.path())
            .args([
                "gate",
                "dist/app",
                "--policy",
                "frozen.yaml",
                "--break-glass",
                "INC-1",
                "--approver",
                "alice",
                "--ttl",
                ttl,
            ])
            .assert()
            .code(2)
            .stderr(
                predicate::str::contains("--ttl").and(predicate::str::contains("panick").not()),
            );
    }
}

#[test]
fn register_cloudformation_and_lockfile_with_nul_are_bad_input() {
    let d = tempfile::tempdir().unwrap();
    let p = d.path();
    // A YAML register whose High/High row sits after a NUL.
    fs::create_dir_all(p.join("security")).unwrap();
    fs::write(
        p.join("security/threat-model.yaml"),
        "rows:\n  # \0\n  - Threat: tampering\n    Likelihood: High\n    Impact: High\n",
    )
    .unwrap();
    vouch(p)
        .args(["register", "lint"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("threat-model.yaml:2:5"));

    // A CloudFormation role whose public principal sits after a NUL.
    fs::write(
        p.join("template.yaml"),
        "Resources:\n  Role:\n    Type: AWS::IAM::Role\n    # \0\n    Properties:\n      AssumeRolePolicyDocument:\n        Statement:\n          - Effect: Allow\n            Principal: '*'\n            Action: sts:AssumeRole\n",
    )
    .unwrap();
    vouch(p)
        .args(["iam", "lint", "template.yaml"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("template.yaml:4:7"));

    // A pnpm lockfile whose later packages sit after a NUL.
    let lock = tempfile::tempdir().unwrap();
    fs::write(
        lock.path().join("pnpm-lock.yaml"),
        "lockfileVersion: '9.0'\npackages:\n  left-pad@1.3.0:\n    resolution: {integrity: sha512-x}\n\0\n  evil@6.6.6:\n    resolution: {integrity: sha512-y}\n",
    )
    .unwrap();
    // By default an unreadable lockfile is an error naming the position (never a silently
    // shorter component list); --skip-unreadable skips it with that warning.
    vouch(lock.path())
        .args(["sbom", "generate", "."])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("pnpm-lock.yaml:5:1").and(predicate::str::contains("NUL")))
        .stdout("");
    vouch(lock.path())
        .args([
            "sbom",
            "generate",
            ".",
            "--skip-unreadable",
            "--allow-empty",
        ])
        .assert()
        .stderr(predicate::str::contains("pnpm-lock.yaml:5:1"))
        .stdout(predicate::str::contains("left-pad").not());
}

/// Nine levels of ten aliases: 10^9 nodes if expanded (8 GiB and an abort before the fix).
fn billion_laughs() -> String {
    let mut s = String::from("a0: &a0 [lol]\n");
    for i in 1..10 {
        let refs = vec![format!("*a{}", i - 1); 10].join(", ");
        s.push_str(&format!("a{i}: &a{i} [{refs}]\n"));
    }
    s
}

#[test]
fn alias_bombs_are_refused() {
    let d = tempfile::tempdir().unwrap();
    let p = d.path();
    fs::write(
        p.join("template.yaml"),
        format!("Resources: {{}}\n{}", billion_laughs()),
    )
    .unwrap();
    vouch(p)
        .args(["iam", "lint", "template.yaml"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("aliases expand"));
    fs::create_dir(p.join("policy")).unwrap();
    fs::write(
        p.join("policy/main.rego"),
        "package main\n\ndeny contains msg if {\n  input.x == 1\n  msg := \"x\"\n}\n",
    )
    .unwrap();
    fs::write(p.join("input.yaml"), billion_laughs()).unwrap();
    vouch(p)
        .args(["policy", "test", "--policy", "policy", "input.yaml"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("aliases expand"));
}

#[cfg(unix)]
#[test]
fn special_files_are_refused_without_hanging() {
    let d = tempfile::tempdir().unwrap();
    let p = d.path();
    // A FIFO as a Rego policy file.
    fs::create_dir(p.join("policy")).unwrap();
    mkfifo(&p.join("policy/main.rego"));
    fs::write(p.join("input.json"), "{}").unwrap();
    vouch(p)
        .args(["policy", "test", "--policy", "policy", "input.json"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("not a regular file"));

    // A FIFO, then a directory, where vouch.toml or the exceptions file should be.
    let repo = tempfile::tempdir().unwrap();
    let r = repo.path();
    fs::write(r.join("a.txt"), "hello\n").unwrap();
    mkfifo(&r.join("vouch.toml"));
    vouch(r)
        .args(["check", "."])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("vouch.toml").and(predicate::str::contains("FIFO")));
    fs::remove_file(r.join("vouch.toml")).unwrap();
    fs::create_dir(r.join("vouch.toml")).unwrap();
    vouch(r)
        .args(["check", "."])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("vouch.toml").and(predicate::str::contains("directory")));
    fs::remove_dir(r.join("vouch.toml")).unwrap();
    fs::create_dir_all(r.join(".vouch")).unwrap();
    mkfifo(&r.join(".vouch/exceptions.yaml"));
    vouch(r)
        .args(["check", "."])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("exceptions.yaml").and(predicate::str::contains("FIFO")));
    fs::remove_file(r.join(".vouch/exceptions.yaml")).unwrap();
    fs::create_dir(r.join(".vouch/exceptions.yaml")).unwrap();
    vouch(r).args(["check", "."]).assert().code(2).stderr(
        predicate::str::contains("exceptions.yaml").and(predicate::str::contains("directory")),
    );

    // A device as the thing to check.
    #[cfg(target_os = "linux")]
    vouch(p)
        .args(["check", "/dev/zero"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("/dev/zero"));

    // A FIFO as the plaintext to seal (stdin is `-`).
    let seal = tempfile::tempdir().unwrap();
    let s = seal.path();
    vouch(s)
        .env(
            "VOUCH_SEAL_KEK",
            "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=",
        )
        .args(["seal", "keygen"])
        .assert()
        .code(0);
    mkfifo(&s.join("plain"));
    vouch(s)
        .env(
            "VOUCH_SEAL_KEK",
            "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=",
        )
        .args(["seal", "encrypt", "-i", "plain", "-o", "c.bin"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("FIFO"));
    assert!(!s.join("c.bin").exists());
}

#[test]
fn garbage_configuration_is_bad_input_with_position() {
    let repo = tempfile::tempdir().unwrap();
    let r = repo.path();
    fs::write(r.join("a.txt"), "hello\n").unwrap();
    fs::write(
        r.join("vouch.toml"),
        "fail_on = \"high\"\n\n[rules.\"secrets/no-such-rule\"]\nseverity = \"low\"\n",
    )
    .unwrap();
    vouch(r).args(["check", "."]).assert().code(2).stderr(
        predicate::str::contains("vouch.toml:3:8").and(predicate::str::contains("no-such-rule")),
    );

    fs::write(
        r.join("vouch.toml"),
        "[seal]\nmax_encryptions = 99999999999\n",
    )
    .unwrap();
    vouch(r)
        .env(
            "VOUCH_SEAL_KEK",
            "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=",
        )
        .args(["seal", "keygen"])
        .assert()
        .code(2)
        .stderr(
            predicate::str::contains("vouch.toml:2:1")
                .and(predicate::str::contains("max_encryptions")),
        );
    assert!(
        !r.join(".vouch/seal").exists()
            || fs::read_dir(r.join(".vouch/seal"))
                .unwrap()
                .next()
                .is_none()
    );

    // -o into a directory that does not exist.
    fs::remove_file(r.join("vouch.toml")).unwrap();
    vouch(r)
        .args(["check", ".", "-o", "missing/report.json"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("missing/report.json"));
}

#[test]
fn credentials_in_references_are_not_echoed() {
    let d = tempfile::tempdir().unwrap();
    fs::write(d.path().join("f"), "x").unwrap();
    for key in [
        "pkcs11:object=k?pin-value=98765&module-path=/nonexistent/libsofthsm.so",
        "pkcs11:object=k;pin-value=98765",
    ] {
        vouch(d.path())
            .args(["sign-blob", "f", "--key", key, "--bundle", "b.json"])
            .assert()
            .code(2)
            .stderr(predicate::str::contains("98765").not());
    }
}

fn git(dir: &Path, args: &[&str]) {
    let st = std::process::Command::new("git")
        .current_dir(dir)
        .args(args)
        .env("GIT_AUTHOR_NAME", "t")
        .env("GIT_AUTHOR_EMAIL", "t@example.com")
        .env("GIT_COMMITTER_NAME", "t")
        .env("GIT_COMMITTER_EMAIL", "t@example.com")
        .status()
        .unwrap();
    assert!(st.success(), "git {args:?}");
}

#[test]
fn corrupt_git_repository_fails_the_history_scan() {
    let d = tempfile::tempdir().unwrap();
    let p = d.path();
    git(p, &["init", "-q"]);
    // Built at run time (a valid checksum), so no literal secret sits in the repository.
    let token = vouch_secrets::validate::make_crc32_token(
        "ghp_",
        concat!("Hs7tIlE9pQ", "wErTyUiOpAsDfGhJkLzX"),
    );
    fs::write(p.join("creds.py"), format!("token = '{token}'\n")).unwrap();
    git(p, &["add", "."]);
    git(p, &["commit", "-qm", "c"]);
    // Sanity: the intact repository has the secret (exit 1).
    vouch(p)
        .args(["secrets", "scan", "--git", "."])
        .assert()
        .code(1);
    // Every loose object overwritten with garbage.
    let mut n = 0;
    for dir in fs::read_dir(p.join(".git/objects")).unwrap() {
        let dir = dir.unwrap().path();
        if dir.file_name().is_some_and(|f| f.len() == 2) {
            for obj in fs::read_dir(&dir).unwrap() {
                let obj = obj.unwrap().path();
                let mut perm = fs::metadata(&obj).unwrap().permissions();
                #[allow(clippy::permissions_set_readonly_false)]
                perm.set_readonly(false);
                fs::set_permissions(&obj, perm).unwrap();
                fs::write(&obj, b"not a zlib stream").unwrap();
                n += 1;
            }
        }
    }
    assert!(n >= 3, "{n} objects");
    vouch(p)
        .args(["secrets", "scan", "--git", "."])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("corrupt"));
}

#[test]
fn log_verify_is_read_only_and_fails_on_lost_history() {
    let t = tempfile::tempdir().unwrap();
    let d = t.path();
    let out = vouch(d)
        .args([
            "log",
            "init",
            "--origin",
            "example.com/hostile",
            "--dir",
            "log",
        ])
        .output()
        .unwrap();
    assert!(out.status.success());
    for i in 0..3 {
        fs::write(d.join(format!("e{i}")), format!("entry {i}\n")).unwrap();
        vouch(d)
            .args(["log", "add", &format!("e{i}"), "--dir", "log"])
            .assert()
            .success();
    }
    vouch(d)
        .args(["log", "verify", "--dir", "log"])
        .assert()
        .success();
    // The index replaced by an empty database: history lost.
    for f in ["index.db", "index.db-wal", "index.db-shm"] {
        let _ = fs::remove_file(d.join("log/.state").join(f));
    }
    fs::write(d.join("log/.state/index.db"), b"").unwrap();
    vouch(d)
        .args(["log", "verify", "--dir", "log"])
        .assert()
        .code(1)
        .stdout(
            predicate::str::contains("index.db").and(predicate::str::contains("history was lost")),
        );
    // Never written to: still zero bytes, no schema created in the audited log.
    assert_eq!(
        fs::metadata(d.join("log/.state/index.db")).unwrap().len(),
        0
    );
}
