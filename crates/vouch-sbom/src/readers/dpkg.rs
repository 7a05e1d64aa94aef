//! OS package databases in RFC 822-style paragraphs: Debian's `var/lib/dpkg/status` and
//! Alpine's `lib/apk/db/installed` (one-letter keys). Only installed packages are reported;
//! `Depends`/`D:` give edges to other installed packages. The distribution namespace is
//! `debian` / `alpine` (the databases do not name the distribution release).

use std::collections::HashMap;

use vouch_core::InputError;

use super::Parsed;
use crate::licence::canonical;
use crate::model::{Component, Ecosystem};
use crate::purl::Purl;

/// One field: key, value, line.
type Field = (String, String, u32);

/// Splits text into paragraphs of (key, value, line) with continuation lines joined.
fn paragraphs(path: &str, text: &str, sep: char) -> Result<Vec<Vec<Field>>, InputError> {
    let mut out = Vec::new();
    let mut cur: Vec<Field> = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let line_no = u32::try_from(i + 1).unwrap_or(u32::MAX);
        if line.trim().is_empty() {
            if !cur.is_empty() {
                out.push(std::mem::take(&mut cur));
            }
            continue;
        }
        if line.starts_with([' ', '\t']) {
            if let Some(last) = cur.last_mut() {
                last.1.push('\n');
                last.1.push_str(line.trim());
                continue;
            }
            return Err(InputError::at(
                path,
                line_no,
                None,
                "continuation line before any field",
            ));
        }
        let Some((k, v)) = line.split_once(sep) else {
            return Err(InputError::at(
                path,
                line_no,
                Some(1),
                format!("expected `Key{sep} value`, found `{line}`"),
            )
            .with_hint("the package database looks damaged or truncated"));
        };
        cur.push((k.to_string(), v.trim().to_string(), line_no));
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    Ok(out)
}

fn dep_names(s: &str) -> Vec<String> {
    s.split([',', '|'])
        .filter_map(|d| d.split_whitespace().next())
        .map(|d| d.split(':').next().unwrap_or(d).to_string())
        .collect()
}

/// Reads a dpkg status file.
pub fn read(path: &str, text: &str) -> Result<Parsed, InputError> {
    let mut comps: Vec<(Component, Vec<String>)> = Vec::new();
    for para in paragraphs(path, text, ':')? {
        let get = |k: &str| {
            para.iter()
                .find(|(key, _, _)| key == k)
                .map(|(_, v, _)| v.as_str())
        };
        if !get("Status").is_some_and(|s| s.ends_with(" installed")) {
            continue;
        }
        let (Some(name), Some(version)) = (get("Package"), get("Version")) else {
            let line = para.first().map(|p| p.2).unwrap_or(1);
            return Err(InputError::at(
                path,
                line,
                None,
                "installed package without Package or Version",
            ));
        };
        let mut p = Purl::new("deb", Some("debian"), name, Some(version));
        if let Some(a) = get("Architecture") {
            p = p.qualifier("arch", a);
        }
        let mut c = Component::new(Ecosystem::Deb, name, version, p.to_string());
        c.sources.push(path.to_string());
        let mut deps = Vec::new();
        for k in ["Depends", "Pre-Depends"] {
            deps.extend(get(k).map(dep_names).unwrap_or_default());
        }
        comps.push((c, deps));
    }
    Ok(finish(comps))
}

/// Reads an Alpine apk `installed` database.
pub fn read_apk(path: &str, text: &str) -> Result<Parsed, InputError> {
    let mut comps: Vec<(Component, Vec<String>)> = Vec::new();
    for para in paragraphs(path, text, ':')? {
        let get = |k: &str| {
            para.iter()
                .find(|(key, _, _)| key == k)
                .map(|(_, v, _)| v.as_str())
        };
        let (Some(name), Some(version)) = (get("P"), get("V")) else {
            let line = para.first().map(|p| p.2).unwrap_or(1);
            return Err(InputError::at(path, line, None, "package without P: or V:"));
        };
        let mut p = Purl::new("apk", Some("alpine"), name, Some(version));
        if let Some(a) = get("A") {
            p = p.qualifier("arch", a);
        }
        let mut c = Component::new(Ecosystem::Apk, name, version, p.to_string());
        if let Some(l) = get("L").filter(|l| !l.is_empty()) {
            c.licenses.push(canonical(l));
        }
        c.sources.push(path.to_string());
        let deps = get("D")
            .map(|d| {
                d.split_whitespace()
                    .filter(|x| !x.starts_with('!'))
                    .map(|x| {
                        x.split(['=', '<', '>', '~'])
                            .next()
                            .unwrap_or(x)
                            .to_string()
                    })
                    .collect()
            })
            .unwrap_or_default();
        comps.push((c, deps));
    }
    Ok(finish(comps))
}

fn finish(comps: Vec<(Component, Vec<String>)>) -> Parsed {
    let by_name: HashMap<String, String> = comps
        .iter()
        .map(|(c, _)| (c.name.clone(), c.purl.clone()))
        .collect();
    let mut out = Parsed::default();
    for (mut c, deps) in comps {
        c.dependencies = deps
            .iter()
            .filter_map(|d| by_name.get(d).cloned())
            .collect();
        out.direct.push(c.purl.clone());
        out.components.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dpkg() {
        let t = "Package: libc6\nStatus: install ok installed\nArchitecture: amd64\nVersion: 2.36-9\nDescription: x\n more\n\nPackage: curl\nStatus: install ok installed\nArchitecture: amd64\nVersion: 7.88.1-10\nDepends: libc6 (>= 2.34), libcurl4 (= 7.88.1-10)\n\nPackage: gone\nStatus: deinstall ok config-files\nVersion: 1\n";
        let p = read("var/lib/dpkg/status", t).unwrap();
        assert_eq!(p.components.len(), 2);
        assert_eq!(
            p.components[1].purl,
            "pkg:deb/debian/curl@7.88.1-10?arch=amd64"
        );
        assert_eq!(p.components[1].dependencies.len(), 1);
        assert_eq!(read("s", "Package x\n").unwrap_err().line, Some(1));
    }

    #[test]
    fn apk() {
        let t = "C:Q1abc=\nP:musl\nV:1.2.4-r2\nA:x86_64\nL:MIT\n\nP:busybox\nV:1.36.1-r15\nA:x86_64\nL:GPL-2.0-only\nD:so:libc.musl-x86_64.so.1 musl\n";
        let p = read_apk("lib/apk/db/installed", t).unwrap();
        assert_eq!(p.components.len(), 2);
        assert_eq!(p.components[0].licenses, vec!["MIT".to_string()]);
        assert_eq!(p.components[1].dependencies.len(), 1);
    }

    proptest::proptest! {
        #[test]
        fn never_panics(s in "\\PC{0,300}") {
            super::super::testutil::no_panic(read, &s);
            super::super::testutil::no_panic(read_apk, &s);
        }
    }
}
