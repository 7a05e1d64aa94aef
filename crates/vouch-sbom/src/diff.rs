//! What changed between two inventories (from any mix of lockfiles, CycloneDX and SPDX).
//!
//! Packages are matched by ecosystem and name (the purl without version and qualifiers), so a
//! CycloneDX document can be diffed against an SPDX one. When a package has one version on
//! each side that differ, it is an upgrade or downgrade; other version-set changes are listed
//! as additions and removals. Version order is a generic dotted/numeric comparison (numeric
//! runs compared as numbers), adequate for semver, PEP 440 release segments and Debian
//! versions without epochs; it is used only to label the change.

use std::cmp::Ordering;
use std::fmt::Write;
use std::path::Path;

use serde::Serialize;
use vouch_core::InputError;

pub use crate::diff_rows::{Row, Rows};
use crate::model::Inventory;

/// One package-level change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Change {
    pub name: String,
    pub ecosystem: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub old_version: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub new_version: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub old_licenses: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub new_licenses: Vec<String>,
    pub purl: String,
}

/// The difference between two inventories.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Diff {
    pub old_components: usize,
    pub new_components: usize,
    pub added: Vec<Change>,
    pub removed: Vec<Change>,
    pub upgraded: Vec<Change>,
    pub downgraded: Vec<Change>,
    pub license_changed: Vec<Change>,
}

impl Diff {
    /// No change at all.
    pub fn is_empty(&self) -> bool {
        self.added.is_empty()
            && self.removed.is_empty()
            && self.upgraded.is_empty()
            && self.downgraded.is_empty()
            && self.license_changed.is_empty()
    }
}

/// Compares versions: numeric runs as numbers, other runs as text.
pub fn compare_versions(a: &str, b: &str) -> Ordering {
    fn parts(s: &str) -> Vec<(bool, &str)> {
        let s = s.trim_start_matches('v');
        let mut out = Vec::new();
        let mut run: Option<(usize, bool)> = None;
        for (i, ch) in s.char_indices() {
            let kind = if ch.is_ascii_digit() {
                Some(true)
            } else if ch.is_ascii_alphabetic() {
                Some(false)
            } else {
                None
            };
            match run {
                Some((_, k)) if kind == Some(k) => {}
                Some((st, k)) => {
                    out.push((k, &s[st..i]));
                    run = kind.map(|k2| (i, k2));
                }
                None => run = kind.map(|k2| (i, k2)),
            }
        }
        if let Some((st, k)) = run {
            out.push((k, &s[st..]));
        }
        out
    }
    let (pa, pb) = (parts(a), parts(b));
    for (x, y) in pa.iter().zip(pb.iter()) {
        let o = match (x.0, y.0) {
            (true, true) => {
                let (xs, ys) = (x.1.trim_start_matches('0'), y.1.trim_start_matches('0'));
                xs.len().cmp(&ys.len()).then_with(|| xs.cmp(ys))
            }
            (true, false) => Ordering::Greater,
            (false, true) => Ordering::Less,
            (false, false) => x.1.cmp(y.1),
        };
        if o != Ordering::Equal {
            return o;
        }
    }
    // 1.0.0 < 1.0.0.1, but 1.0.0-rc1 < 1.0.0
    match (pa.len().cmp(&pb.len()), pa.len() > pb.len()) {
        (Ordering::Equal, _) => Ordering::Equal,
        (_, true) => {
            if pa[pb.len()].0 {
                Ordering::Greater
            } else {
                Ordering::Less
            }
        }
        (_, false) => {
            if pb[pa.len()].0 {
                Ordering::Less
            } else {
                Ordering::Greater
            }
        }
    }
}

fn change(c_old: Option<&Row>, c_new: Option<&Row>) -> Change {
    let any = c_new.or(c_old);
    Change {
        name: any.map(|c| c.name.to_string()).unwrap_or_default(),
        ecosystem: any.map(|c| c.ty.to_string()).unwrap_or_default(),
        old_version: c_old.map(|c| c.version.to_string()),
        new_version: c_new.map(|c| c.version.to_string()),
        old_licenses: c_old.map(|c| c.licenses.to_vec()).unwrap_or_default(),
        new_licenses: c_new.map(|c| c.licenses.to_vec()).unwrap_or_default(),
        purl: any.map(|c| c.purl.to_string()).unwrap_or_default(),
    }
}

/// Computes the difference from `old` to `new`.
pub fn diff(old: &Inventory, new: &Inventory) -> Diff {
    diff_rows(&Rows::from_inventory(old), &Rows::from_inventory(new))
}

/// Computes the difference between two paths (SBOM documents, lockfiles, directories, images,
/// in any mix); CycloneDX files are streamed (see [`crate::diff_rows`]).
pub fn diff_paths(old: &Path, new: &Path) -> Result<Diff, InputError> {
    let old = Rows::read(old)?;
    let new = Rows::read(new)?;
    Ok(diff_rows(&old, &new))
}

