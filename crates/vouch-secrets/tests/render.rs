//! How a secret finding reads in the text report: location, masked source line, redacted
//! evidence. The snapshot must never contain the secret (checked below as well).

use vouch_core::Report;
use vouch_report::{Format, RenderOptions, render};
use vouch_secrets::scan::{ScanOptions, Scanner};

#[test]
fn text_report_of_a_leak_is_redacted() {
    let token = vouch_secrets::validate::make_crc32_token(
        "ghp_",
        concat!("Qw3rTy7UiOp", "AsDfGhJkLzXcVbNm123"),
    );
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("deploy.env"),
        format!("# deploy\nGITHUB_TOKEN={token}\n"),
    )
    .unwrap();
    let scanner = Scanner::new(ScanOptions::default()).unwrap();
    let out =
        vouch_secrets::tree::scan_tree(&scanner, dir.path(), &Default::default(), "").unwrap();
    let mut report = Report::new("repo");
    report.checks.push("secrets".into());
    report.files_scanned = out.files;
    report.findings = out.findings;
    let rules: Vec<vouch_core::rule::RuleInfo> = vouch_secrets::rules::metadata()
        .into_iter()
        .map(Into::into)
        .collect();
    report.finalize(vouch_core::Severity::Low, &rules);
    let text = String::from_utf8(render(
        &report,
        Format::Text,
        &RenderOptions {
            root: Some(dir.path()),
            color: false,
            title: "vouch secrets scan",
        },
    ))
    .unwrap();
    assert!(!text.contains(&token[4..]));
    insta::assert_snapshot!(text);
}
