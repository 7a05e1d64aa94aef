//! `vouch register`: init, lint exit codes, report, threats, export, and the HTML report in a
//! real headless browser.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command as Process;

use assert_cmd::Command;
use predicates::prelude::*;

fn vouch(dir: &Path) -> Command {
    let mut c = Command::cargo_bin("vouch").expect("vouch binary");
    c.current_dir(dir).env("VOUCH_TODAY", "2026-11-24");
    c
}

const D1: &str = "security/threat-model.csv";

#[test]
fn init_then_lint_passes_and_a_bad_threat_fails() {
    let d = tempfile::tempdir().unwrap();
    vouch(d.path()).args(["register", "init"]).assert().code(0);
    let names: Vec<String> = fs::read_dir(d.path().join("security"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(names.len() >= 8, "{names:?}");
    vouch(d.path())
        .args(["register", "lint"])
        .assert()
        .code(0)
        .stdout(predicate::str::contains("register/empty"));
    // Init again keeps what is there.
    fs::write(d.path().join(D1), "Asset/Data Flow,Threat,Vector,Impact,Likelihood,Control,Owner,Residual Risk,Status,ReviewDate\nLogin API,Spoofing,Credential stuffing,High,High,,,,Open,2030-01-01\n").unwrap();
    vouch(d.path()).args(["register", "init"]).assert().code(0);
    vouch(d.path())
        .args(["register", "lint"])
        .assert()
        .code(1)
        .stdout(
            predicate::str::contains("security/threat-model.csv:2:50")
                .and(predicate::str::contains("register/threat-uncontrolled")),
        );
    // The same gate runs in `vouch check`.
    vouch(d.path())
        .args(["check", "."])
        .assert()
        .code(1)
        .stdout(predicate::str::contains("register/threat-uncontrolled"));
    // An exception suppresses it like any other finding.
    fs::create_dir_all(d.path().join(".vouch")).unwrap();
    fs::write(d.path().join(".vouch/exceptions.yaml"), "exceptions:\n  - id: EXC-1\n    rule: register/threat-uncontrolled\n    owner: sec@example.com\n    expires: 2026-12-24\n    reason: control being built, SEC-9\n").unwrap();
    vouch(d.path()).args(["register", "lint"]).assert().code(0);
}

#[test]
fn malformed_registers_exit_2_naming_row_and_column() {
    let d = tempfile::tempdir().unwrap();
    vouch(d.path()).args(["register", "init"]).assert().code(0);
    fs::write(d.path().join(D1), "Asset/Data Flow,Threat,Vector,Impact,Likelihood,Control,Owner,Residual Risk,Status,ReviewDate\nLogin,Spoofing,x,High,Hihg,c,o,r,Open,2030-01-01\n").unwrap();
    vouch(d.path())
        .args(["register", "lint"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("security/threat-model.csv:2:23: Likelihood `Hihg`: not an accepted value (did you mean `High`?)"));
    fs::write(d.path().join(D1), "\u{feff}Asset/Data Flow,Threat,Vector,Impact,Likelihood,Control,Owner,Residual Risk,Status,Reviewed On\r\n").unwrap();
    vouch(d.path())
        .args(["register", "lint"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("unknown column `Reviewed On`"));
    let empty = tempfile::tempdir().unwrap();
    vouch(empty.path())
        .args(["register", "lint"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("register init"));
}

#[test]
fn threats_and_export() {
    let d = tempfile::tempdir().unwrap();
    fs::write(
        d.path().join("flows.yaml"),
        "boundaries:\n  - id: internet\n  - id: vpc\nelements:\n  - id: user\n    kind: external\n    boundary: internet\n  - id: api\n    kind: process\n    boundary: vpc\nflows:\n  - from: user\n    to: api\n    data: credentials\n    encrypted: true\n    authenticated: true\n    validated: true\n    logged: true\n",
    )
    .unwrap();
    vouch(d.path())
        .args(["register", "threats", "--from", "flows.yaml"])
        .assert()
        .code(0)
        .stdout(
            predicate::str::contains("Denial of service")
                .and(predicate::str::contains("Spoofing").not()),
        );
    vouch(d.path())
        .args([
            "register",
            "threats",
            "--from",
            "flows.yaml",
            "--format",
            "svg",
        ])
        .assert()
        .code(0)
        .stdout(predicate::str::starts_with("<svg"));
    fs::write(d.path().join("secrets.csv"), "Secret,Scope,StorageMethod,RotationPolicy,Access Roles,Last Rotated,AuditLog\nOTA_SIGN_KEY,prod,HSM,\"6 months\",\"Release-mgr; CI\",2025-11-01,link\n").unwrap();
    vouch(d.path())
        .args(["register", "export", "secrets.csv"])
        .assert()
        .code(0)
        .stdout("Secret,Scope,Storage Method,Rotation Policy,Access Roles,Last Rotated,Audit Log\nOTA_SIGN_KEY,prod,HSM,6 months,Release-mgr; CI,2025-11-01,link\n");
    vouch(d.path())
        .args(["register", "export", "secrets.csv", "--format", "json"])
        .assert()
        .code(0)
        .stdout(predicate::str::contains("\"Storage Method\": \"HSM\""));
}

fn sample_repo() -> tempfile::TempDir {
    let d = tempfile::tempdir().unwrap();
    vouch(d.path()).args(["register", "init"]).assert().code(0);
    let sec = d.path().join("security");
    fs::write(sec.join("threat-model.csv"), format!("{}\nLogin API,Spoofing,Credential stuffing,High,High,MFA,Ana,,Mitigated,2027-01-01\nUploads,Tampering,Malicious file,High,Medium,,,,Open,2027-01-01\nDocs,Information disclosure,Draft leak,Low,Medium,Review,Bo,Low,Accepted,2027-03-01\n", "Asset/Data Flow,Threat,Vector,Impact,Likelihood,Control,Owner,Residual Risk,Status,ReviewDate")).unwrap();
    fs::write(sec.join("vulnerabilities.csv"), "Source,CVE/Issue,Affected,Severity,Decision,SLA,Status,Evidence,Opened\nOSV,CVE-2026-1,openssl 3.0,Critical,Fix,7,Open,PR#1,2026-11-01\nOSV,CVE-2026-2,zlib 1.3,High,Fix,30,In Progress,PR#2,2026-11-10\n").unwrap();
    fs::write(sec.join("flows.yaml"), "boundaries:\n  - id: internet\n    name: Internet\n  - id: vpc\n    name: VPC\nelements:\n  - id: user\n    name: User\n    kind: external\n    boundary: internet\n  - id: api\n    name: API\n    kind: process\n    boundary: vpc\n  - id: db\n    name: Orders DB\n    kind: store\n    boundary: vpc\nflows:\n  - from: user\n    to: api\n    data: orders\n    protocol: HTTPS\n    encrypted: true\n  - from: api\n    to: db\n    data: rows\n").unwrap();
    d
}

#[test]
fn report_is_self_contained_html_and_markdown() {
    let d = sample_repo();
    vouch(d.path())
        .args(["register", "report", "--format", "html", "-o", "r.html"])
        .assert()
        .code(0);
    let html = fs::read_to_string(d.path().join("r.html")).unwrap();
    for needle in [
        "<html",
        "Gate status",
        "Threats by likelihood and impact",
        "Data-flow diagram",
        "<svg",
        "Vulnerability SLAs",
        "16 days overdue",
        "Orders DB",
    ] {
        assert!(html.contains(needle), "missing {needle}");
    }
    for remote in [
        "src=\"http",
        "href=\"http",
        "<script",
        "@import",
        "url(http",
        "url(//",
    ] {
        assert!(!html.contains(remote), "remote asset or script: {remote}");
    }
    vouch(d.path())
        .args(["register", "report", "--format", "markdown"])
        .assert()
        .code(0)
        .stdout(predicate::str::contains(
            "| D1 Threat model (STRIDE-lite) | `security/threat-model.csv` | 3 |",
        ));
}

fn chromium() -> PathBuf {
    let found = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|p| p.join("chromium"))
            .find(|p| p.is_file())
    });
    found.expect(
        "chromium is not installed: run .ci/setup.d/40-chromium.sh (the test suite's setup does)",
    )
}

/// Renders `page` headless at the given width; returns the console lines and writes `png`.
fn render(page: &Path, png: &Path, width: u32) -> Vec<String> {
    let profile = tempfile::tempdir().unwrap();
    let out = Process::new(chromium())
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--enable-logging=stderr",
            "--v=0",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .arg(format!("--screenshot={}", png.display()))
        .arg(format!("--window-size={width},2400"))
        .arg(format!("file://{}", page.display()))
        .output()
        .expect("run chromium");
    assert!(
        png.is_file(),
        "no screenshot: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stderr)
        .lines()
        .filter(|l| l.contains(":CONSOLE"))
        .map(str::to_string)
        .collect()
}

#[test]
fn html_report_renders_in_a_real_browser_without_console_errors() {
    let d = sample_repo();
    vouch(d.path())
        .args([
            "register",
            "report",
            "--format",
            "html",
            "-o",
            "report.html",
        ])
        .assert()
        .code(0);
    let target = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/screenshots");
    fs::create_dir_all(&target).unwrap();
    // The detector itself works: a page that logs an error is caught.
    let bad = d.path().join("bad.html");
    fs::write(
        &bad,
        "<!DOCTYPE html><html><body><script>console.error('boom')</script></body></html>",
    )
    .unwrap();
    assert!(
        !render(&bad, &d.path().join("bad.png"), 400).is_empty(),
        "console detector saw nothing on a page that logs"
    );
    for (width, name) in [
        (390, "register-report-phone.png"),
        (1280, "register-report-desktop.png"),
    ] {
        let console = render(&d.path().join("report.html"), &target.join(name), width);
        assert!(
            console.is_empty(),
            "console output at width {width}: {console:#?}"
        );
        assert!(
            fs::metadata(target.join(name)).unwrap().len() > 10_000,
            "screenshot is suspiciously small"
        );
    }
    // The general findings report renders too.
    let out = vouch(d.path())
        .args(["check", ".", "--format", "html"])
        .output()
        .unwrap();
    fs::write(d.path().join("check.html"), &out.stdout).unwrap();
    assert!(
        render(
            &d.path().join("check.html"),
            &target.join("check-report.png"),
            1280
        )
        .is_empty()
    );
}

#[test]
fn lint_settles_exceptions_and_fail_on_like_check() {
    let d = tempfile::tempdir().unwrap();
    vouch(d.path()).args(["register", "init"]).assert().code(0);
    fs::write(d.path().join(D1), "Asset/Data Flow,Threat,Vector,Impact,Likelihood,Control,Owner,Residual Risk,Status,ReviewDate\nLogin API,Spoofing,Credential stuffing,High,High,,,,Open,2030-01-01\n").unwrap();
    fs::create_dir_all(d.path().join(".vouch")).unwrap();
    // An expired exception about a register rule is reported (and no longer suppresses); one
    // about another family is `vouch check`'s to judge, not register lint's.
    fs::write(
        d.path().join(".vouch/exceptions.yaml"),
        "exceptions:\n  - id: EXC-1\n    rule: register/threat-uncontrolled\n    owner: sec@example.com\n    expires: 2026-11-01\n    reason: control being built, SEC-9\n  - id: EXC-2\n    rule: secrets/*\n    owner: sec@example.com\n    expires: 2026-11-01\n    reason: test keys\n",
    )
    .unwrap();
    let out = vouch(d.path())
        .args(["register", "lint", "--format", "json"])
        .assert()
        .code(1)
        .get_output()
        .stdout
        .clone();
    let report: serde_json::Value = serde_json::from_slice(&out).unwrap();
    let rules: Vec<(&str, &str)> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["rule"] != "register/empty")
        .map(|f| {
            (
                f["rule"].as_str().unwrap(),
                f["message"].as_str().unwrap_or(""),
            )
        })
        .collect();
    assert_eq!(rules.len(), 2, "{rules:?}");
    assert!(
        rules
            .iter()
            .any(|(r, m)| *r == "exception/expired" && m.contains("EXC-1"))
    );
    assert!(!rules.iter().any(|(_, m)| m.contains("EXC-2")), "{rules:?}");
    assert_eq!(
        rules
            .iter()
            .filter(|(r, _)| *r == "register/threat-uncontrolled")
            .count(),
        1,
        "one threat without control or owner: one finding"
    );
    // --fail-on and vouch.toml's fail_on set the threshold, as in `vouch check`.
    vouch(d.path())
        .args(["register", "lint", "--fail-on", "critical"])
        .assert()
        .code(0);
    fs::write(d.path().join("vouch.toml"), "fail_on = \"critical\"\n").unwrap();
    vouch(d.path()).args(["register", "lint"]).assert().code(0);
    // Rule overrides apply too: disabling the rule leaves only the expired exception.
    fs::write(
        d.path().join("vouch.toml"),
        "[rules.\"register/threat-uncontrolled\"]\nenabled = false\n",
    )
    .unwrap();
    vouch(d.path())
        .args(["register", "lint"])
        .assert()
        .code(1)
        .stdout(predicate::str::contains("exception/expired"))
        .stdout(predicate::str::contains("register/threat-uncontrolled").not());
}

/// `vouch check` on a repository whose registers record problems a scanner also reports, or
/// several problems of one row: each problem is one finding.
#[test]
fn check_reports_one_finding_per_problem_across_registers_and_scanners() {
    let t = tempfile::tempdir().unwrap();
    let d = t.path();
    let vuln = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/vuln");
    vouch(d)
        .args(["db", "build"])
        .arg(vuln.join("osv"))
        .args(["-o", "osv.db"])
        .assert()
        .success();
    fs::copy(vuln.join("bom.cdx.json"), d.join("bom.cdx.json")).unwrap();
    fs::write(d.join("vouch.toml"), "[vuln]\ndb = \"osv.db\"\n").unwrap();
    vouch(d).args(["register", "init"]).assert().success();
    // D6: two advisories the scanner reports (one by its alias), past their SLA; and a
    // pentest finding no scanner knows.
    fs::write(
        d.join("security/vulnerabilities.csv"),
        "Source,CVE/Issue,Affected,Severity,Decision,SLA,Status,Evidence,Opened\n\
         OSV,GHSA-demo-0001,pad-demo@1.1.0,High,Fix,7,Open,PR#1,2026-01-01\n\
         OSV,GHSA-demo-0002,pad-demo@1.1.0,Med,Fix,7,Open,PR#3,2026-01-01\n\
         Pentest,login bypass,app,High,Fix,7,Open,PR#2,2026-01-01\n",
    )
    .unwrap();
    // D2: one item neither encrypted at rest nor in transit, with empty fields.
    fs::write(
        d.join("security/data-handling.csv"),
        "Data Item,Source,Purpose,StorageLocation,Retention,Access Roles,In-Transit,At-Rest,Anonymization,Legal Basis,DSR Process,Owner\n\
         Emails,App,Login,DB,,,No,No,,Contract,Script,Ana\n",
    )
    .unwrap();
    let out = vouch(d)
        .args(["check", ".", "--format", "json"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let findings = report["findings"].as_array().unwrap();
    let at = |path: &str| -> Vec<&serde_json::Value> {
        findings
            .iter()
            .filter(|f| f["location"]["path"] == path)
            .collect()
    };

    let d6 = at("security/vulnerabilities.csv");
    assert_eq!(d6.len(), 1, "only the pentest row stays: {d6:#?}");
    assert!(d6[0]["message"].as_str().unwrap().contains("login bypass"));
    let advisory = findings
        .iter()
        .find(|f| f["rule"] == "vuln/CVE-2099-0001")
        .unwrap();
    assert!(
        advisory["message"]
            .as_str()
            .unwrap()
            .ends_with("; recorded in security/vulnerabilities.csv:2"),
        "{advisory}"
    );
    let medium = findings
        .iter()
        .find(|f| f["rule"] == "vuln/GHSA-demo-0002")
        .unwrap();
    assert!(
        medium["message"]
            .as_str()
            .unwrap()
            .ends_with("; recorded in security/vulnerabilities.csv:3")
    );
    assert_eq!(
        medium["severity"], "high",
        "a medium advisory past its SLA (a high register finding) stays high after the merge"
    );

    let d2 = at("security/data-handling.csv");
    assert_eq!(d2.len(), 1, "{d2:#?}");
    assert_eq!(d2[0]["rule"], "register/data-unencrypted");
    assert_eq!(
        d2[0]["message"],
        "data item Emails is not encrypted in transit or at rest (its row has no retention or access roles yet)"
    );
}
