//! `vouch sbom validate`: CycloneDX JSON against the official JSON schemas (vendored under
//! `schemas/`, from the CycloneDX specification repository as shipped by cyclonedx-python-lib,
//! `$ref`s restored to their upstream names), and SPDX 2.3 JSON against the SPDX 2.3
//! specification's structural rules.
//!
//! SPDX is checked in code rather than with its JSON schema: no package registry ships the
//! SPDX 2.3 schema, and the schema alone accepts documents the specification (and spdx-tools)
//! reject — dangling relationship ids, duplicate SPDXIDs, undeclared `LicenseRef-`s, invalid
//! licence expressions — which are the mistakes generators actually make.

use std::collections::BTreeSet;

use serde_json::Value;
use vouch_core::InputError;

use crate::readers::json_err;

const BOM_16: &str = include_str!("../schemas/bom-1.6.schema.json");
const BOM_17: &str = include_str!("../schemas/bom-1.7.schema.json");
const SPDX_LICENCES: &str = include_str!("../schemas/spdx.schema.json");
const JSF: &str = include_str!("../schemas/jsf-0.82.schema.json");
const CRYPTO: &str = include_str!("../schemas/cryptography-defs.schema.json");

/// One reason a document is invalid.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// JSON pointer to the offending value (`/components/3/purl`), empty for the document.
    pub pointer: String,
    pub message: String,
}

/// What the document is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Kind {
    CycloneDx(String),
    Spdx(String),
}

/// Validates a CycloneDX or SPDX JSON document. `Err` when it is not JSON or not an SBOM of a
/// version vouch knows; `Ok` with the problems found (empty = valid).
pub fn validate(name: &str, text: &str) -> Result<(Kind, Vec<Problem>), InputError> {
    let doc: Value = serde_json::from_str(text.strip_prefix('\u{feff}').unwrap_or(text))
        .map_err(|e| json_err(name, &e))?;
    if let Some(spec) = doc
        .get("specVersion")
        .and_then(Value::as_str)
        .filter(|_| doc.get("bomFormat").is_some())
    {
        let schema = match spec {
            "1.6" => BOM_16,
            "1.7" => BOM_17,
            other => {
                return Err(InputError::in_file(
                    name,
                    format!("CycloneDX {other} is not supported"),
                )
                .with_hint("vouch validates CycloneDX 1.6 and 1.7"));
            }
        };
        let problems = cyclonedx(schema, &doc)
            .map_err(|e| InputError::in_file(name, format!("internal schema error: {e}")))?;
        return Ok((Kind::CycloneDx(spec.to_string()), problems));
    }
    if let Some(v) = doc.get("spdxVersion").and_then(Value::as_str) {
        if v != "SPDX-2.3" {
            return Err(InputError::in_file(name, format!("{v} is not supported"))
                .with_hint("vouch validates SPDX-2.3 JSON"));
        }
        return Ok((Kind::Spdx(v.to_string()), spdx(&doc)));
    }
    Err(InputError::in_file(
        name,
        "neither CycloneDX (`bomFormat`, `specVersion`) nor SPDX (`spdxVersion`)",
    )
    .with_hint("give a CycloneDX or SPDX JSON document"))
}

