//! `vouch secrets scan|baseline|inventory`: the secret scanner outside `vouch check`.

use std::path::{Path, PathBuf};

use anyhow::Result;
use clap::{Args, Subcommand};
use vouch_core::exceptions::ExceptionSet;
use vouch_core::{Finding, InputError, Report, Severity};
use vouch_report::RenderOptions;
use vouch_secrets::baseline::Baseline;
use vouch_secrets::check::SecretsConfig;
use vouch_secrets::inventory::{self, Inventory};
use vouch_secrets::{git, report};

use crate::cli::GlobalArgs;
use crate::commands::check::load_config;
use crate::output;

#[derive(Debug, Subcommand)]
pub enum SecretsCommand {
    /// Scan files, the git history (--git) or the staged changes (--staged) for credentials.
    ///
    /// Secrets are always redacted in the output (first 4 characters, length and a hash).
    /// Findings are suppressed by `vouch:allow` on the line, .vouch/exceptions.yaml and
    /// --baseline. Exit 1 when an unsuppressed finding is at or above --fail-on (default: low,
    /// i.e. any secret).
    Scan(ScanArgs),

    /// Write a baseline of the current findings (JSON, no secret material) for --baseline.
    Baseline(ScanArgs),

    /// Render the secrets inventory (.vouch/secrets.yaml) as the register security/secrets.csv.
    Inventory(InventoryArgs),
}

#[derive(Debug, Args)]
pub struct ScanArgs {
    /// Files or directories to scan (with --git/--staged: the repository).
    #[arg(default_value = ".")]
    pub paths: Vec<PathBuf>,

    /// Scan every commit of the git history instead of the working tree.
    #[arg(long)]
    pub git: bool,

    /// With --git: only commits not reachable from REV (`origin/main` in a pre-push hook).
    #[arg(long, value_name = "REV", requires = "git")]
    pub since: Option<String>,

    /// Scan what is staged for the next commit (a pre-commit hook).
    #[arg(long, conflicts_with = "git")]
    pub staged: bool,

    /// Suppress the findings listed in this baseline file (`vouch secrets baseline`).
    #[arg(long, value_name = "FILE")]
    pub baseline: Option<PathBuf>,

    /// Do not open zip/jar/tar.gz archives.
    #[arg(long)]
    pub no_archives: bool,

    /// Do not decode base64 blobs.
    #[arg(long)]
    pub no_base64: bool,
}

#[derive(Debug, Args)]
pub struct InventoryArgs {
    /// The repository root.
    #[arg(default_value = ".")]
    pub path: PathBuf,

    /// The inventory file, relative to the root.
    #[arg(long, value_name = "FILE", default_value = inventory::INVENTORY_FILE)]
    pub inventory: String,

    /// Also scan the working tree and add a row per secret found (one row per value, however
    /// many files hold it; encrypted keys are not described as plaintext).
    #[arg(long)]
    pub scan: bool,
}

pub fn run(global: &GlobalArgs, cmd: SecretsCommand) -> Result<u8> {
    match cmd {
        SecretsCommand::Scan(args) => scan_command(global, args),
        SecretsCommand::Baseline(args) => baseline_command(global, args),
        SecretsCommand::Inventory(args) => inventory_command(global, args),
    }
}

/// The scan shared by `scan` and `baseline`: findings (before baseline/exceptions), warnings,
/// files or blobs scanned.
struct Scanned {
    /// Metadata of the custom rules of vouch.toml.
    custom: Vec<&'static vouch_core::Rule>,
    findings: Vec<Finding>,
    warnings: Vec<String>,
    files: usize,
    root: PathBuf,
    config: vouch_core::Config,
}

