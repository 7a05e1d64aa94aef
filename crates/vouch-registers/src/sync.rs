//! `vouch register sync`: merges what the scanners found into D3, D4 and D5.
//!
//! The merge is pure: it takes plain facts (components with licences, hashes and advisories;
//! release artifacts with their evidence; locations of plaintext secrets) and a loaded
//! register, updates the machine-owned columns in place, appends rows for new facts, and
//! reports what changed. Hand-written columns (Origin, Use Scope, Replacement Policy, Owner,
//! Environment, Rotation Policy, …) are never touched. Gathering the facts (SBOM scan, vuln
//! database, release manifest, secret scan) is the CLI's job, so this crate stays free of
//! scanner dependencies.
//!
//! This module must never see or write a secret value: secret facts are rule ids and
//! locations only.

use crate::register::{Cell, Register, Row};
use crate::schema::RegisterKind;

/// A component from the SBOM.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ComponentFact {
    /// The ecosystem as OSV names it (`npm`, `crates.io`, `PyPI`, `Maven`…), when known: part
    /// of the component's identity, since npm's `uuid` is not crates.io's `uuid`.
    pub ecosystem: Option<String>,
    /// Name as the ecosystem spells it (Maven: `group:artifact`).
    pub name: String,
    pub version: String,
    /// SPDX expression (several licences joined with ` AND `), if known.
    pub licence: Option<String>,
    /// Strongest hash the lockfile records, as `sha512:<hex>` / `sha256:<hex>`.
    pub integrity: Option<String>,
    /// Advisory ids affecting this version; `None` when no database was consulted (the
    /// column is then left as it is). An empty list is written as `None` (checked, nothing
    /// known), as the mini-spec's D3 example writes it.
    pub advisories: Option<Vec<String>>,
}

/// A release artifact from `release.json`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArtifactFact {
    pub name: String,
    /// Lowercase hex SHA-256.
    pub sha256: String,
    /// Signature bundle and attestation bundles, as paths the team can follow.
    pub evidence: Vec<String>,
}

/// A plaintext secret the scanner found in the repository: never its value.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct SecretFact {
    /// The rule id, e.g. `secrets/aws-access-key`.
    pub rule: String,
    pub path: String,
    pub line: u32,
}

/// What one sync changed in one register.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Summary {
    /// Rows appended (their key).
    pub added: Vec<String>,
    /// Rows updated: key and the columns whose value changed.
    pub updated: Vec<(String, Vec<&'static str>)>,
    /// Rows whose subject the facts no longer contain (kept unless pruned).
    pub gone: Vec<String>,
    /// Rows removed by `prune`.
    pub pruned: Vec<String>,
}

impl Summary {
    pub fn is_empty(&self) -> bool {
        self.added.is_empty()
            && self.updated.is_empty()
            && self.pruned.is_empty()
            && self.gone.is_empty()
    }

    /// Whether the register's content changed (what decides a write).
    pub fn changed(&self) -> bool {
        !(self.added.is_empty() && self.updated.is_empty() && self.pruned.is_empty())
    }
}

fn field_index(kind: RegisterKind, name: &str) -> Option<usize> {
    kind.fields().iter().position(|f| f.name == name)
}

/// Sets `name` in `row` (adding the column to the register if the file lacks it); returns
/// whether the value changed.
fn set(
    reg_columns: &mut Vec<usize>,
    kind: RegisterKind,
    row: &mut Row,
    name: &str,
    value: &str,
) -> bool {
    let Some(i) = field_index(kind, name) else {
        return false;
    };
    // A column the file lacks is appended, so the team's own column order is kept.
    if !reg_columns.contains(&i) {
        reg_columns.push(i);
    }
    if row.cells.len() < kind.fields().len() {
        row.cells.resize(kind.fields().len(), None);
    }
    let old = row.cells[i]
        .as_ref()
        .map(|c| c.value.as_str())
        .unwrap_or("");
    if old == value {
        return false;
    }
    match &mut row.cells[i] {
        Some(c) => c.value = value.to_string(),
        slot @ None => {
            *slot = Some(Cell {
                value: value.to_string(),
                line: 0,
                column: 0,
            })
        }
    }
    true
}

fn new_row(kind: RegisterKind) -> Row {
    Row {
        line: 0,
        cells: vec![None; kind.fields().len()],
    }
}

