//! `vouch register sync`: gathers the facts (SBOM scan or file, OSV database, release
//! manifest, secret scan) and hands them to `vouch_registers::sync`, which merges them into
//! D3, D4 and D5. This file only wires and writes; the merge rules live in the crate.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::Result;
use vouch_core::InputError;
use vouch_registers::sync::{
    self, ArtifactFact, ComponentFact, SecretFact, Summary, sync_artifacts, sync_components,
    sync_secrets,
};
use vouch_registers::{Register, RegisterKind, discover};
use vouch_sbom::{HashAlg, Inventory};
use vouch_secrets::Scanner;
use vouch_secrets::check::SecretsConfig;

use crate::cli::GlobalArgs;
use crate::output;

/// Advisory ids per component purl (unique within an inventory, and carried by each vuln
/// finding, so the two sides cannot disagree on ecosystem spelling or name normalisation).
type Advisories = BTreeMap<String, Vec<String>>;

pub struct Options<'a> {
    pub root: &'a Path,
    pub sbom: Option<&'a Path>,
    pub db: Option<&'a Path>,
    pub release: Option<&'a Path>,
    pub secrets: bool,
    pub prune: bool,
    pub dry_run: bool,
}

pub fn run(global: &GlobalArgs, o: &Options<'_>) -> Result<u8> {
    let (config, cfg) = super::config(global, o.root)?;
    let dir = cfg.dir();
    let found = discover(o.root, dir)?;
    let mut plans: Vec<(PathBuf, Register, Summary)> = Vec::new();

    // D3 from the SBOM and the vulnerability database.
    let inventory = match o.sbom {
        Some(f) => vouch_sbom::read_sbom(f)?,
        None => vouch_sbom::scan(o.root)?,
    };
    let advisories = advisories(global, o, &inventory)?;
    let components = component_facts(&inventory, advisories.as_ref());
    let (path, mut d3) = load_or_new(&found, o.root, dir, RegisterKind::D3)?;
    let s = sync_components(&mut d3, &components, o.prune);
    plans.push((path, d3, s));

    // D4 from the release manifest.
    if let Some(rel) = o.release {
        let rel_dir = if rel.is_file() {
            rel.parent().map(Path::to_path_buf).unwrap_or_default()
        } else {
            rel.to_path_buf()
        };
        let loaded = vouch_gate::release::load(&rel_dir)?;
        // Bundles are named relative to the repository when the release sits inside it,
        // else by their names in release.json: never by a path of this machine, which would
        // make the register differ from one checkout to the next.
        let real = |p: &Path| std::fs::canonicalize(p).or_else(|_| std::path::absolute(p));
        let base = match (real(&loaded.dir), real(o.root)) {
            (Ok(d), Ok(r)) => d.strip_prefix(&r).ok().map(Path::to_path_buf),
            _ => None,
        };
        let shown = |p: &str| {
            base.as_ref()
                .map_or_else(|| PathBuf::from(p), |b| b.join(p))
                .to_string_lossy()
                .replace('\\', "/")
        };
        let attestations: Vec<String> = loaded
            .manifest
            .attestations
            .iter()
            .map(|a| shown(&a.bundle))
            .collect();
        let artifacts: Vec<ArtifactFact> = loaded
            .manifest
            .artifacts
            .iter()
            .map(|a| ArtifactFact {
                name: a.name.clone(),
                sha256: a.sha256.clone(),
                evidence: std::iter::once(shown(&a.signature))
                    .chain(attestations.iter().cloned())
                    .collect(),
            })
            .collect();
        let (path, mut d4) = load_or_new(&found, o.root, dir, RegisterKind::D4)?;
        let s = sync_artifacts(&mut d4, &artifacts);
        plans.push((path, d4, s));
    }

    // D5 from the secret scanner: locations and rule ids only.
    if o.secrets {
        let facts = secret_facts(&config, o.root)?;
        let (path, mut d5) = load_or_new(&found, o.root, dir, RegisterKind::D5)?;
        let s = sync_secrets(&mut d5, &facts, o.prune);
        plans.push((path, d5, s));
    }

    let mut out = String::new();
    for (path, reg, s) in &plans {
        describe(&mut out, &reg.path, s);
        if s.changed() && !o.dry_run {
            let text = if reg.path.ends_with(".yaml") || reg.path.ends_with(".yml") {
                // The file's heading comments stay; the rows are rewritten.
                let old = std::fs::read_to_string(path).unwrap_or_default();
                let head = vouch_registers::export::yaml_preamble(&old);
                format!("{head}{}", vouch_registers::export::to_yaml(reg))
            } else {
                vouch_registers::export::to_csv_as_written(reg)
            };
            if let Some(parent) = path.parent() {
                std::fs::create_dir_all(parent).map_err(|e| {
                    InputError::in_file(parent, format!("cannot create directory: {e}"))
                })?;
            }
            output::write_atomic(path, text.as_bytes())?;
        }
    }
    if o.dry_run {
        out.push_str("(dry run: nothing written)\n");
    }
    if !global.quiet {
        eprint!("{out}");
    }
    Ok(0)
}

/// The register file of `kind`, or a new one with the starter columns.
fn load_or_new(
    found: &[vouch_registers::Found],
    root: &Path,
    dir: &str,
    kind: RegisterKind,
) -> Result<(PathBuf, Register)> {
    match found.iter().find(|f| f.kind == kind) {
        Some(f) => Ok((f.full.clone(), Register::load(kind, &f.full, &f.rel)?)),
        None => {
            let rel = format!("{}/{}.csv", dir.trim_end_matches('/'), kind.stem());
            Ok((root.join(&rel), sync::empty(kind, &rel)))
        }
    }
}

