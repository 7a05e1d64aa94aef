//! The corpus judged against zizmor (PyPI, pinned by `.ci/setup.d/45-workflow.sh`).
//!
//! Both tools audit every corpus file; findings of the audits the two share (`REAL_MAP`) are
//! matched by (file, line). Every difference must be listed in `tests/corpus/differences.tsv` with a
//! reason that `docs/ci-audit.md` explains (`diff:<reason>`), and nothing listed may have
//! disappeared: a change in either tool shows up here for review.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

use vouch_workflow::{FileKind, Settings, audit};

fn corpus() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/corpus")
}

fn zizmor() -> PathBuf {
    if let Some(p) = std::env::var_os("VOUCH_ZIZMOR") {
        return PathBuf::from(p);
    }
    let cache = std::env::var_os("VOUCH_ZIZMOR_CACHE")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| Path::new(&h).join(".cache/vouch-zizmor")))
        .expect("HOME or VOUCH_ZIZMOR_CACHE");
    cache.join("venv/bin/zizmor")
}

fn corpus_files() -> Vec<String> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(corpus().join("workflows")).expect("workflows") {
        let name = entry
            .expect("entry")
            .file_name()
            .to_string_lossy()
            .into_owned();
        if name.ends_with(".yml") {
            out.push(format!("workflows/{name}"));
        }
    }
    for entry in std::fs::read_dir(corpus().join("actions")).expect("actions") {
        let dir = entry
            .expect("entry")
            .file_name()
            .to_string_lossy()
            .into_owned();
        out.push(format!("actions/{dir}/action.yml"));
    }
    out.sort();
    out
}

fn norm(path: &str) -> String {
    let path = path.replace('\\', "/");
    ["workflows/", "actions/"]
        .iter()
        .filter_map(|m| path.rfind(m).map(|i| path[i..].to_string()))
        .next()
        .unwrap_or(path)
}

#[test]
fn differences_from_zizmor_are_all_known() {
    let bin = zizmor();
    assert!(
        bin.is_file(),
        "zizmor is not installed at {}: run .ci/setup.d/45-workflow.sh (or set VOUCH_ZIZMOR)",
        bin.display()
    );
    let files = corpus_files();
    let workflows: Vec<&String> = files
        .iter()
        .filter(|f| f.starts_with("workflows/"))
        .collect();
    let out = Command::new(&bin)
        .current_dir(corpus())
        .args([
            "--offline",
            "--no-progress",
            "--config",
            "zizmor-first-party.yml",
            "--format",
            "json",
        ])
        .args(&workflows)
        .arg("actions")
        .output()
        .expect("run zizmor");
    let z: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "zizmor output is not JSON ({e}): {}",
            String::from_utf8_lossy(&out.stderr)
        )
    });

    let mut zset = BTreeSet::new();
    for f in z.as_array().expect("array") {
        let Some((_, rule)) = REAL_MAP.iter().find(|(id, _)| f["ident"] == *id) else {
            continue;
        };
        let locs = f["locations"].as_array().expect("locations");
        let prim = locs
            .iter()
            .find(|l| l["symbolic"]["kind"] == "Primary")
            .unwrap_or(&locs[0]);
        let path = norm(
            prim["symbolic"]["key"]["Local"]["verbatim_path"]
                .as_str()
                .expect("path"),
        );
        let line = prim["concrete"]["location"]["start_point"]["row"]
            .as_u64()
            .expect("row")
            + 1;
        zset.insert((rule.to_string(), path, line));
    }

    let mut vset = BTreeSet::new();
    for rel in &files {
        let text = std::fs::read_to_string(corpus().join(rel)).expect("read");
        for f in audit(rel, &text, FileKind::of_path(rel), &Settings::default()).expect("audit") {
            if REAL_MAP.iter().any(|(_, r)| *r == f.rule) && f.is_active() {
                vset.insert((
                    f.rule,
                    rel.clone(),
                    u64::from(f.location.line().unwrap_or(0)),
                ));
            }
        }
    }

    let mut actual = BTreeSet::new();
    for (rule, path, line) in vset.difference(&zset) {
        actual.insert(format!("{rule}\tvouch\t{path}:{line}"));
    }
    for (rule, path, line) in zset.difference(&vset) {
        actual.insert(format!("{rule}\tzizmor\t{path}:{line}"));
    }

    let docs = std::fs::read_to_string(corpus().join("../../../../docs/ci-audit.md"))
        .expect("docs/ci-audit.md");
    let listed =
        std::fs::read_to_string(corpus().join("differences.tsv")).expect("differences.tsv");
    let mut expected = BTreeSet::new();
    for row in listed
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
    {
        let cols: Vec<&str> = row.split('\t').collect();
        assert_eq!(cols.len(), 4, "bad row: {row}");
        assert!(
            docs.contains(&format!("diff:{}", cols[3])),
            "reason `{}` is not explained in docs/ci-audit.md",
            cols[3]
        );
        expected.insert(cols[..3].join("\t"));
    }
    let new: Vec<&String> = actual.difference(&expected).collect();
    let gone: Vec<&String> = expected.difference(&actual).collect();
    assert!(
        new.is_empty() && gone.is_empty(),
        "differences from zizmor changed.\nnew (fix vouch or explain):\n{}\nno longer different:\n{}",
        new.iter()
            .map(|s| s.as_str())
            .collect::<Vec<_>>()
            .join("\n"),
        gone.iter()
            .map(|s| s.as_str())
            .collect::<Vec<_>>()
            .join("\n"),
    );
    assert!(
        vset.intersection(&zset).count() > 150,
        "the tools should agree on most findings"
    );
}

