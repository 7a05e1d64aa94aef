//! `vouch provenance generate`, `vouch release` and `vouch gate`: the build → release → deploy
//! slice.

use std::path::{Path, PathBuf};

use anyhow::Result;
use clap::{Args, Subcommand, ValueEnum};
use vouch_core::InputError;
use vouch_gate::{breakglass, provenance, release};

use crate::cli::GlobalArgs;
use crate::commands::signing::{load_signer, verification_keys};
use crate::output;

#[derive(Debug, Subcommand)]
pub enum GateCommand {
    /// Write SLSA Provenance v1 for the build running now (GitHub Actions, GitLab CI or a local
    /// build, detected from the environment) as an in-toto statement about the subjects.
    #[command(subcommand)]
    Provenance(ProvenanceCommand),

    /// Release artifacts: a signed bundle per artifact, signed provenance and SBOM
    /// attestations, checksums.txt and its signature, and release.json listing every file.
    Release(ReleaseArgs),

    /// Decide whether SUBJECT may be deployed: verifies signatures and attestations against
    /// the policy, checks freeze windows, break-glass approvals and exceptions. Exit 0 allow,
    /// 1 deny, 2 bad input. `vouch gate log verify` checks the break-glass log.
    Gate(GateArgs),
}

#[derive(Debug, Subcommand)]
pub enum ProvenanceCommand {
    /// Print the provenance statement (or `--predicate-only` for `vouch attest --predicate`).
    Generate(ProvenanceArgs),
}

#[derive(Debug, Args)]
pub struct BuilderArgs {
    /// Override the detected builder id (runDetails.builder.id).
    #[arg(long, value_name = "URI")]
    pub builder_id: Option<String>,
    /// Override the build type URI.
    #[arg(long, value_name = "URI")]
    pub build_type: Option<String>,
    /// Override the invocation id.
    #[arg(long, value_name = "ID")]
    pub invocation_id: Option<String>,
    /// The source repository, e.g. git+https://github.com/acme/app@refs/heads/main.
    #[arg(long, value_name = "URI")]
    pub source_uri: Option<String>,
    /// The source commit (with --source-uri).
    #[arg(long, value_name = "SHA")]
    pub source_commit: Option<String>,
}

impl BuilderArgs {
    fn overrides(&self) -> provenance::Overrides {
        provenance::Overrides {
            builder_id: self.builder_id.clone(),
            build_type: self.build_type.clone(),
            invocation_id: self.invocation_id.clone(),
            source_uri: self.source_uri.clone(),
            source_commit: self.source_commit.clone(),
            started_on: None,
            finished_on: None,
        }
    }
}

#[derive(Debug, Args)]
pub struct ProvenanceArgs {
    /// Artifacts the build produced.
    #[arg(long = "subject", value_name = "FILE")]
    pub subjects: Vec<PathBuf>,
    /// A sha256sum-format checksums file listing the subjects instead.
    #[arg(long, value_name = "FILE")]
    pub checksums: Option<PathBuf>,
    /// Also record SHA-512 digests of subject files.
    #[arg(long)]
    pub sha512: bool,
    /// Print only the predicate.
    #[arg(long)]
    pub predicate_only: bool,
    #[command(flatten)]
    pub builder: BuilderArgs,
}

#[derive(Debug, Args)]
pub struct ReleaseArgs {
    /// The artifacts.
    #[arg(required = true)]
    pub files: Vec<PathBuf>,
    /// Signing key: a path, env://VAR or a pkcs11: URI (as sign-blob).
    #[arg(long, value_name = "KEYREF")]
    pub key: String,
    /// Where to write the release.
    #[arg(long, value_name = "DIR", default_value = "release")]
    pub out_dir: PathBuf,
    /// Replace an existing release directory.
    #[arg(long)]
    pub force: bool,
    /// Source tree to describe in the SBOM [default: .]. Given explicitly, a tree without
    /// package sources is an error (exit 2); by default such a release carries no SBOM (an
    /// empty one would claim "no dependencies") and says so.
    #[arg(long, value_name = "DIR")]
    pub sbom_source: Option<PathBuf>,
    /// Release with an empty SBOM when the source tree has no package source, instead of
    /// failing with exit 2.
    #[arg(long)]
    pub allow_empty: bool,
    /// Log every bundle of the release (artifact signatures, attestations, checksums) in this
    /// vouch transparency log and put the entries in the bundles (see `sign-blob --tlog`).
    #[arg(long, value_name = "DIR")]
    pub tlog: Option<PathBuf>,
    #[command(flatten)]
    pub builder: BuilderArgs,
}

