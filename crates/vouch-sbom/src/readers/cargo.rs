//! Rust `Cargo.lock` (versions 1–4).
//!
//! Packages with a `source` are dependencies; packages without one are workspace members
//! (or path dependencies): they are the project itself, not components, and their
//! dependencies are the direct dependencies. Registry packages carry a SHA-256 `checksum`
//! (v1 lockfiles keep checksums in `[metadata]`). Dependency entries are `name`,
//! `name version` or `name version (source)`.

use std::collections::{BTreeMap, HashMap};

use serde::Deserialize;
use vouch_core::InputError;

use super::{Parsed, shape_err, toml_err};
use crate::model::{Component, Ecosystem, Hash, HashAlg, Subject};
use crate::purl::Purl;

#[derive(Deserialize, Default, Debug, PartialEq)]
struct Lock {
    #[serde(default)]
    package: Vec<Package>,
    #[serde(default)]
    metadata: BTreeMap<String, String>,
}

#[derive(Deserialize, Default, Debug, PartialEq)]
struct Package {
    name: String,
    version: String,
    source: Option<String>,
    checksum: Option<String>,
    #[serde(default)]
    dependencies: Vec<String>,
}

fn purl(p: &Package) -> String {
    let mut u = Purl::new("cargo", None, &p.name, Some(&p.version));
    if let Some(src) = &p.source {
        if let Some(git) = src.strip_prefix("git+") {
            u = u.qualifier("vcs_url", &format!("git+{git}"));
        } else if !src.starts_with("registry+https://github.com/rust-lang/crates.io-index")
            && !src.starts_with("sparse+https://index.crates.io/")
        {
            u = u.qualifier(
                "repository_url",
                src.trim_start_matches("registry+")
                    .trim_start_matches("sparse+"),
            );
        }
    }
    u.to_string()
}

/// Reads a `Cargo.lock`.
pub fn read(path: &str, text: &str) -> Result<Parsed, InputError> {
    let lock: Lock = match fast::parse(text) {
        Some(lock) => lock,
        None => toml::from_str(text).map_err(|e| toml_err(path, text, &e))?,
    };
    if lock.package.is_empty() && !text.contains("[[package]]") && !text.trim().is_empty() {
        return Err(shape_err(path, 1, "no [[package]] entries"));
    }
    // name -> [(version, purl)]
    let mut by_name: HashMap<&str, Vec<(&str, String)>> = HashMap::new();
    for p in &lock.package {
        by_name
            .entry(p.name.as_str())
            .or_default()
            .push((p.version.as_str(), purl(p)));
    }
    let resolve = |dep: &str| -> Option<String> {
        let mut parts = dep.split_whitespace();
        let name = parts.next()?;
        let version = parts.next();
        let cands = by_name.get(name)?;
        cands
            .iter()
            .find(|(v, _)| version.is_none_or(|want| *v == want))
            .map(|(_, u)| u.clone())
    };
    let mut out = Parsed::default();
    for p in &lock.package {
        let deps: Vec<String> = p.dependencies.iter().filter_map(|d| resolve(d)).collect();
        if p.source.is_none() {
            // A workspace member or path dependency: the project itself.
            out.direct.extend(deps);
            if out.subject.is_none() {
                out.subject = Some(Subject {
                    name: p.name.clone(),
                    version: Some(p.version.clone()),
                });
            }
            continue;
        }
        let mut c = Component::new(Ecosystem::Cargo, &p.name, &p.version, purl(p));
        let checksum = p.checksum.clone().or_else(|| {
            let key = format!(
                "checksum {} {} ({})",
                p.name,
                p.version,
                p.source.as_deref().unwrap_or("")
            );
            lock.metadata.get(&key).cloned()
        });
        if let Some(h) = checksum.and_then(|s| Hash::hex(HashAlg::Sha256, &s)) {
            c.hashes.push(h);
        }
        if let Some(src) = p.source.as_deref().and_then(|s| s.strip_prefix("git+")) {
            c.download_location = Some(format!("git+{src}"));
        }
        c.dependencies = deps;
        c.sources.push(path.to_string());
        out.components.push(c);
    }
    // Deps of members that are themselves members are not components.
    let members: Vec<String> = lock
        .package
        .iter()
        .filter(|p| p.source.is_none())
        .map(purl)
        .collect();
    out.direct.retain(|d| !members.contains(d));
    Ok(out)
}