/// zizmor audits and the vouch rules that answer them (both corpora).
const REAL_MAP: &[(&str, &str)] = &[
    ("unpinned-uses", "workflow/unpinned-action"),
    ("excessive-permissions", "workflow/permissions"),
    ("cache-poisoning", "workflow/cache-poisoning"),
    ("dangerous-triggers", "workflow/dangerous-trigger"),
    ("template-injection", "workflow/template-injection"),
    ("artipacked", "workflow/artipacked"),
    ("github-env", "workflow/github-env"),
    ("insecure-commands", "workflow/insecure-commands"),
    ("bot-conditions", "workflow/bot-conditions"),
    ("secrets-inherit", "workflow/secrets-inherit"),
    (
        "overprovisioned-secrets",
        "workflow/overprovisioned-secrets",
    ),
    ("unredacted-secrets", "workflow/unredacted-secrets"),
    ("self-hosted-runner", "workflow/self-hosted-runner"),
    ("unpinned-images", "workflow/unpinned-images"),
    ("use-trusted-publishing", "workflow/use-trusted-publishing"),
    (
        "hardcoded-container-credentials",
        "workflow/hardcoded-container-credentials",
    ),
    ("archived-uses", "workflow/archived-uses"),
];

/// The line of the top-level `on:` key, where vouch reports a missing `permissions:` block
/// (zizmor reports it on the workflow and on every job; both count as that one finding).
fn on_line(text: &str) -> u64 {
    text.lines()
        .position(|l| l.starts_with("on:") || l.starts_with("\"on\":") || l.starts_with("'on':"))
        .map_or(1, |i| i as u64 + 1)
}

