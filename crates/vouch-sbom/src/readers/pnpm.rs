//! pnpm `pnpm-lock.yaml`, lockfile versions 5.x, 6, 7, 8 and 9.
//!
//! Package keys are `/name/version` (v5), `/name@version(peers)` (v6) or `name@version` with
//! the graph under `snapshots` (v9). Direct dependencies come from `importers` (or the
//! top-level `dependencies` of single-project lockfiles). v5–v8 mark `dev`/`optional` per
//! package; v9 does not, so the scope is derived from reachability: what only development
//! dependencies reach is `dev`.

use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};

use marked_yaml::{Node, types::MarkedMappingNode};
use vouch_core::InputError;

use super::Parsed;
use crate::model::{Component, Ecosystem, Hash, Scope};
use crate::readers::npm::npm_purl;

pub(crate) fn yaml_err(path: &str, e: &marked_yaml::LoadError) -> InputError {
    use marked_yaml::LoadError::*;
    let m = match e {
        TopLevelMustBeMapping(m)
        | TopLevelMustBeSequence(m)
        | UnexpectedAnchor(m)
        | MappingKeyMustBeScalar(m)
        | UnexpectedTag(m)
        | ScanError(m, _) => Some(*m),
        DuplicateKey(d) => d.key.span().start().copied(),
    };
    let msg = e.to_string();
    let msg = msg.split(" at ").next().unwrap_or(&msg).to_string();
    let (line, col) = m.map(|m| (m.line(), m.column())).unwrap_or((1, 1));
    InputError::at(
        path,
        u32::try_from(line).unwrap_or(u32::MAX).max(1),
        Some(u32::try_from(col).unwrap_or(u32::MAX).max(1)),
        format!("malformed YAML: {msg}"),
    )
    .with_hint("regenerate the lockfile with `pnpm install`")
}

fn line_of(node: &Node) -> u32 {
    node.span()
        .start()
        .map(|m| u32::try_from(m.line()).unwrap_or(u32::MAX))
        .unwrap_or(1)
}

/// Strips peer suffixes: `1.2.3(react@18.0.0)` and v5's `1.2.3_react@18.0.0`.
fn clean_version(v: &str) -> &str {
    let v = v.split('(').next().unwrap_or(v);
    v.split('_').next().unwrap_or(v)
}

/// (name, version) of a package key. `v5` selects the lockfile 5.x key syntax
/// (`/name/version_peer@x+…`, where package names may contain `_` but versions cannot);
/// later versions write `/name@version(peer@x)` (v6) or `name@version(peer@x)` (v9).
fn parse_key(key: &str, v5: bool) -> Option<(String, String)> {
    let k = key.trim_start_matches('/');
    if v5 {
        let segments = usize::from(k.starts_with('@')) + 1;
        let mut cut = 0usize;
        for _ in 0..segments {
            cut += k[cut..].find('/')? + 1;
        }
        let (n, v) = (&k[..cut - 1], &k[cut..]);
        let v = clean_version(v);
        return (!n.is_empty() && !v.is_empty() && !v.contains('/'))
            .then(|| (n.to_string(), v.to_string()));
    }
    let k = k.split('(').next().unwrap_or(k);
    let start = usize::from(k.starts_with('@'));
    if let Some(at) = k[start..].find('@').map(|i| i + start) {
        let (n, v) = (&k[..at], &k[at + 1..]);
        if !n.is_empty() && !v.is_empty() {
            return Some((n.to_string(), clean_version(v).to_string()));
        }
    }
    // A v5-style key in a later lockfile (hand-edited or converted): /name/version.
    let (n, v) = k.rsplit_once('/')?;
    (!n.is_empty() && !v.is_empty()).then(|| (n.to_string(), clean_version(v).to_string()))
}

