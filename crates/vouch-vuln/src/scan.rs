//! Packages → findings: one finding per vulnerability per package, whatever the number of ids
//! it is published under.
//!
//! Records matched for one package are grouped when they share an id through `aliases` or
//! `related` (union–find), so GHSA-x, CVE-y and PYSEC-z describing one flaw are one finding
//! listing every id. The finding's rule is `vuln/<primary id>` (a CVE when there is one,
//! else a GHSA, else the smallest id), its severity the highest of the group, and its fix the
//! nearest version that removes every vulnerability matched in that package.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use vouch_core::{Finding, InputError, Location, Region, Rule, Severity};

use crate::db::{Database, DbError};
use crate::matcher::{self, PackageRef};
use crate::osv::{Affected, Record};
use crate::severity::{self, Rating};
use crate::version::{Ecosystem, Version};

/// Metadata shared by every `vuln/<ID>` finding (the id part is dynamic).
pub const VULNERABLE_DEPENDENCY: Rule = Rule {
    id: "vuln/vulnerable-dependency",
    severity: Severity::High,
    summary: "A dependency has a known vulnerability",
    help: "Upgrade the package to the fixed version shown. If the vulnerable code is not \
           reachable, record that in a VEX statement (`--vex`) or accept the risk for a while \
           in .vouch/exceptions.yaml with `vuln: <ID>`.",
    references: &["https://ossf.github.io/osv-schema/"],
};

/// Outcome of a scan.
#[derive(Debug, Default)]
pub struct ScanResult {
    pub findings: Vec<Finding>,
    pub warnings: Vec<String>,
    pub packages: usize,
    /// Ecosystem (as given) → packages that could not be checked.
    pub unknown_ecosystems: BTreeMap<String, usize>,
}

/// Everything a path gives the vulnerability scan.
#[derive(Debug, Default)]
pub struct Collected {
    pub packages: Vec<PackageRef>,
    /// Components without a versioned purl (SBOMs): not checkable.
    pub without_purl: usize,
    /// Products the SBOMs describe (VEX statements may name them).
    pub products: Vec<String>,
    /// Files read (lockfiles, manifests, SBOMs), relative to the path.
    pub files: Vec<String>,
    /// Sources that could not be read (the scan goes on without them).
    pub warnings: Vec<String>,
}

/// The packages under `path`, as osv-scanner finds them: a directory's lockfiles and
/// manifests (vouch-sbom's readers, recursively) and its SBOM documents (`*.cdx.json`,
/// `bom.json`, `*.spdx.json`, `*.spdx`); or a single lockfile; or a single SBOM.
///
/// Fails closed: a directory without any package source is an error (`no package sources
/// found under PATH`) unless `allow_empty`, and so is a path whose every source is
/// unreadable.
pub fn collect(path: &std::path::Path, allow_empty: bool) -> Result<Collected, InputError> {
    let mut out = Collected::default();
    let meta = std::fs::metadata(path)
        .map_err(|e| InputError::in_file(path, format!("cannot read: {e}")))?;
    let shown = path.display().to_string();
    if meta.is_file() {
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        if vouch_sbom::readers::reader_for(&name).is_some() {
            let inv = vouch_sbom::scan(path)?;
            out.packages = packages_from_inventory(&inv);
            for p in &mut out.packages {
                p.source = shown.clone();
            }
            out.files.push(shown);
        } else {
            read_sbom_into(path, &shown, &mut out)?;
            if out.packages.is_empty() && out.without_purl == 0 && !allow_empty {
                return Err(InputError::in_file(path, "the SBOM lists no components")
                    .with_hint("pass --allow-empty when an empty SBOM is intended"));
            }
        }
        return Ok(out);
    }
    let inv = vouch_sbom::scan(path)?;
    out.packages = packages_from_inventory(&inv);
    out.files.extend(inv.files.iter().cloned());
    out.warnings
        .extend(inv.warnings.iter().map(|e| format!("not checked: {e}")));
    let mut first_error: Option<InputError> = inv.warnings.first().cloned();
    for (rel, full) in vouch_sbom::scan::find_sbom_files(path) {
        match read_sbom_into(&full, &rel, &mut out) {
            Ok(()) => out.files.push(rel),
            Err(e) => {
                out.warnings.push(format!("not checked: {e}"));
                first_error.get_or_insert(e);
            }
        }
    }
    if out.files.is_empty() && out.packages.is_empty() {
        if let Some(e) = first_error {
            return Err(e);
        }
        if !allow_empty {
            return Err(vouch_sbom::scan::no_sources(path));
        }
    }
    Ok(out)
}

