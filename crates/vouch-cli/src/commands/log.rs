//! `vouch log ...`: a transparency log in a directory laid out as C2SP tlog-tiles.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Result, anyhow};
use clap::{Args, Subcommand};
use vouch_attest::Bundle;
use vouch_attest::vouch_crypto::keys::PublicKey;
use vouch_core::InputError;
use vouch_tlog::index::Index;
use vouch_tlog::index_pg::PgIndex;
use vouch_tlog::log::{self, Log, LogError};
use vouch_tlog::ops::{self, OpsError};
use vouch_tlog::store::PosixStore;
use vouch_tlog::witness::FollowState;

use crate::cli::GlobalArgs;
use crate::output;

const DEFAULT_DIR: &str = ".vouch/log";

#[derive(Debug, Subcommand)]
pub enum LogCommand {
    /// Create a new log: a signing key (DIR.key, beside the directory, mode 0600), an empty
    /// signed checkpoint and the SQLite index. Prints the log's public key (vkey). The key is
    /// encrypted with VOUCH_PASSWORD (or a prompt), as `vouch key generate` encrypts signing
    /// keys; an empty VOUCH_PASSWORD writes it unencrypted.
    Init(InitArgs),
    /// Append files as log entries (one entry per file, at most 64 KiB each). Prints each
    /// entry's index; an entry already in the log keeps its index. Returns once durable.
    Add(AddArgs),
    /// Print a C2SP tlog-proof for entry N: its inclusion proof under the current signed
    /// checkpoint, verifiable offline with `vouch log verify --proof`.
    Prove(ProveArgs),
    /// Audit a log directory (recompute every tile, check every checkpoint), or with
    /// --proof verify a tlog-proof for one entry offline. Exit 1 if anything is wrong.
    Verify(VerifyArgs),
    /// Follow a log: verify its new checkpoint and its consistency with the last one seen
    /// (kept in --state); exit 1 on a rollback, a split view or an inconsistent log.
    Monitor(MonitorArgs),
    /// Witness a log: verify its checkpoint is consistent with the last one this witness
    /// cosigned (state persisted), refuse forks, and print the checkpoint with a
    /// C2SP cosignature/v1 added.
    Witness(WitnessArgs),
    /// Serve the log read-only over HTTP (GET /checkpoint, GET /tile/...), as any static
    /// server would.
    Serve(ServeArgs),
    /// Print a Sigstore trusted root naming this log (its Ed25519 key, log ID and checkpoint
    /// key ID), for `vouch verify-blob --trusted-root` and Sigstore clients to check the log
    /// entries vouch puts in bundles.
    TrustedRoot(TrustedRootArgs),
}

#[derive(Debug, Args)]
pub struct TrustedRootArgs {
    #[command(flatten)]
    pub dir: DirArg,
    /// The log's public key (vkey string or file) [default: DIR/.state/vkey].
    #[arg(long, value_name = "VKEY")]
    pub vkey: Option<String>,
    /// Start of the key's validity, RFC 3339 [default: now].
    #[arg(long, value_name = "TIME")]
    pub valid_from: Option<String>,
}

#[derive(Debug, Args)]
pub struct DirArg {
    /// Log directory (holds `checkpoint` and `tile/` as C2SP tlog-tiles lays them out).
    #[arg(long, value_name = "DIR", default_value = DEFAULT_DIR)]
    pub dir: PathBuf,
}

/// Where the sequencing index lives.
#[derive(Debug, Args)]
pub struct IndexArgs {
    /// Keep the sequencing index in PostgreSQL instead of DIR/.state/index.db, so that many
    /// `vouch serve` replicas can share one log (connection string or postgresql:// URL).
    #[arg(long, value_name = "CONN", env = "VOUCH_LOG_POSTGRES")]
    pub postgres: Option<String>,
    /// PostgreSQL schema holding this log's tables.
    #[arg(
        long,
        value_name = "NAME",
        default_value = "vouch_log",
        requires = "postgres"
    )]
    pub postgres_schema: String,
}

impl IndexArgs {
    fn open(&self) -> Result<Option<Box<dyn Index>>> {
        self.open_ops().map_err(ops_err)
    }

    /// The index to use, for the library's operations: `None` is the directory's SQLite.
    fn open_ops(&self) -> std::result::Result<Option<Box<dyn Index>>, OpsError> {
        match &self.postgres {
            None => Ok(None),
            Some(conn) => {
                let i = PgIndex::connect(conn, &self.postgres_schema).map_err(|e| {
                    OpsError::Input(ops::BadInput::new(e.to_string()).with_hint("check --postgres"))
                })?;
                Ok(Some(Box::new(i)))
            }
        }
    }
}

