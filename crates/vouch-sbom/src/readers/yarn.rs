//! Yarn `yarn.lock`, both the v1 format and Berry (v2+, YAML).
//!
//! One indentation-based parser reads both: an entry is a line at column 1 listing the
//! descriptors it satisfies (`"a@^1, a@^1.2"` / `"a@npm:^1"`), followed by indented fields
//! (`version "1.2.3"` in v1, `version: 1.2.3` in Berry) and `dependencies` blocks. Dependencies
//! are resolved by descriptor. Workspace entries (`@workspace:`) are the project itself.
//! v1 `integrity` is an SRI hash; Berry's `checksum` is a hash of Yarn's cache zip, not of the
//! published tarball, so it is not reported.

use std::collections::HashMap;

use vouch_core::InputError;

use super::{Parsed, err_at};
use crate::model::{Component, Ecosystem, Hash, Scope};
use crate::readers::npm::npm_purl;

#[derive(Default, Debug)]
struct Entry {
    descriptors: Vec<String>,
    version: Option<String>,
    resolution: Option<String>,
    integrity: Option<String>,
    resolved: Option<String>,
    deps: Vec<(String, String)>,
    optional_deps: Vec<(String, String)>,
    line: usize,
}

fn unquote(s: &str) -> &str {
    let s = s.trim();
    s.strip_prefix('"')
        .and_then(|x| x.strip_suffix('"'))
        .unwrap_or(s)
}

/// `a@^1` → (`a`, `^1`); `@s/a@npm:^1` → (`@s/a`, `npm:^1`).
fn split_descriptor(d: &str) -> Option<(&str, &str)> {
    let start = usize::from(d.starts_with('@'));
    let at = d[start..].find('@')? + start;
    Some((&d[..at], &d[at + 1..]))
}

/// Splits `key value` (v1) or `key: value` (Berry).
fn key_value(line: &str) -> (&str, &str) {
    let line = line.trim();
    if let Some(rest) = line.strip_prefix('"')
        && let Some(end) = rest.find('"')
    {
        let key = &rest[..end];
        let value = rest[end + 1..].trim_start_matches(':').trim();
        return (key, unquote(value));
    }
    match line.find([' ', ':']) {
        Some(i) => (
            &line[..i],
            unquote(line[i + 1..].trim_start_matches(':').trim()),
        ),
        None => (line, ""),
    }
}

/// Reads a yarn.lock.
pub fn read(path: &str, text: &str) -> Result<Parsed, InputError> {
    read_with_manifest(path, text, None)
}

