//! SPDX 2.3 JSON writer.
//!
//! Hand-written over `serde_json` rather than the `spdx-rs` crate, which targets SPDX 2.2
//! documents and is no longer maintained; vouch needs 2.3 fields (`primaryPackagePurpose`,
//! purl external references) and a byte-stable key order.

use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};

use crate::licence::{Licence, normalise};
use crate::model::{Component, Inventory, Scope};
use crate::write::{WriteOptions, content_digest, uuid_from};

fn sanitise(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '.' || c == '-' {
                c
            } else {
                '-'
            }
        })
        .collect()
}

/// The SPDXID of a component: readable and unique (a short digest of the purl).
pub fn spdx_id(c: &Component) -> String {
    let d = Sha256::digest(c.purl.as_bytes());
    format!(
        "SPDXRef-{}-{}-{}-{}",
        c.ecosystem.purl_type(),
        sanitise(&c.name),
        sanitise(&c.version),
        &hex::encode(d)[..8]
    )
}

/// A licence field value and the LicenseRefs it needs declared.
fn licence_field(licenses: &[String], refs: &mut Vec<(String, String)>) -> String {
    if licenses.is_empty() {
        return "NOASSERTION".into();
    }
    let parts: Vec<String> = licenses
        .iter()
        .map(|l| match normalise(l) {
            Licence::Expression(e) => e,
            Licence::Name(n) => {
                let id = format!(
                    "LicenseRef-{}",
                    sanitise(&n)
                        .trim_matches('-')
                        .chars()
                        .take(64)
                        .collect::<String>()
                );
                let id = if id == "LicenseRef-" {
                    "LicenseRef-unknown".to_string()
                } else {
                    id
                };
                if !refs.iter().any(|(i, _)| i == &id) {
                    refs.push((id.clone(), n));
                }
                id
            }
        })
        .collect();
    if parts.len() == 1 {
        parts[0].clone()
    } else {
        parts
            .iter()
            .map(|p| format!("({p})"))
            .collect::<Vec<_>>()
            .join(" AND ")
    }
}

/// The whole document as a JSON value.
pub fn to_value(inv: &Inventory, opts: &WriteOptions) -> Value {
    let ts = opts.timestamp.unwrap_or(jiff::Timestamp::UNIX_EPOCH);
    let uuid = uuid_from(&content_digest(inv, "spdx-2.3"));
    let name = if inv.subject.name.is_empty() {
        "sbom".to_string()
    } else {
        inv.subject.name.clone()
    };
    let mut doc = Map::new();
    doc.insert("spdxVersion".into(), json!("SPDX-2.3"));
    doc.insert("dataLicense".into(), json!("CC0-1.0"));
    doc.insert("SPDXID".into(), json!("SPDXRef-DOCUMENT"));
    doc.insert("name".into(), json!(name));
    doc.insert(
        "documentNamespace".into(),
        json!(format!(
            "https://spdx.org/spdxdocs/vouch/{}-{uuid}",
            sanitise(&name)
        )),
    );
    doc.insert(
        "creationInfo".into(),
        json!({
            "created": ts.strftime("%Y-%m-%dT%H:%M:%SZ").to_string(),
            "creators": [format!("Tool: {}-{}", vouch_core::TOOL_NAME, vouch_core::TOOL_VERSION)],
        }),
    );

    let mut refs: Vec<(String, String)> = Vec::new();
    let mut packages = Vec::new();
    let root_id = "SPDXRef-Subject".to_string();
    let mut root = Map::new();
    root.insert("SPDXID".into(), json!(root_id));
    root.insert("name".into(), json!(name));
    if let Some(v) = &inv.subject.version {
        root.insert("versionInfo".into(), json!(v));
    }
    root.insert("downloadLocation".into(), json!("NOASSERTION"));
    root.insert("filesAnalyzed".into(), json!(false));
    root.insert("primaryPackagePurpose".into(), json!("APPLICATION"));
    packages.push(Value::Object(root));

    let ids: std::collections::BTreeMap<&str, String> = inv
        .components
        .iter()
        .map(|c| (c.purl.as_str(), spdx_id(c)))
        .collect();
    for c in &inv.components {
        let mut p = Map::new();
        p.insert("SPDXID".into(), json!(ids[c.purl.as_str()]));
        p.insert("name".into(), json!(c.display_name()));
        if !c.version.is_empty() {
            p.insert("versionInfo".into(), json!(c.version));
        }
        p.insert(
            "downloadLocation".into(),
            json!(c.download_location.as_deref().unwrap_or("NOASSERTION")),
        );
        p.insert("filesAnalyzed".into(), json!(false));
        if !c.hashes.is_empty() {
            p.insert(
                "checksums".into(),
                Value::Array(
                    c.hashes
                        .iter()
                        .map(|h| json!({ "algorithm": h.alg.spdx(), "checksumValue": h.value }))
                        .collect(),
                ),
            );
        }
        p.insert("licenseConcluded".into(), json!("NOASSERTION"));
        p.insert(
            "licenseDeclared".into(),
            json!(licence_field(&c.licenses, &mut refs)),
        );
        p.insert("copyrightText".into(), json!("NOASSERTION"));
        if !c.sources.is_empty() {
            p.insert(
                "sourceInfo".into(),
                json!(format!("found in: {}", c.sources.join(", "))),
            );
        }
        match c.scope {
            Scope::Required => {}
            Scope::Optional => {
                p.insert("comment".into(), json!("vouch:scope=optional"));
            }
            Scope::Dev => {
                p.insert("comment".into(), json!("vouch:scope=dev"));
            }
        }
        p.insert(
            "externalRefs".into(),
            json!([{ "referenceCategory": "PACKAGE-MANAGER", "referenceType": "purl", "referenceLocator": c.purl }]),
        );
        p.insert("primaryPackagePurpose".into(), json!("LIBRARY"));
        packages.push(Value::Object(p));
    }
    if !refs.is_empty() {
        refs.sort();
        doc.insert(
            "hasExtractedLicensingInfos".into(),
            Value::Array(
                refs.iter()
                    .map(|(id, text)| json!({ "licenseId": id, "extractedText": text, "name": text }))
                    .collect(),
            ),
        );
    }
    doc.insert("documentDescribes".into(), json!([root_id]));
    doc.insert("packages".into(), Value::Array(packages));

    let mut rels = vec![json!({
        "spdxElementId": "SPDXRef-DOCUMENT",
        "relationshipType": "DESCRIBES",
        "relatedSpdxElement": root_id,
    })];
    for d in &inv.direct {
        if let Some(id) = ids.get(d.as_str()) {
            rels.push(json!({ "spdxElementId": root_id, "relationshipType": "DEPENDS_ON", "relatedSpdxElement": id }));
        }
    }
    for c in &inv.components {
        for d in &c.dependencies {
            if let Some(id) = ids.get(d.as_str()) {
                rels.push(json!({ "spdxElementId": ids[c.purl.as_str()], "relationshipType": "DEPENDS_ON", "relatedSpdxElement": id }));
            }
        }
    }
    doc.insert("relationships".into(), Value::Array(rels));
    Value::Object(doc)
}

/// SPDX 2.3 JSON bytes (pretty-printed, trailing newline).
pub fn to_json(inv: &Inventory, opts: &WriteOptions) -> Vec<u8> {
    let mut out = serde_json::to_vec_pretty(&to_value(inv, opts)).unwrap_or_default();
    out.push(b'\n');
    out
}
