//! Reading SBOMs back: CycloneDX JSON (any 1.x) and SPDX 2.x JSON → [`Inventory`].
//!
//! Components are identified by purl; a component without one gets a `pkg:generic` purl from
//! its name and version so that it can still be diffed. Nested CycloneDX components are
//! flattened. Scope round-trips through CycloneDX `scope` (`excluded` = dev) and vouch's
//! SPDX package comment.

use std::collections::HashMap;
use std::path::Path;

use serde_json::Value;
use vouch_core::InputError;

use crate::licence::canonical;
use crate::model::{Component, Ecosystem, Hash, HashAlg, Inventory, Scope, Subject};
use crate::purl::Purl;
use crate::readers::json_err;

/// Reads a CycloneDX or SPDX JSON file.
pub fn read_sbom(path: &Path) -> Result<Inventory, InputError> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| InputError::in_file(path, format!("cannot read: {e}")))?;
    read_sbom_str(&path.to_string_lossy(), &text)
}

/// Reads a CycloneDX or SPDX JSON document from text; `name` is used in errors.
pub fn read_sbom_str(name: &str, text: &str) -> Result<Inventory, InputError> {
    let doc: Value = serde_json::from_str(text.strip_prefix('\u{feff}').unwrap_or(text))
        .map_err(|e| json_err(name, &e).with_hint("expected a CycloneDX or SPDX JSON document"))?;
    if doc.get("bomFormat").and_then(Value::as_str) == Some("CycloneDX") {
        Ok(read_cyclonedx(&doc))
    } else if doc.get("spdxVersion").is_some() {
        Ok(read_spdx(&doc))
    } else {
        Err(
            InputError::in_file(name, "not an SBOM vouch reads").with_hint(
                "expected CycloneDX JSON (`bomFormat`) or SPDX JSON (`spdxVersion`), or a lockfile",
            ),
        )
    }
}

/// Identity for a component: its purl, or a generic one.
fn identity(
    purl: Option<&str>,
    name: &str,
    version: &str,
) -> (String, Ecosystem, String, Option<String>) {
    if let Some(p) = purl.and_then(Purl::parse) {
        let eco = Ecosystem::from_purl_type(&p.ty);
        let (full, group) = match (eco, &p.namespace) {
            (Ecosystem::Maven, Some(ns)) => (p.name.clone(), Some(ns.clone())),
            (Ecosystem::Deb | Ecosystem::Apk | Ecosystem::Rpm, _) => (p.name.clone(), None),
            (_, Some(ns)) => (format!("{ns}/{}", p.name), None),
            (_, None) => (p.name.clone(), None),
        };
        return (purl.unwrap_or_default().to_string(), eco, full, group);
    }
    let p = Purl::new("generic", None, name, Some(version)).to_string();
    (p, Ecosystem::Unknown, name.to_string(), None)
}

fn cdx_licences(v: Option<&Value>) -> Vec<String> {
    let mut out = Vec::new();
    for l in v.and_then(Value::as_array).into_iter().flatten() {
        if let Some(e) = l.get("expression").and_then(Value::as_str) {
            out.push(canonical(e));
        } else if let Some(lic) = l.get("license") {
            if let Some(id) = lic.get("id").and_then(Value::as_str) {
                out.push(id.to_string());
            } else if let Some(n) = lic.get("name").and_then(Value::as_str) {
                out.push(canonical(n));
            }
        }
    }
    out
}

fn collect_cdx<'a>(list: Option<&'a Value>, out: &mut Vec<&'a Value>) {
    for c in list.and_then(Value::as_array).into_iter().flatten() {
        out.push(c);
        collect_cdx(c.get("components"), out);
    }
}

fn read_cyclonedx(doc: &Value) -> Inventory {
    let mut flat = Vec::new();
    collect_cdx(doc.get("components"), &mut flat);
    let mut ref_to_purl: HashMap<String, String> = HashMap::new();
    let mut comps = Vec::new();
    for c in flat {
        let s = |k: &str| c.get(k).and_then(Value::as_str).unwrap_or("");
        let (name, version) = (s("name"), s("version"));
        let display = match c.get("group").and_then(Value::as_str) {
            Some(g) if !g.is_empty() => format!("{g}/{name}"),
            _ => name.to_string(),
        };
        let (purl, eco, full, group) =
            identity(c.get("purl").and_then(Value::as_str), &display, version);
        if let Some(r) = c.get("bom-ref").and_then(Value::as_str) {
            ref_to_purl.insert(r.to_string(), purl.clone());
        }
        let mut comp = Component::new(eco, &full, version, purl);
        comp.group = group;
        comp.scope = match s("scope") {
            "excluded" => Scope::Dev,
            "optional" => Scope::Optional,
            _ => Scope::Required,
        };
        for h in c
            .get("hashes")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let alg = h
                .get("alg")
                .and_then(Value::as_str)
                .and_then(HashAlg::parse);
            let content = h.get("content").and_then(Value::as_str);
            if let (Some(alg), Some(content)) = (alg, content) {
                comp.hashes.extend(Hash::hex(alg, content));
            }
        }
        comp.licenses = cdx_licences(c.get("licenses"));
        for o in c
            .pointer("/evidence/occurrences")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            if let Some(l) = o.get("location").and_then(Value::as_str) {
                comp.sources.push(l.to_string());
            }
        }
        comps.push(comp);
    }
    let subject_ref = doc
        .pointer("/metadata/component/bom-ref")
        .and_then(Value::as_str)
        .map(str::to_string);
    let mut direct = Vec::new();
    let mut edges: HashMap<String, Vec<String>> = HashMap::new();
    for d in doc
        .get("dependencies")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let Some(r) = d.get("ref").and_then(Value::as_str) else {
            continue;
        };
        let on: Vec<String> = d
            .get("dependsOn")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .filter_map(|x| ref_to_purl.get(x).cloned())
            .collect();
        if subject_ref.as_deref() == Some(r) {
            direct.extend(on);
        } else if let Some(p) = ref_to_purl.get(r) {
            edges.entry(p.clone()).or_default().extend(on);
        }
    }
    for c in &mut comps {
        if let Some(e) = edges.remove(&c.purl) {
            c.dependencies = e;
        }
    }
    let subject = Subject {
        name: doc
            .pointer("/metadata/component/name")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string(),
        version: doc
            .pointer("/metadata/component/version")
            .and_then(Value::as_str)
            .map(str::to_string),
    };
    let mut inv = Inventory::from_components(subject, comps);
    inv.direct = direct;
    inv.finish();
    inv
}