#[derive(Debug, Args)]
pub struct InitArgs {
    #[command(flatten)]
    pub dir: DirArg,
    #[command(flatten)]
    pub index: IndexArgs,
    /// The log's origin: the first line of every checkpoint, e.g. example.com/my/log.
    #[arg(long, value_name = "NAME")]
    pub origin: String,
    /// Where to write the private key [default: DIR.key beside the directory].
    #[arg(long, value_name = "FILE")]
    pub key: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct AddArgs {
    #[command(flatten)]
    pub dir: DirArg,
    #[command(flatten)]
    pub index: IndexArgs,
    /// Files to log, one entry each, appended as one batch.
    #[arg(
        required_unless_present = "bundle",
        conflicts_with = "bundle",
        value_name = "FILE"
    )]
    pub files: Vec<PathBuf>,
    /// The log's private key [default: DIR.key].
    #[arg(long, value_name = "FILE")]
    pub key: Option<PathBuf>,
    /// Log a Sigstore bundle's signature instead (Rekor v2 shape: hashedrekord or dsse
    /// v0.0.2) and write the bundle with the entry, its inclusion proof and the checkpoint
    /// (to -o, or stdout). The bundle is verified with --public-key first.
    #[arg(long, value_name = "BUNDLE", requires = "public_key")]
    pub bundle: Option<PathBuf>,
    /// The key that signed --bundle: a PEM path, env://VAR, or a pkcs11: URI.
    #[arg(long, value_name = "KEYREF")]
    pub public_key: Option<String>,
}

#[derive(Debug, Args)]
pub struct ProveArgs {
    #[command(flatten)]
    pub dir: DirArg,
    /// Index of the entry.
    #[arg(long, value_name = "N")]
    pub index: u64,
}

#[derive(Debug, Args)]
pub struct VerifyArgs {
    #[command(flatten)]
    pub dir: DirArg,
    #[command(flatten)]
    pub index: IndexArgs,
    /// The log's public key (vkey string or a file holding it) [default: DIR/.state/vkey,
    /// which only proves self-consistency: pin the key you trust].
    #[arg(long, value_name = "VKEY|FILE")]
    pub vkey: Option<String>,
    /// Verify this tlog-proof (from `vouch log prove`) instead of auditing the directory.
    #[arg(long, value_name = "FILE", requires = "entry")]
    pub proof: Option<PathBuf>,
    /// The logged entry the proof is for.
    #[arg(long, value_name = "FILE", requires = "proof")]
    pub entry: Option<PathBuf>,
    /// The log's origin the proof's checkpoint must carry [default: the origin in the proof].
    #[arg(long, value_name = "NAME")]
    pub origin: Option<String>,
    /// A trusted witness key (vkey string or file); repeatable.
    #[arg(long, value_name = "VKEY|FILE")]
    pub witness: Vec<String>,
    /// Number of trusted witness cosignatures the proof's checkpoint must carry.
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub quorum: usize,
}

#[derive(Debug, Args)]
pub struct MonitorArgs {
    #[command(flatten)]
    pub dir: DirArg,
    /// Follow the log served at this http:// URL instead of --dir.
    #[arg(long, value_name = "URL")]
    pub url: Option<String>,
    /// The log's public key (vkey string or file).
    #[arg(long, value_name = "VKEY|FILE")]
    pub vkey: String,
    /// The log's origin [default: the origin of the first checkpoint seen].
    #[arg(long, value_name = "NAME")]
    pub origin: Option<String>,
    /// File remembering the last verified checkpoint (created on first run).
    #[arg(long, value_name = "FILE")]
    pub state: PathBuf,
    /// Keep following, checking every SECONDS, until a problem is found.
    #[arg(long, value_name = "SECONDS")]
    pub follow: Option<u64>,
}

#[derive(Debug, Args)]
pub struct WitnessArgs {
    #[command(flatten)]
    pub dir: DirArg,
    /// Follow the log served at this http:// URL instead of --dir.
    #[arg(long, value_name = "URL")]
    pub url: Option<String>,
    /// The witness's private key file (created with --new-key).
    #[arg(long, value_name = "FILE")]
    pub key: PathBuf,
    /// Create a new witness key named NAME in --key, print its vkey and exit.
    #[arg(long, value_name = "NAME")]
    pub new_key: Option<String>,
    /// The followed log's public key (vkey string or file).
    #[arg(long, value_name = "VKEY|FILE", required_unless_present = "new_key")]
    pub vkey: Option<String>,
    /// The followed log's origin [default: the origin of its checkpoint].
    #[arg(long, value_name = "NAME")]
    pub origin: Option<String>,
    /// File remembering the last checkpoint this witness cosigned.
    #[arg(long, value_name = "FILE", required_unless_present = "new_key")]
    pub state: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    #[command(flatten)]
    pub dir: DirArg,
    /// Address to listen on (loopback by default).
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:8080")]
    pub listen: String,
}