/// One package (ecosystem and name) of a sorted row list: its rows, one per version (when two
/// components share a version, the last by purl stands for it).
fn groups(rows: &[Row]) -> impl Iterator<Item = Vec<&Row>> {
    rows.chunk_by(|a, b| a.ty == b.ty && a.name == b.name)
        .map(|g| {
            g.chunk_by(|a, b| a.version == b.version)
                .filter_map(<[Row]>::last)
                .collect()
        })
}

/// The difference between two sorted row lists, walking both in key order.
pub fn diff_rows(old: &Rows, new: &Rows) -> Diff {
    let mut d = Diff {
        old_components: old.components,
        new_components: new.components,
        ..Diff::default()
    };
    let key = |g: &[&Row]| g.first().map(|r| (r.ty.clone(), r.name.clone()));
    let (mut go, mut gn) = (groups(&old.rows).peekable(), groups(&new.rows).peekable());
    loop {
        let (o, n): (Vec<&Row>, Vec<&Row>) = match (go.peek(), gn.peek()) {
            (None, None) => break,
            (Some(_), None) => (go.next().unwrap_or_default(), Vec::new()),
            (None, Some(_)) => (Vec::new(), gn.next().unwrap_or_default()),
            (Some(a), Some(b)) => match key(a).cmp(&key(b)) {
                Ordering::Less => (go.next().unwrap_or_default(), Vec::new()),
                Ordering::Greater => (Vec::new(), gn.next().unwrap_or_default()),
                Ordering::Equal => (go.next().unwrap_or_default(), gn.next().unwrap_or_default()),
            },
        };
        diff_package(&o, &n, &mut d);
    }
    d
}

/// One package's versions on each side (sorted by version, one row each).
fn diff_package(o: &[&Row], n: &[&Row], d: &mut Diff) {
    let find = |side: &[&Row], v: &str| -> Option<usize> {
        side.binary_search_by(|r| (*r.version).cmp(v)).ok()
    };
    let gone: Vec<&Row> = o
        .iter()
        .filter(|r| find(n, &r.version).is_none())
        .copied()
        .collect();
    let came: Vec<&Row> = n
        .iter()
        .filter(|r| find(o, &r.version).is_none())
        .copied()
        .collect();
    for c_new in n {
        if let Some(i) = find(o, &c_new.version)
            && o[i].licenses != c_new.licenses
        {
            d.license_changed.push(change(Some(o[i]), Some(c_new)));
        }
    }
    if let ([was], [now]) = (gone.as_slice(), came.as_slice()) {
        let ch = change(Some(was), Some(now));
        if compare_versions(&was.version, &now.version) == Ordering::Greater {
            d.downgraded.push(ch.clone());
        } else {
            d.upgraded.push(ch.clone());
        }
        if was.licenses != now.licenses {
            d.license_changed.push(ch);
        }
        return;
    }
    d.removed.extend(gone.iter().map(|c| change(Some(c), None)));
    d.added.extend(came.iter().map(|c| change(None, Some(c))));
}

/// Rows per section in Markdown; GitHub comments are limited to 65,536 characters.
const MAX_ROWS: usize = 250;

fn lic(l: &[String]) -> String {
    if l.is_empty() {
        "—".into()
    } else {
        l.join(", ").replace('|', "\\|")
    }
}

fn cell(s: &str) -> String {
    s.replace('|', "\\|").replace('\n', " ")
}