fn read_spdx(doc: &Value) -> Inventory {
    let described: Vec<&str> = doc
        .get("relationships")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter(|r| r.get("relationshipType").and_then(Value::as_str) == Some("DESCRIBES"))
        .filter_map(|r| r.get("relatedSpdxElement").and_then(Value::as_str))
        .chain(
            doc.get("documentDescribes")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(Value::as_str),
        )
        .collect();
    let mut id_to_purl: HashMap<String, String> = HashMap::new();
    let mut comps = Vec::new();
    let mut subject = Subject::default();
    for p in doc
        .get("packages")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let s = |k: &str| p.get(k).and_then(Value::as_str).unwrap_or("");
        let id = s("SPDXID");
        if described.contains(&id) {
            if subject.name.is_empty() {
                subject = Subject {
                    name: s("name").to_string(),
                    version: p
                        .get("versionInfo")
                        .and_then(Value::as_str)
                        .map(str::to_string),
                };
            }
            continue;
        }
        let purl = p
            .get("externalRefs")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .find(|r| r.get("referenceType").and_then(Value::as_str) == Some("purl"))
            .and_then(|r| r.get("referenceLocator").and_then(Value::as_str));
        let (purl, eco, full, group) = identity(purl, s("name"), s("versionInfo"));
        id_to_purl.insert(id.to_string(), purl.clone());
        let mut comp = Component::new(eco, &full, s("versionInfo"), purl);
        comp.group = group;
        comp.scope = match s("comment") {
            "vouch:scope=dev" => Scope::Dev,
            "vouch:scope=optional" => Scope::Optional,
            _ => Scope::Required,
        };
        for h in p
            .get("checksums")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let alg = h
                .get("algorithm")
                .and_then(Value::as_str)
                .and_then(HashAlg::parse);
            let v = h.get("checksumValue").and_then(Value::as_str);
            if let (Some(alg), Some(v)) = (alg, v) {
                comp.hashes.extend(Hash::hex(alg, v));
            }
        }
        let lic = s("licenseDeclared");
        if !lic.is_empty() && lic != "NOASSERTION" && lic != "NONE" {
            comp.licenses.push(lic.to_string());
        }
        if let Some(src) = s("sourceInfo").strip_prefix("found in: ") {
            comp.sources = src.split(", ").map(str::to_string).collect();
        }
        comps.push(comp);
    }
    let mut direct = Vec::new();
    let mut edges: HashMap<String, Vec<String>> = HashMap::new();
    for r in doc
        .get("relationships")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let s = |k: &str| r.get(k).and_then(Value::as_str).unwrap_or("");
        let (from, to) = match s("relationshipType") {
            "DEPENDS_ON" => (s("spdxElementId"), s("relatedSpdxElement")),
            "DEPENDENCY_OF" | "DEV_DEPENDENCY_OF" | "OPTIONAL_DEPENDENCY_OF" => {
                (s("relatedSpdxElement"), s("spdxElementId"))
            }
            _ => continue,
        };
        let Some(to) = id_to_purl.get(to) else {
            continue;
        };
        if described.contains(&from) {
            direct.push(to.clone());
        } else if let Some(f) = id_to_purl.get(from) {
            edges.entry(f.clone()).or_default().push(to.clone());
        }
    }
    for c in &mut comps {
        if let Some(e) = edges.remove(&c.purl) {
            c.dependencies = e;
        }
    }
    let mut inv = Inventory::from_components(subject, comps);
    inv.direct = direct;
    inv.finish();
    inv
}

#[cfg(test)]
mod tests {
    use super::*;

    proptest::proptest! {
        #[test]
        fn never_panics(s in "\\PC{0,300}") { let _ = read_sbom_str("x", &s); }
    }
}
