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

#[derive(Deserialize)]
struct Lock {
    #[serde(default)]
    package: Vec<Package>,
    #[serde(default)]
    metadata: BTreeMap<String, String>,
}

#[derive(Deserialize)]
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
    let lock: Lock = toml::from_str(text).map_err(|e| toml_err(path, text, &e))?;
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

    proptest::proptest! {
        #[test]
        fn never_panics(s in "\\PC{0,400}") { super::super::testutil::no_panic(read, &s); }
        #[test]
        fn truncation_never_panics(n in 0usize..600) {
            let cut = LOCK.char_indices().map(|(i, _)| i).take_while(|i| *i <= n).last().unwrap_or(0);
            let _ = read("Cargo.lock", &LOCK[..cut]);
        }
    }
}
