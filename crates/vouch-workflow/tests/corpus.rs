//! The workflow corpus: every file parses and audits, output is deterministic, and the rendered
//! findings of a few fixtures are pinned by snapshots.

use std::path::{Path, PathBuf};

use vouch_core::{Report, Severity};
use vouch_workflow::{FileKind, Settings, audit};

fn corpus() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/corpus")
}

/// Every corpus file as (path relative to the corpus, text).
fn files() -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut dirs = vec![corpus().join("workflows"), corpus().join("actions")];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).expect("corpus dir") {
            let path = entry.expect("entry").path();
            if path.is_dir() {
                dirs.push(path);
            } else if path.extension().is_some_and(|e| e == "yml" || e == "yaml") {
                let rel = path
                    .strip_prefix(corpus())
                    .expect("inside corpus")
                    .to_string_lossy()
                    .replace('\\', "/");
                out.push((rel, std::fs::read_to_string(&path).expect("utf-8")));
            }
        }
    }
    out.sort();
    out
}

fn render(path: &str, text: &str) -> String {
    let findings =
        audit(path, text, FileKind::of_path(path), &Settings::default()).expect("audits");
    let mut report = Report::new(path);
    report.checks.push("workflow".into());
    report.files_scanned = 1;
    report.findings = findings;
    let rules: Vec<vouch_core::rule::RuleInfo> = vouch_workflow::rules()
        .into_iter()
        .map(Into::into)
        .collect();
    report.finalize(Severity::High, &rules);
    let bytes = vouch_report::render(
        &report,
        vouch_report::Format::Text,
        &vouch_report::RenderOptions {
            root: Some(&corpus()),
            color: false,
            title: "vouch ci audit",
        },
    );
    String::from_utf8(bytes).expect("utf-8")
}

#[test]
fn every_corpus_file_audits_deterministically() {
    let files = files();
    assert!(files.len() >= 100, "corpus has {} files", files.len());
    let mut total = 0;
    for (path, text) in &files {
        let kind = FileKind::of_path(path);
        let a =
            audit(path, text, kind, &Settings::default()).unwrap_or_else(|e| panic!("{path}: {e}"));
        let b = audit(path, text, kind, &Settings::default()).expect("second run");
        assert_eq!(a, b, "{path}: not deterministic");
        for f in &a {
            let r = f
                .location
                .region
                .expect("every workflow finding has a position");
            assert!(r.line >= 1 && r.column >= 1, "{path}: {f:?}");
            let line = text.lines().nth(r.line as usize - 1).expect("line exists");
            assert!(
                (r.column as usize) <= line.chars().count(),
                "{path}:{}:{} is past the end of the line",
                r.line,
                r.column
            );
        }
        total += a.len();
    }
    assert!(total > 100, "only {total} findings on the corpus");
}

#[test]
fn snapshot_pull_request_target() {
    let path = "workflows/node-pr-target.yml";
    let text = std::fs::read_to_string(corpus().join(path)).expect("fixture");
    insta::assert_snapshot!(render(path, &text));
}

#[test]
fn snapshot_triage_injection() {
    let path = "workflows/deno-triage.yml";
    let text = std::fs::read_to_string(corpus().join(path)).expect("fixture");
    insta::assert_snapshot!(render(path, &text));
}

#[test]
fn snapshot_static_keys_deploy() {
    let path = "workflows/hand-azure-creds.yml";
    let text = std::fs::read_to_string(corpus().join(path)).expect("fixture");
    insta::assert_snapshot!(render(path, &text));
}

#[test]
fn snapshot_composite_action() {
    let path = "actions/comment-pr/action.yml";
    let text = std::fs::read_to_string(corpus().join(path)).expect("fixture");
    insta::assert_snapshot!(render(path, &text));
}
