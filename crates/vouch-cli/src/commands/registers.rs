//! `vouch register init|lint|report|threats|sync|export`: the D1–D7 security registers.

use std::path::{Path, PathBuf};

use anyhow::Result;
use clap::{Subcommand, ValueEnum};
use vouch_core::{Config, InputError, Report};
use vouch_registers::report::ReportInput;
use vouch_registers::threats::Flows;
use vouch_registers::{
    GateContext, Register, RegisterKind, RegistersConfig, gates, lint, load_all,
};
use vouch_report::RenderOptions;

use crate::cli::GlobalArgs;
use crate::output;

mod sync;

#[derive(Debug, Subcommand)]
pub enum RegisterCommand {
    /// Write starter files for D1–D7 under security/ (headers from the mini-spec) and the
    /// mini-spec's example rows under security/examples/. Existing files are kept.
    Init {
        #[arg(default_value = ".")]
        path: PathBuf,
    },
    /// Validate the registers and run their gates (D1 exit gate, D2 encryption and retention,
    /// D4 signatures, D5 rotation, D6 SLAs, D7 ladder and rehearsal). Exit 1 when a finding is at
    /// or above --fail-on; exit 2 names file, row and column of malformed input.
    Lint {
        #[arg(default_value = ".")]
        path: PathBuf,
    },
    /// Write the register report: --format html (one self-contained file: the findings report
    /// every vouch command writes — summary, findings by severity and rule with their fix —
    /// plus gate status, heat map, data-flow diagram, SLA status and the tables) or markdown.
    Report {
        #[arg(default_value = ".")]
        path: PathBuf,
        /// Data-flow model to draw [default: security/flows.yaml when present].
        #[arg(long, value_name = "FILE")]
        flows: Option<PathBuf>,
    },
    /// Propose STRIDE threats for every data flow that crosses a trust boundary, as D1 CSV rows
    /// (default) or draw the data-flow diagram (--format svg).
    Threats {
        /// The data-flow model (see docs/registers.md).
        #[arg(long = "from", value_name = "FLOWS.yaml")]
        from: PathBuf,
    },
    /// Fill D3, D4 and D5 from what vouch finds: D3 (Component, Version, Ecosystem, License,
    /// Integrity, Known CVEs) from the repository's lockfiles (or --sbom) and the OSV database,
    /// rows matched by ecosystem, name and version (a lone version bump updates its row); D4
    /// (Artifact Hash, Signature/Attestation) from a release's release.json (--release), a row
    /// per artifact; D5 gets a row per plaintext secret the secret scanner finds (rule and
    /// location, never the value), which `register lint` then reports. Hand-written columns are
    /// kept; components or secrets no longer found are reported and removed only with
    /// --prune. Missing register files are created; CSV stays CSV, YAML stays YAML. Running it
    /// twice changes nothing the second time. Prints what changed (+ added, ~ updated, -
    /// pruned, ? no longer found) on stderr; exit 0, or 2 on unreadable input.
    Sync {
        #[arg(default_value = ".")]
        path: PathBuf,
        /// Take D3's components from this CycloneDX/SPDX SBOM instead of scanning lockfiles.
        #[arg(long, value_name = "FILE")]
        sbom: Option<PathBuf>,
        /// The OSV database for Known CVEs [default: as for `vouch vuln scan`; without one,
        /// Known CVEs is left as it is].
        #[arg(long, value_name = "FILE")]
        db: Option<PathBuf>,
        /// A release directory (or its release.json) written by `vouch release`, for D4.
        #[arg(long, value_name = "DIR")]
        release: Option<PathBuf>,
        /// Do not run the secret scanner (D5 is left alone).
        #[arg(long)]
        no_secrets: bool,
        /// Remove rows whose component or secret is no longer found (hand-written D5 rows are
        /// never removed).
        #[arg(long)]
        prune: bool,
        /// Print what would change; write nothing.
        #[arg(long)]
        dry_run: bool,
    },
    /// Print one register as --format csv (normalised), json or markdown.
    Export {
        /// A register file, e.g. security/threat-model.csv.
        file: PathBuf,
    },
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum ReportFormat {
    Html,
    Markdown,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum ThreatsFormat {
    Csv,
    Svg,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum ExportFormat {
    Csv,
    Json,
    Markdown,
}

fn config(global: &GlobalArgs, root: &Path) -> Result<(Config, RegistersConfig)> {
    let config = crate::commands::check::load_config(global, root)?;
    let section: RegistersConfig = config.section("registers")?;
    Ok((config, section))
}

pub fn run(global: &GlobalArgs, cmd: RegisterCommand) -> Result<u8> {
    match cmd {
        RegisterCommand::Init { path } => {
            let (_, cfg) = config(global, &path)?;
            let written = vouch_registers::init(&path, cfg.dir())?;
            if !global.quiet {
                for p in &written {
                    eprintln!("wrote {}", p.display());
                }
                if written.is_empty() {
                    eprintln!(
                        "all registers already exist under {}",
                        path.join(cfg.dir()).display()
                    );
                }
            }
            Ok(0)
        }
        RegisterCommand::Lint { path } => {
            let (config, cfg) = config(global, &path)?;
            let today = output::today()?;
            let registers = load_all(&path, cfg.dir())?;
            if registers.is_empty() {
                return Err(
                    InputError::in_file(path.join(cfg.dir()), "no registers found")
                        .with_hint("run `vouch register init`")
                        .into(),
                );
            }
            let report = build_report(&path, &config, &cfg, &registers, today, global)?;
            let format = output::report_format(global)?;
            let bytes = vouch_report::render(
                &report,
                format,
                &RenderOptions {
                    root: Some(&path),
                    color: output::use_color(global),
                    title: "vouch register lint",
                },
            );
            output::emit(global, &bytes)?;
            Ok(report.exit_code())
        }
        RegisterCommand::Report { path, flows } => {
            let (config, cfg) = config(global, &path)?;
            let today = output::today()?;
            let registers = load_all(&path, cfg.dir())?;
            let report = build_report(&path, &config, &cfg, &registers, today, global)?;
            let flows_path = flows
                .or_else(|| Some(path.join(cfg.dir()).join("flows.yaml")).filter(|p| p.is_file()));
            let model = match &flows_path {
                Some(p) => Some(read_flows(p)?),
                None => None,
            };
            let input = ReportInput {
                registers: &registers,
                report: &report,
                flows: model.as_ref(),
                today,
                root: Some(&path),
            };
            let text = match output::format_as(global, ReportFormat::Html)? {
                ReportFormat::Html => vouch_registers::report::html(&input),
                ReportFormat::Markdown => vouch_registers::report::markdown(&input),
            };
            output::emit(global, text.as_bytes())?;
            Ok(0)
        }
        RegisterCommand::Threats { from } => {
            let model = read_flows(&from)?;
            let text = match output::format_as(global, ThreatsFormat::Csv)? {
                ThreatsFormat::Csv => {
                    vouch_registers::threats::to_csv(&vouch_registers::threats::propose(&model))
                }
                ThreatsFormat::Svg => format!("{}\n", vouch_registers::svg::dfd(&model)),
            };
            output::emit(global, text.as_bytes())?;
            Ok(0)
        }
        RegisterCommand::Sync {
            path,
            sbom,
            db,
            release,
            no_secrets,
            prune,
            dry_run,
        } => sync::run(
            global,
            &sync::Options {
                root: &path,
                sbom: sbom.as_deref(),
                db: db.as_deref(),
                release: release.as_deref(),
                secrets: !no_secrets,
                prune,
                dry_run,
            },
        ),
        RegisterCommand::Export { file } => {
            let stem = file.file_stem().and_then(|s| s.to_str()).unwrap_or("");
            let kind = RegisterKind::from_stem(stem).ok_or_else(|| {
                InputError::in_file(&file, "not a register file name").with_hint("register files are named threat-model, data-handling, sbom-licences, build-reproducibility, secrets, vulnerabilities or incident-response (.csv or .yaml)")
            })?;
            let register = Register::load(kind, &file, &file.display().to_string())?;
            let text = match output::format_as(global, ExportFormat::Csv)? {
                ExportFormat::Csv => vouch_registers::export::to_csv(&register),
                ExportFormat::Json => vouch_registers::export::to_json(&register),
                ExportFormat::Markdown => vouch_registers::export::to_markdown(&register),
            };
            output::emit(global, text.as_bytes())?;
            Ok(0)
        }
    }
}

fn read_flows(path: &Path) -> Result<Flows> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| InputError::in_file(path, format!("cannot read: {e}")))?;
    Ok(Flows::parse(path, &text)?)
}

/// Runs the gates and applies exceptions, rule overrides and the threshold, as `vouch check`.
fn build_report(
    root: &Path,
    config: &Config,
    cfg: &RegistersConfig,
    registers: &[Register],
    today: jiff::civil::Date,
    global: &GlobalArgs,
) -> Result<Report> {
    let gate = GateContext {
        today,
        allowed_licences: cfg.allowed_licences.clone(),
    };
    let mut findings = lint(registers, cfg.dir(), &gate);
    let exceptions = vouch_core::exceptions::ExceptionSet::discover(root)?;
    let rules = gates::rules();
    let meta = vouch_core::engine::settle_scoped(config, &mut findings, &exceptions, today, |e| {
        rules.iter().any(|r| e.names_rule(r.id))
    });
    findings.extend(meta);
    let mut report = Report::new(root.display().to_string());
    report.checks.push("registers".into());
    report.files_scanned = registers.len();
    report.findings = findings;
    let known: Vec<_> = rules
        .into_iter()
        .chain(vouch_core::exceptions::RULES.iter().copied())
        .map(vouch_core::rule::RuleInfo::from)
        .collect();
    let fail_on = vouch_core::engine::fail_on(global.fail_on.map(Into::into), config);
    report.finalize(fail_on, &known);
    Ok(report)
}
