//! VEX: statements that a product is or is not affected by a vulnerability.
//!
//! Read: OpenVEX (v0.2.0, and the string forms of v0.0.x) and CycloneDX VEX
//! (`vulnerabilities[].analysis`). `not_affected` (CycloneDX `not_affected`,
//! `false_positive`) and `fixed` (`resolved`) suppress the matching finding, so they change
//! the exit code; `under_investigation` (`in_triage`) annotates it and leaves it active;
//! `affected` (`exploitable`) keeps it. Written: OpenVEX from `.vouch/exceptions.yaml`.

use std::path::Path;

use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use vouch_core::exceptions::ExceptionSet;
use vouch_core::{Finding, InputError};

use crate::purl;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    NotAffected,
    Affected,
    Fixed,
    UnderInvestigation,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::NotAffected => "not_affected",
            Status::Affected => "affected",
            Status::Fixed => "fixed",
            Status::UnderInvestigation => "under_investigation",
        }
    }
}

/// One statement, whatever format it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Statement {
    pub ids: Vec<String>,
    /// purls; empty means every product.
    pub products: Vec<String>,
    pub status: Status,
    pub justification: Option<String>,
    pub detail: Option<String>,
    /// The file it came from.
    pub source: String,
}

fn bad(path: &Path, msg: impl Into<String>) -> InputError {
    InputError::in_file(path, msg).with_hint("give an OpenVEX or CycloneDX VEX JSON document")
}

/// Parses a VEX document (OpenVEX or CycloneDX) read from `path`.
pub fn parse(path: &Path, text: &str) -> Result<Vec<Statement>, InputError> {
    let doc: Value = serde_json::from_str(text).map_err(|e| {
        InputError::at(
            path,
            e.line().max(1) as u32,
            Some(e.column().max(1) as u32),
            format!("not JSON: {e}"),
        )
    })?;
    let source = path.display().to_string();
    let context = doc.get("@context").and_then(Value::as_str).unwrap_or("");
    if context.contains("openvex") {
        let mut out = Vec::new();
        let stmts = doc
            .get("statements")
            .and_then(Value::as_array)
            .ok_or_else(|| bad(path, "OpenVEX document has no `statements` array"))?;
        for (i, s) in stmts.iter().enumerate() {
            let n = i + 1;
            let mut ids = Vec::new();
            match s.get("vulnerability") {
                Some(Value::String(v)) => ids.push(v.clone()),
                Some(Value::Object(o)) => {
                    for k in ["name", "@id"] {
                        if let Some(v) = o.get(k).and_then(Value::as_str) {
                            ids.push(v.to_string());
                        }
                    }
                    for a in o
                        .get("aliases")
                        .and_then(Value::as_array)
                        .into_iter()
                        .flatten()
                    {
                        if let Some(a) = a.as_str() {
                            ids.push(a.to_string());
                        }
                    }
                }
                _ => return Err(bad(path, format!("statement {n} has no `vulnerability`"))),
            }
            let mut products = Vec::new();
            for p in s
                .get("products")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                match p {
                    Value::String(s) => products.push(s.clone()),
                    Value::Object(o) => {
                        if let Some(id) = o.get("@id").and_then(Value::as_str) {
                            products.push(id.to_string());
                        }
                        if let Some(pu) = o
                            .get("identifiers")
                            .and_then(|i| i.get("purl"))
                            .and_then(Value::as_str)
                        {
                            products.push(pu.to_string());
                        }
                        for sc in o
                            .get("subcomponents")
                            .and_then(Value::as_array)
                            .into_iter()
                            .flatten()
                        {
                            if let Some(id) = sc.get("@id").and_then(Value::as_str) {
                                products.push(id.to_string());
                            }
                        }
                    }
                    _ => {}
                }
            }
            let status = match s.get("status").and_then(Value::as_str) {
                Some("not_affected") => Status::NotAffected,
                Some("affected") => Status::Affected,
                Some("fixed") => Status::Fixed,
                Some("under_investigation") => Status::UnderInvestigation,
                other => {
                    return Err(bad(
                        path,
                        format!("statement {n}: unknown status {:?}", other.unwrap_or("")),
                    ));
                }
            };
            let justification = s
                .get("justification")
                .and_then(Value::as_str)
                .map(str::to_string);
            let detail = s
                .get("impact_statement")
                .or_else(|| s.get("status_notes"))
                .and_then(Value::as_str)
                .map(str::to_string);
            if status == Status::NotAffected && justification.is_none() && detail.is_none() {
                return Err(bad(
                    path,
                    format!(
                        "statement {n}: `not_affected` needs a `justification` or an `impact_statement`"
                    ),
                ));
            }
            out.push(Statement {
                ids,
                products: products
                    .into_iter()
                    .filter(|p| p.starts_with("pkg:"))
                    .collect(),
                status,
                justification,
                detail,
                source: source.clone(),
            });
        }
        return Ok(out);
    }
    if doc.get("bomFormat").and_then(Value::as_str) == Some("CycloneDX") {
        // bom-ref → purl, for `affects[].ref`
        let mut refs = std::collections::BTreeMap::new();
        fn walk(v: &Value, refs: &mut std::collections::BTreeMap<String, String>) {
            for c in v
                .get("components")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                if let (Some(r), Some(p)) = (
                    c.get("bom-ref").and_then(Value::as_str),
                    c.get("purl").and_then(Value::as_str),
                ) {
                    refs.insert(r.to_string(), p.to_string());
                }
                walk(c, refs);
            }
        }
        walk(&doc, &mut refs);
        let mut out = Vec::new();
        for (i, v) in doc
            .get("vulnerabilities")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .enumerate()
        {
            let n = i + 1;
            let mut ids: Vec<String> = v
                .get("id")
                .and_then(Value::as_str)
                .map(|s| vec![s.to_string()])
                .unwrap_or_default();
            for r in v
                .get("references")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                if let Some(id) = r.get("id").and_then(Value::as_str) {
                    ids.push(id.to_string());
                }
            }
            if ids.is_empty() {
                return Err(bad(path, format!("vulnerability {n} has no `id`")));
            }
            let Some(analysis) = v.get("analysis") else {
                continue;
            };
            let status = match analysis.get("state").and_then(Value::as_str) {
                Some("not_affected") | Some("false_positive") => Status::NotAffected,
                Some("resolved") | Some("resolved_with_pedigree") => Status::Fixed,
                Some("in_triage") => Status::UnderInvestigation,
                Some("exploitable") => Status::Affected,
                other => {
                    return Err(bad(
                        path,
                        format!(
                            "vulnerability {n}: unknown analysis state {:?}",
                            other.unwrap_or("")
                        ),
                    ));
                }
            };
            let products = v
                .get("affects")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(|a| a.get("ref").and_then(Value::as_str))
                .map(|r| refs.get(r).cloned().unwrap_or_else(|| r.to_string()))
                .filter(|p| p.starts_with("pkg:"))
                .collect();
            out.push(Statement {
                ids,
                products,
                status,
                justification: analysis
                    .get("justification")
                    .and_then(Value::as_str)
                    .map(str::to_string),
                detail: analysis
                    .get("detail")
                    .and_then(Value::as_str)
                    .map(str::to_string),
                source: source.clone(),
            });
        }
        return Ok(out);
    }
    Err(bad(
        path,
        "neither an OpenVEX document (@context openvex) nor a CycloneDX BOM",
    ))
}