/// Reads a yarn.lock with the `package.json` beside it, whose `dependencies`,
/// `optionalDependencies` and `devDependencies` give the direct dependencies and, by
/// reachability, the dev scope (Yarn v1 lockfiles record neither).
pub fn read_with_manifest(
    path: &str,
    text: &str,
    manifest: Option<&serde_json::Value>,
) -> Result<Parsed, InputError> {
    let mut entries: Vec<Entry> = Vec::new();
    let mut block: Option<&'static str> = None;
    let mut offset = 0usize;
    for (idx, raw) in text.split('\n').enumerate() {
        let line_start = offset;
        offset += raw.len() + 1;
        let line = raw.trim_end_matches('\r');
        if line.trim().is_empty() || line.trim_start().starts_with('#') {
            continue;
        }
        let indent = line.len() - line.trim_start().len();
        if indent == 0 {
            block = None;
            let Some(head) = line.strip_suffix(':') else {
                return Err(err_at(
                    path,
                    text,
                    line_start,
                    "expected an entry header ending in `:`",
                )
                .with_hint("the lockfile looks truncated or hand-edited; run `yarn install`"));
            };
            if head == "__metadata" {
                entries.push(Entry {
                    line: idx + 1,
                    ..Entry::default()
                });
                continue;
            }
            let descriptors = head
                .split(',')
                .map(|d| unquote(d).to_string())
                .filter(|d| !d.is_empty())
                .collect();
            entries.push(Entry {
                descriptors,
                line: idx + 1,
                ..Entry::default()
            });
            continue;
        }
        let Some(entry) = entries.last_mut() else {
            return Err(err_at(
                path,
                text,
                line_start,
                "indented line before any entry",
            ));
        };
        if indent <= 2 {
            let (k, v) = key_value(line);
            block = None;
            match k {
                "version" => entry.version = Some(v.to_string()),
                "resolution" => entry.resolution = Some(v.to_string()),
                "integrity" => entry.integrity = Some(v.to_string()),
                "resolved" => entry.resolved = Some(v.to_string()),
                "dependencies" if v.is_empty() => block = Some("dependencies"),
                "optionalDependencies" if v.is_empty() => block = Some("optional"),
                _ => {}
            }
        } else if let Some(b) = block {
            let (k, v) = key_value(line);
            if k.is_empty() {
                return Err(err_at(path, text, line_start, "empty dependency name"));
            }
            let dep = (k.to_string(), v.to_string());
            if b == "optional" {
                entry.optional_deps.push(dep);
            } else {
                entry.deps.push(dep);
            }
        }
    }

    // descriptor -> purl
    let mut by_desc: HashMap<String, String> = HashMap::new();
    let mut comps: Vec<(usize, Component)> = Vec::new();
    for (i, e) in entries.iter().enumerate() {
        if e.descriptors.is_empty() {
            continue;
        }
        let Some(version) = &e.version else {
            let line = u32::try_from(e.line).unwrap_or(u32::MAX);
            return Err(
                vouch_core::InputError::at(path, line, None, "entry has no version")
                    .with_hint("the lockfile looks truncated or hand-edited; run `yarn install`"),
            );
        };
        let Some((name, _)) = split_descriptor(&e.descriptors[0]) else {
            continue;
        };
        let workspace = e.descriptors.iter().any(|d| d.contains("@workspace:"))
            || e.resolution
                .as_deref()
                .is_some_and(|r| r.contains("@workspace:"));
        let purl = npm_purl(name, version);
        for d in &e.descriptors {
            by_desc.insert(
                d.clone(),
                if workspace {
                    String::new()
                } else {
                    purl.clone()
                },
            );
        }
        if workspace {
            continue;
        }
        let mut c = Component::new(Ecosystem::Npm, name, version, purl);
        if let Some(h) = e.integrity.as_deref().and_then(Hash::sri) {
            c.hashes.push(h);
        }
        c.sources.push(path.to_string());
        comps.push((i, c));
    }
    let lookup = |name: &str, range: &str| -> Option<String> {
        [format!("{name}@{range}"), format!("{name}@npm:{range}")]
            .iter()
            .find_map(|k| by_desc.get(k))
            .filter(|p| !p.is_empty())
            .cloned()
    };
    let mut optional_targets = Vec::new();
    let mut out = Parsed::default();
    for (i, mut c) in comps {
        let e = &entries[i];
        c.dependencies = e
            .deps
            .iter()
            .chain(&e.optional_deps)
            .filter_map(|(n, r)| lookup(n, r))
            .collect();
        optional_targets.extend(e.optional_deps.iter().filter_map(|(n, r)| lookup(n, r)));
        out.components.push(c);
    }
    // Workspace entries' dependencies are direct (Berry lists them).
    for e in &entries {
        if e.descriptors.iter().any(|d| d.contains("@workspace:")) {
            out.direct
                .extend(e.deps.iter().filter_map(|(n, r)| lookup(n, r)));
        }
    }
    for c in &mut out.components {
        if optional_targets.contains(&c.purl) {
            c.scope = Scope::Optional;
        }
    }
    if let Some(m) = manifest {
        let deps = |k: &str| -> Vec<String> {
            m.get(k)
                .and_then(serde_json::Value::as_object)
                .map(|o| {
                    o.iter()
                        .filter_map(|(n, r)| r.as_str().and_then(|r| lookup(n, r)))
                        .collect()
                })
                .unwrap_or_default()
        };
        let prod: Vec<String> = deps("dependencies")
            .into_iter()
            .chain(deps("optionalDependencies"))
            .collect();
        let dev = deps("devDependencies");
        if out.direct.is_empty() {
            out.direct = prod.iter().chain(&dev).cloned().collect();
        }
        if !dev.is_empty() {
            super::dev_by_reachability(&mut out.components, &prod);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    const V1: &str = r#"# THIS IS AN AUTOGENERATED FILE. DO NOT EDIT THIS FILE DIRECTLY.
# yarn lockfile v1


"@babel/code-frame@^7.0.0", "@babel/code-frame@^7.10.4":
  version "7.12.13"
  resolved "https://registry.yarnpkg.com/@babel/code-frame/-/code-frame-7.12.13.tgz#dcfc826beef65e75c50e21d3837d7d95798dd658"
  integrity sha512-HV1Cm0Q3ZrpCR93tkWOYiuYIgLxZXZFVG2VgK+MBWjUqZTundupbfx2aXarXuw5Ko5aMcjtJgbSs4vUGBS5v6g==
  dependencies:
    "@babel/highlight" "^7.12.13"

"@babel/highlight@^7.12.13":
  version "7.13.10"
  resolved "https://registry.yarnpkg.com/@babel/highlight/-/highlight-7.13.10.tgz"
"#;

    const BERRY: &str = r#"__metadata:
  version: 6
  cacheKey: 8

"app@workspace:.":
  version: 0.0.0-use.local
  resolution: "app@workspace:."
  dependencies:
    lodash: ^4.17.21
  languageName: unknown
  linkType: soft

"lodash@npm:^4.17.21":
  version: 4.17.21
  resolution: "lodash@npm:4.17.21"
  checksum: eb835a2e51d381e561e508ce932ea50a8e5a68f4ebdd771ea240d3048244a8d13658acbd502cd4829768c56f2e16bdd4340b9ea141297d472517b83868e677f7
  languageName: node
  linkType: hard
"#;

    #[test]
    fn v1() {
        let p = read("yarn.lock", V1).unwrap();
        assert_eq!(p.components.len(), 2);
        let cf = &p.components[0];
        assert_eq!(cf.purl, "pkg:npm/%40babel/code-frame@7.12.13");
        assert_eq!(
            cf.dependencies,
            vec!["pkg:npm/%40babel/highlight@7.13.10".to_string()]
        );
        assert_eq!(cf.hashes.len(), 1);
    }

    #[test]
    fn berry() {
        let p = read("yarn.lock", BERRY).unwrap();
        assert_eq!(p.components.len(), 1);
        assert_eq!(p.components[0].purl, "pkg:npm/lodash@4.17.21");
        assert_eq!(p.direct, vec!["pkg:npm/lodash@4.17.21".to_string()]);
    }

    #[test]
    fn malformed() {
        let e = read("yarn.lock", "foo@1\n  version \"1\"\n").unwrap_err();
        assert_eq!(e.line, Some(1));
    }

    proptest::proptest! {
        #[test]
        fn never_panics(s in "\\PC{0,300}") { super::super::testutil::no_panic(read, &s); }
        #[test]
        fn never_panics_linewise(s in "([ \"a-z@^:,]{0,12}\n){0,20}") { super::super::testutil::no_panic(read, &s); }
    }
}