#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true, subcommand_negates_reqs = true)]
pub struct GateArgs {
    /// A file, a digest (sha256:…), an OCI image layout (DIR[:REF]), or a container image in
    /// a registry (`registry/repo:tag`; its attached bundles are the evidence).
    #[arg(required = true)]
    pub subject: Option<String>,
    #[command(flatten)]
    pub registry: crate::registry::RegistryArgs,
    /// The gate policy (YAML; see docs/deploy-gate.md).
    #[arg(long, value_name = "FILE", required = true)]
    pub policy: Option<PathBuf>,
    /// The environment being deployed to [default: `environment` in the policy].
    #[arg(long, value_name = "NAME")]
    pub environment: Option<String>,
    /// Release directories holding release.json [default: next to the subject, ./, ./*/].
    #[arg(long = "release", value_name = "DIR")]
    pub releases: Vec<PathBuf>,
    /// Record a break-glass approval for this subject and environment, then decide.
    #[arg(long, value_name = "REASON", requires = "approver")]
    pub break_glass: Option<String>,
    /// Who approves the break-glass.
    #[arg(long, value_name = "ID", requires = "break_glass")]
    pub approver: Option<String>,
    /// How long the approval lasts (e.g. 2h, 30m).
    #[arg(long, value_name = "DURATION", default_value = "2h")]
    pub ttl: String,
    #[command(subcommand)]
    pub command: Option<GateSubcommand>,
}

#[derive(Debug, Subcommand)]
pub enum GateSubcommand {
    /// The break-glass log.
    #[command(subcommand)]
    Log(LogCommand),
    /// Write a commented starter policy (gate.yaml, or -o FILE): signatures by --key, logged
    /// in the log of --trusted-root when given, SLSA provenance and SBOM attestations.
    Init(GateInitArgs),
}

#[derive(Debug, Args)]
pub struct GateInitArgs {
    /// A public key (PEM) whose signatures the gate trusts; repeatable.
    #[arg(long = "key", value_name = "FILE", required = true)]
    pub keys: Vec<PathBuf>,
    /// The transparency log's trusted root (`vouch log trusted-root`): every signature must be
    /// logged there.
    #[arg(long, value_name = "FILE")]
    pub trusted_root: Option<PathBuf>,
    /// Overwrite an existing policy file.
    #[arg(long)]
    pub force: bool,
}

