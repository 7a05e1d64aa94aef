//! CycloneDX 1.6 / 1.7 JSON and 1.6 XML writers.
//!
//! Hand-written over `serde_json` rather than the `cyclonedx-bom` crate: that crate models
//! CycloneDX up to 1.5 only, and vouch needs 1.6/1.7 (`evidence.occurrences`) with a byte-stable
//! key order. Keys are written in the order of the specification's examples; components are
//! sorted by purl, dependencies by ref, so the same inventory always gives the same bytes.

use serde_json::{Map, Value, json};

use crate::licence::{Licence, normalise};
use crate::model::{Component, Inventory, Scope};
use crate::write::{WriteOptions, serial_number, subject_ref};

/// Which CycloneDX version to write.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SpecVersion {
    #[default]
    V1_6,
    V1_7,
}

impl SpecVersion {
    pub fn as_str(self) -> &'static str {
        match self {
            SpecVersion::V1_6 => "1.6",
            SpecVersion::V1_7 => "1.7",
        }
    }

    pub fn parse(s: &str) -> Option<SpecVersion> {
        match s {
            "1.6" => Some(SpecVersion::V1_6),
            "1.7" => Some(SpecVersion::V1_7),
            _ => None,
        }
    }
}

/// The (group, name) pair CycloneDX shows: npm scopes, Composer vendors and Maven groups go in
/// `group`, as cdxgen and syft write them.
pub(crate) fn group_and_name(c: &Component) -> (Option<String>, String) {
    use crate::model::Ecosystem::*;
    if let Some(g) = &c.group {
        return (Some(g.clone()), c.name.clone());
    }
    match c.ecosystem {
        Npm | Composer => match c.name.rsplit_once('/') {
            Some((g, n)) => (Some(g.to_string()), n.to_string()),
            None => (None, c.name.clone()),
        },
        _ => (None, c.name.clone()),
    }
}

fn scope_str(s: Scope) -> &'static str {
    match s {
        Scope::Required => "required",
        Scope::Optional => "optional",
        Scope::Dev => "excluded",
    }
}

/// The `licenses` array for a component: one expression, or a list of named licences.
pub(crate) fn licenses_json(licenses: &[String]) -> Option<Value> {
    if licenses.is_empty() {
        return None;
    }
    let norm: Vec<Licence> = licenses.iter().map(|l| normalise(l)).collect();
    if norm.iter().all(|l| matches!(l, Licence::Expression(_))) {
        let exprs: Vec<String> = norm
            .into_iter()
            .map(|l| match l {
                Licence::Expression(e) | Licence::Name(e) => e,
            })
            .collect();
        let expr = if exprs.len() == 1 {
            exprs[0].clone()
        } else {
            exprs
                .iter()
                .map(|e| format!("({e})"))
                .collect::<Vec<_>>()
                .join(" AND ")
        };
        return Some(json!([{ "expression": expr }]));
    }
    Some(Value::Array(
        licenses
            .iter()
            .map(|l| json!({ "license": { "name": l } }))
            .collect(),
    ))
}

fn component_json(c: &Component) -> Value {
    let mut m = Map::new();
    m.insert("type".into(), json!("library"));
    m.insert("bom-ref".into(), json!(c.purl));
    let (group, name) = group_and_name(c);
    if let Some(g) = group {
        m.insert("group".into(), json!(g));
    }
    m.insert("name".into(), json!(name));
    if !c.version.is_empty() {
        m.insert("version".into(), json!(c.version));
    }
    m.insert("scope".into(), json!(scope_str(c.scope)));
    if !c.hashes.is_empty() {
        m.insert(
            "hashes".into(),
            Value::Array(
                c.hashes
                    .iter()
                    .map(|h| json!({ "alg": h.alg.cyclonedx(), "content": h.value }))
                    .collect(),
            ),
        );
    }
    if let Some(l) = licenses_json(&c.licenses) {
        m.insert("licenses".into(), l);
    }
    m.insert("purl".into(), json!(c.purl));
    if let Some(loc) = &c.download_location {
        m.insert(
            "externalReferences".into(),
            json!([{ "url": loc, "type": "distribution" }]),
        );
    }
    let mut props = Vec::new();
    if c.scope == Scope::Dev {
        props.push(json!({ "name": "vouch:scope", "value": "dev" }));
    }
    if !props.is_empty() {
        m.insert("properties".into(), Value::Array(props));
    }
    if !c.sources.is_empty() {
        m.insert(
            "evidence".into(),
            json!({ "occurrences": c.sources.iter().map(|s| json!({ "location": s })).collect::<Vec<_>>() }),
        );
    }
    Value::Object(m)
}

