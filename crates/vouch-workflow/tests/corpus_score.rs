//! Recall and precision of the workflow audits on real workflows.
//!
//! `tests/fixtures/corpus/<owner>+<repo>/*.yml` are GitHub Actions workflows copied byte for
//! byte from public repositories (`SOURCES.tsv`: repository, path, commit, licence; licence
//! texts in `LICENSES/`). `labels.tsv` lists every finding a reviewer expects on them, as
//! `file, line, rule` (the rule's primary line, as vouch reports it). The labels were seeded
//! from zizmor's findings (mapped to vouch rules) and vouch's own, and every disagreement was
//! judged by reading the workflow; `docs/ci-audit.md` records each disagreement with zizmor.
//!
//! Set `VOUCH_CORPUS_DUMP=FILE` to write vouch's findings in the labels' format.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use vouch_workflow::{FileKind, Settings, audit};

type Key = (String, u32, String);

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/corpus")
}

/// Every corpus workflow, as (path relative to the corpus, text).
fn files() -> Vec<(String, String)> {
    let mut out = Vec::new();
    for dir in std::fs::read_dir(root()).expect("corpus") {
        let dir = dir.expect("entry").path();
        if !dir.is_dir() || dir.file_name().is_some_and(|n| n == "LICENSES") {
            continue;
        }
        for f in std::fs::read_dir(&dir).expect("repo dir") {
            let p = f.expect("entry").path();
            if p.extension().is_some_and(|e| e == "yml" || e == "yaml") {
                let rel = p
                    .strip_prefix(root())
                    .expect("inside")
                    .to_string_lossy()
                    .replace('\\', "/");
                out.push((rel, std::fs::read_to_string(&p).expect("utf-8")));
            }
        }
    }
    out.sort();
    out
}

fn vouch_findings(files: &[(String, String)]) -> BTreeSet<Key> {
    let mut out = BTreeSet::new();
    for (rel, text) in files {
        let findings = audit(rel, text, FileKind::Workflow, &Settings::default())
            .unwrap_or_else(|e| panic!("{rel}: {e}"));
        for f in findings.into_iter().filter(|f| f.is_active()) {
            out.insert((rel.clone(), f.location.line().unwrap_or(0), f.rule));
        }
    }
    out
}

fn labels() -> BTreeSet<Key> {
    let text = std::fs::read_to_string(root().join("labels.tsv")).expect("labels.tsv");
    let mut out = BTreeSet::new();
    for row in text
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
    {
        let cols: Vec<&str> = row.split('\t').collect();
        assert!(cols.len() >= 3, "bad label row: {row}");
        let line: u32 = cols[1]
            .parse()
            .unwrap_or_else(|_| panic!("bad line: {row}"));
        assert!(
            out.insert((cols[0].to_string(), line, cols[2].to_string())),
            "duplicate label: {row}"
        );
    }
    out
}

#[test]
fn corpus_is_real_and_sourced() {
    let files = files();
    assert!(files.len() >= 40, "only {} corpus files", files.len());
    let sources = std::fs::read_to_string(root().join("SOURCES.tsv")).expect("SOURCES.tsv");
    let listed: BTreeSet<&str> = sources
        .lines()
        .skip(1)
        .filter_map(|l| l.split('\t').next())
        .collect();
    for (rel, _) in &files {
        assert!(listed.contains(rel.as_str()), "{rel} is not in SOURCES.tsv");
        let owner_repo = rel.split('/').next().unwrap_or("");
        assert!(
            root()
                .join("LICENSES")
                .join(format!("{owner_repo}.txt"))
                .is_file(),
            "no licence text for {owner_repo}"
        );
    }
    for row in sources.lines().skip(1) {
        let cols: Vec<&str> = row.split('\t').collect();
        assert_eq!(cols.len(), 6, "bad SOURCES row: {row}");
        assert!(cols[1].starts_with("https://github.com/"), "{row}");
        assert!(
            cols[3].len() == 40 && cols[3].bytes().all(|b| b.is_ascii_hexdigit()),
            "{row}"
        );
    }
    let repos: BTreeSet<&str> = files
        .iter()
        .filter_map(|(r, _)| r.split('/').next())
        .collect();
    assert!(repos.len() >= 40, "only {} repositories", repos.len());
}

#[test]
fn recall_and_precision_against_labels() {
    let files = files();
    let got = vouch_findings(&files);
    if let Some(path) = std::env::var_os("VOUCH_CORPUS_DUMP") {
        let rows: Vec<String> = got
            .iter()
            .map(|(f, l, r)| format!("{f}\t{l}\t{r}"))
            .collect();
        std::fs::write(path, rows.join("\n") + "\n").expect("dump");
    }
    let want = labels();
    for (f, _, _) in &want {
        assert!(
            files.iter().any(|(r, _)| r == f),
            "label for a missing file: {f}"
        );
    }
    // Per-rule counts: (true positives, false positives, false negatives).
    let mut per: BTreeMap<&str, (usize, usize, usize)> = BTreeMap::new();
    for k in got.union(&want) {
        let e = per.entry(k.2.as_str()).or_default();
        match (got.contains(k), want.contains(k)) {
            (true, true) => e.0 += 1,
            (true, false) => e.1 += 1,
            (false, true) => e.2 += 1,
            (false, false) => {}
        }
    }
    println!(
        "{:<44} {:>5} {:>5} {:>5} {:>9} {:>7}",
        "rule", "tp", "fp", "fn", "precision", "recall"
    );
    let (mut tp, mut fp, mut fnn) = (0, 0, 0);
    for (rule, (t, p, n)) in &per {
        tp += t;
        fp += p;
        fnn += n;
        println!(
            "{rule:<44} {t:>5} {p:>5} {n:>5} {:>9.3} {:>7.3}",
            *t as f64 / (t + p).max(1) as f64,
            *t as f64 / (t + n).max(1) as f64
        );
    }
    let precision = tp as f64 / (tp + fp).max(1) as f64;
    let recall = tp as f64 / (tp + fnn).max(1) as f64;
    println!(
        "{} files, {} labels, {} findings: precision {precision:.3}, recall {recall:.3}",
        files.len(),
        want.len(),
        got.len()
    );
    let missed: Vec<&Key> = want.difference(&got).collect();
    let extra: Vec<&Key> = got.difference(&want).collect();
    println!("missed (labelled, not reported): {missed:?}");
    println!("extra (reported, not labelled): {extra:?}");
    assert!(
        want.len() > 500,
        "the labels cover too little: {}",
        want.len()
    );
    assert!(precision >= 0.98, "precision {precision:.3} < 0.98");
    assert!(recall >= 0.98, "recall {recall:.3} < 0.98");
}
