//! `vouch seal`: AES-256-GCM encryption at rest with a keyring (key IDs, rotation, rewrap,
//! audit). The capability lives in `vouch_crypto::seal`; this file finds the keyring, the
//! key-encryption key and the audit log, moves bytes, and maps errors to exit codes:
//! 0 done, 1 decryption failed (one opaque message), 2 bad input or usage.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Result, anyhow};
use clap::{Args, Subcommand, ValueEnum};
use serde::Deserialize;
use vouch_core::{Config, InputError};
use vouch_crypto::pkcs11::Pkcs11Uri;
use vouch_crypto::protected::{self, Secret};
use vouch_crypto::seal::audit::{AuditEvent, AuditSink, JsonLinesSink, Operation, Outcome};
use vouch_crypto::seal::envelope::{self, OVERHEAD};
use vouch_crypto::seal::store::KeyringLock;
use vouch_crypto::seal::{
    DEFAULT_MAX_PAYLOAD, KekSource, KeyState, Keyring, LocalKek, Pkcs11Kek, SealError, Sealer,
};
use vouch_crypto::signer::{SecretInputs, Zeroizing};

use crate::cli::GlobalArgs;
use crate::output;

/// Default keyring location, relative to the current directory.
pub const DEFAULT_KEYRING: &str = ".vouch/seal/keyring";

#[derive(Debug, Args)]
pub struct SealArgs {
    #[command(flatten)]
    pub opts: SealOpts,
    #[command(subcommand)]
    pub cmd: SealCommand,
}

/// Where the keyring, its key-encryption key and the audit log are.
#[derive(Debug, Clone, Args)]
pub struct SealOpts {
    /// Keyring file [default: `[seal] keyring` in vouch.toml, else .vouch/seal/keyring].
    #[arg(long, global = true, env = "VOUCH_SEAL_KEYRING", value_name = "FILE")]
    pub keyring: Option<PathBuf>,

    /// File holding the 32-byte key-encryption key (raw or base64). Without it (and without
    /// --kek-pkcs11) the key is read, base64-encoded, from the VOUCH_SEAL_KEK environment
    /// variable.
    #[arg(long, global = true, env = "VOUCH_SEAL_KEK_FILE", value_name = "FILE")]
    pub kek_file: Option<PathBuf>,

    /// Keep the key-encryption key in an HSM: an AES-256 key on a PKCS#11 token, named by an
    /// RFC 7512 URI such as `pkcs11:token=vouch;object=seal-kek` (create it with
    /// `vouch seal kek-init --pkcs11 URI`). The keyring is wrapped inside the token; the PIN
    /// comes from VOUCH_PKCS11_PIN (or pin-value in the URI), the module from module-path in
    /// the URI, VOUCH_PKCS11_MODULE, or SoftHSM2's usual paths.
    #[arg(
        long,
        global = true,
        env = "VOUCH_SEAL_KEK_PKCS11",
        value_name = "URI",
        conflicts_with = "kek_file"
    )]
    pub kek_pkcs11: Option<String>,

    /// Audit log, JSON lines, appended [default: `audit.jsonl` beside the keyring].
    #[arg(long, global = true, env = "VOUCH_SEAL_AUDIT_LOG", value_name = "FILE")]
    pub audit_log: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
pub enum SealCommand {
    /// Create a keyring with one fresh active key (refuses to overwrite an existing one).
    Keygen,

    /// Create the key-encryption key inside a PKCS#11 token: an AES-256 key that is
    /// sensitive and not extractable, so it never leaves the HSM. Refuses if a key with the
    /// URI's object/id exists. Then pass the same URI as --kek-pkcs11.
    KekInit {
        /// The key to create, e.g. `pkcs11:token=vouch;object=seal-kek`.
        #[arg(long = "pkcs11", value_name = "URI")]
        uri: String,
    },

    /// Encrypt -i FILE (or stdin) under the active key; the envelope goes to -o or stdout.
    Encrypt(CryptArgs),

    /// Decrypt an envelope with the key it names. On failure nothing is written, and the
    /// message is the same whatever went wrong (wrong key, wrong --aad, altered bytes): exit 1.
    Decrypt(CryptArgs),

    /// Add a new active key; the old active key becomes decrypt-only.
    Rotate,