fn read_sbom_into(
    full: &std::path::Path,
    rel: &str,
    out: &mut Collected,
) -> Result<(), InputError> {
    let text = std::fs::read_to_string(full)
        .map_err(|e| InputError::in_file(full, format!("cannot read: {e}")))?;
    let s = crate::sbom::read(full, rel, &text)?;
    out.packages.extend(s.packages);
    out.without_purl += s.without_purl;
    out.products.extend(s.product);
    Ok(())
}

/// The packages of a project directory or lockfile, read by vouch-sbom's readers. A lockfile
/// that cannot be read is an error (never a project with fewer packages to check); packages
/// of ecosystems OSV does not cover keep their purl type as ecosystem and are reported as
/// unchecked.
pub fn packages_from_project(root: &std::path::Path) -> Result<Vec<PackageRef>, InputError> {
    let inventory = vouch_sbom::scan(root)?;
    Ok(packages_from_inventory(&inventory))
}

/// The packages of an SBOM inventory, named as OSV names them.
pub fn packages_from_inventory(inventory: &vouch_sbom::model::Inventory) -> Vec<PackageRef> {
    inventory
        .components
        .iter()
        .map(|c| PackageRef {
            ecosystem: c
                .ecosystem
                .osv_name()
                .map(str::to_string)
                .unwrap_or_else(|| {
                    c.purl
                        .trim_start_matches("pkg:")
                        .split('/')
                        .next()
                        .unwrap_or("")
                        .to_string()
                }),
            name: match &c.group {
                // OSV names Maven packages group:artifact, and npm scoped ones @scope/name.
                Some(g) if c.ecosystem.osv_name() == Some("Maven") => format!("{g}:{}", c.name),
                _ => c.name.clone(),
            },
            version: c.version.clone(),
            purl: Some(c.purl.clone()),
            source: c.sources.first().cloned().unwrap_or_default(),
            line: None,
        })
        .collect()
}

fn id_rank(id: &str) -> (u8, &str) {
    let r = if id.starts_with("CVE-") {
        0
    } else if id.starts_with("GHSA-") {
        1
    } else {
        2
    };
    (r, id)
}

struct Hit {
    record: Arc<Record>,
    entry: Affected,
    rating: Rating,
}

/// Checks every package against the database.
pub fn scan(db: &mut Database, packages: &[PackageRef]) -> Result<ScanResult, DbError> {
    let mut out = ScanResult {
        packages: packages.len(),
        ..Default::default()
    };
    let mut empty_ecosystems: BTreeMap<Ecosystem, bool> = BTreeMap::new();
    // The same package read from a lockfile and from an SBOM (or two SBOMs) is checked once:
    // one finding per vulnerability per package, at its first source.
    let mut seen: BTreeSet<(Ecosystem, String, String)> = BTreeSet::new();
    for pkg in packages {
        let Some(eco) = Ecosystem::from_osv(&pkg.ecosystem) else {
            *out.unknown_ecosystems
                .entry(pkg.ecosystem.clone())
                .or_default() += 1;
            continue;
        };
        if !seen.insert((eco, eco.normalize_name(&pkg.name), pkg.version.clone())) {
            continue;
        }
        if let std::collections::btree_map::Entry::Vacant(e) = empty_ecosystems.entry(eco) {
            let n = db.ecosystem_records(eco)?;
            e.insert(n == 0);
        }
        let name = eco.normalize_name(&pkg.name);
        let version = match Version::parse(eco.scheme(), &pkg.version) {
            Ok(v) => Some(v),
            Err(e) => {
                out.warnings.push(format!(
                    "{}: {} {}: {e}; matched against exact version lists only",
                    pkg.source, pkg.name, pkg.version
                ));
                None
            }
        };
        let records = db.records_for(eco, &pkg.name)?;
        let mut problems = Vec::new();
        let mut hits: Vec<Hit> = Vec::new();
        for rec in records {
            if let Some(entry) = matcher::affecting_entry(
                &rec,
                eco,
                &name,
                &pkg.version,
                version.as_ref(),
                &mut problems,
            ) {
                let rating = severity::rate(&rec, Some(entry));
                let entry = entry.clone();
                hits.push(Hit {
                    record: rec,
                    entry,
                    rating,
                });
            }
        }
        for p in problems {
            out.warnings
                .push(format!("{}: {}: {p}", pkg.source, pkg.name));
        }
        if hits.is_empty() {
            continue;
        }
        let fix = nearest_fix(eco, &name, &pkg.version, version.as_ref(), &hits);
        for group in group_hits(&hits) {
            out.findings
                .push(finding(pkg, eco, &group, &hits, fix.as_deref()));
        }
    }
    for (eco, empty) in empty_ecosystems {
        if empty {
            out.warnings.push(format!(
                "the database has no advisories for {eco}: its packages were not checked (add the {eco} OSV export to vouch db build)"
            ));
        }
    }
    for (eco, n) in &out.unknown_ecosystems {
        out.warnings.push(format!(
            "{n} package(s) of ecosystem `{eco}` were not checked: vouch cannot order its versions"
        ));
    }
    Ok(out)
}

