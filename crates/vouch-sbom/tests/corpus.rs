//! Recall and precision of every lockfile reader on the real-world corpus in
//! `../shared/corpora/lockfiles` (67 projects copied from public repositories, with expected
//! package sets from an independent parser; see its README for the rules used here).
//!
//! Each project directory is scanned exactly as `vouch sbom generate DIR` scans it; the
//! components' purls are parsed back to `(ecosystem, name, version)`, normalised the way the
//! corpus README prescribes, and compared with `expected/<project>.tsv`:
//!
//! - recall = expected rows of scope `required`/`optional`/`dev` that vouch lists ÷ all of them;
//! - precision = vouch components matching any expected row (`local` ones included) ÷ all
//!   vouch components.
//!
//! Scores are printed per lockfile format (npm v1/v2/v3, Yarn v1/Berry, pnpm 5/6/9, …), per
//! project and overall; the test fails when any format or the total falls below 0.98.
//! Run with `--nocapture` (nextest: `--no-capture`) to see the table.
//!
//! Known, documented disagreements (docs/sbom.md, "Corpus scores"):
//! - npm names are compared case-insensitively: the purl specification lower-cases npm names
//!   (`JSONStream` → `pkg:npm/jsonstream`).
//! - Projects without an expected set (`npm-shrinkwrap.json`) are scanned (they must read
//!   without error) but not scored.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};

use vouch_sbom::purl::Purl;

const THRESHOLD: f64 = 0.98;

fn corpus() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/corpora/lockfiles")
}

type Key = (String, String, String);

fn pep503(name: &str) -> String {
    let mut out = String::new();
    let mut last_sep = false;
    for ch in name.chars() {
        if matches!(ch, '-' | '_' | '.') {
            if !last_sep {
                out.push('-');
            }
            last_sep = true;
        } else {
            out.extend(ch.to_lowercase());
            last_sep = false;
        }
    }
    out
}

const GEM_PLATFORMS: &[&str] = &[
    "x86_64",
    "x86",
    "arm64",
    "aarch64",
    "arm",
    "java",
    "universal",
    "x64",
    "mingw",
    "mswin",
    "darwin",
    "linux",
];

fn normalise(eco: &str, name: &str, version: &str) -> Key {
    let eco = eco.to_ascii_lowercase();
    let mut name = name.to_string();
    let mut version = version.to_string();
    match eco.as_str() {
        "pypi" => name = pep503(&name),
        "npm" | "nuget" | "composer" | "hex" | "swift" => name = name.to_lowercase(),
        _ => {}
    }
    if matches!(eco.as_str(), "golang" | "composer")
        && let Some(v) = version.strip_prefix('v')
    {
        version = v.to_string();
    }
    if eco == "gem"
        && let Some((v, plat)) = version.split_once('-')
        && GEM_PLATFORMS.iter().any(|p| plat.starts_with(p))
    {
        version = v.to_string();
    }
    (eco, name, version)
}

/// `(ecosystem, name, version)` of a vouch purl, named as the corpus names packages.
fn key_of_purl(purl: &str) -> Option<Key> {
    let p = Purl::parse(purl)?;
    let name = match (p.ty.as_str(), &p.namespace) {
        ("maven", Some(ns)) => format!("{ns}:{}", p.name),
        (_, Some(ns)) => format!("{ns}/{}", p.name),
        (_, None) => p.name.clone(),
    };
    Some(normalise(&p.ty, &name, p.version.as_deref().unwrap_or("")))
}

/// The format label of a lockfile in a project (distinguishing lockfile versions).
fn format_of(project: &Path, file: &str) -> String {
    let base = file.rsplit('/').next().unwrap_or(file);
    let text = || std::fs::read_to_string(project.join(file)).unwrap_or_default();
    match base {
        "package-lock.json" | "npm-shrinkwrap.json" => {
            let v: serde_json::Value = serde_json::from_str(&text()).unwrap_or_default();
            format!(
                "npm v{}",
                v.get("lockfileVersion")
                    .and_then(|v| v.as_u64())
                    .unwrap_or(1)
            )
        }
        "yarn.lock" => {
            if text().contains("__metadata:") {
                "yarn berry".into()
            } else {
                "yarn v1".into()
            }
        }
        "pnpm-lock.yaml" => {
            let t = text();
            let v = t
                .lines()
                .find_map(|l| l.strip_prefix("lockfileVersion:"))
                .unwrap_or("?")
                .trim()
                .trim_matches(|c| c == '\'' || c == '"')
                .to_string();
            let major = v.split('.').next().unwrap_or("?").to_string();
            format!("pnpm {major}")
        }
        "go.mod" | "go.sum" => "go.mod".into(),
        "package.json" | "pyproject.toml" | "pubspec.yaml" | "composer.json" => "manifest".into(),
        other => other.to_string(),
    }
}

struct Expected {
    /// key → (scope, format)
    rows: HashMap<Key, (String, String)>,
}