    /// Re-encrypt FILES in place under the active key, without showing the plaintext.
    /// Files already under the active key are left alone. Exit 1 if any file did not open.
    Rewrap {
        /// Envelopes to rewrap (rewritten atomically).
        #[arg(required = true, value_name = "FILES")]
        files: Vec<PathBuf>,
        /// Associated data the envelopes were sealed with.
        #[arg(long, value_name = "TEXT", default_value = "")]
        aad: String,
    },

    /// Show the keys (ID, state, creation time, encryptions) and, for FILES, which key each
    /// envelope names. `--format json` for scripts.
    Status {
        /// Envelopes to inspect (nothing is decrypted).
        #[arg(value_name = "FILES")]
        files: Vec<PathBuf>,
    },

    /// Retire a key: its material is destroyed and nothing it sealed opens again. Rewrap
    /// first. The active key cannot be retired.
    Retire {
        #[arg(value_name = "KEY_ID")]
        id: u32,
    },

    /// Refuse to decrypt with keys older than VERSION (reversible cut-over, as in Vault's
    /// min_decryption_version).
    MinDecryptionVersion {
        #[arg(value_name = "VERSION")]
        min: u32,
    },
}

#[derive(Debug, Args)]
pub struct CryptArgs {
    /// Input file [default: stdin].
    #[arg(short = 'i', long = "input", value_name = "FILE")]
    pub input: Option<PathBuf>,

    /// Associated data bound into the tag (a context such as `tenant=acme` or a field name);
    /// decryption needs the same text.
    #[arg(long, value_name = "TEXT", default_value = "")]
    pub aad: String,

    /// Expect this key: encrypt fails unless it is the active key; decrypt fails unless the
    /// envelope names it.
    #[arg(long, value_name = "ID")]
    pub key_id: Option<u32>,
}

/// `[seal]` in vouch.toml.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct SealConfig {
    keyring: Option<PathBuf>,
    kek_file: Option<PathBuf>,
    audit_log: Option<PathBuf>,
    /// Largest plaintext in bytes (default 1 MiB).
    max_payload: Option<usize>,
    /// Encryptions per key before rotation is required (at most 2^31).
    max_encryptions: Option<u64>,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum StatusFormat {
    Text,
    Json,
}

struct Ctx {
    keyring: PathBuf,
    kek_file: Option<PathBuf>,
    kek_pkcs11: Option<String>,
    audit_log: PathBuf,
    max_payload: usize,
    max_encryptions: Option<u64>,
    caller: String,
}

impl Ctx {
    fn new(global: &GlobalArgs, opts: &SealOpts) -> Result<Ctx> {
        let config = match &global.config {
            Some(p) => Config::load(p)?,
            None => Config::discover(Path::new("."))?,
        };
        let sc: SealConfig = config.section("seal")?;
        if let Some(n) = sc
            .max_encryptions
            .filter(|n| !(1..=vouch_crypto::seal::DEFAULT_MAX_ENCRYPTIONS).contains(n))
        {
            let max = vouch_crypto::seal::DEFAULT_MAX_ENCRYPTIONS;
            return Err(config
                .error_at_key(
                    "seal",
                    "max_encryptions",
                    format!("max_encryptions = {n} is outside 1..={max}"),
                )
                .with_hint("the documented maximum is 2^31 encryptions per key")
                .into());
        }
        let keyring = opts
            .keyring
            .clone()
            .or(sc.keyring)
            .unwrap_or_else(|| PathBuf::from(DEFAULT_KEYRING));
        let audit_log = opts.audit_log.clone().or(sc.audit_log).unwrap_or_else(|| {
            keyring
                .parent()
                .unwrap_or(Path::new("."))
                .join("audit.jsonl")
        });
        let user = std::env::var("USER").unwrap_or_default();
        Ok(Ctx {
            keyring,
            kek_file: opts.kek_file.clone().or(sc.kek_file),
            kek_pkcs11: opts.kek_pkcs11.clone(),
            audit_log,
            max_payload: sc.max_payload.unwrap_or(DEFAULT_MAX_PAYLOAD),
            max_encryptions: sc.max_encryptions,
            caller: if user.is_empty() {
                "cli".to_string()
            } else {
                format!("cli:{user}")
            },
        })
    }

