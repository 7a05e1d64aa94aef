//! Does an OSV record affect a package version? Exact OSV semantics:
//!
//! - `affected[].versions` lists match exactly (or by version equality, so `1.0` = `1.0.0`
//!   for PyPI);
//! - `SEMVER` and `ECOSYSTEM` ranges: events sorted by the ecosystem's ordering (with
//!   `introduced: "0"` first) and walked as in the schema's reference algorithm —
//!   `introduced` opens, `fixed` closes at the version, `last_affected` closes after it,
//!   `limit` caps the range;
//! - `GIT` ranges describe commits; a package version is never matched against them (the
//!   `versions` list OSV expands them into is used instead);
//! - `withdrawn` records never match.

use std::cmp::Ordering;

use serde::{Deserialize, Serialize};

use crate::osv::{Affected, Event, Range, Record};
use crate::version::{Ecosystem, Scheme, Version, VersionError};

/// One package to check: what the SBOM readers (and, later, vouch-sbom's lockfile readers)
/// hand to the matcher.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct PackageRef {
    /// OSV ecosystem name (`crates.io`, `PyPI`), or the purl type when vouch has no mapping.
    pub ecosystem: String,
    pub name: String,
    pub version: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub purl: Option<String>,
    /// The lockfile or SBOM the package was read from, relative to the scanned root.
    pub source: String,
    /// The line in `source` that names the package, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub line: Option<u32>,
}

fn scheme_for(range: &Range, eco: Ecosystem) -> Option<Scheme> {
    match range.kind.as_str() {
        "SEMVER" => Some(if eco.scheme() == Scheme::Go {
            Scheme::Go
        } else {
            Scheme::SemVer
        }),
        "ECOSYSTEM" => Some(eco.scheme()),
        _ => None,
    }
}

/// `true` when `version` lies in `range` (already known to be of an orderable type).
pub fn in_range(range: &Range, scheme: Scheme, version: &Version) -> Result<bool, VersionError> {
    let (cached_scheme, cached) = range
        .sorted
        .0
        .get_or_init(|| (scheme, sorted_events(range, scheme)));
    // A range is only ever read in one scheme in practice (its entry's ecosystem, or SemVer);
    // another scheme gets a fresh parse rather than a wrong cache hit.
    let fresh;
    let events = if *cached_scheme == scheme {
        cached.as_ref().map_err(Clone::clone)?
    } else {
        fresh = sorted_events(range, scheme)?;
        &fresh
    };
    let cmp = |v: &Option<Version>| -> Ordering {
        match v {
            None => Ordering::Greater,
            Some(x) => version.compare(x).unwrap_or(Ordering::Less),
        }
    };
    let mut affected = false;
    let mut limited = false;
    for (v, i) in events {
        let Some(e) = range.events.get(*i) else {
            continue;
        };
        match e {
            Event::Introduced(_) => {
                if cmp(v) != Ordering::Less {
                    affected = true;
                }
            }
            Event::Fixed(_) => {
                if cmp(v) != Ordering::Less {
                    affected = false;
                }
            }
            Event::LastAffected(_) => {
                if cmp(v) == Ordering::Greater {
                    affected = false;
                }
            }
            Event::Limit(_) => {
                if cmp(v) != Ordering::Less {
                    limited = true;
                }
            }
        }
    }
    Ok(affected && !limited)
}

/// The range's events parsed in `scheme` and in version order (`introduced: 0` first), each
/// with its index in `range.events`.
fn sorted_events(
    range: &Range,
    scheme: Scheme,
) -> Result<Vec<(Option<Version>, usize)>, VersionError> {
    let mut events = Vec::with_capacity(range.events.len());
    for (i, e) in range.events.iter().enumerate() {
        let v = match e {
            Event::Introduced(s) if s == "0" => None,
            Event::Introduced(s) | Event::Fixed(s) | Event::LastAffected(s) | Event::Limit(s) => {
                Some(Version::parse(scheme, s)?)
            }
        };
        events.push((v, i));
    }
    events.sort_by(|a, b| match (&a.0, &b.0) {
        (None, None) => Ordering::Equal,
        (None, Some(_)) => Ordering::Less,
        (Some(_), None) => Ordering::Greater,
        (Some(x), Some(y)) => x.compare(y).unwrap_or(Ordering::Equal),
    });
    Ok(events)
}