/// The labelled real-world corpus (`tests/fixtures/corpus`) against zizmor's regular-persona
/// findings: every difference is in `zizmor-differences.tsv` with a reason explained in
/// docs/ci-audit.md, and nothing listed there has gone away.
#[test]
fn real_world_corpus_differences_from_zizmor_are_all_known() {
    let bin = zizmor();
    assert!(
        bin.is_file(),
        "zizmor is not installed at {}: run .ci/setup.d/45-workflow.sh (or set VOUCH_ZIZMOR)",
        bin.display()
    );
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/corpus");
    let mut files = Vec::new();
    for dir in std::fs::read_dir(&root).expect("corpus") {
        let dir = dir.expect("entry").path();
        if !dir.is_dir() || dir.file_name().is_some_and(|n| n == "LICENSES") {
            continue;
        }
        for f in std::fs::read_dir(&dir).expect("dir") {
            let p = f.expect("entry").path();
            if p.extension().is_some_and(|e| e == "yml" || e == "yaml") {
                files.push(
                    p.strip_prefix(&root)
                        .expect("inside")
                        .to_string_lossy()
                        .replace('\\', "/"),
                );
            }
        }
    }
    files.sort();
    let out = Command::new(&bin)
        .current_dir(&root)
        .args([
            "--offline",
            "--no-progress",
            "--config",
            "../../corpus/zizmor-first-party.yml",
            "--format",
            "json",
        ])
        .args(&files)
        .output()
        .expect("run zizmor");
    let z: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "zizmor output is not JSON ({e}): {}",
            String::from_utf8_lossy(&out.stderr)
        )
    });
    let mut zset = BTreeSet::new();
    for f in z.as_array().expect("array") {
        if f["determinations"]["persona"] != "Regular" {
            continue;
        }
        let Some((_, rule)) = REAL_MAP.iter().find(|(id, _)| f["ident"] == *id) else {
            continue;
        };
        let locs = f["locations"].as_array().expect("locations");
        let prim = locs
            .iter()
            .find(|l| l["symbolic"]["kind"] == "Primary")
            .unwrap_or(&locs[0]);
        let path = prim["symbolic"]["key"]["Local"]["verbatim_path"]
            .as_str()
            .expect("path")
            .trim_start_matches("./")
            .to_string();
        let mut line = prim["concrete"]["location"]["start_point"]["row"]
            .as_u64()
            .expect("row")
            + 1;
        let annotation = prim["symbolic"]["annotation"].as_str().unwrap_or("");
        if *rule == "workflow/permissions" && annotation.contains("default permissions") {
            let text = std::fs::read_to_string(root.join(&path)).expect("read");
            line = on_line(&text);
        }
        zset.insert((rule.to_string(), path, line));
    }
    // The labels, restricted to the rules zizmor has a counterpart for.
    let labels = std::fs::read_to_string(root.join("labels.tsv")).expect("labels.tsv");
    let mut lset = BTreeSet::new();
    for row in labels
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
    {
        let cols: Vec<&str> = row.split('\t').collect();
        if REAL_MAP.iter().any(|(_, r)| *r == cols[2]) {
            lset.insert((
                cols[2].to_string(),
                cols[0].to_string(),
                cols[1].parse::<u64>().expect("line"),
            ));
        }
    }
    let mut actual = BTreeSet::new();
    for (rule, path, line) in lset.difference(&zset) {
        actual.insert(format!("{rule}\tvouch\t{path}:{line}"));
    }
    for (rule, path, line) in zset.difference(&lset) {
        actual.insert(format!("{rule}\tzizmor\t{path}:{line}"));
    }
    let docs = std::fs::read_to_string(root.join("../../../../../docs/ci-audit.md"))
        .expect("docs/ci-audit.md");
    let listed = std::fs::read_to_string(root.join("zizmor-differences.tsv"))
        .expect("zizmor-differences.tsv");
    let mut expected = BTreeSet::new();
    for row in listed
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
    {
        let cols: Vec<&str> = row.split('\t').collect();
        assert_eq!(cols.len(), 4, "bad row: {row}");
        assert!(
            docs.contains(&format!("diff:{}", cols[3])),
            "reason `{}` is not explained in docs/ci-audit.md",
            cols[3]
        );
        expected.insert(cols[..3].join("\t"));
    }
    let new: Vec<&String> = actual.difference(&expected).collect();
    let gone: Vec<&String> = expected.difference(&actual).collect();
    assert!(
        new.is_empty() && gone.is_empty(),
        "differences from zizmor changed.\nnew (fix vouch or explain):\n{}\nno longer different:\n{}",
        new.iter()
            .map(|s| s.as_str())
            .collect::<Vec<_>>()
            .join("\n"),
        gone.iter()
            .map(|s| s.as_str())
            .collect::<Vec<_>>()
            .join("\n"),
    );
    let agreed = lset.intersection(&zset).count();
    println!(
        "real-world corpus: {} labelled findings zizmor has a counterpart for, {} zizmor findings, {agreed} agreed",
        lset.len(),
        zset.len()
    );
    assert!(
        agreed * 100 >= lset.len() * 95,
        "the tools should agree on most findings"
    );
}
