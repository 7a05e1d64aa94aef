//! Bundler `Gemfile.lock`: `GEM`, `GIT` and `PATH` sections list resolved specs at four
//! spaces (`name (version[-platform])`) and their dependencies at six; `DEPENDENCIES` lists the
//! direct ones; Bundler 2.5+ `CHECKSUMS` gives SHA-256 digests of the .gem files.

use std::collections::HashMap;

use vouch_core::InputError;

use super::Parsed;
use crate::model::{Component, Ecosystem, Hash, HashAlg, Subject};
use crate::purl::Purl;

/// `name (1.2.3-x86_64-linux)` → (name, version, platform).
fn parse_spec(s: &str) -> Option<(&str, &str, Option<&str>)> {
    let (name, rest) = s.trim().split_once(" (")?;
    let v = rest.strip_suffix(')')?;
    // Platform suffixes start at the first `-` followed by a letter (1.13.8-x86_64-linux).
    let split = v
        .char_indices()
        .find(|(i, c)| *c == '-' && v[i + 1..].starts_with(|c: char| c.is_ascii_alphabetic()))
        .map(|(i, _)| i);
    Some(match split {
        Some(i) => (name, &v[..i], Some(&v[i + 1..])),
        None => (name, v, None),
    })
}

fn gem_purl(name: &str, version: &str, platform: Option<&str>) -> String {
    let mut p = Purl::new("gem", None, name, Some(version));
    if let Some(pl) = platform {
        p = p.qualifier("platform", pl);
    }
    p.to_string()
}

