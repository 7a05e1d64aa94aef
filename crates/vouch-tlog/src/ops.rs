//! What the `vouch log` commands ask for, one call each: [`add_files`], [`prove`],
//! [`audit_dir`], [`verify_proof`], [`follow_once`] (monitor), [`witness_once`] and
//! [`new_witness_key`] (witness), [`trusted_root`]. Each returns a typed result the caller
//! renders; bad input is an [`OpsError::Input`] with the file at fault and a hint.
//!
//! Opening a PostgreSQL index is the caller's ([`IndexOpener`]): it is opened only when the
//! command gets that far, as before. Writing the follow state is the caller's too (atomic file
//! output): [`encode_state`] gives its bytes.

use std::path::{Path, PathBuf};

use crate::audit::{AuditReport, audit, require_history};
use crate::checkpoint::{Checkpoint, VerifiedCheckpoint};
use crate::index::{Index, SqliteIndex};
use crate::log::{Appended, Log, LogError, LogReader};
use crate::merkle::{self, ProofError};
use crate::note::{ALG_COSIGNATURE_V1, Note, Signer, Verifier};
use crate::proof::TlogProof;
use crate::store::{PosixStore, TileStore};
use crate::tiles::TileReader;
use crate::witness::{self, FollowError, FollowState};

pub use crate::input::BadInput;

/// Why a log command could not run.
#[derive(Debug, thiserror::Error)]
pub enum OpsError {
    /// Bad input.
    #[error("{0}")]
    Input(BadInput),
    /// A failure of the log itself (corrupt state, index, I/O the user cannot fix by input).
    #[error(transparent)]
    Log(LogError),
    /// The inclusion proof could not be built from the tiles in `dir`.
    #[error("building the proof from the tiles in {}", dir.display())]
    Proof {
        /// The log directory.
        dir: PathBuf,
        /// What was wrong with the tiles.
        source: ProofError,
    },
}

impl From<BadInput> for OpsError {
    fn from(e: BadInput) -> Self {
        OpsError::Input(e)
    }
}

/// Opens the sequencing index the caller configured (`None`: the SQLite index in the
/// directory).
pub type IndexOpener<'a> = dyn Fn() -> Result<Option<Box<dyn Index>>, OpsError> + 'a;

/// A log error about the log at `dir` as bad input where it is one.
pub fn log_error(dir: &Path, e: LogError) -> OpsError {
    match e {
        LogError::Io { path, source } => OpsError::Input(
            BadInput::in_file(dir.join(&path), source.to_string())
                .with_hint("is --dir a vouch log directory?"),
        ),
        LogError::Usage(m) => OpsError::Input(BadInput::in_file(dir, m)),
        LogError::TooLarge(_) => OpsError::Input(BadInput::new(e.to_string()).with_hint(
            "log a small statement about a large file (its digest, a signature bundle), not the file",
        )),
        LogError::Note(n) => {
            OpsError::Input(BadInput::new(n.to_string()).with_hint("check the key file"))
        }
        LogError::Key { path, source } => {
            let hint = match source {
                crate::keyfile::KeyFileError::PassphraseRequired
                | crate::keyfile::KeyFileError::WrongPassphrase => {
                    "the key's passphrase comes from VOUCH_PASSWORD or a prompt"
                }
                crate::keyfile::KeyFileError::Malformed(_) => "check the key file (--key)",
            };
            OpsError::Input(BadInput::in_file(path, source.to_string()).with_hint(hint))
        }
        other => OpsError::Log(other),
    }
}

/// A log's public key: a vkey string, or a file holding one.
pub fn read_vkey(s: &str) -> Result<Verifier, OpsError> {
    let text = if Path::new(s).is_file() {
        std::fs::read_to_string(s).map_err(|e| BadInput::in_file(s, e.to_string()))?
    } else {
        s.to_string()
    };
    Verifier::parse(text.trim()).map_err(|e| {
        OpsError::Input(
            BadInput::new(format!("{s}: {e}")).with_hint("a vkey looks like name+1a2b3c4d+AbC..."),
        )
    })
}

/// The key given, or the one the log directory keeps (`DIR/.state/vkey`).
pub fn log_vkey(dir: &Path, vkey: Option<&str>) -> Result<Verifier, OpsError> {
    if let Some(v) = vkey {
        return read_vkey(v);
    }
    let p = dir.join(".state/vkey");
    let s = std::fs::read_to_string(&p).map_err(|e| {
        BadInput::in_file(&p, e.to_string()).with_hint("pass the log's key with --vkey")
    })?;
    read_vkey(s.trim())
}

