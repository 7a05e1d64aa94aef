//! `vouch register sync` end to end: D3 from a lockfile and the OSV database, D4 from a real
//! `vouch release`, D5 from the secret scanner; hand-written columns kept, idempotent, the
//! planted secret's value nowhere in outputs or files, and `register lint` judging the result.

use std::fs;
use std::path::Path;

use assert_cmd::Command;
use predicates::prelude::*;

fn vouch(dir: &Path) -> Command {
    let mut c = Command::cargo_bin("vouch").expect("vouch binary");
    c.current_dir(dir)
        .env_remove("VOUCH_DB")
        .env("XDG_CACHE_HOME", dir.join("cache"))
        .env("HOME", dir)
        .env("VOUCH_TODAY", "2026-11-24")
        .env("VOUCH_PASSWORD", "test-pass")
        .env("SOURCE_DATE_EPOCH", "1700000000");
    for v in ["GITHUB_ACTIONS", "GITLAB_CI"] {
        c.env_remove(v);
    }
    c
}

/// A checksum-valid GitHub token assembled at run time, so no secret-looking literal sits in
/// the repository.
fn token() -> String {
    vouch_secrets::validate::make_crc32_token("ghp_", concat!("Zx9cVb8Nm7", "QwErTyUiOpAsDfGhJkL0"))
}

const LOCK: &str = r#"{
  "name": "app", "version": "1.0.0", "lockfileVersion": 3,
  "packages": {
    "": {"name": "app", "version": "1.0.0", "dependencies": {"pad-demo": "1.1.0", "safe-demo": "2.0.0"}},
    "node_modules/pad-demo": {"version": "1.1.0", "license": "MIT",
      "integrity": "sha512-AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8gISIjJCUmJygpKissLS4vMDEyMzQ1Njc4OTo7PD0+Pw=="},
    "node_modules/safe-demo": {"version": "2.0.0", "license": "Apache-2.0"}
  }
}
"#;

/// The same name in another ecosystem: its row must not take npm's advisories or hand columns.
/// (A made-up registry: the source only has to say "not a path dependency".)
const CARGO_LOCK: &str = r#"version = 3

[[package]]
name = "app"
version = "0.1.0"
dependencies = ["pad-demo"]

[[package]]
name = "pad-demo"
version = "1.1.0"
source = "registry+https://example.invalid/index"
checksum = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"
"#;

const D3: &str = "security/sbom-licences.csv";
const D4: &str = "security/build-reproducibility.csv";
const D5: &str = "security/secrets.csv";

fn repo() -> tempfile::TempDir {
    let d = tempfile::tempdir().unwrap();
    let p = d.path();
    fs::write(p.join("package-lock.json"), LOCK).unwrap();
    fs::write(p.join("Cargo.lock"), CARGO_LOCK).unwrap();
    let osv = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/vuln/osv");
    vouch(p)
        .args(["db", "build"])
        .arg(&osv)
        .args(["-o", ".vouch/osv.db", "-q"])
        .assert()
        .success();
    fs::create_dir_all(p.join("security")).unwrap();
    fs::write(
        p.join(D3),
        "Component,Ecosystem,Version,License,Origin,Integrity,Known CVEs,UseScope,Replacement Policy,Owner\n\
         pad-demo,npm,1.0.0,,\"npm, mirrored\",,,prod,\"replace by 2027, if unmaintained\",alice\n\
         libfoo,,2.1,Zlib,vendored C,,,prod,,bob\n",
    )
    .unwrap();
    fs::write(
        p.join(D5),
        "Secret,Scope,StorageMethod,RotationPolicy,Access Roles,Last Rotated,AuditLog\n\
         DB password,prod,vault,90 days,ops,2026-10-01,audit link\n",
    )
    .unwrap();
    vouch(p)
        .args(["key", "generate", "--output-key-prefix", "release"])
        .assert()
        .code(0);
    fs::create_dir(p.join("dist")).unwrap();
    fs::write(p.join("dist/app"), "binary\n").unwrap();
    vouch(p)
        .args([
            "release",
            "dist/app",
            "--key",
            "release.key",
            "--out-dir",
            "rel",
            "-q",
            "--allow-empty",
        ])
        .assert()
        .code(0);
    // The (passphrase-protected) release key stays out of the scan, as a team would keep it.
    fs::write(p.join(".vouchignore"), "release.key\n").unwrap();
    fs::create_dir(p.join("config")).unwrap();
    fs::write(
        p.join("config/app.env"),
        format!("GITHUB_TOKEN={}\n", token()),
    )
    .unwrap();
    d
}