/// A dependency reference (`1.2.3(peer)`, `1.2.3_peer` (v5), `link:../x`, `/other/1.0.0`,
/// `name@1.0.0` alias).
fn dep_purl(name: &str, value: &str, v5: bool) -> Option<String> {
    if value.starts_with("link:") || value.starts_with("file:") {
        return None;
    }
    let base = value.split('(').next().unwrap_or(value);
    let base = if v5 {
        base.split('_').next().unwrap_or(base)
    } else {
        base
    };
    if base.starts_with('/') || base.get(1..).is_some_and(|r| r.contains('@')) {
        let (n, v) = parse_key(value, v5 && base.starts_with('/'))?;
        return Some(npm_purl(&n, &v));
    }
    Some(npm_purl(name, clean_version(value)))
}

fn str_map(node: Option<&MarkedMappingNode>) -> Vec<(String, String)> {
    let Some(m) = node else { return Vec::new() };
    m.iter()
        .filter_map(|(k, v)| {
            let value = match v {
                Node::Scalar(s) => s.as_str().to_string(),
                Node::Mapping(m) => m.get_scalar("version")?.as_str().to_string(),
                Node::Sequence(_) => return None,
            };
            Some((k.as_str().to_string(), value))
        })
        .collect()
}

/// Reads a pnpm-lock.yaml.
pub fn read(path: &str, text: &str) -> Result<Parsed, InputError> {
    vouch_core::yaml::check(text).map_err(|e| e.or_file(path))?;
    let root = marked_yaml::parse_yaml(0, text).map_err(|e| yaml_err(path, &e))?;
    let Some(doc) = root.as_mapping() else {
        return Err(InputError::at(path, 1, None, "not a YAML mapping")
            .with_hint("regenerate the lockfile with `pnpm install`"));
    };
    if doc.get_node("lockfileVersion").is_none() {
        return Err(InputError::at(path, 1, None, "no `lockfileVersion`")
            .with_hint("this does not look like a pnpm lockfile"));
    }
    let v5 = doc
        .get_scalar("lockfileVersion")
        .map(|s| s.as_str().trim_matches(['\'', '"']))
        .and_then(|v| v.split('.').next()?.parse::<u32>().ok())
        .is_some_and(|major| major < 6);
    let packages = doc.get_mapping("packages");
    let snapshots = doc.get_mapping("snapshots");
    let mut out = Parsed::default();
    // Direct dependencies, split by kind, from importers or the top level.
    let mut prod_direct = Vec::new();
    let mut dev_direct = Vec::new();
    let mut importer_maps: Vec<&MarkedMappingNode> = Vec::new();
    if let Some(importers) = doc.get_mapping("importers") {
        importer_maps.extend(importers.values().filter_map(Node::as_mapping));
    } else {
        importer_maps.push(doc);
    }
    for imp in importer_maps {
        for kind in ["dependencies", "optionalDependencies", "devDependencies"] {
            for (n, v) in str_map(imp.get_mapping(kind)) {
                if let Some(p) = dep_purl(&n, &v, v5) {
                    if kind == "devDependencies" {
                        dev_direct.push(p);
                    } else {
                        prod_direct.push(p);
                    }
                }
            }
        }
    }

    let mut comps: BTreeMap<String, Component> = BTreeMap::new();
    let mut has_dev_flags = false;
    if let Some(pkgs) = packages {
        for (key, node) in pkgs.iter() {
            let Some(entry) = node.as_mapping() else {
                return Err(InputError::at(
                    path,
                    line_of(node),
                    None,
                    "package entry is not a mapping",
                ));
            };
            // `file:` directory packages are first-party code inside the repository, like
            // workspace packages: the project, not a component.
            if key.as_str().starts_with("file:")
                && entry
                    .get_mapping("resolution")
                    .is_some_and(|r| r.get_node("directory").is_some())
            {
                continue;
            }
            let from_key = parse_key(key.as_str(), v5);
            let field = |f: &str| entry.get_scalar(f).map(|s| s.as_str().to_string());
            let name = field("name").or_else(|| from_key.as_ref().map(|k| k.0.clone()));
            let version = field("version").or_else(|| from_key.as_ref().map(|k| k.1.clone()));
            let (Some(name), Some(version)) = (name, version) else {
                let line = key.span().start().map(|m| m.line()).unwrap_or(1);
                return Err(InputError::at(
                    path,
                    u32::try_from(line).unwrap_or(u32::MAX),
                    None,
                    format!("package key `{}` has no version", key.as_str()),
                )
                .with_hint("regenerate the lockfile with `pnpm install`"));
            };
            let purl = npm_purl(&name, &version);
            let mut scope = Scope::Required;
            if let Some(dev) = entry.get_scalar("dev").and_then(|s| s.as_bool()) {
                has_dev_flags = true;
                if dev {
                    scope = Scope::Dev;
                }
            }
            if entry.get_scalar("optional").and_then(|s| s.as_bool()) == Some(true)
                && scope == Scope::Required
            {
                scope = Scope::Optional;
            }
            // One package installed with several peer sets: the strongest need wins.
            let c = match comps.entry(purl.clone()) {
                std::collections::btree_map::Entry::Occupied(o) => {
                    let c = o.into_mut();
                    c.scope = c.scope.merge(scope);
                    c
                }
                std::collections::btree_map::Entry::Vacant(v) => {
                    let mut c = Component::new(Ecosystem::Npm, &name, &version, purl);
                    c.scope = scope;
                    v.insert(c)
                }
            };
            if let Some(integrity) = entry
                .get_mapping("resolution")
                .and_then(|r| r.get_scalar("integrity"))
                && let Some(h) = Hash::sri(integrity.as_str())
            {
                c.hashes = vec![h];
            }
            for kind in ["dependencies", "optionalDependencies"] {
                for (n, v) in str_map(entry.get_mapping(kind)) {
                    c.dependencies.extend(dep_purl(&n, &v, v5));
                }
            }
            c.sources = vec![path.to_string()];
        }
    }
    if let Some(snaps) = snapshots {
        for (key, node) in snaps.iter() {
            let Some((name, version)) = parse_key(key.as_str(), false) else {
                continue;
            };
            let purl = npm_purl(&name, &version);
            let Some(c) = comps.get_mut(&purl) else {
                continue;
            };
            if let Some(entry) = node.as_mapping() {
                for kind in ["dependencies", "optionalDependencies"] {
                    for (n, v) in str_map(entry.get_mapping(kind)) {
                        c.dependencies.extend(dep_purl(&n, &v, v5));
                    }
                }
                if entry.get_scalar("optional").and_then(|s| s.as_bool()) == Some(true) {
                    c.scope = Scope::Optional;
                }
            }
        }
    }
    if !has_dev_flags && !dev_direct.is_empty() {
        // Reachability: what production roots reach stays required.
        let graph: HashMap<&str, &Vec<String>> = comps
            .iter()
            .map(|(k, c)| (k.as_str(), &c.dependencies))
            .collect();
        let mut seen: BTreeSet<String> = BTreeSet::new();
        let mut queue: VecDeque<String> = prod_direct.iter().cloned().collect();
        while let Some(p) = queue.pop_front() {
            if !seen.insert(p.clone()) {
                continue;
            }
            if let Some(deps) = graph.get(p.as_str()) {
                queue.extend(deps.iter().cloned());
            }
        }
        for (k, c) in comps.iter_mut() {
            if !seen.contains(k) {
                c.scope = Scope::Dev;
            }
        }
    }
    out.direct = prod_direct.into_iter().chain(dev_direct).collect();
    out.components = comps.into_values().collect();
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    const V9: &str = "lockfileVersion: '9.0'

importers:
  .:
    dependencies:
      a:
        specifier: ^1.0.0
        version: 1.0.0
    devDependencies:
      '@s/t':
        specifier: ^2.0.0
        version: 2.0.0(a@1.0.0)

packages:
  a@1.0.0:
    resolution: {integrity: sha512-z4PhNX7vuL3xVChQ1m2AB9Yg5AULVxXcg/SpIdNs6c5H0NE8XYXysP+DGNKHfuwvY7kxvUdBeoGlODJ6+SfaPg==}
  '@s/t@2.0.0':
    resolution: {integrity: sha512-z4PhNX7vuL3xVChQ1m2AB9Yg5AULVxXcg/SpIdNs6c5H0NE8XYXysP+DGNKHfuwvY7kxvUdBeoGlODJ6+SfaPg==}

snapshots:
  a@1.0.0: {}
  '@s/t@2.0.0(a@1.0.0)':
    dependencies:
      a: 1.0.0
";

    const V6: &str = "lockfileVersion: '6.0'

dependencies:
  a:
    specifier: ^1.0.0
    version: 1.0.0

packages:
  /a@1.0.0:
    resolution: {integrity: sha512-z4PhNX7vuL3xVChQ1m2AB9Yg5AULVxXcg/SpIdNs6c5H0NE8XYXysP+DGNKHfuwvY7kxvUdBeoGlODJ6+SfaPg==}
    dependencies:
      b: 2.0.0
    dev: false
  /b@2.0.0:
    resolution: {integrity: sha512-z4PhNX7vuL3xVChQ1m2AB9Yg5AULVxXcg/SpIdNs6c5H0NE8XYXysP+DGNKHfuwvY7kxvUdBeoGlODJ6+SfaPg==}
    dev: true
";

    #[test]
    fn v9() {
        let p = read("pnpm-lock.yaml", V9).unwrap();
        assert_eq!(p.components.len(), 2);
        let t = p.components.iter().find(|c| c.name == "@s/t").unwrap();
        assert_eq!(t.scope, Scope::Dev);
        assert_eq!(t.dependencies, vec!["pkg:npm/a@1.0.0".to_string()]);
        let a = p.components.iter().find(|c| c.name == "a").unwrap();
        assert_eq!(a.scope, Scope::Required);
        assert_eq!(p.direct.len(), 2);
    }

    #[test]
    fn v6() {
        let p = read("pnpm-lock.yaml", V6).unwrap();
        assert_eq!(p.components.len(), 2);
        assert_eq!(
            p.components[0].dependencies,
            vec!["pkg:npm/b@2.0.0".to_string()]
        );
        assert_eq!(p.components[1].scope, Scope::Dev);
    }

    const V5: &str = "lockfileVersion: 5.4

importers:
  .:
    specifiers:
      '@babel/plugin-x': ^7.12.0
      string_decoder: ^1.3.0
      local-pkg: file:./pkg
    dependencies:
      '@babel/plugin-x': 7.12.13_@babel+core@7.20.12
      string_decoder: 1.3.0
      local-pkg: file:packages/pkg

packages:
  /@babel/plugin-x/7.12.13_@babel+core@7.20.12:
    resolution: {integrity: sha512-z4PhNX7vuL3xVChQ1m2AB9Yg5AULVxXcg/SpIdNs6c5H0NE8XYXysP+DGNKHfuwvY7kxvUdBeoGlODJ6+SfaPg==}
    dependencies:
      '@babel/core': 7.20.12
    dev: false
  /@babel/plugin-x/7.12.13_@babel+core@7.21.0:
    resolution: {integrity: sha512-z4PhNX7vuL3xVChQ1m2AB9Yg5AULVxXcg/SpIdNs6c5H0NE8XYXysP+DGNKHfuwvY7kxvUdBeoGlODJ6+SfaPg==}
    dev: true
  /@babel/core/7.20.12:
    resolution: {integrity: sha512-z4PhNX7vuL3xVChQ1m2AB9Yg5AULVxXcg/SpIdNs6c5H0NE8XYXysP+DGNKHfuwvY7kxvUdBeoGlODJ6+SfaPg==}
    dev: false
  /string_decoder/1.3.0:
    resolution: {integrity: sha512-z4PhNX7vuL3xVChQ1m2AB9Yg5AULVxXcg/SpIdNs6c5H0NE8XYXysP+DGNKHfuwvY7kxvUdBeoGlODJ6+SfaPg==}
    dev: false
  /lodash._reinterpolate/3.0.0_react@18.2.0:
    resolution: {integrity: sha512-z4PhNX7vuL3xVChQ1m2AB9Yg5AULVxXcg/SpIdNs6c5H0NE8XYXysP+DGNKHfuwvY7kxvUdBeoGlODJ6+SfaPg==}
    dev: true
  file:packages/pkg:
    resolution: {directory: packages/pkg, type: directory}
    name: local-pkg
    dev: false
";

    #[test]
    fn v5_keys_with_peer_suffixes_and_underscored_names() {
        let p = read("pnpm-lock.yaml", V5).unwrap();
        let got: Vec<(&str, Scope)> = p
            .components
            .iter()
            .map(|c| (c.purl.as_str(), c.scope))
            .collect();
        assert_eq!(
            got,
            vec![
                ("pkg:npm/%40babel/core@7.20.12", Scope::Required),
                ("pkg:npm/%40babel/plugin-x@7.12.13", Scope::Required),
                ("pkg:npm/lodash._reinterpolate@3.0.0", Scope::Dev),
                ("pkg:npm/string_decoder@1.3.0", Scope::Required),
            ]
        );
        assert_eq!(
            p.components[1].dependencies,
            vec!["pkg:npm/%40babel/core@7.20.12".to_string()]
        );
        let mut direct = p.direct.clone();
        direct.sort();
        assert_eq!(
            direct,
            vec![
                "pkg:npm/%40babel/plugin-x@7.12.13".to_string(),
                "pkg:npm/string_decoder@1.3.0".to_string()
            ]
        );
    }

    #[test]
    fn v6_peer_variants_are_one_component() {
        let t = "lockfileVersion: '6.0'\n\npackages:\n  /react-dom@18.2.0(react@18.2.0):\n    resolution: {integrity: sha512-z4PhNX7vuL3xVChQ1m2AB9Yg5AULVxXcg/SpIdNs6c5H0NE8XYXysP+DGNKHfuwvY7kxvUdBeoGlODJ6+SfaPg==}\n    dev: true\n  /react-dom@18.2.0(react@18.3.0):\n    resolution: {integrity: sha512-z4PhNX7vuL3xVChQ1m2AB9Yg5AULVxXcg/SpIdNs6c5H0NE8XYXysP+DGNKHfuwvY7kxvUdBeoGlODJ6+SfaPg==}\n    dev: false\n  /@types/babel__core@7.20.5:\n    resolution: {integrity: sha512-z4PhNX7vuL3xVChQ1m2AB9Yg5AULVxXcg/SpIdNs6c5H0NE8XYXysP+DGNKHfuwvY7kxvUdBeoGlODJ6+SfaPg==}\n    dev: true\n";
        let p = read("pnpm-lock.yaml", t).unwrap();
        let got: Vec<(&str, Scope)> = p
            .components
            .iter()
            .map(|c| (c.purl.as_str(), c.scope))
            .collect();
        assert_eq!(
            got,
            vec![
                ("pkg:npm/%40types/babel__core@7.20.5", Scope::Dev),
                ("pkg:npm/react-dom@18.2.0", Scope::Required),
            ]
        );
    }

    #[test]
    fn malformed() {
        let e = read(
            "pnpm-lock.yaml",
            "lockfileVersion: '9.0'\npackages:\n  a@1: [\n",
        )
        .unwrap_err();
        assert!(e.line.is_some());
    }

    proptest::proptest! {
        #[test]
        fn never_panics(s in "\\PC{0,300}") { super::super::testutil::no_panic(read, &s); }
        #[test]
        fn truncation_never_panics(n in 0usize..900) {
            let cut = n.min(V9.len());
            let _ = read("pnpm-lock.yaml", &V9[..cut]);
        }
    }
}