/// `log add FILE…`: appends the files as one batch, one entry each; an entry already in
/// the log keeps its index. Returns once durable, in the order of `files`.
/// `passphrase` decrypts an encrypted key.
pub fn add_files(
    dir: &Path,
    key: Option<&Path>,
    passphrase: Option<&[u8]>,
    files: &[PathBuf],
    index: &IndexOpener<'_>,
) -> Result<Vec<Appended>, OpsError> {
    let mut data = Vec::with_capacity(files.len());
    for f in files {
        data.push(std::fs::read(f).map_err(|e| BadInput::in_file(f, format!("cannot read: {e}")))?);
    }
    let mut log =
        Log::open_with_passphrase(dir, key, index()?, passphrase).map_err(|e| log_error(dir, e))?;
    let refs: Vec<&[u8]> = data.iter().map(Vec::as_slice).collect();
    log.append_batch(&refs).map_err(|e| log_error(dir, e))
}

/// `log prove`: entry `index`'s inclusion proof under the current signed checkpoint.
pub fn prove(dir: &Path, index: u64) -> Result<TlogProof, OpsError> {
    let store = PosixStore::new(dir);
    let reader = LogReader { store: &store };
    let note = reader.checkpoint_bytes().map_err(|e| log_error(dir, e))?;
    let parsed =
        Note::parse(&note).map_err(|e| BadInput::in_file(dir.join("checkpoint"), e.to_string()))?;
    let cp = Checkpoint::parse_body(&parsed.text)
        .map_err(|e| BadInput::in_file(dir.join("checkpoint"), e.to_string()))?;
    if index >= cp.size {
        return Err(BadInput::new(format!(
            "index {index} is outside the log of size {}",
            cp.size
        ))
        .with_hint("indices start at 0")
        .into());
    }
    let tiles = TileReader::new(&store, cp.size);
    let proof =
        merkle::inclusion_proof(&tiles, index, cp.size).map_err(|source| OpsError::Proof {
            dir: dir.to_path_buf(),
            source,
        })?;
    Ok(TlogProof {
        extra: None,
        index,
        proof,
        checkpoint: String::from_utf8_lossy(&note).into_owned(),
    })
}

/// `log verify`: audits a log directory (every tile recomputed, every checkpoint the index
/// remembers checked). Problems are in the report; an unreadable, empty or foreign SQLite
/// index is lost history, a problem too, never usage.
pub fn audit_dir(
    dir: &Path,
    vkey: Option<&str>,
    origin: Option<&str>,
    index: &IndexOpener<'_>,
) -> Result<AuditReport, OpsError> {
    let key = log_vkey(dir, vkey)?;
    let store = PosixStore::new(dir);
    let db = dir.join(".state/index.db");
    let mut index_problem = None;
    let opened = index()?;
    let indexed = opened.is_some() || db.exists();
    let history = match opened {
        Some(mut pg) => pg.checkpoints().map_err(|e| BadInput::new(e.to_string()))?,
        // Read-only: an audit never writes into the log it audits.
        None if db.exists() => SqliteIndex::read_checkpoints(&db).unwrap_or_else(|e| {
            index_problem = Some(format!("{}: {e}", db.display()));
            Vec::new()
        }),
        // A copy of the tiles without the index (a mirror): only the current checkpoint.
        None => Vec::new(),
    };
    match audit(&store, &key, origin, &history) {
        Ok(mut r) => {
            r.problems.extend(index_problem);
            Ok(require_history(r, indexed, &history))
        }
        Err(LogError::Checkpoint(e)) if e.is_malformed() => {
            Err(BadInput::in_file(dir.join("checkpoint"), e.to_string()).into())
        }
        Err(e) => Err(log_error(dir, e)),
    }
}

/// `log verify --proof`: what a verified tlog-proof says.
#[derive(Debug, Clone)]
pub struct ProofVerified {
    /// The entry's index.
    pub index: u64,
    /// The log's origin.
    pub origin: String,
    /// The checkpoint's tree size.
    pub size: u64,
    /// How many trusted witnesses cosigned the checkpoint.
    pub witnesses: usize,
}

