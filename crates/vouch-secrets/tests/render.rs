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

/// Issue 22: a secret in a stored (uncompressed) zip member, or in a tar.gz member, scanned as
/// a single archive file: the text report shows no source line from the archive's raw bytes, so
/// neither the secret nor archive bytes reach the terminal.
#[test]
fn archive_members_never_show_raw_archive_bytes() {
    use std::io::Write;
    let token = vouch_secrets::validate::make_crc32_token(
        "ghp_",
        concat!("Qw3rTy7UiOp", "AsDfGhJkLzXcVbNm123"),
    );
    let body = format!("# deploy\nGITHUB_TOKEN={token}\n");
    let dir = tempfile::tempdir().unwrap();
    let zip_path = dir.path().join("bundle.zip");
    {
        let mut w = zip::ZipWriter::new(std::fs::File::create(&zip_path).unwrap());
        let o = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Stored);
        w.start_file("conf/deploy.env", o).unwrap();
        w.write_all(body.as_bytes()).unwrap();
        w.finish().unwrap();
    }
    let tgz_path = dir.path().join("site.tar.gz");
    {
        let gz = flate2::write::GzEncoder::new(
            std::fs::File::create(&tgz_path).unwrap(),
            flate2::Compression::fast(),
        );
        let mut tar = tar::Builder::new(gz);
        let mut h = tar::Header::new_gnu();
        h.set_size(body.len() as u64);
        h.set_mode(0o644);
        h.set_cksum();
        tar.append_data(&mut h, "site/deploy.env", body.as_bytes())
            .unwrap();
        tar.into_inner().unwrap().finish().unwrap();
    }
    let scanner = Scanner::new(ScanOptions::default()).unwrap();
    let rules: Vec<vouch_core::rule::RuleInfo> = vouch_secrets::rules::metadata()
        .into_iter()
        .map(Into::into)
        .collect();
    for archive in [&zip_path, &tgz_path] {
        let out =
            vouch_secrets::tree::scan_tree(&scanner, archive, &Default::default(), "").unwrap();
        assert_eq!(out.findings.len(), 1, "{archive:?}");
        assert_eq!(out.findings[0].location.line(), Some(2));
        let mut report = Report::new("archive");
        report.findings = out.findings;
        report.finalize(vouch_core::Severity::Low, &rules);
        let text = String::from_utf8(render(
            &report,
            Format::Text,
            &RenderOptions {
                root: vouch_secrets::report::source_root(archive),
                color: false,
                title: "vouch secrets scan",
            },
        ))
        .unwrap();
        assert!(!text.contains(&token[4..]), "{text}");
        assert!(
            !text.contains(" | "),
            "no source line from archive bytes: {text}"
        );
        assert!(text.contains("!"), "the member is named: {text}");
        // A plain file keeps its (masked) source line.
        assert!(vouch_secrets::report::source_root(dir.path()).is_some());
    }
}
