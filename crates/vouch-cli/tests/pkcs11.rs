//! Signing with a key held in SoftHSM2 through a `pkcs11:` URI (RFC 7512).
//!
//! Needs the Debian packages `softhsm2` and `opensc` (for `pkcs11-tool`), installed by
//! `.ci/setup.d/30-softhsm.sh`. Missing tools fail the test with that instruction.

use std::path::{Path, PathBuf};
use std::process::Command as Std;

use assert_cmd::Command;
use predicates::prelude::*;
use tempfile::TempDir;

mod softhsm;
use softhsm::{module, run, tool};

/// A private SoftHSM2 token directory with one P-256 key labelled `sign`.
fn token(dir: &Path) -> PathBuf {
    let conf = softhsm::init_token(dir, "vouch-test", "1234");
    run(Std::new(tool("pkcs11-tool"))
        .env("SOFTHSM2_CONF", &conf)
        .arg("--module")
        .arg(module())
        .args([
            "--token-label",
            "vouch-test",
            "--login",
            "--pin",
            "1234",
            "--keypairgen",
            "--key-type",
            "EC:prime256v1",
            "--label",
            "sign",
            "--id",
            "01",
        ]));
    conf
}

fn vouch(dir: &Path, conf: &Path) -> Command {
    let mut c = Command::cargo_bin("vouch").unwrap();
    c.current_dir(dir)
        .env("SOFTHSM2_CONF", conf)
        .env("VOUCH_PKCS11_PIN", "1234")
        .env_remove("VOUCH_PASSWORD");
    c
}

#[test]
fn sign_and_verify_with_a_softhsm_key() {
    let t = TempDir::new().unwrap();
    let d = t.path();
    let conf = token(d);
    std::fs::write(d.join("art.bin"), vec![42u8; 100_000]).unwrap();
    let uri = format!(
        "pkcs11:token=vouch-test;object=sign?module-path={}",
        module().display()
    );
    vouch(d, &conf)
        .args(["sign-blob", "art.bin", "--key", &uri, "--bundle", "b.json"])
        .assert()
        .success();
    let public = vouch(d, &conf)
        .args(["key", "public-key", "--key", &uri])
        .assert()
        .success();
    std::fs::write(d.join("hsm.pub"), &public.get_output().stdout).unwrap();
    vouch(d, &conf)
        .args([
            "verify-blob",
            "art.bin",
            "--bundle",
            "b.json",
            "--key",
            "hsm.pub",
        ])
        .assert()
        .success();
    // The token's public key works as a verification key reference too.
    vouch(d, &conf)
        .args([
            "verify-blob",
            "art.bin",
            "--bundle",
            "b.json",
            "--key",
            &uri,
        ])
        .assert()
        .success();
    // Attestations through the HSM; the module found by the default search path.
    std::fs::write(d.join("pred.json"), "{}").unwrap();
    vouch(d, &conf)
        .args([
            "attest",
            "art.bin",
            "--predicate",
            "pred.json",
            "--key",
            "pkcs11:token=vouch-test;id=%01",
            "--bundle",
            "att.json",
        ])
        .assert()
        .success();
    vouch(d, &conf)
        .args([
            "verify-attestation",
            "art.bin",
            "--bundle",
            "att.json",
            "--key",
            "hsm.pub",
        ])
        .assert()
        .success();
    // Bad PIN, unknown token, unknown object: exit 2 with the reason.
    vouch(d, &conf)
        .env("VOUCH_PKCS11_PIN", "0000")
        .args(["sign-blob", "art.bin", "--key", &uri])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("wrong PIN"));
    vouch(d, &conf)
        .args([
            "sign-blob",
            "art.bin",
            "--key",
            "pkcs11:token=nope;object=sign",
        ])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("no token matches"));
    vouch(d, &conf)
        .args([
            "sign-blob",
            "art.bin",
            "--key",
            "pkcs11:token=vouch-test;object=nope",
        ])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("no private key matches"));
    vouch(d, &conf)
        .env_remove("VOUCH_PKCS11_PIN")
        .args(["sign-blob", "art.bin", "--key", &uri])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("VOUCH_PKCS11_PIN"));
}
