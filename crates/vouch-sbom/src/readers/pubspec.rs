//! Dart/Flutter `pubspec.lock`: `packages` with `dependency` (direct main / direct dev /
//! transitive), `source` (hosted, git, path, sdk) and, for hosted packages, the archive's
//! `sha256`. SDK and path packages are not components.

use vouch_core::InputError;

use super::Parsed;
use crate::model::{Component, Ecosystem, Hash, HashAlg, Scope};
use crate::purl::Purl;
use crate::readers::pnpm::yaml_err;

/// Reads a pubspec.lock.
pub fn read(path: &str, text: &str) -> Result<Parsed, InputError> {
    vouch_core::yaml::check(text).map_err(|e| e.or_file(path))?;
    let root = marked_yaml::parse_yaml(0, text).map_err(|e| yaml_err(path, &e))?;
    let Some(packages) = root.as_mapping().and_then(|m| m.get_mapping("packages")) else {
        return Err(InputError::at(path, 1, None, "no `packages` mapping")
            .with_hint("regenerate with `dart pub get`"));
    };
    let mut out = Parsed::default();
    for (name, node) in packages.iter() {
        let Some(entry) = node.as_mapping() else {
            continue;
        };
        let s = |k: &str| entry.get_scalar(k).map(|v| v.as_str().to_string());
        let source = s("source").unwrap_or_default();
        if source == "sdk" || source == "path" {
            continue;
        }
        let Some(version) = s("version") else {
            let line = node.span().start().map(|m| m.line()).unwrap_or(1);
            return Err(InputError::at(
                path,
                u32::try_from(line).unwrap_or(u32::MAX),
                None,
                format!("package `{}` has no version", name.as_str()),
            ));
        };
        let mut c = Component::new(
            Ecosystem::Pub,
            name.as_str(),
            &version,
            Purl::new("pub", None, name.as_str(), Some(&version)).to_string(),
        );
        let dependency = s("dependency").unwrap_or_default();
        if dependency == "direct dev" {
            c.scope = Scope::Dev;
        }
        if dependency.starts_with("direct") {
            out.direct.push(c.purl.clone());
        }
        if let Some(desc) = entry.get_mapping("description") {
            if let Some(h) = desc
                .get_scalar("sha256")
                .and_then(|h| Hash::hex(HashAlg::Sha256, h.as_str()))
            {
                c.hashes.push(h);
            }
            if source == "git" {
                c.download_location = desc
                    .get_scalar("url")
                    .map(|u| format!("git+{}", u.as_str()));
            }
        }
        c.sources.push(path.to_string());
        out.components.push(c);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads() {
        let t = "packages:\n  args:\n    dependency: transitive\n    description:\n      name: args\n      sha256: \"7cf60b9f0cc88203c5a190b4cd62a99feea42759a7fa695010eb5de1c0b2252a\"\n      url: \"https://pub.dev\"\n    source: hosted\n    version: \"2.4.2\"\n  test:\n    dependency: \"direct dev\"\n    description:\n      name: test\n      url: \"https://pub.dev\"\n    source: hosted\n    version: \"1.24.0\"\n  flutter:\n    dependency: \"direct main\"\n    description: flutter\n    source: sdk\n    version: \"0.0.0\"\nsdks:\n  dart: \">=3.0.0 <4.0.0\"\n";
        let p = read("pubspec.lock", t).unwrap();
        assert_eq!(p.components.len(), 2);
        assert_eq!(p.components[0].hashes.len(), 1);
        assert_eq!(p.components[1].scope, Scope::Dev);
        assert!(read("p", "packages:\n  a: {source: hosted}\n").is_err());
    }

    proptest::proptest! {
        #[test]
        fn never_panics(s in "\\PC{0,300}") { super::super::testutil::no_panic(read, &s); }
    }
}
