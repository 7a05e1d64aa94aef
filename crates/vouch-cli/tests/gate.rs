//! The build → release → gate slice end to end: provenance, release, gate decisions (allow,
//! missing provenance, tampered artifact, untrusted key, freeze, break-glass, expired approval),
//! the break-glass log, and the external @sigstore/verify judge on every release bundle.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command as Process;

use assert_cmd::Command;
use predicates::prelude::*;

fn vouch(dir: &Path) -> Command {
    let mut c = Command::cargo_bin("vouch").expect("vouch binary");
    c.current_dir(dir)
        .env("VOUCH_PASSWORD", "test-pass")
        .env("SOURCE_DATE_EPOCH", "1700000000")
        .env("VOUCH_NOW", "2026-11-24T12:00:00Z")
        .env("VOUCH_TODAY", "2026-11-24");
    for v in ["GITHUB_ACTIONS", "GITLAB_CI"] {
        c.env_remove(v);
    }
    c
}

const POLICY: &str =
    "signatures:\n  keys: [release.pub]\n  threshold: 1\nattestations:\n  - type: slsaprovenance\n";

fn released() -> tempfile::TempDir {
    let d = tempfile::tempdir().unwrap();
    vouch(d.path())
        .args(["key", "generate", "--output-key-prefix", "release"])
        .assert()
        .code(0);
    fs::create_dir(d.path().join("dist")).unwrap();
    fs::write(d.path().join("dist/app"), "binary one\n").unwrap();
    fs::write(d.path().join("dist/app2"), "binary two\n").unwrap();
    vouch(d.path())
        .args([
            "release",
            "dist/app",
            "dist/app2",
            "--key",
            "release.key",
            "--out-dir",
            "rel",
            // The fixture tree has artifacts but no lockfile: an intentionally empty SBOM.
            "--allow-empty",
        ])
        .assert()
        .code(0);
    fs::write(d.path().join("gate.yaml"), POLICY).unwrap();
    d
}

#[test]
fn release_then_gate_allows() {
    let d = released();
    let manifest: serde_json::Value =
        serde_json::from_slice(&fs::read(d.path().join("rel/release.json")).unwrap()).unwrap();
    assert_eq!(manifest["artifacts"].as_array().unwrap().len(), 2);
    for f in manifest["files"].as_array().unwrap() {
        assert!(
            d.path()
                .join("rel")
                .join(f["path"].as_str().unwrap())
                .is_file()
        );
    }
    vouch(d.path())
        .args(["gate", "dist/app", "--policy", "gate.yaml"])
        .assert()
        .code(0)
        .stdout(
            predicate::str::starts_with("ALLOW: dist/app").and(predicate::str::contains(
                "attestation/slsaprovenance: https://slsa.dev/provenance/v1 signed by release.pub",
            )),
        );
    // By digest, with the release named explicitly, as JSON.
    let digest = manifest["artifacts"][0]["sha256"]
        .as_str()
        .unwrap()
        .to_string();
    let out = vouch(d.path())
        .args([
            "gate",
            &format!("sha256:{digest}"),
            "--policy",
            "gate.yaml",
            "--release",
            "rel",
            "--format",
            "json",
        ])
        .output()
        .unwrap();
    let decision: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    // A bare digest cannot check a blob signature (that needs the bytes), but the attestation
    // still verifies against the digest.
    assert_eq!(decision["requirements"][1]["outcome"], "met");
    assert_eq!(decision["requirements"][0]["outcome"], "not-met");
}

