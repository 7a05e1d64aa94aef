//! `vouch db` and `vouch vuln`: every exit-code path, on fixtures of our own (modelled on
//! real OSV records, expected results worked out by hand) and on the shared OSV snapshot.

use std::path::{Path, PathBuf};

use assert_cmd::Command;
use predicates::prelude::*;
use serde_json::Value;

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/vuln")
}

fn shared() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared")
}

fn vouch(dir: &Path) -> Command {
    let mut c = Command::cargo_bin("vouch").unwrap();
    c.current_dir(dir)
        .env_remove("VOUCH_DB")
        .env("XDG_CACHE_HOME", dir.join("cache"))
        .env("HOME", dir)
        .env("VOUCH_TODAY", "2025-06-01")
        // The database's age is judged at this time: the fixture records were modified
        // 2025-03-01..04, so the fixture database is 2 days old.
        .env("VOUCH_NOW", "2025-03-06T00:00:00Z")
        .env("SOURCE_DATE_EPOCH", "1748736000")
        .env("NO_COLOR", "1");
    c
}

/// A temporary directory with the fixture database built at `osv.db`.
fn with_db() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    vouch(dir.path())
        .args(["db", "build"])
        .arg(fixtures().join("osv"))
        .args(["-o", "osv.db"])
        .assert()
        .success()
        .stdout(predicate::str::contains("6 added"))
        .stderr(predicate::str::contains("skipped malformed OSV record"))
        .stderr(predicate::str::contains("`Bitnami`"));
    dir
}

fn scan_json(dir: &Path, extra: &[&str]) -> (i32, Value) {
    let out = vouch(dir)
        .args(["vuln", "scan"])
        .arg(fixtures().join("bom.cdx.json"))
        .args(["--db", "osv.db", "--format", "json"])
        .args(extra)
        .output()
        .unwrap();
    let code = out.status.code().unwrap();
    let v: Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stderr)));
    (code, v)
}

