//! `vouch provenance generate`, `vouch release` and `vouch gate`: the build → release → deploy
//! slice.

use std::path::{Path, PathBuf};

use anyhow::Result;
use clap::{Args, Subcommand, ValueEnum};
use vouch_attest::trusted_root::TrustedRoot;
use vouch_core::InputError;
use vouch_gate::evidence::{self, Subject, Trust, TrustedIdentities, TrustedKey, TrustedLogs};
use vouch_gate::{GatePolicy, breakglass, provenance, release};

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
    /// A file, or a digest (sha256:…).
    #[arg(required = true)]
    pub subject: Option<String>,
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

/// `SOURCE_DATE_EPOCH`, validated.
fn source_date_epoch() -> Result<Option<i64>> {
    match std::env::var("SOURCE_DATE_EPOCH") {
        Ok(s) => s.trim().parse::<i64>().map(Some).map_err(|_| {
            InputError::new(format!(
                "SOURCE_DATE_EPOCH=`{s}` is not a number of seconds"
            ))
            .into()
        }),
        Err(_) => Ok(None),
    }
}

fn provenance_generate(global: &GlobalArgs, a: ProvenanceArgs) -> Result<u8> {
    let mut subjects: Vec<serde_json::Value> = Vec::new();
    for path in &a.subjects {
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let file = || {
            std::fs::File::open(path)
                .map_err(|e| InputError::in_file(path, format!("cannot read: {e}")))
        };
        let sha256 = vouch_core::Digest::of_reader(
            vouch_core::digest::DigestAlgorithm::Sha256,
            std::io::BufReader::new(file()?),
        )
        .map_err(|e| InputError::in_file(path, format!("cannot read: {e}")))?;
        let mut digest = serde_json::json!({"sha256": sha256.hex()});
        if a.sha512 {
            let d = vouch_core::Digest::of_reader(
                vouch_core::digest::DigestAlgorithm::Sha512,
                std::io::BufReader::new(file()?),
            )
            .map_err(|e| InputError::in_file(path, format!("cannot read: {e}")))?;
            digest["sha512"] = serde_json::Value::String(d.hex());
        }
        subjects.push(serde_json::json!({"name": name, "digest": digest}));
    }
    if let Some(c) = &a.checksums {
        let text = std::fs::read_to_string(c)
            .map_err(|e| InputError::in_file(c, format!("cannot read: {e}")))?;
        let pairs = provenance::parse_checksums(&text).map_err(|(line, msg)| {
            InputError::at(c, u32::try_from(line).unwrap_or(0), None, msg)
        })?;
        for (name, hex) in pairs {
            subjects.push(serde_json::json!({"name": name, "digest": {"sha256": hex}}));
        }
    }
    if subjects.is_empty() {
        return Err(InputError::new("no subjects")
            .with_hint("pass --subject FILE (repeatable) or --checksums checksums.txt")
            .into());
    }
    subjects.sort_by(|x, y| x["name"].as_str().cmp(&y["name"].as_str()));
    let predicate = provenance::predicate(&env_var, &a.builder.overrides(), source_date_epoch()?);
    let doc = if a.predicate_only {
        predicate
    } else {
        serde_json::json!({"_type": "https://in-toto.io/Statement/v1", "subject": subjects, "predicateType": provenance::PREDICATE_TYPE, "predicate": predicate})
    };
    let mut bytes = serde_json::to_vec_pretty(&doc)?;
    bytes.push(b'\n');
    output::emit(global, &bytes)?;
    Ok(0)
}