#[test]
fn missing_provenance_tamper_and_untrusted_key_deny_with_reasons() {
    let d = released();
    // A policy that wants provenance from another builder.
    fs::write(
        d.path().join("builder.yaml"),
        format!("{POLICY}    builder_ids: [\"https://github.com/acme/*\"]\n"),
    )
    .unwrap();
    vouch(d.path())
        .args(["gate", "dist/app", "--policy", "builder.yaml"])
        .assert()
        .code(1)
        .stdout(predicate::str::contains("provenance builder not allowed"));

    // Untrusted signer: a key the policy does not name.
    vouch(d.path())
        .args(["key", "generate", "--output-key-prefix", "stranger"])
        .assert()
        .code(0);
    fs::write(
        d.path().join("other.yaml"),
        "signatures:\n  keys: [stranger.pub]\n",
    )
    .unwrap();
    vouch(d.path())
        .args(["gate", "dist/app", "--policy", "other.yaml"])
        .assert()
        .code(1)
        .stdout(predicate::str::contains("signature by untrusted key"));

    // Remove the provenance attestation from the release.
    let manifest_path = d.path().join("rel/release.json");
    let mut manifest: serde_json::Value =
        serde_json::from_slice(&fs::read(&manifest_path).unwrap()).unwrap();
    manifest["attestations"] = serde_json::json!([]);
    fs::write(&manifest_path, serde_json::to_vec(&manifest).unwrap()).unwrap();
    vouch(d.path())
        .args(["gate", "dist/app", "--policy", "gate.yaml"])
        .assert()
        .code(1)
        .stdout(predicate::str::contains(
            "no slsaprovenance attestation found",
        ));

    // Tamper with the artifact.
    fs::write(d.path().join("dist/app2"), "binary 2\n").unwrap();
    vouch(d.path())
        .args(["gate", "dist/app2", "--policy", "gate.yaml"])
        .assert()
        .code(1)
        .stdout(predicate::str::contains("modified after signing"));

    // No evidence at all.
    fs::write(d.path().join("lonely"), "x").unwrap();
    vouch(d.path())
        .args([
            "gate",
            "lonely",
            "--policy",
            "gate.yaml",
            "--release",
            "rel",
        ])
        .assert()
        .code(1)
        .stdout(predicate::str::contains("no signature found"));
}

#[test]
fn freeze_break_glass_and_the_log() {
    let d = released();
    fs::write(d.path().join("freeze.yaml"), format!("{POLICY}environment: prod\nfreeze:\n  - name: year-end\n    start: 2026-11-20T00:00:00Z\n    end: 2026-12-01T00:00:00Z\n    environments: [prod]\nbreak_glass:\n  approvers: [alice]\n  max_ttl: 4h\n")).unwrap();
    vouch(d.path())
        .args(["gate", "dist/app", "--policy", "freeze.yaml"])
        .assert()
        .code(1)
        .stdout(predicate::str::contains(
            "frozen until 2026-12-01T00:00:00Z",
        ));
    // Staging is not frozen.
    vouch(d.path())
        .args([
            "gate",
            "dist/app",
            "--policy",
            "freeze.yaml",
            "--environment",
            "stage",
        ])
        .assert()
        .code(0);
    // Only listed approvers, within max_ttl.
    vouch(d.path())
        .args([
            "gate",
            "dist/app",
            "--policy",
            "freeze.yaml",
            "--break-glass",
            "INC-7 hotfix",
            "--approver",
            "mallory",
        ])
        .assert()
        .code(2);
    vouch(d.path())
        .args([
            "gate",
            "dist/app",
            "--policy",
            "freeze.yaml",
            "--break-glass",
            "INC-7 hotfix",
            "--approver",
            "alice",
            "--ttl",
            "8h",
        ])
        .assert()
        .code(2);
    vouch(d.path())
        .args([
            "gate",
            "dist/app",
            "--policy",
            "freeze.yaml",
            "--break-glass",
            "INC-7 hotfix",
            "--approver",
            "alice",
            "--ttl",
            "2h",
        ])
        .assert()
        .code(0)
        .stdout(
            predicate::str::contains("waived")
                .and(predicate::str::contains("break-glass #1 by alice")),
        );
    // The approval holds for its TTL, for this artifact only.
    vouch(d.path())
        .args(["gate", "dist/app", "--policy", "freeze.yaml"])
        .env("VOUCH_NOW", "2026-11-24T13:59:00Z")
        .assert()
        .code(0);
    vouch(d.path())
        .args(["gate", "dist/app2", "--policy", "freeze.yaml"])
        .assert()
        .code(1);
    vouch(d.path())
        .args(["gate", "dist/app", "--policy", "freeze.yaml"])
        .env("VOUCH_NOW", "2026-11-24T14:00:01Z")
        .assert()
        .code(1)
        .stdout(predicate::str::contains("frozen until"));
    // The log verifies; an edited one does not, and the gate refuses to use it.
    vouch(d.path())
        .args(["gate", "log", "verify"])
        .assert()
        .code(0)
        .stdout(predicate::str::contains("verified: 1 entries"));
    let log = d.path().join(".vouch/break-glass.log");
    let text = fs::read_to_string(&log).unwrap();
    fs::write(&log, text.replace("INC-7 hotfix", "routine deploy")).unwrap();
    vouch(d.path())
        .args(["gate", "log", "verify"])
        .assert()
        .code(1)
        .stdout(predicate::str::contains("was edited"));
    vouch(d.path())
        .args(["gate", "dist/app", "--policy", "freeze.yaml"])
        .assert()
        .code(2);
}