fn read_expected(project: &Path, tsv: &Path) -> Expected {
    let text = std::fs::read_to_string(tsv).unwrap();
    let mut rows: HashMap<Key, (String, String)> = HashMap::new();
    let mut formats: HashMap<String, String> = HashMap::new();
    for line in text.lines().skip(1) {
        let cols: Vec<&str> = line.split('\t').collect();
        assert_eq!(cols.len(), 5, "{}: bad row {line:?}", tsv.display());
        let key = normalise(cols[0], cols[1], cols[2]);
        let format = formats
            .entry(cols[4].to_string())
            .or_insert_with(|| format_of(project, cols[4]))
            .clone();
        let scope = cols[3].to_string();
        // The strongest scope wins when the same key appears twice after normalisation.
        let rank = |s: &str| match s {
            "required" => 0,
            "optional" => 1,
            "dev" => 2,
            _ => 3,
        };
        match rows.get(&key) {
            Some((s, _)) if rank(s) <= rank(&scope) => {}
            _ => {
                rows.insert(key, (scope, format));
            }
        }
    }
    Expected { rows }
}

#[derive(Default, Clone, Copy)]
struct Score {
    expected: usize,
    found: usize,
    generated: usize,
    matched: usize,
}

impl Score {
    fn add(&mut self, o: Score) {
        self.expected += o.expected;
        self.found += o.found;
        self.generated += o.generated;
        self.matched += o.matched;
    }
    fn recall(&self) -> f64 {
        if self.expected == 0 {
            1.0
        } else {
            self.found as f64 / self.expected as f64
        }
    }
    fn precision(&self) -> f64 {
        if self.generated == 0 {
            1.0
        } else {
            self.matched as f64 / self.generated as f64
        }
    }
}

#[test]
fn corpus_recall_and_precision() {
    let root = corpus();
    assert!(
        root.join("expected").is_dir(),
        "the lockfile corpus is missing: {} (../shared beside the repository)",
        root.display()
    );
    let mut projects: Vec<PathBuf> = std::fs::read_dir(&root)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_dir() && !matches!(file_name(p).as_str(), "expected" | "LICENSES"))
        .collect();
    projects.sort();
    assert!(
        projects.len() >= 60,
        "corpus has {} projects",
        projects.len()
    );

    let mut per_format: BTreeMap<String, Score> = BTreeMap::new();
    let mut total = Score::default();
    let mut report = String::new();
    let mut misses: Vec<String> = Vec::new();
    let mut macro_r = Vec::new();
    let mut macro_p = Vec::new();

    for project in &projects {
        let name = file_name(project);
        let started = std::time::Instant::now();
        let inv = vouch_sbom::scan_with(project, &vouch_sbom::ScanOptions::default())
            .unwrap_or_else(|e| panic!("{name}: scan failed: {e}"));
        assert!(
            inv.warnings.is_empty(),
            "{name}: warnings {:?}",
            inv.warnings
        );
        let tsv = root.join("expected").join(format!("{name}.tsv"));
        if !tsv.is_file() {
            assert!(
                !inv.components.is_empty(),
                "{name}: no expected set, but it must still read"
            );
            report.push_str(&format!(
                "{name:<28} (no expected set) {} components\n",
                inv.components.len()
            ));
            continue;
        }
        let exp = read_expected(project, &tsv);
        let proj = score_project(&name, project, &exp, &inv, &mut per_format, &mut misses);
        report.push_str(&format!(
            "{name:<28} recall {:.4} ({}/{})  precision {:.4} ({}/{})  {:.2}s\n",
            proj.recall(),
            proj.found,
            proj.expected,
            proj.precision(),
            proj.matched,
            proj.generated,
            started.elapsed().as_secs_f64()
        ));
        macro_r.push(proj.recall());
        macro_p.push(proj.precision());
        total.add(proj);
    }

    report.push_str("\nper format:\n");
    let mut failed = Vec::new();
    for (format, s) in &per_format {
        report.push_str(&format!(
            "  {format:<20} recall {:.4} ({}/{})  precision {:.4} ({}/{})\n",
            s.recall(),
            s.found,
            s.expected,
            s.precision(),
            s.matched,
            s.generated
        ));
        if s.recall() < THRESHOLD || s.precision() < THRESHOLD {
            failed.push(format.clone());
        }
    }
    let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len().max(1) as f64;
    report.push_str(&format!(
        "\noverall (micro) recall {:.4} ({}/{})  precision {:.4} ({}/{})\n",
        total.recall(),
        total.found,
        total.expected,
        total.precision(),
        total.matched,
        total.generated
    ));
    report.push_str(&format!(
        "overall (macro, {} projects) recall {:.4}  precision {:.4}\n",
        macro_r.len(),
        mean(&macro_r),
        mean(&macro_p)
    ));
    println!("{report}");
    if !misses.is_empty() {
        misses.sort();
        let limit = if std::env::var_os("CORPUS_ALL").is_some() {
            usize::MAX
        } else {
            60
        };
        let shown: Vec<&String> = misses.iter().take(limit).collect();
        println!("{} disagreements; the first ones:", misses.len());
        for m in shown {
            println!("  {m}");
        }
    }
    if total.recall() < THRESHOLD || total.precision() < THRESHOLD {
        failed.push("overall".into());
    }
    assert!(
        failed.is_empty(),
        "below {THRESHOLD} recall or precision: {failed:?}\n{report}"
    );
    let formats: BTreeSet<&String> = per_format.keys().collect();
    for f in ["npm v1", "yarn berry", "pnpm 6"] {
        assert!(
            formats.contains(&f.to_string()),
            "format {f} not scored: {formats:?}"
        );
    }
}

