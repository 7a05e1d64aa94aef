//! The HTML report as a person sees it: every report command's page, `register report`'s
//! included, is rendered in headless Chromium (Debian's `chromium`, installed by
//! `.ci/setup.d/40-chromium.sh`; a missing browser fails the test with that instruction),
//! and the rendered DOM is checked against the same run's JSON report: the summary counts,
//! one row per finding, every rule's fix text, the skipped checks. Screenshots are kept as artifacts under the target directory
//! (`$CARGO_TARGET_TMPDIR/html-report/*.png`) and their size is checked.

use std::path::{Path, PathBuf};
use std::process::Command as Std;

use assert_cmd::Command;
use serde_json::Value;

fn vouch(dir: &Path) -> Command {
    let mut c = Command::cargo_bin("vouch").unwrap();
    c.current_dir(dir)
        .env("VOUCH_PASSWORD", "html-report")
        .env("NO_COLOR", "1")
        .env("VOUCH_TODAY", "2026-06-01")
        .env("SOURCE_DATE_EPOCH", "1780000000")
        .env("XDG_CACHE_HOME", dir.join(".cache-home"))
        .env_remove("VOUCH_DB");
    c
}

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

fn chromium() -> PathBuf {
    for name in ["chromium", "chromium-browser"] {
        for dir in std::env::var_os("PATH")
            .map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
            .unwrap_or_default()
        {
            let p = dir.join(name);
            if p.is_file() {
                return p;
            }
        }
    }
    panic!(
        "headless Chromium is needed for the HTML report test: run .ci/setup.d/40-chromium.sh (Debian package `chromium`)"
    );
}

fn headless(profile: &Path) -> Std {
    let mut c = Std::new(chromium());
    c.args([
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--no-first-run",
        "--hide-scrollbars",
    ])
    .arg(format!("--user-data-dir={}", profile.display()));
    c
}

/// The DOM after Chromium has parsed and laid out `page`.
fn dump_dom(page: &Path, profile: &Path) -> String {
    let out = headless(profile)
        .arg("--dump-dom")
        .arg(format!("file://{}", page.display()))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// Width and height from a PNG's IHDR chunk.
fn png_size(bytes: &[u8]) -> (u32, u32) {
    assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n", "not a PNG");
    let w = u32::from_be_bytes(bytes[16..20].try_into().unwrap());
    let h = u32::from_be_bytes(bytes[20..24].try_into().unwrap());
    (w, h)
}

/// A repository with something for every report: a leaked key (and its register row), a
/// file name carrying an ANSI escape, an unpinned workflow action, a wildcard IAM policy, a
/// suppressed finding, and no vulnerability database (a skipped check).
fn repo() -> tempfile::TempDir {
    let t = tempfile::tempdir().unwrap();
    let d = t.path();
    vouch(d)
        .args(["key", "generate", "--output-key-prefix", "release"])
        .assert()
        .success();
    let key = std::fs::read(d.join("release.key")).unwrap();
    std::fs::write(d.join("notes\u{1b}[2J.pem"), key).unwrap();
    std::fs::create_dir_all(d.join(".github/workflows")).unwrap();
    std::fs::write(
        d.join(".github/workflows/ci.yml"),
        "on: push\njobs:\n  build:\n    runs-on: ubuntu-24.04\n    steps:\n      - uses: actions/checkout@v4\n      - run: make\n",
    )
    .unwrap();
    std::fs::create_dir_all(d.join("iam")).unwrap();
    std::fs::write(
        d.join("iam/admin.json"),
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}"#,
    )
    .unwrap();
    std::fs::create_dir_all(d.join(".vouch")).unwrap();
    std::fs::write(
        d.join(".vouch/exceptions.yaml"),
        "exceptions:\n  - id: EXC-1\n    rule: repo/security-md\n    owner: sec@example.com\n    expires: 2026-07-01\n    reason: policy is on the website for now\n",
    )
    .unwrap();
    vouch(d).args(["register", "sync"]).assert().success();
    vouch(d)
        .args(["db", "build"])
        .arg(fixtures().join("vuln/osv"))
        .args(["-o", "osv.db"])
        .assert()
        .success();
    t
}

