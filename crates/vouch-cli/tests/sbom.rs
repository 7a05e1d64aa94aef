//! `vouch sbom generate|validate|diff` and the `sbom/*` checks, every exit-code path.

use std::path::{Path, PathBuf};

use assert_cmd::Command;
use predicates::prelude::*;

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../vouch-sbom/tests/fixtures")
        .join(name)
}

fn vouch() -> Command {
    let mut c = Command::cargo_bin("vouch").expect("binary");
    c.env("SOURCE_DATE_EPOCH", "1700000000");
    c
}

fn json(bytes: &[u8]) -> serde_json::Value {
    serde_json::from_slice(bytes).expect("JSON output")
}

fn stdout_of(args: &[&str], path: &Path) -> Vec<u8> {
    let out = vouch().args(args).arg(path).assert().success();
    out.get_output().stdout.clone()
}

#[test]
fn generate_cyclonedx_is_deterministic() {
    let a = stdout_of(&["sbom", "generate"], &fixture("express-npm"));
    let b = stdout_of(&["sbom", "generate"], &fixture("express-npm"));
    assert_eq!(a, b);
    let doc = json(&a);
    assert_eq!(doc["specVersion"], "1.6");
    assert_eq!(doc["metadata"]["timestamp"], "2023-11-14T22:13:20Z");
    assert!(
        doc["serialNumber"]
            .as_str()
            .unwrap()
            .starts_with("urn:uuid:")
    );
    assert!(doc["components"].as_array().unwrap().len() > 300);
}

#[test]
fn generate_formats_and_versions() {
    let out = stdout_of(
        &["sbom", "generate", "--spec-version", "1.7"],
        &fixture("clap"),
    );
    assert_eq!(json(&out)["specVersion"], "1.7");
    let out = stdout_of(
        &["sbom", "generate", "--format", "spdx-json"],
        &fixture("gin"),
    );
    assert_eq!(json(&out)["spdxVersion"], "SPDX-2.3");
    vouch()
        .args(["sbom", "generate", "--format", "cyclonedx-xml"])
        .arg(fixture("devise"))
        .assert()
        .success()
        .stdout(
            predicate::str::starts_with("<?xml")
                .and(predicate::str::contains("<purl>pkg:gem/rails@8.1.1</purl>")),
        );
}

#[test]
fn generate_to_file_and_serial_number() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("sbom.json");
    let serial = "urn:uuid:3e671687-395b-41f5-a30f-a58921a69b79";
    vouch()
        .args(["sbom", "generate", "--serial-number", serial, "-o"])
        .arg(&out)
        .arg(fixture("gin"))
        .assert()
        .success()
        .stdout("");
    let doc = json(&std::fs::read(&out).unwrap());
    assert_eq!(doc["serialNumber"], serial);
}

#[test]
fn generate_bad_usage_exits_2() {
    vouch()
        .args(["sbom", "generate", "--format", "cyclonedx-yaml"])
        .arg(fixture("gin"))
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "unknown --format `cyclonedx-yaml`",
        ));
    vouch()
        .args([
            "sbom",
            "generate",
            "--format",
            "cyclonedx-xml",
            "--spec-version",
            "1.7",
        ])
        .arg(fixture("gin"))
        .assert()
        .code(2)
        .stderr(predicate::str::contains("1.6 only"));
    vouch()
        .args(["sbom", "generate", "--spec-version", "1.5"])
        .arg(fixture("gin"))
        .assert()
        .code(2);
    vouch()
        .args(["sbom", "generate", "--serial-number", "abc"])
        .arg(fixture("gin"))
        .assert()
        .code(2)
        .stderr(predicate::str::contains("not a urn:uuid"));
    vouch()
        .args(["sbom", "generate"])
        .arg(fixture("gin"))
        .env("SOURCE_DATE_EPOCH", "yesterday")
        .assert()
        .code(2)
        .stderr(predicate::str::contains("SOURCE_DATE_EPOCH"));
    vouch()
        .args(["sbom", "generate", "/nonexistent/dir"])
        .assert()
        .code(2)
        .stderr(predicate::str::starts_with(
            "error: /nonexistent/dir: cannot read",
        ));
}

#[test]
fn malformed_lockfile_names_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let lock = dir.path().join("package-lock.json");
    let good = std::fs::read_to_string(fixture("express-npm/package-lock.json")).unwrap();
    std::fs::write(&lock, &good[..good.len() / 2]).unwrap();
    vouch()
        .args(["sbom", "generate"])
        .arg(&lock)
        .assert()
        .code(2)
        .stderr(
            predicate::str::is_match(r"^error: .*package-lock\.json:\d+:\d+: malformed JSON")
                .unwrap(),
        );
}