/// A line reader for the layout Cargo itself writes (`[[package]]` tables of plain strings and
/// one-string-per-line `dependencies` arrays, a `[metadata]` table of checksums). A general
/// TOML parser first builds a document tree of the whole file, several times the file's size;
/// this reads the same lockfile straight into packages. Anything outside that layout (an
/// escape in a string, an inline table, a key it does not know, a repeated key) returns
/// `None`, and the file is read by the TOML parser, which also reports errors: both readers
/// give the same packages for every file this one accepts.
mod fast {
    use super::{Lock, Package};

    /// A basic TOML string without escapes or control characters: `"…"`, nothing after it.
    fn plain_string(v: &str) -> Option<&str> {
        let inner = v.strip_prefix('"')?.strip_suffix('"')?;
        (!inner.contains(['"', '\\']) && !inner.chars().any(|c| c.is_control() && c != '\t'))
            .then_some(inner)
    }

    fn set(slot: &mut Option<String>, v: &str) -> Option<()> {
        if slot.is_some() {
            return None; // a repeated key is a TOML error: the full parser reports it
        }
        *slot = Some(plain_string(v)?.to_string());
        Some(())
    }

    #[derive(PartialEq)]
    enum Table {
        Top,
        Package,
        Metadata,
    }

    pub(super) fn parse(text: &str) -> Option<Lock> {
        let mut lock = Lock::default();
        let mut table = Table::Top;
        let mut top_version = false;
        // The package being read: (name, version, source, checksum, dependencies).
        let mut cur: Option<(Option<String>, Option<String>, Package)> = None;
        let finish = |cur: &mut Option<(Option<String>, Option<String>, Package)>,
                      lock: &mut Lock|
         -> Option<()> {
            if let Some((name, version, mut p)) = cur.take() {
                p.name = name?;
                p.version = version?;
                lock.package.push(p);
            }
            Some(())
        };
        let mut lines = text.lines();
        while let Some(raw) = lines.next() {
            let line = raw.trim_end_matches([' ', '\t', '\r']);
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            if line == "[[package]]" {
                finish(&mut cur, &mut lock)?;
                cur = Some((None, None, Package::default()));
                table = Table::Package;
                continue;
            }
            if line == "[metadata]" {
                finish(&mut cur, &mut lock)?;
                if table == Table::Metadata || !lock.metadata.is_empty() {
                    return None;
                }
                table = Table::Metadata;
                continue;
            }
            let (k, v) = line.split_once(" = ")?;
            match table {
                Table::Top => {
                    // `version = 3`: the lockfile format, not read.
                    if k != "version" || top_version || !v.bytes().all(|b| b.is_ascii_digit()) {
                        return None;
                    }
                    top_version = true;
                }
                Table::Metadata => {
                    let key = plain_string(k)?.to_string();
                    let val = plain_string(v)?.to_string();
                    if lock.metadata.insert(key, val).is_some() {
                        return None;
                    }
                }
                Table::Package => {
                    let (name, version, p) = cur.as_mut()?;
                    match k {
                        "name" => set(name, v)?,
                        "version" => set(version, v)?,
                        "source" => set(&mut p.source, v)?,
                        "checksum" => set(&mut p.checksum, v)?,
                        "dependencies" if p.dependencies.is_empty() && v == "[" => {
                            loop {
                                let item = lines.next()?.trim();
                                if item == "]" {
                                    break;
                                }
                                let dep = plain_string(item.strip_suffix(',')?)?;
                                p.dependencies.push(dep.to_string());
                            }
                            if p.dependencies.is_empty() {
                                return None;
                            }
                        }
                        _ => return None,
                    }
                }
            }
        }
        finish(&mut cur, &mut lock)?;
        Some(lock)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LOCK: &str = r#"version = 4

[[package]]
name = "app"
version = "0.1.0"
dependencies = ["serde", "rand 0.8.5"]

[[package]]
name = "serde"
version = "1.0.200"
source = "registry+https://github.com/rust-lang/crates.io-index"
checksum = "ddc6f9cc94d67c0e21aaf7eda3a010fd3af78ebf6e096aa6e2e13c79749cce4f"

[[package]]
name = "rand"
version = "0.8.5"
source = "git+https://github.com/rust-random/rand?rev=abc#abcdef"
"#;

    #[test]
    fn reads_lock() {
        let p = read("Cargo.lock", LOCK).unwrap();
        assert_eq!(p.components.len(), 2);
        assert_eq!(p.direct.len(), 2);
        let serde = p.components.iter().find(|c| c.name == "serde").unwrap();
        assert_eq!(serde.purl, "pkg:cargo/serde@1.0.200");
        assert_eq!(serde.hashes.len(), 1);
        let rand = p.components.iter().find(|c| c.name == "rand").unwrap();
        assert!(rand.purl.contains("vcs_url="));
    }

    #[test]
    fn truncated_is_error_with_line() {
        let e = read("Cargo.lock", &LOCK[..120]).unwrap_err();
        assert!(e.line.is_some(), "{e}");
    }

    /// Both readers on one text: the fast one, when it accepts it, agrees with TOML.
    fn agree(text: &str) -> bool {
        let fast = fast::parse(text);
        let full: Result<Lock, _> = toml::from_str(text);
        if let Some(f) = &fast {
            assert_eq!(Some(f), full.as_ref().ok(), "{text}");
        }
        fast.is_some()
    }

    #[test]
    fn fast_reader_reads_real_lockfiles_as_toml_does() {
        let fx = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
        for name in ["axum/Cargo.lock", "clap/Cargo.lock"] {
            let text = std::fs::read_to_string(fx.join(name)).unwrap();
            assert!(agree(&text), "{name} is read by the fast reader");
        }
        let corpus = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../../shared/corpora/lockfiles");
        for e in std::fs::read_dir(&corpus).into_iter().flatten().flatten() {
            let p = e.path().join("Cargo.lock");
            if let Ok(text) = std::fs::read_to_string(&p) {
                assert!(agree(&text), "{} is read by the fast reader", p.display());
            }
        }
    }

    #[test]
    fn fast_reader_leaves_anything_else_to_toml() {
        for text in [
            "[[package]]\nname = \"a\\u0041\"\nversion = \"1\"\n",
            "[[package]]\nname = \"a\"\nname = \"b\"\nversion = \"1\"\n",
            "[[package]]\nname = \"a\"\n",
            "[[package]]\nname = \"a\"\nversion = \"1\" # c\n",
            "[[package]]\nname = \"a\"\nversion = \"1\"\ndependencies = [\n \"b\"\n]\n",
            "[[package]]\nname = \"a\"\nversion = \"1\"\nreplace = \"x\"\n",
            "[[patch.unused]]\nname = \"a\"\nversion = \"1\"\n",
            "[metadata]\n\"k\" = \"v\"\n[metadata]\n",
            "version = \"4\"\n",
        ] {
            assert!(!agree(text), "{text}");
        }
    }

    proptest::proptest! {
        /// Lockfile-shaped text assembled from the pieces Cargo writes and a few it does not:
        /// whenever the fast reader accepts one, TOML reads the same packages.
        #[test]
        fn fast_reader_agrees_with_toml(pieces in proptest::collection::vec(proptest::sample::select(vec![
            "[[package]]", "name = \"a\"", "name = \"b\"", "version = \"1.0.0\"", "version = 4",
            "source = \"registry+https://github.com/rust-lang/crates.io-index\"",
            "checksum = \"ddc6f9cc94d67c0e21aaf7eda3a010fd3af78ebf6e096aa6e2e13c79749cce4f\"",
            "dependencies = [", " \"a\",", " \"b 1.0.0\",", "]", "", "# comment", "[metadata]",
            "\"checksum a 1.0.0 (registry+x)\" = \"ab\"", "name = \"t\\tx\"", "x = 1",
        ]), 0..30)) {
            let _ = agree(&pieces.join("\n"));
        }

        #[test]
        fn never_panics(s in "\\PC{0,400}") { super::super::testutil::no_panic(read, &s); }
        #[test]
        fn truncation_never_panics(n in 0usize..600) {
            let cut = LOCK.char_indices().map(|(i, _)| i).take_while(|i| *i <= n).last().unwrap_or(0);
            let _ = read("Cargo.lock", &LOCK[..cut]);
        }
    }
}