fn finding_ids(f: &Finding) -> Vec<String> {
    let mut ids: Vec<String> = f
        .rule
        .strip_prefix("vuln/")
        .map(|s| vec![s.to_string()])
        .unwrap_or_default();
    if let Some(Value::Array(a)) = f.properties.get("aliases") {
        ids.extend(a.iter().filter_map(|v| v.as_str().map(str::to_string)));
    }
    ids
}

fn is_root(product: &str, root: Option<&str>) -> bool {
    let Some(root) = root else { return false };
    purl::base(product) == purl::base(root)
        && match (
            purl::parse(product).and_then(|p| p.version),
            purl::parse(root).and_then(|p| p.version),
        ) {
            (Some(a), Some(b)) => a == b,
            _ => true,
        }
}

fn product_matches(product: &str, f: &Finding) -> bool {
    let Some(fp) = f.properties.get("purl").and_then(Value::as_str) else {
        return false;
    };
    if purl::base(product) != purl::base(fp) {
        return false;
    }
    match purl::parse(product).and_then(|p| p.version) {
        None => true,
        Some(v) => f.properties.get("version").and_then(Value::as_str) == Some(v.as_str()),
    }
}

/// Applies statements to findings (the last matching statement wins). A statement matches a
/// finding when it names one of the finding's ids and either names no products, names the
/// finding's package, or names `root` — the product the scanned SBOM describes.
pub fn apply(statements: &[Statement], findings: &mut [Finding], root: Option<&str>) {
    for f in findings.iter_mut() {
        if !f.rule.starts_with("vuln/") {
            continue;
        }
        let ids = finding_ids(f);
        let hit = statements.iter().rev().find(|s| {
            s.ids
                .iter()
                .any(|i| ids.iter().any(|j| j.eq_ignore_ascii_case(i)))
                && (s.products.is_empty()
                    || s.products
                        .iter()
                        .any(|p| product_matches(p, f) || is_root(p, root)))
        });
        let Some(s) = hit else { continue };
        let mut vex = serde_json::Map::new();
        vex.insert("status".into(), s.status.as_str().into());
        vex.insert("source".into(), s.source.clone().into());
        if let Some(j) = &s.justification {
            vex.insert("justification".into(), j.clone().into());
        }
        if let Some(d) = &s.detail {
            vex.insert("detail".into(), d.clone().into());
        }
        f.properties.insert("vex".into(), Value::Object(vex));
        match s.status {
            Status::NotAffected | Status::Fixed => {
                f.suppressed_by = Some(format!("VEX {} ({})", s.status.as_str(), s.source));
            }
            Status::UnderInvestigation => {
                let a = f.annotation.take().unwrap_or_default();
                f.annotation = Some(format!("{a} (VEX: under investigation)").trim().to_string());
            }
            Status::Affected => {}
        }
    }
}

