//! Pipenv `Pipfile.lock` (JSON): `default` packages are required, `develop` packages dev.
//! The lock has no dependency graph, and its hashes are per distribution file.

use std::collections::BTreeMap;

use serde::Deserialize;
use vouch_core::InputError;

use super::{Parsed, json_err};
use crate::model::{Component, Ecosystem, Scope};
use crate::readers::poetry::{normalise_name, pypi_purl};

#[derive(Deserialize)]
struct Lock {
    #[serde(rename = "_meta")]
    _meta: serde_json::Value,
    #[serde(default)]
    default: BTreeMap<String, Entry>,
    #[serde(default)]
    develop: BTreeMap<String, Entry>,
}

#[derive(Deserialize)]
struct Entry {
    version: Option<String>,
    git: Option<String>,
}

/// Reads a Pipfile.lock.
pub fn read(path: &str, text: &str) -> Result<Parsed, InputError> {
    let lock: Lock = serde_json::from_str(text).map_err(|e| json_err(path, &e))?;
    let mut out = Parsed::default();
    for (section, scope) in [
        (&lock.default, Scope::Required),
        (&lock.develop, Scope::Dev),
    ] {
        for (name, e) in section {
            let Some(version) = e.version.as_deref().map(|v| v.trim_start_matches("==")) else {
                continue; // git/path entries without a pinned version
            };
            let mut c = Component::new(
                Ecosystem::PyPI,
                &normalise_name(name),
                version,
                pypi_purl(name, version),
            );
            c.scope = scope;
            c.download_location = e.git.as_ref().map(|g| format!("git+{g}"));
            c.sources.push(path.to_string());
            out.direct.push(c.purl.clone());
            out.components.push(c);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads() {
        let t = r#"{"_meta":{"hash":{"sha256":"x"}},"default":{"Flask":{"hashes":["sha256:aa"],"version":"==3.0.0"}},"develop":{"pytest":{"version":"==8.0.0"}}}"#;
        let p = read("Pipfile.lock", t).unwrap();
        assert_eq!(p.components.len(), 2);
        assert_eq!(p.components[0].purl, "pkg:pypi/flask@3.0.0");
        assert_eq!(p.components[1].scope, Scope::Dev);
        assert!(read("Pipfile.lock", &t[..30]).unwrap_err().line.is_some());
    }

    proptest::proptest! {
        #[test]
        fn never_panics(s in "\\PC{0,300}") { super::super::testutil::no_panic(read, &s); }
    }
}