/// A tlog-proof to verify offline.
pub struct ProofRequest<'a> {
    /// The log directory (for its default key).
    pub dir: &'a Path,
    /// The tlog-proof file.
    pub proof: &'a Path,
    /// The logged entry.
    pub entry: &'a Path,
    /// The log's key (vkey or file) [default: the directory's].
    pub vkey: Option<&'a str>,
    /// The origin the checkpoint must carry [default: the proof's].
    pub origin: Option<&'a str>,
    /// Trusted witness keys.
    pub witnesses: &'a [String],
    /// Trusted witness cosignatures required.
    pub quorum: usize,
}

/// Verifies a tlog-proof: `Ok(Err(why))` when it does not verify (exit 1), a malformed proof
/// is bad input.
pub fn verify_proof(req: &ProofRequest<'_>) -> Result<Result<ProofVerified, String>, OpsError> {
    let text = std::fs::read_to_string(req.proof)
        .map_err(|e| BadInput::in_file(req.proof, format!("cannot read: {e}")))?;
    let data = std::fs::read(req.entry)
        .map_err(|e| BadInput::in_file(req.entry, format!("cannot read: {e}")))?;
    let p = TlogProof::parse(&text).map_err(|e| BadInput::in_file(req.proof, e.to_string()))?;
    let key = log_vkey(req.dir, req.vkey)?;
    let witnesses = req
        .witnesses
        .iter()
        .map(|w| read_vkey(w))
        .collect::<Result<Vec<_>, _>>()?;
    let origin = match req.origin {
        Some(o) => o.to_string(),
        None => p
            .checkpoint
            .split('\n')
            .next()
            .unwrap_or_default()
            .to_string(),
    };
    match p.verify(&data, &origin, &key, &witnesses, req.quorum) {
        Ok(v) => Ok(Ok(ProofVerified {
            index: p.index,
            origin: v.checkpoint.origin.clone(),
            size: v.checkpoint.size,
            witnesses: v.witnesses.len(),
        })),
        Err(e) if e.is_malformed() => Err(BadInput::in_file(req.proof, e.to_string()).into()),
        Err(e) => Ok(Err(e.to_string())),
    }
}

/// Reads the follow state (`None` before the first run).
pub fn load_state(path: &Path) -> Result<Option<FollowState>, OpsError> {
    match std::fs::read_to_string(path) {
        Ok(s) => Ok(Some(serde_json::from_str(&s).map_err(|e| BadInput {
            line: Some(u32::try_from(e.line()).unwrap_or(u32::MAX)),
            column: Some(u32::try_from(e.column()).unwrap_or(u32::MAX)),
            ..BadInput::in_file(path, e.to_string())
        })?)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(BadInput::in_file(path, e.to_string()).into()),
    }
}

/// The follow state as the state file holds it.
pub fn encode_state(s: &FollowState) -> Vec<u8> {
    let mut bytes = serde_json::to_vec_pretty(s).unwrap_or_default();
    bytes.push(b'\n');
    bytes
}

/// Where a followed log is.
#[derive(Debug, Clone, Copy)]
pub struct Followed<'a> {
    /// The log directory (when no URL).
    pub dir: &'a Path,
    /// The log served at this http:// URL instead.
    pub url: Option<&'a str>,
    /// The log's origin [default: the state's, else the checkpoint's].
    pub origin: Option<&'a str>,
    /// The state file.
    pub state: &'a Path,
}

/// One follow step: the log's new checkpoint verified and consistent with the state's; the
/// new state for the caller to save. `Ok(Err(..))` is a verification failure (rollback,
/// split view, inconsistent log).
pub fn follow_once(
    at: &Followed<'_>,
    key: &Verifier,
) -> Result<Result<(VerifiedCheckpoint, FollowState), FollowError>, OpsError> {
    let store: Box<dyn TileStore> = match at.url {
        Some(u) => Box::new(
            crate::http::HttpStore::new(u).map_err(|e| BadInput::new(format!("--url {u}: {e}")))?,
        ),
        None => Box::new(PosixStore::new(at.dir)),
    };
    let store = store.as_ref();
    let note = LogReader { store }
        .checkpoint_bytes()
        .map_err(|e| match (at.url, e) {
            (Some(u), LogError::Io { source, .. }) => OpsError::Input(
                BadInput::new(format!("{u}: {source}")).with_hint("is the log served there?"),
            ),
            (_, e) => log_error(at.dir, e),
        })?;
    let prev = load_state(at.state)?;
    let origin = at
        .origin
        .map(str::to_string)
        .or_else(|| prev.as_ref().map(|p| p.origin.clone()))
        .unwrap_or_else(|| {
            String::from_utf8_lossy(&note)
                .split('\n')
                .next()
                .unwrap_or_default()
                .to_string()
        });
    match witness::follow(store, &note, &origin, key, prev.as_ref()) {
        Err(FollowError::Checkpoint(e)) if e.is_malformed() => {
            Err(BadInput::in_file(at.dir.join("checkpoint"), e.to_string()).into())
        }
        r => Ok(r),
    }
}

