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

/// A TUF repository made here (tough's editor, an Ed25519 key, consistent snapshots) that
/// publishes `trusted_root.json`; returns the repository directory and its root.json.
fn tuf_repo(dir: &Path, trusted_root: &[u8]) -> (PathBuf, PathBuf) {
    use std::collections::HashMap;
    use std::num::NonZeroU64;
    use tough::editor::RepositoryEditor;
    use tough::editor::signed::PathExists;
    use tough::key_source::{KeySource, LocalKeySource};
    use tough::schema::{RoleKeys, RoleType, Root, Signature, Signed};
    use tough::sign::{Sign, parse_keypair};

    let rng = aws_lc_rs::rand::SystemRandom::new();
    let pkcs8 = aws_lc_rs::signature::Ed25519KeyPair::generate_pkcs8v1(&rng).unwrap();
    let key_path = dir.join("tuf.der");
    std::fs::write(&key_path, pkcs8.as_ref()).unwrap();
    let src = dir.join("targets-src");
    std::fs::create_dir_all(&src).unwrap();
    std::fs::write(src.join("trusted_root.json"), trusted_root).unwrap();
    let repo = dir.join("tuf-repo");
    let root_path = dir.join("root.json");
    let one = NonZeroU64::new(1).unwrap();
    let expires = jiff_tough::Timestamp::now() + jiff_tough::SignedDuration::from_hours(24 * 7);

    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let signer = parse_keypair(pkcs8.as_ref()).unwrap();
        let key = signer.tuf_key();
        let key_id = key.key_id().unwrap();
        let role = || RoleKeys {
            keyids: vec![key_id.clone()],
            threshold: one,
            _extra: HashMap::new(),
        };
        let root = Root {
            spec_version: "1.0.0".into(),
            consistent_snapshot: true,
            version: one,
            expires,
            keys: HashMap::from([(key_id.clone(), key)]),
            roles: HashMap::from([
                (RoleType::Root, role()),
                (RoleType::Snapshot, role()),
                (RoleType::Targets, role()),
                (RoleType::Timestamp, role()),
            ]),
            _extra: HashMap::new(),
        };
        use tough::schema::Role as _;
        let sig = signer
            .sign(&root.canonical_form().unwrap(), &rng)
            .await
            .unwrap();
        let signed = Signed {
            signed: root,
            signatures: vec![Signature {
                keyid: key_id,
                sig: sig.into(),
            }],
        };
        std::fs::write(&root_path, serde_json::to_vec_pretty(&signed).unwrap()).unwrap();

        let mut editor = RepositoryEditor::new(&root_path).await.unwrap();
        editor
            .targets_version(one)
            .unwrap()
            .targets_expires(expires)
            .unwrap()
            .snapshot_version(one)
            .snapshot_expires(expires)
            .timestamp_version(one)
            .timestamp_expires(expires);
        editor
            .add_target_path(src.join("trusted_root.json"))
            .await
            .unwrap();
        let keys: Vec<Box<dyn KeySource>> = vec![Box::new(LocalKeySource { path: key_path })];
        let signed_repo = editor.sign(&keys).await.unwrap();
        signed_repo.write(&repo).await.unwrap();
        signed_repo
            .copy_targets(&src, repo.join("targets"), PathExists::Fail)
            .await
            .unwrap();
    });
    (repo, root_path)
}

#[test]
fn trust_update_verifies_a_tuf_repository_before_installing() {
    let t = tempfile::tempdir().unwrap();
    let d = t.path();
    let root_bytes =
        std::fs::read(case("sigstore-rust-cosign-v3-blob").join("trusted_root.json")).unwrap();
    let (repo, tuf_root) = tuf_repo(d, &root_bytes);
    let url = format!("file://{}", repo.display());

    // No TUF root to start from: usage.
    vouch(d)
        .args(["trust", "update", "--tuf-url", &url])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("--tuf-root"));
    // --offline never reaches for the network.
    vouch(d)
        .args(["--offline", "trust", "update", "--tuf-root"])
        .arg(&tuf_root)
        .assert()
        .code(2)
        .stderr(predicate::str::contains("--offline"));

    vouch(d)
        .args(["trust", "update", "--tuf-url", &url, "--tuf-root"])
        .arg(&tuf_root)
        .assert()
        .success();
    assert_eq!(
        std::fs::read(d.join("store/trusted_root.json")).unwrap(),
        root_bytes
    );
    assert!(
        d.join("store/tuf/root.json").is_file(),
        "the verified TUF root is kept"
    );
    // Later runs start from the stored root.
    vouch(d)
        .args(["--offline", "trust", "update", "--tuf-url", &url])
        .assert()
        .success();

    // A target changed after signing: refused, nothing installed.
    let target = std::fs::read_dir(repo.join("targets"))
        .unwrap()
        .filter_map(|e| e.ok())
        .find(|e| {
            e.file_name()
                .to_string_lossy()
                .ends_with("trusted_root.json")
        })
        .unwrap()
        .path();
    let mut bytes = std::fs::read(&target).unwrap();
    bytes[10] ^= 1;
    std::fs::write(&target, bytes).unwrap();
    let other = tempfile::tempdir().unwrap();
    vouch(d)
        .env("VOUCH_TRUST_DIR", other.path().join("store"))
        .args(["trust", "update", "--tuf-url", &url, "--tuf-root"])
        .arg(&tuf_root)
        .assert()
        .code(1)
        .stderr(predicate::str::contains("nothing installed"));
    assert!(!other.path().join("store/trusted_root.json").exists());
    // Metadata signed by another key: refused.
    let forged = tempfile::tempdir().unwrap();
    let (_, other_root) = tuf_repo(forged.path(), &root_bytes);
    vouch(d)
        .env("VOUCH_TRUST_DIR", other.path().join("store2"))
        .args(["trust", "update", "--tuf-url", &url, "--tuf-root"])
        .arg(&other_root)
        .assert()
        .code(1);
}
