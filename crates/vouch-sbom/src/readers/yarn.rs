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
    /// Berry `conditions:` (`os=darwin & cpu=arm64`): installed only on some platforms.
    conditions: bool,
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

/// The package an entry installs, and whether it is local (first-party) code rather than a
/// component: `(name, local)`.
///
/// Berry's `resolution` names the real package (`"string-width@npm:4.2.3"` for the alias
/// descriptor `string-width-cjs@npm:string-width@^4`; `typescript@patch:typescript@npm%3A…`
/// is the patched `typescript`); `workspace:`, `link:`, `portal:` and `file:` resolutions
/// and `0.0.0-use.local` versions are the project's own packages. v1 has no resolution: an
/// alias descriptor's range (`npm:string-width@^4`) names the real package.
fn package_of(e: &Entry) -> Option<(String, bool)> {
    const LOCAL: [&str; 4] = ["workspace:", "link:", "portal:", "file:"];
    let local_range = |range: &str| LOCAL.iter().any(|p| range.starts_with(p));
    if let Some(res) = e.resolution.as_deref() {
        let (name, range) = split_descriptor(res)?;
        let local = local_range(range) || e.version.as_deref() == Some("0.0.0-use.local");
        return Some((name.to_string(), local));
    }
    let (name, range) = split_descriptor(e.descriptors.first()?)?;
    let local = e
        .descriptors
        .iter()
        .any(|d| split_descriptor(d).is_some_and(|(_, r)| local_range(r)));
    if let Some(alias) = range.strip_prefix("npm:") {
        match split_descriptor(alias) {
            Some((real, _)) if !real.is_empty() => return Some((real.to_string(), local)),
            // `npm:@hot-loader/react-dom`: an alias without a range.
            None if alias.starts_with(|c: char| c == '@' || c.is_ascii_alphabetic()) => {
                return Some((alias.to_string(), local));
            }
            _ => {}
        }
    }
    Some((name.to_string(), local))
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
            // v1 quotes each descriptor (`"a@^1", "a@^1.2"`), Berry the whole list
            // (`"a@npm:^1, a@npm:^1.2"`); descriptors themselves never hold `,` or `"`.
            let descriptors = head
                .split(',')
                .map(|d| d.trim().trim_matches('"').trim().to_string())
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
                "conditions" => entry.conditions = !v.is_empty(),
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
        let Some((name, local)) = package_of(e) else {
            continue;
        };
        let purl = npm_purl(&name, version);
        for d in &e.descriptors {
            by_desc.insert(d.clone(), if local { String::new() } else { purl.clone() });
        }
        if local {
            continue;
        }
        let mut c = Component::new(Ecosystem::Npm, &name, version, purl);
        if e.conditions {
            c.scope = Scope::Optional;
        }
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
    let mut optional_targets: std::collections::HashSet<String> = Default::default();
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

    const BERRY_HARD: &str = r#"__metadata:
  version: 8
  cacheKey: 10

"@s/app@workspace:.":
  version: 0.0.0-use.local
  resolution: "@s/app@workspace:."
  dependencies:
    string-width-cjs: "npm:string-width@^4.2.0"
    typescript: "patch:typescript@npm%3A^5.4.5#optional!builtin<compat/typescript>"
    local-tool: "link:./tools/x"
  languageName: unknown
  linkType: soft

"local-tool@link:./tools/x::locator=%40s%2Fapp%40workspace%3A.":
  version: 0.0.0-use.local
  resolution: "local-tool@link:./tools/x::locator=%40s%2Fapp%40workspace%3A."
  languageName: node
  linkType: soft

"portal-pkg@portal:../p::locator=%40s%2Fapp%40workspace%3A.":
  version: 0.0.0-use.local
  resolution: "portal-pkg@portal:../p::locator=%40s%2Fapp%40workspace%3A."
  languageName: node
  linkType: soft

"string-width-cjs@npm:string-width@^4.2.0, string-width@npm:^4.1.0, string-width@npm:^4.2.0":
  version: 4.2.3
  resolution: "string-width@npm:4.2.3"
  checksum: 10/e52c10dc3fbfcd6c3a15f159f54a90024241d0f149cf8aed2982a2d801d2e64df0bf1dc351cf8e95c3319323f9f220c16e740b06faecd53e2462df1d2b5443fb
  languageName: node
  linkType: hard

"typescript@patch:typescript@npm%3A^5.4.5#optional!builtin<compat/typescript>":
  version: 5.4.5
  resolution: "typescript@patch:typescript@npm%3A5.4.5#optional!builtin<compat/typescript>::version=5.4.5&hash=5adc0c"
  languageName: node
  linkType: hard

"@esbuild/darwin-arm64@npm:0.21.5":
  version: 0.21.5
  resolution: "@esbuild/darwin-arm64@npm:0.21.5"
  conditions: os=darwin & cpu=arm64
  languageName: node
  linkType: hard
"#;

    #[test]
    fn berry_descriptors_protocols_and_conditions() {
        let p = read("yarn.lock", BERRY_HARD).unwrap();
        let purls: Vec<&str> = p.components.iter().map(|c| c.purl.as_str()).collect();
        assert_eq!(
            purls,
            vec![
                "pkg:npm/string-width@4.2.3",
                "pkg:npm/typescript@5.4.5",
                "pkg:npm/%40esbuild/darwin-arm64@0.21.5",
            ]
        );
        let esbuild = &p.components[2];
        assert_eq!(esbuild.scope, Scope::Optional);
        assert_eq!(p.components[0].scope, Scope::Required);
        // The workspace's dependencies, through the alias and the patch, are direct.
        let mut direct = p.direct.clone();
        direct.sort();
        assert_eq!(
            direct,
            vec![
                "pkg:npm/string-width@4.2.3".to_string(),
                "pkg:npm/typescript@5.4.5".to_string()
            ]
        );
    }

    #[test]
    fn v1_aliases_name_the_real_package() {
        let t = "\"react-dom@npm:@hot-loader/react-dom\":\n  version \"16.11.0\"\n\n\"wrap-ansi-cjs@npm:wrap-ansi@^7.0.0\", wrap-ansi@^7.0.0:\n  version \"7.0.0\"\n";
        let p = read("yarn.lock", t).unwrap();
        let purls: Vec<&str> = p.components.iter().map(|c| c.purl.as_str()).collect();
        assert_eq!(
            purls,
            vec![
                "pkg:npm/%40hot-loader/react-dom@16.11.0",
                "pkg:npm/wrap-ansi@7.0.0"
            ]
        );
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