/// Whether `entry` names the package (`eco`, already-normalised `name`).
pub fn names_package(entry: &Affected, eco: Ecosystem, name: &str) -> bool {
    entry.package.as_ref().is_some_and(|p| {
        Ecosystem::from_osv(&p.ecosystem) == Some(eco) && eco.normalize_name(&p.name) == name
    })
}

/// Whether `entry` (already known to name the package) affects `raw` / `version`.
/// Unorderable event versions are reported in `problems` and that range is skipped.
pub fn entry_affects(
    entry: &Affected,
    eco: Ecosystem,
    raw: &str,
    version: Option<&Version>,
    problems: &mut Vec<String>,
) -> bool {
    // Exact strings first: cheap, and what the list usually holds.
    if entry.versions.iter().any(|v| v == raw) {
        return true;
    }
    let mut orderable_ranges = false;
    for range in &entry.ranges {
        let Some(scheme) = scheme_for(range, eco) else {
            continue;
        };
        orderable_ranges = true;
        // SEMVER ranges order with SemVer even in ecosystems whose own ordering differs.
        let parsed;
        let inst = if scheme == eco.scheme() {
            match version {
                Some(v) => v,
                None => continue,
            }
        } else {
            match Version::parse(scheme, raw) {
                Ok(v) => {
                    parsed = v;
                    &parsed
                }
                Err(_) => continue,
            }
        };
        match in_range(range, scheme, inst) {
            Ok(true) => return true,
            Ok(false) => {}
            Err(e) => problems.push(e.to_string()),
        }
    }
    // Equal-but-differently-written versions (`1.0` vs `1.0.0`) in a list that no orderable
    // range covers (GIT-only or list-only entries). When ranges exist, OSV's list is their
    // expansion and the ranges above already decided by ordering.
    if !orderable_ranges && let Some(inst) = version {
        return entry.versions.iter().any(|v| {
            Version::parse(eco.scheme(), v)
                .is_ok_and(|listed| inst.compare(&listed) == Some(Ordering::Equal))
        });
    }
    false
}

/// The `affected` entry of `record` that covers the package, if any; `None` for withdrawn
/// records.
pub fn affecting_entry<'r>(
    record: &'r Record,
    eco: Ecosystem,
    name: &str,
    raw: &str,
    version: Option<&Version>,
    problems: &mut Vec<String>,
) -> Option<&'r Affected> {
    if record.withdrawn.is_some() {
        return None;
    }
    record
        .affected
        .iter()
        .filter(|a| names_package(a, eco, name))
        .find(|a| entry_affects(a, eco, raw, version, problems))
}

/// Every `fixed` version the entry's orderable ranges name.
pub fn fixed_versions(entry: &Affected) -> Vec<String> {
    let mut out = Vec::new();
    for r in &entry.ranges {
        if r.kind == "GIT" {
            continue;
        }
        for e in &r.events {
            if let Event::Fixed(v) = e {
                out.push(v.clone());
            }
        }
    }
    out
}

