//! `vouch verify-blob` / `verify-attestation` with the keyless flags, on the shared keyless
//! fixtures: every exit code path (0 verified, 1 rejected with the typed reason, 2 usage).

use std::path::{Path, PathBuf};

use assert_cmd::Command;
use predicates::prelude::*;
use tempfile::TempDir;

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/interop/fixtures/keyless")
}

fn f(name: &str) -> String {
    fixtures().join(name).display().to_string()
}

const ID: &str = "dev@vouch.example";
const ISS: &str = "https://issuer.vouch.example";

fn vouch() -> Command {
    Command::cargo_bin("vouch").unwrap()
}

fn blob(extra: &[&str]) -> Command {
    let mut c = vouch();
    c.args([
        "verify-blob",
        &f("artifact.txt"),
        "--bundle",
        &f("bundle.sigstore.json"),
    ])
    .args(extra);
    c
}

fn keyless(id: &str, iss: &str, root: &str) -> Vec<String> {
    vec![
        "--certificate-identity".into(),
        id.into(),
        "--certificate-oidc-issuer".into(),
        iss.into(),
        "--trusted-root".into(),
        f(root),
    ]
}

fn args(v: &[String]) -> Vec<&str> {
    v.iter().map(String::as_str).collect()
}

#[test]
fn verify_blob_keyless_ok() {
    let a = keyless(ID, ISS, "trusted_root.json");
    blob(&args(&a))
        .assert()
        .code(0)
        .stderr(predicate::str::contains("Verified OK"))
        .stderr(predicate::str::contains(
            "Certificate identity: dev@vouch.example (OIDC issuer https://issuer.vouch.example), logged at 2026-01-01T00:01:00Z",
        ));
}

#[test]
fn verify_blob_keyless_regexp_ok() {
    blob(&[
        "--certificate-identity-regexp",
        r".*@vouch\.example",
        "--certificate-oidc-issuer-regexp",
        r"https://issuer\..*",
        "--trusted-root",
        &f("trusted_root.json"),
    ])
    .assert()
    .code(0);
    // Full match: a prefix is not enough.
    blob(&[
        "--certificate-identity-regexp",
        "dev",
        "--certificate-oidc-issuer",
        ISS,
        "--trusted-root",
        &f("trusted_root.json"),
    ])
    .assert()
    .code(1)
    .stderr(predicate::str::contains("certificate identity mismatch"));
}

#[test]
fn verify_blob_keyless_rejections() {
    let a = keyless("mallory@example.com", ISS, "trusted_root.json");
    blob(&args(&a))
        .assert()
        .code(1)
        .stderr(predicate::str::contains("certificate identity mismatch"));
    let a = keyless(ID, "https://evil.example.com", "trusted_root.json");
    blob(&args(&a))
        .assert()
        .code(1)
        .stderr(predicate::str::contains("certificate identity mismatch"));
    let a = keyless(ID, ISS, "other_trusted_root.json");
    blob(&args(&a))
        .assert()
        .code(1)
        .stderr(predicate::str::contains("untrusted certificate"));

    let t = TempDir::new().unwrap();
    let mut art = std::fs::read(f("artifact.txt")).unwrap();
    art[0] ^= 1;
    let flipped = t.path().join("flipped.txt");
    std::fs::write(&flipped, art).unwrap();
    let a = keyless(ID, ISS, "trusted_root.json");
    vouch()
        .arg("verify-blob")
        .arg(&flipped)
        .args(["--bundle", &f("bundle.sigstore.json")])
        .args(args(&a))
        .assert()
        .code(1)
        .stderr(predicate::str::contains("subject digest mismatch"));

    let mut v: serde_json::Value =
        serde_json::from_slice(&std::fs::read(f("bundle.sigstore.json")).unwrap()).unwrap();
    v["verificationMaterial"]["tlogEntries"][0]
        .as_object_mut()
        .unwrap()
        .remove("inclusionPromise");
    let noset = t.path().join("noset.json");
    std::fs::write(&noset, serde_json::to_vec(&v).unwrap()).unwrap();
    vouch()
        .args(["verify-blob", &f("artifact.txt"), "--bundle"])
        .arg(&noset)
        .args(args(&a))
        .assert()
        .code(1)
        .stderr(predicate::str::contains(
            "transparency log entry does not verify",
        ));
}