fn cyclonedx(schema: &str, doc: &Value) -> Result<Vec<Problem>, String> {
    let parse = |s: &str| serde_json::from_str::<Value>(s).map_err(|e| e.to_string());
    let resource = |s: &str| -> Result<jsonschema::Resource, String> {
        jsonschema::Resource::from_contents(parse(s)?).map_err(|e| e.to_string())
    };
    let validator = jsonschema::options()
        .with_resource(
            "http://cyclonedx.org/schema/spdx.schema.json",
            resource(SPDX_LICENCES)?,
        )
        .with_resource(
            "http://cyclonedx.org/schema/jsf-0.82.schema.json",
            resource(JSF)?,
        )
        .with_resource(
            "http://cyclonedx.org/schema/cryptography-defs.schema.json",
            resource(CRYPTO)?,
        )
        .build(&parse(schema)?)
        .map_err(|e| e.to_string())?;
    let mut out: Vec<Problem> = validator
        .iter_errors(doc)
        .map(|e| Problem {
            pointer: e.instance_path.to_string(),
            message: e.to_string(),
        })
        .collect();
    // bom-refs must be unique and dependencies must point at them (CycloneDX spec, not schema).
    let mut refs = BTreeSet::new();
    let mut stack: Vec<(String, &Value)> = Vec::new();
    if let Some(c) = doc.pointer("/metadata/component") {
        stack.push(("/metadata/component".into(), c));
    }
    if let Some(Value::Array(cs)) = doc.get("components") {
        stack.extend(
            cs.iter()
                .enumerate()
                .map(|(i, c)| (format!("/components/{i}"), c)),
        );
    }
    while let Some((ptr, c)) = stack.pop() {
        if let Some(r) = c.get("bom-ref").and_then(Value::as_str)
            && !refs.insert(r.to_string())
        {
            out.push(Problem {
                pointer: format!("{ptr}/bom-ref"),
                message: format!("duplicate bom-ref `{r}`"),
            });
        }
        if let Some(Value::Array(cs)) = c.get("components") {
            stack.extend(
                cs.iter()
                    .enumerate()
                    .map(|(i, c)| (format!("{ptr}/components/{i}"), c)),
            );
        }
    }
    if let Some(Value::Array(deps)) = doc.get("dependencies") {
        for (i, d) in deps.iter().enumerate() {
            let targets = d.get("ref").into_iter().chain(
                d.get("dependsOn")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten(),
            );
            for t in targets.filter_map(Value::as_str) {
                if !refs.contains(t) {
                    out.push(Problem {
                        pointer: format!("/dependencies/{i}"),
                        message: format!("`{t}` is not the bom-ref of any component"),
                    });
                }
            }
        }
    }
    Ok(out)
}