/// `log witness`: one follow step, and the checkpoint cosigned by the witness key in
/// `key_path` at `now` (seconds); `passphrase` decrypts an encrypted key. `Ok(Err(..))` is a
/// refusal (a fork, a rollback).
pub fn witness_once(
    at: &Followed<'_>,
    key_path: &Path,
    passphrase: Option<&[u8]>,
    vkey: &str,
    now: u64,
) -> Result<Result<(String, FollowState), FollowError>, OpsError> {
    let signer = crate::log::load_key(key_path, passphrase).map_err(|e| log_error(key_path, e))?;
    let key = read_vkey(vkey)?;
    Ok(follow_once(at, &key)?.map(|(v, st)| (witness::cosign(&v, &signer, now), st)))
}

/// `log witness --new-key NAME`: writes a new witness key to `path` (mode 0600, never over
/// an existing file), encrypted with `passphrase` unless it is empty, and returns its vkey.
pub fn new_witness_key(name: &str, path: &Path, passphrase: &[u8]) -> Result<String, OpsError> {
    let s = Signer::generate(name, ALG_COSIGNATURE_V1).map_err(|e| BadInput::new(e.to_string()))?;
    if path.exists() {
        return Err(BadInput::in_file(path, "already exists; not overwriting a key").into());
    }
    let file = crate::keyfile::encode(&s, passphrase)
        .map_err(|e| BadInput::in_file(path, e.to_string()))?;
    write_secret(path, file.as_bytes())?;
    Ok(s.vkey())
}

fn write_secret(path: &Path, data: &[u8]) -> Result<(), BadInput> {
    use std::io::Write as _;
    #[cfg(unix)]
    use std::os::unix::fs::OpenOptionsExt as _;
    let mut o = std::fs::OpenOptions::new();
    o.write(true).create_new(true);
    #[cfg(unix)]
    o.mode(0o600);
    let mut f = o
        .open(path)
        .map_err(|e| BadInput::in_file(path, e.to_string()))?;
    f.write_all(data)
        .and_then(|_| f.sync_all())
        .map_err(|e| BadInput::in_file(path, e.to_string()))
}

