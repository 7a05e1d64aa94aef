//! Python TOML lockfiles: `poetry.lock`, `uv.lock` and `pdm.lock`.
//!
//! All three list `[[package]]` tables with `name` and `version`. Edges come from
//! `[package.dependencies]` (Poetry: a table of name → constraint), `dependencies` arrays of
//! `{ name = … }` tables (uv) or of requirement strings (PDM). Poetry's `category = "dev"` /
//! `groups` give the scope. uv's project entries (`source = { editable | virtual = … }`) are
//! the project itself, whose dependencies are the direct ones. Wheel and sdist hashes are
//! per-file, not per-package, so they are not reported as component hashes.

use std::collections::HashMap;

use toml::Value;
use vouch_core::InputError;

use super::{Parsed, shape_err, toml_err};
use crate::model::{Component, Ecosystem, Scope, Subject};
use crate::purl::Purl;

/// PEP 503 normalised name.
pub(crate) fn normalise_name(n: &str) -> String {
    let mut out = String::with_capacity(n.len());
    let mut prev_sep = false;
    for ch in n.trim().chars() {
        if matches!(ch, '-' | '_' | '.') {
            if !prev_sep {
                out.push('-');
            }
            prev_sep = true;
        } else {
            out.push(ch.to_ascii_lowercase());
            prev_sep = false;
        }
    }
    out
}

pub(crate) fn pypi_purl(name: &str, version: &str) -> String {
    Purl::new("pypi", None, &normalise_name(name), Some(version)).to_string()
}