    fn kek(&self) -> Result<Box<dyn KekSource>> {
        if let Some(uri) = &self.kek_pkcs11 {
            let uri = parse_pkcs11(uri)?;
            return Ok(Box::new(
                Pkcs11Kek::open(&uri, &pkcs11_secrets())
                    .map_err(|e| InputError::new(e.to_string()))?,
            ));
        }
        if let Some(path) = &self.kek_file {
            return Ok(Box::new(
                LocalKek::from_file(path).map_err(|e| InputError::in_file(path, e.to_string()))?,
            ));
        }
        match LocalKek::from_env("VOUCH_SEAL_KEK") {
            Ok(Some(kek)) => Ok(Box::new(kek)),
            Ok(None) => Err(InputError::new("no key-encryption key")
                .with_hint(
                    "set VOUCH_SEAL_KEK to 32 random bytes in base64 (e.g. `head -c 32 /dev/urandom | base64`) or pass --kek-file",
                )
                .into()),
            Err(e) => Err(InputError::new(e.to_string())
                .with_hint("VOUCH_SEAL_KEK is 32 random bytes in base64")
                .into()),
        }
    }

    fn sealer(&self, keyring: Keyring) -> Result<Sealer> {
        if let Some(dir) = self.audit_log.parent()
            && !dir.as_os_str().is_empty()
        {
            std::fs::create_dir_all(dir).map_err(|e| {
                InputError::in_file(&self.audit_log, format!("cannot create directory: {e}"))
            })?;
        }
        let sink = JsonLinesSink::open(&self.audit_log)
            .map_err(|e| InputError::in_file(&self.audit_log, e))?;
        Ok(Sealer::new(keyring, Arc::new(sink)).with_max_payload(self.max_payload))
    }

    fn load(&self, kek: &dyn KekSource) -> Result<Keyring> {
        let bytes = std::fs::read(&self.keyring).map_err(|e| {
            let hint = if e.kind() == std::io::ErrorKind::NotFound {
                "create one with `vouch seal keygen`, or point --keyring / VOUCH_SEAL_KEYRING at it"
            } else {
                "check the keyring path and permissions"
            };
            InputError::in_file(&self.keyring, format!("cannot read keyring: {e}")).with_hint(hint)
        })?;
        let mut k = match Keyring::from_file_bytes(&bytes, kek) {
            Ok(k) => k,
            Err(e) => {
                self.audit_open_failure(&e, bytes.len());
                return Err(self.keyring_error(e, kek));
            }
        };
        if let Some(n) = self.max_encryptions {
            k.set_max_encryptions(n);
        }
        Ok(k)
    }

    /// Records a keyring that failed to open (wrong KEK, altered file, bad key), when the
    /// audit log's directory exists; the error itself is reported either way.
    fn audit_open_failure(&self, e: &SealError, size: usize) {
        let dir_exists = match self.audit_log.parent() {
            Some(d) if !d.as_os_str().is_empty() => d.is_dir(),
            _ => true,
        };
        if !dir_exists {
            return;
        }
        let Ok(sink) = JsonLinesSink::open(&self.audit_log) else {
            return;
        };
        let mut ev = AuditEvent::new(Operation::OpenKeyring, &self.caller);
        ev.size = size as u64;
        ev.outcome = Outcome::Denied;
        ev.reason = Some(match e {
            SealError::KeyringAuth => "keyring-auth-failed",
            SealError::InvalidKey(_) => "invalid-key",
            _ => "invalid-keyring",
        });
        let _ = sink.record(&ev);
    }

    fn save(&self, keyring: &Keyring, kek: &dyn KekSource) -> Result<()> {
        let bytes = keyring
            .to_file_bytes(kek)
            .map_err(|e| self.keyring_error(e, kek))?;
        output::write_atomic(&self.keyring, &bytes)
    }

    fn keyring_error(&self, e: SealError, kek: &dyn KekSource) -> anyhow::Error {
        let hint = match &e {
            SealError::KeyringAuth => {
                format!("the key-encryption key comes from {}", kek.describe())
            }
            _ => "the keyring file is damaged or was not written by vouch".to_string(),
        };
        InputError::in_file(&self.keyring, e.to_string())
            .with_hint(hint)
            .into()
    }

