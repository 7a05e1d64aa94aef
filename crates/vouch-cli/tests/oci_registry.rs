//! `vouch push|sign|verify|attest|verify-attestation|tree IMAGE` against a real registry:
//! Debian's docker-registry (distribution 2.8, no referrers API, so the referrers tag schema
//! is what vouch keeps), started per test on a free loopback port. The bundles stored there,
//! pulled back over HTTP, are judged by @sigstore/verify (`../shared/interop`).

mod support;

use std::path::{Path, PathBuf};
use std::process::Command as Process;

use assert_cmd::Command;
use predicates::prelude::*;
use support::oci::{self, DockerRegistry};

fn vouch(dir: &Path) -> Command {
    let mut c = Command::cargo_bin("vouch").unwrap();
    c.current_dir(dir)
        .env("VOUCH_PASSWORD", "")
        .env("DOCKER_CONFIG", dir.join("no-docker-config"))
        .env("SOURCE_DATE_EPOCH", "1767225600")
        .env_remove("VOUCH_REGISTRY_USERNAME")
        .env_remove("VOUCH_REGISTRY_PASSWORD");
    c
}

fn keys(dir: &Path, name: &str) {
    vouch(dir)
        .args(["key", "generate", "--output-key-prefix", name])
        .assert()
        .success();
}

fn stdout(c: &mut Command) -> String {
    let out = c.output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

/// Pushes a two-layer image built from files; returns (image digest, manifest bytes).
fn push_image(dir: &Path, reg: &DockerRegistry, repo_tag: &str, marker: &str) -> (String, Vec<u8>) {
    let layout = dir.join(format!("layout-{}", marker));
    let l1 = oci::tar_of(&[("etc/os-release", b"ID=debian\nVERSION_ID=12\n")]);
    let l2 = oci::tar_of(&[("app/marker.txt", marker.as_bytes())]);
    let manifest = oci::write_layout(&layout, &[l1, l2]);
    let pinned = stdout(
        vouch(dir)
            .arg("push")
            .arg(&layout)
            .arg(format!("{}/{repo_tag}", reg.host)),
    );
    let digest = oci::sha256(&manifest);
    assert!(pinned.ends_with(&format!("@{digest}")), "{pinned}");
    (digest, manifest)
}

fn interop() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/interop")
}

/// The bundles attached to `digest` in `repo`, read back from the registry over HTTP
/// (through the referrers tag schema index distribution 2.8 keeps for vouch).
fn stored_bundles(
    reg: &DockerRegistry,
    repo: &str,
    digest: &str,
) -> Vec<(serde_json::Value, Vec<u8>)> {
    let tag = digest.replace(':', "-");
    let (status, index) = oci::http_get(
        &reg.host,
        &format!("/v2/{repo}/manifests/{tag}"),
        "application/vnd.oci.image.index.v1+json",
    );
    assert_eq!(status, 200);
    let index: serde_json::Value = serde_json::from_slice(&index).unwrap();
    let mut out = Vec::new();
    for m in index["manifests"].as_array().unwrap() {
        let (s, body) = oci::http_get(
            &reg.host,
            &format!("/v2/{repo}/manifests/{}", m["digest"].as_str().unwrap()),
            "application/vnd.oci.image.manifest.v1+json",
        );
        assert_eq!(s, 200);
        let manifest: serde_json::Value = serde_json::from_slice(&body).unwrap();
        let layer = manifest["layers"][0]["digest"]
            .as_str()
            .unwrap()
            .to_string();
        let (s, bundle) = oci::http_get(&reg.host, &format!("/v2/{repo}/blobs/{layer}"), "*/*");
        assert_eq!(s, 200);
        out.push((manifest, bundle));
    }
    out
}

