//! PHP Composer `composer.lock`: `packages` (required) and `packages-dev` (dev), each with
//! `require` edges (platform requirements `php`, `ext-*`, `lib-*` skipped), `license` (an array
//! meaning "any of") and `dist.shasum` (SHA-1, often empty).

use std::collections::HashMap;

use serde::Deserialize;
use serde_json::Value;
use vouch_core::InputError;

use super::{Parsed, json_err};
use crate::licence::canonical;
use crate::model::{Component, Ecosystem, Hash, HashAlg, Scope};
use crate::purl::{Purl, split_last};

#[derive(Deserialize)]
struct Lock {
    #[serde(default)]
    packages: Vec<Package>,
    #[serde(default, rename = "packages-dev")]
    packages_dev: Vec<Package>,
}

#[derive(Deserialize)]
struct Package {
    name: String,
    version: String,
    #[serde(default)]
    require: HashMap<String, Value>,
    #[serde(default)]
    license: Vec<String>,
    dist: Option<Dist>,
}

#[derive(Deserialize)]
struct Dist {
    shasum: Option<String>,
}

fn composer_purl(name: &str, version: &str) -> String {
    let (ns, n) = split_last(name);
    Purl::new("composer", ns, n, Some(version)).to_string()
}

/// Reads a composer.lock.
pub fn read(path: &str, text: &str) -> Result<Parsed, InputError> {
    let lock: Lock = serde_json::from_str(text).map_err(|e| json_err(path, &e))?;
    let by_name: HashMap<String, String> = lock
        .packages
        .iter()
        .chain(&lock.packages_dev)
        .map(|p| (p.name.to_lowercase(), composer_purl(&p.name, &p.version)))
        .collect();
    let mut out = Parsed::default();
    for (list, scope) in [
        (&lock.packages, Scope::Required),
        (&lock.packages_dev, Scope::Dev),
    ] {
        for p in list {
            let mut c = Component::new(
                Ecosystem::Composer,
                &p.name.to_lowercase(),
                &p.version,
                composer_purl(&p.name, &p.version),
            );
            c.scope = scope;
            if !p.license.is_empty() {
                c.licenses.push(canonical(&p.license.join(" OR ")));
            }
            if let Some(h) = p
                .dist
                .as_ref()
                .and_then(|d| d.shasum.as_deref())
                .and_then(|s| Hash::hex(HashAlg::Sha1, s))
            {
                c.hashes.push(h);
            }
            c.dependencies = p
                .require
                .keys()
                .filter_map(|k| by_name.get(&k.to_lowercase()).cloned())
                .collect();
            c.sources.push(path.to_string());
            out.components.push(c);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads() {
        let t = r#"{"packages":[{"name":"monolog/monolog","version":"3.5.0","license":["MIT"],"require":{"php":">=8.1","psr/log":"^2.0"},"dist":{"shasum":""}},{"name":"psr/log","version":"3.0.0","license":["MIT"]}],"packages-dev":[{"name":"phpunit/phpunit","version":"10.5.0","license":["BSD-3-Clause"]}]}"#;
        let p = read("composer.lock", t).unwrap();
        assert_eq!(p.components.len(), 3);
        assert_eq!(p.components[0].purl, "pkg:composer/monolog/monolog@3.5.0");
        assert_eq!(
            p.components[0].dependencies,
            vec!["pkg:composer/psr/log@3.0.0".to_string()]
        );
        assert_eq!(p.components[2].scope, Scope::Dev);
        assert!(read("composer.lock", &t[..50]).unwrap_err().line.is_some());
    }

    proptest::proptest! {
        #[test]
        fn never_panics(s in "\\PC{0,300}") { super::super::testutil::no_panic(read, &s); }
    }
}
