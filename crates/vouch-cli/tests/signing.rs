//! `vouch key`, `sign-blob`, `verify-blob`, `attest`, `verify-attestation`, `bundle digest`:
//! every exit code path, plus the external judges in ../shared/interop.

use std::path::{Path, PathBuf};
use std::process::Command as Std;

use assert_cmd::Command;
use predicates::prelude::*;
use tempfile::TempDir;

const PASS: &str = "test-pass";

fn vouch(dir: &Path) -> Command {
    let mut c = Command::cargo_bin("vouch").unwrap();
    c.current_dir(dir)
        .env("VOUCH_PASSWORD", PASS)
        .env_remove("COSIGN_PASSWORD")
        .env_remove("VOUCH_PKCS11_PIN");
    c
}

fn shared() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared")
}

/// A scratch dir with key pair `k` (P-256), `other` and a 200 kB artifact `art.bin`.
fn setup() -> TempDir {
    let t = TempDir::new().unwrap();
    vouch(t.path())
        .args(["key", "generate", "--output-key-prefix", "k"])
        .assert()
        .success();
    vouch(t.path())
        .args(["key", "generate", "--output-key-prefix", "other"])
        .assert()
        .success();
    let art: Vec<u8> = (0..200_000u32).map(|i| (i * 7 % 251) as u8).collect();
    std::fs::write(t.path().join("art.bin"), art).unwrap();
    std::fs::write(
        t.path().join("pred.json"),
        r#"{"buildDefinition":{"buildType":"https://example.com/t","externalParameters":{}},"runDetails":{"builder":{"id":"https://example.com/b"}}}"#,
    )
    .unwrap();
    t
}

fn flip(path: &Path, at: usize) {
    let mut b = std::fs::read(path).unwrap();
    b[at] ^= 1;
    std::fs::write(path, b).unwrap();
}