/// Reads a Gemfile.lock.
pub fn read(path: &str, text: &str) -> Result<Parsed, InputError> {
    let mut section = "";
    let mut remote: Option<String> = None;
    let mut comps: Vec<(Component, Vec<String>)> = Vec::new();
    let mut direct_names: Vec<String> = Vec::new();
    let mut checksums: HashMap<String, String> = HashMap::new();
    let mut saw_section = false;
    let mut section_name = String::new();
    let mut comps_local = false;
    // A `PATH` source at `.` (or another relative path) is the project itself or a sibling.
    let mut local = false;
    let mut subject: Option<Subject> = None;
    for (i, raw) in text.lines().enumerate() {
        let line_no = u32::try_from(i + 1).unwrap_or(u32::MAX);
        let line = raw.trim_end();
        if line.is_empty() {
            continue;
        }
        let indent = line.len() - line.trim_start().len();
        if indent == 0 {
            section_name = line.to_string();
            section = match line {
                "GEM" | "GIT" | "PATH" | "PLUGIN SOURCE" => "specs",
                "DEPENDENCIES" => "deps",
                "CHECKSUMS" => "checksums",
                _ if line.chars().all(|c| c.is_ascii_uppercase() || c == ' ') => "other",
                _ => {
                    return Err(InputError::at(
                        path,
                        line_no,
                        Some(1),
                        format!("unexpected line `{line}`"),
                    )
                    .with_hint(
                        "sections are upper-case headers (GEM, DEPENDENCIES, …); run `bundle lock`",
                    ));
                }
            };
            saw_section = true;
            remote = None;
            local = false;
            continue;
        }
        if !saw_section {
            return Err(
                InputError::at(path, line_no, None, "content before the first section")
                    .with_hint("run `bundle lock`"),
            );
        }
        match (section, indent) {
            ("specs", 2) => {
                if let Some(r) = line.trim().strip_prefix("remote: ") {
                    local = section_name == "PATH";
                    remote = Some(r.to_string());
                }
            }
            ("specs", 4) => {
                let Some((name, version, platform)) = parse_spec(line) else {
                    return Err(InputError::at(
                        path,
                        line_no,
                        Some(5),
                        format!("cannot read spec `{}`", line.trim()),
                    )
                    .with_hint("expected `name (version)`"));
                };
                if local {
                    if subject.is_none() {
                        subject = Some(Subject {
                            name: name.to_string(),
                            version: Some(version.to_string()),
                        });
                    }
                    comps_local = true;
                    continue;
                }
                comps_local = false;
                let mut c = Component::new(
                    Ecosystem::RubyGems,
                    name,
                    version,
                    gem_purl(name, version, platform),
                );
                if let Some(r) = &remote
                    && !r.starts_with("https://rubygems.org")
                {
                    c.download_location = Some(r.clone());
                }
                c.sources.push(path.to_string());
                comps.push((c, Vec::new()));
            }
            ("specs", 6) if comps_local => {
                direct_names.push(line.trim().split(' ').next().unwrap_or("").to_string());
            }
            ("specs", 6) => {
                let name = line.trim().split(' ').next().unwrap_or("");
                if let Some((_, deps)) = comps.last_mut() {
                    deps.push(name.to_string());
                }
            }
            ("deps", 2) => {
                let name = line.trim().split([' ', '!']).next().unwrap_or("");
                direct_names.push(name.to_string());
            }
            ("checksums", 2) => {
                let t = line.trim();
                if let Some((spec, sums)) = t.rsplit_once(") ")
                    && let Some(sha) = sums.split(',').find_map(|s| s.strip_prefix("sha256="))
                {
                    checksums.insert(format!("{spec})"), sha.to_string());
                }
            }
            _ => {}
        }
    }
    let by_name: HashMap<String, String> = comps
        .iter()
        .map(|(c, _)| (c.name.clone(), c.purl.clone()))
        .collect();
    let mut out = Parsed {
        subject,
        ..Parsed::default()
    };
    for (mut c, deps) in comps {
        let key = format!(
            "{} ({}{})",
            c.name,
            c.version,
            Purl::parse(&c.purl)
                .and_then(|p| p.qualifiers.get("platform").map(|pl| format!("-{pl}")))
                .unwrap_or_default()
        );
        if let Some(h) = checksums
            .get(&key)
            .and_then(|s| Hash::hex(HashAlg::Sha256, s))
        {
            c.hashes.push(h);
        }
        c.dependencies = deps
            .iter()
            .filter_map(|d| by_name.get(d).cloned())
            .collect();
        out.components.push(c);
    }
    out.direct = direct_names
        .iter()
        .filter_map(|d| by_name.get(d).cloned())
        .collect();
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    const LOCK: &str = "GEM\n  remote: https://rubygems.org/\n  specs:\n    mini_portile2 (2.8.5)\n    nokogiri (1.16.0-x86_64-linux)\n      racc (~> 1.4)\n    racc (1.7.3)\n\nPLATFORMS\n  x86_64-linux\n\nDEPENDENCIES\n  nokogiri\n\nCHECKSUMS\n  racc (1.7.3) sha256=b785ab8a30ec43bce073c51dbbe791fd27000f68d1c996c95da98bf685316905\n\nBUNDLED WITH\n   2.5.3\n";

    #[test]
    fn reads() {
        let p = read("Gemfile.lock", LOCK).unwrap();
        assert_eq!(p.components.len(), 3);
        let n = &p.components[1];
        assert_eq!(n.purl, "pkg:gem/nokogiri@1.16.0?platform=x86_64-linux");
        assert_eq!(n.dependencies, vec!["pkg:gem/racc@1.7.3".to_string()]);
        assert_eq!(p.components[2].hashes.len(), 1);
        assert_eq!(p.direct.len(), 1);
        assert_eq!(
            read("Gemfile.lock", "GEM\n  specs:\n    broken\n")
                .unwrap_err()
                .line,
            Some(3)
        );
    }

    proptest::proptest! {
        #[test]
        fn never_panics(s in "\\PC{0,300}") { super::super::testutil::no_panic(read, &s); }
        #[test]
        fn never_panics_linewise(s in "([ A-Z(a-z0-9.)-]{0,14}\n){0,20}") { super::super::testutil::no_panic(read, &s); }
    }
}
