//! npm `package-lock.json` / `npm-shrinkwrap.json`, lockfile versions 1, 2 and 3.
//!
//! v2/v3 list every installed path under `packages` (`node_modules/a/node_modules/b`); a
//! dependency is resolved the way Node does, from the dependent's own `node_modules` upwards.
//! v1 nests `dependencies` and names requirements in `requires`. Workspace packages (paths
//! outside `node_modules`, and `link` entries) are the project, not components. `dev`,
//! `optional` and `devOptional` give the scope; `integrity` the hash; `license` the licence.

use std::collections::{BTreeMap, HashMap};

use serde::Deserialize;
use serde::de::IgnoredAny;
use serde_json::Value;
use vouch_core::InputError;

use super::{Parsed, json_err, line_of, shape_err};
use crate::licence::canonical;
use crate::model::{Component, Ecosystem, Hash, Scope, Subject};
use crate::purl::{Purl, split_npm};

#[derive(Deserialize)]
struct Lock {
    name: Option<String>,
    version: Option<String>,
    #[serde(rename = "lockfileVersion")]
    lockfile_version: Option<u32>,
    /// In file order; a Vec rather than a map: a million entries stay compact.
    #[serde(default, deserialize_with = "pairs")]
    packages: Option<Vec<(String, Entry)>>,
    dependencies: Option<BTreeMap<String, V1Entry>>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct Entry {
    name: Option<String>,
    version: Option<String>,
    resolved: Option<String>,
    integrity: Option<String>,
    #[serde(default)]
    dev: bool,
    #[serde(default)]
    optional: bool,
    #[serde(default)]
    dev_optional: bool,
    #[serde(default)]
    link: bool,
    license: Option<Box<Value>>,
    // Only the names are used: the ranges are skipped without being stored.
    #[serde(default, deserialize_with = "keys")]
    dependencies: Vec<String>,
    #[serde(default, deserialize_with = "keys")]
    optional_dependencies: Vec<String>,
    #[serde(default, deserialize_with = "keys")]
    dev_dependencies: Vec<String>,
    #[serde(default, deserialize_with = "keys")]
    peer_dependencies: Vec<String>,
}

#[derive(Deserialize, Default)]
struct V1Entry {
    version: Option<String>,
    resolved: Option<String>,
    integrity: Option<String>,
    #[serde(default)]
    dev: bool,
    #[serde(default)]
    optional: bool,
    #[serde(default)]
    requires: BTreeMap<String, IgnoredAny>,
    #[serde(default)]
    dependencies: BTreeMap<String, V1Entry>,
}

/// A JSON object as (key, value) pairs in file order.
fn pairs<'de, D, V>(d: D) -> Result<Option<Vec<(String, V)>>, D::Error>
where
    D: serde::Deserializer<'de>,
    V: Deserialize<'de>,
{
    struct Pairs<V>(std::marker::PhantomData<V>);
    impl<'de, V: Deserialize<'de>> serde::de::Visitor<'de> for Pairs<V> {
        type Value = Vec<(String, V)>;
        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str("an object")
        }
        fn visit_map<A: serde::de::MapAccess<'de>>(
            self,
            mut m: A,
        ) -> Result<Self::Value, A::Error> {
            let mut out = Vec::with_capacity(m.size_hint().unwrap_or(0));
            while let Some(kv) = m.next_entry()? {
                out.push(kv);
            }
            Ok(out)
        }
    }
    d.deserialize_map(Pairs(std::marker::PhantomData)).map(Some)
}

/// The keys of a JSON object (dependency names; their ranges are skipped, not stored).
fn keys<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    Ok(pairs::<D, IgnoredAny>(d)?
        .unwrap_or_default()
        .into_iter()
        .map(|(k, _)| k)
        .collect())
}

pub(crate) fn npm_purl(name: &str, version: &str) -> String {
    let (ns, n) = split_npm(name);
    Purl::new("npm", ns, n, Some(version)).to_string()
}