#[test]
fn monorepo_with_one_broken_lockfile_fails_unless_skipped() {
    let dir = tempfile::tempdir().unwrap();
    let web = dir.path().join("web");
    let api = dir.path().join("api");
    std::fs::create_dir_all(&web).unwrap();
    std::fs::create_dir_all(&api).unwrap();
    std::fs::copy(fixture("gin/go.mod"), api.join("go.mod")).unwrap();
    std::fs::write(
        web.join("yarn.lock"),
        "left-pad@^1:\n  version \"1.3.0\"\nbroken line\n",
    )
    .unwrap();
    // By default: exit 2 with file and line:column, and nothing written.
    let out_file = dir.path().join("sbom.cdx.json");
    vouch()
        .args(["sbom", "generate", "-o"])
        .arg(&out_file)
        .arg(dir.path())
        .assert()
        .code(2)
        .stdout("")
        .stderr(predicate::str::contains("error: web/yarn.lock:3:1:"));
    assert!(
        !out_file.exists(),
        "nothing is written on an unreadable lockfile"
    );
    // --strict (the old spelling of the default) still fails.
    vouch()
        .args(["sbom", "generate", "--strict"])
        .arg(dir.path())
        .assert()
        .code(2)
        .stderr(predicate::str::contains("error: web/yarn.lock:3:1:"));
    // --skip-unreadable goes on with the other lockfiles, warning about the skipped one.
    let out = vouch()
        .args(["sbom", "generate", "--skip-unreadable"])
        .arg(dir.path())
        .assert()
        .success()
        .stderr(predicate::str::contains("warning: web/yarn.lock:3:1:"));
    let doc = json(&out.get_output().stdout);
    assert_eq!(doc["components"].as_array().unwrap().len(), 29);
    // --quiet silences the warning, not the result.
    vouch()
        .args(["sbom", "generate", "--skip-unreadable", "--quiet"])
        .arg(dir.path())
        .assert()
        .success()
        .stderr("");
    // Every other reader of a project fails the same way: diff, vuln scan, release SBOM.
    vouch()
        .args(["sbom", "diff"])
        .arg(dir.path())
        .arg(dir.path())
        .assert()
        .code(2)
        .stderr(predicate::str::contains("web/yarn.lock:3:1:"));
    vouch()
        .args(["vuln", "scan"])
        .arg(dir.path())
        .assert()
        .code(2)
        .stderr(predicate::str::contains("web/yarn.lock:3:1:"));
}

#[test]
fn validate_exit_codes() {
    let dir = tempfile::tempdir().unwrap();
    let good = dir.path().join("good.json");
    let out = stdout_of(&["sbom", "generate"], &fixture("gin"));
    std::fs::write(&good, &out).unwrap();
    vouch()
        .args(["sbom", "validate"])
        .arg(&good)
        .assert()
        .success()
        .stdout(predicate::str::contains("valid CycloneDX 1.6"));

    let mut doc = json(&out);
    doc["components"][0]["type"] = "gadget".into();
    let bad = dir.path().join("bad.json");
    std::fs::write(&bad, serde_json::to_vec(&doc).unwrap()).unwrap();
    vouch()
        .args(["sbom", "validate"])
        .arg(&bad)
        .assert()
        .code(1)
        .stdout(predicate::str::contains("/components/0/type"));

    let spdx = dir.path().join("s.json");
    let out = stdout_of(
        &["sbom", "generate", "--format", "spdx-json"],
        &fixture("gin"),
    );
    let mut doc = json(&out);
    doc["relationships"][1]["relatedSpdxElement"] = "SPDXRef-nowhere".into();
    std::fs::write(&spdx, serde_json::to_vec(&doc).unwrap()).unwrap();
    vouch()
        .args(["sbom", "validate"])
        .arg(&spdx)
        .assert()
        .code(1)
        .stdout(predicate::str::contains("SPDXRef-nowhere"));

    let junk = dir.path().join("junk.json");
    std::fs::write(&junk, "{\"hello\": ").unwrap();
    vouch()
        .args(["sbom", "validate"])
        .arg(&junk)
        .assert()
        .code(2)
        .stderr(predicate::str::contains("junk.json:1:"));
}

#[test]
fn diff_across_formats_and_versions() {
    let dir = tempfile::tempdir().unwrap();
    let cdx = dir.path().join("a.cdx.json");
    let spdx = dir.path().join("a.spdx.json");
    std::fs::write(
        &cdx,
        stdout_of(&["sbom", "generate"], &fixture("express-npm")),
    )
    .unwrap();
    std::fs::write(
        &spdx,
        stdout_of(
            &["sbom", "generate", "--format", "spdx-json"],
            &fixture("express-npm"),
        ),
    )
    .unwrap();
    vouch()
        .args(["sbom", "diff"])
        .arg(&cdx)
        .arg(&spdx)
        .assert()
        .success()
        .stdout(predicate::str::contains("No component changes"));
    // npm vs yarn resolution of the same manifest.
    let out = vouch()
        .args(["sbom", "diff", "--format", "json"])
        .arg(&cdx)
        .arg(fixture("express-yarn"))
        .assert()
        .success();
    let d = json(&out.get_output().stdout);
    assert!(d["old_components"].as_u64().unwrap() > 300);
    let out = vouch()
        .args(["sbom", "diff"])
        .arg(fixture("express-npm"))
        .arg(fixture("fastify-npm"))
        .assert()
        .success();
    let md = String::from_utf8(out.get_output().stdout.clone()).unwrap();
    assert!(md.starts_with("### SBOM changes\n\n**"), "{md}");
    assert!(md.contains("<details><summary>Added ("));
    assert!(md.len() < 65_536, "a PR comment must fit GitHub's limit");
    vouch()
        .args(["sbom", "diff", "--format", "sarif"])
        .arg(&cdx)
        .arg(&cdx)
        .assert()
        .code(2);
    vouch()
        .args(["sbom", "diff"])
        .arg(&cdx)
        .arg(dir.path().join("missing.json"))
        .assert()
        .code(2);
}

