//! `vouch vuln scan|report|vex`: the vulnerability gate.

use std::path::{Path, PathBuf};

use anyhow::Result;
use clap::{Args, Subcommand, ValueEnum};
use vouch_core::exceptions::ExceptionSet;
use vouch_core::{InputError, Report};
use vouch_report::RenderOptions;
use vouch_vuln::db::Database;
use vouch_vuln::freshness::{self, STALE_DATABASE};
use vouch_vuln::scan::VULNERABLE_DEPENDENCY;
use vouch_vuln::sla::{self, SLA_OVERDUE, State, VulnConfig};
use vouch_vuln::{register, scan, vex};

use crate::cli::GlobalArgs;
use crate::commands::db::{find_db, vuln_config};
use crate::output;

#[derive(Debug, Subcommand)]
pub enum VulnCommand {
    /// Check the packages of an SBOM against the OSV database.
    ///
    /// One finding per vulnerability per package, listing every id it is known by (GHSA, CVE,
    /// PYSEC, RUSTSEC, GO), with severity and CVSS score, and the nearest version that fixes
    /// every vulnerability found in that package. Withdrawn advisories are never reported.
    /// VEX statements (`--vex`) and .vouch/exceptions.yaml suppress findings and so change
    /// the exit code. Exit 1 when an active finding is at or above --fail-on (default high).
    Scan(ScanArgs),
    /// Write seed register D6 (Source, CVE/Issue, Affected, Severity, Decision, SLA, Status,
    /// Evidence) for an SBOM; `--format csv` (default) or `markdown`.
    Report(ScanArgs),
    /// Write an OpenVEX document from the `vuln:` decisions in .vouch/exceptions.yaml.
    Vex(VexArgs),
}

#[derive(Debug, Args)]
pub struct ScanArgs {
    /// A project directory (its lockfiles and manifests, and SBOM files: *.cdx.json,
    /// bom.json, *.spdx.json, *.spdx), a single lockfile, a CycloneDX / SPDX SBOM, or a
    /// container image in a registry (pulled, then scanned as a saved image).
    pub path: PathBuf,
    #[command(flatten)]
    pub registry: crate::registry::RegistryArgs,
    /// Accept a directory without any package source (or an SBOM without components)
    /// instead of failing with exit 2.
    #[arg(long)]
    pub allow_empty: bool,
    /// The OSV database [default: [vuln] db in vouch.toml, .vouch/osv.db, $VOUCH_DB,
    /// ~/.cache/vouch/osv.db].
    #[arg(long, value_name = "FILE")]
    pub db: Option<PathBuf>,
    /// OpenVEX or CycloneDX VEX documents to apply (repeatable).
    #[arg(long = "vex", value_name = "FILE")]
    pub vex: Vec<PathBuf>,
    /// First-seen state for SLAs [default: .vouch/vuln-state.json].
    #[arg(long, value_name = "FILE")]
    pub state: Option<PathBuf>,
    /// Record vulnerabilities seen for the first time today in the state file (commit it).
    #[arg(long)]
    pub update_state: bool,
}