/// Whether any 8 characters of the secret's value (after the `ghp_` prefix every such token
/// shares) appear in `text`: not even part of the value may leak.
fn leaks(text: &str) -> bool {
    let t = token();
    let body: Vec<char> = t[4..].chars().collect();
    body.windows(8)
        .any(|w| text.contains(&w.iter().collect::<String>()))
}

fn all_text(dir: &Path) -> String {
    let mut s = String::new();
    for f in [D3, D4, D5] {
        s.push_str(&fs::read_to_string(dir.join(f)).unwrap_or_default());
    }
    s
}

#[test]
fn sync_fills_d3_d4_d5_keeps_hand_columns_and_is_idempotent() {
    let d = repo();
    let p = d.path();
    let out = vouch(p)
        .args(["register", "sync", "--release", "rel"])
        .assert()
        .code(0)
        .get_output()
        .clone();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(
        stderr.contains(
            "security/sbom-licences.csv: 2 added, 1 updated, 0 pruned, 1 no longer found"
        ),
        "{stderr}"
    );
    assert!(
        stderr.contains("? libfoo 2.1 (no longer found; kept"),
        "{stderr}"
    );

    let d3 = fs::read_to_string(p.join(D3)).unwrap();
    assert_eq!(
        d3,
        "Component,Ecosystem,Version,License,Origin,Integrity,Known CVEs,UseScope,Replacement Policy,Owner\n\
         pad-demo,npm,1.1.0,MIT,\"npm, mirrored\",sha512:000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f202122232425262728292a2b2c2d2e2f303132333435363738393a3b3c3d3e3f,CVE-2099-0001; GHSA-demo-0002,prod,\"replace by 2027, if unmaintained\",alice\n\
         libfoo,,2.1,Zlib,vendored C,,,prod,,bob\n\
         pad-demo,crates.io,1.1.0,,,sha256:00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff,None,,,\n\
         safe-demo,npm,2.0.0,Apache-2.0,,,None,,,\n"
    );
    let d4 = fs::read_to_string(p.join(D4)).unwrap();
    let manifest: serde_json::Value =
        serde_json::from_slice(&fs::read(p.join("rel/release.json")).unwrap()).unwrap();
    let sha = manifest["artifacts"][0]["sha256"].as_str().unwrap();
    assert!(
        d4.contains(&format!("app,,,sha256:{sha},rel/app.sigstore.json; rel/")),
        "{d4}"
    );
    let d5 = fs::read_to_string(p.join(D5)).unwrap();
    assert!(
        d5.contains("DB password,prod,vault,90 days,ops,2026-10-01,audit link\n"),
        "{d5}"
    );
    assert!(
        d5.contains("secrets/github-pat at config/app.env:1,,plaintext in repository,,,,\n"),
        "{d5}"
    );

    // The secret's value is nowhere: not in the registers, not in what sync printed.
    assert!(!leaks(&all_text(p)));
    assert!(!leaks(&stderr) && !leaks(&String::from_utf8_lossy(&out.stdout)));

    // Again, naming the manifest by its absolute path this time: nothing changes (bundles are
    // named relative to the repository, never by a path of the machine).
    let before = all_text(p);
    vouch(p)
        .args(["register", "sync", "--release"])
        .arg(p.join("rel/release.json"))
        .assert()
        .code(0)
        .stderr(predicate::str::contains(
            "security/build-reproducibility.csv: up to date",
        ))
        .stderr(predicate::str::contains("security/secrets.csv: up to date"));
    assert_eq!(all_text(p), before);

    // The D5 gate names the row sync wrote, and its report quotes no part of the value.
    let lint = vouch(p)
        .args(["register", "lint", "--format", "json"])
        .assert()
        .code(1)
        .stdout(predicate::str::contains("register/secret-plaintext"))
        .stdout(predicate::str::contains(
            "secrets/github-pat at config/app.env:1",
        ))
        .get_output()
        .clone();
    assert!(!leaks(&String::from_utf8_lossy(&lint.stdout)));

    // A line added above the secret: the row follows it (the team's columns stay with it).
    fs::write(
        p.join("config/app.env"),
        format!("# app settings\nGITHUB_TOKEN={}\n", token()),
    )
    .unwrap();
    let before = all_text(p);
    let dry = vouch(p)
        .args(["register", "sync", "--dry-run"])
        .assert()
        .code(0)
        .stderr(predicate::str::contains(
            "~ secrets/github-pat at config/app.env:2: Secret",
        ))
        .get_output()
        .clone();
    assert!(!leaks(&String::from_utf8_lossy(&dry.stderr)));
    assert_eq!(all_text(p), before);
    vouch(p).args(["register", "sync"]).assert().code(0);
    assert!(
        fs::read_to_string(p.join(D5))
            .unwrap()
            .contains("secrets/github-pat at config/app.env:2,,plaintext in repository,,,,\n")
    );

    // The secret is removed from the tree: the row is reported, then pruned on request.
    fs::write(p.join("config/app.env"), "GITHUB_TOKEN=\n").unwrap();
    vouch(p)
        .args(["register", "sync", "--prune"])
        .assert()
        .code(0)
        .stderr(predicate::str::contains(
            "- secrets/github-pat at config/app.env:2",
        ))
        .stderr(predicate::str::contains("- libfoo 2.1"));
    let d5 = fs::read_to_string(p.join(D5)).unwrap();
    assert!(
        !d5.contains("github-pat") && d5.contains("DB password"),
        "{d5}"
    );
}

