//! Elixir `mix.lock`: an Elixir map, one entry per line:
//! `"name": {:hex, :name, "version", "inner_hash", [:mix], [{:dep, "~> 1.0", [...]}, …], "hexpm", "outer_hash"}`.
//! The outer checksum is the SHA-256 of the package tarball. Git entries
//! (`{:git, "url", "ref", opts}`) use the ref as version.

use std::collections::HashMap;

use vouch_core::InputError;

use super::Parsed;
use crate::model::{Component, Ecosystem, Hash, HashAlg};
use crate::purl::Purl;

/// Quoted strings in order.
fn strings(s: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut rest = s;
    while let Some(start) = rest.find('"') {
        let after = &rest[start + 1..];
        let Some(end) = after.find('"') else { break };
        out.push(&after[..end]);
        rest = &after[end + 1..];
    }
    out
}

/// Reads a mix.lock.
pub fn read(path: &str, text: &str) -> Result<Parsed, InputError> {
    let trimmed = text.trim();
    if !trimmed.is_empty() && !trimmed.starts_with("%{") {
        return Err(
            InputError::at(path, 1, Some(1), "expected an Elixir map `%{`")
                .with_hint("regenerate with `mix deps.get`"),
        );
    }
    let mut comps: Vec<(Component, Vec<String>)> = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let l = line.trim();
        if !l.starts_with('"') {
            continue;
        }
        let line_no = u32::try_from(i + 1).unwrap_or(u32::MAX);
        let Some((_, tuple)) = l.split_once(": {") else {
            return Err(
                InputError::at(path, line_no, None, "expected `\"name\": {…}`")
                    .with_hint("regenerate with `mix deps.get`"),
            );
        };
        let bad = || {
            InputError::at(path, line_no, None, "malformed lock entry")
                .with_hint("regenerate with `mix deps.get`")
        };
        if let Some(rest) = tuple.strip_prefix(":hex, :") {
            let name = rest.split(',').next().unwrap_or("").trim();
            let strs = strings(rest);
            let version = strs.first().ok_or_else(bad)?;
            let mut c = Component::new(
                Ecosystem::Hex,
                name,
                version,
                Purl::new("hex", None, name, Some(version)).to_string(),
            );
            if let Some(h) = strs
                .last()
                .filter(|_| strs.len() >= 4)
                .and_then(|h| Hash::hex(HashAlg::Sha256, h))
            {
                c.hashes.push(h);
            }
            let deps = rest
                .split("{:")
                .skip(1)
                .filter_map(|d| d.split(',').next())
                .map(|d| d.trim().to_string())
                .collect();
            c.sources.push(path.to_string());
            comps.push((c, deps));
        } else if let Some(rest) = tuple.strip_prefix(":git, ") {
            let strs = strings(rest);
            let (Some(url), Some(rev)) = (strs.first(), strs.get(1)) else {
                return Err(bad());
            };
            let name = l.trim_start_matches('"').split('"').next().unwrap_or("");
            let mut c = Component::new(
                Ecosystem::Hex,
                name,
                rev,
                Purl::new("hex", None, name, Some(rev)).to_string(),
            );
            c.download_location = Some(format!("git+{url}"));
            c.sources.push(path.to_string());
            comps.push((c, Vec::new()));
        }
    }
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
        out.components.push(c);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads() {
        let t = "%{\n  \"decimal\": {:hex, :decimal, \"2.1.1\", \"5611dca5d4b2c3dd497dec8f68751f1f1a54755e8ed2a966c2633cf885973ad6\", [:mix], [], \"hexpm\", \"53cfe5f497ed0e7771ae1a475575603d77425099ba5faef9394932b35020ffcc\"},\n  \"jason\": {:hex, :jason, \"1.4.1\", \"af1504e35f629ddcdd6addb3513c3853991f694921b1b9368b0bd32beb9f1b63\", [:mix], [{:decimal, \"~> 1.0 or ~> 2.0\", [hex: :decimal, repo: \"hexpm\", optional: true]}], \"hexpm\", \"fbb01ecdfd565b56261302f7e1fcc27c4fb8f32d56eab74db621fc154604a7a1\"},\n}\n";
        let p = read("mix.lock", t).unwrap();
        assert_eq!(p.components.len(), 2);
        assert_eq!(p.components[1].purl, "pkg:hex/jason@1.4.1");
        assert_eq!(
            p.components[1].dependencies,
            vec!["pkg:hex/decimal@2.1.1".to_string()]
        );
        assert_eq!(
            p.components[1].hashes[0].value,
            "fbb01ecdfd565b56261302f7e1fcc27c4fb8f32d56eab74db621fc154604a7a1"
        );
        assert!(read("m", "[1]").is_err());
    }

    proptest::proptest! {
        #[test]
        fn never_panics(s in "\\PC{0,300}") { super::super::testutil::no_panic(read, &s); }
        #[test]
        fn never_panics_lines(s in "%\\{\n(  \"[a-z]{1,4}\": \\{[:a-z, \"0-9\\[\\]{}]{0,40}\n){0,5}") { super::super::testutil::no_panic(read, &s); }
    }
}