#[derive(Debug, Subcommand)]
pub enum LogCommand {
    /// Verify the hash chain of the break-glass log; exit 1 when an entry was edited or removed.
    Verify {
        /// The log [default: .vouch/break-glass.log].
        #[arg(long, value_name = "FILE", default_value = breakglass::DEFAULT_LOG)]
        file: PathBuf,
        /// The head hash recorded elsewhere (printed by each approval); detects removed tails.
        #[arg(long, value_name = "HASH")]
        head: Option<String>,
    },
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum DecisionFormat {
    Text,
    Json,
    Markdown,
}

pub fn run(global: &GlobalArgs, cmd: GateCommand) -> Result<u8> {
    match cmd {
        GateCommand::Provenance(ProvenanceCommand::Generate(a)) => provenance_generate(global, a),
        GateCommand::Release(a) => release_cmd(global, a),
        GateCommand::Gate(a) => match a.command {
            Some(GateSubcommand::Log(LogCommand::Verify { file, head })) => {
                log_verify(global, &file, head.as_deref())
            }
            Some(GateSubcommand::Init(a)) => gate_init(global, a),
            None => gate(global, a),
        },
    }
}

fn env_var(name: &str) -> Option<String> {
    std::env::var(name).ok()
}

/// An `anyhow` error from the CLI's helpers as the library's `InputError` (they return one).
fn as_input(e: anyhow::Error) -> InputError {
    match e.downcast::<InputError>() {
        Ok(i) => i,
        Err(other) => InputError::new(other.to_string()),
    }
}

fn provenance_generate(global: &GlobalArgs, a: ProvenanceArgs) -> Result<u8> {
    let doc = provenance::generate(&provenance::GenerateRequest {
        subjects: &a.subjects,
        checksums: a.checksums.as_deref(),
        sha512: a.sha512,
        predicate_only: a.predicate_only,
        overrides: &a.builder.overrides(),
        env: &env_var,
    })?;
    let mut bytes = serde_json::to_vec_pretty(&doc)?;
    bytes.push(b'\n');
    output::emit(global, &bytes)?;
    Ok(0)
}

fn release_cmd(global: &GlobalArgs, a: ReleaseArgs) -> Result<u8> {
    release::check_artifacts(&a.files)?;
    let signer = load_signer(&a.key)?;
    let public = signer.public_key().clone();
    let logger = |bundle: &mut vouch_attest::Bundle| -> Result<(), InputError> {
        let Some(dir) = &a.tlog else {
            return Ok(());
        };
        crate::commands::log::log_bundle(global, dir, bundle, &public)
            .map(|_| ())
            .map_err(|e| match e.downcast::<InputError>() {
                Ok(i) => i,
                Err(other) => InputError::in_file(dir, other.to_string()),
            })
    };
    let released = release::release(&release::ReleaseRequest {
        artifacts: &a.files,
        out_dir: &a.out_dir,
        replace: a.force,
        signer: signer.as_ref(),
        overrides: &a.builder.overrides(),
        env: &env_var,
        sbom_source: a.sbom_source.as_deref(),
        allow_empty: a.allow_empty,
        log: a
            .tlog
            .is_some()
            .then_some(&logger as &release::BundleLogger<'_>),
    });
    let warnings = match &released {
        Ok(r) => &r.warnings,
        Err(f) => &f.warnings,
    };
    for w in warnings {
        output::warn(global, w);
    }
    let manifest = released
        .map_err(|f| match f.error {
            release::ReleaseError::Input(i) => anyhow::Error::new(i),
            other => anyhow::anyhow!(other),
        })?
        .manifest;
    if !global.quiet {
        eprintln!(
            "released {} artifact(s) into {} ({} files, release.json)",
            manifest.artifacts.len(),
            a.out_dir.display(),
            manifest.files.len() + 1
        );
    }
    Ok(0)
}

fn gate(global: &GlobalArgs, a: GateArgs) -> Result<u8> {
    let format = output::format_as(global, DecisionFormat::Text)?;
    let (Some(subject), Some(policy_path)) = (a.subject.as_deref(), a.policy.as_deref()) else {
        return Err(InputError::new("vouch gate needs SUBJECT and --policy FILE").into());
    };
    let break_glass = match (&a.break_glass, &a.approver) {
        (Some(reason), Some(approver)) => Some(vouch_gate::BreakGlassRequest {
            reason,
            approver,
            ttl: &a.ttl,
        }),
        _ => None,
    };
    let vuln = || -> Result<vouch_gate::VulnSettings, InputError> {
        Ok(vouch_gate::VulnSettings {
            max_db_age: crate::commands::db::vuln_config(global)
                .map_err(as_input)?
                .max_db_age,
            now: crate::commands::vuln::age_now().map_err(as_input)?,
        })
    };
    // One keyref rule for the gate and verify-blob: a missing key file is usage (exit 2), one
    // that cannot be used denies (exit 1).
    let keys = |refs: &[String]| verification_keys(refs).map_err(as_input);
    let pulled = crate::commands::image::pull_for_gate(global, subject, &a.registry)?;
    let (subject, subject_name) = match &pulled {
        Some((_, layout, name)) => (layout.as_str(), Some(name.as_str())),
        None => (subject, None),
    };
    let outcome = vouch_gate::decide(&vouch_gate::GateRequest {
        subject,
        subject_name,
        policy_path,
        environment: a.environment.as_deref(),
        releases: &a.releases,
        break_glass,
        now: output::now()?,
        today: output::today()?,
        exceptions_root: Path::new("."),
        vuln: &vuln,
        keys: &keys,
    });
    let recorded = match &outcome {
        Ok(vouch_gate::GateOutcome::Decided { break_glass, .. }) => break_glass.as_ref(),
        Ok(vouch_gate::GateOutcome::TrustUnusable { .. }) => None,
        Err(e) => e.break_glass.as_ref(),
    };
    if let Some(r) = recorded
        && !global.quiet
    {
        eprintln!(
            "break-glass #{} recorded in {} until {} (log head {})",
            r.entry.seq,
            r.log.display(),
            r.entry.expires,
            r.entry.hash
        );
    }
    let decision = match outcome.map_err(|e| e.error)? {
        vouch_gate::GateOutcome::Decided { decision, .. } => decision,
        vouch_gate::GateOutcome::TrustUnusable { reason } => {
            eprintln!("error: {reason}");
            eprintln!("DENY: the policy's trust material cannot be used");
            return Ok(1);
        }
    };
    let text = match format {
        DecisionFormat::Text => decision.to_text(),
        DecisionFormat::Json => decision.to_json(),
        DecisionFormat::Markdown => decision.to_markdown(),
    };
    output::emit(global, text.as_bytes())?;
    Ok(decision.exit_code())
}

/// `vouch gate init`: writes the starter policy, refusing to replace one without --force.
fn gate_init(global: &GlobalArgs, a: GateInitArgs) -> Result<u8> {
    if global.format.is_some() {
        return Err(InputError::new("`vouch gate init` has no --format: it writes YAML").into());
    }
    let out = global
        .output
        .clone()
        .unwrap_or_else(|| PathBuf::from("gate.yaml"));
    let text = vouch_gate::starter::for_file(&out, &a.keys, a.trusted_root.as_deref(), a.force)?;
    output::write_atomic(&out, text.as_bytes())?;
    if !global.quiet {
        eprintln!(
            "wrote {} (run `vouch gate ARTIFACT --policy {}`)",
            out.display(),
            out.display()
        );
    }
    Ok(0)
}

fn log_verify(global: &GlobalArgs, file: &Path, head: Option<&str>) -> Result<u8> {
    let (text, code) = match breakglass::verify(file, head) {
        Ok(entries) => (
            format!(
                "verified: {} entries, head {}\n",
                entries.len(),
                breakglass::head(&entries)
            ),
            0,
        ),
        Err(e) => (format!("FAILED: {}: {e}\n", file.display()), 1),
    };
    output::emit(global, text.as_bytes())?;
    Ok(code)
}