fn licence_of(v: Option<&Value>) -> Option<String> {
    match v {
        Some(Value::String(s)) if !s.is_empty() => Some(canonical(s)),
        Some(Value::Object(o)) => o.get("type").and_then(Value::as_str).map(canonical),
        Some(Value::Array(a)) => {
            let parts: Vec<String> = a
                .iter()
                .filter_map(|x| x.as_str().or_else(|| x.get("type").and_then(Value::as_str)))
                .map(canonical)
                .collect();
            (!parts.is_empty()).then(|| canonical(&parts.join(" OR ")))
        }
        _ => None,
    }
}

fn scope_of(dev: bool, optional: bool, dev_optional: bool) -> Scope {
    if dev || dev_optional {
        Scope::Dev
    } else if optional {
        Scope::Optional
    } else {
        Scope::Required
    }
}

/// The name a `node_modules/...` path installs.
fn name_from_path(path: &str) -> Option<&str> {
    let i = path.rfind("node_modules/")?;
    Some(&path[i + "node_modules/".len()..])
}

/// Node's lookup: `from/node_modules/name`, then each parent's.
fn resolve<'a, K: std::borrow::Borrow<str> + std::hash::Hash + Eq>(
    from: &str,
    name: &str,
    installed: &'a HashMap<K, String>,
) -> Option<&'a String> {
    let mut base = from.to_string();
    loop {
        let candidate = if base.is_empty() {
            format!("node_modules/{name}")
        } else {
            format!("{base}/node_modules/{name}")
        };
        if let Some(p) = installed.get(candidate.as_str()) {
            return Some(p);
        }
        if base.is_empty() {
            return None;
        }
        // Drop the last `node_modules/<name>` (scoped names have two segments).
        match base.rfind("/node_modules/") {
            Some(i) => base.truncate(i),
            // `node_modules/<name>` or a workspace package: the root is next.
            None => base.clear(),
        }
    }
}

/// Reads a package-lock.json.
pub fn read(path: &str, text: &str) -> Result<Parsed, InputError> {
    let lock: Lock = serde_json::from_str(text).map_err(|e| json_err(path, &e))?;
    let mut out = Parsed {
        subject: lock.name.clone().map(|name| Subject {
            name,
            version: lock.version.clone(),
        }),
        ..Parsed::default()
    };
    if let Some(packages) = &lock.packages {
        read_v2(path, packages, &mut out);
    } else if let Some(deps) = &lock.dependencies {
        let mut installed = HashMap::new();
        collect_v1_paths("", deps, &mut installed);
        read_v1(path, "", Scope::Required, deps, &installed, &mut out);
        for name in deps.keys() {
            if let Some(p) = installed.get(&format!("node_modules/{name}")) {
                out.direct.push(p.clone());
            }
        }
    } else if lock.lockfile_version.is_none() {
        return Err(shape_err(
            path,
            line_of(text, "{"),
            "neither `packages` nor `dependencies` nor `lockfileVersion`: not a package-lock.json",
        ));
    }
    Ok(out)
}

