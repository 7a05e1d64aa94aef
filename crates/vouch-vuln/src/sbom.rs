//! The packages of a CycloneDX (1.2–1.7) or SPDX 2.x JSON SBOM, by purl.
//!
//! Only what the matcher needs is read: each component's / package's purl. Lockfile and
//! project reading belong to vouch-sbom; [`crate::scan::packages_from_project`] is the seam
//! where they plug in.

use std::collections::{BTreeMap, BTreeSet};
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

/// Reads `text` (the contents of `shown`, named `rel` in findings) as an SBOM: CycloneDX or
/// SPDX JSON, or SPDX tag-value (`*.spdx`).
pub fn read(shown: &Path, rel: &str, text: &str) -> Result<SbomPackages, InputError> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    if text.trim_start().starts_with("SPDXVersion:") {
        return Ok(read_tag_value(rel, text));
    }
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

/// SPDX 2.x tag-value: every `ExternalRef: PACKAGE-MANAGER purl <purl>` of a package (the
/// only place a tag-value document names a package by purl); packages without one are
/// counted as unchecked. The described product is the package named by
/// `Relationship: SPDXRef-DOCUMENT DESCRIBES <id>` (or `DocumentDescribes`).
fn read_tag_value(rel: &str, text: &str) -> SbomPackages {
    let mut packages = Vec::new();
    let mut without = 0usize;
    let mut described: Option<String> = None;
    let mut purl_of: BTreeMap<String, String> = BTreeMap::new();
    // (SPDXID, purl) of the package being read.
    let mut current: Option<(Option<String>, Option<String>)> = None;
    let finish = |cur: Option<(Option<String>, Option<String>)>,
                  without: &mut usize,
                  purl_of: &mut BTreeMap<String, String>| {
        if let Some((id, purl)) = cur {
            match purl {
                Some(p) => {
                    if let Some(id) = id {
                        purl_of.insert(id, p);
                    }
                }
                None => *without += 1,
            }
        }
    };
    let mut lines_of: BTreeMap<String, u32> = BTreeMap::new();
    for (i, line) in text.lines().enumerate() {
        let line = line.trim();
        let Some((tag, value)) = line.split_once(':') else {
            continue;
        };
        let value = value.trim();
        match tag {
            "PackageName" => {
                finish(current.take(), &mut without, &mut purl_of);
                current = Some((None, None));
            }
            "SPDXID" => {
                if let Some(cur) = current.as_mut() {
                    cur.0 = Some(value.to_string());
                }
            }
            "ExternalRef" => {
                let mut parts = value.split_whitespace();
                let (cat, ty, loc) = (parts.next(), parts.next(), parts.next());
                if matches!(cat, Some("PACKAGE-MANAGER" | "PACKAGE_MANAGER"))
                    && ty == Some("purl")
                    && let (Some(cur), Some(loc)) = (current.as_mut(), loc)
                    && cur.1.is_none()
                {
                    cur.1 = Some(loc.to_string());
                    lines_of.entry(loc.to_string()).or_insert(i as u32 + 1);
                }
            }
            "Relationship" => {
                let mut parts = value.split_whitespace();
                if let (Some("SPDXRef-DOCUMENT"), Some("DESCRIBES"), Some(id)) =
                    (parts.next(), parts.next(), parts.next())
                {
                    described.get_or_insert_with(|| id.to_string());
                }
            }
            "DocumentDescribes" => {
                described.get_or_insert_with(|| value.to_string());
            }
            _ => {}
        }
    }
    finish(current.take(), &mut without, &mut purl_of);
    let product = described.and_then(|id| purl_of.get(&id).cloned());
    for p in purl_of.values().cloned().collect::<BTreeSet<String>>() {
        match to_package(&p, rel, lines_of.get(&p).copied()) {
            Some(pkg) => packages.push(pkg),
            None => without += 1,
        }
    }
    packages.sort();
    packages.dedup();
    SbomPackages {
        format: "SPDX",
        packages,
        without_purl: without,
        product,
    }
}

/// A purl as a package to check; `None` without a version.
fn to_package(p: &str, rel: &str, line: Option<u32>) -> Option<PackageRef> {
    let parsed = purl::parse(p)?;
    let version = parsed.version.clone()?;
    let ecosystem = match &parsed.ecosystem {
        Ok(e) => e.as_str().to_string(),
        Err(ty) => ty.clone(),
    };
    Some(PackageRef {
        ecosystem,
        name: parsed.name,
        version,
        purl: Some(p.to_string()),
        source: rel.to_string(),
        line,
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
        || name.ends_with(".spdx")
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

    #[test]
    fn reads_spdx_tag_value() {
        let t = "SPDXVersion: SPDX-2.3\nDataLicense: CC0-1.0\nSPDXID: SPDXRef-DOCUMENT\n\
                 Relationship: SPDXRef-DOCUMENT DESCRIBES SPDXRef-app\n\n\
                 PackageName: app\nSPDXID: SPDXRef-app\n\
                 ExternalRef: PACKAGE-MANAGER purl pkg:npm/app@1.0.0\n\n\
                 PackageName: lodash\nSPDXID: SPDXRef-lodash\n\
                 ExternalRef: SECURITY cpe23Type cpe:2.3:a:lodash:lodash:4.17.20:*:*:*:*:*:*:*\n\
                 ExternalRef: PACKAGE-MANAGER purl pkg:npm/lodash@4.17.20\n\n\
                 PackageName: nopurl\nSPDXID: SPDXRef-x\n";
        let s = read(Path::new("a.spdx"), "a.spdx", t).unwrap();
        let purls: Vec<&str> = s
            .packages
            .iter()
            .map(|p| p.purl.as_deref().unwrap())
            .collect();
        assert_eq!(purls, vec!["pkg:npm/app@1.0.0", "pkg:npm/lodash@4.17.20"]);
        assert_eq!(s.packages[1].line, Some(13));
        assert_eq!(s.without_purl, 1);
        assert_eq!(s.product.as_deref(), Some("pkg:npm/app@1.0.0"));
        assert!(looks_like_sbom("dist/app.spdx"));
    }

    proptest::proptest! {
        #[test]
        fn never_panics(s in ".{0,200}") {
            let _ = read(Path::new("x"), "x", &s);
        }
    }
}