/// Groups hits (indices) whose ids overlap through aliases or related.
fn group_hits(hits: &[Hit]) -> Vec<Vec<usize>> {
    let mut parent: Vec<usize> = (0..hits.len()).collect();
    fn find(p: &mut [usize], i: usize) -> usize {
        let mut i = i;
        while p[i] != i {
            p[i] = p[p[i]];
            i = p[i];
        }
        i
    }
    let mut owner: BTreeMap<&str, usize> = BTreeMap::new();
    for (i, h) in hits.iter().enumerate() {
        let ids = h
            .record
            .all_ids()
            .chain(h.record.related.iter().map(String::as_str));
        for id in ids {
            match owner.get(id) {
                Some(&j) => {
                    let (a, b) = (find(&mut parent, i), find(&mut parent, j));
                    parent[a] = b;
                }
                None => {
                    owner.insert(id, i);
                }
            }
        }
    }
    let mut groups: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
    for i in 0..hits.len() {
        let r = find(&mut parent, i);
        groups.entry(r).or_default().push(i);
    }
    groups.into_values().collect()
}

/// The smallest `fixed` version above the installed one at which no matched record still
/// applies.
fn nearest_fix(
    eco: Ecosystem,
    name: &str,
    raw: &str,
    installed: Option<&Version>,
    hits: &[Hit],
) -> Option<String> {
    let installed = installed?;
    let mut candidates: Vec<(Version, String)> = Vec::new();
    for h in hits {
        for f in matcher::fixed_versions(&h.entry) {
            if let Ok(v) = Version::parse(eco.scheme(), &f)
                && v.compare(installed) == Some(std::cmp::Ordering::Greater)
            {
                candidates.push((v, f));
            }
        }
    }
    candidates.sort_by(|a, b| a.0.compare(&b.0).unwrap_or(std::cmp::Ordering::Equal));
    let _ = raw;
    let mut problems = Vec::new();
    candidates
        .into_iter()
        .find(|(v, s)| {
            hits.iter().all(|h| {
                matcher::affecting_entry(&h.record, eco, name, s, Some(v), &mut problems).is_none()
            })
        })
        .map(|(_, s)| s)
}

