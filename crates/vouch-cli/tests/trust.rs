//! `vouch trust`: Offline Kits exported, tampered, imported; verification from the trust
//! store without --trusted-root, on a real public-good bundle.

use std::path::{Path, PathBuf};

use assert_cmd::Command;
use predicates::prelude::*;

fn vouch(dir: &Path) -> Command {
    let mut c = Command::cargo_bin("vouch").unwrap();
    c.current_dir(dir)
        .env("VOUCH_PASSWORD", "kit-pass")
        .env("VOUCH_TRUST_DIR", dir.join("store"))
        .env_remove("XDG_CONFIG_HOME");
    c
}

fn case(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/vectors/sigstore-bundles")
        .join(name)
}

#[test]
fn offline_kits_round_trip_and_refuse_tampering() {
    let t = tempfile::tempdir().unwrap();
    let d = t.path();
    let cosign = case("sigstore-rust-cosign-v3-blob");
    vouch(d)
        .args(["key", "generate", "--output-key-prefix", "publisher"])
        .assert()
        .success();

    // Without a root anywhere, keyless verification is a usage error naming the way out.
    let verify = |c: &mut Command| {
        c.args(["verify-blob"])
            .arg(cosign.join("cosign-v3-blob.txt"))
            .arg("--bundle")
            .arg(cosign.join("bundle.sigstore.json"))
            .args([
                "--certificate-identity",
                "w.vollprecht@gmail.com",
                "--certificate-oidc-issuer",
                "https://github.com/login/oauth",
            ])
            .assert()
    };
    verify(&mut vouch(d))
        .code(2)
        .stderr(predicate::str::contains("vouch trust import"));

    vouch(d)
        .args(["trust", "export", "--out", "kit", "--key", "publisher.key"])
        .arg("--trusted-root")
        .arg(cosign.join("trusted_root.json"))
        .assert()
        .success();
    for f in [
        "trusted_root.json",
        "manifest.json",
        "manifest.sigstore.json",
    ] {
        assert!(d.join("kit").join(f).is_file(), "{f}");
    }

    // A changed root, an extra file, or another publisher's key: refused, nothing installed.
    let copy = |name: &str| {
        let to = d.join(name);
        std::fs::create_dir_all(&to).unwrap();
        for e in std::fs::read_dir(d.join("kit")).unwrap() {
            let e = e.unwrap();
            std::fs::copy(e.path(), to.join(e.file_name())).unwrap();
        }
        to
    };
    let changed = copy("changed");
    let mut root = std::fs::read(changed.join("trusted_root.json")).unwrap();
    root.insert(1, b' ');
    std::fs::write(changed.join("trusted_root.json"), root).unwrap();
    vouch(d)
        .args(["trust", "import", "changed", "--key", "publisher.pub"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("differs from the signed manifest"));
    let extra = copy("extra");
    std::fs::write(extra.join("evil.json"), "{}").unwrap();
    vouch(d)
        .args(["trust", "import", "extra", "--key", "publisher.pub"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("not in the signed manifest"));
    vouch(d)
        .args(["key", "generate", "--output-key-prefix", "other"])
        .assert()
        .success();
    vouch(d)
        .args(["trust", "import", "kit", "--key", "other.pub"])
        .assert()
        .code(1);
    assert!(!d.join("store").exists(), "nothing installed on refusal");

    vouch(d)
        .args(["trust", "import", "kit", "--key", "publisher.pub"])
        .assert()
        .success();
    vouch(d)
        .args(["trust", "show"])
        .assert()
        .success()
        .stdout(predicate::str::contains("transparency logs:"))
        .stdout(predicate::str::contains("https://rekor.sigstore.dev"));

    // The store's root now verifies the public bundle, offline, with no --trusted-root.
    verify(&mut vouch(d))
        .success()
        .stderr(predicate::str::contains(
            "log inclusion ✓ (rekor.sigstore.dev",
        ))
        .stderr(predicate::str::contains("timestamp ✓"))
        .stderr(predicate::str::contains(
            "identity ✓ (w.vollprecht@gmail.com",
        ));
}