/// A pull-request comment: counts first, then one collapsible section per kind of change.
pub fn to_markdown(d: &Diff) -> String {
    let mut m = String::new();
    m.push_str("### SBOM changes\n\n");
    if d.is_empty() {
        let _ = writeln!(m, "No component changes ({} components).", d.new_components);
        return m;
    }
    let _ = writeln!(
        m,
        "**{} added · {} removed · {} upgraded · {} downgraded · {} licence changes** ({} → {} components)\n",
        d.added.len(),
        d.removed.len(),
        d.upgraded.len(),
        d.downgraded.len(),
        d.license_changed.len(),
        d.old_components,
        d.new_components
    );
    let section = |m: &mut String, title: &str, rows: &[Change], kind: u8| {
        if rows.is_empty() {
            return;
        }
        let open = if rows.len() <= 20 { " open" } else { "" };
        let _ = writeln!(
            m,
            "<details{open}><summary>{title} ({})</summary>\n",
            rows.len()
        );
        match kind {
            0 => m.push_str("| Package | Ecosystem | Version | Licence |\n|---|---|---|---|\n"),
            1 => m.push_str("| Package | Ecosystem | From | To |\n|---|---|---|---|\n"),
            _ => m.push_str("| Package | Version | From | To |\n|---|---|---|---|\n"),
        }
        for c in rows.iter().take(MAX_ROWS) {
            let _ = match kind {
                0 => writeln!(
                    m,
                    "| `{}` | {} | {} | {} |",
                    cell(&c.name),
                    c.ecosystem,
                    cell(
                        c.new_version
                            .as_deref()
                            .or(c.old_version.as_deref())
                            .unwrap_or("")
                    ),
                    lic(if c.new_version.is_some() {
                        &c.new_licenses
                    } else {
                        &c.old_licenses
                    })
                ),
                1 => writeln!(
                    m,
                    "| `{}` | {} | {} | {} |",
                    cell(&c.name),
                    c.ecosystem,
                    cell(c.old_version.as_deref().unwrap_or("")),
                    cell(c.new_version.as_deref().unwrap_or(""))
                ),
                _ => writeln!(
                    m,
                    "| `{}` | {} | {} | {} |",
                    cell(&c.name),
                    cell(c.new_version.as_deref().unwrap_or("")),
                    lic(&c.old_licenses),
                    lic(&c.new_licenses)
                ),
            };
        }
        if rows.len() > MAX_ROWS {
            let _ = writeln!(
                m,
                "\n… and {} more (run `vouch sbom diff --format json` for all).",
                rows.len() - MAX_ROWS
            );
        }
        m.push_str("\n</details>\n\n");
    };
    section(&mut m, "Licence changes", &d.license_changed, 2);
    section(&mut m, "Added", &d.added, 0);
    section(&mut m, "Removed", &d.removed, 0);
    section(&mut m, "Upgraded", &d.upgraded, 1);
    section(&mut m, "Downgraded", &d.downgraded, 1);
    m
}

/// JSON (pretty, trailing newline).
pub fn to_json(d: &Diff) -> Vec<u8> {
    let mut v = serde_json::to_vec_pretty(d).unwrap_or_default();
    v.push(b'\n');
    v
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Component, Ecosystem, Subject};

    fn c(name: &str, v: &str, lic: &[&str]) -> Component {
        let mut c = Component::new(
            Ecosystem::Npm,
            name,
            v,
            crate::readers::npm::npm_purl(name, v),
        );
        c.licenses = lic.iter().map(|s| s.to_string()).collect();
        c
    }

    #[test]
    fn versions() {
        assert_eq!(compare_versions("1.10.0", "1.9.0"), Ordering::Greater);
        assert_eq!(compare_versions("v1.2.3", "1.2.3"), Ordering::Equal);
        assert_eq!(compare_versions("1.0.0-rc1", "1.0.0"), Ordering::Less);
        assert_eq!(compare_versions("1.0.0.1", "1.0.0"), Ordering::Greater);
    }

    #[test]
    fn kinds() {
        let old = Inventory::from_components(
            Subject::default(),
            vec![
                c("a", "1.0.0", &["MIT"]),
                c("b", "2.0.0", &[]),
                c("d", "1.0.0", &["MIT"]),
                c("e", "3.0.0", &[]),
            ],
        );
        let new = Inventory::from_components(
            Subject::default(),
            vec![
                c("a", "1.1.0", &["MIT"]),
                c("c", "1.0.0", &[]),
                c("d", "1.0.0", &["GPL-3.0-only"]),
                c("e", "2.0.0", &[]),
            ],
        );
        let d = diff(&old, &new);
        assert_eq!(d.added.len(), 1);
        assert_eq!(d.removed.len(), 1);
        assert_eq!(d.upgraded.len(), 1);
        assert_eq!(d.downgraded.len(), 1);
        assert_eq!(d.license_changed.len(), 1);
        insta::assert_snapshot!(to_markdown(&d));
    }

    #[test]
    fn thousand_changes_stay_readable() {
        let old: Vec<Component> = (0..1000)
            .map(|i| c(&format!("pkg-{i}"), "1.0.0", &["MIT"]))
            .collect();
        let new: Vec<Component> = (0..1000)
            .map(|i| {
                c(
                    &format!("pkg-{i}"),
                    if i % 2 == 0 { "1.1.0" } else { "0.9.0" },
                    &["MIT"],
                )
            })
            .chain((0..500).map(|i| c(&format!("new-{i}"), "1.0.0", &["Apache-2.0"])))
            .collect();
        let d = diff(
            &Inventory::from_components(Subject::default(), old),
            &Inventory::from_components(Subject::default(), new),
        );
        let md = to_markdown(&d);
        assert!(md.len() < 65_536, "{} characters", md.len());
        let first = md.lines().nth(2).unwrap();
        assert_eq!(
            first,
            "**500 added · 0 removed · 500 upgraded · 500 downgraded · 0 licence changes** (1000 → 1500 components)"
        );
        assert!(md.contains("<details><summary>Upgraded (500)</summary>"));
        assert!(md.contains("… and 250 more"));
    }

    proptest::proptest! {
        #[test]
        fn compare_never_panics(a in "\\PC{0,20}", b in "\\PC{0,20}") { let _ = compare_versions(&a, &b); }
    }
}