fn read_v2(path: &str, packages: &[(String, Entry)], out: &mut Parsed) {
    let mut installed: HashMap<&str, String> = HashMap::with_capacity(packages.len());
    for (key, e) in packages {
        if e.link || !key.contains("node_modules/") {
            continue;
        }
        let Some(name) = e.name.as_deref().or_else(|| name_from_path(key)) else {
            continue;
        };
        let Some(version) = e.version.as_deref() else {
            continue;
        };
        installed.insert(key.as_str(), npm_purl(name, version));
    }
    for (key, e) in packages {
        let deps = e
            .dependencies
            .iter()
            .chain(&e.optional_dependencies)
            .chain(&e.peer_dependencies);
        let is_member = !key.contains("node_modules/");
        if is_member || e.link {
            if is_member {
                let all = deps.chain(&e.dev_dependencies);
                for d in all {
                    if let Some(p) = resolve(key, d, &installed) {
                        out.direct.push(p.clone());
                    }
                }
            }
            continue;
        }
        let Some(purl) = installed.get(key.as_str()) else {
            continue;
        };
        let name = e
            .name
            .as_deref()
            .or_else(|| name_from_path(key))
            .unwrap_or("");
        let version = e.version.as_deref().unwrap_or("");
        let mut c = Component::new(Ecosystem::Npm, name, version, purl.clone());
        c.scope = scope_of(e.dev, e.optional, e.dev_optional);
        if let Some(h) = e.integrity.as_deref().and_then(Hash::sri) {
            c.hashes.push(h);
        }
        if let Some(l) = licence_of(e.license.as_deref()) {
            c.licenses.push(l);
        }
        if let Some(r) = &e.resolved
            && !r.starts_with("https://registry.npmjs.org/")
            && !r.contains("/-/")
        {
            c.download_location = Some(r.clone());
        }
        c.dependencies = deps
            .filter_map(|d| resolve(key, d, &installed).cloned())
            .collect();
        c.sources.push(path.to_string());
        out.components.push(c);
    }
}

/// The real package of a v1 entry: an alias (`"zrender": {"version":
/// "npm:zrender-nightly@5.3.0"}`) installs `zrender-nightly` 5.3.0 under the name `zrender`.
fn v1_identity<'a>(name: &'a str, version: &'a str) -> (&'a str, &'a str) {
    if let Some(alias) = version.strip_prefix("npm:") {
        let start = usize::from(alias.starts_with('@'));
        if let Some(at) = alias[start..].find('@').map(|i| i + start)
            && at > 0
            && at + 1 < alias.len()
        {
            return (&alias[..at], &alias[at + 1..]);
        }
        // Never a range without a name: a v1 entry's version is exact.
    }
    (name, version)
}

fn collect_v1_paths(
    base: &str,
    deps: &BTreeMap<String, V1Entry>,
    installed: &mut HashMap<String, String>,
) {
    for (name, e) in deps {
        let key = if base.is_empty() {
            format!("node_modules/{name}")
        } else {
            format!("{base}/node_modules/{name}")
        };
        if let Some(v) = &e.version {
            let (real, v) = v1_identity(name, v);
            installed.insert(key.clone(), npm_purl(real, v));
        }
        collect_v1_paths(&key, &e.dependencies, installed);
    }
}