#[test]
fn verify_blob_keyless_usage_errors() {
    // Identity without issuer.
    blob(&[
        "--certificate-identity",
        ID,
        "--trusted-root",
        &f("trusted_root.json"),
    ])
    .assert()
    .code(2)
    .stderr(predicate::str::contains("OIDC issuer"));
    // No trusted root.
    blob(&[
        "--certificate-identity",
        ID,
        "--certificate-oidc-issuer",
        ISS,
    ])
    .assert()
    .code(2)
    .stderr(predicate::str::contains("--trusted-root"));
    // Bad regexp.
    blob(&[
        "--certificate-identity-regexp",
        "(",
        "--certificate-oidc-issuer",
        ISS,
        "--trusted-root",
        &f("trusted_root.json"),
    ])
    .assert()
    .code(2)
    .stderr(predicate::str::contains("invalid regular expression"));
    // A trusted root that is not one: a failed verification (exit 1), naming the file.
    let a = keyless(ID, ISS, "bundle.sigstore.json");
    blob(&args(&a))
        .assert()
        .code(1)
        .stderr(predicate::str::contains("bundle.sigstore.json"))
        .stderr(predicate::str::contains("not a trusted root"));
    // --key and identity flags together.
    blob(&["--key", "k.pub", "--certificate-identity", ID])
        .assert()
        .code(2);
    // Neither.
    blob(&[]).assert().code(2);
    // A keyless bundle checked with a key says so.
    let t = TempDir::new().unwrap();
    vouch()
        .current_dir(t.path())
        .env("VOUCH_PASSWORD", "")
        .args(["key", "generate", "--output-key-prefix", "k"])
        .assert()
        .code(0);
    vouch()
        .current_dir(t.path())
        .args([
            "verify-blob",
            &f("artifact.txt"),
            "--bundle",
            &f("bundle.sigstore.json"),
            "--key",
            "k.pub",
        ])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("signed with a certificate"));
}

#[test]
fn verify_attestation_keyless() {
    let a = keyless(ID, ISS, "trusted_root.json");
    vouch()
        .args([
            "verify-attestation",
            &f("artifact.txt"),
            "--bundle",
            &f("attest.sigstore.json"),
            "--type",
            "slsaprovenance",
        ])
        .args(args(&a))
        .assert()
        .code(0)
        .stderr(predicate::str::contains("Verified OK"));
    vouch()
        .args([
            "verify-attestation",
            &f("artifact.txt"),
            "--bundle",
            &f("attest.sigstore.json"),
            "--type",
            "cyclonedx",
        ])
        .args(args(&a))
        .assert()
        .code(1)
        .stderr(predicate::str::contains("wrong predicate type"));
    let w = keyless("mallory@example.com", ISS, "trusted_root.json");
    vouch()
        .args([
            "verify-attestation",
            &f("artifact.txt"),
            "--bundle",
            &f("attest.sigstore.json"),
        ])
        .args(args(&w))
        .assert()
        .code(1)
        .stderr(predicate::str::contains("certificate identity mismatch"));
    vouch()
        .args([
            "verify-attestation",
            &f("artifact.txt"),
            "--bundle",
            &f("attest.sigstore.json"),
            "--threshold",
            "2",
        ])
        .args(args(&a))
        .assert()
        .code(2);
    vouch()
        .args([
            "verify-attestation",
            &f("artifact.txt"),
            "--bundle",
            &f("attest.sigstore.json"),
            "--certificate-oidc-issuer",
            ISS,
            "--trusted-root",
            &f("trusted_root.json"),
        ])
        .assert()
        .code(2);
}