#[derive(Debug, Args)]
pub struct VexArgs {
    /// Directory holding .vouch/exceptions.yaml.
    #[arg(default_value = ".")]
    pub path: PathBuf,
    /// The document's author.
    #[arg(long, default_value = "vouch")]
    pub author: String,
    /// Product purl the statements apply to (repeatable); without it the statements apply
    /// to whatever the document is attached to.
    #[arg(long = "product", value_name = "PURL")]
    pub products: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum RegisterFormat {
    Csv,
    Markdown,
}

pub fn run(global: &GlobalArgs, cmd: VulnCommand) -> Result<u8> {
    match cmd {
        VulnCommand::Scan(args) => run_scan(global, args),
        VulnCommand::Report(args) => run_report(global, args),
        VulnCommand::Vex(args) => run_vex(global, args),
    }
}

struct Scanned {
    report: Report,
    state: State,
    state_path: PathBuf,
    config: VulnConfig,
}

fn scan_sbom(global: &GlobalArgs, args: &ScanArgs) -> Result<Scanned> {
    let config = vuln_config(global)?;
    let pulled = crate::commands::image::pull_for_scan(global, &args.path, &args.registry)?;
    let scanned = pulled.as_ref().map_or(args.path.as_path(), |d| d.path());
    let rel = args.path.display().to_string();
    let collected = scan::collect(scanned, args.allow_empty)?;
    let (packages, without_purl, products) = (
        collected.packages,
        collected.without_purl,
        collected.products,
    );
    let db_path = find_db(global, args.db.as_deref())?;
    let mut db = Database::open(&db_path).map_err(InputError::from)?;
    let result = scan::scan(&mut db, &packages).map_err(InputError::from)?;
    let mut findings = result.findings;
    let mut report = Report::new(rel);
    report.warnings = collected.warnings;
    report.warnings.extend(result.warnings);
    // How old the data is, and whether that is too old ([vuln] max_db_age).
    let age = freshness::age(&db, age_now()?).map_err(InputError::from)?;
    let shown_db = db_path.display().to_string();
    report.warnings.push(age.describe(&shown_db));
    findings.extend(age.judge(&shown_db, config.max_db_age));
    if without_purl > 0 {
        report.warnings.push(format!(
            "{}: {} component(s) without a versioned purl were not checked",
            args.path.display(),
            without_purl
        ));
    }
    for v in &args.vex {
        let text = std::fs::read_to_string(v)
            .map_err(|e| InputError::in_file(v, format!("cannot read: {e}")))?;
        let statements = vex::parse(v, &text)?;
        vex::apply(&statements, &mut findings, None);
        for product in &products {
            vex::apply(&statements, &mut findings, Some(product));
        }
    }
    let today = output::today()?;
    let state_path = args
        .state
        .clone()
        .unwrap_or_else(|| PathBuf::from(sla::STATE_FILE));
    let mut state = State::load(&state_path)?;
    if args.update_state {
        state.update(&findings, today);
    }
    let overdue = sla::overdue(&findings, &state, &config.sla, today);
    findings.extend(overdue);
    let exceptions = ExceptionSet::discover(Path::new("."))?;
    let meta_config = crate::commands::check::load_config(global, Path::new("."))?;
    // Only exceptions about vulnerabilities are judged (expired, stale) here.
    let meta =
        vouch_core::engine::settle_scoped(&meta_config, &mut findings, &exceptions, today, |e| {
            e.vuln.is_some()
                || [&VULNERABLE_DEPENDENCY, &SLA_OVERDUE, &STALE_DATABASE]
                    .iter()
                    .any(|r| e.names_rule(r.id))
        });
    findings.extend(meta);
    report.findings = findings;
    report.files_scanned = collected.files.len().max(1);
    report.checks.push("vuln".into());
    let fail_on = vouch_core::engine::fail_on(global.fail_on.map(Into::into), &meta_config);
    let known: Vec<vouch_core::rule::RuleInfo> =
        [&VULNERABLE_DEPENDENCY, &SLA_OVERDUE, &STALE_DATABASE]
            .into_iter()
            .chain(vouch_core::exceptions::RULES.iter().copied())
            .map(Into::into)
            .collect();
    report.finalize(fail_on, &known);
    Ok(Scanned {
        report,
        state,
        state_path,
        config,
    })
}

/// "Now" for the database's age: `VOUCH_NOW`, else midnight (UTC) of `VOUCH_TODAY`, else the
/// clock, so that a run pinned to a past day judges the database as on that day.
pub(crate) fn age_now() -> Result<jiff::Timestamp> {
    if std::env::var_os("VOUCH_NOW").is_none() && std::env::var_os("VOUCH_TODAY").is_some() {
        let day = output::today()?;
        if let Ok(t) = format!("{day}T00:00:00Z").parse() {
            return Ok(t);
        }
    }
    output::now()
}

fn run_scan(global: &GlobalArgs, args: ScanArgs) -> Result<u8> {
    let format = output::report_format(global)?;
    let scanned = scan_sbom(global, &args)?;
    if args.update_state {
        if let Some(dir) = scanned
            .state_path
            .parent()
            .filter(|d| !d.as_os_str().is_empty())
        {
            std::fs::create_dir_all(dir)
                .map_err(|e| InputError::in_file(dir, format!("cannot create: {e}")))?;
        }
        output::write_atomic(&scanned.state_path, &scanned.state.to_bytes())?;
    }
    if format != vouch_report::Format::Text {
        for w in &scanned.report.warnings {
            output::warn(global, w);
        }
    }
    let bytes = vouch_report::render(
        &scanned.report,
        format,
        &RenderOptions {
            root: Some(Path::new(".")),
            color: output::use_color(global),
            title: "vouch vuln scan",
        },
    );
    output::emit(global, &bytes)?;
    Ok(scanned.report.exit_code())
}

fn run_report(global: &GlobalArgs, args: ScanArgs) -> Result<u8> {
    let format = output::format_as(global, RegisterFormat::Csv)?;
    let scanned = scan_sbom(global, &args)?;
    for w in &scanned.report.warnings {
        output::warn(global, w);
    }
    let rows = register::rows(&scanned.report, &scanned.config.sla, &scanned.state);
    let text = match format {
        RegisterFormat::Csv => register::to_csv(&rows),
        RegisterFormat::Markdown => register::to_markdown(&rows),
    };
    output::emit(global, text.as_bytes())?;
    Ok(0)
}

fn run_vex(global: &GlobalArgs, args: VexArgs) -> Result<u8> {
    let set = ExceptionSet::discover(&args.path)?;
    for p in &args.products {
        if vouch_vuln::purl::parse(p).is_none() {
            return Err(
                InputError::new(format!("--product `{p}` is not a package URL"))
                    .with_hint("use a purl such as pkg:pypi/jinja2@2.10")
                    .into(),
            );
        }
    }
    let ts = vouch_vuln::db::build_time();
    let bytes = vex::openvex_from_exceptions(&set, &args.author, &ts, &args.products);
    output::emit(global, &bytes)?;
    Ok(0)
}