    fn lock(&self) -> Result<KeyringLock> {
        KeyringLock::acquire(&self.keyring).map_err(|e| {
            InputError::in_file(&self.keyring, format!("cannot lock keyring: {e}")).into()
        })
    }
}

pub fn run(global: &GlobalArgs, args: SealArgs) -> Result<u8> {
    if global.format.is_some() && !matches!(args.cmd, SealCommand::Status { .. }) {
        return Err(
            InputError::new("--format applies only to `vouch seal status`")
                .with_hint("envelopes and plaintexts are raw bytes; drop --format")
                .into(),
        );
    }
    let ctx = Ctx::new(global, &args.opts)?;
    let code = match args.cmd {
        SealCommand::Keygen => keygen(global, &ctx),
        SealCommand::KekInit { uri } => kek_init(global, &uri),
        SealCommand::Encrypt(a) => encrypt(global, &ctx, a),
        SealCommand::Decrypt(a) => decrypt(global, &ctx, a),
        SealCommand::Rotate => mutate(global, &ctx, |s, c| {
            let old = s.keyring().active_id();
            let new = s.rotate(c, now()?)?;
            Ok(format!(
                "key {new} is now active; key {old} is decrypt-only (rewrap old envelopes, then retire it)\n"
            ))
        }),
        SealCommand::Retire { id } => mutate(global, &ctx, |s, c| {
            s.retire(c, id)?;
            Ok(format!("key {id} is retired; its material is destroyed\n"))
        }),
        SealCommand::MinDecryptionVersion { min: version } => mutate(global, &ctx, |s, c| {
            s.set_min_decryption_version(c, version)?;
            Ok(format!("keys below {version} no longer decrypt\n"))
        }),
        SealCommand::Rewrap { files, aad } => rewrap(global, &ctx, &files, &aad),
        SealCommand::Status { files } => status(global, &ctx, &files),
    };
    if let Some(w) = protected::take_warning() {
        output::warn(global, &w);
    }
    code
}

fn now() -> Result<jiff::Timestamp> {
    match std::env::var("SOURCE_DATE_EPOCH") {
        Ok(s) => {
            let secs: i64 = s.trim().parse().map_err(|_| {
                InputError::new(format!(
                    "SOURCE_DATE_EPOCH=`{s}` is not a number of seconds"
                ))
            })?;
            jiff::Timestamp::from_second(secs)
                .map_err(|e| anyhow!(InputError::new(format!("SOURCE_DATE_EPOCH=`{s}`: {e}"))))
        }
        Err(_) => Ok(jiff::Timestamp::now().round(jiff::Unit::Second)?),
    }
}

/// Maps a seal error to an exit code or an exit-2 error.
fn failure(e: SealError, subject: Option<&Path>) -> Result<u8> {
    match e {
        SealError::Decrypt | SealError::RateLimited(_) => {
            match subject {
                Some(p) => eprintln!("error: {}: {e}", p.display()),
                None => eprintln!("error: {e}"),
            }
            Ok(1)
        }
        SealError::TooLarge { .. } => Err(too_large(subject, &e)),
        SealError::KeyExhausted { .. } => Err(in_subject(subject, e.to_string())
            .with_hint("run `vouch seal rotate` to start a new key")
            .into()),
        SealError::Keyring(_) | SealError::InvalidKey(_) => {
            Err(in_subject(subject, e.to_string()).into())
        }
        other => Err(anyhow!(other)),
    }
}

fn too_large(subject: Option<&Path>, e: &SealError) -> anyhow::Error {
    in_subject(subject, e.to_string())
        .with_hint(
            "the limit guards against misuse; raise [seal] max_payload in vouch.toml if you must",
        )
        .into()
}

fn in_subject(subject: Option<&Path>, msg: String) -> InputError {
    match subject {
        Some(p) => InputError::in_file(p, msg),
        None => InputError::new(msg),
    }
}