#[test]
fn dry_run_writes_nothing_and_missing_registers_are_created() {
    let d = repo();
    let p = d.path();
    fs::remove_file(p.join(D5)).unwrap();
    let before = all_text(p);
    vouch(p)
        .args(["register", "sync", "--dry-run", "--no-secrets"])
        .assert()
        .code(0)
        .stderr(predicate::str::contains("(dry run: nothing written)"));
    assert_eq!(all_text(p), before);
    vouch(p).args(["register", "sync"]).assert().code(0);
    assert!(p.join(D5).is_file());
    // Without a database Known CVEs is kept as it was, and sync says so.
    fs::remove_file(p.join(".vouch/osv.db")).unwrap();
    vouch(p)
        .args(["register", "sync"])
        .assert()
        .code(0)
        .stderr(predicate::str::contains("no vulnerability database"));
    assert!(
        fs::read_to_string(p.join(D3))
            .unwrap()
            .contains("CVE-2099-0001; GHSA-demo-0002")
    );
    // An explicit --db that does not exist, a bad release dir: exit 2.
    vouch(p)
        .args(["register", "sync", "--db", "missing.db"])
        .assert()
        .code(2);
    vouch(p)
        .args(["register", "sync", "--release", "nowhere"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("release.json"));
}

#[test]
fn an_sbom_file_feeds_d3_and_a_yaml_register_stays_yaml() {
    let d = repo();
    let p = d.path();
    vouch(p)
        .args(["sbom", "generate", ".", "--format", "spdx-json"])
        .args(["-o", "app.spdx.json", "-q"])
        .assert()
        .code(0);
    // Another checkout with only the SBOM and a YAML D3: the same components, by ecosystem.
    let other = tempfile::tempdir().unwrap();
    let q = other.path();
    fs::copy(p.join("app.spdx.json"), q.join("app.spdx.json")).unwrap();
    fs::create_dir(q.join("security")).unwrap();
    fs::write(
        q.join("security/sbom-licences.yaml"),
        "# reviewed by the platform team\nrows:\n  - Component: safe-demo\n    Version: 2.0.0\n    Use Scope: production\n    Owner: \"dana: platform\"\n",
    )
    .unwrap();
    vouch(q)
        .args([
            "register",
            "sync",
            "--sbom",
            "app.spdx.json",
            "--no-secrets",
        ])
        .assert()
        .code(0)
        .stderr(predicate::str::contains("no vulnerability database"));
    let yaml = fs::read_to_string(q.join("security/sbom-licences.yaml")).unwrap();
    assert_eq!(
        yaml,
        "# reviewed by the platform team\n\
         rows:\n  \
         - \"Component\": \"safe-demo\"\n    \
           \"Version\": \"2.0.0\"\n    \
           \"Use Scope\": \"prod\"\n    \
           \"Owner\": \"dana: platform\"\n    \
           \"Ecosystem\": \"npm\"\n    \
           \"License\": \"Apache-2.0\"\n  \
         - \"Component\": \"pad-demo\"\n    \
           \"Version\": \"1.1.0\"\n    \
           \"Ecosystem\": \"crates.io\"\n    \
           \"Integrity\": \"sha256:00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff\"\n  \
         - \"Component\": \"pad-demo\"\n    \
           \"Version\": \"1.1.0\"\n    \
           \"Ecosystem\": \"npm\"\n    \
           \"Integrity\": \"sha512:000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f202122232425262728292a2b2c2d2e2f303132333435363738393a3b3c3d3e3f\"\n    \
           \"License\": \"MIT\"\n"
    );
    assert!(!q.join("security/sbom-licences.csv").exists());
    vouch(q)
        .args([
            "register",
            "sync",
            "--sbom",
            "app.spdx.json",
            "--no-secrets",
        ])
        .assert()
        .code(0)
        .stderr(predicate::str::contains(
            "security/sbom-licences.yaml: up to date",
        ));
    assert_eq!(
        fs::read_to_string(q.join("security/sbom-licences.yaml")).unwrap(),
        yaml
    );
}