fn describe(out: &mut String, path: &str, s: &Summary) {
    use std::fmt::Write as _;
    if !s.changed() && s.gone.is_empty() {
        let _ = writeln!(out, "{path}: up to date");
        return;
    }
    let _ = writeln!(
        out,
        "{path}: {} added, {} updated, {} pruned, {} no longer found",
        s.added.len(),
        s.updated.len(),
        s.pruned.len(),
        s.gone.len()
    );
    for a in &s.added {
        let _ = writeln!(out, "  + {a}");
    }
    for (k, cols) in &s.updated {
        let _ = writeln!(out, "  ~ {k}: {}", cols.join(", "));
    }
    for p in &s.pruned {
        let _ = writeln!(out, "  - {p}");
    }
    for g in &s.gone {
        let _ = writeln!(out, "  ? {g} (no longer found; kept, --prune removes it)");
    }
}

/// Advisory ids per (name, version) from the OSV database, or `None` without a database
/// (then Known CVEs is left alone). An explicit `--db` that cannot be opened is an error.
fn advisories(
    global: &GlobalArgs,
    o: &Options<'_>,
    inventory: &Inventory,
) -> Result<Option<Advisories>> {
    let path = match crate::commands::db::find_db(global, o.db) {
        Ok(p) => p,
        Err(_) if o.db.is_none() => {
            if !global.quiet {
                eprintln!(
                    "no vulnerability database: Known CVEs is left as it is (build one with `vouch db build`, or pass --db)"
                );
            }
            return Ok(None);
        }
        Err(e) => return Err(e),
    };
    let mut db = vouch_vuln::Database::open(&path).map_err(InputError::from)?;
    let packages = vouch_vuln::scan::packages_from_inventory(inventory);
    let result = vouch_vuln::scan::scan(&mut db, &packages).map_err(InputError::from)?;
    let mut map: Advisories = BTreeMap::new();
    for f in &result.findings {
        let Some(purl) = f.properties.get("purl").and_then(|v| v.as_str()) else {
            continue;
        };
        let id = f.rule.strip_prefix("vuln/").unwrap_or(&f.rule).to_string();
        map.entry(purl.to_string()).or_default().push(id);
    }
    for ids in map.values_mut() {
        ids.sort();
        ids.dedup();
    }
    Ok(Some(map))
}

fn component_facts(inventory: &Inventory, advisories: Option<&Advisories>) -> Vec<ComponentFact> {
    let packages = vouch_vuln::scan::packages_from_inventory(inventory);
    inventory
        .components
        .iter()
        .zip(packages)
        .map(|(c, p)| {
            // The strongest hash the lockfile records, as `<alg>:<hex>` like D4's
            // `sha256:` and the mini-spec's D3 example (lockfiles' own SRI strings are base64
            // in npm and hex in Cargo; one form keeps the column comparable).
            let integrity = [
                HashAlg::Sha512,
                HashAlg::Sha384,
                HashAlg::Sha256,
                HashAlg::Sha1,
            ]
            .iter()
            .find_map(|alg| c.hashes.iter().find(|h| h.alg == *alg))
            .map(|h| {
                format!(
                    "{}:{}",
                    h.alg.cyclonedx().to_ascii_lowercase().replace('-', ""),
                    h.value
                )
            });
            ComponentFact {
                ecosystem: Some(p.ecosystem.clone()).filter(|e| !e.is_empty()),
                name: p.name.clone(),
                version: c.version.clone(),
                licence: (!c.licenses.is_empty()).then(|| {
                    if c.licenses.len() == 1 {
                        c.licenses[0].clone()
                    } else {
                        c.licenses
                            .iter()
                            .map(|l| format!("({l})"))
                            .collect::<Vec<_>>()
                            .join(" AND ")
                    }
                }),
                integrity,
                advisories: advisories.map(|m| m.get(&c.purl).cloned().unwrap_or_default()),
            }
        })
        .collect()
}

/// Plaintext secrets in the working tree (the walker's ignore rules, inline `vouch:allow` and
/// `.vouch/exceptions.yaml` apply), as rule + location. The values never leave the scanner.
fn secret_facts(config: &vouch_core::Config, root: &Path) -> Result<Vec<SecretFact>> {
    let section = config.section::<SecretsConfig>("secrets")?;
    let scanner = Scanner::new(section.scan_options()).map_err(InputError::from)?;
    let opts = vouch_core::walk::WalkOptions {
        max_file_size: config
            .max_file_size
            .unwrap_or(vouch_core::walk::DEFAULT_MAX_FILE_SIZE),
        ignore: config.ignore.clone(),
    };
    let mut findings = vouch_secrets::tree::scan_tree(&scanner, root, &opts, "")?.findings;
    let exceptions = vouch_core::exceptions::ExceptionSet::discover(root)?;
    let today = output::today()?;
    let _meta =
        vouch_core::engine::settle_scoped(config, &mut findings, &exceptions, today, |_| false);
    Ok(findings
        .iter()
        .filter(|f| f.suppressed_by.is_none())
        .filter(|f| f.rule.starts_with("secrets/"))
        .map(|f| SecretFact {
            rule: f.rule.clone(),
            path: f.location.path.clone(),
            line: f.location.region.as_ref().map(|r| r.line).unwrap_or(0),
        })
        .collect())
}