fn keygen(global: &GlobalArgs, ctx: &Ctx) -> Result<u8> {
    let kek = ctx.kek()?;
    if let Some(dir) = ctx.keyring.parent()
        && !dir.as_os_str().is_empty()
    {
        std::fs::create_dir_all(dir).map_err(|e| {
            InputError::in_file(&ctx.keyring, format!("cannot create directory: {e}"))
        })?;
    }
    let _lock = ctx.lock()?;
    if ctx.keyring.exists() {
        return Err(
            InputError::in_file(&ctx.keyring, "a keyring already exists here")
                .with_hint("use `vouch seal rotate` to add a key, or choose another --keyring")
                .into(),
        );
    }
    let mut keyring = Keyring::generate(now()?)?;
    if let Some(n) = ctx.max_encryptions {
        keyring.set_max_encryptions(n);
    }
    let sealer = ctx.sealer(keyring)?;
    sealer.record_keygen(&ctx.caller)?;
    ctx.save(sealer.keyring(), kek.as_ref())?;
    let msg = format!(
        "created keyring {} with key 1 (active), encrypted under the key-encryption key from {}\n",
        ctx.keyring.display(),
        kek.describe()
    );
    output::emit(global, msg.as_bytes())?;
    Ok(0)
}

/// Reads the input, refusing more than `cap` bytes before reading them where the size is
/// known. Plaintext goes straight into protected memory.
fn read_input(input: Option<&Path>, cap: usize) -> Result<Secret> {
    let over = |size: u64, subject: &Path| {
        too_large(
            Some(subject),
            &SealError::TooLarge {
                size,
                max: cap as u64,
            },
        )
    };
    let Some(path) = input.filter(|p| p.as_os_str() != "-" && p.as_os_str() != "/dev/stdin") else {
        let stdin = Path::new("<stdin>");
        return read_stream(std::io::stdin().lock(), cap, stdin)?
            .ok_or_else(|| over(cap as u64 + 1, stdin));
    };
    let cannot = |e: std::io::Error| InputError::in_file(path, format!("cannot read: {e}"));
    // Never a FIFO or device (a FIFO blocks until a writer appears): stdin is `-`.
    let (mut f, meta) = vouch_core::fs::open_regular(path)?;
    if meta.len() > cap as u64 {
        return Err(over(meta.len(), path));
    }
    let mut s = Secret::zeroed(meta.len() as usize)?;
    f.read_exact(s.expose_mut()).map_err(cannot)?;
    Ok(s)
}