fn spdx(doc: &Value) -> Vec<Problem> {
    let mut out = Vec::new();
    let mut p = |pointer: String, message: String| out.push(Problem { pointer, message });
    let s = |v: &Value, k: &str| v.get(k).and_then(Value::as_str).map(str::to_string);
    if s(doc, "dataLicense").as_deref() != Some("CC0-1.0") {
        p("/dataLicense".into(), "must be `CC0-1.0`".into());
    }
    if s(doc, "SPDXID").as_deref() != Some("SPDXRef-DOCUMENT") {
        p("/SPDXID".into(), "must be `SPDXRef-DOCUMENT`".into());
    }
    if s(doc, "name").is_none_or(|n| n.is_empty()) {
        p("/name".into(), "required".into());
    }
    match s(doc, "documentNamespace") {
        Some(ns) if ns.contains("://") && !ns.contains('#') => {}
        _ => p(
            "/documentNamespace".into(),
            "required: an absolute URI without `#`".into(),
        ),
    }
    match doc.pointer("/creationInfo/created").and_then(Value::as_str) {
        Some(c) if c.len() == 20 && c.ends_with('Z') && c.parse::<jiff::Timestamp>().is_ok() => {}
        _ => p(
            "/creationInfo/created".into(),
            "required: YYYY-MM-DDThh:mm:ssZ".into(),
        ),
    }
    if doc
        .pointer("/creationInfo/creators")
        .and_then(Value::as_array)
        .is_none_or(|a| a.is_empty())
    {
        p(
            "/creationInfo/creators".into(),
            "at least one creator is required".into(),
        );
    }
    let declared_refs: BTreeSet<String> = doc
        .get("hasExtractedLicensingInfos")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|l| {
            l.get("licenseId")
                .and_then(Value::as_str)
                .map(str::to_string)
        })
        .collect();
    let valid_id = |id: &str| {
        id.strip_prefix("SPDXRef-").is_some_and(|r| {
            !r.is_empty()
                && r.chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-')
        })
    };
    let mut ids: BTreeSet<String> = BTreeSet::from(["SPDXRef-DOCUMENT".to_string()]);
    for (i, pkg) in doc
        .get("packages")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .enumerate()
    {
        let at = |k: &str| format!("/packages/{i}/{k}");
        match s(pkg, "SPDXID") {
            Some(id) if valid_id(&id) => {
                if !ids.insert(id.clone()) {
                    p(at("SPDXID"), format!("duplicate SPDXID `{id}`"));
                }
            }
            Some(id) => p(
                at("SPDXID"),
                format!("`{id}` is not SPDXRef-[A-Za-z0-9.-]+"),
            ),
            None => p(at("SPDXID"), "required".into()),
        }
        if s(pkg, "name").is_none_or(|n| n.is_empty()) {
            p(at("name"), "required".into());
        }
        if s(pkg, "downloadLocation").is_none() {
            p(
                at("downloadLocation"),
                "required (a URL, NONE or NOASSERTION)".into(),
            );
        }
        if pkg.get("filesAnalyzed").and_then(Value::as_bool) != Some(false)
            && pkg.get("packageVerificationCode").is_none()
        {
            p(
                at("filesAnalyzed"),
                "files analysed but no packageVerificationCode".into(),
            );
        }
        for field in ["licenseDeclared", "licenseConcluded"] {
            if let Some(l) = s(pkg, field)
                && l != "NOASSERTION"
                && l != "NONE"
            {
                match spdx::Expression::parse(&l) {
                    Ok(e) => {
                        for r in e.requirements() {
                            let id = r.req.license.to_string();
                            if id.starts_with("LicenseRef-") && !declared_refs.contains(&id) {
                                p(
                                    at(field),
                                    format!("`{id}` is not declared in hasExtractedLicensingInfos"),
                                );
                            }
                        }
                    }
                    Err(e) => p(at(field), format!("not an SPDX licence expression: {e}")),
                }
            }
        }
        for (j, r) in pkg
            .get("externalRefs")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .enumerate()
        {
            if r.get("referenceType").and_then(Value::as_str) == Some("purl")
                && r.get("referenceLocator")
                    .and_then(Value::as_str)
                    .and_then(crate::purl::Purl::parse)
                    .is_none()
            {
                p(
                    format!("/packages/{i}/externalRefs/{j}/referenceLocator"),
                    "not a package-url".into(),
                );
            }
        }
    }
    for (i, r) in doc
        .get("relationships")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .enumerate()
    {
        for k in ["spdxElementId", "relatedSpdxElement"] {
            match s(r, k) {
                Some(id)
                    if ids.contains(&id)
                        || id == "NONE"
                        || id == "NOASSERTION"
                        || id.starts_with("DocumentRef-") => {}
                Some(id) => p(
                    format!("/relationships/{i}/{k}"),
                    format!("`{id}` is not an element of this document"),
                ),
                None => p(format!("/relationships/{i}/{k}"), "required".into()),
            }
        }
        if s(r, "relationshipType").is_none() {
            p(
                format!("/relationships/{i}/relationshipType"),
                "required".into(),
            );
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejects_bad_cyclonedx() {
        let doc = r#"{"bomFormat":"CycloneDX","specVersion":"1.6","components":[{"type":"nonsense","name":"x"}]}"#;
        let (_, problems) = validate("x.json", doc).unwrap();
        assert!(!problems.is_empty());
        let ok = r#"{"bomFormat":"CycloneDX","specVersion":"1.7","version":1,"components":[{"type":"library","name":"x","bom-ref":"a"}],"dependencies":[{"ref":"a"}]}"#;
        assert_eq!(validate("x.json", ok).unwrap().1, vec![]);
        assert!(validate("x.json", "{").is_err());
    }

    proptest::proptest! {
        #[test]
        fn never_panics(s in "\\PC{0,200}") { let _ = validate("x", &s); }
    }
}