fn active(v: &Value) -> Vec<(String, String)> {
    v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f.get("suppressed_by").is_none())
        .map(|f| {
            (
                f["rule"].as_str().unwrap().to_string(),
                f["severity"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

#[test]
fn db_build_is_incremental_and_info_reports_counts() {
    let dir = with_db();
    vouch(dir.path())
        .args(["db", "build"])
        .arg(fixtures().join("osv"))
        .args(["-o", "osv.db"])
        .assert()
        .success()
        .stdout(predicate::str::contains(
            "0 added, 0 updated, 6 unchanged, 1 malformed skipped",
        ));
    vouch(dir.path())
        .args(["db", "info", "--db", "osv.db"])
        .assert()
        .success()
        .stdout(predicate::str::contains("records:    6 (1 withdrawn)"))
        .stdout(predicate::str::contains("npm"))
        .stdout(predicate::str::contains("Bitnami").and(predicate::str::contains("not matched")));
    let out = vouch(dir.path())
        .args(["db", "info", "--db", "osv.db", "--format", "json"])
        .output()
        .unwrap();
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["info"]["ecosystems"]["npm"], 4);
    assert_eq!(v["info"]["built_at"], "2025-06-01T00:00:00Z");
}

#[test]
fn corrupt_or_missing_database_is_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("bad.db"), vec![7u8; 4096]).unwrap();
    vouch(dir.path())
        .args(["db", "info", "--db", "bad.db"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("rebuild with vouch db build"));
    vouch(dir.path())
        .args(["vuln", "scan"])
        .arg(fixtures().join("bom.cdx.json"))
        .args(["--db", "bad.db"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("rebuild with vouch db build"));
    vouch(dir.path())
        .args(["vuln", "scan"])
        .arg(fixtures().join("bom.cdx.json"))
        .assert()
        .code(2)
        .stderr(predicate::str::contains("no vulnerability database found"));
    vouch(dir.path())
        .args(["db", "build", "does-not-exist", "-o", "x.db"])
        .assert()
        .code(2);
    assert!(
        !dir.path().join("x.db").exists(),
        "nothing written on failure"
    );
}

#[test]
fn scan_groups_aliases_drops_withdrawn_and_finds_the_nearest_full_fix() {
    let dir = with_db();
    let (code, v) = scan_json(dir.path(), &[]);
    assert_eq!(code, 1);
    let mut got = active(&v);
    got.sort();
    assert_eq!(
        got,
        vec![
            ("vuln/CVE-2099-0001".to_string(), "critical".to_string()),
            ("vuln/CVE-2099-0100".to_string(), "high".to_string()),
            ("vuln/GHSA-demo-0002".to_string(), "medium".to_string()),
        ]
    );
    let f = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["rule"] == "vuln/CVE-2099-0001")
        .unwrap();
    assert_eq!(
        f["properties"]["aliases"],
        serde_json::json!(["GHSA-demo-0001", "OSV-2099-0001"])
    );
    assert_eq!(f["properties"]["score"], 9.8);
    // 1.2.3 fixes CVE-2099-0001 but not GHSA-demo-0002; 1.4.0 fixes both.
    assert_eq!(f["properties"]["fixed_in"], "1.4.0");
    assert_eq!(f["location"]["line"], 5);
    let text = serde_json::to_string(&v).unwrap();
    assert!(
        !text.contains("GHSA-demo-wdrn"),
        "withdrawn advisories are never reported"
    );
    // threshold
    let (code, _) = scan_json(dir.path(), &["--fail-on", "critical"]);
    assert_eq!(code, 1);
    // SPDX input and PEP 503 names / last_affected
    let out = vouch(dir.path())
        .args(["vuln", "scan"])
        .arg(fixtures().join("sbom.spdx.json"))
        .args(["--db", "osv.db", "--format", "json"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    let got = active(&v);
    assert_eq!(
        got,
        vec![("vuln/CVE-2099-0100".to_string(), "high".to_string())]
    );
    assert_eq!(v["findings"][0]["properties"]["version"], "1.9.post1");
}

#[test]
fn vex_changes_findings_and_exit_code() {
    let dir = with_db();
    let vex = fixtures().join("not-affected.openvex.json");
    let (code, v) = scan_json(dir.path(), &["--vex", vex.to_str().unwrap()]);
    assert_eq!(code, 0, "{v}");
    assert_eq!(v["summary"]["suppressed"], 3);
    let triage = fixtures().join("triage.cdx-vex.json");
    let (code, v) = scan_json(dir.path(), &["--vex", triage.to_str().unwrap()]);
    assert_eq!(code, 1);
    let f = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["rule"] == "vuln/CVE-2099-0001")
        .unwrap();
    assert_eq!(f["properties"]["vex"]["status"], "under_investigation");
    assert!(f.get("suppressed_by").is_none());
    assert_eq!(v["summary"]["suppressed"], 1);
    std::fs::write(dir.path().join("junk.json"), "{}").unwrap();
    vouch(dir.path())
        .args(["vuln", "scan"])
        .arg(fixtures().join("bom.cdx.json"))
        .args(["--db", "osv.db", "--vex", "junk.json"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("junk.json"));
}

#[test]
fn exceptions_suppress_and_vex_is_emitted_from_them() {
    let dir = with_db();
    std::fs::create_dir_all(dir.path().join(".vouch")).unwrap();
    std::fs::write(
        dir.path().join(".vouch/exceptions.yaml"),
        "exceptions:\n  - id: EXC-1\n    rule: \"vuln/*\"\n    vuln: GHSA-demo-0001\n    owner: web@example.com\n    expires: 2025-07-01\n    reason: pad-demo only pads constant strings\n  - id: EXC-2\n    vuln: GHSA-demo-0002\n    owner: web@example.com\n    expires: 2025-07-01\n    reason: DoS needs a 2 GB input\n  - id: EXC-3\n    vuln: CVE-2099-0100\n    owner: web@example.com\n    expires: 2025-07-01\n    reason: not reachable\n",
    )
    .unwrap();
    let (code, v) = scan_json(dir.path(), &[]);
    assert_eq!(code, 0, "{v}");
    assert_eq!(v["summary"]["suppressed"], 3);
    let out = vouch(dir.path())
        .args([
            "vuln",
            "vex",
            "--author",
            "sec@example.com",
            "--product",
            "pkg:npm/app@1.0.0",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["@context"], "https://openvex.dev/ns/v0.2.0");
    assert_eq!(doc["timestamp"], "2025-06-01T00:00:00Z");
    assert_eq!(doc["statements"].as_array().unwrap().len(), 3);
    assert_eq!(doc["statements"][0]["status"], "not_affected");
    // deterministic
    let again = vouch(dir.path())
        .args([
            "vuln",
            "vex",
            "--author",
            "sec@example.com",
            "--product",
            "pkg:npm/app@1.0.0",
        ])
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert_eq!(again.stdout, out.stdout, "same inputs, same bytes");
    // The emitted document is itself accepted as VEX input: its product is the application
    // the SBOM describes (metadata.component), so it covers the findings in that SBOM.
    std::fs::write(dir.path().join("out.vex.json"), &out.stdout).unwrap();
    std::fs::remove_file(dir.path().join(".vouch/exceptions.yaml")).unwrap();
    let bom = std::fs::read_to_string(fixtures().join("bom.cdx.json")).unwrap().replacen(
        "\"components\"",
        "\"metadata\": {\"component\": {\"type\": \"application\", \"name\": \"app\", \"purl\": \"pkg:npm/app@1.0.0\"}},\n  \"components\"",
        1,
    );
    std::fs::write(dir.path().join("app.cdx.json"), bom).unwrap();
    let run = |sbom: &str| {
        vouch(dir.path())
            .args([
                "vuln",
                "scan",
                sbom,
                "--db",
                "osv.db",
                "--vex",
                "out.vex.json",
            ])
            .output()
            .unwrap()
            .status
            .code()
    };
    assert_eq!(run("app.cdx.json"), Some(0));
    // the same statements do not cover another product's SBOM
    assert_eq!(
        run(fixtures().join("bom.cdx.json").to_str().unwrap()),
        Some(1)
    );
    vouch(dir.path())
        .args(["vuln", "vex", "--product", "not-a-purl"])
        .assert()
        .code(2);
}

#[test]
fn sla_state_and_d6_register() {
    let dir = with_db();
    std::fs::write(
        dir.path().join("vouch.toml"),
        "[vuln]\ndb = \"osv.db\"\n[vuln.sla]\nhigh = 10\n",
    )
    .unwrap();
    // First run records first-seen dates; nothing is overdue yet.
    let mut c = vouch(dir.path());
    c.env("VOUCH_TODAY", "2025-01-01");
    c.args(["vuln", "scan"])
        .arg(fixtures().join("bom.cdx.json"))
        .args(["--update-state", "--format", "json"]);
    let out = c.output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(!String::from_utf8_lossy(&out.stdout).contains("sla-overdue"));
    let state: Value =
        serde_json::from_slice(&std::fs::read(dir.path().join(".vouch/vuln-state.json")).unwrap())
            .unwrap();
    assert_eq!(
        state["first_seen"]["npm/pad-demo"]["CVE-2099-0001"],
        "2025-01-01"
    );
    // Later (2025-06-01): critical (7 days), high (10) and medium (90) are all overdue.
    let out = vouch(dir.path())
        .args(["vuln", "scan"])
        .arg(fixtures().join("bom.cdx.json"))
        .args(["--format", "json"])
        .output()
        .unwrap();
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    let overdue: Vec<&Value> = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["rule"] == "vuln/sla-overdue")
        .collect();
    assert_eq!(overdue.len(), 3, "{v}");
    assert!(overdue.iter().any(|f| {
        f["message"]
            .as_str()
            .unwrap()
            .contains("the high SLA is 10 days")
    }));
    // D6 register, CSV and Markdown
    let out = vouch(dir.path())
        .args(["vuln", "report"])
        .arg(fixtures().join("bom.cdx.json"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let csv = String::from_utf8(out.stdout).unwrap();
    assert!(
        csv.starts_with("Source,CVE/Issue,Affected,Severity,Decision,SLA,Status,Evidence\r\n"),
        "{csv}"
    );
    assert!(
        csv.contains("CVE-2099-0001 (GHSA-demo-0001; OSV-2099-0001)")
            || csv.contains("\"CVE-2099-0001 (GHSA-demo-0001, OSV-2099-0001)\""),
        "{csv}"
    );
    assert!(csv.contains(",Critical,Fix,7,Open,"), "{csv}");
    assert!(csv.contains(",High,Defer,10,Open,"), "{csv}");
    let out = vouch(dir.path())
        .args(["vuln", "report", "--format", "markdown"])
        .arg(fixtures().join("bom.cdx.json"))
        .output()
        .unwrap();
    let md = String::from_utf8(out.stdout).unwrap();
    assert!(md.contains(
        "| Source | CVE/Issue | Affected | Severity | Decision | SLA | Status | Evidence |"
    ));
    vouch(dir.path())
        .args(["vuln", "report", "--format", "xml"])
        .arg(fixtures().join("bom.cdx.json"))
        .assert()
        .code(2);
    // a bad [vuln] key is exit 2 with the line
    std::fs::write(
        dir.path().join("vouch.toml"),
        "[vuln]\ndb = \"osv.db\"\n[vuln.sla]\nhihg = 3\n",
    )
    .unwrap();
    vouch(dir.path())
        .args(["vuln", "scan"])
        .arg(fixtures().join("bom.cdx.json"))
        .assert()
        .code(2)
        .stderr(predicate::str::contains("vouch.toml:4"));
}

#[test]
fn project_directories_are_read_through_the_sbom_readers_and_non_sboms_are_exit_2() {
    let dir = with_db();
    let project = dir.path().join("app");
    std::fs::create_dir(&project).unwrap();
    std::fs::write(
        project.join("package-lock.json"),
        r#"{"name":"app","version":"1.0.0","lockfileVersion":3,"requires":true,"packages":{"":{"name":"app","version":"1.0.0","dependencies":{"pad-demo":"^1.2.0"}},"node_modules/pad-demo":{"version":"1.2.0"}}}"#,
    )
    .unwrap();
    vouch(dir.path())
        .args(["vuln", "scan", "app", "--db", "osv.db"])
        .assert()
        .code(1)
        .stdout(predicate::str::contains("pad-demo"));
    // A file that is neither a lockfile nor an SBOM is bad input.
    std::fs::write(dir.path().join("notes.txt"), "version = 3\n").unwrap();
    vouch(dir.path())
        .args(["vuln", "scan", "notes.txt", "--db", "osv.db"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("notes.txt:1"));
}

#[test]
fn db_update_from_a_local_mirror() {
    assert!(
        std::process::Command::new("curl")
            .arg("--version")
            .output()
            .is_ok(),
        "curl is needed (.ci/setup.d/40-vuln.sh installs it)"
    );
    let dir = tempfile::tempdir().unwrap();
    let mirror = dir.path().join("mirror/npm");
    std::fs::create_dir_all(&mirror).unwrap();
    // an OSV-style export: all.zip of records
    let zip_path = mirror.join("all.zip");
    let status = std::process::Command::new("python3")
        .arg("-c")
        .arg("import sys,zipfile,glob,os\nz=zipfile.ZipFile(sys.argv[1],'w')\nfor f in sorted(glob.glob(os.path.join(sys.argv[2],'GHSA-demo-*.json'))): z.write(f, os.path.basename(f))\nz.close()")
        .arg(&zip_path)
        .arg(fixtures().join("osv"))
        .status()
        .expect("python3 is needed to build the zip fixture");
    assert!(status.success());
    let url = format!(
        "file://{}/mirror/{{ecosystem}}/all.zip",
        dir.path().display()
    );
    vouch(dir.path())
        .args([
            "db",
            "update",
            "--db",
            "up.db",
            "--ecosystem",
            "npm",
            "--url",
            &url,
        ])
        .assert()
        .success()
        .stdout(predicate::str::contains("2 added"));
    vouch(dir.path())
        .args([
            "db",
            "update",
            "--db",
            "up2.db",
            "--ecosystem",
            "PyPI",
            "--url",
            &url,
        ])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("cannot download"));
}

#[test]
fn vouch_check_runs_or_says_why_it_skipped() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(
        fixtures().join("bom.cdx.json"),
        dir.path().join("bom.cdx.json"),
    )
    .unwrap();
    let out = vouch(dir.path())
        .args(["check", ".", "--format", "json"])
        .output()
        .unwrap();
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    let skipped = v["skipped_checks"].as_array().unwrap();
    assert!(
        skipped.iter().any(|s| s["name"] == "vuln"
            && s["reason"]
                .as_str()
                .unwrap()
                .contains("no vulnerability database")),
        "{v}"
    );
    std::fs::create_dir_all(dir.path().join(".vouch")).unwrap();
    vouch(dir.path())
        .args(["db", "build"])
        .arg(fixtures().join("osv"))
        .args(["-o", ".vouch/osv.db"])
        .assert()
        .success();
    let out = vouch(dir.path())
        .args(["check", ".", "--format", "json"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(
        v["checks"].as_array().unwrap().iter().any(|c| c == "vuln"),
        "{v}"
    );
    assert!(
        v["findings"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["rule"] == "vuln/CVE-2099-0001")
    );
}

#[test]
fn real_osv_snapshot() {
    let tarball = shared().join("osv/osv.tar.gz");
    assert!(
        tarball.is_file(),
        "the shared OSV snapshot is missing: {}",
        tarball.display()
    );
    let dir = tempfile::tempdir().unwrap();
    // The snapshot's age is not what this test is about.
    std::fs::write(
        dir.path().join("vouch.toml"),
        "[vuln]\nmax_db_age = \"36500d\"\n",
    )
    .unwrap();
    vouch(dir.path())
        .args(["db", "build"])
        .arg(&tarball)
        .args(["-o", "osv.db"])
        .assert()
        .success()
        .stdout(predicate::str::contains("8167 added"));
    std::fs::write(
        dir.path().join("bom.json"),
        r#"{"bomFormat":"CycloneDX","specVersion":"1.6","components":[
  {"name":"smallvec","purl":"pkg:cargo/smallvec@1.6.0"},
  {"name":"smallvec","purl":"pkg:cargo/smallvec@1.6.1"},
  {"name":"jinja2","purl":"pkg:pypi/Jinja2@2.10"},
  {"name":"gin","purl":"pkg:golang/github.com/gin-gonic/gin@v1.9.1"}
]}"#,
    )
    .unwrap();
    let out = vouch(dir.path())
        .args([
            "vuln", "scan", "bom.json", "--db", "osv.db", "--format", "json",
        ])
        .output()
        .unwrap();
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    let findings = v["findings"].as_array().unwrap();
    let smallvec: Vec<&Value> = findings
        .iter()
        .filter(|f| f["properties"]["package"] == "smallvec")
        .collect();
    // RUSTSEC-2021-0003 (CVE-2021-25900, GHSA-43w2-9j62-hq99): introduced 0.6.3, fixed 0.6.14 / 1.6.1.
    assert_eq!(smallvec.len(), 1, "{v}");
    assert_eq!(smallvec[0]["rule"], "vuln/CVE-2021-25900");
    assert_eq!(smallvec[0]["properties"]["version"], "1.6.0");
    assert_eq!(smallvec[0]["properties"]["fixed_in"], "1.6.1");
    assert_eq!(smallvec[0]["severity"], "critical");
    let jinja: Vec<&Value> = findings
        .iter()
        .filter(|f| f["properties"]["package"] == "jinja2")
        .collect();
    // PYSEC-2019-217 (CVE-2019-10906, fixed 2.10.1) and PYSEC-2021-66 (CVE-2020-28493, fixed 2.11.3)
    assert_eq!(jinja.len(), 2, "{v}");
    assert!(
        jinja
            .iter()
            .all(|f| f["properties"]["fixed_in"] == "2.11.3")
    );
    assert_eq!(out.status.code(), Some(1));
}

const PAD_LOCK: &str = r#"{"name":"app","version":"1.0.0","lockfileVersion":3,"requires":true,"packages":{"":{"name":"app","version":"1.0.0","dependencies":{"pad-demo":"^1.2.0"}},"node_modules/pad-demo":{"version":"1.2.0"}}}"#;

fn rules_of(v: &Value) -> Vec<String> {
    active(v).into_iter().map(|(r, _)| r).collect()
}

#[test]
fn directories_with_sboms_are_scanned_and_one_package_is_one_finding() {
    let dir = with_db();
    let project = dir.path().join("app");
    std::fs::create_dir_all(project.join("dist")).unwrap();
    std::fs::write(project.join("package-lock.json"), PAD_LOCK).unwrap();
    // The same pad-demo 1.2.0 again in a CycloneDX SBOM, plus a PyPI package only there.
    std::fs::write(
        project.join("dist/app.cdx.json"),
        r#"{"bomFormat":"CycloneDX","specVersion":"1.6","components":[
  {"type":"library","name":"pad-demo","version":"1.2.0","purl":"pkg:npm/pad-demo@1.2.0"},
  {"type":"library","name":"Demo_Templates","version":"1.9","purl":"pkg:pypi/Demo_Templates@1.9"}]}"#,
    )
    .unwrap();
    let out = vouch(dir.path())
        .args(["vuln", "scan", "app", "--db", "osv.db", "--format", "json"])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    let rules = rules_of(&v);
    let pad: Vec<&Value> = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["properties"]["package"] == "pad-demo")
        .collect();
    // pad-demo 1.2.0 has two vulnerabilities: two findings, not four, both at the lockfile.
    assert_eq!(
        pad.len(),
        2,
        "one finding per vulnerability of pad-demo: {v}"
    );
    assert!(
        pad.iter()
            .all(|f| f["location"]["path"] == "package-lock.json")
    );
    assert!(
        v["findings"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["properties"]["package"] == "demo-templates"),
        "the SBOM-only package is scanned: {rules:?}"
    );

    // SPDX tag-value and SPDX JSON files in a directory of SBOMs only.
    let sboms = dir.path().join("sboms");
    std::fs::create_dir(&sboms).unwrap();
    std::fs::write(
        sboms.join("app.spdx"),
        "SPDXVersion: SPDX-2.3\nDataLicense: CC0-1.0\nSPDXID: SPDXRef-DOCUMENT\n\nPackageName: pad-demo\nSPDXID: SPDXRef-pad\nExternalRef: PACKAGE-MANAGER purl pkg:npm/pad-demo@1.1.0\n",
    )
    .unwrap();
    std::fs::copy(
        fixtures().join("sbom.spdx.json"),
        sboms.join("other.spdx.json"),
    )
    .unwrap();
    std::fs::write(sboms.join("notes.json"), "{}").unwrap();
    let out = vouch(dir.path())
        .args([
            "vuln", "scan", "sboms", "--db", "osv.db", "--format", "json",
        ])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    let paths: Vec<&str> = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["location"]["path"].as_str().unwrap())
        .collect();
    assert!(paths.iter().any(|p| p.ends_with("app.spdx")), "{paths:?}");
}

#[test]
fn a_single_lockfile_is_scanned() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("osv")).unwrap();
    std::fs::write(
        dir.path().join("osv/RUSTSEC-2099-0001.json"),
        r#"{"id":"RUSTSEC-2099-0001","modified":"2025-03-05T00:00:00Z","summary":"demo",
"affected":[{"package":{"ecosystem":"crates.io","name":"demo-crate"},
"ranges":[{"type":"SEMVER","events":[{"introduced":"0"},{"fixed":"1.6.1"}]}]}]}"#,
    )
    .unwrap();
    vouch(dir.path())
        .args(["db", "build", "osv", "-o", "osv.db"])
        .assert()
        .success();
    std::fs::write(
        dir.path().join("Cargo.lock"),
        "version = 3\n\n[[package]]\nname = \"app\"\nversion = \"0.1.0\"\ndependencies = [\"demo-crate\"]\n\n[[package]]\nname = \"demo-crate\"\nversion = \"1.6.0\"\nsource = \"registry+https://github.com/rust-lang/crates.io-index\"\n",
    )
    .unwrap();
    vouch(dir.path())
        .args([
            "vuln",
            "scan",
            "Cargo.lock",
            "--db",
            "osv.db",
            "--fail-on",
            "medium",
        ])
        .assert()
        .code(1)
        .stdout(
            predicate::str::contains("RUSTSEC-2099-0001")
                .and(predicate::str::contains("demo-crate")),
        );
}

