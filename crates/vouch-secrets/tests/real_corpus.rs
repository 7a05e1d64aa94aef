//! The real-world corpus: files from public repositories (Kubernetes manifests, Helm templates,
//! env files, compose files, CI workflows, docs), verbatim under `real/`, and copies of some of
//! them with synthetic secrets planted under `planted/` (each such file says so in its first
//! line). `labels.tsv` lists every location that holds a credential (`path`, `line`, `rule`);
//! every other finding is a false positive. The test prints recall and precision and asserts
//! both are at least 0.98. Sources and licences: `SOURCES.tsv` beside the files.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use vouch_secrets::scan::{ScanOptions, Scanner};

fn corpus() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/corpus")
}

type Label = (String, u32, String);

fn labels() -> BTreeSet<Label> {
    let text = std::fs::read_to_string(corpus().join("labels.tsv")).unwrap();
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(|l| {
            let mut c = l.split('\t');
            let (p, n, r) = (c.next().unwrap(), c.next().unwrap(), c.next().unwrap());
            (p.to_string(), n.parse().unwrap(), r.to_string())
        })
        .collect()
}

/// Files of the corpus proper (not its README, labels, sources or `.vouchignore`).
const META: &[&str] = &[".vouchignore", "labels.tsv", "SOURCES.tsv", "README.md"];

fn copy_tree(src: &Path, dst: &Path, rel: &str) {
    for e in std::fs::read_dir(src).unwrap().flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        let r = if rel.is_empty() {
            name.clone()
        } else {
            format!("{rel}/{name}")
        };
        if e.path().is_dir() {
            std::fs::create_dir_all(dst.join(&r)).unwrap();
            copy_tree(&e.path(), dst, &r);
        } else if !(rel.is_empty() && META.contains(&name.as_str())) {
            std::fs::copy(e.path(), dst.join(&r)).unwrap();
        }
    }
}

#[test]
fn real_world_recall_and_precision() {
    // Scanned from a copy: the corpus directory's own `.vouchignore` keeps it out of
    // `vouch check .` on this repository.
    let dir = tempfile::tempdir().unwrap();
    copy_tree(&corpus(), dir.path(), "");
    let scanner = Scanner::new(ScanOptions::default()).unwrap();
    let out =
        vouch_secrets::tree::scan_tree(&scanner, dir.path(), &Default::default(), "").unwrap();
    let found: BTreeSet<Label> = out
        .findings
        .iter()
        .filter(|f| f.is_active())
        .map(|f| {
            (
                f.location.path.clone(),
                f.location.line().unwrap_or(0),
                f.rule.clone(),
            )
        })
        .collect();
    let expected = labels();
    // Every labelled file exists and every labelled line holds text.
    for (p, n, _) in &expected {
        let text = std::fs::read_to_string(corpus().join(p)).unwrap();
        assert!(
            text.lines().count() >= *n as usize,
            "{p}:{n} is past the end"
        );
    }
    let tp = found.intersection(&expected).count();
    let fps: Vec<&Label> = found.difference(&expected).collect();
    let fns: Vec<&Label> = expected.difference(&found).collect();
    let recall = tp as f64 / expected.len().max(1) as f64;
    let precision = tp as f64 / found.len().max(1) as f64;
    println!(
        "real-world corpus: {} files, {} labelled secrets, {} findings",
        out.files,
        expected.len(),
        found.len()
    );
    println!("recall    = {recall:.3} ({tp}/{})", expected.len());
    println!("precision = {precision:.3} ({tp}/{})", found.len());
    for fp in &fps {
        println!("false positive: {}:{} {}", fp.0, fp.1, fp.2);
    }
    for f in &fns {
        println!("missed: {}:{} {}", f.0, f.1, f.2);
    }
    assert!(expected.len() >= 10, "the corpus must label real positives");
    // One value in several places is one secret: the planted key (a PEM file and a Secret's
    // block scalar) and the planted database password (an env file and two compose services).
    let id_at = |path: &str, line: u32| {
        out.findings
            .iter()
            .find(|f| f.location.path == path && f.location.line() == Some(line))
            .and_then(|f| f.properties.get("secret_id"))
            .and_then(|v| v.as_str().map(str::to_string))
    };
    let key = id_at("planted/keys/deploy.pem", 2);
    assert!(key.is_some());
    assert_eq!(key, id_at("planted/k8s/deploy-key-secret.yaml", 9));
    let pw = id_at("planted/laravel/.env", 26);
    assert!(pw.is_some());
    assert_eq!(pw, id_at("planted/compose/nextcloud-postgres.yaml", 7));
    assert_eq!(pw, id_at("planted/compose/nextcloud-postgres.yaml", 18));
    assert_ne!(pw, key);
    let summary = vouch_secrets::report::distinct_summary(&out.findings).unwrap();
    println!("{summary}");
    assert!(
        summary.starts_with("14 secret findings are 11 distinct secrets (2 values"),
        "{summary}"
    );
    assert!(recall >= 0.98, "recall {recall:.3}");
    assert!(precision >= 0.98, "precision {precision:.3}");
}