/// The distribution name at the start of a requirement string (`requests[socks]>=2; …`).
pub(crate) fn requirement_name(req: &str) -> &str {
    let end = req
        .find(|c: char| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')))
        .unwrap_or(req.len());
    &req[..end]
}

fn dep_names(pkg: &toml::Table) -> Vec<String> {
    let mut out = Vec::new();
    for key in ["dependencies", "optional-dependencies"] {
        match pkg.get(key) {
            Some(Value::Table(t)) if key == "dependencies" => {
                out.extend(t.keys().map(|k| normalise_name(k)));
            }
            Some(Value::Table(t)) => {
                // uv optional-dependencies: extra -> [{name}]
                for v in t.values() {
                    if let Value::Array(a) = v {
                        out.extend(array_names(a));
                    }
                }
            }
            Some(Value::Array(a)) => out.extend(array_names(a)),
            _ => {}
        }
    }
    out
}

fn array_names(a: &[Value]) -> Vec<String> {
    a.iter()
        .filter_map(|d| match d {
            // uv pins forked resolutions: `{ name = "click", version = "8.1.8", marker = … }`.
            Value::Table(t) => t.get("name").and_then(Value::as_str).map(|n| {
                match t.get("version").and_then(Value::as_str) {
                    Some(v) => format!("{}=={v}", normalise_name(n)),
                    None => normalise_name(n),
                }
            }),
            Value::String(s) => Some(normalise_name(requirement_name(s))),
            _ => None,
        })
        .collect()
}

/// Reads poetry.lock / uv.lock / pdm.lock.
pub fn read(path: &str, text: &str) -> Result<Parsed, InputError> {
    let doc: toml::Table = toml::from_str(text).map_err(|e| toml_err(path, text, &e))?;
    let packages = match doc.get("package") {
        Some(Value::Array(a)) => a.as_slice(),
        Some(_) => {
            return Err(shape_err(
                path,
                super::line_of(text, "package"),
                "`package` is not an array of tables",
            ));
        }
        None => &[],
    };
    let mut by_name: HashMap<String, String> = HashMap::new();
    let mut project: Vec<&toml::Table> = Vec::new();
    for (i, p) in packages.iter().enumerate() {
        let Some(t) = p.as_table() else {
            return Err(shape_err(
                path,
                1,
                format!("package #{} is not a table", i + 1),
            ));
        };
        let (Some(name), Some(version)) = (
            t.get("name").and_then(Value::as_str),
            t.get("version").and_then(Value::as_str),
        ) else {
            let line = super::line_of(
                text,
                &format!(
                    "name = {:?}",
                    t.get("name").and_then(Value::as_str).unwrap_or("")
                ),
            );
            if t.get("name").is_some() && is_project(t) {
                project.push(t);
                continue;
            }
            return Err(shape_err(
                path,
                line,
                format!("package #{} lacks `name` or `version`", i + 1),
            ));
        };
        if is_project(t) {
            project.push(t);
            continue;
        }
        by_name
            .entry(normalise_name(name))
            .or_insert_with(|| pypi_purl(name, version));
        by_name.insert(
            format!("{}=={version}", normalise_name(name)),
            pypi_purl(name, version),
        );
    }
    let mut out = Parsed::default();
    for t in packages.iter().filter_map(Value::as_table) {
        if is_project(t) {
            continue;
        }
        let (Some(name), Some(version)) = (
            t.get("name").and_then(Value::as_str),
            t.get("version").and_then(Value::as_str),
        ) else {
            continue;
        };
        let mut c = Component::new(
            Ecosystem::PyPI,
            &normalise_name(name),
            version,
            pypi_purl(name, version),
        );
        let category = t.get("category").and_then(Value::as_str);
        let groups: Vec<&str> = t
            .get("groups")
            .and_then(Value::as_array)
            .map(|a| a.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        if category == Some("dev")
            || (!groups.is_empty() && !groups.contains(&"main") && !groups.contains(&"default"))
        {
            c.scope = Scope::Dev;
        } else if t.get("optional").and_then(Value::as_bool) == Some(true) {
            c.scope = Scope::Optional;
        }
        if let Some(src) = t.get("source").and_then(Value::as_table) {
            if let (Some("git"), Some(url)) = (
                src.get("type").and_then(Value::as_str),
                src.get("url").and_then(Value::as_str),
            ) {
                c.download_location = Some(format!("git+{url}"));
            } else if let Some(git) = src.get("git").and_then(Value::as_str) {
                c.download_location = Some(format!("git+{git}"));
            }
        }
        c.dependencies = dep_names(t)
            .iter()
            .filter_map(|n| by_name.get(n).cloned())
            .collect();
        c.sources.push(path.to_string());
        out.components.push(c);
    }
    for p in project {
        if out.subject.is_none() {
            out.subject = p.get("name").and_then(Value::as_str).map(|n| Subject {
                name: n.to_string(),
                version: p.get("version").and_then(Value::as_str).map(str::to_string),
            });
        }
        let mut names = dep_names(p);
        if let Some(Value::Table(groups)) = p.get("dev-dependencies") {
            for v in groups.values() {
                if let Value::Array(a) = v {
                    names.extend(array_names(a));
                }
            }
        }
        out.direct
            .extend(names.iter().filter_map(|n| by_name.get(n).cloned()));
    }
    Ok(out)
}

fn is_project(t: &toml::Table) -> bool {
    t.get("source")
        .and_then(Value::as_table)
        .is_some_and(|s| s.contains_key("editable") || s.contains_key("virtual"))
}

#[cfg(test)]
mod tests {
    use super::*;

    const POETRY: &str = r#"[[package]]
name = "Requests"
version = "2.31.0"
description = "x"
optional = false
python-versions = ">=3.7"
files = [{file = "requests-2.31.0.tar.gz", hash = "sha256:942c5a758f98d790eaed1a29cb6eefc7ffb0d1cf7af05c3d2791656dbd6ad1e1"}]

[package.dependencies]
certifi = ">=2017.4.17"

[[package]]
name = "certifi"
version = "2024.2.2"
description = "x"
optional = false
python-versions = ">=3.6"

[[package]]
name = "pytest"
version = "8.0.0"
description = "x"
optional = false
python-versions = ">=3.8"
groups = ["dev"]

[metadata]
lock-version = "2.0"
"#;

    const UV: &str = r#"version = 1
requires-python = ">=3.12"

[[package]]
name = "app"
version = "0.1.0"
source = { virtual = "." }
dependencies = [{ name = "idna" }]

[package.dev-dependencies]
dev = [{ name = "ruff" }]

[[package]]
name = "idna"
version = "3.7"
source = { registry = "https://pypi.org/simple" }

[[package]]
name = "ruff"
version = "0.4.0"
source = { registry = "https://pypi.org/simple" }
"#;

    #[test]
    fn poetry() {
        let p = read("poetry.lock", POETRY).unwrap();
        assert_eq!(p.components.len(), 3);
        let r = p.components.iter().find(|c| c.name == "requests").unwrap();
        assert_eq!(r.purl, "pkg:pypi/requests@2.31.0");
        assert_eq!(
            r.dependencies,
            vec!["pkg:pypi/certifi@2024.2.2".to_string()]
        );
        assert_eq!(
            p.components
                .iter()
                .find(|c| c.name == "pytest")
                .unwrap()
                .scope,
            Scope::Dev
        );
    }

    #[test]
    fn uv() {
        let p = read("uv.lock", UV).unwrap();
        assert_eq!(p.components.len(), 2);
        assert_eq!(p.direct.len(), 2);
        assert_eq!(p.subject.unwrap().name, "app");
    }

    #[test]
    fn truncated() {
        assert!(
            read("poetry.lock", &POETRY[..40])
                .unwrap_err()
                .line
                .is_some()
        );
    }

    proptest::proptest! {
        #[test]
        fn never_panics(s in "\\PC{0,300}") { super::super::testutil::no_panic(read, &s); }
        #[test]
        fn truncation_never_panics(n in 0usize..700) {
            let cut = n.min(UV.len());
            let _ = read("uv.lock", &UV[..cut]);
        }
    }
}
