//! SwiftPM `Package.resolved`, versions 1 (`object.pins[].repositoryURL`) and 2/3
//! (`pins[].location`). The purl namespace is the repository host and owner, as the purl
//! specification's swift type defines it; pins without a version use the revision.

use serde_json::Value;
use vouch_core::InputError;

use super::{Parsed, json_err, shape_err};
use crate::model::{Component, Ecosystem};
use crate::purl::Purl;

/// `https://github.com/apple/swift-nio.git` → (`github.com/apple`, `swift-nio`).
fn split_url(url: &str) -> Option<(String, String)> {
    let rest = url.split("://").nth(1).unwrap_or(url);
    let rest = rest
        .rsplit_once('@')
        .map(|(_, r)| r)
        .unwrap_or(rest)
        .replace(':', "/");
    let rest = rest.trim_end_matches('/').trim_end_matches(".git");
    let (ns, name) = rest.rsplit_once('/')?;
    Some((ns.to_string(), name.to_string()))
}

/// Reads a Package.resolved.
pub fn read(path: &str, text: &str) -> Result<Parsed, InputError> {
    let doc: Value = serde_json::from_str(text).map_err(|e| json_err(path, &e))?;
    let pins = doc
        .get("pins")
        .or_else(|| doc.pointer("/object/pins"))
        .and_then(Value::as_array)
        .ok_or_else(|| shape_err(path, 1, "no `pins` array"))?;
    let mut out = Parsed::default();
    for pin in pins {
        let Some(url) = pin
            .get("location")
            .or_else(|| pin.get("repositoryURL"))
            .and_then(Value::as_str)
        else {
            continue;
        };
        let state = pin.get("state");
        let version = state
            .and_then(|s| s.get("version"))
            .and_then(Value::as_str)
            .or_else(|| {
                state
                    .and_then(|s| s.get("revision"))
                    .and_then(Value::as_str)
            });
        let (Some((ns, name)), Some(version)) = (split_url(url), version) else {
            continue;
        };
        let purl = Purl::new("swift", Some(&ns), &name, Some(version)).to_string();
        let mut c = Component::new(Ecosystem::Swift, &format!("{ns}/{name}"), version, purl);
        c.download_location = Some(url.to_string());
        c.sources.push(path.to_string());
        out.components.push(c);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads() {
        let v2 = r#"{"pins":[{"identity":"swift-argument-parser","kind":"remoteSourceControl","location":"https://github.com/apple/swift-argument-parser.git","state":{"revision":"c8ed701b513cf5177118a175d85fbbbcd707ab41","version":"1.3.0"}}],"version":2}"#;
        let p = read("Package.resolved", v2).unwrap();
        assert_eq!(
            p.components[0].purl,
            "pkg:swift/github.com/apple/swift-argument-parser@1.3.0"
        );
        let v1 = r#"{"object":{"pins":[{"package":"Nimble","repositoryURL":"https://github.com/Quick/Nimble.git","state":{"branch":null,"revision":"abc","version":null}}]},"version":1}"#;
        assert_eq!(
            read("Package.resolved", v1).unwrap().components[0].version,
            "abc"
        );
        assert!(read("p", "{}").is_err());
    }

    proptest::proptest! {
        #[test]
        fn never_panics(s in "\\PC{0,300}") { super::super::testutil::no_panic(read, &s); }
    }
}