pub fn run(global: &GlobalArgs, cmd: LogCommand) -> Result<u8> {
    match cmd {
        LogCommand::Init(a) => init(global, a),
        LogCommand::Add(a) => add(global, a),
        LogCommand::Prove(a) => prove(global, a),
        LogCommand::Verify(a) => verify(global, a),
        LogCommand::Monitor(a) => monitor(global, a),
        LogCommand::Witness(a) => witness_cmd(global, a),
        LogCommand::Serve(a) => serve(global, a),
        LogCommand::TrustedRoot(a) => trusted_root(global, a),
    }
}

/// The library's error as the CLI's: bad input (exit 2) keeps its file, position and hint.
fn ops_err(e: OpsError) -> anyhow::Error {
    match e {
        OpsError::Input(b) => anyhow!(InputError {
            file: b.file,
            line: b.line,
            column: b.column,
            message: b.message,
            hint: b.hint,
        }),
        OpsError::Log(e) => anyhow!(e),
        OpsError::Proof { dir, source } => anyhow::Error::new(source).context(format!(
            "building the proof from the tiles in {}",
            dir.display()
        )),
    }
}

/// Turns a library error into bad input (exit 2) where it is one.
fn log_err(dir: &Path, e: LogError) -> anyhow::Error {
    ops_err(ops::log_error(dir, e))
}

fn init(global: &GlobalArgs, a: InitArgs) -> Result<u8> {
    let dir = &a.dir.dir;
    let key_path = a.key.clone().unwrap_or_else(|| log::default_key_path(dir));
    crate::gitignore::protect(global, &key_path, "the log's private signing key")?;
    let pass = new_key_passphrase(global)?;
    let vkey = log::init_encrypted(
        dir,
        &a.origin,
        a.key.as_deref(),
        a.index.open()?,
        pass.as_bytes(),
    )
    .map_err(|e| log_err(dir, e))?;
    output::emit(global, format!("{vkey}\n").as_bytes())?;
    Ok(0)
}

/// The passphrase a new note key is encrypted with: VOUCH_PASSWORD or a prompt (asked
/// twice); empty means unencrypted, with a warning, as for `vouch key generate`.
fn new_key_passphrase(
    global: &GlobalArgs,
) -> Result<vouch_attest::vouch_crypto::signer::Zeroizing<String>> {
    let pass = crate::commands::signing::passphrase("VOUCH_PASSWORD", true)?;
    if pass.is_empty() {
        output::warn(
            global,
            "empty passphrase: the private key is written unencrypted",
        );
    }
    Ok(pass)
}

/// The passphrase of the note key at `key_path` when it is encrypted (VOUCH_PASSWORD or a
/// prompt); `None` for a plaintext key, which needs none.
fn key_passphrase(
    key_path: &Path,
) -> Result<Option<vouch_attest::vouch_crypto::signer::Zeroizing<String>>> {
    if !log::key_is_encrypted(key_path) {
        return Ok(None);
    }
    Ok(Some(crate::commands::signing::passphrase(
        "VOUCH_PASSWORD",
        false,
    )?))
}

/// Logs a key-signed bundle's signature in the log at `dir` (key beside it) and puts the
/// entry, its inclusion proof and the signed checkpoint in the bundle, replacing any entry it
/// had. Returns once the entry is durable.
pub(crate) fn log_bundle(
    _global: &GlobalArgs,
    dir: &Path,
    bundle: &mut Bundle,
    signer: &PublicKey,
) -> Result<log::Appended> {
    let pass = key_passphrase(&log::default_key_path(dir))?;
    let mut log = Log::open_with_passphrase(dir, None, None, pass.as_ref().map(|p| p.as_bytes()))
        .map_err(|e| log_err(dir, e))?;
    vouch_attest::logging::log_bundle(&mut log, bundle, signer).map_err(|e| match e {
        vouch_attest::logging::LogBundleError::Log(e) => log_err(dir, e),
        vouch_attest::logging::LogBundleError::Bundle(e) => anyhow!(InputError::new(e.to_string())),
    })
}