fn scan(global: &GlobalArgs, args: &ScanArgs) -> Result<Scanned> {
    for p in &args.paths {
        if !p.exists() {
            return Err(InputError::in_file(p, "no such file or directory").into());
        }
    }
    let root = args
        .paths
        .first()
        .cloned()
        .unwrap_or_else(|| PathBuf::from("."));
    let config = load_config(global, &root)?;
    let section = config.section::<SecretsConfig>("secrets")?;
    let mut options = section.scan_options();
    if args.no_archives {
        options.archives = false;
    }
    if args.no_base64 {
        options.base64 = false;
    }
    let scanner = vouch_secrets::custom::scanner(options, &section.rules, config.path())?;
    let max_size = config
        .max_file_size
        .unwrap_or(vouch_core::walk::DEFAULT_MAX_FILE_SIZE);
    let mut findings = Vec::new();
    let mut warnings = Vec::new();
    let mut files = 0;

    if args.git || args.staged {
        if args.paths.len() > 1 {
            return Err(InputError::new("--git and --staged take one repository").into());
        }
        if args.staged {
            let out = git::scan_staged(&scanner, &root, max_size).map_err(InputError::from)?;
            warnings.extend(out.warnings);
            findings.extend(out.hits.iter().map(report::finding));
            report::group_same_secret(&mut findings);
        } else {
            let out = git::scan_history(&scanner, &root, args.since.as_deref(), max_size)
                .map_err(InputError::from)?;
            files = out.blobs;
            warnings.extend(out.warnings);
            for h in &out.hits {
                let mut f = report::finding(&h.hit);
                let n = h
                    .sites
                    .iter()
                    .map(|s| &s.commit)
                    .collect::<std::collections::BTreeSet<_>>()
                    .len();
                f.message.push_str(&format!(
                    "; introduced in {n} commit{} (first {}){}",
                    if n == 1 { "" } else { "s" },
                    h.sites
                        .first()
                        .map(|s| &s.commit[..12.min(s.commit.len())])
                        .unwrap_or(""),
                    if h.in_head {
                        ", still in HEAD"
                    } else {
                        ", no longer in HEAD but still in history: rotate it"
                    }
                ));
                let sites: Vec<serde_json::Value> = h
                    .sites
                    .iter()
                    .map(|s| serde_json::json!({"commit": s.commit, "path": s.path}))
                    .collect();
                f = f
                    .with_property("commits", sites)
                    .with_property("in_head", h.in_head);
                findings.push(f);
            }
            report::group_same_secret(&mut findings);
        }
    } else {
        for p in &args.paths {
            let prefix = if args.paths.len() > 1 && p.is_dir() {
                format!("{}/", vouch_core::walk::to_slash(p).trim_end_matches('/'))
            } else {
                String::new()
            };
            let opts = vouch_core::walk::WalkOptions {
                max_file_size: max_size,
                ignore: config.ignore.clone(),
            };
            let out = vouch_secrets::tree::scan_tree(&scanner, p, &opts, &prefix)?;
            files += out.files;
            findings.extend(out.findings);
            warnings.extend(out.warnings);
        }
    }
    findings.sort_by(|a, b| a.sort_key().cmp(&b.sort_key()));
    vouch_core::fingerprint::disambiguate(&mut findings);
    let root = if root.is_dir() {
        root
    } else {
        root.parent().map(Path::to_path_buf).unwrap_or_default()
    };
    // Suppressions a repository kept for gitleaks.
    if let Some(g) = vouch_secrets::gitleaks::GitleaksIgnore::discover(&root)? {
        g.apply(&mut findings);
    }
    Ok(Scanned {
        custom: scanner.custom_metadata(),
        findings,
        warnings,
        files,
        root,
        config,
    })
}

fn scan_command(global: &GlobalArgs, args: ScanArgs) -> Result<u8> {
    let format = output::report_format(global)?;
    let mut s = scan(global, &args)?;
    let section = s.config.section::<SecretsConfig>("secrets")?;
    let baseline_path = args
        .baseline
        .clone()
        .or_else(|| section.baseline.as_ref().map(|b| s.root.join(b)));
    if let Some(b) = baseline_path {
        Baseline::load(&b)?.apply(&mut s.findings);
    }
    // Exceptions and [rules] as in `vouch check`; only exceptions about secret rules are
    // judged (expired, stale) here.
    let exceptions = ExceptionSet::discover(&s.root)?;
    let today = output::today()?;
    let rule_ids: Vec<&str> = vouch_secrets::rules::metadata()
        .iter()
        .map(|r| r.id)
        .collect();
    let meta =
        vouch_core::engine::settle_scoped(&s.config, &mut s.findings, &exceptions, today, |e| {
            rule_ids.iter().any(|id| e.names_rule(id))
        });
    s.findings.extend(meta);

    let mut report = Report::new(
        args.paths
            .iter()
            .map(|p| p.display().to_string())
            .collect::<Vec<_>>()
            .join(" "),
    );
    report.checks.push("secrets".to_string());
    report.files_scanned = s.files;
    report.findings = s.findings;
    report.warnings = s.warnings;
    let fail_on = global.fail_on.map(Into::into).unwrap_or(Severity::Low);
    let mut known: Vec<vouch_core::rule::RuleInfo> = vouch_secrets::rules::metadata()
        .into_iter()
        .chain(s.custom.iter().copied())
        .map(Into::into)
        .collect();
    known.extend(vouch_core::exceptions::RULES.iter().map(|r| (*r).into()));
    report.finalize(fail_on, &known);
    if format != vouch_report::Format::Text {
        for w in &report.warnings {
            output::warn(global, w);
        }
    }
    let root = if args.git || args.staged {
        None
    } else {
        vouch_secrets::report::source_root(args.paths[0].as_path())
    };
    let mut bytes = vouch_report::render(
        &report,
        format,
        &RenderOptions {
            root,
            color: output::use_color(global),
            title: "vouch secrets scan",
        },
    );
    // One value in several places is one secret: say so above the summary line.
    if format == vouch_report::Format::Text
        && let Some(line) = report::distinct_summary(&report.findings)
    {
        let cut = bytes[..bytes.len().saturating_sub(1)]
            .iter()
            .rposition(|b| *b == b'\n')
            .map_or(0, |i| i + 1);
        let tail = bytes.split_off(cut);
        bytes.extend_from_slice(line.as_bytes());
        bytes.push(b'\n');
        bytes.extend_from_slice(&tail);
    }
    output::emit(global, &bytes)?;
    Ok(report.exit_code())
}