#[test]
fn bad_policies_exit_2() {
    let d = released();
    fs::write(
        d.path().join("bad.yaml"),
        "signatures:\n  keyz: [release.pub]\n",
    )
    .unwrap();
    vouch(d.path())
        .args(["gate", "dist/app", "--policy", "bad.yaml"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("bad.yaml:2:3").and(predicate::str::contains("keyz")));
    vouch(d.path())
        .args(["gate", "dist/app", "--policy", "missing.yaml"])
        .assert()
        .code(2);
    vouch(d.path())
        .args(["gate", "no-such-file", "--policy", "gate.yaml"])
        .assert()
        .code(2);
    vouch(d.path())
        .args([
            "release",
            "dist/app",
            "--key",
            "release.key",
            "--out-dir",
            "rel",
            "--allow-empty",
        ])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("already exists"));
}

#[test]
fn provenance_generate_from_github_actions_env_validates_as_slsa_v1() {
    let d = tempfile::tempdir().unwrap();
    fs::write(d.path().join("app"), "bin").unwrap();
    let out = vouch(d.path())
        .args(["provenance", "generate", "--subject", "app", "--sha512"])
        .env("GITHUB_ACTIONS", "true")
        .env("GITHUB_REPOSITORY", "acme/app")
        .env("GITHUB_REF", "refs/tags/v1.0.0")
        .env("GITHUB_SHA", "0123456789abcdef0123456789abcdef01234567")
        .env(
            "GITHUB_WORKFLOW_REF",
            "acme/app/.github/workflows/release.yml@refs/tags/v1.0.0",
        )
        .env("GITHUB_RUN_ID", "7")
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let st: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(st["predicateType"], "https://slsa.dev/provenance/v1");
    assert!(st["subject"][0]["digest"]["sha512"].is_string());
    vouch_attest::statement::validate_slsa_v1(&st["predicate"]).expect("valid SLSA v1 predicate");
    assert_eq!(
        st["predicate"]["runDetails"]["metadata"]["startedOn"],
        "2023-11-14T22:13:20Z"
    );
    // Deterministic.
    let again = vouch(d.path())
        .args(["provenance", "generate", "--subject", "app", "--sha512"])
        .env("GITHUB_ACTIONS", "true")
        .env("GITHUB_REPOSITORY", "acme/app")
        .env("GITHUB_REF", "refs/tags/v1.0.0")
        .env("GITHUB_SHA", "0123456789abcdef0123456789abcdef01234567")
        .env(
            "GITHUB_WORKFLOW_REF",
            "acme/app/.github/workflows/release.yml@refs/tags/v1.0.0",
        )
        .env("GITHUB_RUN_ID", "7")
        .output()
        .unwrap();
    assert_eq!(out.stdout, again.stdout);
    // The published SLSA v1 example passes the same validator (it is not a lenient check).
    let shared = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/vectors/attestations/statements/slsa-framework_github-actions-workflow_v1_example.json");
    let example: serde_json::Value = serde_json::from_slice(&fs::read(shared).unwrap()).unwrap();
    vouch_attest::statement::validate_slsa_v1(&example["predicate"])
        .expect("published example is valid");
    assert!(
        vouch_attest::statement::validate_slsa_v1(&serde_json::json!({"runDetails": {}})).is_err()
    );
    // checksums.txt as the subject list.
    fs::write(
        d.path().join("checksums.txt"),
        format!("{}  app\nnot a line\n", "a".repeat(64)),
    )
    .unwrap();
    vouch(d.path())
        .args(["provenance", "generate", "--checksums", "checksums.txt"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("checksums.txt:2"));
}

fn interop() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/interop")
}