/// Nested entries inherit `dev`/`optional` from the entry they sit under (npm installs them
/// only for it).
fn read_v1(
    path: &str,
    base: &str,
    parent: Scope,
    deps: &BTreeMap<String, V1Entry>,
    installed: &HashMap<String, String>,
    out: &mut Parsed,
) {
    for (name, e) in deps {
        let key = if base.is_empty() {
            format!("node_modules/{name}")
        } else {
            format!("{base}/node_modules/{name}")
        };
        let scope = scope_of(e.dev, e.optional, false).max(parent);
        if let Some(purl) = installed.get(&key) {
            let (real, version) = v1_identity(name, e.version.as_deref().unwrap_or(""));
            let mut c = Component::new(Ecosystem::Npm, real, version, purl.clone());
            c.scope = scope_of(e.dev, e.optional, false).max(parent);
            if let Some(h) = e.integrity.as_deref().and_then(Hash::sri) {
                c.hashes.push(h);
            }
            if let Some(r) = &e.resolved
                && !r.contains("/-/")
            {
                c.download_location = Some(r.clone());
            }
            c.dependencies = e
                .requires
                .keys()
                .filter_map(|d| resolve(&key, d, installed).cloned())
                .collect();
            c.sources.push(path.to_string());
            out.components.push(c);
        }
        read_v1(path, &key, scope, &e.dependencies, installed, out);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const V3: &str = r#"{
  "name": "app", "version": "1.0.0", "lockfileVersion": 3,
  "packages": {
    "": { "name": "app", "dependencies": { "a": "^1" }, "devDependencies": { "@s/b": "^2" } },
    "node_modules/a": { "version": "1.0.0", "integrity": "sha512-z4PhNX7vuL3xVChQ1m2AB9Yg5AULVxXcg/SpIdNs6c5H0NE8XYXysP+DGNKHfuwvY7kxvUdBeoGlODJ6+SfaPg==", "license": "MIT", "dependencies": { "c": "1" } },
    "node_modules/a/node_modules/c": { "version": "2.0.0" },
    "node_modules/c": { "version": "1.0.0" },
    "node_modules/@s/b": { "version": "2.0.0", "dev": true, "dependencies": { "c": "1" } }
  }
}"#;

    #[test]
    fn v3() {
        let p = read("package-lock.json", V3).unwrap();
        assert_eq!(p.components.len(), 4);
        let a = p.components.iter().find(|c| c.name == "a").unwrap();
        assert_eq!(a.dependencies, vec!["pkg:npm/c@2.0.0".to_string()]);
        assert_eq!(a.licenses, vec!["MIT".to_string()]);
        assert_eq!(a.hashes.len(), 1);
        let b = p.components.iter().find(|c| c.name == "@s/b").unwrap();
        assert_eq!(b.purl, "pkg:npm/%40s/b@2.0.0");
        assert_eq!(b.scope, Scope::Dev);
        assert_eq!(b.dependencies, vec!["pkg:npm/c@1.0.0".to_string()]);
        assert_eq!(p.direct.len(), 2);
    }

    #[test]
    fn v1() {
        let t = r#"{"name":"x","lockfileVersion":1,"dependencies":{"a":{"version":"1.0.0","requires":{"b":"^1"},"dependencies":{"b":{"version":"1.1.0"}}},"b":{"version":"2.0.0","dev":true}}}"#;
        let p = read("package-lock.json", t).unwrap();
        assert_eq!(p.components.len(), 3);
        let a = p.components.iter().find(|c| c.name == "a").unwrap();
        assert_eq!(a.dependencies, vec!["pkg:npm/b@1.1.0".to_string()]);
    }

    #[test]
    fn v1_nested_and_aliases() {
        let t = r#"{"name":"x","lockfileVersion":1,"requires":true,"dependencies":{
            "zrender":{"version":"npm:zrender-nightly@5.3.0-dev.1","dev":true},
            "@s/a":{"version":"1.0.0","requires":{"b":"^1"},"dependencies":{
                "b":{"version":"1.1.0","optional":true,"dependencies":{"c":{"version":"3.0.0"}}}}},
            "b":{"version":"2.0.0"}}}"#;
        let p = read("package-lock.json", t).unwrap();
        let mut purls: Vec<(&str, Scope)> = p
            .components
            .iter()
            .map(|c| (c.purl.as_str(), c.scope))
            .collect();
        purls.sort();
        assert_eq!(
            purls,
            vec![
                ("pkg:npm/%40s/a@1.0.0", Scope::Required),
                ("pkg:npm/b@1.1.0", Scope::Optional),
                ("pkg:npm/b@2.0.0", Scope::Required),
                ("pkg:npm/c@3.0.0", Scope::Optional),
                ("pkg:npm/zrender-nightly@5.3.0-dev.1", Scope::Dev),
            ]
        );
        let z = p
            .components
            .iter()
            .find(|c| c.purl.contains("zrender"))
            .unwrap();
        assert_eq!(z.name, "zrender-nightly");
    }

    #[test]
    fn truncated() {
        let e = read("package-lock.json", &V3[..200]).unwrap_err();
        assert!(e.line.is_some());
    }

    proptest::proptest! {
        #[test]
        fn never_panics(s in "\\PC{0,300}") { super::super::testutil::no_panic(read, &s); }
        #[test]
        fn truncation_never_panics(n in 0usize..800) {
            let cut = n.min(V3.len());
            let _ = read("package-lock.json", &V3[..cut]);
        }
    }
}