#[test]
fn key_generate_writes_encrypted_pkcs8_and_refuses_overwrite() {
    let t = TempDir::new().unwrap();
    for alg in ["ecdsa-p256", "ecdsa-p384", "ed25519"] {
        vouch(t.path())
            .args([
                "key",
                "generate",
                "--algorithm",
                alg,
                "--output-key-prefix",
                alg,
            ])
            .assert()
            .success();
        let key = std::fs::read_to_string(t.path().join(format!("{alg}.key"))).unwrap();
        assert!(
            key.starts_with("-----BEGIN ENCRYPTED PRIVATE KEY-----"),
            "{alg}"
        );
        let public = std::fs::read_to_string(t.path().join(format!("{alg}.pub"))).unwrap();
        assert!(public.starts_with("-----BEGIN PUBLIC KEY-----"));
    }
    vouch(t.path())
        .args(["key", "generate", "--output-key-prefix", "ed25519"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("already exists"));
}

#[test]
fn key_problems_exit_2_with_clear_messages() {
    let t = setup();
    let d = t.path();
    vouch(d)
        .env("VOUCH_PASSWORD", "wrong")
        .args([
            "sign-blob",
            "art.bin",
            "--key",
            "k.key",
            "--bundle",
            "out.json",
        ])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("wrong passphrase"));
    assert!(!d.join("out.json").exists(), "nothing written on failure");
    vouch(d)
        .args([
            "sign-blob",
            "art.bin",
            "--key",
            "k.pub",
            "--bundle",
            "out.json",
        ])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("wrong key type"));
    let key = std::fs::read_to_string(d.join("k.key")).unwrap();
    std::fs::write(d.join("trunc.key"), &key[..key.len() / 2]).unwrap();
    vouch(d)
        .args(["sign-blob", "art.bin", "--key", "trunc.key"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("truncated"));
    vouch(d)
        .args([
            "verify-blob",
            "art.bin",
            "--signature",
            "x",
            "--key",
            "k.key",
        ])
        .assert()
        .code(2);
    vouch(d)
        .args(["sign-blob", "art.bin", "--key", "env://NOT_SET_ANYWHERE_X"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("NOT_SET_ANYWHERE_X is not set"));
    vouch(d)
        .args(["sign-blob", "art.bin", "--key", "awskms://x"])
        .assert()
        .code(2);
}

#[test]
fn sign_and_verify_blob_exit_codes() {
    let t = setup();
    let d = t.path();
    vouch(d)
        .args([
            "sign-blob",
            "art.bin",
            "--key",
            "k.key",
            "--bundle",
            "b.json",
            "--output-signature",
            "b.sig",
        ])
        .assert()
        .success();
    let bundle: serde_json::Value =
        serde_json::from_slice(&std::fs::read(d.join("b.json")).unwrap()).unwrap();
    assert_eq!(
        bundle["mediaType"],
        "application/vnd.dev.sigstore.bundle.v0.3+json"
    );
    assert_eq!(
        bundle["verificationMaterial"]["tlogEntries"],
        serde_json::json!([])
    );
    vouch(d)
        .args([
            "verify-blob",
            "art.bin",
            "--bundle",
            "b.json",
            "--key",
            "k.pub",
        ])
        .assert()
        .code(0)
        .stderr(predicate::str::contains("Verified OK"));
    vouch(d)
        .args([
            "verify-blob",
            "art.bin",
            "--signature",
            "b.sig",
            "--key",
            "k.pub",
        ])
        .assert()
        .code(0);
    // Any of several keys.
    vouch(d)
        .args([
            "verify-blob",
            "art.bin",
            "--bundle",
            "b.json",
            "--key",
            "other.pub",
            "--key",
            "k.pub",
        ])
        .assert()
        .code(0);
    vouch(d)
        .args([
            "verify-blob",
            "art.bin",
            "--bundle",
            "b.json",
            "--key",
            "other.pub",
        ])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("signature does not verify"));
    vouch(d)
        .args([
            "verify-blob",
            "art.bin",
            "--signature",
            "b.sig",
            "--key",
            "other.pub",
        ])
        .assert()
        .code(1);
    std::fs::copy(d.join("art.bin"), d.join("bad.bin")).unwrap();
    flip(&d.join("bad.bin"), 1000);
    vouch(d)
        .args([
            "verify-blob",
            "bad.bin",
            "--bundle",
            "b.json",
            "--key",
            "k.pub",
        ])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("digest mismatch"));
    vouch(d)
        .args([
            "verify-blob",
            "bad.bin",
            "--signature",
            "b.sig",
            "--key",
            "k.pub",
        ])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("signature does not verify"));
    std::fs::write(d.join("junk.json"), r#"{"not":"a bundle"}"#).unwrap();
    vouch(d)
        .args([
            "verify-blob",
            "art.bin",
            "--bundle",
            "junk.json",
            "--key",
            "k.pub",
        ])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("not a Sigstore bundle"));
    // A damaged bundle is a failed verification (exit 1), with file and line.
    std::fs::write(d.join("broken.json"), "{\n  \"mediaType\": ").unwrap();
    vouch(d)
        .args([
            "verify-blob",
            "art.bin",
            "--bundle",
            "broken.json",
            "--key",
            "k.pub",
        ])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("broken.json:2:"));
    vouch(d)
        .args([
            "verify-blob",
            "missing.bin",
            "--bundle",
            "b.json",
            "--key",
            "k.pub",
        ])
        .assert()
        .code(2);
}

#[test]
fn ed25519_bundles_are_deterministic_and_digest_is_canonical() {
    let t = setup();
    let d = t.path();
    vouch(d)
        .args([
            "key",
            "generate",
            "--algorithm",
            "ed25519",
            "--output-key-prefix",
            "ed",
        ])
        .assert()
        .success();
    for out in ["e1.json", "e2.json"] {
        vouch(d)
            .args(["sign-blob", "art.bin", "--key", "ed.key", "--bundle", out])
            .assert()
            .success();
    }
    let a = std::fs::read(d.join("e1.json")).unwrap();
    assert_eq!(a, std::fs::read(d.join("e2.json")).unwrap());
    vouch(d)
        .args([
            "verify-blob",
            "art.bin",
            "--bundle",
            "e1.json",
            "--key",
            "ed.pub",
        ])
        .assert()
        .success();
    let digest = vouch(d)
        .args(["bundle", "digest", "e1.json"])
        .assert()
        .success();
    let digest = String::from_utf8(digest.get_output().stdout.clone()).unwrap();
    assert!(
        digest.starts_with("sha256:") && digest.trim().len() == 71,
        "{digest}"
    );
    // Reformatted (compact) bundle: same canonical digest.
    let v: serde_json::Value = serde_json::from_slice(&a).unwrap();
    std::fs::write(d.join("compact.json"), serde_json::to_vec(&v).unwrap()).unwrap();
    vouch(d)
        .args(["bundle", "digest", "compact.json"])
        .assert()
        .success()
        .stdout(digest.clone());
    vouch(d)
        .args(["bundle", "digest", "pred.json"])
        .assert()
        .code(2);
}