/// Everything before `components`, and the subject's `bom-ref`.
fn header(inv: &Inventory, opts: &WriteOptions) -> (Map<String, Value>, String) {
    let mut doc = Map::new();
    doc.insert(
        "$schema".into(),
        json!(format!(
            "http://cyclonedx.org/schema/bom-{}.schema.json",
            opts.cyclonedx_version.as_str()
        )),
    );
    doc.insert("bomFormat".into(), json!("CycloneDX"));
    doc.insert("specVersion".into(), json!(opts.cyclonedx_version.as_str()));
    let serial = opts
        .serial_number
        .clone()
        .unwrap_or_else(|| serial_number(inv, opts.cyclonedx_version.as_str()));
    doc.insert("serialNumber".into(), json!(serial));
    doc.insert("version".into(), json!(1));

    let mut meta = Map::new();
    if let Some(ts) = opts.timestamp {
        meta.insert("timestamp".into(), json!(ts));
    }
    meta.insert(
        "tools".into(),
        json!({ "components": [{ "type": "application", "name": vouch_core::TOOL_NAME, "version": vouch_core::TOOL_VERSION }] }),
    );
    let subject_ref = subject_ref(inv);
    let mut subject = Map::new();
    subject.insert("type".into(), json!("application"));
    subject.insert("bom-ref".into(), json!(subject_ref));
    subject.insert("name".into(), json!(inv.subject.name));
    if let Some(v) = &inv.subject.version {
        subject.insert("version".into(), json!(v));
    }
    meta.insert("component".into(), Value::Object(subject));
    doc.insert("metadata".into(), Value::Object(meta));

    (doc, subject_ref)
}

/// The whole document as a JSON value.
pub fn to_value(inv: &Inventory, opts: &WriteOptions) -> Value {
    let (mut doc, subject_ref) = header(inv, opts);
    doc.insert(
        "components".into(),
        Value::Array(inv.components.iter().map(component_json).collect()),
    );
    let deps = dependencies(inv, &subject_ref).collect();
    doc.insert("dependencies".into(), Value::Array(deps));
    Value::Object(doc)
}

fn dependencies<'a>(inv: &'a Inventory, subject_ref: &str) -> impl Iterator<Item = Value> + 'a {
    std::iter::once(json!({ "ref": subject_ref, "dependsOn": inv.direct })).chain(
        inv.components
            .iter()
            .map(|c| json!({ "ref": c.purl, "dependsOn": c.dependencies })),
    )
}

/// CycloneDX JSON bytes (pretty-printed, trailing newline).
pub fn to_json(inv: &Inventory, opts: &WriteOptions) -> Vec<u8> {
    let mut out = Vec::new();
    // Writing into a Vec cannot fail.
    let _ = write_json(inv, opts, &mut out);
    out
}

/// Streams the CycloneDX JSON document into `w`, byte for byte what `to_value` pretty-printed
/// gives, one component at a time: memory stays proportional to the inventory, not to a JSON
/// tree of the whole document (a million components would need gigabytes as `Value`s).
pub fn write_json(
    inv: &Inventory,
    opts: &WriteOptions,
    w: &mut dyn std::io::Write,
) -> std::io::Result<()> {
    let (doc, subject_ref) = header(inv, opts);
    let head = serde_json::to_vec_pretty(&Value::Object(doc)).map_err(std::io::Error::other)?;
    // `{ … \n}`: keep everything but the closing brace, then append the two arrays.
    let open = head.strip_suffix(b"\n}").unwrap_or(&head);
    w.write_all(open)?;
    w.write_all(b",\n  \"components\": ")?;
    write_array(w, inv.components.iter().map(component_json))?;
    w.write_all(b",\n  \"dependencies\": ")?;
    write_array(w, dependencies(inv, &subject_ref))?;
    w.write_all(b"\n}\n")
}

/// A top-level array member pretty-printed as serde_json does at depth 1.
fn write_array(
    w: &mut dyn std::io::Write,
    items: impl Iterator<Item = Value>,
) -> std::io::Result<()> {
    let mut first = true;
    let mut buf = Vec::new();
    for item in items {
        w.write_all(if first { b"[\n    " } else { b",\n    " })?;
        first = false;
        buf.clear();
        serde_json::to_writer_pretty(&mut buf, &item).map_err(std::io::Error::other)?;
        for (i, line) in buf.split(|&b| b == b'\n').enumerate() {
            if i > 0 {
                w.write_all(b"\n    ")?;
            }
            w.write_all(line)?;
        }
    }
    w.write_all(if first { b"[]" } else { b"\n  ]" })
}

fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for ch in s.chars() {
        match ch {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c if (c as u32) < 0x20 && !matches!(c, '\t' | '\n' | '\r') => {}
            c => out.push(c),
        }
    }
    out
}

