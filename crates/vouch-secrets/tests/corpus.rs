//! The labelled corpus: realistic files of many kinds under `tests/fixtures/secrets/corpus`,
//! with `@@rule@@` placeholders where a credential goes. The test materialises the corpus in a
//! temporary directory (placeholders replaced by each rule's own format-exact example, built at
//! compile time from fragments; plus zip/tar.gz archives made on the fly), scans it, and prints
//! recall and precision against the labels the placeholders define. Any finding on a line
//! without a placeholder is a false positive: the corpus holds hard negatives (documented
//! example keys, placeholders, env references, hashes, UUIDs, lockfile integrity strings,
//! public keys and certificates).
//!
//! `VOUCH_SECRETS_CORPUS_OUT=DIR cargo test -p vouch-secrets --test corpus -- --ignored`
//! writes the materialised corpus and `labels.tsv` to DIR (bench/secrets.sh uses it to score
//! other scanners on the same files).

use std::collections::BTreeSet;
use std::io::Write;
use std::path::{Path, PathBuf};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use vouch_secrets::rules;
use vouch_secrets::scan::{ScanOptions, Scanner};

/// (path, line, rule id)
type Label = (String, u32, String);

fn corpus_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/secrets/corpus")
}

fn example(rule: &str) -> String {
    let id = format!("secrets/{rule}");
    rules::all()
        .into_iter()
        .find(|r| r.id() == id)
        .and_then(|r| r.examples.first())
        .map(|s| s.to_string())
        .unwrap_or_else(|| panic!("no rule {id}"))
}

/// The value between the first pair of double quotes of an example.
fn quoted_value(s: &str) -> String {
    s.split('"').nth(1).unwrap_or(s).to_string()
}

/// Replaces one placeholder; returns the text and the rule it is labelled with.
fn expand(name: &str) -> (String, String) {
    if let Some(rule) = name.strip_prefix("b64:") {
        return (STANDARD.encode(example(rule)), format!("secrets/{rule}"));
    }
    match name {
        // A random-looking password, only base64-encoded in a Kubernetes Secret.
        "b64raw" => (
            STANDARD.encode(concat!("Vq7#tL", "p2$Wm9", "zR4xKe")),
            "secrets/kubernetes-secret".into(),
        ),
        "gcpkeyid" => (
            concat!("3f9a0c1e", "77b24d58", "a1c6e0f2", "9b8d7c6e", "5f4a3b2c").into(),
            "secrets/gcp-service-account".into(),
        ),
        "pemjson" => (
            example("private-key").replace('\n', "\\n"),
            "secrets/private-key".into(),
        ),
        _ => match name.split_once('#') {
            Some((rule, "value")) => (quoted_value(&example(rule)), format!("secrets/{rule}")),
            _ => (example(name), format!("secrets/{name}")),
        },
    }
}

/// Materialises one file: placeholders replaced, labels at their lines.
fn materialise(rel: &str, text: &str, labels: &mut Vec<Label>) -> String {
    let mut out = String::new();
    let mut line_no = 1u32;
    let mut allow_next = false;
    for line in text.split_inclusive('\n') {
        // Lines allowed inline are expected to be suppressed: not labelled.
        let allowed =
            allow_next || (line.contains("vouch:allow") && !line.contains("allow-next-line"));
        allow_next = line.contains("vouch:allow-next-line");
        let mut rest = line;
        let mut built = String::new();
        let mut extra_lines = 0;
        while let Some(start) = rest.find("@@") {
            let Some(len) = rest[start + 2..].find("@@") else {
                break;
            };
            let name = &rest[start + 2..start + 2 + len];
            let (value, rule) = expand(name);
            built.push_str(&rest[..start]);
            if !allowed {
                labels.push((rel.to_string(), line_no, rule));
            }
            extra_lines += value.matches('\n').count() as u32;
            built.push_str(&value);
            rest = &rest[start + 4 + len..];
        }
        built.push_str(rest);
        out.push_str(&built);
        line_no += 1 + extra_lines;
    }
    out
}

fn walk(dir: &Path, base: &Path, out: &mut Vec<(String, String)>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir).unwrap().flatten().collect();
    entries.sort_by_key(|e| e.path());
    for e in entries {
        let p = e.path();
        if p.is_dir() {
            walk(&p, base, out);
        } else {
            let rel = p
                .strip_prefix(base)
                .unwrap()
                .to_string_lossy()
                .replace('\\', "/");
            out.push((rel, std::fs::read_to_string(&p).unwrap()));
        }
    }
}