#[test]
fn attest_and_verify_attestation_outcomes() {
    let t = setup();
    let d = t.path();
    vouch(d)
        .args([
            "attest",
            "art.bin",
            "--predicate",
            "pred.json",
            "--type",
            "slsaprovenance",
            "--key",
            "k.key",
            "--bundle",
            "att.json",
        ])
        .assert()
        .success();
    vouch(d)
        .args([
            "verify-attestation",
            "art.bin",
            "--bundle",
            "att.json",
            "--type",
            "slsaprovenance1",
            "--key",
            "k.pub",
            "--output-statement",
            "st.json",
        ])
        .assert()
        .code(0);
    let st: serde_json::Value =
        serde_json::from_slice(&std::fs::read(d.join("st.json")).unwrap()).unwrap();
    assert_eq!(st["predicateType"], "https://slsa.dev/provenance/v1");
    assert_eq!(st["subject"][0]["name"], "art.bin");
    vouch(d)
        .args([
            "verify-attestation",
            "art.bin",
            "--bundle",
            "att.json",
            "--type",
            "cyclonedx",
            "--key",
            "k.pub",
        ])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("wrong predicate type"));
    vouch(d)
        .args([
            "verify-attestation",
            "art.bin",
            "--bundle",
            "att.json",
            "--type",
            "slsaprovenance02",
            "--key",
            "k.pub",
        ])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("wrong predicate type"));
    vouch(d)
        .args([
            "verify-attestation",
            "art.bin",
            "--bundle",
            "att.json",
            "--key",
            "other.pub",
        ])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("signature does not verify"));
    vouch(d)
        .args([
            "verify-attestation",
            "pred.json",
            "--bundle",
            "att.json",
            "--key",
            "k.pub",
        ])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("subject digest mismatch"));
    vouch(d)
        .args([
            "verify-attestation",
            "art.bin",
            "--bundle",
            "att.json",
            "--type",
            "nonsense",
            "--key",
            "k.pub",
        ])
        .assert()
        .code(2);
    // An invalid SLSA v1 predicate is refused before signing.
    std::fs::write(d.join("bad-pred.json"), r#"{"buildDefinition":{}}"#).unwrap();
    vouch(d)
        .args([
            "attest",
            "art.bin",
            "--predicate",
            "bad-pred.json",
            "--type",
            "slsaprovenance",
            "--key",
            "k.key",
            "--bundle",
            "x.json",
        ])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("buildType"));
    assert!(!d.join("x.json").exists());
    // A blob bundle is not an attestation: unusable evidence, a failed verification.
    vouch(d)
        .args([
            "sign-blob",
            "art.bin",
            "--key",
            "k.key",
            "--bundle",
            "b.json",
        ])
        .assert()
        .success();
    vouch(d)
        .args([
            "verify-attestation",
            "art.bin",
            "--bundle",
            "b.json",
            "--key",
            "k.pub",
        ])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("not an attestation"));
}

#[test]
fn dsse_envelopes_with_several_signatures_and_thresholds() {
    let t = setup();
    let d = t.path();
    vouch(d)
        .args([
            "attest",
            "art.bin",
            "--predicate",
            "pred.json",
            "--type",
            "custom",
            "--format",
            "dsse",
            "--key",
            "k.key",
            "--key",
            "other.key",
            "--bundle",
            "env.json",
        ])
        .assert()
        .success();
    let env: serde_json::Value =
        serde_json::from_slice(&std::fs::read(d.join("env.json")).unwrap()).unwrap();
    assert_eq!(env["signatures"].as_array().unwrap().len(), 2);
    vouch(d)
        .args([
            "verify-attestation",
            "art.bin",
            "--bundle",
            "env.json",
            "--threshold",
            "2",
            "--key",
            "k.pub",
            "--key",
            "other.pub",
        ])
        .assert()
        .code(0);
    vouch(d)
        .args(["key", "generate", "--output-key-prefix", "third"])
        .assert()
        .success();
    vouch(d)
        .args([
            "verify-attestation",
            "art.bin",
            "--bundle",
            "env.json",
            "--threshold",
            "2",
            "--key",
            "k.pub",
            "--key",
            "third.pub",
        ])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("1 of the required 2"));
    vouch(d)
        .args([
            "verify-attestation",
            "art.bin",
            "--bundle",
            "env.json",
            "--threshold",
            "3",
            "--key",
            "k.pub",
            "--key",
            "other.pub",
        ])
        .assert()
        .code(2);
    // A bundle carries one signature.
    vouch(d)
        .args([
            "attest",
            "art.bin",
            "--predicate",
            "pred.json",
            "--key",
            "k.key",
            "--key",
            "other.key",
        ])
        .assert()
        .code(2);
    vouch(d)
        .args([
            "attest",
            "art.bin",
            "--predicate",
            "pred.json",
            "--format",
            "dsse",
            "--key",
            "k.key",
            "--key",
            "k.key",
        ])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("same key"));
}