/// Runs `args` with `--format json` and `--format html -o page`; returns the JSON report.
fn both(dir: &Path, args: &[&str], page: &Path) -> Value {
    let json = vouch(dir)
        .args(args)
        .args(["--format", "json"])
        .output()
        .unwrap();
    assert!(
        matches!(json.status.code(), Some(0 | 1)),
        "{args:?}: {}",
        String::from_utf8_lossy(&json.stderr)
    );
    let status = vouch(dir)
        .args(args)
        .args(["--format", "html", "-o"])
        .arg(page)
        .output()
        .unwrap()
        .status;
    assert_eq!(status.code(), json.status.code(), "{args:?}");
    serde_json::from_slice(&json.stdout).unwrap()
}

/// Minimal escaping as Chromium serializes text nodes.
fn as_dom_text(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('\u{a0}', "&nbsp;")
}

fn check_page(name: &str, dom: &str, report: &Value) {
    let findings = report["findings"].as_array().unwrap();
    let active = findings
        .iter()
        .filter(|f| f.get("suppressed_by").is_none_or(Value::is_null))
        .count();
    assert!(active > 0, "{name}: the fixture must give findings");
    assert_eq!(
        dom.matches("<tr class=\"finding\"").count(),
        active,
        "{name}: one row per active finding"
    );
    assert_eq!(
        dom.matches("<tr class=\"suppressed-finding\"").count(),
        findings.len() - active,
        "{name}: suppressed findings are listed apart"
    );
    for (sev, n) in report["summary"]["counts"].as_object().unwrap() {
        let want = format!("data-severity=\"{sev}\" data-count=\"{n}\"");
        assert!(dom.contains(&want), "{name}: summary lacks {want}");
    }
    assert!(
        dom.contains(&format!("id=\"total\" data-count=\"{active}\"")),
        "{name}: total"
    );
    assert!(dom.contains("<svg class=\"chart\""), "{name}: bar chart");
    // Every rule with an active finding has its fix text on the page (its first line, at
    // least).
    let fired: Vec<&str> = findings
        .iter()
        .filter(|f| f.get("suppressed_by").is_none_or(Value::is_null))
        .map(|f| f["rule"].as_str().unwrap())
        .collect();
    for rule in report["rules"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| fired.contains(&r["id"].as_str().unwrap()))
    {
        let help = rule["help"].as_str().unwrap_or("");
        if let Some(first) = help.lines().next().filter(|l| !l.is_empty()) {
            let needle: String = first.chars().take(60).collect();
            assert!(
                dom.contains(&as_dom_text(&needle)),
                "{name}: help of {} missing: {needle}",
                rule["id"]
            );
        }
    }
    for s in report["skipped_checks"].as_array().into_iter().flatten() {
        let reason = s["reason"].as_str().unwrap();
        assert!(
            dom.contains(&as_dom_text(reason)),
            "{name}: skipped check {} not explained",
            s["name"]
        );
    }
    assert!(
        !dom.contains('\u{1b}'),
        "{name}: a raw escape reached the page"
    );
    assert!(!dom.contains("<script"), "{name}: no scripts");
}

