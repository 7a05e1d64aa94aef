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
#[command(
    after_help = "Start with `vouch check .` in a repository. `vouch explain RULE` says what a rule means and how to fix it."
)]
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

    /// Guarantee no network access: commands that would fetch (`trust update`, `db
    /// update`) accept only file:// sources. Verification never uses the network anyway.
    #[arg(long, global = true)]
    pub offline: bool,
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

    /// Audit CI configuration: GitHub Actions workflows and composite actions.
    ///
    /// `vouch ci audit [PATH]` finds unpinned actions, broad token permissions, static cloud
    /// keys, cache poisoning, pull_request_target "pwn requests", template injection and deploy
    /// jobs without an environment, with the line and column of each. Offline.
    #[command(subcommand)]
    Ci(commands::ci::CiCommand),

    /// Manage accepted risks in .vouch/exceptions.yaml.
    #[command(subcommand)]
    Exceptions(commands::exceptions::ExceptionsCommand),

    /// Security registers D1–D7 (threat model … incident response) kept as CSV/YAML under
    /// security/, with their gates and a readable report.
    #[command(subcommand)]
    Register(commands::registers::RegisterCommand),

    /// Explain a rule: what it finds, why it matters and how to fix it.
    Explain(commands::explain::ExplainArgs),

    /// Sign and verify: keys, blobs, attestations, bundles (cosign-compatible flags).
    ///
    /// `vouch key generate`, `vouch sign-blob`, `vouch verify-blob`, `vouch attest`,
    /// `vouch verify-attestation`, `vouch bundle digest`. Bundles are Sigstore bundle v0.3, so
    /// cosign and sigstore-js verify what vouch signs. See docs/signing.md.
    #[command(flatten)]
    Signing(commands::signing::SigningCommand),

    #[command(flatten)]
    Gate(commands::gate::GateCommand),

    /// Container images in registries: `vouch sign IMAGE`, `vouch verify IMAGE`, `vouch tree
    /// IMAGE` (cosign v2/v3 compatible; see docs/oci.md).
    #[command(flatten)]
    Image(commands::image::ImageCommand),
    /// Encrypt secrets and config at rest: AES-256-GCM with a keyring, key IDs and rotation.
    ///
    /// `keygen` creates the keyring (.vouch/seal/keyring, encrypted under the key-encryption
    /// key in VOUCH_SEAL_KEK or --kek-file); `encrypt`/`decrypt` seal and open files bound to
    /// an --aad context; `rotate` starts a new key and `rewrap` moves old envelopes to it
    /// without exposing the plaintext. Every operation is appended to an audit log. A failed
    /// decrypt writes nothing and exits 1; payloads over 1 MiB are refused (exit 2).
    Seal(commands::seal::SealArgs),
    /// IAM guardrails: lint AWS policies, Terraform plans and CloudFormation; diff granted
    /// against CloudTrail usage.
    ///
    /// `vouch iam lint policy.json template.yaml plan.json` reports wildcards, public
    /// principals, Allow+NotAction, privilege-escalation paths, missing tags and
    /// cross-environment access with exact positions. `vouch iam diff --granted POLICY --used
    /// TRAIL.json.gz` lists unused grants and proposes a least-privilege policy.
    #[command(subcommand)]
    Iam(commands::iam::IamCommand),

    /// Rego policies, conftest-compatible: `vouch policy test --policy DIR FILE...`.
    ///
    /// Evaluates deny/violation/warn rules (package `main` by default) against YAML, JSON,
    /// TOML, HCL2, Dockerfile, INI and .env files with an embedded Rego engine; exit 1 on any
    /// failure.
    #[command(subcommand)]
    Policy(commands::policy::PolicyCommand),
    /// Find credentials in files, archives, git history or staged changes; keep the inventory.
    ///
    /// `scan PATH` checks files (inside zip/jar/tar.gz and base64 too), `scan --git [--since
    /// REV]` every commit, `scan --staged` what the next commit would add (pre-commit);
    /// `baseline` records today's findings so only new ones fail; `inventory` turns
    /// .vouch/secrets.yaml into the register security/secrets.csv. Output is always redacted.
    #[command(subcommand)]
    Secrets(commands::secrets::SecretsCommand),

    /// Trusted roots for offline verification: show one, move it between machines as a
    /// signed Offline Kit (`export`, `import`).
    ///
    /// Keyless verification without --trusted-root uses the trust store (VOUCH_TRUST_DIR,
    /// else ~/.config/vouch/trust) that `vouch trust import` fills.
    #[command(subcommand)]
    Trust(commands::trust::TrustCommand),

    /// Print a shell completion script (bash, zsh, fish, elvish, powershell).
    Completions(commands::completions::CompletionsArgs),

    /// Build and inspect the offline OSV vulnerability database (`vouch db build osv/ -o osv.db`).
    ///
    /// Vulnerability scans never touch the network: they read this SQLite file. Build it from
    /// OSV exports (.zip per ecosystem, directories, single records), refresh it with
    /// `vouch db update` when online, and check its age with `vouch db info`.
    #[command(subcommand)]
    Db(commands::db::DbCommand),

    /// Find known vulnerabilities in dependencies; apply VEX, exceptions and SLAs.
    ///
    /// `vouch vuln scan sbom.cdx.json --db osv.db --fail-on high` exits 1 when an unsuppressed
    /// vulnerability is at or above the threshold. `vouch vuln report` writes register D6;
    /// `vouch vuln vex` turns accepted risks into an OpenVEX document.
    #[command(subcommand)]
    Vuln(commands::vuln::VulnCommand),
    /// Software bills of materials: generate (CycloneDX 1.6/1.7, SPDX 2.3), validate, diff.
    ///
    /// `vouch sbom generate .` reads every lockfile below a directory (Cargo, npm, Yarn, pnpm,
    /// Poetry, uv, Pipenv, pip, Go, Bundler, Composer, Maven, Gradle, NuGet, Pub, SwiftPM, Mix),
    /// a root filesystem or a container image (dpkg, apk, rpm) offline and writes a
    /// deterministic SBOM; `vouch sbom diff OLD NEW` gives a pull-request comment of what changed.
    #[command(subcommand)]
    Sbom(commands::sbom::SbomCommand),
    /// Keep a transparency log: an append-only, tamper-evident record of signatures,
    /// attestations and releases.
    ///
    /// The log directory (default .vouch/log) is laid out as C2SP tlog-tiles (`checkpoint`,
    /// `tile/...`) and can be served by any static web server; checkpoints are C2SP signed
    /// notes, proofs are C2SP tlog-proofs, witnesses add C2SP cosignatures. Start with
    /// `vouch log init --origin example.com/my/log`, then `vouch log add FILE`.
    #[command(subcommand)]
    Log(commands::log::LogCommand),
    /// Run the signing service: CI jobs ask it to sign, keys stay off the runners.
    ///
    /// `vouch serve --config serve.toml` in production (see docs/serve.md);
    /// `vouch serve --dev --dir DIR` for a self-contained loopback instance with generated
    /// keys and a local token issuer (`vouch serve dev-token --dir DIR`). Every signature is
    /// appended to the service's transparency log and every request leaves a hash-chained
    /// audit record (`vouch serve audit verify`).
    Serve(commands::serve::ServeArgs),
}