#[test]
fn env_keys_and_unencrypted_keys() {
    let t = setup();
    let d = t.path();
    vouch(d)
        .env("VOUCH_PASSWORD", "")
        .args(["key", "generate", "--output-key-prefix", "plain"])
        .assert()
        .success()
        .stderr(predicate::str::contains("unencrypted"));
    let pem = std::fs::read_to_string(d.join("plain.key")).unwrap();
    assert!(pem.starts_with("-----BEGIN PRIVATE KEY-----"));
    let public = std::fs::read_to_string(d.join("plain.pub")).unwrap();
    vouch(d)
        .env("SIGNING_KEY", &pem)
        .args([
            "sign-blob",
            "art.bin",
            "--key",
            "env://SIGNING_KEY",
            "--bundle",
            "b.json",
        ])
        .assert()
        .success();
    vouch(d)
        .env("VERIFY_KEY", &public)
        .args([
            "verify-blob",
            "art.bin",
            "--bundle",
            "b.json",
            "--key",
            "env://VERIFY_KEY",
        ])
        .assert()
        .success();
}

#[test]
fn cosign_keys_import_and_sign() {
    let t = setup();
    let d = t.path();
    let key = vouch_attest::vouch_crypto::keys::PrivateKey::generate(
        vouch_attest::vouch_crypto::keys::KeyAlgorithm::EcdsaP256,
    )
    .unwrap();
    let plain = key.to_pem(None).unwrap();
    let der = pem_body(&plain);
    let cosign =
        vouch_attest::vouch_crypto::keys::encrypt_cosign_for_tests(&der, b"cosign-pw", 12).unwrap();
    std::fs::write(d.join("cosign.key"), cosign).unwrap();
    std::fs::write(d.join("cosign.pub"), key.public_key().to_pem()).unwrap();
    // Direct use with the cosign passphrase in VOUCH_PASSWORD.
    vouch(d)
        .env("VOUCH_PASSWORD", "cosign-pw")
        .args([
            "sign-blob",
            "art.bin",
            "--key",
            "cosign.key",
            "--bundle",
            "c.json",
        ])
        .assert()
        .success();
    vouch(d)
        .args([
            "verify-blob",
            "art.bin",
            "--bundle",
            "c.json",
            "--key",
            "cosign.pub",
        ])
        .assert()
        .success();
    vouch(d)
        .env("COSIGN_PASSWORD", "nope")
        .args([
            "key",
            "import-cosign",
            "cosign.key",
            "--output-key-prefix",
            "imp",
        ])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("wrong passphrase"));
    vouch(d)
        .env("COSIGN_PASSWORD", "cosign-pw")
        .args([
            "key",
            "import-cosign",
            "cosign.key",
            "--output-key-prefix",
            "imp",
        ])
        .assert()
        .success();
    assert_eq!(
        std::fs::read_to_string(d.join("imp.pub")).unwrap(),
        key.public_key().to_pem()
    );
}

fn pem_body(pem: &str) -> Vec<u8> {
    let b64: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
    vouch_attest::b64::decode(&b64).unwrap()
}

// ---------------------------------------------------------------------------------------
// External judges: implementations nobody here wrote.

fn judge(name: &str) -> PathBuf {
    let p = shared().join("interop").join(name);
    assert!(
        p.exists(),
        "external judge {} is missing: ../shared/interop must sit beside the repository",
        p.display()
    );
    let setup = std::process::Command::new(shared().join("interop/setup.sh"))
        .env("VOUCH_INTEROP_QUIET", "1")
        .status()
        .expect("run ../shared/interop/setup.sh");
    assert!(
        setup.success(),
        "../shared/interop/setup.sh failed: the judges cannot run"
    );
    p
}