/// `log trusted-root`: a Sigstore trusted root naming the log's key, valid from the time
/// `valid_from` gives (RFC 3339), read only once the key is.
pub fn trusted_root(
    dir: &Path,
    vkey: Option<&str>,
    valid_from: &dyn Fn() -> Result<String, OpsError>,
) -> Result<serde_json::Value, OpsError> {
    let vkey = log_vkey(dir, vkey)?;
    let valid_from = valid_from()?;
    crate::rekor::trusted_root_json(&vkey, &valid_from).ok_or_else(|| {
        BadInput::new(
            "the log key is not Ed25519: Sigstore trusted roots for vouch logs name Ed25519 keys",
        )
        .into()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sqlite() -> Result<Option<Box<dyn Index>>, OpsError> {
        Ok(None)
    }

    /// A log with `n` entries in `root/log`; returns its directory, vkey and the entry files.
    fn log_with(root: &Path, n: usize) -> (PathBuf, String, Vec<PathBuf>) {
        let dir = root.join("log");
        let vkey = crate::log::init(&dir, "example.com/log", None).unwrap();
        let files: Vec<PathBuf> = (0..n)
            .map(|i| {
                let f = root.join(format!("e{i}"));
                std::fs::write(&f, format!("entry {i}")).unwrap();
                f
            })
            .collect();
        let acks = add_files(&dir, None, None, &files, &sqlite).unwrap();
        assert_eq!(acks.len(), n);
        (dir, vkey, files)
    }

    #[test]
    fn add_prove_verify_and_audit() {
        let tmp = tempfile::tempdir().unwrap();
        let (dir, vkey, files) = log_with(tmp.path(), 3);
        let again = add_files(&dir, None, None, &files[..1], &sqlite).unwrap();
        assert!(again[0].duplicate && again[0].index == 0);

        let proof = prove(&dir, 2).unwrap();
        let proof_path = tmp.path().join("proof");
        std::fs::write(&proof_path, proof.encode()).unwrap();
        let req = ProofRequest {
            dir: &dir,
            proof: &proof_path,
            entry: &files[2],
            vkey: Some(&vkey),
            origin: None,
            witnesses: &[],
            quorum: 0,
        };
        let v = verify_proof(&req).unwrap().unwrap();
        assert_eq!(
            (v.index, v.size, v.origin.as_str()),
            (2, 3, "example.com/log")
        );
        let wrong = ProofRequest {
            entry: &files[0],
            ..req
        };
        assert!(verify_proof(&wrong).unwrap().is_err());

        let OpsError::Input(e) = prove(&dir, 3).unwrap_err() else {
            panic!("not bad input")
        };
        assert_eq!(e.message, "index 3 is outside the log of size 3");

        let rep = audit_dir(&dir, None, None, &sqlite).unwrap();
        assert!(rep.problems.is_empty(), "{:?}", rep.problems);
        assert_eq!(rep.size, 3);
    }

    #[test]
    fn missing_files_and_bad_keys_are_input() {
        let tmp = tempfile::tempdir().unwrap();
        let (dir, _, _) = log_with(tmp.path(), 1);
        let missing = tmp.path().join("missing");
        let OpsError::Input(e) =
            add_files(&dir, None, None, std::slice::from_ref(&missing), &sqlite).unwrap_err()
        else {
            panic!("not bad input")
        };
        assert_eq!(e.file.as_deref(), Some(missing.as_path()));
        assert!(e.message.starts_with("cannot read:"));
        assert!(matches!(read_vkey("not a key"), Err(OpsError::Input(_))));
        let nowhere = tmp.path().join("nowhere");
        let OpsError::Input(e) = log_vkey(&nowhere, None).unwrap_err() else {
            panic!("not bad input")
        };
        assert_eq!(e.hint.as_deref(), Some("pass the log's key with --vkey"));
    }

    #[test]
    fn follow_keeps_state_and_witness_cosigns() {
        let tmp = tempfile::tempdir().unwrap();
        let (dir, vkey, _) = log_with(tmp.path(), 2);
        let state = tmp.path().join("state.json");
        let at = Followed {
            dir: &dir,
            url: None,
            origin: None,
            state: &state,
        };
        let key = read_vkey(&vkey).unwrap();
        let (v, st) = follow_once(&at, &key).unwrap().unwrap();
        assert_eq!((v.checkpoint.size, st.size), (2, 2));
        std::fs::write(&state, encode_state(&st)).unwrap();
        assert_eq!(load_state(&state).unwrap().unwrap().size, 2);
        std::fs::write(&state, b"{ bad").unwrap();
        let OpsError::Input(e) = follow_once(&at, &key).unwrap_err() else {
            panic!("not bad input")
        };
        assert!(e.line.is_some() && e.file.as_deref() == Some(state.as_path()));
        std::fs::remove_file(&state).unwrap();

        let wkey = tmp.path().join("witness.key");
        let wvkey = new_witness_key("witness.example", &wkey, b"pw").unwrap();
        assert!(wvkey.starts_with("witness.example+"));
        assert!(matches!(
            new_witness_key("witness.example", &wkey, b"pw"),
            Err(OpsError::Input(_))
        ));
        let (cosigned, _) = witness_once(&at, &wkey, Some(b"pw"), &vkey, 1_700_000_000)
            .unwrap()
            .unwrap();
        assert!(cosigned.contains("\u{2014} witness.example "));
        let OpsError::Input(e) = witness_once(&at, &wkey, None, &vkey, 1_700_000_000).unwrap_err()
        else {
            panic!("not bad input")
        };
        assert!(e.message.contains("no passphrase"), "{}", e.message);
        assert!(
            !std::fs::read_to_string(&wkey)
                .unwrap()
                .contains("PRIVATE+KEY")
        );
    }

    #[test]
    fn trusted_root_names_the_log_key() {
        let tmp = tempfile::tempdir().unwrap();
        let (dir, _, _) = log_with(tmp.path(), 0);
        let root = trusted_root(&dir, None, &|| Ok("2024-01-01T00:00:00Z".into())).unwrap();
        assert_eq!(root["tlogs"].as_array().unwrap().len(), 1);
        let fails = || Err(OpsError::Input(BadInput::new("no time")));
        let nowhere = tmp.path().join("nowhere");
        let OpsError::Input(e) = trusted_root(&nowhere, None, &fails).unwrap_err() else {
            panic!("not bad input")
        };
        assert!(e.message != "no time", "the key is read before the time");
    }
}