/// Writes the corpus to `dst`; returns the labels.
fn build(dst: &Path) -> Vec<Label> {
    let mut files = Vec::new();
    walk(&corpus_dir(), &corpus_dir(), &mut files);
    let mut labels = Vec::new();
    for (rel, text) in &files {
        let body = materialise(rel, text, &mut labels);
        let path = dst.join(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, body).unwrap();
    }
    // Archives, made here so the repository holds no binary fixtures.
    std::fs::create_dir_all(dst.join("dist")).unwrap();
    let env = materialise(
        "x",
        "DEPLOY_TOKEN=@@gitlab-pat@@\nMODE=prod\n",
        &mut Vec::new(),
    );
    let inner_zip = {
        let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
        let o = zip::write::SimpleFileOptions::default();
        w.start_file("nested/creds.txt", o).unwrap();
        w.write_all(materialise("x", "x\nkey: @@dockerhub-pat@@\n", &mut Vec::new()).as_bytes())
            .unwrap();
        w.finish().unwrap().into_inner()
    };
    {
        let f = std::fs::File::create(dst.join("dist/app.jar")).unwrap();
        let mut w = zip::ZipWriter::new(f);
        let o = zip::write::SimpleFileOptions::default();
        w.start_file("BOOT-INF/classes/.env", o).unwrap();
        w.write_all(env.as_bytes()).unwrap();
        w.start_file("BOOT-INF/lib/inner.zip", o).unwrap();
        w.write_all(&inner_zip).unwrap();
        w.start_file("README.txt", o).unwrap();
        w.write_all(b"password = \"${APP_PASSWORD}\"\n").unwrap();
        w.finish().unwrap();
    }
    labels.push((
        "dist/app.jar!BOOT-INF/classes/.env".into(),
        1,
        "secrets/gitlab-pat".into(),
    ));
    labels.push((
        "dist/app.jar!BOOT-INF/lib/inner.zip!nested/creds.txt".into(),
        2,
        "secrets/dockerhub-pat".into(),
    ));
    {
        let f = std::fs::File::create(dst.join("dist/site.tar.gz")).unwrap();
        let gz = flate2::write::GzEncoder::new(f, flate2::Compression::fast());
        let mut tar = tar::Builder::new(gz);
        let body = materialise(
            "x",
            "// config\nexport const key = '@@sendgrid-api-key@@';\n",
            &mut Vec::new(),
        );
        let mut h = tar::Header::new_gnu();
        h.set_size(body.len() as u64);
        h.set_mode(0o644);
        h.set_cksum();
        tar.append_data(&mut h, "site/config.js", body.as_bytes())
            .unwrap();
        tar.into_inner().unwrap().finish().unwrap();
    }
    labels.push((
        "dist/site.tar.gz!site/config.js".into(),
        2,
        "secrets/sendgrid-api-key".into(),
    ));
    labels.sort();
    labels
}

#[test]
fn recall_and_precision() {
    let dir = tempfile::tempdir().unwrap();
    let labels = build(dir.path());
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
    let expected: BTreeSet<Label> = labels.iter().cloned().collect();
    let tp = found.intersection(&expected).count();
    let fps: Vec<&Label> = found.difference(&expected).collect();
    let fns: Vec<&Label> = expected.difference(&found).collect();
    let recall = tp as f64 / expected.len() as f64;
    let precision = tp as f64 / found.len().max(1) as f64;
    println!(
        "corpus: {} labelled secrets, {} findings, {} files",
        expected.len(),
        found.len(),
        out.files
    );
    println!("recall    = {recall:.3} ({tp}/{})", expected.len());
    println!("precision = {precision:.3} ({tp}/{})", found.len());
    for fp in &fps {
        println!("false positive: {}:{} {}", fp.0, fp.1, fp.2);
    }
    for f in &fns {
        println!("missed: {}:{} {}", f.0, f.1, f.2);
    }
    let kinds: BTreeSet<&str> = expected.iter().map(|l| l.2.as_str()).collect();
    println!("credential kinds in the corpus: {}", kinds.len());
    assert!(recall >= 0.95, "recall {recall:.3}");
    assert!(precision >= 0.95, "precision {precision:.3}");
}

#[test]
#[ignore = "writes the corpus for bench/secrets.sh; set VOUCH_SECRETS_CORPUS_OUT"]
fn materialise_corpus() {
    let Some(dst) = std::env::var_os("VOUCH_SECRETS_CORPUS_OUT") else {
        panic!("set VOUCH_SECRETS_CORPUS_OUT=DIR");
    };
    let dst = PathBuf::from(dst);
    std::fs::create_dir_all(&dst).unwrap();
    let labels = build(&dst);
    let mut tsv = String::new();
    for (p, l, r) in labels {
        tsv.push_str(&format!("{p}\t{l}\t{r}\n"));
    }
    std::fs::write(dst.join("labels.tsv"), tsv).unwrap();
}