/// CycloneDX 1.6 XML bytes, the same content as [`to_json`] (element order per the XSD).
pub fn to_xml(inv: &Inventory, opts: &WriteOptions) -> Vec<u8> {
    use std::fmt::Write;
    let serial = opts
        .serial_number
        .clone()
        .unwrap_or_else(|| serial_number(inv, "1.6"));
    let subject_ref = subject_ref(inv);
    let mut x = String::new();
    x.push_str("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let _ = writeln!(
        x,
        "<bom xmlns=\"http://cyclonedx.org/schema/bom/1.6\" serialNumber=\"{}\" version=\"1\">",
        esc(&serial)
    );
    x.push_str("  <metadata>\n");
    if let Some(ts) = opts.timestamp {
        let _ = writeln!(x, "    <timestamp>{ts}</timestamp>");
    }
    let _ = writeln!(
        x,
        "    <tools>\n      <components>\n        <component type=\"application\">\n          <name>{}</name>\n          <version>{}</version>\n        </component>\n      </components>\n    </tools>",
        vouch_core::TOOL_NAME,
        vouch_core::TOOL_VERSION
    );
    let _ = write!(
        x,
        "    <component type=\"application\" bom-ref=\"{}\">\n      <name>{}</name>\n",
        esc(&subject_ref),
        esc(&inv.subject.name)
    );
    if let Some(v) = &inv.subject.version {
        let _ = writeln!(x, "      <version>{}</version>", esc(v));
    }
    x.push_str("    </component>\n  </metadata>\n  <components>\n");
    for c in &inv.components {
        let _ = writeln!(
            x,
            "    <component type=\"library\" bom-ref=\"{}\">",
            esc(&c.purl)
        );
        let (group, name) = group_and_name(c);
        if let Some(g) = group {
            let _ = writeln!(x, "      <group>{}</group>", esc(&g));
        }
        let _ = writeln!(x, "      <name>{}</name>", esc(&name));
        if !c.version.is_empty() {
            let _ = writeln!(x, "      <version>{}</version>", esc(&c.version));
        }
        let _ = writeln!(x, "      <scope>{}</scope>", scope_str(c.scope));
        if !c.hashes.is_empty() {
            x.push_str("      <hashes>\n");
            for h in &c.hashes {
                let _ = writeln!(
                    x,
                    "        <hash alg=\"{}\">{}</hash>",
                    h.alg.cyclonedx(),
                    h.value
                );
            }
            x.push_str("      </hashes>\n");
        }
        if let Some(Value::Array(ls)) = licenses_json(&c.licenses) {
            x.push_str("      <licenses>\n");
            for l in ls {
                if let Some(e) = l.get("expression").and_then(Value::as_str) {
                    let _ = writeln!(x, "        <expression>{}</expression>", esc(e));
                } else if let Some(n) = l.pointer("/license/name").and_then(Value::as_str) {
                    let _ = writeln!(
                        x,
                        "        <license>\n          <name>{}</name>\n        </license>",
                        esc(n)
                    );
                }
            }
            x.push_str("      </licenses>\n");
        }
        let _ = writeln!(x, "      <purl>{}</purl>", esc(&c.purl));
        if let Some(loc) = &c.download_location {
            let _ = writeln!(
                x,
                "      <externalReferences>\n        <reference type=\"distribution\">\n          <url>{}</url>\n        </reference>\n      </externalReferences>",
                esc(loc)
            );
        }
        if c.scope == Scope::Dev {
            x.push_str("      <properties>\n        <property name=\"vouch:scope\">dev</property>\n      </properties>\n");
        }
        if !c.sources.is_empty() {
            x.push_str("      <evidence>\n        <occurrences>\n");
            for s in &c.sources {
                let _ = writeln!(
                    x,
                    "          <occurrence>\n            <location>{}</location>\n          </occurrence>",
                    esc(s)
                );
            }
            x.push_str("        </occurrences>\n      </evidence>\n");
        }
        x.push_str("    </component>\n");
    }
    x.push_str("  </components>\n  <dependencies>\n");
    let mut dep = |r: &str, on: &[String]| {
        if on.is_empty() {
            let _ = writeln!(x, "    <dependency ref=\"{}\"/>", esc(r));
        } else {
            let _ = writeln!(x, "    <dependency ref=\"{}\">", esc(r));
            for d in on {
                let _ = writeln!(x, "      <dependency ref=\"{}\"/>", esc(d));
            }
            x.push_str("    </dependency>\n");
        }
    };
    dep(&subject_ref, &inv.direct);
    for c in &inv.components {
        dep(&c.purl, &c.dependencies);
    }
    x.push_str("  </dependencies>\n</bom>\n");
    x.into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The streamed document is byte for byte the pretty-printed `to_value`.
    #[test]
    fn streaming_writer_matches_the_value_tree() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
        let mut invs = vec![Inventory::default()];
        for p in ["express-npm", "axum", "debian-rootfs"] {
            invs.push(crate::scan(&root.join(p)).unwrap());
        }
        for inv in &invs {
            for v in [SpecVersion::V1_6, SpecVersion::V1_7] {
                let opts = WriteOptions {
                    cyclonedx_version: v,
                    ..WriteOptions::default()
                };
                let mut want = serde_json::to_vec_pretty(&to_value(inv, &opts)).unwrap();
                want.push(b'\n');
                assert_eq!(
                    String::from_utf8(to_json(inv, &opts)).unwrap(),
                    String::from_utf8(want).unwrap()
                );
            }
        }
    }
}