/// Applies `values` (column, value) to the row matched by `find` or a new one; records the
/// change under `key`.
fn upsert(
    reg: &mut Register,
    at: Option<usize>,
    key: &str,
    values: &[(&'static str, String)],
    summary: &mut Summary,
) {
    let kind = reg.kind;
    let mut columns = std::mem::take(&mut reg.columns);
    match at {
        Some(i) => {
            let row = &mut reg.rows[i];
            let changed: Vec<&'static str> = values
                .iter()
                .filter(|(name, v)| set(&mut columns, kind, row, name, v))
                .map(|(name, _)| *name)
                .collect();
            if !changed.is_empty() {
                summary.updated.push((key.to_string(), changed));
            }
        }
        None => {
            let mut row = new_row(kind);
            for (name, v) in values {
                set(&mut columns, kind, &mut row, name, v);
            }
            reg.rows.push(row);
            summary.added.push(key.to_string());
        }
    }
    reg.columns = columns;
}

fn removed(
    reg: &mut Register,
    keep: &[bool],
    key_of: impl Fn(&Row) -> String,
    prune: bool,
    summary: &mut Summary,
) {
    let mut i = 0;
    reg.rows.retain(|row| {
        let k = keep.get(i).copied().unwrap_or(true);
        i += 1;
        if k {
            return true;
        }
        if prune {
            summary.pruned.push(key_of(row));
            false
        } else {
            summary.gone.push(key_of(row));
            true
        }
    });
}

/// What Known CVEs says when the database was consulted and lists nothing for a component.
pub const NO_KNOWN_CVES: &str = "None";

fn component_key(name: &str, version: &str, ecosystem: Option<&str>) -> String {
    match ecosystem {
        Some(e) => format!("{name} {version} ({e})"),
        None => format!("{name} {version}"),
    }
}

/// Whether `row` can describe `f`: same name (case-insensitively, as PyPI and most registries
/// compare), and the same ecosystem unless either side does not say.
fn same_component(row: &Row, f: &ComponentFact) -> bool {
    use RegisterKind::D3;
    row.get(D3, "Component")
        .is_some_and(|n| n.eq_ignore_ascii_case(&f.name))
        && match (row.get(D3, "Ecosystem"), f.ecosystem.as_deref()) {
            (Some(r), Some(e)) => r.eq_ignore_ascii_case(e),
            _ => true,
        }
}

/// Whether `row` states the same ecosystem as `f` (both none counts).
fn same_ecosystem(row: &Row, f: &ComponentFact) -> bool {
    match (
        row.get(RegisterKind::D3, "Ecosystem"),
        f.ecosystem.as_deref(),
    ) {
        (Some(r), Some(e)) => r.eq_ignore_ascii_case(e),
        (None, None) => true,
        _ => false,
    }
}

/// D3: one row per component. A fact takes, first, a row with its name, ecosystem (when the
/// row states one) and version; then, for a version bump, the one remaining row with its name
/// and ecosystem when no other new fact could also claim that row. Fills Component, Version,
/// Ecosystem, License, Integrity and Known CVEs. Rows whose component is gone are reported,
/// and removed only with `prune`.
pub fn sync_components(reg: &mut Register, facts: &[ComponentFact], prune: bool) -> Summary {
    use RegisterKind::D3;
    let mut summary = Summary::default();
    let mut facts: Vec<&ComponentFact> = facts.iter().collect();
    let order = |f: &ComponentFact| (f.name.clone(), f.version.clone(), f.ecosystem.clone());
    facts.sort_by_key(|f| order(f));
    facts.dedup_by(|a, b| order(a) == order(b));

    // Matching is decided before anything is written, so it does not depend on the order in
    // which facts are applied.
    let mut taken = vec![false; reg.rows.len()];
    let mut at: Vec<Option<usize>> = vec![None; facts.len()];
    // First the rows that state exactly the fact's ecosystem (or, like it, none), then rows
    // that leave it open, then version bumps.
    for strict in [true, false] {
        for (j, f) in facts.iter().enumerate() {
            if at[j].is_some() {
                continue;
            }
            let found = (0..reg.rows.len()).find(|i| {
                let r = &reg.rows[*i];
                !taken[*i]
                    && same_component(r, f)
                    && r.get(D3, "Version") == Some(f.version.as_str())
                    && (!strict || same_ecosystem(r, f))
            });
            if let Some(i) = found {
                taken[i] = true;
                at[j] = Some(i);
            }
        }
    }
    for j in 0..facts.len() {
        if at[j].is_some() {
            continue;
        }
        let f = facts[j];
        let rows: Vec<usize> = (0..reg.rows.len())
            .filter(|i| !taken[*i] && same_component(&reg.rows[*i], f))
            .collect();
        let [i] = rows[..] else { continue };
        let rivals = (0..facts.len())
            .filter(|k| at[*k].is_none() && same_component(&reg.rows[i], facts[*k]))
            .count();
        if rivals == 1 {
            taken[i] = true;
            at[j] = Some(i);
        }
    }

    // A row without a Component names nothing sync could have found: it is the team's
    // (half-written) row, never reported gone or pruned.
    let mut seen: Vec<bool> = taken
        .iter()
        .zip(&reg.rows)
        .map(|(t, r)| *t || r.get(D3, "Component").is_none())
        .collect();
    for (f, at) in facts.into_iter().zip(at) {
        let mut values = vec![
            ("Component", f.name.clone()),
            ("Version", f.version.clone()),
        ];
        if let Some(e) = &f.ecosystem {
            values.push(("Ecosystem", e.clone()));
        }
        if let Some(l) = &f.licence {
            values.push(("License", l.clone()));
        }
        if let Some(h) = &f.integrity {
            values.push(("Integrity", h.clone()));
        }
        if let Some(ids) = &f.advisories {
            let text = if ids.is_empty() {
                NO_KNOWN_CVES.to_string()
            } else {
                ids.join("; ")
            };
            values.push(("Known CVEs", text));
        }
        let key = component_key(&f.name, &f.version, f.ecosystem.as_deref());
        upsert(reg, at, &key, &values, &mut summary);
        if at.is_none() {
            seen.push(true);
        }
    }
    removed(
        reg,
        &seen,
        |r| {
            component_key(
                r.get(D3, "Component").unwrap_or(""),
                r.get(D3, "Version").unwrap_or(""),
                r.get(D3, "Ecosystem"),
            )
        },
        prune,
        &mut summary,
    );
    summary
}

/// D4: one row per release artifact, matched by Build Input (the artifact's file name).
/// Fills Artifact Hash (`sha256:<hex>`) and Signature/Attestation. Rows for artifacts not in
/// the release are left alone (D4 also records builds that are not in this release).
pub fn sync_artifacts(reg: &mut Register, facts: &[ArtifactFact]) -> Summary {
    use RegisterKind::D4;
    let mut summary = Summary::default();
    let mut facts: Vec<&ArtifactFact> = facts.iter().collect();
    facts.sort_by(|a, b| a.name.cmp(&b.name));
    facts.dedup_by(|a, b| a.name == b.name);
    for f in facts {
        let at = reg
            .rows
            .iter()
            .position(|r| r.get(D4, "Build Input") == Some(f.name.as_str()));
        let values = [
            ("Build Input", f.name.clone()),
            ("Artifact Hash", format!("sha256:{}", f.sha256)),
            ("Signature/Attestation", f.evidence.join("; ")),
        ];
        upsert(reg, at, &f.name, &values, &mut summary);
    }
    summary
}

/// The Secret column's text for a found secret: rule and location, never the value.
pub fn secret_key(f: &SecretFact) -> String {
    format!("{} at {}:{}", f.rule, f.path, f.line)
}

/// The Storage Method recorded for a secret found in the repository (the D5 gate reads it as
/// plaintext storage).
pub const PLAINTEXT_IN_REPOSITORY: &str = "plaintext in repository";

/// The Storage Method recorded for a passphrase-encrypted private key found in the repository
/// (the scanner's `secrets/encrypted-private-key`): in the tree, but never called plaintext.
pub const ENCRYPTED_IN_REPOSITORY: &str =
    "encrypted key in repository (passphrase-protected, not plaintext)";

/// The Storage Method sync records for a secret found by `rule`.
pub fn storage_for(rule: &str) -> &'static str {
    if rule == "secrets/encrypted-private-key" {
        ENCRYPTED_IN_REPOSITORY
    } else {
        PLAINTEXT_IN_REPOSITORY
    }
}

/// `rule at path:` of a Secret cell sync wrote, for following a secret whose line moved.
fn secret_place(secret: &str) -> Option<&str> {
    let (place, line) = secret.rsplit_once(':')?;
    (!line.is_empty() && line.bytes().all(|b| b.is_ascii_digit())).then_some(place)
}

/// D5: a row per plaintext secret the scanner found, keyed by `rule at path:line`, with
/// Storage Method "plaintext in repository" so the D5 gate names it. A secret whose line moved
/// (lines added above it) keeps its row when it is the only one of its rule in that file. Rows
/// that sync added earlier (that Storage Method) for secrets no longer found are reported as
/// gone (the secret was removed from the tree, which does not make it safe: rotate it), and
/// removed only with `prune`. Hand-written rows are never touched, with one exception: a row
/// whose Secret is exactly a location the scanner still reports gets its Storage Method set
/// back to plaintext (moving a secret to a vault does not take it out of the tree).
pub fn sync_secrets(reg: &mut Register, facts: &[SecretFact], prune: bool) -> Summary {
    use RegisterKind::D5;
    let mut summary = Summary::default();
    let mut facts: Vec<&SecretFact> = facts.iter().collect();
    facts.sort();
    facts.dedup();
    let keys: Vec<String> = facts.iter().map(|f| secret_key(f)).collect();
    let owned = |r: &Row| {
        matches!(
            r.get(D5, "Storage Method"),
            Some(PLAINTEXT_IN_REPOSITORY | ENCRYPTED_IN_REPOSITORY)
        )
    };

    let mut taken = vec![false; reg.rows.len()];
    let mut at: Vec<Option<usize>> = vec![None; facts.len()];
    for (j, key) in keys.iter().enumerate() {
        let found = (0..reg.rows.len())
            .find(|i| !taken[*i] && reg.rows[*i].get(D5, "Secret") == Some(key.as_str()));
        if let Some(i) = found {
            taken[i] = true;
            at[j] = Some(i);
        }
    }
    // A moved line: the one unmatched sync row and the one unmatched finding for this rule and
    // file. Only rows sync owns are followed; a hand-written row is never rewritten.
    for j in 0..facts.len() {
        if at[j].is_some() {
            continue;
        }
        let place = format!("{} at {}", facts[j].rule, facts[j].path);
        let rows: Vec<usize> = (0..reg.rows.len())
            .filter(|i| {
                let r = &reg.rows[*i];
                !taken[*i]
                    && owned(r)
                    && r.get(D5, "Secret").and_then(secret_place) == Some(place.as_str())
            })
            .collect();
        let rivals = (0..facts.len())
            .filter(|k| at[*k].is_none() && secret_place(&keys[*k]) == Some(place.as_str()))
            .count();
        if let ([i], 1) = (&rows[..], rivals) {
            taken[*i] = true;
            at[j] = Some(*i);
        }
    }

    let mut seen = taken;
    for ((key, at), fact) in keys.iter().zip(at).zip(&facts) {
        let values = [
            ("Secret", key.clone()),
            ("Storage Method", storage_for(&fact.rule).to_string()),
        ];
        upsert(reg, at, key, &values, &mut summary);
        if at.is_none() {
            seen.push(true);
        }
    }
    // Only rows sync owns can be gone: hand-written rows stay "seen".
    for (i, row) in reg.rows.iter().enumerate() {
        if !owned(row) {
            seen[i] = true;
        }
    }
    removed(
        reg,
        &seen,
        |r| r.get(D5, "Secret").unwrap_or("").to_string(),
        prune,
        &mut summary,
    );
    summary
}

/// An empty register of `kind` with the starter columns, for a register that has no file yet.
pub fn empty(kind: RegisterKind, rel: &str) -> Register {
    let header = format!("{}\n", kind.starter_header());
    Register::parse(kind, std::path::Path::new(rel), rel, &header).unwrap_or(Register {
        kind,
        path: rel.to_string(),
        columns: (0..kind.fields().len()).collect(),
        headers: Default::default(),
        header_line: 1,
        rows: Vec::new(),
    })
}

#[cfg(test)]
mod storage_tests {
    use super::*;

    /// An encrypted key found in the tree is recorded, and never as plaintext.
    #[test]
    fn encrypted_keys_are_never_recorded_as_plaintext() {
        let mut reg = empty(RegisterKind::D5, "security/secrets.csv");
        let facts = [
            SecretFact {
                rule: "secrets/encrypted-private-key".into(),
                path: "release.key".into(),
                line: 1,
            },
            SecretFact {
                rule: "secrets/private-key".into(),
                path: "leaked.key".into(),
                line: 1,
            },
        ];
        sync_secrets(&mut reg, &facts, false);
        let storage: Vec<(String, String)> = reg
            .rows
            .iter()
            .map(|r| {
                (
                    r.get(RegisterKind::D5, "Secret").unwrap_or("").to_string(),
                    r.get(RegisterKind::D5, "Storage Method")
                        .unwrap_or("")
                        .to_string(),
                )
            })
            .collect();
        assert!(storage.contains(&(
            "secrets/encrypted-private-key at release.key:1".into(),
            ENCRYPTED_IN_REPOSITORY.into()
        )));
        assert!(storage.contains(&(
            "secrets/private-key at leaked.key:1".into(),
            PLAINTEXT_IN_REPOSITORY.into()
        )));
        // A second sync keeps both rows (both are sync's own).
        let again = sync_secrets(&mut reg, &facts, true);
        assert_eq!(reg.rows.len(), 2, "{again:?}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::export::to_csv;
    use std::path::Path;

    fn d3(text: &str) -> Register {
        Register::parse(
            RegisterKind::D3,
            Path::new("d3.csv"),
            "security/d3.csv",
            text,
        )
        .unwrap()
    }

    const D3_TEXT: &str = "Component,Version,License,Origin,Integrity,Known CVEs,UseScope,Replacement Policy,Owner\n\
serde,1.0.0,MIT,\"crates.io, vendored\",,,prod,\"swap for X, if needed\",alice\n\
hand-made,0.1,Apache-2.0,internal,,,tooling,,bob\n";

    fn comp(name: &str, version: &str) -> ComponentFact {
        ComponentFact {
            ecosystem: None,
            name: name.into(),
            version: version.into(),
            licence: Some("MIT OR Apache-2.0".into()),
            integrity: Some("sha256-abcd".into()),
            advisories: Some(vec!["GHSA-1".into(), "CVE-2".into()]),
        }
    }

    #[test]
    fn components_update_in_place_keep_hand_columns_and_report_gone() {
        let mut r = d3(D3_TEXT);
        let s = sync_components(
            &mut r,
            &[comp("serde", "1.0.1"), comp("anyhow", "1.0.0")],
            false,
        );
        assert_eq!(s.added, ["anyhow 1.0.0"]);
        assert_eq!(s.updated.len(), 1);
        assert_eq!(s.gone, ["hand-made 0.1"]);
        let csv = to_csv(&r);
        assert_eq!(
            csv,
            "Component,Version,License,Origin,Integrity,Known CVEs,Use Scope,Replacement Policy,Owner\n\
serde,1.0.1,MIT OR Apache-2.0,\"crates.io, vendored\",sha256-abcd,GHSA-1; CVE-2,prod,\"swap for X, if needed\",alice\n\
hand-made,0.1,Apache-2.0,internal,,,tooling,,bob\n\
anyhow,1.0.0,MIT OR Apache-2.0,,sha256-abcd,GHSA-1; CVE-2,,,\n"
        );
        // Idempotent: the second run changes nothing.
        let again = sync_components(
            &mut r,
            &[comp("serde", "1.0.1"), comp("anyhow", "1.0.0")],
            false,
        );
        assert!(!again.changed(), "{again:?}");
        assert_eq!(to_csv(&r), csv);
        // Prune removes the row whose component is gone.
        let p = sync_components(
            &mut r,
            &[comp("serde", "1.0.1"), comp("anyhow", "1.0.0")],
            true,
        );
        assert_eq!(p.pruned, ["hand-made 0.1"]);
        assert!(!to_csv(&r).contains("hand-made"));
    }

    #[test]
    fn no_database_leaves_known_cves_alone_and_two_versions_get_two_rows() {
        let mut r = d3(
            "Component,Version,License,Origin,Integrity,Known CVEs,UseScope,Replacement Policy,Owner\nlodash,4.0.0,,,,CVE-OLD,,,\n",
        );
        let mut a = comp("lodash", "4.0.0");
        a.advisories = None;
        let mut b = comp("lodash", "3.0.0");
        b.advisories = None;
        sync_components(&mut r, &[a, b], false);
        let csv = to_csv(&r);
        assert!(
            csv.contains("lodash,4.0.0,MIT OR Apache-2.0,,sha256-abcd,CVE-OLD,,,"),
            "{csv}"
        );
        assert!(
            csv.contains("lodash,3.0.0,MIT OR Apache-2.0,,sha256-abcd,,,,"),
            "{csv}"
        );
    }

    #[test]
    fn artifacts_and_secrets() {
        let mut d4 = Register::parse(
            RegisterKind::D4,
            Path::new("d4.csv"),
            "security/d4.csv",
            "BuildInput,Environment,Reproducible,ArtifactHash,Signature/Attestation,DependencyPolicy,SLSATarget,VerificationSteps\napp,GitHub Actions,yes,,,pinned,L3,vouch gate\n",
        )
        .unwrap();
        let s = sync_artifacts(
            &mut d4,
            &[ArtifactFact {
                name: "app".into(),
                sha256: "ab".repeat(32),
                evidence: vec![
                    "rel/app.sigstore.json".into(),
                    "rel/provenance.sigstore.json".into(),
                ],
            }],
        );
        assert_eq!(s.updated[0].1, ["Artifact Hash", "Signature/Attestation"]);
        let csv = to_csv(&d4);
        assert!(csv.contains(&format!(
            "app,GitHub Actions,yes,sha256:{},rel/app.sigstore.json; rel/provenance.sigstore.json,pinned,L3,vouch gate",
            "ab".repeat(32)
        )), "{csv}");

        let mut d5 = Register::parse(
            RegisterKind::D5,
            Path::new("d5.csv"),
            "security/d5.csv",
            "Secret,Scope,StorageMethod,RotationPolicy,Access Roles,Last Rotated,AuditLog\nDB password,prod,vault,90 days,ops,2026-01-01,link\n",
        )
        .unwrap();
        let f = SecretFact {
            rule: "secrets/aws-access-key".into(),
            path: "config/app.env".into(),
            line: 3,
        };
        let s = sync_secrets(&mut d5, std::slice::from_ref(&f), false);
        assert_eq!(s.added, ["secrets/aws-access-key at config/app.env:3"]);
        assert!(
            to_csv(&d5).contains(
                "secrets/aws-access-key at config/app.env:3,,plaintext in repository,,,,"
            )
        );
        // Fixed in the tree: the row is reported gone, the hand-written row never is.
        let s = sync_secrets(&mut d5, &[], false);
        assert_eq!(s.gone, ["secrets/aws-access-key at config/app.env:3"]);
        let s = sync_secrets(&mut d5, &[], true);
        assert_eq!(s.pruned.len(), 1);
        assert_eq!(d5.rows.len(), 1);
    }

    fn in_eco(eco: &str, name: &str, version: &str) -> ComponentFact {
        ComponentFact {
            ecosystem: Some(eco.into()),
            ..comp(name, version)
        }
    }

    #[test]
    fn the_same_name_in_two_ecosystems_is_two_components() {
        let mut r = d3(
            "Component,Version,License,Origin,Integrity,Known CVEs,UseScope,Replacement Policy,Owner\n\
             uuid,1.0,,,,,prod,,alice\n",
        );
        let facts = [
            in_eco("npm", "uuid", "1.0"),
            in_eco("crates.io", "uuid", "1.0"),
        ];
        let s = sync_components(&mut r, &facts, false);
        // The row states no ecosystem: the first fact (by name, version, ecosystem) takes it
        // and pins it; the other one gets its own row instead of overwriting it.
        assert_eq!(s.added, ["uuid 1.0 (npm)"]);
        assert_eq!(s.updated[0].0, "uuid 1.0 (crates.io)");
        assert!(s.gone.is_empty());
        let csv = to_csv(&r);
        assert_eq!(
            csv,
            "Component,Version,License,Origin,Integrity,Known CVEs,Use Scope,Replacement Policy,Owner,Ecosystem\n\
             uuid,1.0,MIT OR Apache-2.0,,sha256-abcd,GHSA-1; CVE-2,prod,,alice,crates.io\n\
             uuid,1.0,MIT OR Apache-2.0,,sha256-abcd,GHSA-1; CVE-2,,,,npm\n"
        );
        // Facts in another order, again: nothing moves.
        let again = sync_components(&mut r, &[facts[1].clone(), facts[0].clone()], false);
        assert!(!again.changed() && again.gone.is_empty(), "{again:?}");
        assert_eq!(to_csv(&r), csv);
        // A version bump follows each ecosystem's row; the other ecosystem's row is untouched.
        let s = sync_components(
            &mut r,
            &[
                in_eco("npm", "uuid", "2.0"),
                in_eco("crates.io", "uuid", "1.0"),
            ],
            false,
        );
        assert_eq!(s.updated, [("uuid 2.0 (npm)".to_string(), vec!["Version"])]);
        assert!(s.added.is_empty() && s.gone.is_empty(), "{s:?}");
    }

    #[test]
    fn an_ambiguous_bump_adds_rows_and_reports_the_old_one() {
        // One row without ecosystem, two new versions that could each be its bump: guessing
        // would give one of them the other's Owner, so both are added and the row reported.
        let mut r = d3(
            "Component,Version,License,Origin,Integrity,Known CVEs,UseScope,Replacement Policy,Owner\n\
             uuid,0.9,,,,,prod,,alice\n",
        );
        let s = sync_components(
            &mut r,
            &[
                in_eco("npm", "uuid", "1.0"),
                in_eco("crates.io", "uuid", "1.0"),
            ],
            false,
        );
        assert_eq!(s.added, ["uuid 1.0 (crates.io)", "uuid 1.0 (npm)"]);
        assert_eq!(s.gone, ["uuid 0.9"]);
    }

    #[test]
    fn quoting_and_normalisation_survive_a_sync() {
        // Quoted commas, doubled quotes and a newline in hand-written cells; `production` is
        // the Use Scope synonym for `prod`; `Med` in a free-text column is kept as written
        // (only enumerated columns are canonicalised).
        let mut r = d3(
            "Component,Version,License,Origin,Integrity,Known CVEs,UseScope,Replacement Policy,Owner\n\
             serde,1.0.0,MIT,\"a, \"\"b\"\"\",,,production,\"Med\npriority\",  carol  \n",
        );
        let s = sync_components(&mut r, &[comp("serde", "1.0.0")], false);
        assert_eq!(
            s.updated,
            [(
                "serde 1.0.0".to_string(),
                vec!["License", "Integrity", "Known CVEs"]
            )]
        );
        let csv = to_csv(&r);
        assert_eq!(
            csv,
            "Component,Version,License,Origin,Integrity,Known CVEs,Use Scope,Replacement Policy,Owner\n\
             serde,1.0.0,MIT OR Apache-2.0,\"a, \"\"b\"\"\",sha256-abcd,GHSA-1; CVE-2,prod,\"Med\npriority\",carol\n"
        );
        let back = d3(&csv);
        assert_eq!(
            back.rows[0].get(RegisterKind::D3, "Origin"),
            Some("a, \"b\"")
        );
        assert!(!sync_components(&mut d3(&csv), &[comp("serde", "1.0.0")], false).changed());
    }

    #[test]
    fn a_row_without_a_component_is_never_gone() {
        let mut r = d3(
            "Component,Version,License,Origin,Integrity,Known CVEs,UseScope,Replacement Policy,Owner\n\
             ,,,internal tool,,,tooling,,erin\n",
        );
        let s = sync_components(&mut r, &[comp("serde", "1.0.0")], true);
        assert!(s.gone.is_empty() && s.pruned.is_empty(), "{s:?}");
        assert_eq!(r.rows.len(), 2);
    }

    #[test]
    fn a_database_with_nothing_known_says_none() {
        let mut r = d3(
            "Component,Version,License,Origin,Integrity,Known CVEs,UseScope,Replacement Policy,Owner\n",
        );
        let mut f = comp("serde", "1.0.0");
        f.advisories = Some(vec![]);
        sync_components(&mut r, &[f], false);
        assert_eq!(r.rows[0].get(RegisterKind::D3, "Known CVEs"), Some("None"));
    }

    fn d5(text: &str) -> Register {
        Register::parse(
            RegisterKind::D5,
            Path::new("d5.csv"),
            "security/d5.csv",
            text,
        )
        .unwrap()
    }

    fn secret(rule: &str, path: &str, line: u32) -> SecretFact {
        SecretFact {
            rule: rule.into(),
            path: path.into(),
            line,
        }
    }

    #[test]
    fn a_secret_whose_line_moved_keeps_its_row() {
        let mut r = d5(
            "Secret,Scope,StorageMethod,RotationPolicy,Access Roles,Last Rotated,AuditLog\n\
             secrets/github-pat at config/app.env:3,prod,plaintext in repository,,ops,,\n\
             secrets/github-pat at other.env:3,prod,vault,,ops,,\n",
        );
        let s = sync_secrets(
            &mut r,
            &[secret("secrets/github-pat", "config/app.env", 5)],
            false,
        );
        assert_eq!(
            s.updated,
            [(
                "secrets/github-pat at config/app.env:5".to_string(),
                vec!["Secret"]
            )]
        );
        assert!(s.added.is_empty() && s.gone.is_empty(), "{s:?}");
        // The team's Scope and Access Roles stay on the row.
        assert!(to_csv(&r).contains(
            "secrets/github-pat at config/app.env:5,prod,plaintext in repository,,ops,,\n"
        ));
        // A hand-written row (not sync's Storage Method) is never followed or rewritten.
        let s = sync_secrets(
            &mut r,
            &[
                secret("secrets/github-pat", "config/app.env", 5),
                secret("secrets/github-pat", "other.env", 4),
            ],
            false,
        );
        assert_eq!(s.added, ["secrets/github-pat at other.env:4"]);
        assert!(to_csv(&r).contains("secrets/github-pat at other.env:3,prod,vault,,ops,,\n"));
    }

    proptest::proptest! {
        #[test]
        fn merging_never_panics_and_is_idempotent(
            names in proptest::collection::vec("[a-c]{1,2}", 0..6),
            versions in proptest::collection::vec("[0-2]\\.[0-2]", 0..6),
            ecos in proptest::collection::vec(0u8..3, 0..6),
            rows in proptest::collection::vec(("[a-c]{1,2}", "[0-2]\\.[0-2]", 0u8..3), 0..5),
            secrets in proptest::collection::vec(("[ab]", "[xy]", 1u32..4), 0..5),
            secret_rows in proptest::collection::vec(("[ab]", "[xy]", 1u32..4, proptest::bool::ANY), 0..4),
            prune in proptest::bool::ANY,
        ) {
            let eco = |e: u8| ["", "npm", "crates.io"][usize::from(e % 3)];
            let mut text = String::from("Component,Version,License,Origin,Integrity,Known CVEs,UseScope,Replacement Policy,Owner,Ecosystem\n");
            for (n, v, e) in &rows {
                text.push_str(&format!("{n},{v},,\"o, {n}\",,,,,owner-{n},{}\n", eco(*e)));
            }
            let mut r = d3(&text);
            let facts: Vec<ComponentFact> = names
                .iter()
                .zip(versions.iter())
                .zip(ecos.iter().chain(std::iter::repeat(&0)))
                .map(|((n, v), e)| ComponentFact {
                    ecosystem: Some(eco(*e).to_string()).filter(|e| !e.is_empty()),
                    ..comp(n, v)
                })
                .collect();
            sync_components(&mut r, &facts, prune);
            let once = to_csv(&r);
            let again = sync_components(&mut r, &facts, prune);
            proptest::prop_assert!(!again.changed(), "{:?}", again);
            proptest::prop_assert_eq!(to_csv(&r), once.clone());
            // Every hand-written Owner is still on a row with its component's name.
            for (n, _, _) in &rows {
                let owner = format!("owner-{n}");
                let kept = r.rows.iter().any(|row| {
                    row.get(RegisterKind::D3, "Owner") == Some(owner.as_str())
                        && row.get(RegisterKind::D3, "Component") == Some(n.as_str())
                });
                proptest::prop_assert!(prune || kept);
            }
            // What sync writes reads back as a valid register.
            proptest::prop_assert!(Register::parse(RegisterKind::D3, Path::new("x.csv"), "x.csv", &once).is_ok());

            let mut text = String::from("Secret,Scope,StorageMethod,RotationPolicy,Access Roles,Last Rotated,AuditLog\n");
            for (rule, path, line, owned) in &secret_rows {
                let storage = if *owned { PLAINTEXT_IN_REPOSITORY } else { "vault" };
                text.push_str(&format!("secrets/{rule} at {path}.env:{line},prod,{storage},,,,\n"));
            }
            let mut r = d5(&text);
            let facts: Vec<SecretFact> = secrets
                .iter()
                .map(|(rule, path, line)| secret(&format!("secrets/{rule}"), &format!("{path}.env"), *line))
                .collect();
            sync_secrets(&mut r, &facts, prune);
            let once = to_csv(&r);
            let again = sync_secrets(&mut r, &facts, prune);
            proptest::prop_assert!(!again.changed(), "{:?}", again);
            proptest::prop_assert_eq!(to_csv(&r), once);
            // Hand-written rows are never touched, unless the scanner still finds the very
            // secret they name in the tree: then it is plaintext in the repository whatever
            // the row said.
            for (rule, path, line, owned) in &secret_rows {
                let found = facts.iter().any(|f| {
                    f.rule == format!("secrets/{rule}") && f.path == format!("{path}.env") && f.line == *line
                });
                if !owned && !found {
                    let key = format!("secrets/{rule} at {path}.env:{line},prod,vault,,,,\n");
                    proptest::prop_assert!(to_csv(&r).contains(&key));
                }
            }
        }
    }
}

#[cfg(test)]
mod yaml_tests {
    use super::*;
    use crate::export::to_yaml;
    use std::path::Path;

    #[test]
    fn yaml_registers_round_trip_through_sync() {
        let text =
            "rows:\n  - Component: serde\n    Version: \"1.0\"\n    Owner: \"alice: lead\"\n";
        let mut r = Register::parse(
            RegisterKind::D3,
            Path::new("d3.yaml"),
            "security/d3.yaml",
            text,
        )
        .unwrap();
        sync_components(
            &mut r,
            &[ComponentFact {
                ecosystem: None,
                name: "serde".into(),
                version: "1.0".into(),
                licence: Some("MIT".into()),
                integrity: None,
                advisories: Some(vec![]),
            }],
            false,
        );
        let out = to_yaml(&r);
        assert_eq!(
            out,
            "rows:\n  - \"Component\": \"serde\"\n    \"Version\": \"1.0\"\n    \"Owner\": \"alice: lead\"\n    \"License\": \"MIT\"\n    \"Known CVEs\": \"None\"\n"
        );
        let back = Register::parse(
            RegisterKind::D3,
            Path::new("d3.yaml"),
            "security/d3.yaml",
            &out,
        )
        .unwrap();
        assert_eq!(back.rows[0].get(RegisterKind::D3, "License"), Some("MIT"));
        assert_eq!(
            back.rows[0].get(RegisterKind::D3, "Owner"),
            Some("alice: lead")
        );
    }
}