fn release_cmd(global: &GlobalArgs, a: ReleaseArgs) -> Result<u8> {
    for f in &a.files {
        if !f.is_file() {
            return Err(InputError::in_file(f, "not a file")
                .with_hint("vouch release takes the artifact files")
                .into());
        }
    }
    let signer = load_signer(&a.key)?;
    let predicate = provenance::predicate(&env_var, &a.builder.overrides(), source_date_epoch()?);
    let sbom = release_sbom(global, a.sbom_source.as_deref(), a.allow_empty)?;
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
    let manifest = release::write(&release::ReleaseInput {
        artifacts: &a.files,
        out_dir: &a.out_dir,
        replace: a.force,
        signer: signer.as_ref(),
        provenance: predicate,
        sbom,
        log: a
            .tlog
            .is_some()
            .then_some(&logger as &dyn Fn(&mut vouch_attest::Bundle) -> Result<(), InputError>),
    })
    .map_err(|e| match e {
        release::ReleaseError::Input(i) => anyhow::Error::new(i),
        other => anyhow::anyhow!(other),
    })?;
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

/// The CycloneDX SBOM of the source tree for a release (the project's lockfiles and
/// manifests, as `vouch sbom generate` reads them).
pub(crate) fn release_sbom(
    global: &GlobalArgs,
    given: Option<&Path>,
    allow_empty: bool,
) -> Result<Option<Vec<u8>>> {
    let source = given.unwrap_or(Path::new("."));
    let inventory = vouch_sbom::scan(source)?;
    if !allow_empty && let Err(e) = vouch_sbom::scan::require_sources(source, &inventory) {
        // An unreadable lockfile, or a tree the user pointed at: an error. The default tree
        // without package sources: no SBOM rather than an empty one that claims no
        // dependencies; the gate's SBOM and vulnerability conditions then have nothing to
        // accept.
        if given.is_some() || !inventory.warnings.is_empty() {
            return Err(e.into());
        }
        output::warn(
            global,
            &format!(
                "no package sources found under {}: the release carries no SBOM (point --sbom-source at the project, or --allow-empty to write an empty one)",
                source.display()
            ),
        );
        return Ok(None);
    }
    let opts = vouch_sbom::WriteOptions {
        timestamp: vouch_sbom::WriteOptions::timestamp_from_env()?,
        ..Default::default()
    };
    Ok(Some(vouch_sbom::write(
        &inventory,
        vouch_sbom::SbomFormat::CycloneDxJson,
        &opts,
    )))
}

fn gate(global: &GlobalArgs, a: GateArgs) -> Result<u8> {
    let format = output::format_as(global, DecisionFormat::Text)?;
    let (Some(subject_arg), Some(policy_path)) = (a.subject.as_deref(), a.policy.as_deref()) else {
        return Err(InputError::new("vouch gate needs SUBJECT and --policy FILE").into());
    };
    let policy = GatePolicy::load(policy_path)?;
    let environment = a.environment.clone().or_else(|| policy.environment.clone());

    // An OCI image layout (optionally `DIR:REF`), a digest, or a file.
    let (layout_dir, layout_ref) = match subject_arg.rsplit_once(':') {
        Some((d, r)) if vouch_gate::oci::is_layout(Path::new(d)) => {
            (Some(PathBuf::from(d)), Some(r.to_string()))
        }
        _ if vouch_gate::oci::is_layout(Path::new(subject_arg)) => {
            (Some(PathBuf::from(subject_arg)), None)
        }
        _ => (None, None),
    };
    let (subject, found) = if let Some(dir) = layout_dir {
        vouch_gate::oci::load(&dir, layout_ref.as_deref())?
    } else {
        let subject = if let Some(hex) = subject_arg.strip_prefix("sha256:") {
            if hex.len() != 64 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
                return Err(
                    InputError::new(format!("`{subject_arg}` is not a sha256 digest")).into(),
                );
            }
            Subject {
                name: subject_arg.to_string(),
                file_name: None,
                sha256: hex.to_ascii_lowercase(),
                path: None,
            }
        } else {
            let path = PathBuf::from(subject_arg);
            if !path.is_file() {
                return Err(InputError::in_file(&path, "no such file")
                    .with_hint(
                        "the subject is a file, a sha256:… digest or an OCI image layout directory",
                    )
                    .into());
            }
            let file = std::fs::File::open(&path)
                .map_err(|e| InputError::in_file(&path, format!("cannot read: {e}")))?;
            let d = vouch_core::Digest::of_reader(
                vouch_core::digest::DigestAlgorithm::Sha256,
                std::io::BufReader::new(file),
            )
            .map_err(|e| InputError::in_file(&path, format!("cannot read: {e}")))?;
            Subject {
                name: subject_arg.to_string(),
                file_name: path.file_name().map(|n| n.to_string_lossy().into_owned()),
                sha256: d.hex(),
                path: Some(path),
            }
        };
        let release_dirs = if a.releases.is_empty() {
            release::search(subject.path.as_deref().and_then(Path::parent))
        } else {
            a.releases.clone()
        };
        let releases = release_dirs
            .iter()
            .map(|d| release::load(d))
            .collect::<Result<Vec<_>, _>>()?;
        let found = evidence::discover(&subject, &releases);
        (subject, found)
    };
    let digest = format!("sha256:{}", subject.sha256);

    let trust = match trust(&policy, policy_path)? {
        Ok(t) => t,
        // Unusable trust material (a key or trusted root that does not parse) is a failed
        // verification: deny, exit 1 (a missing file stays a usage error, exit 2).
        Err(reason) => {
            eprintln!("error: {reason}");
            eprintln!("DENY: the policy's trust material cannot be used");
            return Ok(1);
        }
    };
    let mut evidence = evidence::verify(&subject, &found, &trust);
    if let Some(v) = &policy.vulnerabilities {
        attested_sbom_vulnerabilities(global, &policy, v, &mut evidence)?;
    }

    let now = output::now()?;
    let log_path = policy
        .break_glass
        .as_ref()
        .and_then(|b| b.log.as_deref())
        .map(|l| policy.resolve(l))
        .unwrap_or_else(|| PathBuf::from(breakglass::DEFAULT_LOG));
    if let (Some(reason), Some(approver)) = (&a.break_glass, &a.approver) {
        let ttl =
            breakglass::parse_ttl(&a.ttl).map_err(|e| InputError::new(format!("--ttl: {e}")))?;
        if let Some(bg) = &policy.break_glass {
            if !bg.approvers.is_empty() && !bg.approvers.iter().any(|x| x == approver) {
                return Err(InputError::new(format!(
                    "`{approver}` may not approve break-glass under this policy"
                ))
                .with_hint(format!("approvers: {}", bg.approvers.join(", ")))
                .into());
            }
            let max = bg
                .max_ttl
                .as_deref()
                .map(breakglass::parse_ttl)
                .transpose()
                .map_err(|e| InputError::new(format!("break_glass.max_ttl: {e}")))?
                .unwrap_or(86_400);
            if ttl > max {
                return Err(InputError::new(format!(
                    "--ttl {} exceeds the policy's max_ttl",
                    a.ttl
                ))
                .into());
            }
        }
        let entry = breakglass::append(
            &log_path,
            &breakglass::Approval {
                approver,
                reason,
                subject: &digest,
                environment: environment.as_deref(),
                ttl_seconds: ttl,
                now,
            },
        )?;
        if !global.quiet {
            eprintln!(
                "break-glass #{} recorded in {} until {} (log head {})",
                entry.seq,
                log_path.display(),
                entry.expires,
                entry.hash
            );
        }
    }
    let entries = breakglass::read(&log_path).map_err(|e| {
        InputError::in_file(
            &log_path,
            format!("the break-glass log does not verify: {e}"),
        )
    })?;
    let exceptions = vouch_core::exceptions::ExceptionSet::discover(Path::new("."))?;
    let ctx = vouch_gate::evaluate::Context {
        subject: &subject.name,
        digest: &digest,
        environment: environment.as_deref(),
        now,
        break_glass: &entries,
        exceptions: &exceptions,
        today: output::today()?,
    };
    let decision = vouch_gate::evaluate(&policy, &evidence, &ctx);
    let text = match format {
        DecisionFormat::Text => decision.to_text(),
        DecisionFormat::Json => decision.to_json(),
        DecisionFormat::Markdown => decision.to_markdown(),
    };
    output::emit(global, text.as_bytes())?;
    Ok(decision.exit_code())
}