fn baseline_command(global: &GlobalArgs, args: ScanArgs) -> Result<u8> {
    if args.baseline.is_some() {
        return Err(InputError::new(
            "`vouch secrets baseline` writes a baseline; it does not read one",
        )
        .with_hint("drop --baseline")
        .into());
    }
    let s = scan(global, &args)?;
    for w in &s.warnings {
        output::warn(global, w);
    }
    let baseline = Baseline::from_findings(&s.findings);
    output::emit(global, &baseline.to_json())?;
    if global.output.is_some() {
        info(
            global,
            &format!("baseline of {} finding(s) written", baseline.findings.len()),
        );
    }
    Ok(0)
}

fn inventory_command(global: &GlobalArgs, args: InventoryArgs) -> Result<u8> {
    let file = args.path.join(&args.inventory);
    if !file.is_file() {
        return Err(InputError::in_file(&file, "no secrets inventory here")
            .with_hint("create .vouch/secrets.yaml (see docs/secrets.md#inventory)")
            .into());
    }
    let inv = Inventory::load(&file, &args.inventory)?;
    let csv = if args.scan {
        let config = load_config(global, &args.path)?;
        let section = config.section::<SecretsConfig>("secrets")?;
        let scanner =
            vouch_secrets::custom::scanner(section.scan_options(), &section.rules, config.path())?;
        let opts = vouch_core::walk::WalkOptions {
            max_file_size: config
                .max_file_size
                .unwrap_or(vouch_core::walk::DEFAULT_MAX_FILE_SIZE),
            ignore: config.ignore.clone(),
        };
        let mut findings =
            vouch_secrets::tree::scan_tree(&scanner, &args.path, &opts, "")?.findings;
        if let Some(g) = vouch_secrets::gitleaks::GitleaksIgnore::discover(&args.path)? {
            g.apply(&mut findings);
        }
        inv.to_csv_with_found(&inventory::found_secrets(&findings))
    } else {
        inv.to_csv()
    };
    let out = global
        .output
        .clone()
        .unwrap_or_else(|| args.path.join(inventory::REGISTER_FILE));
    if let Some(dir) = out.parent()
        && !dir.as_os_str().is_empty()
    {
        std::fs::create_dir_all(dir)
            .map_err(|e| InputError::in_file(dir, format!("cannot create directory: {e}")))?;
    }
    output::write_atomic(&out, csv.as_bytes())?;
    let today = output::today()?;
    let problems = inv.check(today);
    for f in &problems {
        output::warn(
            global,
            &format!(
                "{}:{}: {} [{}]",
                f.location.path,
                f.location.line().unwrap_or(0),
                f.message,
                f.rule
            ),
        );
    }
    info(
        global,
        &format!(
            "{} secret(s) written to {}; {} problem(s) (reported by `vouch check` too)",
            inv.entries.len(),
            out.display(),
            problems.len()
        ),
    );
    Ok(0)
}

/// A status line on stderr unless `--quiet`.
fn info(global: &GlobalArgs, message: &str) {
    if !global.quiet {
        eprintln!("{message}");
    }
}
