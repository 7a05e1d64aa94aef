//! Maven `pom.xml`: the *declared* dependencies (a POM is a manifest, not a lockfile), with
//! `${…}` properties resolved from `<properties>`, `project.*` and the parent's coordinates,
//! and versions taken from `<dependencyManagement>` when a dependency omits one. Dependencies
//! whose version still cannot be resolved (it comes from an imported BOM or a parent POM that
//! is not in the file) are skipped rather than guessed. `test` scope is dev; `provided`,
//! `system` and `<optional>true` are optional. Parsed with `roxmltree`, which rejects DTDs
//! (no entity expansion).

use std::collections::HashMap;

use roxmltree::{Document, Node};
use vouch_core::InputError;

use super::Parsed;
use crate::model::{Component, Ecosystem, Scope, Subject};
use crate::readers::gradle::maven_purl;

fn child<'a, 'i>(n: Node<'a, 'i>, name: &str) -> Option<Node<'a, 'i>> {
    n.children()
        .find(|c| c.is_element() && c.tag_name().name() == name)
}

fn text(n: Node<'_, '_>, name: &str) -> Option<String> {
    child(n, name)
        .and_then(|c| c.text())
        .map(|t| t.trim().to_string())
}

/// Replaces `${name}` from `props`, up to a few levels deep; `None` if anything is left.
fn resolve(s: &str, props: &HashMap<String, String>) -> Option<String> {
    let mut cur = s.to_string();
    for _ in 0..5 {
        let Some(start) = cur.find("${") else {
            return Some(cur);
        };
        let end = cur[start..].find('}')? + start;
        let value = props.get(&cur[start + 2..end])?;
        cur = format!("{}{}{}", &cur[..start], value, &cur[end + 1..]);
    }
    (!cur.contains("${")).then_some(cur)
}