fn run_judge(judge: &Path, args: &[&Path]) -> i32 {
    let out = std::process::Command::new(judge)
        .args(args)
        .output()
        .unwrap();
    let code = out.status.code().unwrap_or(-1);
    assert!(
        code == 0 || code == 1,
        "judge {} harness error: {}{}",
        judge.display(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    code
}

#[test]
fn sigstore_js_accepts_vouch_bundles_and_rejects_tampering() {
    let vbk = judge("verify-bundle-key");
    let t = setup();
    let d = t.path();
    vouch(d)
        .args([
            "sign-blob",
            "art.bin",
            "--key",
            "k.key",
            "--bundle",
            "blob.json",
        ])
        .assert()
        .success();
    vouch(d)
        .args([
            "attest",
            "art.bin",
            "--predicate",
            "pred.json",
            "--type",
            "slsaprovenance",
            "--key",
            "k.key",
            "--bundle",
            "att.json",
        ])
        .assert()
        .success();
    let p = |n: &str| d.join(n);
    assert_eq!(
        run_judge(&vbk, &[&p("blob.json"), &p("art.bin"), &p("k.pub")]),
        0
    );
    assert_eq!(
        run_judge(&vbk, &[&p("att.json"), &p("art.bin"), &p("k.pub")]),
        0
    );
    // Swapped key.
    assert_eq!(
        run_judge(&vbk, &[&p("blob.json"), &p("art.bin"), &p("other.pub")]),
        1
    );
    vouch(d)
        .args([
            "verify-blob",
            "art.bin",
            "--bundle",
            "blob.json",
            "--key",
            "other.pub",
        ])
        .assert()
        .code(1);
    // One flipped artifact byte.
    std::fs::copy(p("art.bin"), p("bad.bin")).unwrap();
    flip(&p("bad.bin"), 4242);
    for b in ["blob.json", "att.json"] {
        assert_eq!(
            run_judge(&vbk, &[&p(b), &p("bad.bin"), &p("k.pub")]),
            1,
            "{b}"
        );
    }
    vouch(d)
        .args([
            "verify-blob",
            "bad.bin",
            "--bundle",
            "blob.json",
            "--key",
            "k.pub",
        ])
        .assert()
        .code(1);
    vouch(d)
        .args([
            "verify-attestation",
            "bad.bin",
            "--bundle",
            "att.json",
            "--key",
            "k.pub",
        ])
        .assert()
        .code(1);
    // One flipped signature byte.
    for (b, ptr) in [
        ("blob.json", "/messageSignature/signature"),
        ("att.json", "/dsseEnvelope/signatures/0/sig"),
    ] {
        let mut v: serde_json::Value =
            serde_json::from_slice(&std::fs::read(p(b)).unwrap()).unwrap();
        let sig = v.pointer(ptr).unwrap().as_str().unwrap().to_string();
        let mut raw = vouch_attest::b64::decode(&sig).unwrap();
        let mid = raw.len() / 2;
        raw[mid] ^= 1;
        *v.pointer_mut(ptr).unwrap() = serde_json::Value::String(vouch_attest::b64::encode(&raw));
        let bad = format!("badsig-{b}");
        std::fs::write(p(&bad), serde_json::to_vec_pretty(&v).unwrap()).unwrap();
        assert_eq!(
            run_judge(&vbk, &[&p(&bad), &p("art.bin"), &p("k.pub")]),
            1,
            "{b}"
        );
        let cmd = if b == "blob.json" {
            "verify-blob"
        } else {
            "verify-attestation"
        };
        vouch(d)
            .args([cmd, "art.bin", "--bundle", &bad, "--key", "k.pub"])
            .assert()
            .code(1);
    }
}

#[test]
fn securesystemslib_accepts_vouch_envelopes_and_rejects_tampering() {
    let vd = judge("verify-dsse");
    let t = setup();
    let d = t.path();
    vouch(d)
        .args([
            "attest",
            "art.bin",
            "--predicate",
            "pred.json",
            "--format",
            "dsse",
            "--key",
            "k.key",
            "--key",
            "other.key",
            "--bundle",
            "env.json",
        ])
        .assert()
        .success();
    let p = |n: &str| d.join(n);
    assert_eq!(run_judge(&vd, &[&p("env.json"), &p("k.pub")]), 0);
    assert_eq!(run_judge(&vd, &[&p("env.json"), &p("other.pub")]), 0);
    vouch(d)
        .args(["key", "generate", "--output-key-prefix", "third"])
        .assert()
        .success();
    assert_eq!(run_judge(&vd, &[&p("env.json"), &p("third.pub")]), 1);
    vouch(d)
        .args([
            "verify-attestation",
            "art.bin",
            "--bundle",
            "env.json",
            "--key",
            "third.pub",
        ])
        .assert()
        .code(1);
    // Flipped payload byte and flipped signature byte.
    let v: serde_json::Value =
        serde_json::from_slice(&std::fs::read(p("env.json")).unwrap()).unwrap();
    for ptr in ["/payload", "/signatures/0/sig"] {
        let mut w = v.clone();
        let mut raw = vouch_attest::b64::decode(w.pointer(ptr).unwrap().as_str().unwrap()).unwrap();
        raw[10] ^= 1;
        *w.pointer_mut(ptr).unwrap() = serde_json::Value::String(vouch_attest::b64::encode(&raw));
        std::fs::write(p("bad-env.json"), serde_json::to_vec(&w).unwrap()).unwrap();
        assert_eq!(
            run_judge(&vd, &[&p("bad-env.json"), &p("k.pub")]),
            1,
            "{ptr}"
        );
        vouch(d)
            .args([
                "verify-attestation",
                "art.bin",
                "--bundle",
                "bad-env.json",
                "--key",
                "k.pub",
            ])
            .assert()
            .code(1);
    }
}

#[test]
fn vouch_verifies_judge_fixtures() {
    let f = shared().join("interop/fixtures");
    let d = f.as_path();
    for b in ["blob.sigstore.json", "blob.v02.sigstore.json"] {
        vouch(d)
            .args([
                "verify-blob",
                "artifact.txt",
                "--bundle",
                b,
                "--key",
                "test-key.pub.pem",
            ])
            .assert()
            .code(0);
        vouch(d)
            .args([
                "verify-blob",
                "artifact.txt",
                "--bundle",
                b,
                "--key",
                "other-key.pub.pem",
            ])
            .assert()
            .code(1);
    }
    for b in ["attest.sigstore.json", "envelope.dsse.json"] {
        vouch(d)
            .args([
                "verify-attestation",
                "artifact.txt",
                "--bundle",
                b,
                "--type",
                "slsaprovenance",
                "--key",
                "test-key.pub.pem",
            ])
            .assert()
            .code(0);
        vouch(d)
            .args([
                "verify-attestation",
                "test-key.pem",
                "--bundle",
                b,
                "--key",
                "test-key.pub.pem",
            ])
            .assert()
            .code(1);
    }
    // The fixture's private key (unencrypted PKCS#8 from `cryptography`) signs with vouch.
    let t = TempDir::new().unwrap();
    vouch(t.path())
        .args([
            "sign-blob",
            f.join("artifact.txt").to_str().unwrap(),
            "--key",
            f.join("test-key.pem").to_str().unwrap(),
            "--bundle",
            "x.json",
        ])
        .assert()
        .success();
    vouch(t.path())
        .args([
            "verify-blob",
            f.join("artifact.txt").to_str().unwrap(),
            "--bundle",
            "x.json",
            "--key",
            f.join("test-key.pub.pem").to_str().unwrap(),
        ])
        .assert()
        .success();
}

#[test]
fn judges_on_p384_and_ed25519() {
    let vbk = judge("verify-bundle-key");
    let vd = judge("verify-dsse");
    let t = setup();
    let d = t.path();
    let p = |n: &str| d.join(n);
    for alg in ["ecdsa-p384", "ed25519"] {
        vouch(d)
            .args([
                "key",
                "generate",
                "--algorithm",
                alg,
                "--output-key-prefix",
                alg,
            ])
            .assert()
            .success();
        let key = format!("{alg}.key");
        vouch(d)
            .args([
                "sign-blob",
                "art.bin",
                "--key",
                &key,
                "--bundle",
                &format!("{alg}.blob.json"),
            ])
            .assert()
            .success();
        vouch(d)
            .args([
                "attest",
                "art.bin",
                "--predicate",
                "pred.json",
                "--key",
                &key,
                "--bundle",
                &format!("{alg}.att.json"),
            ])
            .assert()
            .success();
        vouch(d)
            .args([
                "attest",
                "art.bin",
                "--predicate",
                "pred.json",
                "--format",
                "dsse",
                "--key",
                &key,
                "--bundle",
                &format!("{alg}.env.json"),
            ])
            .assert()
            .success();
        let public = p(&format!("{alg}.pub"));
        assert_eq!(
            run_judge(&vd, &[&p(&format!("{alg}.env.json")), &public]),
            0,
            "{alg}"
        );
        // What docs/signing.md states about sigstore-js 3.1.1.
        let (blob, att) = if alg == "ed25519" { (1, 0) } else { (0, 1) };
        assert_eq!(
            run_judge(
                &vbk,
                &[&p(&format!("{alg}.blob.json")), &p("art.bin"), &public]
            ),
            blob,
            "{alg} blob"
        );
        assert_eq!(
            run_judge(
                &vbk,
                &[&p(&format!("{alg}.att.json")), &p("art.bin"), &public]
            ),
            att,
            "{alg} dsse"
        );
        for (cmd, b) in [
            ("verify-blob", "blob"),
            ("verify-attestation", "att"),
            ("verify-attestation", "env"),
        ] {
            vouch(d)
                .args([
                    cmd,
                    "art.bin",
                    "--bundle",
                    &format!("{alg}.{b}.json"),
                    "--key",
                    &format!("{alg}.pub"),
                ])
                .assert()
                .success();
        }
    }
}

fn openssl() -> Std {
    let found = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|d| d.join("openssl"))
            .find(|p| p.exists())
    });
    Std::new(found.expect("`openssl` is missing (Debian package openssl): it judges our key files"))
}