#[test]
fn check_reports_unpinned_and_licences() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("SECURITY.md"),
        "report to security@example.com\n",
    )
    .unwrap();
    std::fs::create_dir_all(dir.path().join("web")).unwrap();
    std::fs::write(
        dir.path().join("web/package.json"),
        "{\"dependencies\":{\"a\":\"^1\"}}\n",
    )
    .unwrap();
    // A medium finding under the default threshold (high): exit 0.
    vouch()
        .args(["check", "--format", "json"])
        .arg(dir.path())
        .assert()
        .success()
        .stdout(predicate::str::contains("sbom/unpinned"));
    vouch()
        .args(["check", "--fail-on", "medium"])
        .arg(dir.path())
        .assert()
        .code(1);

    let proj = dir.path().join("lic");
    std::fs::create_dir_all(&proj).unwrap();
    std::fs::copy(fixture("gin/go.mod"), proj.join("go.mod")).unwrap();
    std::fs::write(proj.join("go.sum"), "").unwrap();
    std::fs::write(proj.join("SECURITY.md"), "x\n").unwrap();
    std::fs::copy(
        fixture("express-npm/package.json"),
        proj.join("package.json"),
    )
    .unwrap();
    std::fs::copy(
        fixture("express-npm/package-lock.json"),
        proj.join("package-lock.json"),
    )
    .unwrap();
    std::fs::write(proj.join("vouch.toml"), "[rules.\"sbom/licence\"]\nallow = [\"MIT\", \"ISC\", \"BSD-3-Clause\", \"BSD-2-Clause\", \"Apache-2.0\", \"0BSD\", \"Python-2.0\", \"BlueOak-1.0.0\", \"CC-BY-4.0\", \"CC0-1.0\", \"BSD-1-Clause\"]\n").unwrap();
    vouch().args(["check"]).arg(&proj).assert().success();
    std::fs::write(
        proj.join("vouch.toml"),
        "[rules.\"sbom/licence\"]\nallow = [\"ISC\"]\n",
    )
    .unwrap();
    vouch()
        .args(["check", "--format", "json"])
        .arg(&proj)
        .assert()
        .code(1)
        .stdout(
            predicate::str::contains("sbom/licence")
                .and(predicate::str::contains("is licensed `MIT`")),
        );
    std::fs::write(
        proj.join("vouch.toml"),
        "[rules.\"sbom/licence\"]\nallowed = [\"ISC\"]\n",
    )
    .unwrap();
    vouch()
        .args(["check"])
        .arg(&proj)
        .assert()
        .code(2)
        .stderr(predicate::str::contains("allowed"));
}

#[test]
fn explain_knows_the_rules() {
    vouch()
        .args(["explain", "sbom/unpinned"])
        .assert()
        .success()
        .stdout(predicate::str::contains("lockfile"));
    vouch()
        .args(["explain", "sbom/licence"])
        .assert()
        .success()
        .stdout(predicate::str::contains("allow"));
}

#[test]
fn generate_fails_closed_on_a_directory_without_package_sources() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("src")).unwrap();
    std::fs::write(dir.path().join("src/main.rs"), "fn main() {}\n").unwrap();
    std::fs::write(dir.path().join("README.md"), "# app\n").unwrap();
    vouch()
        .current_dir(dir.path())
        .args(["sbom", "generate", "."])
        .assert()
        .code(2)
        .stdout("")
        .stderr(predicates::str::contains(
            "no package sources found under .",
        ))
        .stderr(predicates::str::contains("--allow-empty"));
    let out = vouch()
        .current_dir(dir.path())
        .args(["sbom", "generate", ".", "--allow-empty"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let doc = json(&out.stdout);
    assert!(
        doc.get("components")
            .is_none_or(|c| c.as_array().unwrap().is_empty())
    );
    // A broken lockfile is not "no sources": its own error is the message.
    std::fs::write(dir.path().join("Cargo.lock"), "[[package]\n").unwrap();
    vouch()
        .current_dir(dir.path())
        .args(["sbom", "generate", "."])
        .assert()
        .code(2)
        .stderr(predicates::str::contains("Cargo.lock:1"));
}
