//! .NET `packages.lock.json`: per target framework, packages with `type` (Direct, Transitive,
//! CentralTransitive, Project), `resolved` version, `contentHash` (base64 SHA-512 of the .nupkg)
//! and `dependencies`. Project references are the solution itself.

use std::collections::{BTreeMap, HashMap};

use base64::Engine;
use serde::Deserialize;
use vouch_core::InputError;

use super::{Parsed, json_err};
use crate::model::{Component, Ecosystem, Hash, HashAlg};
use crate::purl::Purl;

#[derive(Deserialize)]
struct Lock {
    #[serde(default)]
    dependencies: BTreeMap<String, BTreeMap<String, Entry>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Entry {
    #[serde(rename = "type")]
    kind: Option<String>,
    resolved: Option<String>,
    content_hash: Option<String>,
    #[serde(default)]
    dependencies: BTreeMap<String, String>,
}

fn nuget_purl(name: &str, version: &str) -> String {
    Purl::new("nuget", None, name, Some(version)).to_string()
}

/// Reads a packages.lock.json.
pub fn read(path: &str, text: &str) -> Result<Parsed, InputError> {
    let lock: Lock = serde_json::from_str(text).map_err(|e| json_err(path, &e))?;
    let mut by_name: HashMap<String, String> = HashMap::new();
    for framework in lock.dependencies.values() {
        for (name, e) in framework {
            if let (Some(v), false) = (&e.resolved, e.kind.as_deref() == Some("Project")) {
                by_name
                    .entry(name.to_lowercase())
                    .or_insert_with(|| nuget_purl(name, v));
            }
        }
    }
    let mut out = Parsed::default();
    for framework in lock.dependencies.values() {
        for (name, e) in framework {
            let Some(version) = &e.resolved else { continue };
            if e.kind.as_deref() == Some("Project") {
                continue;
            }
            let mut c = Component::new(Ecosystem::NuGet, name, version, nuget_purl(name, version));
            if let Some(h) = e
                .content_hash
                .as_deref()
                .and_then(|b| base64::engine::general_purpose::STANDARD.decode(b).ok())
            {
                c.hashes.extend(Hash::hex(HashAlg::Sha512, &hex::encode(h)));
            }
            c.dependencies = e
                .dependencies
                .keys()
                .filter_map(|d| by_name.get(&d.to_lowercase()).cloned())
                .collect();
            if e.kind.as_deref() == Some("Direct") {
                out.direct.push(c.purl.clone());
            }
            c.sources.push(path.to_string());
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
        let t = r#"{"version":1,"dependencies":{"net8.0":{"Serilog":{"type":"Direct","requested":"[3.1.1, )","resolved":"3.1.1","contentHash":"P6G4/4Kt9bT635bhuwdXlJ2SCqqn2nhh4gqFqQueCOr9bK/e7W9ll/IoX1Ter948cV2Z/5+5v8pAfJYUISY03A==","dependencies":{"System.Memory":"4.5.5"}},"System.Memory":{"type":"Transitive","resolved":"4.5.5","contentHash":""},"App.Core":{"type":"Project"}}}}"#;
        let p = read("packages.lock.json", t).unwrap();
        assert_eq!(p.components.len(), 2);
        assert_eq!(p.components[0].purl, "pkg:nuget/Serilog@3.1.1");
        assert_eq!(p.components[0].hashes.len(), 1);
        assert_eq!(
            p.components[0].dependencies,
            vec!["pkg:nuget/System.Memory@4.5.5".to_string()]
        );
        assert!(read("p", &t[..40]).unwrap_err().line.is_some());
    }

    proptest::proptest! {
        #[test]
        fn never_panics(s in "\\PC{0,300}") { super::super::testutil::no_panic(read, &s); }
    }
}