#[test]
fn sigstore_verify_judge_accepts_every_release_bundle() {
    let d = released();
    let rel = d.path().join("rel");
    let manifest: serde_json::Value =
        serde_json::from_slice(&fs::read(rel.join("release.json")).unwrap()).unwrap();
    let judge = |bundle: &Path, artifact: &Path| {
        let out = Process::new(interop().join("verify-bundle-key"))
            .arg(bundle)
            .arg(artifact)
            .arg(d.path().join("release.pub"))
            .output()
            .expect("run the judge (.ci/setup.d/10-interop.sh installs it)");
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).into_owned()
                + &String::from_utf8_lossy(&out.stderr),
        )
    };
    let mut judged = 0;
    for a in manifest["artifacts"].as_array().unwrap() {
        let artifact = d.path().join("dist").join(a["name"].as_str().unwrap());
        let (code, out) = judge(&rel.join(a["signature"].as_str().unwrap()), &artifact);
        assert_eq!(code, Some(0), "judge rejected {}: {out}", a["signature"]);
        for att in manifest["attestations"].as_array().unwrap() {
            let (code, out) = judge(&rel.join(att["bundle"].as_str().unwrap()), &artifact);
            assert_eq!(code, Some(0), "judge rejected {}: {out}", att["bundle"]);
            judged += 1;
        }
        judged += 1;
    }
    let (code, out) = judge(
        &rel.join("checksums.txt.sigstore.json"),
        &rel.join("checksums.txt"),
    );
    assert_eq!(code, Some(0), "{out}");
    // And rejects a bundle for the wrong artifact.
    let (code, _) = judge(&rel.join("app.sigstore.json"), &d.path().join("dist/app2"));
    assert_eq!(code, Some(1));
    assert!(judged >= 4);
}

/// Writes `bytes` as a blob of the layout and returns its `sha256:` digest.
fn blob(layout: &Path, bytes: &[u8]) -> String {
    use sha2::Digest;
    let hex = hex::encode(sha2::Sha256::digest(bytes));
    fs::write(layout.join("blobs/sha256").join(&hex), bytes).unwrap();
    format!("sha256:{hex}")
}

