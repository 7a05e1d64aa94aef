//! `vouch iam lint FILE...` and `vouch iam diff --granted POLICY --used CLOUDTRAIL...`.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use anyhow::Result;
use clap::{Args, Subcommand, ValueEnum};
use vouch_core::engine::apply_rule_config;
use vouch_core::rule::RuleInfo;
use vouch_core::{Config, InputError, Report};
use vouch_policy::iam::{self, IamOptions, diff};
use vouch_report::RenderOptions;

use crate::cli::GlobalArgs;
use crate::output;

#[derive(Debug, Subcommand)]
pub enum IamCommand {
    /// Lint IAM policies: AWS policy JSON, Terraform JSON plans, CloudFormation (JSON/YAML).
    ///
    /// Rules: iam/wildcard-action, iam/wildcard-resource, iam/public-principal,
    /// iam/not-action-allow, iam/not-resource-allow, iam/missing-tags and
    /// iam/cross-environment (both configured in vouch.toml [iam]), iam/privilege-escalation.
    /// Exit 1 when a finding is at or above --fail-on (default high).
    Lint(LintArgs),

    /// Compare a policy with CloudTrail usage and propose a least-privilege policy.
    ///
    /// Reads CloudTrail log files (`{"Records": [...]}`, plain or .gz; streamed), maps each
    /// event to its IAM action, lists the granted actions never used, and proposes a policy
    /// of the used actions scoped to the ARNs seen. --format text (summary and proposal),
    /// json (everything) or policy (the proposed policy only). Exit 1 when granted actions
    /// are unused.
    Diff(DiffArgs),
}

#[derive(Debug, Args)]
pub struct LintArgs {
    /// Policy documents, `terraform show -json` plans or CloudFormation templates.
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<PathBuf>,
}

#[derive(Debug, Args)]
pub struct DiffArgs {
    /// The policy whose Allow statements are the granted actions.
    #[arg(long, value_name = "POLICY")]
    pub granted: PathBuf,
    /// CloudTrail log files (.json or .json.gz).
    #[arg(long, required = true, num_args = 1.., value_name = "CLOUDTRAIL")]
    pub used: Vec<PathBuf>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum DiffFormat {
    Text,
    Json,
    Policy,
}

fn config(global: &GlobalArgs) -> Result<Config> {
    Ok(match &global.config {
        Some(file) => Config::load(file)?,
        None => Config::discover(Path::new("."))?,
    })
}

fn read(path: &Path) -> Result<String> {
    let bytes =
        std::fs::read(path).map_err(|e| InputError::in_file(path, format!("cannot read: {e}")))?;
    Ok(String::from_utf8(bytes).map_err(|_| InputError::in_file(path, "not UTF-8 text"))?)
}

fn display(path: &Path) -> String {
    path.display().to_string().replace('\\', "/")
}

pub fn run(global: &GlobalArgs, cmd: IamCommand) -> Result<u8> {
    match cmd {
        IamCommand::Lint(args) => lint(global, args),
        IamCommand::Diff(args) => run_diff(global, args),
    }
}

fn lint(global: &GlobalArgs, args: LintArgs) -> Result<u8> {
    let format = output::report_format(global)?;
    let config = config(global)?;
    let options: IamOptions = config.section("iam")?;
    let mut findings = Vec::new();
    for path in &args.files {
        let text = read(path)?;
        let parsed = iam::parse(&display(path), &text)?;
        findings.extend(iam::lint(&parsed, &options));
    }
    apply_rule_config(&config, &mut findings);
    let target = args
        .files
        .iter()
        .map(|p| display(p))
        .collect::<Vec<_>>()
        .join(" ");
    let mut report = Report::new(target);
    report.checks.push("iam".into());
    report.files_scanned = args.files.len();
    report.findings = findings;
    let known: Vec<RuleInfo> = iam::rules::metadata()
        .into_iter()
        .map(RuleInfo::from)
        .collect();
    let fail_on = vouch_core::engine::fail_on(global.fail_on.map(Into::into), &config);
    report.finalize(fail_on, &known);
    let bytes = vouch_report::render(
        &report,
        format,
        &RenderOptions {
            root: Some(Path::new(".")),
            color: output::use_color(global),
            title: "vouch iam lint",
        },
    );
    output::emit(global, &bytes)?;
    Ok(report.exit_code())
}

fn run_diff(global: &GlobalArgs, args: DiffArgs) -> Result<u8> {
    let format = output::format_as(global, DiffFormat::Text)?;
    let text = read(&args.granted)?;
    let parsed = iam::parse(&display(&args.granted), &text)?;
    let Some(policy) = parsed.policies.first() else {
        return Err(InputError::in_file(&args.granted, "no policy document found").into());
    };
    if parsed.policies.len() > 1 {
        output::warn(
            global,
            &format!(
                "{}: {} policies found; comparing the first ({})",
                display(&args.granted),
                parsed.policies.len(),
                policy.owner
            ),
        );
    }
    let mut usage = diff::Usage::default();
    for trail in &args.used {
        diff::read_trail(trail, &mut usage)?;
    }
    let report = diff::diff(policy, &usage);
    let mut out = String::new();
    match format {
        DiffFormat::Json => {
            out = serde_json::to_string_pretty(&report)?;
            out.push('\n');
        }
        DiffFormat::Policy => {
            out = serde_json::to_string_pretty(&report.proposed_policy)?;
            out.push('\n');
        }
        DiffFormat::Text => {
            let _ = writeln!(
                out,
                "{} events read; {} actions granted, {} used, {} granted but unused",
                report.events,
                report.granted,
                report.used.len(),
                report.unused.len()
            );
            let section = |out: &mut String, title: &str, list: &[String]| {
                if list.is_empty() {
                    return;
                }
                let _ = writeln!(out, "\n{title} ({}):", list.len());
                for a in list.iter().take(50) {
                    let _ = writeln!(out, "  {a}");
                }
                if list.len() > 50 {
                    let _ = writeln!(
                        out,
                        "  … and {} more (--format json lists all)",
                        list.len() - 50
                    );
                }
            };
            section(&mut out, "used", &report.used);
            section(&mut out, "granted but unused", &report.unused);
            section(
                &mut out,
                "used but not granted by this policy",
                &report.used_not_granted,
            );
            section(&mut out, "denied calls", &report.denied);
            let _ = writeln!(out, "\nproposed least-privilege policy:");
            out.push_str(&serde_json::to_string_pretty(&report.proposed_policy)?);
            out.push('\n');
        }
    }
    output::emit(global, out.as_bytes())?;
    Ok(u8::from(!report.unused.is_empty()))
}