fn add(global: &GlobalArgs, a: AddArgs) -> Result<u8> {
    if let Some(path) = &a.bundle {
        return add_bundle(global, &a, path);
    }
    let open = || a.index.open_ops();
    let key_path = a
        .key
        .clone()
        .unwrap_or_else(|| log::default_key_path(&a.dir.dir));
    let pass = key_passphrase(&key_path)?;
    let acks = ops::add_files(
        &a.dir.dir,
        Some(&key_path),
        pass.as_ref().map(|p| p.as_bytes()),
        &a.files,
        &open,
    )
    .map_err(ops_err)?;
    let json = global.format.as_deref() == Some("json");
    let mut out = String::new();
    if json {
        let items: Vec<serde_json::Value> = a
            .files
            .iter()
            .zip(&acks)
            .map(|(f, ack)| {
                serde_json::json!({
                    "file": f.display().to_string(),
                    "index": ack.index,
                    "duplicate": ack.duplicate,
                    "treeSize": ack.size,
                    "leafHash": ack.leaf.iter().map(|b| format!("{b:02x}")).collect::<String>(),
                })
            })
            .collect();
        out = serde_json::to_string_pretty(&items)? + "\n";
    } else if let Some(f) = global.format.as_deref().filter(|f| *f != "text") {
        return Err(InputError::new(format!("unknown --format `{f}`"))
            .with_hint("`log add` writes text or json")
            .into());
    } else {
        for (f, ack) in a.files.iter().zip(&acks) {
            let dup = if ack.duplicate {
                " (already in the log)"
            } else {
                ""
            };
            out.push_str(&format!("{}: index {}{dup}\n", f.display(), ack.index));
        }
    }
    output::emit(global, out.as_bytes())?;
    Ok(0)
}

fn prove(global: &GlobalArgs, a: ProveArgs) -> Result<u8> {
    let p = ops::prove(&a.dir.dir, a.index).map_err(ops_err)?;
    output::emit(global, p.encode().as_bytes())?;
    Ok(0)
}

fn verify(global: &GlobalArgs, a: VerifyArgs) -> Result<u8> {
    if let (Some(proof), Some(entry)) = (&a.proof, &a.entry) {
        return verify_proof(global, &a, proof, entry);
    }
    let open = || a.index.open_ops();
    let rep = ops::audit_dir(&a.dir.dir, a.vkey.as_deref(), a.origin.as_deref(), &open)
        .map_err(ops_err)?;
    let mut out = String::new();
    for p in &rep.problems {
        out.push_str(&format!("FAIL {p}\n"));
    }
    if rep.problems.is_empty() {
        out.push_str(&format!(
            "verified {}: {} entries, {} tiles, {} checkpoints\n",
            rep.origin, rep.size, rep.tiles_checked, rep.checkpoints_checked
        ));
    }
    output::emit(global, out.as_bytes())?;
    Ok(if rep.problems.is_empty() { 0 } else { 1 })
}

fn verify_proof(global: &GlobalArgs, a: &VerifyArgs, proof: &Path, entry: &Path) -> Result<u8> {
    let verified = ops::verify_proof(&ops::ProofRequest {
        dir: &a.dir.dir,
        proof,
        entry,
        vkey: a.vkey.as_deref(),
        origin: a.origin.as_deref(),
        witnesses: &a.witness,
        quorum: a.quorum,
    })
    .map_err(ops_err)?;
    match verified {
        Ok(v) => {
            let msg = format!(
                "verified: {} is entry {} of {} (size {}), {} witness cosignature(s)\n",
                entry.display(),
                v.index,
                v.origin,
                v.size,
                v.witnesses
            );
            output::emit(global, msg.as_bytes())?;
            Ok(0)
        }
        Err(e) => {
            eprintln!("verification failed: {}: {e}", proof.display());
            Ok(1)
        }
    }
}

fn save_state(path: &Path, s: &FollowState) -> Result<()> {
    if let Some(p) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(p).map_err(|e| InputError::in_file(p, e.to_string()))?;
    }
    output::write_atomic(path, &ops::encode_state(s))
}

fn monitor(global: &GlobalArgs, a: MonitorArgs) -> Result<u8> {
    let key = ops::read_vkey(&a.vkey).map_err(ops_err)?;
    let at = ops::Followed {
        dir: &a.dir.dir,
        url: a.url.as_deref(),
        origin: a.origin.as_deref(),
        state: &a.state,
    };
    loop {
        match ops::follow_once(&at, &key).map_err(ops_err)? {
            Ok((v, state)) => {
                save_state(&a.state, &state)?;
                if !global.quiet {
                    eprintln!(
                        "ok: {} size {} consistent with the last checkpoint seen",
                        v.checkpoint.origin, v.checkpoint.size
                    );
                }
            }
            Err(e) => {
                let src = a
                    .url
                    .clone()
                    .unwrap_or_else(|| a.dir.dir.display().to_string());
                eprintln!("ALERT: {src}: {e}");
                return Ok(1);
            }
        }
        match a.follow {
            Some(s) => std::thread::sleep(std::time::Duration::from_secs(s.max(1))),
            None => return Ok(0),
        }
    }
}