/// Reads at most `cap` bytes into protected memory sized for the cap plus one byte, so an
/// oversized input is detected without growing a buffer (and leaving copies behind).
/// `Ok(None)`: the input is larger than `cap`.
fn read_stream(mut r: impl Read, cap: usize, subject: &Path) -> Result<Option<Secret>> {
    let mut buf = Secret::zeroed(cap.saturating_add(1))?;
    let mut n = 0;
    while n < buf.len() {
        match r.read(&mut buf.expose_mut()[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => {
                return Err(InputError::in_file(subject, format!("cannot read: {e}")).into());
            }
        }
    }
    if n > cap {
        return Ok(None);
    }
    Ok(Some(buf.truncated(n)?))
}

fn encrypt(global: &GlobalArgs, ctx: &Ctx, a: CryptArgs) -> Result<u8> {
    let kek = ctx.kek()?;
    let plain = read_input(a.input.as_deref(), ctx.max_payload)?;
    let _lock = ctx.lock()?;
    let sealer = ctx.sealer(ctx.load(kek.as_ref())?)?;
    if let Some(want) = a.key_id {
        let active = sealer.keyring().active_id();
        if want != active {
            return Err(InputError::new(format!(
                "--key-id {want} is not the active key ({active})"
            ))
            .with_hint("only the active key encrypts; see `vouch seal status`")
            .into());
        }
    }
    let env = match sealer.encrypt(&ctx.caller, plain.expose(), a.aad.as_bytes()) {
        Ok(env) => env,
        Err(e) => return failure(e, a.input.as_deref()),
    };
    drop(plain);
    // Persist the encryption count before releasing the envelope.
    ctx.save(sealer.keyring(), kek.as_ref())?;
    let k = sealer.keyring();
    if let Some(active) = k.keys().iter().find(|i| i.id == k.active_id())
        && active.encryptions.saturating_mul(10) >= k.max_encryptions().saturating_mul(9)
    {
        output::warn(
            global,
            &format!(
                "key {} has made {} of its {} encryptions; run `vouch seal rotate` soon",
                active.id,
                active.encryptions,
                k.max_encryptions()
            ),
        );
    }
    output::emit(global, &env)?;
    Ok(0)
}

fn decrypt(global: &GlobalArgs, ctx: &Ctx, a: CryptArgs) -> Result<u8> {
    let kek = ctx.kek()?;
    let cap = ctx.max_payload.saturating_add(OVERHEAD);
    let env = read_input(a.input.as_deref(), cap)?;
    let sealer = ctx.sealer(ctx.load(kek.as_ref())?)?;
    if let Some(want) = a.key_id
        && envelope::key_id(env.expose()) != Some(want)
    {
        let subject = a.input.clone().unwrap_or_else(|| PathBuf::from("<stdin>"));
        eprintln!(
            "error: {}: the envelope is not sealed under key {want} (--key-id)",
            subject.display()
        );
        return Ok(1);
    }
    match sealer.decrypt(&ctx.caller, env.expose(), a.aad.as_bytes()) {
        Ok(plain) => {
            output::emit(global, plain.expose())?;
            Ok(0)
        }
        Err(e) => failure(e, a.input.as_deref()),
    }
}

fn mutate(
    global: &GlobalArgs,
    ctx: &Ctx,
    op: impl FnOnce(&mut Sealer, &str) -> Result<String>,
) -> Result<u8> {
    let kek = ctx.kek()?;
    let _lock = ctx.lock()?;
    let mut sealer = ctx.sealer(ctx.load(kek.as_ref())?)?;
    let msg = match op(&mut sealer, &ctx.caller) {
        Ok(m) => m,
        Err(e) => {
            return match e.downcast::<SealError>() {
                Ok(se) => failure(se, Some(&ctx.keyring)),
                Err(other) => Err(other),
            };
        }
    };
    ctx.save(sealer.keyring(), kek.as_ref())?;
    output::emit(global, msg.as_bytes())?;
    Ok(0)
}

fn rewrap(global: &GlobalArgs, ctx: &Ctx, files: &[PathBuf], aad: &str) -> Result<u8> {
    if global.output.is_some() {
        return Err(
            InputError::new("rewrap rewrites FILES in place; -o does not apply")
                .with_hint("drop -o")
                .into(),
        );
    }
    let kek = ctx.kek()?;
    let _lock = ctx.lock()?;
    let sealer = ctx.sealer(ctx.load(kek.as_ref())?)?;
    let cap = ctx.max_payload.saturating_add(OVERHEAD);
    let mut report = String::new();
    let mut failed = 0usize;
    let mut pending = Vec::new();
    for f in files {
        let bytes = match read_input(Some(f), cap) {
            Ok(b) => b,
            Err(e) => {
                // Persist the counts of what was already rewrapped before giving up.
                ctx.save(sealer.keyring(), kek.as_ref())?;
                write_all(&pending)?;
                return Err(e);
            }
        };
        match sealer.rewrap(&ctx.caller, bytes.expose(), aad.as_bytes()) {
            Ok(r) if r.changed() => {
                report.push_str(&format!(
                    "{}: key {} -> key {}\n",
                    f.display(),
                    r.from,
                    r.to
                ));
                pending.push((f.clone(), r.envelope));
            }
            Ok(r) => report.push_str(&format!("{}: already under key {}\n", f.display(), r.to)),
            Err(SealError::Decrypt) => {
                failed += 1;
                eprintln!("error: {}: {}", f.display(), SealError::Decrypt);
            }
            Err(e) => {
                ctx.save(sealer.keyring(), kek.as_ref())?;
                write_all(&pending)?;
                return failure(e, Some(f));
            }
        }
    }
    // Counts first, then the files: a crash in between over-counts, never under-counts.
    ctx.save(sealer.keyring(), kek.as_ref())?;
    write_all(&pending)?;
    if !global.quiet {
        output::emit(global, report.as_bytes())?;
    }
    Ok(if failed > 0 { 1 } else { 0 })
}

fn write_all(pending: &[(PathBuf, Vec<u8>)]) -> Result<()> {
    for (path, bytes) in pending {
        output::write_atomic(path, bytes)?;
    }
    Ok(())
}

fn status(global: &GlobalArgs, ctx: &Ctx, files: &[PathBuf]) -> Result<u8> {
    let format = output::format_as(global, StatusFormat::Text)?;
    let kek = ctx.kek()?;
    let keyring = ctx.load(kek.as_ref())?;
    let active = keyring.active_id();
    let mut envs = Vec::new();
    for f in files {
        let bytes =
            std::fs::read(f).map_err(|e| InputError::in_file(f, format!("cannot read: {e}")))?;
        envs.push((f, envelope::key_id(&bytes)));
    }
    let keys = keyring.keys();
    let usable = |id: u32| {
        keys.iter().any(|k| {
            k.id == id && k.state != KeyState::Retired && id >= keyring.min_decryption_version()
        })
    };
    let out = match format {
        StatusFormat::Json => {
            let v = serde_json::json!({
                "keyring": ctx.keyring.display().to_string(),
                "kek": kek.describe(),
                "active_key": active,
                "min_decryption_version": keyring.min_decryption_version(),
                "max_encryptions": keyring.max_encryptions(),
                "keys": keys.iter().map(|k| serde_json::json!({
                    "id": k.id, "state": k.state.as_str(), "created": k.created.to_string(),
                    "encryptions": k.encryptions,
                })).collect::<Vec<_>>(),
                "files": envs.iter().map(|(f, id)| serde_json::json!({
                    "path": f.display().to_string(), "key_id": id,
                    "current": *id == Some(active), "decryptable": id.is_some_and(usable),
                })).collect::<Vec<_>>(),
            });
            let mut b = serde_json::to_vec_pretty(&v)?;
            b.push(b'\n');
            b
        }
        StatusFormat::Text => {
            let mut s = format!(
                "keyring: {}\nkey-encryption key: {}\nminimum decryption version: {}\nencryptions per key: at most {}\n\n  ID  STATE         CREATED                ENCRYPTIONS\n",
                ctx.keyring.display(),
                kek.describe(),
                keyring.min_decryption_version(),
                keyring.max_encryptions()
            );
            for k in keys.iter().rev() {
                s.push_str(&format!(
                    "{:>4}  {:<12}  {:<21}  {}\n",
                    k.id,
                    k.state.as_str(),
                    k.created.to_string(),
                    k.encryptions
                ));
            }
            if !envs.is_empty() {
                s.push('\n');
            }
            for (f, id) in &envs {
                let what = match id {
                    None => "not a vouch seal envelope".to_string(),
                    Some(id) if *id == active => format!("key {id} (active)"),
                    Some(id) if usable(*id) => {
                        format!("key {id}: rewrap to move it to key {active}")
                    }
                    Some(id) => format!("key {id}: no longer decryptable"),
                };
                s.push_str(&format!("{}: {what}\n", f.display()));
            }
            s.into_bytes()
        }
    };
    output::emit(global, &out)?;
    Ok(0)
}

/// A `pkcs11:` URI, or exit 2 naming what is wrong (never echoing a pin-value).
fn parse_pkcs11(text: &str) -> Result<Pkcs11Uri> {
    Pkcs11Uri::parse(text).map_err(|e| {
        InputError::new(format!("--kek-pkcs11: {e}"))
            .with_hint("e.g. pkcs11:token=vouch;object=seal-kek")
            .into()
    })
}

/// The PIN and module for PKCS#11, from the same variables the signing commands read.
fn pkcs11_secrets() -> SecretInputs {
    SecretInputs {
        passphrase: None,
        pkcs11_pin: std::env::var("VOUCH_PKCS11_PIN").ok().map(Zeroizing::new),
        pkcs11_module: std::env::var_os("VOUCH_PKCS11_MODULE").map(PathBuf::from),
    }
}

fn kek_init(global: &GlobalArgs, uri: &str) -> Result<u8> {
    let parsed = parse_pkcs11(uri)?;
    Pkcs11Kek::generate(&parsed, &pkcs11_secrets()).map_err(|e| InputError::new(e.to_string()))?;
    if !global.quiet {
        eprintln!(
            "created an AES-256 key-encryption key at {parsed} (sensitive, not extractable); use it with --kek-pkcs11"
        );
    }
    Ok(0)
}
