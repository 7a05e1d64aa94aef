//! `vouch ci audit [PATH]...`: the `workflow/*` audits on GitHub Actions workflows and
//! composite actions, as a report of its own.

use std::path::{Path, PathBuf};

use anyhow::Result;
use clap::{Args, Subcommand};
use vouch_core::exceptions::ExceptionSet;
use vouch_core::walk::{self, WalkOptions};
use vouch_core::{InputError, Report, Severity, engine};
use vouch_report::RenderOptions;
use vouch_workflow::Settings;

use crate::cli::GlobalArgs;
use crate::commands::check::load_config;
use crate::output;

#[derive(Debug, Subcommand)]
pub enum CiCommand {
    /// Audit GitHub Actions workflows and composite actions (offline).
    ///
    /// Runs the `workflow/*` rules: unpinned actions, token permissions, static cloud keys,
    /// cache poisoning, dangerous triggers, template injection and deploy jobs without an
    /// environment. A directory is searched for `.github/workflows/*.yml` and `action.yml`
    /// files (a directory named `workflows` is taken as a workflows folder); files are audited
    /// as given. Invalid YAML exits 2 with the file, line and column. `vouch explain
    /// workflow/<rule>` describes each rule and its options.
    Audit(AuditArgs),
}

#[derive(Debug, Args)]
pub struct AuditArgs {
    /// Repositories, workflow directories or workflow/action files.
    #[arg(default_value = ".")]
    pub paths: Vec<PathBuf>,
}

pub fn run(global: &GlobalArgs, cmd: CiCommand) -> Result<u8> {
    match cmd {
        CiCommand::Audit(args) => audit(global, args),
    }
}

/// One file to audit: the path shown in findings and the path to read.
struct Target {
    shown: String,
    full: PathBuf,
}

fn collect(arg: &Path, prefix: bool, max_file_size: u64, ignore: &[String]) -> Result<Vec<Target>> {
    let meta = std::fs::metadata(arg)
        .map_err(|e| InputError::in_file(arg, format!("cannot read: {e}")))?;
    let shown_arg = walk::to_slash(arg);
    if meta.is_file() {
        return Ok(vec![Target {
            shown: shown_arg,
            full: arg.to_path_buf(),
        }]);
    }
    let is_workflows_dir = arg
        .canonicalize()
        .ok()
        .and_then(|p| p.file_name().map(|n| n == "workflows"))
        .unwrap_or(false);
    let walked = walk::walk(
        arg,
        &WalkOptions {
            max_file_size,
            ignore: ignore.to_vec(),
        },
    )?;
    Ok(walked
        .files
        .into_iter()
        .filter(|f| {
            let lower = f.path.to_ascii_lowercase();
            vouch_workflow::is_workflow_path(&f.path)
                || (is_workflows_dir
                    && !f.path.contains('/')
                    && (lower.ends_with(".yml") || lower.ends_with(".yaml")))
        })
        .map(|f| Target {
            shown: if prefix {
                format!("{}/{}", shown_arg.trim_end_matches('/'), f.path)
            } else {
                f.path
            },
            full: f.full_path,
        })
        .collect())
}

fn audit(global: &GlobalArgs, args: AuditArgs) -> Result<u8> {
    let format = output::report_format(global)?;
    let single_dir = args.paths.len() == 1 && args.paths[0].is_dir();
    let root = if single_dir {
        args.paths[0].clone()
    } else {
        PathBuf::from(".")
    };
    let config = load_config(global, &root)?;
    let settings = Settings::from_config(&config)?;
    let max = config.max_file_size.unwrap_or(walk::DEFAULT_MAX_FILE_SIZE);

    let mut targets = Vec::new();
    for p in &args.paths {
        targets.extend(collect(p, !single_dir, max, &config.ignore)?);
    }
    if targets.is_empty() {
        let shown: Vec<String> = args.paths.iter().map(|p| walk::to_slash(p)).collect();
        return Err(InputError::new(format!(
            "no workflow or action files under {}",
            shown.join(", ")
        ))
        .with_hint("pass a repository, a .github/workflows directory or workflow files")
        .into());
    }
    targets.sort_by(|a, b| a.shown.cmp(&b.shown));

    let files: Vec<(String, PathBuf)> = targets.into_iter().map(|t| (t.shown, t.full)).collect();
    let mut findings = vouch_workflow::audit_files(&files, &settings)?;

    let today = output::today()?;
    let exceptions = ExceptionSet::discover(&root)?;
    // Only exceptions about workflow rules are judged (expired, stale) here, as in the other
    // one-family commands: an exception for a register or a secret matches nothing in a
    // workflow audit without being stale.
    let rule_ids: Vec<&str> = vouch_workflow::rules().iter().map(|r| r.id).collect();
    let meta = engine::settle_scoped(&config, &mut findings, &exceptions, today, |e| {
        rule_ids.iter().any(|id| e.names_rule(id))
    });
    findings.extend(meta);

    let mut report = Report::new(
        args.paths
            .iter()
            .map(|p| walk::to_slash(p))
            .collect::<Vec<_>>()
            .join(" "),
    );
    report.checks.push("workflow".to_string());
    report.files_scanned = files.len();
    report.findings = findings;
    let known: Vec<vouch_core::rule::RuleInfo> = vouch_workflow::rules()
        .into_iter()
        .chain(vouch_core::exceptions::RULES.iter().copied())
        .map(Into::into)
        .collect();
    let fail_on = engine::fail_on(global.fail_on.map(Severity::from), &config);
    report.finalize(fail_on, &known);

    let bytes = vouch_report::render(
        &report,
        format,
        &RenderOptions {
            root: Some(&root),
            color: output::use_color(global),
            title: "vouch ci audit",
        },
    );
    output::emit(global, &bytes)?;
    Ok(report.exit_code())
}
