//! The packages of a CycloneDX (1.2–1.7) or SPDX 2.x JSON SBOM, by purl.
//!
//! Only what the matcher needs is read: each component's / package's purl. Lockfile and
//! project reading belong to vouch-sbom; [`crate::scan::packages_from_project`] is the seam
//! where they plug in.

use std::collections::BTreeMap;
use std::path::Path;

use vouch_core::InputError;

use crate::matcher::PackageRef;
use crate::purl;

/// What an SBOM held.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SbomPackages {
    pub format: &'static str,
    pub packages: Vec<PackageRef>,
    /// Components without a purl (or without a version in it): not checkable.
    pub without_purl: usize,
    /// The purl of the product the SBOM describes (CycloneDX `metadata.component`, SPDX
    /// `documentDescribes`), which VEX statements may name instead of a component.
    pub product: Option<String>,
}

/// Reads `text` (the contents of `shown`, named `rel` in findings) as an SBOM.
pub fn read(shown: &Path, rel: &str, text: &str) -> Result<SbomPackages, InputError> {
    let doc: serde_json::Value = serde_json::from_str(text).map_err(|e| {
        InputError::at(
            shown,
            e.line().max(1) as u32,
            Some(e.column().max(1) as u32),
            format!("not JSON: {e}"),
        )
        .with_hint("give a CycloneDX or SPDX JSON SBOM (vouch sbom generate writes one)")
    })?;
    let mut purls: Vec<String> = Vec::new();
    let mut without = 0usize;
    let mut product: Option<String> = None;
    let format = if doc.get("bomFormat").and_then(|v| v.as_str()) == Some("CycloneDX") {
        fn walk(v: &serde_json::Value, purls: &mut Vec<String>, without: &mut usize) {
            if let Some(list) = v.get("components").and_then(|c| c.as_array()) {
                for c in list {
                    match c.get("purl").and_then(|p| p.as_str()) {
                        Some(p) => purls.push(p.to_string()),
                        None => *without += 1,
                    }
                    walk(c, purls, without);
                }
            }
        }
        if let Some(meta) = doc.get("metadata").and_then(|m| m.get("component")) {
            product = meta
                .get("purl")
                .and_then(|p| p.as_str())
                .map(str::to_string);
            walk(meta, &mut purls, &mut without);
        }
        walk(&doc, &mut purls, &mut without);
        "CycloneDX"
    } else if doc.get("spdxVersion").is_some() {
        let described: Vec<&str> = doc
            .get("documentDescribes")
            .and_then(|d| d.as_array())
            .into_iter()
            .flatten()
            .filter_map(|d| d.as_str())
            .collect();
        for p in doc
            .get("packages")
            .and_then(|p| p.as_array())
            .into_iter()
            .flatten()
        {
            let found = p
                .get("externalRefs")
                .and_then(|r| r.as_array())
                .into_iter()
                .flatten()
                .find(|r| r.get("referenceType").and_then(|t| t.as_str()) == Some("purl"))
                .and_then(|r| r.get("referenceLocator").and_then(|l| l.as_str()));
            let id = p.get("SPDXID").and_then(|i| i.as_str()).unwrap_or("");
            if described.len() == 1 && described[0] == id {
                product = found.map(str::to_string);
            }
            match found {
                Some(p) => purls.push(p.to_string()),
                None => without += 1,
            }
        }
        "SPDX"
    } else {
        return Err(
            InputError::in_file(shown, "neither a CycloneDX nor an SPDX JSON document").with_hint(
                "CycloneDX needs \"bomFormat\": \"CycloneDX\"; SPDX needs \"spdxVersion\"",
            ),
        );
    };
    let lines = line_index(text);
    let mut packages = Vec::new();
    for p in purls {
        let Some(parsed) = purl::parse(&p) else {
            without += 1;
            continue;
        };
        let Some(version) = parsed.version.clone() else {
            without += 1;
            continue;
        };
        let ecosystem = match &parsed.ecosystem {
            Ok(e) => e.as_str().to_string(),
            Err(ty) => ty.clone(),
        };
        let line = lines.get(p.as_str()).copied();
        packages.push(PackageRef {
            ecosystem,
            name: parsed.name,
            version,
            purl: Some(p),
            source: rel.to_string(),
            line,
        });
    }
    packages.sort();
    packages.dedup();
    Ok(SbomPackages {
        format,
        packages,
        without_purl: without,
        product,
    })
}

/// purl string → the first line it appears on (as a JSON string value).
fn line_index(text: &str) -> BTreeMap<&str, u32> {
    let mut out = BTreeMap::new();
    for (i, line) in text.lines().enumerate() {
        let mut rest = line;
        while let Some(pos) = rest.find("\"pkg:") {
            let after = &rest[pos + 1..];
            let Some(end) = after.find('"') else { break };
            out.entry(&after[..end]).or_insert(i as u32 + 1);
            rest = &after[end..];
        }
    }
    out
}

/// Whether a path looks like an SBOM file that `vouch check` should scan.
pub fn looks_like_sbom(path: &str) -> bool {
    let name = path.rsplit('/').next().unwrap_or(path).to_ascii_lowercase();
    name.ends_with(".cdx.json")
        || name.ends_with(".spdx.json")
        || name.ends_with(".sbom.json")
        || name == "bom.json"
        || name == "sbom.json"
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_both_formats() {
        let cdx = r#"{"bomFormat":"CycloneDX","specVersion":"1.6","components":[
  {"type":"library","name":"jinja2","version":"2.10","purl":"pkg:pypi/jinja2@2.10"},
  {"type":"library","name":"x","components":[{"name":"y","purl":"pkg:cargo/smallvec@1.6.0"}]},
  {"type":"library","name":"nopurl"}]}"#;
        let s = read(Path::new("bom.json"), "bom.json", cdx).unwrap();
        assert_eq!(s.packages.len(), 2);
        assert_eq!(s.without_purl, 2);
        assert_eq!(s.packages[1].line, Some(3));
        let spdx = r#"{"spdxVersion":"SPDX-2.3","packages":[{"name":"a","externalRefs":[{"referenceCategory":"PACKAGE-MANAGER","referenceType":"purl","referenceLocator":"pkg:npm/lodash@4.17.20"}]}]}"#;
        let s = read(Path::new("s.json"), "s.json", spdx).unwrap();
        assert_eq!(s.packages[0].ecosystem, "npm");
        assert!(read(Path::new("x"), "x", "[1,").is_err());
        assert!(read(Path::new("x"), "x", "{}").is_err());
    }

    proptest::proptest! {
        #[test]
        fn never_panics(s in ".{0,200}") {
            let _ = read(Path::new("x"), "x", &s);
        }
    }
}
