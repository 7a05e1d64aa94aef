//! The command-line grammar. Flag names follow cosign where cosign has the same concept.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::commands;

const LONG_VERSION: &str = concat!(
    env!("CARGO_PKG_VERSION"),
    " (commit ",
    env!("VOUCH_GIT_COMMIT"),
    ")"
);

/// vouch — supply-chain trust in one offline-first binary.
///
/// Produce SBOMs and provenance, sign and log them, verify them before deploy, and check the
/// posture of the repository they came from.
///
/// Exit codes: 0 pass / verified / allowed · 1 findings at or above the threshold,
/// verification failed, gate denied · 2 bad input, usage or internal error.
#[derive(Debug, Parser)]
#[command(name = "vouch", version, long_version = LONG_VERSION, propagate_version = true)]
#[command(after_help = "Start with `vouch check .` in a repository. `vouch explain RULE` says what a rule means and how to fix it.")]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Command,
}

/// Flags every command accepts.
#[derive(Debug, Clone, Args)]
pub struct GlobalArgs {
    /// Output format. Reports: text, json, sarif, markdown, html. Commands that write other
    /// documents (SBOMs, bundles) list their own formats in their help.
    #[arg(long, global = true, value_name = "FORMAT")]
    pub format: Option<String>,

    /// Write the output to FILE instead of stdout (written atomically: all or nothing).
    #[arg(short = 'o', long = "output", global = true, value_name = "FILE")]
    pub output: Option<PathBuf>,

    /// Lowest severity that makes the run fail with exit code 1 [default: high, or
    /// `fail_on` in vouch.toml].
    #[arg(long, global = true, value_name = "SEVERITY")]
    pub fail_on: Option<SeverityArg>,

    /// Print nothing but the report and errors (no progress, no warnings).
    #[arg(short, long, global = true)]
    pub quiet: bool,

    /// When to colour text output.
    #[arg(long, global = true, value_name = "WHEN", default_value = "auto")]
    pub color: ColorChoice,

    /// Configuration file [default: vouch.toml in the scanned directory, if present].
    #[arg(long, global = true, value_name = "FILE")]
    pub config: Option<PathBuf>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ColorChoice {
    Auto,
    Always,
    Never,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SeverityArg {
    Info,
    Low,
    Medium,
    High,
    Critical,
}

impl From<SeverityArg> for vouch_core::Severity {
    fn from(s: SeverityArg) -> Self {
        match s {
            SeverityArg::Info => vouch_core::Severity::Info,
            SeverityArg::Low => vouch_core::Severity::Low,
            SeverityArg::Medium => vouch_core::Severity::Medium,
            SeverityArg::High => vouch_core::Severity::High,
            SeverityArg::Critical => vouch_core::Severity::Critical,
        }
    }
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Check a repository's posture: every enabled check, one report.
    ///
    /// Walks PATH once (respecting .gitignore and .vouchignore), runs the checks enabled in
    /// vouch.toml, applies .vouch/exceptions.yaml, and exits 1 when an unsuppressed finding is at
    /// or above --fail-on.
    Check(commands::check::CheckArgs),

    /// Manage accepted risks in .vouch/exceptions.yaml.
    #[command(subcommand)]
    Exceptions(commands::exceptions::ExceptionsCommand),

    /// Explain a rule: what it finds, why it matters and how to fix it.
    Explain(commands::explain::ExplainArgs),

    /// Find credentials in files, archives, git history or staged changes; keep the inventory.
    ///
    /// `scan PATH` checks files (inside zip/jar/tar.gz and base64 too), `scan --git [--since
    /// REV]` every commit, `scan --staged` what the next commit would add (pre-commit);
    /// `baseline` records today's findings so only new ones fail; `inventory` turns
    /// .vouch/secrets.yaml into the register security/secrets.csv. Output is always redacted.
    #[command(subcommand)]
    Secrets(commands::secrets::SecretsCommand),

    /// Print a shell completion script (bash, zsh, fish, elvish, powershell).
    Completions(commands::completions::CompletionsArgs),
}