fn finding(
    pkg: &PackageRef,
    eco: Ecosystem,
    group: &[usize],
    hits: &[Hit],
    fix: Option<&str>,
) -> Finding {
    let mut record_ids: Vec<&str> = group.iter().map(|&i| hits[i].record.id.as_str()).collect();
    record_ids.sort();
    let mut all: BTreeSet<&str> = BTreeSet::new();
    let mut related: BTreeSet<&str> = BTreeSet::new();
    for &i in group {
        all.extend(hits[i].record.all_ids());
        related.extend(hits[i].record.related.iter().map(String::as_str));
    }
    let primary = all
        .iter()
        .copied()
        .min_by_key(|id| id_rank(id))
        .unwrap_or(record_ids[0])
        .to_string();
    let aliases: Vec<String> = all
        .iter()
        .filter(|id| **id != primary)
        .map(|s| s.to_string())
        .collect();
    let related: Vec<String> = related
        .iter()
        .filter(|id| !all.contains(*id))
        .map(|s| s.to_string())
        .collect();
    let best = group
        .iter()
        .map(|&i| &hits[i])
        .max_by(|a, b| {
            (a.rating.severity, a.rating.score.unwrap_or(-1.0))
                .partial_cmp(&(b.rating.severity, b.rating.score.unwrap_or(-1.0)))
                .unwrap_or(std::cmp::Ordering::Equal)
        })
        .map(|h| h.rating.clone())
        .unwrap_or(Rating {
            severity: Severity::Medium,
            score: None,
            vector: None,
            source: "unknown".into(),
        });
    let informational = group.iter().any(|&i| {
        hits[i]
            .entry
            .database_specific
            .as_ref()
            .and_then(|d| d.get("informational"))
            .is_some()
    }) && group.iter().all(|&i| hits[i].record.severity.is_empty());
    let severity = if informational {
        Severity::Info
    } else {
        best.severity
    };
    let summary = group
        .iter()
        .filter_map(|&i| hits[i].record.summary.as_deref())
        .find(|s| !s.trim().is_empty())
        .unwrap_or("known vulnerability")
        .trim()
        .to_string();
    let score = match (best.score, best.source.as_str()) {
        (Some(s), _) => format!(" {s:.1}"),
        (None, "unknown") if !informational => ", severity unknown".to_string(),
        _ => String::new(),
    };
    let also = if aliases.is_empty() {
        String::new()
    } else {
        format!(" (also {})", aliases.join(", "))
    };
    let fix_text = match fix {
        Some(f) => format!("; fixed in {f}"),
        None => "; no fixed version".to_string(),
    };
    let message = format!(
        "{} {} is affected by {primary}{also}: {summary} [{}{score}]{fix_text}",
        pkg.name,
        pkg.version,
        severity.as_str()
    );
    let location = match pkg.line {
        Some(l) => Location::at(pkg.source.clone(), Region::line(l)),
        None => Location::file(pkg.source.clone()),
    };
    let key = format!(
        "{}/{}@{}#{}",
        eco.as_str(),
        eco.normalize_name(&pkg.name),
        pkg.version,
        primary
    );
    let help = match fix {
        Some(f) => format!(
            "Upgrade {} to {f} or later; that version fixes every known vulnerability matched in {} {}.",
            pkg.name, pkg.name, pkg.version
        ),
        None => format!(
            "No fixed version of {} is known. Remove or replace it, or record why it is not exploitable in a VEX statement or an exception (`vuln: {primary}`).",
            pkg.name
        ),
    };
    let mut f = Finding::dynamic(format!("vuln/{primary}"), severity, location, message, &key)
        .with_annotation(format!("{}@{}", pkg.name, pkg.version))
        .with_help(help)
        .with_property("package", pkg.name.clone())
        .with_property("version", pkg.version.clone())
        .with_property("ecosystem", eco.as_str())
        .with_property(
            "ids",
            record_ids.iter().map(|s| s.to_string()).collect::<Vec<_>>(),
        )
        .with_property("aliases", aliases)
        .with_property("severity_source", best.source.clone());
    if let Some(p) = &pkg.purl {
        f = f.with_property("purl", p.clone());
    }
    if !related.is_empty() {
        f = f.with_property("related", related);
    }
    if let Some(s) = best.score {
        f = f.with_property("score", s);
    }
    if let Some(v) = &best.vector {
        f = f.with_property("cvss", v.clone());
    }
    if let Some(fx) = fix {
        f = f.with_property("fixed_in", fx);
    }
    if informational {
        f = f.with_property("informational", true);
    }
    f
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The wording and shape of a vulnerability finding, reviewed as a snapshot.
    #[test]
    fn finding_snapshot() {
        let dir = tempfile::tempdir().unwrap();
        let src = dir.path().join("osv");
        std::fs::create_dir(&src).unwrap();
        std::fs::write(
            src.join("GHSA-1.json"),
            r#"{"id":"GHSA-xxxx-yyyy-zzzz","modified":"2025-01-01T00:00:00Z","aliases":["CVE-2099-1234"],
               "summary":"Path traversal in demo","related":["CGA-1"],
               "severity":[{"type":"CVSS_V3","score":"CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:N/A:N"}],
               "affected":[{"package":{"ecosystem":"crates.io","name":"demo"},
                 "ranges":[{"type":"SEMVER","events":[{"introduced":"0"},{"fixed":"0.4.2"}]}]}]}"#,
        )
        .unwrap();
        std::fs::write(
            src.join("RUSTSEC-1.json"),
            r#"{"id":"RUSTSEC-2099-0001","modified":"2025-01-01T00:00:00Z","aliases":["CVE-2099-1234"],
               "summary":"demo: path traversal",
               "affected":[{"package":{"ecosystem":"crates.io","name":"demo"},
                 "ranges":[{"type":"SEMVER","events":[{"introduced":"0.3.0"},{"fixed":"0.4.1"}]}]}]}"#,
        )
        .unwrap();
        let db = dir.path().join("osv.db");
        Database::build(&db, &[src]).unwrap();
        let mut db = Database::open(&db).unwrap();
        let pkgs = vec![PackageRef {
            ecosystem: "crates.io".into(),
            name: "demo".into(),
            version: "0.3.5".into(),
            purl: Some("pkg:cargo/demo@0.3.5".into()),
            source: "Cargo.lock".into(),
            line: Some(12),
        }];
        let r = scan(&mut db, &pkgs).unwrap();
        assert_eq!(r.findings.len(), 1, "two records, one vulnerability");
        insta::assert_json_snapshot!(r.findings[0]);
    }
}