/// The keys and keyless identities whose signatures the policy trusts; `Err` inside when a
/// key or trusted root exists but cannot be used.
fn trust(policy: &GatePolicy, policy_path: &Path) -> Result<std::result::Result<Trust, String>> {
    let mut trust = Trust::default();
    let Some(sig) = &policy.signatures else {
        return Ok(Ok(trust));
    };
    let refs: Vec<String> = sig
        .keys
        .iter()
        .map(|k| policy.resolve(k.as_str()).display().to_string())
        .collect();
    // A missing key file is usage (exit 2); one that cannot be used denies (exit 1).
    let keys = match verification_keys(&refs)? {
        Ok(k) => k,
        Err(e) => return Ok(Err(e)),
    };
    for (r, pk) in sig.keys.iter().zip(keys) {
        trust.keys.push(TrustedKey {
            name: r.as_str().to_string(),
            key: pk,
        });
    }
    if let Some(t) = &sig.transparency_log {
        let path = policy.resolve(t.trusted_root.as_str());
        let bytes = std::fs::read(&path).map_err(|e| {
            InputError::in_file(&path, format!("cannot read the trusted root: {e}"))
        })?;
        let root = match TrustedRoot::for_logs(&bytes) {
            Ok(r) => r,
            Err(e) => {
                return Ok(Err(format!(
                    "{}: not a Sigstore trusted root: {e}",
                    path.display()
                )));
            }
        };
        trust.logs = Some(TrustedLogs {
            root: std::sync::Arc::new(root),
            required: t.required.unwrap_or(true),
        });
    }
    if let Some(root) = &sig.trusted_root {
        let path = policy.resolve(root.as_str());
        let bytes = std::fs::read(&path).map_err(|e| {
            InputError::in_file(&path, format!("cannot read the trusted root: {e}"))
        })?;
        let root = match TrustedRoot::from_json(&bytes) {
            Ok(r) => r,
            Err(e) => {
                return Ok(Err(format!(
                    "{}: not a Sigstore trusted root: {e}",
                    path.display()
                )));
            }
        };
        let identities = sig
            .identities
            .iter()
            .map(|i| i.to_attest())
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| InputError::in_file(policy_path, e))?;
        trust.keyless = Some(TrustedIdentities {
            root: std::sync::Arc::new(root),
            identities,
        });
    }
    Ok(Ok(trust))
}