#[test]
fn database_age_is_reported_and_max_db_age_fails_an_old_database() {
    let dir = with_db();
    std::fs::write(
        dir.path().join("package-lock.json"),
        PAD_LOCK.replace("1.2.0\"}}", "9.0.0\"}}"),
    )
    .unwrap();
    // 2 days old: passes, and the report says how old the newest record is.
    let out = vouch(dir.path())
        .args([
            "vuln",
            "scan",
            "package-lock.json",
            "--db",
            "osv.db",
            "--format",
            "json",
        ])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(
        v["warnings"].as_array().unwrap().iter().any(|w| w
            .as_str()
            .unwrap()
            .contains("newest record modified 2025-03-04T00:00:00Z (2 days old)")),
        "{v}"
    );
    // 10 days later the default max_db_age (7 days) fails it.
    let out = vouch(dir.path())
        .env("VOUCH_NOW", "2025-03-15T00:00:00Z")
        .args([
            "vuln",
            "scan",
            "package-lock.json",
            "--db",
            "osv.db",
            "--format",
            "json",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(rules_of(&v), vec!["vuln/stale-database".to_string()], "{v}");
    // A longer max_db_age in vouch.toml accepts it again; a bad one is exit 2.
    std::fs::write(
        dir.path().join("vouch.toml"),
        "[vuln]\nmax_db_age = \"14d\"\n",
    )
    .unwrap();
    vouch(dir.path())
        .env("VOUCH_NOW", "2025-03-15T00:00:00Z")
        .args(["vuln", "scan", "package-lock.json", "--db", "osv.db"])
        .assert()
        .code(0);
    std::fs::write(
        dir.path().join("vouch.toml"),
        "[vuln]\nmax_db_age = \"soon\"\n",
    )
    .unwrap();
    vouch(dir.path())
        .args(["vuln", "scan", "package-lock.json", "--db", "osv.db"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("max_db_age"));
}

#[test]
fn empty_directories_fail_closed_unless_allowed() {
    let dir = with_db();
    let empty = dir.path().join("empty");
    std::fs::create_dir_all(empty.join("src")).unwrap();
    std::fs::write(empty.join("src/main.rs"), "fn main() {}\n").unwrap();
    vouch(dir.path())
        .args(["vuln", "scan", "empty", "--db", "osv.db"])
        .assert()
        .code(2)
        .stderr(
            predicate::str::contains("error: empty").and(predicate::str::contains(
                "no package sources found under empty",
            )),
        );
    vouch(dir.path())
        .args(["vuln", "scan", "empty", "--db", "osv.db", "--allow-empty"])
        .assert()
        .code(0);
    // An SBOM without components is the same: refused unless allowed.
    std::fs::write(
        dir.path().join("empty.cdx.json"),
        r#"{"bomFormat":"CycloneDX","specVersion":"1.6","components":[]}"#,
    )
    .unwrap();
    vouch(dir.path())
        .args(["vuln", "scan", "empty.cdx.json", "--db", "osv.db"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("lists no components"));
    vouch(dir.path())
        .args([
            "vuln",
            "scan",
            "empty.cdx.json",
            "--db",
            "osv.db",
            "--allow-empty",
        ])
        .assert()
        .code(0);
}