#[test]
fn openssl_reads_our_encrypted_keys_and_we_read_its() {
    let t = setup();
    let d = t.path();
    // OpenSSL decrypts vouch's PBES2 key with the same passphrase and derives the same public key.
    let out = openssl()
        .current_dir(d)
        .args([
            "pkey",
            "-in",
            "k.key",
            "-passin",
            &format!("pass:{PASS}"),
            "-pubout",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(out.stdout, std::fs::read(d.join("k.pub")).unwrap());
    let wrong = openssl()
        .current_dir(d)
        .args(["pkey", "-in", "k.key", "-passin", "pass:wrong", "-pubout"])
        .output()
        .unwrap();
    assert!(!wrong.status.success());
    // An OpenSSL-encrypted key (its defaults: PBES2, PBKDF2-SHA256, AES-256-CBC) signs in vouch,
    // and an OpenSSL signature verifies in vouch.
    let generated = openssl()
        .current_dir(d)
        .args([
            "genpkey",
            "-algorithm",
            "EC",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-aes-256-cbc",
            "-pass",
            &format!("pass:{PASS}"),
            "-out",
            "o.key",
        ])
        .status()
        .unwrap();
    assert!(generated.success());
    let public = vouch(d)
        .args(["key", "public-key", "--key", "o.key"])
        .assert()
        .success();
    std::fs::write(d.join("o.pub"), &public.get_output().stdout).unwrap();
    vouch(d)
        .args([
            "sign-blob",
            "art.bin",
            "--key",
            "o.key",
            "--bundle",
            "o.json",
        ])
        .assert()
        .success();
    vouch(d)
        .args([
            "verify-blob",
            "art.bin",
            "--bundle",
            "o.json",
            "--key",
            "o.pub",
        ])
        .assert()
        .success();
    let sig = openssl()
        .current_dir(d)
        .args([
            "dgst",
            "-sha256",
            "-sign",
            "o.key",
            "-passin",
            &format!("pass:{PASS}"),
            "art.bin",
        ])
        .output()
        .unwrap();
    assert!(sig.status.success());
    std::fs::write(d.join("o.sig"), vouch_attest::b64::encode(&sig.stdout)).unwrap();
    vouch(d)
        .args([
            "verify-blob",
            "art.bin",
            "--signature",
            "o.sig",
            "--key",
            "o.pub",
        ])
        .assert()
        .success();
    vouch(d)
        .args([
            "verify-blob",
            "pred.json",
            "--signature",
            "o.sig",
            "--key",
            "o.pub",
        ])
        .assert()
        .code(1);
}