/// Reads a pom.xml.
pub fn read(path: &str, text_in: &str) -> Result<Parsed, InputError> {
    let doc = Document::parse(text_in).map_err(|e| {
        let p = e.pos();
        InputError::at(
            path,
            p.row.max(1),
            Some(p.col.max(1)),
            format!("malformed XML: {e}"),
        )
        .with_hint("fix the XML; Maven cannot read it either")
    })?;
    let project = doc.root_element();
    if project.tag_name().name() != "project" {
        return Err(
            InputError::at(path, 1, None, "the root element is not <project>")
                .with_hint("this is not a Maven POM"),
        );
    }
    let parent = child(project, "parent");
    let mut props: HashMap<String, String> = HashMap::new();
    if let Some(p) = child(project, "properties") {
        for c in p.children().filter(|c| c.is_element()) {
            props.insert(
                c.tag_name().name().to_string(),
                c.text().unwrap_or("").trim().to_string(),
            );
        }
    }
    let group = text(project, "groupId").or_else(|| parent.and_then(|p| text(p, "groupId")));
    let version = text(project, "version").or_else(|| parent.and_then(|p| text(p, "version")));
    let artifact = text(project, "artifactId").unwrap_or_default();
    for (k, v) in [
        ("project.groupId", &group),
        ("project.version", &version),
        ("pom.version", &version),
    ] {
        if let Some(v) = v {
            props.insert(k.to_string(), v.clone());
        }
    }
    props.insert("project.artifactId".into(), artifact.clone());
    if let Some(p) = parent {
        for (k, tag) in [
            ("project.parent.version", "version"),
            ("project.parent.groupId", "groupId"),
        ] {
            if let Some(v) = text(p, tag) {
                props.insert(k.into(), v);
            }
        }
    }
    // Versions managed in <dependencyManagement>.
    let mut managed: HashMap<(String, String), String> = HashMap::new();
    if let Some(deps) =
        child(project, "dependencyManagement").and_then(|dm| child(dm, "dependencies"))
    {
        for d in deps.children().filter(|c| c.is_element()) {
            if let (Some(g), Some(a), Some(v)) = (
                text(d, "groupId"),
                text(d, "artifactId"),
                text(d, "version"),
            ) && let (Some(g), Some(a), Some(v)) = (
                resolve(&g, &props),
                resolve(&a, &props),
                resolve(&v, &props),
            ) {
                managed.insert((g, a), v);
            }
        }
    }
    let mut out = Parsed {
        subject: Some(Subject {
            name: match &group {
                Some(g) => format!("{g}:{artifact}"),
                None => artifact.clone(),
            },
            version: version.as_deref().and_then(|v| resolve(v, &props)),
        }),
        ..Parsed::default()
    };
    let Some(deps) = child(project, "dependencies") else {
        return Ok(out);
    };
    for d in deps
        .children()
        .filter(|c| c.is_element() && c.tag_name().name() == "dependency")
    {
        let (Some(g), Some(a)) = (
            text(d, "groupId").and_then(|g| resolve(&g, &props)),
            text(d, "artifactId").and_then(|a| resolve(&a, &props)),
        ) else {
            continue;
        };
        let v = match text(d, "version") {
            Some(v) => resolve(&v, &props),
            None => managed.get(&(g.clone(), a.clone())).cloned(),
        };
        let Some(v) = v.filter(|v| !v.is_empty()) else {
            continue;
        };
        let mut c = Component::new(Ecosystem::Maven, &a, &v, maven_purl(&g, &a, &v));
        c.group = Some(g);
        c.scope = match text(d, "scope").as_deref() {
            Some("test") => Scope::Dev,
            Some("provided") | Some("system") => Scope::Optional,
            _ if text(d, "optional").as_deref() == Some("true") => Scope::Optional,
            _ => Scope::Required,
        };
        c.sources.push(path.to_string());
        out.direct.push(c.purl.clone());
        out.components.push(c);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    const POM: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <parent><groupId>org.example</groupId><artifactId>parent</artifactId><version>2.0.0</version></parent>
  <artifactId>app</artifactId>
  <properties><jackson.version>2.17.1</jackson.version></properties>
  <dependencyManagement><dependencies>
    <dependency><groupId>org.slf4j</groupId><artifactId>slf4j-api</artifactId><version>2.0.13</version></dependency>
  </dependencies></dependencyManagement>
  <dependencies>
    <dependency><groupId>com.fasterxml.jackson.core</groupId><artifactId>jackson-databind</artifactId><version>${jackson.version}</version></dependency>
    <dependency><groupId>org.slf4j</groupId><artifactId>slf4j-api</artifactId></dependency>
    <dependency><groupId>${project.groupId}</groupId><artifactId>core</artifactId><version>${project.version}</version></dependency>
    <dependency><groupId>org.junit.jupiter</groupId><artifactId>junit-jupiter</artifactId><version>5.10.2</version><scope>test</scope></dependency>
    <dependency><groupId>x</groupId><artifactId>from-bom</artifactId></dependency>
  </dependencies>
</project>"#;

    #[test]
    fn reads() {
        let p = read("pom.xml", POM).unwrap();
        let purls: Vec<_> = p.components.iter().map(|c| c.purl.as_str()).collect();
        assert_eq!(
            purls,
            [
                "pkg:maven/com.fasterxml.jackson.core/jackson-databind@2.17.1",
                "pkg:maven/org.slf4j/slf4j-api@2.0.13",
                "pkg:maven/org.example/core@2.0.0",
                "pkg:maven/org.junit.jupiter/junit-jupiter@5.10.2",
            ]
        );
        assert_eq!(p.components[3].scope, Scope::Dev);
        assert_eq!(p.subject.unwrap().name, "org.example:app");
        let e = read("pom.xml", &POM[..300]).unwrap_err();
        assert!(e.line.is_some());
        assert!(read("pom.xml", "<!DOCTYPE x [<!ENTITY a \"b\">]><project/>").is_err());
    }

    proptest::proptest! {
        #[test]
        fn never_panics(s in "\\PC{0,300}") { super::super::testutil::no_panic(read, &s); }
        #[test]
        fn truncation_never_panics(n in 0usize..1200) {
            let cut = n.min(POM.len());
            let _ = read("pom.xml", &POM[..cut]);
        }
    }
}
