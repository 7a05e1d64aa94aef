//! `vouch trust show|export|import`: the trusted roots verification runs against, offline.
//!
//! The trust store is a directory (`VOUCH_TRUST_DIR`, else `$XDG_CONFIG_HOME/vouch/trust`,
//! else `~/.config/vouch/trust`) holding `trusted_root.json` (and `signing_config.json` when a
//! kit carried one). Keyless verification without `--trusted-root` uses it. Nothing here
//! touches the network; Offline Kits move trust between machines as signed directories
//! (format and rules in `vouch_attest::trust`).

use std::path::{Path, PathBuf};

use anyhow::{Result, anyhow};
use clap::{Args, Subcommand};
use vouch_attest::trust::{self, Manifest};
use vouch_attest::verify::{Evidence, Policy, Verifier};
use vouch_attest::{TrustedRoot, sign};
use vouch_core::InputError;

use crate::cli::GlobalArgs;
use crate::commands::signing::{load_public_keys, load_signer};
use crate::output;

#[derive(Debug, Subcommand)]
pub enum TrustCommand {
    /// Show what a trusted root contains: CAs, transparency logs, CT logs and timestamp
    /// authorities, each with its validity window (inclusive at both ends).
    Show(ShowArgs),
    /// Write an Offline Kit: the trusted root (and signing config) with a manifest of
    /// digests signed by --key, for machines without network access.
    Export(ExportArgs),
    /// Verify an Offline Kit with the publisher's public key and install it into the trust
    /// store. A kit with a changed, missing or extra file is refused whole.
    Import(ImportArgs),
    /// Refresh the trusted root from a TUF repository (Sigstore's, or your own), when a
    /// network is there. Every TUF check (root rotation, thresholds, expiry, rollback,
    /// hashes) must pass before anything is installed. Never needed to verify.
    Update(UpdateArgs),
}

/// Sigstore's public-good TUF repository.
pub const SIGSTORE_TUF_URL: &str = "https://tuf-repo-cdn.sigstore.dev";

#[derive(Debug, Args)]
pub struct UpdateArgs {
    /// The TUF repository's base URL (metadata at URL/, targets at URL/targets/);
    /// `file://` for a local mirror.
    #[arg(long, value_name = "URL", default_value = SIGSTORE_TUF_URL)]
    pub tuf_url: String,
    /// The TUF root.json to start from (trust on first use of this file). Later runs start
    /// from the newest root the store has verified.
    #[arg(long, value_name = "FILE")]
    pub tuf_root: Option<PathBuf>,
    /// Install here instead of the default trust store.
    #[arg(long, value_name = "DIR")]
    pub store: Option<PathBuf>,
    /// Refuse any network access: only a file:// repository can be read (the global
    /// --offline does the same for every command).
    #[arg(long)]
    pub offline: bool,
}