#[test]
fn oci_image_layout_with_sigstore_referrers() {
    let d = tempfile::tempdir().unwrap();
    vouch(d.path())
        .args(["key", "generate", "--output-key-prefix", "release"])
        .assert()
        .code(0);
    let layout = d.path().join("image");
    fs::create_dir_all(layout.join("blobs/sha256")).unwrap();
    fs::write(
        layout.join("oci-layout"),
        r#"{"imageLayoutVersion":"1.0.0"}"#,
    )
    .unwrap();
    let config = blob(&layout, b"{}");
    let layer = blob(&layout, b"layer bytes");
    let manifest = serde_json::to_vec(&serde_json::json!({
        "schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": config, "size": 2},
        "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": layer, "size": 11}]
    }))
    .unwrap();
    let manifest_digest = blob(&layout, &manifest);
    let manifest_file = layout
        .join("blobs/sha256")
        .join(manifest_digest.trim_start_matches("sha256:"));
    // Sign and attest the manifest, then attach both bundles as OCI 1.1 referrers.
    vouch(d.path())
        .args(["sign-blob"])
        .arg(&manifest_file)
        .args(["--key", "release.key", "--bundle", "sig.json"])
        .assert()
        .code(0);
    fs::write(d.path().join("pred.json"), r#"{"buildDefinition":{"buildType":"https://example.com/t","externalParameters":{}},"runDetails":{"builder":{"id":"https://example.com/b"}}}"#).unwrap();
    vouch(d.path())
        .args(["attest"])
        .arg(&manifest_file)
        .args([
            "--predicate",
            "pred.json",
            "--type",
            "slsaprovenance",
            "--key",
            "release.key",
            "--bundle",
            "att.json",
        ])
        .assert()
        .code(0);
    let mut index = vec![
        serde_json::json!({"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": manifest_digest, "size": manifest.len(), "annotations": {"org.opencontainers.image.ref.name": "v1"}}),
    ];
    for b in ["sig.json", "att.json"] {
        let bytes = fs::read(d.path().join(b)).unwrap();
        let bundle = blob(&layout, &bytes);
        let empty = blob(&layout, b"{}");
        let referrer = serde_json::to_vec(&serde_json::json!({
            "schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "artifactType": "application/vnd.dev.sigstore.bundle.v0.3+json",
            "config": {"mediaType": "application/vnd.oci.empty.v1+json", "digest": empty, "size": 2},
            "layers": [{"mediaType": "application/vnd.dev.sigstore.bundle.v0.3+json", "digest": bundle, "size": bytes.len()}],
            "subject": {"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": manifest_digest, "size": manifest.len()}
        }))
        .unwrap();
        let r = blob(&layout, &referrer);
        index.push(serde_json::json!({"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": r, "size": referrer.len()}));
    }
    fs::write(
        layout.join("index.json"),
        serde_json::to_vec(&serde_json::json!({"schemaVersion": 2, "manifests": index})).unwrap(),
    )
    .unwrap();
    fs::write(d.path().join("gate.yaml"), POLICY).unwrap();
    vouch(d.path())
        .args(["gate", "image", "--policy", "gate.yaml"])
        .assert()
        .code(0)
        .stdout(predicate::str::contains(format!(
            "ALLOW: image:v1 ({manifest_digest})"
        )));
    vouch(d.path())
        .args(["gate", "image:v1", "--policy", "gate.yaml"])
        .assert()
        .code(0);
    vouch(d.path())
        .args(["gate", "image:v2", "--policy", "gate.yaml"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("0 image manifests match"));
    // Tampering with the manifest blob breaks the signature.
    let mut tampered = manifest.clone();
    tampered.push(b' ');
    fs::write(&manifest_file, &tampered).unwrap();
    vouch(d.path())
        .args(["gate", "image", "--policy", "gate.yaml"])
        .assert()
        .code(1)
        .stdout(predicate::str::contains("signature does not verify"));
}

#[test]
fn vulnerability_ceiling_uses_the_attested_sbom_and_the_database() {
    let d = tempfile::tempdir().unwrap();
    vouch(d.path())
        .args(["key", "generate", "--output-key-prefix", "release"])
        .assert()
        .code(0);
    // The source tree the release describes: one npm dependency with known advisories.
    fs::create_dir(d.path().join("src")).unwrap();
    fs::write(
        d.path().join("src/package-lock.json"),
        r#"{"name":"app","version":"1.0.0","lockfileVersion":3,"requires":true,"packages":{"":{"name":"app","version":"1.0.0","dependencies":{"pad-demo":"^1.2.0"}},"node_modules/pad-demo":{"version":"1.2.0"}}}"#,
    )
    .unwrap();
    fs::write(d.path().join("app"), "binary\n").unwrap();
    vouch(d.path())
        .args([
            "release",
            "app",
            "--key",
            "release.key",
            "--out-dir",
            "rel",
            "--sbom-source",
            "src",
        ])
        .assert()
        .code(0);
    assert!(d.path().join("rel/sbom.cdx.json").is_file());
    let osv = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/vuln/osv");
    vouch(d.path())
        .args(["db", "build"])
        .arg(&osv)
        .args(["-o", "osv.db"])
        .assert()
        .success();
    let policy =
        |max: &str| format!("{POLICY}vulnerabilities:\n  max_severity: {max}\n  db: osv.db\n");
    // The fixture database is old (2025-03-04); its age is judged further down.
    fs::write(
        d.path().join("vouch.toml"),
        "[vuln]\nmax_db_age = \"1000d\"\n",
    )
    .unwrap();
    fs::write(d.path().join("strict.yaml"), policy("low")).unwrap();
    vouch(d.path())
        .args(["gate", "app", "--policy", "strict.yaml"])
        .assert()
        .code(1)
        .stdout(
            predicate::str::contains("vulnerabilities: ")
                .and(predicate::str::contains("above the allowed low")),
        );
    fs::write(d.path().join("lenient.yaml"), policy("critical")).unwrap();
    // The fixture database's newest record is from 2025-03-04, far older than the default
    // max_db_age (7 days) at VOUCH_NOW: the condition fails whatever the findings.
    fs::remove_file(d.path().join("vouch.toml")).unwrap();
    vouch(d.path())
        .args(["gate", "app", "--policy", "lenient.yaml"])
        .assert()
        .code(1)
        .stdout(predicate::str::contains("older than max_db_age 7 days"));
    fs::write(
        d.path().join("vouch.toml"),
        "[vuln]\nmax_db_age = \"1000d\"\n",
    )
    .unwrap();
    vouch(d.path())
        .args(["gate", "app", "--policy", "lenient.yaml"])
        .assert()
        .code(0)
        .stdout(
            predicate::str::contains("within critical").and(predicate::str::contains(
                "newest record modified 2025-03-04",
            )),
        );
    // Without the database the gate cannot judge, and says so.
    fs::write(
        d.path().join("nodb.yaml"),
        policy("critical").replace("osv.db", "missing.db"),
    )
    .unwrap();
    vouch(d.path())
        .args(["gate", "app", "--policy", "nodb.yaml"])
        .assert()
        .code(1)
        .stdout(predicate::str::contains("cannot judge vulnerabilities"));
}

/// A directory holding the shared keyless fixture artifact with its blob bundle and
/// provenance attestation beside it, named as `discover` finds them, plus both trusted roots.
fn keyless_dir() -> tempfile::TempDir {
    let src = interop().join("fixtures/keyless");
    let d = tempfile::tempdir().unwrap();
    for (from, to) in [
        ("artifact.txt", "artifact.txt"),
        ("bundle.sigstore.json", "artifact.txt.sigstore.json"),
        (
            "attest.sigstore.json",
            "artifact.txt.provenance.sigstore.json",
        ),
        ("trusted_root.json", "trusted_root.json"),
        ("other_trusted_root.json", "other_trusted_root.json"),
    ] {
        fs::copy(src.join(from), d.path().join(to)).unwrap();
    }
    d
}

/// Writes `policy` as gate.yaml in `dir` and gates artifact.txt with it.
fn gate_artifact(dir: &Path, policy: &str) -> assert_cmd::assert::Assert {
    fs::write(dir.join("gate.yaml"), policy).unwrap();
    vouch(dir)
        .args(["gate", "artifact.txt", "--policy", "gate.yaml"])
        .assert()
}

fn keyless_policy(root: &str, identity: &str) -> String {
    format!(
        "signatures:\n  trusted_root: {root}\n  identities:\n    - {identity}\nattestations:\n  - type: slsaprovenance\n"
    )
}

#[test]
fn keyless_identities_allow_and_name_the_signer() {
    let d = keyless_dir();
    for identity in [
        "{issuer: https://issuer.vouch.example, subject: dev@vouch.example}",
        "{issuer_regexp: 'https://issuer\\.vouch\\.example', subject_regexp: '.*@vouch\\.example'}",
    ] {
        gate_artifact(d.path(), &keyless_policy("trusted_root.json", identity))
            .code(0)
            .stdout(predicate::str::starts_with("ALLOW: artifact.txt"))
            .stdout(predicate::str::contains(
                "dev@vouch.example (https://issuer.vouch.example)",
            ));
    }
}

#[test]
fn keyless_wrong_identity_wrong_root_and_key_only_policy_deny_as_untrusted() {
    let d = keyless_dir();
    // Another subject: the certificate verifies but names nobody the policy trusts.
    gate_artifact(
        d.path(),
        &keyless_policy(
            "trusted_root.json",
            "{issuer: https://issuer.vouch.example, subject: someone@else.example}",
        ),
    )
    .code(1)
    .stdout(predicate::str::contains("certificate identity mismatch"))
    .stdout(predicate::str::contains("untrusted"));
    // Another root: the certificate does not chain to what the policy trusts.
    gate_artifact(
        d.path(),
        &keyless_policy(
            "other_trusted_root.json",
            "{issuer: https://issuer.vouch.example, subject: dev@vouch.example}",
        ),
    )
    .code(1)
    .stdout(predicate::str::contains("untrusted certificate"));
    // A policy that trusts only keys: certificate-signed evidence is not trusted, and says so.
    vouch(d.path())
        .args(["key", "generate", "--output-key-prefix", "release"])
        .assert()
        .code(0);
    gate_artifact(d.path(), POLICY)
        .code(1)
        .stdout(predicate::str::contains(
            "signed with a certificate (keyless), and the policy names no `identities`",
        ));
}

#[test]
fn keyless_tampered_artifact_does_not_verify() {
    let d = keyless_dir();
    fs::write(d.path().join("artifact.txt"), "changed\n").unwrap();
    gate_artifact(
        d.path(),
        &keyless_policy(
            "trusted_root.json",
            "{issuer: https://issuer.vouch.example, subject: dev@vouch.example}",
        ),
    )
    .code(1)
    .stdout(predicate::str::contains("signature does not verify"));
}

#[test]
fn keyless_policy_errors_exit_2_with_lines() {
    let d = keyless_dir();
    for (policy, message) in [
        (
            "signatures:\n  identities:\n    - {issuer: i, subject: s}\n",
            "needs a `signatures.trusted_root`",
        ),
        (
            "signatures:\n  keys: []\n  trusted_root: trusted_root.json\n",
            "gate.yaml:3",
        ),
        (
            "signatures:\n  trusted_root: missing.json\n  identities:\n    - {issuer: i, subject: s}\n",
            "trusted root `missing.json` not found",
        ),
        (
            "signatures:\n  trusted_root: trusted_root.json\n  identities:\n    - {issuer: i, issuer_regexp: i, subject: s}\n",
            "not both",
        ),
    ] {
        gate_artifact(d.path(), policy)
            .code(2)
            .stderr(predicate::str::contains(message));
    }
    // A trusted root that exists but cannot be used is unusable evidence: deny, exit 1.
    gate_artifact(
        d.path(),
        "signatures:\n  trusted_root: gate.yaml\n  identities:\n    - {issuer: i, subject: s}\n",
    )
    .code(1)
    .stderr(predicate::str::contains("not a Sigstore trusted root"));
}

#[test]
fn transparency_log_requirement_on_release_evidence() {
    let d = tempfile::tempdir().unwrap();
    let p = d.path();
    vouch(p)
        .args(["key", "generate", "--output-key-prefix", "release"])
        .assert()
        .code(0);
    vouch(p)
        .args([
            "log",
            "init",
            "--origin",
            "example.com/releases",
            "--dir",
            "log",
        ])
        .assert()
        .code(0);
    let root = vouch(p)
        .args(["log", "trusted-root", "--dir", "log"])
        .assert()
        .code(0)
        .get_output()
        .stdout
        .clone();
    fs::write(p.join("log-root.json"), root).unwrap();
    fs::create_dir(p.join("dist")).unwrap();
    fs::write(p.join("dist/app"), "binary\n").unwrap();
    for (out, tlog) in [("logged", true), ("unlogged", false)] {
        let mut c = vouch(p);
        c.args([
            "release",
            "dist/app",
            "--key",
            "release.key",
            "--out-dir",
            out,
            "--allow-empty",
        ]);
        if tlog {
            c.args(["--tlog", "log"]);
        }
        c.assert().code(0);
    }
    let policy = "signatures:\n  keys: [release.pub]\n  transparency_log:\n    trusted_root: log-root.json\nattestations:\n  - type: slsaprovenance\n";
    fs::write(p.join("gate.yaml"), policy).unwrap();
    vouch(p)
        .args([
            "gate",
            "dist/app",
            "--policy",
            "gate.yaml",
            "--release",
            "logged",
        ])
        .assert()
        .code(0)
        .stdout(predicate::str::starts_with("ALLOW"));
    vouch(p)
        .args([
            "gate",
            "dist/app",
            "--policy",
            "gate.yaml",
            "--release",
            "unlogged",
        ])
        .assert()
        .code(1)
        .stdout(predicate::str::contains(
            "transparency log entry does not verify: the bundle has no transparency-log entry",
        ));
    // `required: false` accepts unlogged evidence but still checks entries that are there.
    fs::write(
        p.join("gate.yaml"),
        policy.replace("log-root.json\n", "log-root.json\n    required: false\n"),
    )
    .unwrap();
    vouch(p)
        .args([
            "gate",
            "dist/app",
            "--policy",
            "gate.yaml",
            "--release",
            "unlogged",
        ])
        .assert()
        .code(0);
    // The release's bundles carry their entries: the judge checks them against the log.
    let manifest: serde_json::Value =
        serde_json::from_slice(&fs::read(p.join("logged/release.json")).unwrap()).unwrap();
    let out = Process::new(interop().join("verify-bundle-key"))
        .current_dir(p)
        .env("VOUCH_INTEROP_TLOG_THRESHOLD", "1")
        .arg(format!(
            "logged/{}",
            manifest["attestations"][0]["bundle"].as_str().unwrap()
        ))
        .args(["dist/app", "release.pub", "log-root.json"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // A missing root is bad input with its line.
    fs::write(
        p.join("gate.yaml"),
        policy.replace("log-root.json", "nope.json"),
    )
    .unwrap();
    vouch(p)
        .args([
            "gate",
            "dist/app",
            "--policy",
            "gate.yaml",
            "--release",
            "logged",
        ])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("gate.yaml:4"))
        .stderr(predicate::str::contains(
            "trusted root `nope.json` not found",
        ));
}

#[test]
fn release_and_gate_fail_closed_on_empty_package_sources() {
    let d = tempfile::tempdir().unwrap();
    vouch(d.path())
        .args(["key", "generate", "--output-key-prefix", "release"])
        .assert()
        .code(0);
    fs::create_dir(d.path().join("src")).unwrap();
    fs::write(d.path().join("src/main.rs"), "fn main() {}\n").unwrap();
    fs::write(d.path().join("app"), "binary\n").unwrap();
    let release = |extra: &[&str]| {
        let mut c = vouch(d.path());
        c.args([
            "release",
            "app",
            "--key",
            "release.key",
            "--out-dir",
            "rel",
            "--sbom-source",
            "src",
        ])
        .args(extra);
        c
    };
    release(&[])
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "no package sources found under src",
        ));
    assert!(!d.path().join("rel").exists(), "no partial release is left");
    // Without --sbom-source, a tree with no package sources is released without an SBOM
    // (never an empty one), and the command says so.
    vouch(d.path())
        .args([
            "release",
            "app",
            "--key",
            "release.key",
            "--out-dir",
            "bare",
        ])
        .assert()
        .code(0)
        .stderr(predicate::str::contains("carries no SBOM"));
    assert!(d.path().join("bare").is_dir());
    assert!(!d.path().join("bare/sbom.cdx.json").exists());
    release(&["--allow-empty"]).assert().code(0);
    vouch(d.path())
        .args(["db", "build"])
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/vuln/osv"))
        .args(["-o", "osv.db"])
        .assert()
        .success();
    fs::write(
        d.path().join("vouch.toml"),
        "[vuln]\nmax_db_age = \"1000d\"\n",
    )
    .unwrap();
    let policy = format!("{POLICY}vulnerabilities:\n  max_severity: critical\n  db: osv.db\n");
    fs::write(d.path().join("gate.yaml"), &policy).unwrap();
    vouch(d.path())
        .args(["gate", "app", "--policy", "gate.yaml"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("no package sources found under"));
    fs::write(
        d.path().join("gate.yaml"),
        format!("{policy}  allow_empty: true\n"),
    )
    .unwrap();
    vouch(d.path())
        .args(["gate", "app", "--policy", "gate.yaml"])
        .assert()
        .code(0)
        .stdout(predicate::str::contains("no known vulnerabilities"));
}
