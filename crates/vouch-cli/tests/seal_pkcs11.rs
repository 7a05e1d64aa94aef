//! `vouch seal` with its key-encryption key inside a SoftHSM2 token (`--kek-pkcs11`).
//!
//! Needs the Debian package `softhsm2`, installed by `.ci/setup.d/30-softhsm.sh`; a missing
//! tool fails the test with that instruction.

use std::path::{Path, PathBuf};
use std::process::Command as Std;

use assert_cmd::Command;
use predicates::prelude::*;
use tempfile::TempDir;

mod softhsm;
use softhsm::module;

/// A PIN that must never show up in any output, error or audit line.
const PIN: &str = "pin-7f3a9c21e4";

/// A private SoftHSM2 token labelled `seal` in `dir`; returns the config path.
fn token(dir: &Path) -> PathBuf {
    softhsm::init_token(dir, "seal", PIN)
}

struct Hsm {
    dir: TempDir,
    conf: PathBuf,
}

impl Hsm {
    fn new() -> Hsm {
        let dir = tempfile::tempdir().unwrap();
        let conf = token(dir.path());
        Hsm { dir, conf }
    }

    fn uri(&self, object: &str) -> String {
        format!(
            "pkcs11:token=seal;object={object}?module-path={}",
            module().display()
        )
    }

    fn vouch(&self) -> Command {
        let mut c = Command::cargo_bin("vouch").unwrap();
        c.current_dir(self.dir.path())
            .env("SOFTHSM2_CONF", &self.conf)
            .env("VOUCH_PKCS11_PIN", PIN)
            .env_remove("VOUCH_SEAL_KEK")
            .env_remove("VOUCH_SEAL_KEK_FILE")
            .env_remove("VOUCH_SEAL_KEK_PKCS11");
        c
    }

    fn seal(&self, object: &str, args: &[&str]) -> Command {
        let mut c = self.vouch();
        c.args(["seal", "--kek-pkcs11", &self.uri(object)])
            .args(args);
        c
    }
}

fn no_pin(bytes: &[u8]) {
    assert!(
        !String::from_utf8_lossy(bytes).contains(PIN),
        "the PIN leaked: {}",
        String::from_utf8_lossy(bytes)
    );
}

#[test]
fn keyring_under_a_token_key_end_to_end() {
    let h = Hsm::new();
    let out = h
        .vouch()
        .args(["seal", "kek-init", "--pkcs11", &h.uri("kek")])
        .assert()
        .code(0)
        .get_output()
        .clone();
    no_pin(&out.stderr);
    // The token holds it as sensitive, never extractable, for encryption only.
    let listed = Std::new("pkcs11-tool")
        .env("SOFTHSM2_CONF", &h.conf)
        .arg("--module")
        .arg(module())
        .args(["--token-label", "seal", "--login", "--pin", PIN])
        .args(["--list-objects", "--type", "secrkey"])
        .output()
        .expect("pkcs11-tool (Debian opensc): run `bash .ci/setup.d/30-softhsm.sh`");
    let listed = String::from_utf8_lossy(&listed.stdout);
    assert!(listed.contains("AES length 32"), "{listed}");
    assert!(listed.contains("never extractable"), "{listed}");
    assert!(
        listed.contains("Usage:      encrypt, decrypt\n"),
        "{listed}"
    );
    // A second kek-init keeps the existing key.
    h.vouch()
        .args(["seal", "kek-init", "--pkcs11", &h.uri("kek")])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("already exists"));

    h.seal("kek", &["keygen"]).assert().code(0);
    let keyring = std::fs::read(h.dir.path().join(".vouch/seal/keyring")).unwrap();
    assert!(
        keyring.windows(8).any(|w| w == b"vsk-p11\x01"),
        "the keyring records that a token key wraps it"
    );
    std::fs::write(h.dir.path().join("plain.txt"), "db password: hunter2\n").unwrap();
    h.seal(
        "kek",
        &[
            "encrypt",
            "-i",
            "plain.txt",
            "-o",
            "sealed.bin",
            "--aad",
            "t=1",
        ],
    )
    .assert()
    .code(0);
    h.seal("kek", &["decrypt", "-i", "sealed.bin", "--aad", "t=1"])
        .assert()
        .code(0)
        .stdout("db password: hunter2\n");
    h.seal("kek", &["rotate"]).assert().code(0);
    h.seal("kek", &["rewrap", "sealed.bin", "--aad", "t=1"])
        .assert()
        .code(0);
    let status = h
        .seal("kek", &["status", "sealed.bin"])
        .assert()
        .code(0)
        .get_output()
        .clone();
    let text = String::from_utf8_lossy(&status.stdout);
    assert!(text.contains("sealed.bin"), "{text}");
    h.seal("kek", &["decrypt", "-i", "sealed.bin", "--aad", "t=1"])
        .assert()
        .code(0)
        .stdout("db password: hunter2\n");

    // Another key on the same token cannot open the keyring: the opaque keyring error.
    h.vouch()
        .args(["seal", "kek-init", "--pkcs11", &h.uri("other")])
        .assert()
        .code(0);
    h.seal("other", &["decrypt", "-i", "sealed.bin", "--aad", "t=1"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("could not be opened"));
    // An altered keyring fails the same way.
    let path = h.dir.path().join(".vouch/seal/keyring");
    let mut bytes = std::fs::read(&path).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 1;
    std::fs::write(&path, &bytes).unwrap();
    h.seal("kek", &["decrypt", "-i", "sealed.bin", "--aad", "t=1"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("could not be opened"));

    // The PIN appears in no audit line.
    let audit = std::fs::read(h.dir.path().join(".vouch/seal/audit.jsonl")).unwrap();
    no_pin(&audit);
}

#[test]
fn wrong_kind_missing_key_wrong_pin_and_bad_uri_are_clear() {
    let h = Hsm::new();
    // A keyring made under a local KEK, opened with a token key: named, not "altered".
    h.vouch()
        .args(["seal", "kek-init", "--pkcs11", &h.uri("kek")])
        .assert()
        .code(0);
    h.vouch()
        .env(
            "VOUCH_SEAL_KEK",
            "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
        )
        .args(["seal", "keygen"])
        .assert()
        .code(0);
    h.seal("kek", &["status"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "protected by a local key-encryption key",
        ));
    // And the reverse.
    std::fs::remove_file(h.dir.path().join(".vouch/seal/keyring")).unwrap();
    h.seal("kek", &["keygen"]).assert().code(0);
    h.vouch()
        .env(
            "VOUCH_SEAL_KEK",
            "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
        )
        .args(["seal", "status"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "protected by a key on a PKCS#11 token",
        ));
    // No such key on the token.
    h.seal("nokey", &["status"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("no AES key matches"))
        .stderr(predicate::str::contains("kek-init"));
    // Wrong PIN, given in the URI: refused, and the PIN is not echoed.
    let bad = format!("{}&pin-value=wrong-{PIN}", h.uri("kek"));
    let out = h
        .vouch()
        .args(["seal", "--kek-pkcs11", &bad, "status"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("wrong PIN"))
        .get_output()
        .clone();
    no_pin(&out.stderr);
    // Not a URI; both KEK options at once.
    h.vouch()
        .args(["seal", "--kek-pkcs11", "token=seal", "status"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("--kek-pkcs11"));
    h.vouch()
        .args([
            "seal",
            "--kek-pkcs11",
            &h.uri("kek"),
            "--kek-file",
            "k",
            "status",
        ])
        .assert()
        .code(2);
}