fn now_secs() -> u64 {
    if let Some(t) = std::env::var("SOURCE_DATE_EPOCH")
        .ok()
        .and_then(|s| s.parse().ok())
    {
        return t;
    }
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

fn witness_cmd(global: &GlobalArgs, a: WitnessArgs) -> Result<u8> {
    if let Some(name) = &a.new_key {
        let pass = new_key_passphrase(global)?;
        let vkey = ops::new_witness_key(name, &a.key, pass.as_bytes()).map_err(ops_err)?;
        output::emit(global, format!("{vkey}\n").as_bytes())?;
        return Ok(0);
    }
    let (Some(vkey), Some(state)) = (&a.vkey, &a.state) else {
        return Err(InputError::new("--vkey and --state are required").into());
    };
    let at = ops::Followed {
        dir: &a.dir.dir,
        url: a.url.as_deref(),
        origin: a.origin.as_deref(),
        state,
    };
    let pass = key_passphrase(&a.key)?;
    let pass = pass.as_ref().map(|p| p.as_bytes());
    match ops::witness_once(&at, &a.key, pass, vkey, now_secs()).map_err(ops_err)? {
        Ok((cosigned, st)) => {
            save_state(state, &st)?;
            output::emit(global, cosigned.as_bytes())?;
            Ok(0)
        }
        Err(e) => {
            let src = a
                .url
                .clone()
                .unwrap_or_else(|| a.dir.dir.display().to_string());
            eprintln!("refused: {src}: {e}");
            Ok(1)
        }
    }
}

fn serve(global: &GlobalArgs, a: ServeArgs) -> Result<u8> {
    let dir = a.dir.dir.clone();
    if !dir.join("checkpoint").is_file() {
        return Err(
            InputError::in_file(&dir, "no checkpoint: not a log directory")
                .with_hint("run `vouch log init`")
                .into(),
        );
    }
    let quiet = global.quiet;
    let store: Arc<dyn vouch_tlog::store::TileStore> = Arc::new(PosixStore::new(&dir));
    vouch_tlog::serve::serve_blocking(store, &a.listen, |addr| {
        if !quiet {
            eprintln!("serving {} on http://{addr}", dir.display());
        }
    })
    .map_err(|e| {
        anyhow!(InputError::new(format!(
            "cannot serve on {}: {e}",
            a.listen
        )))
    })?;
    Ok(0)
}

/// `log add --bundle`: verify the bundle with the given key, log it, write it with its entry.
fn add_bundle(global: &GlobalArgs, a: &AddArgs, path: &Path) -> Result<u8> {
    let keyref = a.public_key.as_deref().unwrap_or_default();
    let key = crate::commands::signing::load_public_keys(&[keyref.to_string()])?
        .into_iter()
        .next()
        .ok_or_else(|| anyhow!(InputError::new("--public-key names no key")))?;
    let mut bundle = vouch_attest::request::bundle_to_log(path, &key)
        .map_err(crate::commands::signing::input)?;
    let ack = log_bundle(global, &a.dir.dir, &mut bundle, &key)?;
    if !global.quiet {
        let dup = if ack.duplicate {
            " (already in the log)"
        } else {
            ""
        };
        eprintln!("{}: index {}{dup}", path.display(), ack.index);
    }
    output::emit(global, &bundle.to_json())?;
    Ok(0)
}

fn trusted_root(global: &GlobalArgs, a: TrustedRootArgs) -> Result<u8> {
    let valid_from = || -> std::result::Result<String, OpsError> {
        let t = match &a.valid_from {
            Some(t) => t.parse::<jiff::Timestamp>().map_err(|e| {
                OpsError::Input(ops::BadInput::new(format!("--valid-from `{t}`: {e}")))
            })?,
            None => {
                output::now().map_err(|e| OpsError::Input(ops::BadInput::new(e.to_string())))?
            }
        };
        Ok(t.to_string())
    };
    let root = ops::trusted_root(&a.dir.dir, a.vkey.as_deref(), &valid_from).map_err(ops_err)?;
    let mut text = serde_json::to_vec_pretty(&root)?;
    text.push(b'\n');
    output::emit(global, &text)?;
    Ok(0)
}