/// An OpenVEX v0.2.0 document with one `not_affected` statement per exception that names a
/// vulnerability (`vuln:`). `timestamp` is RFC 3339; `products` are purls applied to every
/// statement (OpenVEX allows statements without products; they then apply to every product
/// the document is attached to).
pub fn openvex_from_exceptions(
    set: &ExceptionSet,
    author: &str,
    timestamp: &str,
    products: &[String],
) -> Vec<u8> {
    let mut entries: Vec<_> = set.entries.iter().filter(|e| e.vuln.is_some()).collect();
    entries.sort_by(|a, b| {
        (a.vuln.as_deref(), a.id.as_str()).cmp(&(b.vuln.as_deref(), b.id.as_str()))
    });
    let statements: Vec<Value> = entries
        .iter()
        .map(|e| {
            let mut s = serde_json::Map::new();
            s.insert(
                "vulnerability".into(),
                json!({ "name": e.vuln.clone().unwrap_or_default() }),
            );
            if !products.is_empty() {
                s.insert(
                    "products".into(),
                    Value::Array(products.iter().map(|p| json!({ "@id": p })).collect()),
                );
            }
            s.insert("status".into(), "not_affected".into());
            s.insert(
                "impact_statement".into(),
                format!(
                    "{} (exception {}, owner {}, expires {})",
                    e.reason, e.id, e.owner, e.expires
                )
                .into(),
            );
            s.insert("timestamp".into(), timestamp.into());
            Value::Object(s)
        })
        .collect();
    let body = serde_json::to_vec(&statements).unwrap_or_default();
    let id = hex::encode(Sha256::digest(&body));
    let doc = json!({
        "@context": "https://openvex.dev/ns/v0.2.0",
        "@id": format!("https://openvex.dev/docs/public/vex-{id}"),
        "author": author,
        "timestamp": timestamp,
        "version": 1,
        "tooling": format!("vouch {}", vouch_core::TOOL_VERSION),
        "statements": statements,
    });
    let mut out = serde_json::to_vec_pretty(&doc).unwrap_or_default();
    out.push(b'\n');
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use vouch_core::{Location, Severity};

    fn finding() -> Finding {
        Finding::dynamic(
            "vuln/CVE-1",
            Severity::High,
            Location::file("bom.json"),
            "m",
            "k",
        )
        .with_property("aliases", vec!["GHSA-1".to_string()])
        .with_property("purl", "pkg:pypi/jinja2@2.10")
        .with_property("version", "2.10")
    }

    #[test]
    fn openvex_and_cyclonedx() {
        let open = r#"{"@context":"https://openvex.dev/ns/v0.2.0","statements":[
          {"vulnerability":{"name":"GHSA-1"},"products":[{"@id":"pkg:pypi/jinja2"}],"status":"not_affected","justification":"vulnerable_code_not_in_execute_path"}]}"#;
        let s = parse(Path::new("a.vex.json"), open).unwrap();
        let mut f = vec![finding()];
        apply(&s, &mut f, None);
        assert!(f[0].suppressed_by.is_some());

        let cdx = r#"{"bomFormat":"CycloneDX","specVersion":"1.6","vulnerabilities":[{"id":"CVE-1","analysis":{"state":"in_triage"},"affects":[{"ref":"pkg:pypi/jinja2@2.10"}]}]}"#;
        let s = parse(Path::new("b.json"), cdx).unwrap();
        let mut f = vec![finding()];
        apply(&s, &mut f, None);
        assert!(f[0].suppressed_by.is_none());
        assert!(
            f[0].annotation
                .as_deref()
                .unwrap()
                .contains("under investigation")
        );

        let other = r#"{"@context":"https://openvex.dev/ns/v0.2.0","statements":[{"vulnerability":{"name":"CVE-1"},"products":[{"@id":"pkg:pypi/jinja2@3.0"}],"status":"fixed"}]}"#;
        let mut f = vec![finding()];
        apply(&parse(Path::new("c"), other).unwrap(), &mut f, None);
        assert!(f[0].suppressed_by.is_none(), "other version must not match");

        let bad = r#"{"@context":"https://openvex.dev/ns/v0.2.0","statements":[{"vulnerability":"X","status":"not_affected"}]}"#;
        assert!(parse(Path::new("d"), bad).is_err());
    }

    proptest::proptest! {
        #[test]
        fn never_panics(s in ".{0,200}") {
            let _ = parse(Path::new("x"), &s);
        }
    }
}