#[test]
fn sign_verify_by_tag_and_digest_second_signature_tree_and_judge() {
    let Some(bin) = oci::registry_binary() else {
        return;
    };
    let reg = DockerRegistry::start(&bin, None);
    let d = tempfile::tempdir().unwrap();
    let dir = d.path();
    keys(dir, "a");
    keys(dir, "b");
    let (digest, manifest) = push_image(dir, &reg, "team/app:v1", "one");
    let image = format!("{}/team/app:v1", reg.host);
    let pinned = format!("{}/team/app@{digest}", reg.host);

    // Signing a tag prints the digest it signed.
    let printed = stdout(vouch(dir).args(["sign", &image, "--key", "a.key"]));
    assert_eq!(printed, pinned);
    for r in [&image, &pinned] {
        vouch(dir)
            .args(["verify", r, "--key", "a.pub"])
            .assert()
            .code(0)
            .stderr(predicate::str::contains("Verified OK"));
    }
    vouch(dir)
        .args(["verify", &image, "--key", "b.pub"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("Verification failed"));

    // A second signature, added later, sits beside the first.
    vouch(dir)
        .args(["sign", &image, "--key", "b.key"])
        .assert()
        .success();
    vouch(dir)
        .args(["verify", &image, "--key", "b.pub"])
        .assert()
        .code(0);
    vouch(dir)
        .args(["verify", &image, "--key", "a.pub"])
        .assert()
        .code(0);
    let tree = stdout(vouch(dir).args(["tree", &image, "--format", "json"]));
    let tree: serde_json::Value = serde_json::from_str(&tree).unwrap();
    assert_eq!(tree["storage"], "referrers tag schema");
    let attached = tree["attachments"].as_array().unwrap();
    assert_eq!(attached.len(), 2);
    assert!(attached.iter().all(
        |a| a["predicateType"] == "https://sigstore.dev/cosign/sign/v1"
            && a["type"] == "application/vnd.dev.sigstore.bundle.v0.3+json"
    ));

    // The bundles as stored, pulled back, are accepted by @sigstore/verify for the image's
    // manifest bytes, with the key that made each.
    let artifact = dir.join("manifest.json");
    std::fs::write(&artifact, &manifest).unwrap();
    let bundles = stored_bundles(&reg, "team/app", &digest);
    assert_eq!(bundles.len(), 2);
    let mut accepted = 0;
    for (i, (m, bundle)) in bundles.iter().enumerate() {
        assert_eq!(
            m["artifactType"],
            "application/vnd.dev.sigstore.bundle.v0.3+json"
        );
        assert_eq!(
            m["config"]["mediaType"],
            "application/vnd.oci.empty.v1+json"
        );
        assert_eq!(m["subject"]["digest"], digest.as_str());
        assert_eq!(
            m["annotations"]["dev.sigstore.bundle.content"],
            "dsse-envelope"
        );
        assert_eq!(
            m["annotations"]["org.opencontainers.image.created"],
            "2026-01-01T00:00:00Z"
        );
        let path = dir.join(format!("bundle-{i}.json"));
        std::fs::write(&path, bundle).unwrap();
        for key in ["a.pub", "b.pub"] {
            let out = Process::new(interop().join("verify-bundle-key"))
                .arg(&path)
                .arg(&artifact)
                .arg(dir.join(key))
                .output()
                .expect("run the judge (.ci/setup.d/10-interop.sh installs it)");
            if out.status.code() == Some(0) {
                accepted += 1;
            }
        }
    }
    assert_eq!(
        accepted, 2,
        "each stored bundle is accepted for exactly its own key"
    );
}

#[test]
fn attestations_by_type() {
    let Some(bin) = oci::registry_binary() else {
        return;
    };
    let reg = DockerRegistry::start(&bin, None);
    let d = tempfile::tempdir().unwrap();
    let dir = d.path();
    keys(dir, "a");
    push_image(dir, &reg, "app:1", "att");
    let image = format!("{}/app:1", reg.host);
    std::fs::write(
        dir.join("slsa.json"),
        r#"{"buildDefinition":{"buildType":"https://example.com/b","externalParameters":{}},"runDetails":{"builder":{"id":"https://example.com/builder"}}}"#,
    )
    .unwrap();
    vouch(dir)
        .args([
            "attest",
            &image,
            "--predicate",
            "slsa.json",
            "--type",
            "slsaprovenance",
            "--key",
            "a.key",
        ])
        .assert()
        .success();
    vouch(dir)
        .args([
            "verify-attestation",
            &image,
            "--type",
            "slsaprovenance",
            "--key",
            "a.pub",
        ])
        .assert()
        .code(0);
    vouch(dir)
        .args([
            "verify-attestation",
            &image,
            "--type",
            "cyclonedx",
            "--key",
            "a.pub",
        ])
        .assert()
        .code(1);
    // An attestation is not a signature.
    vouch(dir)
        .args(["verify", &image, "--key", "a.pub"])
        .assert()
        .code(1);
    // A file subject still needs --bundle.
    vouch(dir)
        .args(["verify-attestation", "missing.tar", "--key", "a.pub"])
        .assert()
        .code(2);
}

#[test]
fn a_retagged_or_tampered_image_does_not_verify() {
    let Some(bin) = oci::registry_binary() else {
        return;
    };
    let reg = DockerRegistry::start(&bin, None);
    let d = tempfile::tempdir().unwrap();
    let dir = d.path();
    keys(dir, "a");
    let (digest, _) = push_image(dir, &reg, "app:1", "original");
    let image = format!("{}/app:1", reg.host);
    let pinned = format!("{}/app@{digest}", reg.host);
    vouch(dir)
        .args(["sign", &image, "--key", "a.key"])
        .assert()
        .success();

    // The tag moved to another image: its signature is not the old one's.
    push_image(dir, &reg, "app:1", "replaced");
    vouch(dir)
        .args(["verify", &image, "--key", "a.pub"])
        .assert()
        .code(1);
    vouch(dir)
        .args(["verify", &pinned, "--key", "a.pub"])
        .assert()
        .code(0);

    // The stored bundle altered on the registry's disk: the registry now serves bytes that
    // are not the digest they are asked by.
    let bundles = stored_bundles(&reg, "app", &digest);
    let layer = bundles[0].0["layers"][0]["digest"]
        .as_str()
        .unwrap()
        .to_string();
    let file = reg.blob_file(&layer);
    let mut bytes = std::fs::read(&file).unwrap();
    let i = bytes.len() / 2;
    bytes[i] ^= 0x01;
    std::fs::write(&file, &bytes).unwrap();
    vouch(dir)
        .args(["verify", &pinned, "--key", "a.pub"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("Verification failed"));

    // The image manifest altered on disk: asked for by digest, served as something else.
    let file = reg.blob_file(&digest);
    let mut bytes = std::fs::read(&file).unwrap();
    bytes.push(b'\n');
    std::fs::write(&file, &bytes).unwrap();
    vouch(dir)
        .args(["verify", &pinned, "--key", "a.pub"])
        .assert()
        .code(1);
}

#[test]
fn registry_requiring_auth() {
    let Some(bin) = oci::registry_binary() else {
        return;
    };
    let reg = DockerRegistry::start(&bin, Some(("ci", "s3cret-pw")));
    let d = tempfile::tempdir().unwrap();
    let dir = d.path();
    keys(dir, "a");
    let layout = dir.join("layout");
    oci::write_layout(&layout, &[oci::tar_of(&[("a.txt", b"a")])]);
    let image = format!("{}/private/app:1", reg.host);
    // No credentials: refused, usage-class error (exit 2), the password never printed.
    vouch(dir)
        .arg("push")
        .arg(&layout)
        .arg(&image)
        .assert()
        .code(2);
    // Flags (password from the environment).
    vouch(dir)
        .arg("push")
        .arg(&layout)
        .arg(&image)
        .args(["--registry-username", "ci"])
        .env("VOUCH_REGISTRY_PASSWORD", "s3cret-pw")
        .assert()
        .success();
    vouch(dir)
        .args([
            "sign",
            &image,
            "--key",
            "a.key",
            "--registry-username",
            "ci",
        ])
        .env("VOUCH_REGISTRY_PASSWORD", "s3cret-pw")
        .assert()
        .success();
    // Docker's config.json (`auths.<host>.auth` = base64 user:password).
    let docker = dir.join("docker");
    std::fs::create_dir_all(&docker).unwrap();
    let auth = base64_encode(b"ci:s3cret-pw");
    std::fs::write(
        docker.join("config.json"),
        format!(r#"{{"auths":{{"{}":{{"auth":"{auth}"}}}}}}"#, reg.host),
    )
    .unwrap();
    vouch(dir)
        .args(["verify", &image, "--key", "a.pub"])
        .env("DOCKER_CONFIG", &docker)
        .assert()
        .code(0);
    // A wrong password is refused and not echoed.
    vouch(dir)
        .args([
            "verify",
            &image,
            "--key",
            "a.pub",
            "--registry-username",
            "ci",
        ])
        .env("VOUCH_REGISTRY_PASSWORD", "wrong-pw-value")
        .assert()
        .code(2)
        .stderr(predicate::str::contains("wrong-pw-value").not());
}

fn base64_encode(b: &[u8]) -> String {
    const T: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut s = String::new();
    for c in b.chunks(3) {
        let n = (u32::from(c[0]) << 16)
            | (u32::from(*c.get(1).unwrap_or(&0)) << 8)
            | u32::from(*c.get(2).unwrap_or(&0));
        for i in 0..4 {
            if i <= c.len() {
                s.push(T[((n >> (18 - 6 * i)) & 63) as usize] as char);
            } else {
                s.push('=');
            }
        }
    }
    s
}

/// cosign v2's legacy layout, built byte for byte from cosign's published format
/// (specs/SIGNATURE_SPEC.md): the simple-signing payload as the layer of an image manifest
/// tagged `sha256-<hex>.sig`, the base64 signature in the layer's
/// `dev.cosignproject.cosign/signature` annotation.
#[test]
fn cosign_v2_legacy_signature_verifies() {
    let Some(bin) = oci::registry_binary() else {
        return;
    };
    let reg = DockerRegistry::start(&bin, None);
    let d = tempfile::tempdir().unwrap();
    let dir = d.path();
    keys(dir, "a");
    keys(dir, "b");
    let (digest, _) = push_image(dir, &reg, "legacy/app:1", "legacy");
    let payload = format!(
        r#"{{"critical":{{"identity":{{"docker-reference":"{}/legacy/app"}},"image":{{"docker-manifest-digest":"{digest}"}},"type":"cosign container image signature"}},"optional":null}}"#,
        reg.host
    );
    std::fs::write(dir.join("payload.json"), &payload).unwrap();
    vouch(dir)
        .args([
            "sign-blob",
            "payload.json",
            "--key",
            "a.key",
            "--output-signature",
            "payload.sig",
        ])
        .assert()
        .success();
    let sig = std::fs::read_to_string(dir.join("payload.sig")).unwrap();
    let sig_layout = dir.join("sig-layout");
    oci::write_artifact_layout(
        &sig_layout,
        &[payload.into_bytes()],
        "application/vnd.dev.cosign.simplesigning.v1+json",
        Some(vec![
            serde_json::json!({"dev.cosignproject.cosign/signature": sig.trim()}),
        ]),
    );
    let sig_tag = format!("{}/legacy/app:{}.sig", reg.host, digest.replace(':', "-"));
    vouch(dir)
        .arg("push")
        .arg(&sig_layout)
        .arg(&sig_tag)
        .assert()
        .success();
    let image = format!("{}/legacy/app:1", reg.host);
    vouch(dir)
        .args(["verify", &image, "--key", "a.pub"])
        .assert()
        .code(0)
        .stderr(predicate::str::contains(".sig layer"));
    vouch(dir)
        .args(["verify", &image, "--key", "b.pub"])
        .assert()
        .code(1);
    let tree = stdout(vouch(dir).args(["tree", &image]));
    assert!(tree.contains(".sig"), "{tree}");
    assert!(
        tree.contains("application/vnd.dev.cosign.simplesigning.v1+json"),
        "{tree}"
    );
}

// ---------------------------------------------------------------------------------------
// A registry with the OCI 1.1 referrers API (the in-test registry of support/oci_server.rs).

use support::oci_server::OciServer;

fn push_to(dir: &Path, host: &str, repo_tag: &str, marker: &str) -> (String, Vec<u8>) {
    let layout = dir.join(format!("layout-{marker}"));
    let manifest = oci::write_layout(
        &layout,
        &[oci::tar_of(&[("app/marker.txt", marker.as_bytes())])],
    );
    vouch(dir)
        .arg("push")
        .arg(&layout)
        .arg(format!("{host}/{repo_tag}"))
        .assert()
        .success();
    (oci::sha256(&manifest), manifest)
}

#[test]
fn referrers_api_registry_sign_attest_verify_without_tag_schema() {
    let server = OciServer::start();
    let d = tempfile::tempdir().unwrap();
    let dir = d.path();
    keys(dir, "a");
    let (digest, _) = push_to(dir, &server.host, "team/app:v1", "native");
    let image = format!("{}/team/app:v1", server.host);
    let pinned = format!("{}/team/app@{digest}", server.host);
    assert_eq!(
        stdout(vouch(dir).args(["sign", &image, "--key", "a.key"])),
        pinned
    );
    vouch(dir)
        .args(["verify", &pinned, "--key", "a.pub"])
        .assert()
        .code(0);
    vouch(dir)
        .args(["verify", &image, "--key", "a.pub"])
        .assert()
        .code(0);
    std::fs::write(
        dir.join("vuln.json"),
        r#"{"scanner":{"uri":"https://example.com/s"}}"#,
    )
    .unwrap();
    vouch(dir)
        .args([
            "attest",
            &image,
            "--predicate",
            "vuln.json",
            "--type",
            "vuln",
            "--key",
            "a.key",
        ])
        .assert()
        .success();
    vouch(dir)
        .args([
            "verify-attestation",
            &image,
            "--type",
            "vuln",
            "--key",
            "a.pub",
        ])
        .assert()
        .code(0);
    let tree: serde_json::Value = serde_json::from_str(&stdout(
        vouch(dir).args(["tree", &image, "--format", "json"]),
    ))
    .unwrap();
    assert_eq!(tree["storage"], "referrers API");
    assert_eq!(tree["attachments"].as_array().unwrap().len(), 2);
    // With the API, no referrers tag schema index is written.
    let (s, tags) = oci::http_get(&server.host, "/v2/team/app/tags/list", "application/json");
    assert_eq!(s, 200);
    let tags: serde_json::Value = serde_json::from_slice(&tags).unwrap();
    assert_eq!(tags["tags"], serde_json::json!(["v1"]));
}

#[test]
fn a_registry_serving_a_wrong_digest_fails_verification() {
    let server = OciServer::start();
    let d = tempfile::tempdir().unwrap();
    let dir = d.path();
    keys(dir, "a");
    let (digest, _) = push_to(dir, &server.host, "app:1", "wrong");
    let pinned = format!("{}/app@{digest}", server.host);
    vouch(dir)
        .args(["sign", &pinned, "--key", "a.key"])
        .assert()
        .success();
    vouch(dir)
        .args(["verify", &pinned, "--key", "a.pub"])
        .assert()
        .code(0);
    server
        .state
        .wrong_digest
        .store(true, std::sync::atomic::Ordering::SeqCst);
    vouch(dir)
        .args(["verify", &pinned, "--key", "a.pub"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("Verification failed"));
    // Signing refuses too: nothing is signed that is not the digest asked for.
    vouch(dir)
        .args(["sign", &pinned, "--key", "a.key"])
        .assert()
        .code(2);
}

#[test]
fn sbom_of_a_registry_image_matches_the_saved_layout() {
    let Some(bin) = oci::registry_binary() else {
        return;
    };
    let reg = DockerRegistry::start(&bin, None);
    let d = tempfile::tempdir().unwrap();
    let dir = d.path();
    let status = b"Package: zlib1g\nStatus: install ok installed\nArchitecture: amd64\nVersion: 1:1.2.13.dfsg-1\n\nPackage: gone\nStatus: install ok installed\nArchitecture: amd64\nVersion: 1.0\n\n";
    let status2 = b"Package: zlib1g\nStatus: install ok installed\nArchitecture: amd64\nVersion: 1:1.2.13.dfsg-1\n\n";
    let base = oci::tar_of(&[
        (
            "etc/os-release",
            b"ID=debian\nVERSION_ID=\"12\"\nVERSION_CODENAME=bookworm\n",
        ),
        ("var/lib/dpkg/status", status),
    ]);
    // The upper layer replaces the status file (a package removed), as a real build would.
    let upper = oci::tar_of(&[("var/lib/dpkg/status", status2)]);
    let layout = dir.join("layout");
    oci::write_layout(&layout, &[base, upper]);
    let image = format!("{}/os/app:1", reg.host);
    vouch(dir)
        .arg("push")
        .arg(&layout)
        .arg(&image)
        .assert()
        .success();
    let from_registry = stdout(vouch(dir).args(["sbom", "generate", &image]));
    let from_layout = stdout(vouch(dir).arg("sbom").arg("generate").arg(&layout));
    assert!(
        from_registry.contains("pkg:deb/debian/zlib1g@1:1.2.13.dfsg-1"),
        "{from_registry}"
    );
    assert!(
        !from_registry.contains("\"gone\""),
        "the upper layer's status wins"
    );
    let components =
        |s: &str| serde_json::from_str::<serde_json::Value>(s).unwrap()["components"].clone();
    assert_eq!(components(&from_registry), components(&from_layout));
}

#[test]
fn gate_a_registry_image_by_its_referrers() {
    let Some(bin) = oci::registry_binary() else {
        return;
    };
    let reg = DockerRegistry::start(&bin, None);
    let d = tempfile::tempdir().unwrap();
    let dir = d.path();
    keys(dir, "release");
    let (digest, _) = push_image(dir, &reg, "gated/app:1", "gate");
    let image = format!("{}/gated/app:1", reg.host);
    std::fs::write(
        dir.join("gate.yaml"),
        "signatures:\n  keys: [release.pub]\n  threshold: 1\nattestations:\n  - type: slsaprovenance\n",
    )
    .unwrap();
    // Nothing attached yet: denied.
    vouch(dir)
        .args(["gate", &image, "--policy", "gate.yaml"])
        .assert()
        .code(1);
    vouch(dir)
        .args(["sign", &image, "--key", "release.key"])
        .assert()
        .success();
    std::fs::write(
        dir.join("slsa.json"),
        r#"{"buildDefinition":{"buildType":"https://example.com/b","externalParameters":{}},"runDetails":{"builder":{"id":"https://example.com/builder"}}}"#,
    )
    .unwrap();
    // Signed but no provenance: still denied.
    vouch(dir)
        .args(["gate", &image, "--policy", "gate.yaml"])
        .assert()
        .code(1);
    vouch(dir)
        .args([
            "attest",
            &image,
            "--predicate",
            "slsa.json",
            "--type",
            "slsaprovenance",
            "--key",
            "release.key",
        ])
        .assert()
        .success();
    vouch(dir)
        .args(["gate", &image, "--policy", "gate.yaml"])
        .assert()
        .code(0)
        .stdout(predicate::str::contains(format!(
            "ALLOW: {}/gated/app@{digest}",
            reg.host
        )));
    // The tag moved: the new image has no evidence.
    push_image(dir, &reg, "gated/app:1", "moved");
    vouch(dir)
        .args(["gate", &image, "--policy", "gate.yaml"])
        .assert()
        .code(1);
}