/// Scores one project's inventory against its expected set, adding to the per-format table
/// and recording each disagreement.
fn score_project(
    name: &str,
    project: &Path,
    exp: &Expected,
    inv: &vouch_sbom::Inventory,
    per_format: &mut BTreeMap<String, Score>,
    misses: &mut Vec<String>,
) -> Score {
    let mut generated: HashMap<Key, String> = HashMap::new();
    let mut formats: HashMap<String, String> = HashMap::new();
    for c in &inv.components {
        let key = key_of_purl(&c.purl).unwrap_or_else(|| panic!("{name}: bad purl {}", c.purl));
        let src = c.sources.first().cloned().unwrap_or_default();
        let format = formats
            .entry(src.clone())
            .or_insert_with(|| format_of(project, &src))
            .clone();
        generated.entry(key).or_insert(format);
    }
    let mut proj = Score::default();
    for (key, (scope, format)) in &exp.rows {
        if scope == "local" {
            continue;
        }
        let s = per_format.entry(format.clone()).or_default();
        s.expected += 1;
        proj.expected += 1;
        if generated.contains_key(key) {
            s.found += 1;
            proj.found += 1;
        } else {
            misses.push(format!("{name}: missing {format} {key:?}"));
        }
    }
    for (key, format) in &generated {
        let s = per_format.entry(format.clone()).or_default();
        s.generated += 1;
        proj.generated += 1;
        if exp.rows.contains_key(key) {
            s.matched += 1;
            proj.matched += 1;
        } else {
            misses.push(format!("{name}: extra {format} {key:?}"));
        }
    }
    proj
}

fn file_name(p: &Path) -> String {
    p.file_name().unwrap().to_string_lossy().into_owned()
}

#[test]
fn normalisation_follows_the_corpus_rules() {
    assert_eq!(
        key_of_purl("pkg:pypi/zope-interface@6.0").unwrap(),
        normalise("pypi", "Zope.Interface", "6.0")
    );
    assert_eq!(
        key_of_purl("pkg:maven/org.slf4j/slf4j-api@2.0.9").unwrap(),
        normalise("maven", "org.slf4j:slf4j-api", "2.0.9")
    );
    assert_eq!(
        key_of_purl("pkg:npm/%40s/b@1.0.0").unwrap().1,
        "@s/b".to_string()
    );
    assert_eq!(
        normalise("gem", "nokogiri", "1.16.0-x86_64-linux").2,
        "1.16.0"
    );
    assert_eq!(normalise("gem", "rack", "3.0.0-beta").2, "3.0.0-beta");
    assert_ne!(
        key_of_purl("pkg:npm/a@1.0.0").unwrap(),
        key_of_purl("pkg:npm/a@1.0.1").unwrap()
    );
}

/// The scoring can fail: the same reader output with 3% of its components dropped, or 3% of
/// versions changed, falls below the threshold.
#[test]
fn scoring_fails_on_a_worse_reader() {
    let project = corpus().join("jest-berry");
    let exp = read_expected(&project, &corpus().join("expected/jest-berry.tsv"));
    let inv = vouch_sbom::scan(&project).unwrap();
    let mut table = BTreeMap::new();
    let mut misses = Vec::new();
    let full = score_project("jest-berry", &project, &exp, &inv, &mut table, &mut misses);
    assert!(full.recall() >= THRESHOLD && full.precision() >= THRESHOLD);

    let mut dropped = inv.clone();
    let mut i = 0;
    dropped.components.retain(|_| {
        i += 1;
        i % 33 != 0
    });
    let s = score_project(
        "jest-berry",
        &project,
        &exp,
        &dropped,
        &mut table,
        &mut misses,
    );
    assert!(s.recall() < THRESHOLD, "recall {}", s.recall());

    let mut wrong = inv.clone();
    for (n, c) in wrong.components.iter_mut().enumerate() {
        if n % 33 == 0 {
            c.purl = format!("{}.999", c.purl);
        }
    }
    let s = score_project(
        "jest-berry",
        &project,
        &exp,
        &wrong,
        &mut table,
        &mut misses,
    );
    assert!(s.precision() < THRESHOLD, "precision {}", s.precision());
}