#[test]
fn every_report_renders_in_chromium_with_all_its_content() {
    let t = repo();
    let d = t.path();
    let artifacts = Path::new(env!("CARGO_TARGET_TMPDIR")).join("html-report");
    std::fs::create_dir_all(&artifacts).unwrap();
    let profile = tempfile::tempdir().unwrap();

    let reports: [(&str, Vec<&str>); 6] = [
        ("check", vec!["check", "."]),
        ("ci-audit", vec!["ci", "audit", "."]),
        ("secrets-scan", vec!["secrets", "scan", "."]),
        ("iam-lint", vec!["iam", "lint", "iam/admin.json"]),
        ("register-lint", vec!["register", "lint"]),
        (
            "vuln-scan",
            vec![
                "vuln",
                "scan",
                "BOM",
                "--db",
                "osv.db",
                "--fail-on",
                "critical",
            ],
        ),
    ];
    let bom = fixtures().join("vuln/bom.cdx.json");
    let bom = bom.to_str().unwrap();
    for (name, args) in &reports {
        let args: Vec<&str> = args
            .iter()
            .map(|a| if *a == "BOM" { bom } else { a })
            .collect();
        let page = artifacts.join(format!("{name}.html"));
        let report = both(d, &args, &page);
        let dom = dump_dom(&page, profile.path());
        check_page(name, &dom, &report);
        if *name == "check" {
            assert!(
                dom.contains("notes\\x1b[2J.pem"),
                "the escape in the file name is shown, not executed"
            );
            assert!(
                dom.contains("id=\"skipped\""),
                "vuln is skipped without [vuln] db"
            );
            assert!(dom.contains("recorded in security/secrets.csv:2"));
            assert!(dom.contains("EXC-1"), "what suppressed the finding");
        }
    }

    // The register report is the same findings page (its findings are `register lint`'s)
    // with the registers' own sections around it.
    let lint = vouch(d)
        .args(["register", "lint", "--format", "json"])
        .output()
        .unwrap();
    let lint: Value = serde_json::from_slice(&lint.stdout).unwrap();
    let page = artifacts.join("register-report.html");
    vouch(d)
        .args(["register", "report", "--format", "html", "-o"])
        .arg(&page)
        .assert()
        .success();
    let dom = dump_dom(&page, profile.path());
    check_page("register-report", &dom, &lint);
    assert_eq!(
        dom.matches("<tr data-register=").count(),
        7,
        "gate status of D1–D7"
    );
    for section in ["gate-status-section", "heat-map", "findings", "register-D5"] {
        assert!(
            dom.contains(&format!("<section id=\"{section}\"")),
            "register report lacks {section}"
        );
    }
    assert!(
        dom.find("id=\"gate-status-section\"") < dom.find("id=\"findings\""),
        "gate status above the findings"
    );
    assert!(
        dom.contains("Content-Security-Policy"),
        "the register report has the CSP"
    );

    // Screenshots: the summary and the first findings render at the window's size, and the
    // page is not blank (a blank 1280x1600 PNG is a few kB).
    for (name, page, width, height) in [
        ("check", "check.html", 1280u32, 1600u32),
        ("check-phone", "check.html", 412, 915),
        ("register-report", "register-report.html", 1280, 1600),
    ] {
        let page = artifacts.join(page);
        let png = artifacts.join(format!("{name}.png"));
        let _ = std::fs::remove_file(&png);
        let out = headless(profile.path())
            .arg(format!("--screenshot={}", png.display()))
            .arg(format!("--window-size={width},{height}"))
            .arg(format!("file://{}", page.display()))
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let bytes = std::fs::read(&png).unwrap();
        assert_eq!(png_size(&bytes), (width, height), "{name}");
        assert!(
            bytes.len() > 30_000,
            "{name}: {} bytes looks blank",
            bytes.len()
        );
    }
}

#[test]
fn markdown_carries_the_same_content_in_details_blocks() {
    let t = repo();
    let d = t.path();
    let json = vouch(d)
        .args(["check", ".", "--format", "json"])
        .output()
        .unwrap();
    let report: Value = serde_json::from_slice(&json.stdout).unwrap();
    let md = vouch(d)
        .args(["check", ".", "--format", "markdown"])
        .output()
        .unwrap();
    let md = String::from_utf8(md.stdout).unwrap();
    assert_eq!(
        md.matches("<details>").count(),
        md.matches("</details>").count()
    );
    let findings = report["findings"].as_array().unwrap();
    for f in findings
        .iter()
        .filter(|f| f.get("suppressed_by").is_none_or(Value::is_null))
    {
        let id = f["rule"].as_str().unwrap();
        assert!(
            md.contains(&format!("<details><summary><code>{id}</code>")),
            "{id} has no collapsible group"
        );
    }
    let active = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f.get("suppressed_by").is_none_or(Value::is_null))
        .count();
    assert_eq!(
        md.lines()
            .filter(|l| l.starts_with("- `") && l.contains("` — "))
            .count(),
        active
    );
    assert!(md.contains("**Fix:** Revoke the credential"), "{md}");
    assert!(md.contains("**Skipped checks**"));
    assert!(md.contains("notes\\x1b[2J.pem"));
    assert!(!md.contains('\u{1b}'));
    assert!(md.contains("  1 | ----"), "the masked source line: {md}");
}