#[derive(Debug, Args)]
pub struct ShowArgs {
    /// A trusted_root.json, or an Offline Kit directory (default: the trust store's root).
    #[arg(value_name = "FILE|KIT")]
    pub path: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct ExportArgs {
    /// The kit directory to write (must not exist, or be empty).
    #[arg(long, value_name = "KIT")]
    pub out: PathBuf,
    /// The trusted root to put in the kit (default: the trust store's).
    #[arg(long, value_name = "FILE")]
    pub trusted_root: Option<PathBuf>,
    /// A Sigstore SigningConfig (v0.2) to ship beside the root.
    #[arg(long, value_name = "FILE")]
    pub signing_config: Option<PathBuf>,
    /// The publisher's signing key (PEM path, env://VAR or pkcs11: URI).
    #[arg(long, value_name = "KEYREF")]
    pub key: String,
}

#[derive(Debug, Args)]
pub struct ImportArgs {
    /// The Offline Kit directory.
    #[arg(value_name = "KIT")]
    pub kit: PathBuf,
    /// The publisher's public key the kit's manifest must be signed with.
    #[arg(long, value_name = "KEYREF")]
    pub key: String,
    /// Install here instead of the default trust store.
    #[arg(long, value_name = "DIR")]
    pub store: Option<PathBuf>,
}

/// The default trust store directory.
pub fn store_dir() -> Option<PathBuf> {
    if let Some(d) = std::env::var_os("VOUCH_TRUST_DIR") {
        return Some(PathBuf::from(d));
    }
    let config = std::env::var_os("XDG_CONFIG_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".config")))?;
    Some(config.join("vouch").join("trust"))
}

/// The trust store's trusted root, if one was imported.
pub fn stored_root() -> Option<PathBuf> {
    store_dir()
        .map(|d| d.join(trust::TRUSTED_ROOT))
        .filter(|p| p.is_file())
}

pub fn run(global: &GlobalArgs, cmd: TrustCommand) -> Result<u8> {
    match cmd {
        TrustCommand::Show(a) => show(global, a),
        TrustCommand::Export(a) => export(global, a),
        TrustCommand::Import(a) => import(global, a),
        TrustCommand::Update(a) => update(global, a),
    }
}

fn read(path: &Path) -> Result<Vec<u8>> {
    std::fs::read(path).map_err(|e| anyhow!(InputError::in_file(path, format!("cannot read: {e}"))))
}

fn no_root() -> anyhow::Error {
    anyhow!(
        InputError::new("no trusted root given and none in the trust store")
            .with_hint("pass a trusted_root.json, or `vouch trust import KIT --key PUB` first")
    )
}

fn show(global: &GlobalArgs, a: ShowArgs) -> Result<u8> {
    let path = match a.path {
        Some(p) if p.is_dir() => p.join(trust::TRUSTED_ROOT),
        Some(p) => p,
        None => stored_root().ok_or_else(no_root)?,
    };
    let root = TrustedRoot::from_json(&read(&path)?)
        .map_err(|e| anyhow!(InputError::in_file(&path, e.to_string())))?;
    let mut text = format!("{}\n", path.display());
    for line in trust::describe(&root) {
        text.push_str(&line);
        text.push('\n');
    }
    output::emit(global, text.as_bytes())?;
    Ok(0)
}

fn export(global: &GlobalArgs, a: ExportArgs) -> Result<u8> {
    let root_path = match a.trusted_root {
        Some(p) => p,
        None => stored_root().ok_or_else(no_root)?,
    };
    if a.out.exists()
        && std::fs::read_dir(&a.out)
            .map(|mut d| d.next().is_some())
            .unwrap_or(true)
    {
        return Err(anyhow!(
            InputError::in_file(&a.out, "already exists and is not empty")
                .with_hint("export into a new directory")
        ));
    }
    let root = read(&root_path)?;
    let mut files: Vec<(&str, Vec<u8>)> = vec![(trust::TRUSTED_ROOT, root)];
    if let Some(sc) = &a.signing_config {
        let bytes = read(sc)?;
        serde_json::from_slice::<serde_json::Value>(&bytes)
            .map_err(|e| anyhow!(InputError::in_file(sc, format!("not JSON: {e}"))))?;
        files.push((trust::SIGNING_CONFIG, bytes));
    }
    let refs: Vec<(&str, &[u8])> = files.iter().map(|(n, b)| (*n, b.as_slice())).collect();
    let manifest = Manifest::for_files(&refs)
        .map_err(|e| anyhow!(InputError::in_file(&root_path, e.to_string())))?
        .to_bytes();
    let signer = load_signer(&a.key)?;
    let bundle = sign::sign_blob(signer.as_ref(), &manifest[..])
        .map_err(|e| anyhow!(InputError::new(e.to_string())))?;
    std::fs::create_dir_all(&a.out)
        .map_err(|e| anyhow!(InputError::in_file(&a.out, format!("cannot create: {e}"))))?;
    for (name, bytes) in &files {
        output::write_atomic(&a.out.join(name), bytes)?;
    }
    output::write_atomic(&a.out.join(trust::MANIFEST), &manifest)?;
    output::write_atomic(&a.out.join(trust::MANIFEST_BUNDLE), &bundle.to_json())?;
    if !global.quiet {
        eprintln!(
            "Offline Kit written to {} ({} file(s), manifest signed by {})",
            a.out.display(),
            files.len(),
            signer.public_key().hint()
        );
    }
    Ok(0)
}

fn import(global: &GlobalArgs, a: ImportArgs) -> Result<u8> {
    if !a.kit.is_dir() {
        return Err(anyhow!(InputError::in_file(&a.kit, "is not a directory")));
    }
    let keys = load_public_keys(std::slice::from_ref(&a.key))?;
    let refuse = |why: String| -> Result<u8> {
        eprintln!("error: {}: {why}", a.kit.display());
        eprintln!("Offline Kit refused: nothing installed");
        Ok(1)
    };
    let manifest_bytes = read(&a.kit.join(trust::MANIFEST))?;
    let bundle_path = a.kit.join(trust::MANIFEST_BUNDLE);
    let bundle = match Evidence::from_json(&read(&bundle_path)?) {
        Ok(Evidence::Bundle(b)) => b,
        Ok(Evidence::Envelope(_)) => {
            return refuse("the manifest signature is not a bundle".into());
        }
        Err(e) => return refuse(format!("{}: {e}", trust::MANIFEST_BUNDLE)),
    };
    let outcome = Verifier::new(Policy::keys(keys))
        .verify_blob(&bundle, &manifest_bytes[..])
        .map_err(|e| anyhow!(InputError::new(e.to_string())))?;
    if !outcome.is_verified() {
        return refuse(format!("the manifest {}", outcome.message()));
    }
    let manifest = match Manifest::from_json(&manifest_bytes) {
        Ok(m) => m,
        Err(e) => return refuse(e.to_string()),
    };
    let mut files = Vec::new();
    let entries = std::fs::read_dir(&a.kit)
        .map_err(|e| anyhow!(InputError::in_file(&a.kit, format!("cannot read: {e}"))))?;
    for entry in entries {
        let entry = entry.map_err(|e| anyhow!(InputError::in_file(&a.kit, e.to_string())))?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if name == trust::MANIFEST || name == trust::MANIFEST_BUNDLE {
            continue;
        }
        files.push((name, read(&entry.path())?));
    }
    if let Err(why) = manifest.check_files(&files) {
        return refuse(why);
    }
    if let Some((_, root)) = files.iter().find(|(n, _)| n == trust::TRUSTED_ROOT)
        && let Err(e) = TrustedRoot::from_json(root)
    {
        return refuse(e.to_string());
    }
    let store = a.store.or_else(store_dir).ok_or_else(|| {
        anyhow!(
            InputError::new("no trust store directory")
                .with_hint("set VOUCH_TRUST_DIR or pass --store")
        )
    })?;
    std::fs::create_dir_all(&store)
        .map_err(|e| anyhow!(InputError::in_file(&store, format!("cannot create: {e}"))))?;
    for (name, bytes) in &files {
        output::write_atomic(&store.join(name), bytes)?;
    }
    if !global.quiet {
        eprintln!(
            "Offline Kit verified and installed into {} ({} file(s))",
            store.display(),
            files.len()
        );
    }
    Ok(0)
}

/// TUF target names Sigstore publishes, and the names the store keeps them under.
const TUF_TARGETS: [(&str, &str); 2] = [
    ("trusted_root.json", trust::TRUSTED_ROOT),
    ("signing_config.v0.2.json", trust::SIGNING_CONFIG),
];

fn update(global: &GlobalArgs, a: UpdateArgs) -> Result<u8> {
    let store = a.store.or_else(store_dir).ok_or_else(|| {
        anyhow!(
            InputError::new("no trust store directory")
                .with_hint("set VOUCH_TRUST_DIR or pass --store")
        )
    })?;
    let tuf_dir = store.join("tuf");
    let known_root = tuf_dir.join("root.json");
    let root_path = match (&a.tuf_root, known_root.is_file()) {
        (Some(p), _) => p.clone(),
        (None, true) => known_root.clone(),
        (None, false) => {
            return Err(anyhow!(
                InputError::new("no TUF root to start from")
                    .with_hint("pass --tuf-root ROOT.json (the repository's published root metadata) once; later updates start from the stored one")
            ));
        }
    };
    if (a.offline || global.offline) && !a.tuf_url.starts_with("file://") {
        return Err(anyhow!(
            InputError::new(format!("--offline: `{}` needs the network", a.tuf_url))
                .with_hint("use a file:// mirror of the repository")
        ));
    }
    let tuf_root = read(&root_path)?;
    let datastore = tuf_dir.join("datastore");
    std::fs::create_dir_all(&datastore).map_err(|e| {
        anyhow!(InputError::in_file(
            &datastore,
            format!("cannot create: {e}")
        ))
    })?;
    let base = a.tuf_url.trim_end_matches('/');
    let names: Vec<&str> = TUF_TARGETS.iter().map(|(n, _)| *n).collect();
    let offline = a.offline || global.offline;
    let fetched = match crate::tuf::fetch_targets(
        &tuf_root,
        base,
        &format!("{base}/targets"),
        &datastore,
        &names,
        offline,
    ) {
        Ok(f) => f,
        Err(why) => {
            eprintln!("error: {why}");
            eprintln!("Trust update refused: nothing installed");
            return Ok(1);
        }
    };
    let Some((_, root)) = fetched
        .targets
        .iter()
        .find(|(n, _)| n == "trusted_root.json")
    else {
        eprintln!("error: the repository lists no trusted_root.json target");
        return Ok(1);
    };
    if let Err(e) = TrustedRoot::from_json(root) {
        eprintln!("error: the repository's trusted_root.json: {e}");
        return Ok(1);
    }
    std::fs::create_dir_all(&store)
        .map_err(|e| anyhow!(InputError::in_file(&store, format!("cannot create: {e}"))))?;
    for (name, bytes) in &fetched.targets {
        if let Some((_, local)) = TUF_TARGETS.iter().find(|(n, _)| n == name) {
            output::write_atomic(&store.join(local), bytes)?;
        }
    }
    output::write_atomic(&known_root, &fetched.latest_root)?;
    if !global.quiet {
        eprintln!(
            "Trusted root updated from {} into {}",
            a.tuf_url,
            store.display()
        );
    }
    Ok(0)
}