/// The highest-severity vulnerability in the SBOM attested for the subject (a verified CycloneDX
/// or SPDX attestation about it), checked against the policy's database, with the database's
/// age judged against `[vuln] max_db_age`. `max_vulnerability` stays `None` when there is no
/// such SBOM or no database, so the requirement says it cannot judge. An attested SBOM that
/// lists no components is refused (exit 2) unless the policy says `allow_empty: true`.
fn attested_sbom_vulnerabilities(
    global: &GlobalArgs,
    policy: &GatePolicy,
    v: &vouch_gate::policy::VulnerabilityPolicy,
    evidence: &mut vouch_gate::Evidence,
) -> Result<()> {
    let sbom = evidence.attestations.iter().find(|a| {
        a.result.is_ok()
            && a.subject_matches
            && (a.predicate_type == "https://cyclonedx.org/bom"
                || a.predicate_type.starts_with("https://spdx.dev/Document"))
    });
    let Some(sbom) = sbom else { return Ok(()) };
    let db_path = match &v.db {
        Some(p) => policy.resolve(p),
        None => PathBuf::from(".vouch/osv.db"),
    };
    if !db_path.is_file() {
        return Ok(());
    }
    let mut db = vouch_vuln::db::Database::open(&db_path).map_err(|e| {
        InputError::in_file(&db_path, e.to_string()).with_hint("rebuild with vouch db build")
    })?;
    let text = serde_json::to_string(&sbom.predicate)?;
    let packages = vouch_vuln::sbom::read(Path::new(&sbom.source), &sbom.source, &text)?;
    if packages.packages.is_empty() && packages.without_purl == 0 && !v.allow_empty {
        return Err(InputError::in_file(
            &sbom.source,
            format!(
                "no package sources found under {}: the attested SBOM lists no components",
                sbom.source
            ),
        )
        .with_hint("release from the project root, or set `allow_empty: true` under `vulnerabilities:` for an intentionally empty SBOM")
        .into());
    }
    let result = vouch_vuln::scan::scan(&mut db, &packages.packages)
        .map_err(|e| InputError::in_file(&db_path, e.to_string()))?;
    let max_age = crate::commands::db::vuln_config(global)?.max_db_age;
    let age = vouch_vuln::freshness::age(&db, crate::commands::vuln::age_now()?)
        .map_err(|e| InputError::in_file(&db_path, e.to_string()))?;
    let shown = db_path.display().to_string();
    evidence.vulnerability_db_age = Some(age.describe(&shown));
    evidence.vulnerability_db_problem = age.judge(&shown, max_age).map(|f| f.message);
    evidence.max_vulnerability = Some(
        result
            .findings
            .iter()
            .filter(|f| f.is_active())
            .max_by_key(|f| f.severity)
            .map(|f| (f.severity, f.rule.trim_start_matches("vuln/").to_string())),
    );
    Ok(())
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
    if out.exists() && !a.force {
        return Err(InputError::in_file(&out, "already exists")
            .with_hint("pass --force to replace it, or -o FILE to write elsewhere")
            .into());
    }
    let base = match out.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let relative = |p: &Path| -> Result<String> {
        if !p.is_file() {
            return Err(InputError::in_file(p, "no such file")
                .with_hint("give the public key and trusted root the policy should name")
                .into());
        }
        Ok(relative_to(&base, p).to_string_lossy().into_owned())
    };
    let keys = a
        .keys
        .iter()
        .map(|k| relative(k))
        .collect::<Result<Vec<_>>>()?;
    let root = a.trusted_root.as_deref().map(relative).transpose()?;
    let text = vouch_gate::starter::policy(&keys, root.as_deref());
    // What the gate will read must parse: checked before anything is written.
    GatePolicy::parse(&out, &text)?;
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

/// `path` relative to the directory `base` (both resolved), or `path` as given when they share
/// no root; so that a policy names its keys relative to itself, never by a machine path when
/// avoidable.
fn relative_to(base: &Path, path: &Path) -> PathBuf {
    let (Ok(base), Ok(target)) = (base.canonicalize(), path.canonicalize()) else {
        return path.to_path_buf();
    };
    let b: Vec<_> = base.components().collect();
    let t: Vec<_> = target.components().collect();
    let common = b.iter().zip(&t).take_while(|(x, y)| x == y).count();
    if common == 0 {
        return path.to_path_buf();
    }
    let mut rel = PathBuf::new();
    for _ in common..b.len() {
        rel.push("..");
    }
    for c in &t[common..] {
        rel.push(c.as_os_str());
    }
    rel
}

fn log_verify(global: &GlobalArgs, file: &Path, head: Option<&str>) -> Result<u8> {
    let entries = match breakglass::read(file) {
        Ok(e) => e,
        Err(e) => {
            output::emit(
                global,
                format!("FAILED: {}: {e}\n", file.display()).as_bytes(),
            )?;
            return Ok(1);
        }
    };
    let actual = breakglass::head(&entries);
    if let Some(want) = head
        && want != actual
    {
        output::emit(
            global,
            format!(
                "FAILED: {}: {}\n",
                file.display(),
                breakglass::LogError::HeadMismatch {
                    expected: want.to_string(),
                    actual: actual.to_string()
                }
            )
            .as_bytes(),
        )?;
        return Ok(1);
    }
    output::emit(
        global,
        format!("verified: {} entries, head {actual}\n", entries.len()).as_bytes(),
    )?;
    Ok(0)
}