/// For tests and fuzzing: does any entry of `record` affect `version`, whatever its package.
pub fn affected_versions_check(record: &Record, version: &str) -> bool {
    let mut problems = Vec::new();
    record.affected.iter().any(|a| {
        let Some(p) = &a.package else { return false };
        let Some(eco) = Ecosystem::from_osv(&p.ecosystem) else {
            return false;
        };
        let v = Version::parse(eco.scheme(), version).ok();
        entry_affects(a, eco, version, v.as_ref(), &mut problems)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(json: &str) -> Record {
        Record::parse(json.as_bytes()).unwrap()
    }

    fn hits(r: &Record, eco: Ecosystem, name: &str, v: &str) -> bool {
        let parsed = Version::parse(eco.scheme(), v).ok();
        let mut p = Vec::new();
        affecting_entry(
            r,
            eco,
            &eco.normalize_name(name),
            v,
            parsed.as_ref(),
            &mut p,
        )
        .is_some()
    }

    #[test]
    fn boundaries_by_hand() {
        let r = rec(
            r#"{"id":"PYSEC-X","affected":[{"package":{"ecosystem":"PyPI","name":"Jinja2"},
          "ranges":[{"type":"ECOSYSTEM","events":[{"introduced":"0"},{"fixed":"2.10.1"},{"introduced":"3.0.0a1"},{"last_affected":"3.1.2"}]}]}]}"#,
        );
        let e = Ecosystem::PyPI;
        assert!(hits(&r, e, "jinja2", "2.10"));
        assert!(hits(&r, e, "JINJA2", "2.10.0"));
        assert!(hits(&r, e, "jinja2", "2.10.1rc1"));
        assert!(!hits(&r, e, "jinja2", "2.10.1"));
        assert!(!hits(&r, e, "jinja2", "2.11"));
        assert!(!hits(&r, e, "jinja2", "3.0.0.dev1"));
        assert!(hits(&r, e, "jinja2", "3.0.0a1"));
        assert!(hits(&r, e, "jinja2", "3.1.2"));
        assert!(!hits(&r, e, "jinja2", "3.1.2.post1"));
        assert!(!hits(&r, e, "markupsafe", "1.0"));
    }

    #[test]
    fn versions_list_withdrawn_limit_and_git() {
        let r = rec(
            r#"{"id":"GHSA-a","affected":[{"package":{"ecosystem":"npm","name":"x"},"versions":["1.0.0"],
          "ranges":[{"type":"GIT","repo":"r","events":[{"introduced":"0"},{"fixed":"abc"}]},
                    {"type":"SEMVER","events":[{"introduced":"2.0.0"},{"limit":"2.5.0"}]}]}]}"#,
        );
        assert!(hits(&r, Ecosystem::Npm, "x", "1.0.0"));
        assert!(!hits(&r, Ecosystem::Npm, "x", "1.0.1"));
        assert!(hits(&r, Ecosystem::Npm, "x", "2.4.9"));
        assert!(!hits(&r, Ecosystem::Npm, "x", "2.5.0"));
        let mut w = r.clone();
        w.withdrawn = Some("2024-01-01T00:00:00Z".into());
        assert!(!hits(&w, Ecosystem::Npm, "x", "1.0.0"));
    }

    #[test]
    fn semver_ranges_in_go() {
        let r = rec(
            r#"{"id":"GO-1","affected":[{"package":{"ecosystem":"Go","name":"github.com/a/b"},
          "ranges":[{"type":"SEMVER","events":[{"introduced":"0"},{"fixed":"1.2.4"}]}]}]}"#,
        );
        assert!(hits(
            &r,
            Ecosystem::Go,
            "github.com/a/b",
            "v1.2.4-0.20191109021931-daa7c04131f5"
        ));
        assert!(!hits(&r, Ecosystem::Go, "github.com/a/b", "v1.2.4"));
        assert!(hits(
            &r,
            Ecosystem::Go,
            "github.com/a/b",
            "v0.0.0-20191109021931-daa7c04131f5"
        ));
    }

    #[test]
    fn unsorted_events_are_sorted() {
        let r = rec(
            r#"{"id":"X","affected":[{"package":{"ecosystem":"crates.io","name":"c"},
          "ranges":[{"type":"SEMVER","events":[{"fixed":"0.3.1"},{"introduced":"0.3.0"},{"fixed":"0.2.5"},{"introduced":"0"}]}]}]}"#,
        );
        assert!(hits(&r, Ecosystem::CratesIo, "c", "0.2.4"));
        assert!(!hits(&r, Ecosystem::CratesIo, "c", "0.2.9"));
        assert!(hits(&r, Ecosystem::CratesIo, "c", "0.3.0"));
        assert!(!hits(&r, Ecosystem::CratesIo, "c", "0.3.1"));
    }
}
