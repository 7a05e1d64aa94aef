//! A log: tiles in a [`TileStore`], a sequencing [`Index`], and the log's note key.
//!
//! An append batch goes: take the index's write transaction → deduplicate → write the new
//! tiles and entry bundles (each atomic and fsynced) → sign the new checkpoint → commit the
//! index (entries + checkpoint; this is the commit point) → publish `checkpoint` (atomic,
//! fsynced) → acknowledge. A crash before the commit leaves tiles beyond the committed size
//! that no checkpoint refers to; they are overwritten by the next batch. A crash after the
//! commit but before `checkpoint` is published is repaired when the log is next opened.
//!
//! On-disk layout of a POSIX log directory:
//!
//! ```text
//! DIR/checkpoint            the latest signed checkpoint (C2SP tlog-checkpoint)
//! DIR/tile/<L>/<N>[.p/<W>]  hash tiles (C2SP tlog-tiles)
//! DIR/tile/entries/<N>[.p/<W>]  entry bundles
//! DIR/.state/index.db       SQLite sequencing index (not meant to be served)
//! DIR/.state/vkey           the log's public note key
//! DIR.key                   the log's private note key, beside the directory (mode 0600),
//!                           so that serving DIR never serves the key; encrypted with a
//!                           passphrase unless it was empty (see [`crate::keyfile`])
//! ```

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use crate::checkpoint::{self, Checkpoint, CheckpointError};
use crate::index::{Index, IndexError, SqliteIndex};
use crate::merkle::{self, Hash, ProofError, leaf_hash, node_hash};
use crate::note::{ALG_ED25519, NoteError, Signer, Verifier};
use crate::store::{PosixStore, TileStore};
use crate::tiles::{
    self, TileReader, WIDTH, decode_bundle, decode_tile, entries_path, level_count, tile_path,
};

/// Largest entry an entry bundle can hold (uint16 length prefix).
pub const MAX_ENTRY: usize = u16::MAX as usize;

#[derive(Debug, thiserror::Error)]
pub enum LogError {
    #[error("{path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    #[error(transparent)]
    Index(#[from] IndexError),
    #[error(transparent)]
    Note(#[from] NoteError),
    #[error(transparent)]
    Checkpoint(#[from] CheckpointError),
    #[error(transparent)]
    Proof(#[from] ProofError),
    #[error("entry is {0} bytes; a log entry holds at most 65535")]
    TooLarge(usize),
    #[error("{0}")]
    Corrupt(String),
    #[error("{0}")]
    Usage(String),
    /// The private key file cannot be used (encrypted without a passphrase, a wrong
    /// passphrase, not a key).
    #[error("{path}: {source}")]
    Key {
        path: String,
        source: crate::keyfile::KeyFileError,
    },
}

fn io(path: impl AsRef<Path>) -> impl FnOnce(std::io::Error) -> LogError {
    let path = path.as_ref().display().to_string();
    move |source| LogError::Io { path, source }
}

/// The default place of a log directory's private key: `DIR.key` beside `DIR`.
pub fn default_key_path(dir: &Path) -> PathBuf {
    let abs = if dir.is_absolute() {
        dir.to_path_buf()
    } else {
        std::env::current_dir()
            .map(|c| c.join(dir))
            .unwrap_or_else(|_| dir.to_path_buf())
    };
    let abs = abs.canonicalize().unwrap_or(abs);
    let name = abs
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "log".into());
    abs.parent()
        .unwrap_or(Path::new("/"))
        .join(format!("{name}.key"))
}

fn state_dir(dir: &Path) -> PathBuf {
    dir.join(".state")
}

/// The result of appending one entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Appended {
    /// Index of the entry in the log.
    pub index: u64,
    /// RFC 6962 leaf hash of the entry.
    pub leaf: Hash,
    /// Whether the entry was already in the log (deduplicated).
    pub duplicate: bool,
    /// Tree size of the checkpoint.
    pub size: u64,
    /// The signed checkpoint (a signed note) that includes the entry.
    pub checkpoint: String,
    /// Inclusion proof of the entry in that checkpoint.
    pub proof: Vec<Hash>,
}

/// A transparency log opened for appending.
pub struct Log {
    store: Box<dyn TileStore>,
    index: Box<dyn Index>,
    signer: Signer,
    origin: String,
}

impl std::fmt::Debug for Log {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Log({})", self.origin)
    }
}

/// Creates a new POSIX log at `dir` with origin `origin`; returns its public `vkey`. The
/// private key is written to `key_path` (default `DIR.key`) with mode 0600.
pub fn init(dir: &Path, origin: &str, key_path: Option<&Path>) -> Result<String, LogError> {
    init_with_index(dir, origin, key_path, None)
}

/// [`init`] with another sequencing index than `DIR/.state/index.db` (PostgreSQL).
pub fn init_with_index(
    dir: &Path,
    origin: &str,
    key_path: Option<&Path>,
    index: Option<Box<dyn Index>>,
) -> Result<String, LogError> {
    init_encrypted(dir, origin, key_path, index, b"")
}

/// [`init_with_index`] writing the private key encrypted with `passphrase` (an empty
/// passphrase writes the plaintext note key, as `vouch key generate` does).
pub fn init_encrypted(
    dir: &Path,
    origin: &str,
    key_path: Option<&Path>,
    index: Option<Box<dyn Index>>,
    passphrase: &[u8],
) -> Result<String, LogError> {
    if dir.join("checkpoint").exists() || state_dir(dir).join("index.db").exists() {
        return Err(LogError::Usage(format!(
            "{} already holds a log",
            dir.display()
        )));
    }
    if origin.is_empty() || origin.contains('\n') || origin.chars().any(char::is_control) {
        return Err(LogError::Usage(
            "the origin must be one line of text".into(),
        ));
    }
    let key_name = origin
        .split_whitespace()
        .collect::<Vec<_>>()
        .join("_")
        .replace('+', "_");
    let signer = Signer::generate(&key_name, ALG_ED25519)?;
    let key_path = key_path
        .map(Path::to_path_buf)
        .unwrap_or_else(|| default_key_path(dir));
    if key_path.exists() {
        return Err(LogError::Usage(format!(
            "{} already exists; not overwriting a key",
            key_path.display()
        )));
    }
    let key_file = crate::keyfile::encode(&signer, passphrase).map_err(|source| LogError::Key {
        path: key_path.display().to_string(),
        source,
    })?;
    std::fs::create_dir_all(state_dir(dir)).map_err(io(dir))?;
    write_secret(&key_path, key_file.as_bytes())?;
    let vkey = signer.vkey();
    crate::store::write_file_atomic(&state_dir(dir).join("vkey"), format!("{vkey}\n").as_bytes())
        .map_err(io(state_dir(dir).join("vkey")))?;
    let index = match index {
        Some(i) => i,
        None => Box::new(SqliteIndex::open(&state_dir(dir).join("index.db"))?),
    };
    let mut log = Log {
        store: Box::new(PosixStore::new(dir)),
        index,
        signer,
        origin: origin.to_string(),
    };
    log.publish_empty()?;
    Ok(vkey)
}

/// Reads a note key file in either form (see [`crate::keyfile`]).
pub fn load_key(path: &Path, passphrase: Option<&[u8]>) -> Result<Signer, LogError> {
    let text = zeroize::Zeroizing::new(std::fs::read_to_string(path).map_err(io(path))?);
    crate::keyfile::decode(&text, passphrase).map_err(|source| LogError::Key {
        path: path.display().to_string(),
        source,
    })
}

/// Whether the key file at `path` is encrypted, so the caller knows to ask for the
/// passphrase before opening the log. An unreadable file says no: opening it reports why.
pub fn key_is_encrypted(path: &Path) -> bool {
    std::fs::read_to_string(path)
        .map(|t| crate::keyfile::is_encrypted(&zeroize::Zeroizing::new(t)))
        .unwrap_or(false)
}

fn write_secret(path: &Path, data: &[u8]) -> Result<(), LogError> {
    use std::io::Write as _;
    #[cfg(unix)]
    use std::os::unix::fs::OpenOptionsExt as _;
    let mut o = std::fs::OpenOptions::new();
    o.write(true).create_new(true);
    #[cfg(unix)]
    o.mode(0o600);
    let mut f = o.open(path).map_err(io(path))?;
    f.write_all(data)
        .and_then(|_| f.sync_all())
        .map_err(io(path))
}

impl Log {
    /// Opens an existing POSIX log with the SQLite index.
    pub fn open(dir: &Path, key_path: Option<&Path>) -> Result<Log, LogError> {
        Self::open_with_index(dir, key_path, None)
    }

    /// Opens an existing POSIX log whose index is `index` (default: the SQLite index); its
    /// key must be the plaintext form.
    pub fn open_with_index(
        dir: &Path,
        key_path: Option<&Path>,
        index: Option<Box<dyn Index>>,
    ) -> Result<Log, LogError> {
        Self::open_with_passphrase(dir, key_path, index, None)
    }

    /// [`Log::open_with_index`] for a key that may be encrypted: `passphrase` decrypts it.
    pub fn open_with_passphrase(
        dir: &Path,
        key_path: Option<&Path>,
        index: Option<Box<dyn Index>>,
        passphrase: Option<&[u8]>,
    ) -> Result<Log, LogError> {
        let key_path = key_path
            .map(Path::to_path_buf)
            .unwrap_or_else(|| default_key_path(dir));
        let store = PosixStore::new(dir);
        let index: Box<dyn Index> = match index {
            Some(i) => i,
            None => {
                let db = state_dir(dir).join("index.db");
                if !db.exists() {
                    return Err(LogError::Usage(format!(
                        "{} is not a vouch log (no .state/index.db)",
                        dir.display()
                    )));
                }
                Box::new(SqliteIndex::open(&db)?)
            }
        };
        let signer = load_key(&key_path, passphrase)?;
        Self::with_parts(Box::new(store), index, signer)
    }

    /// A log over any store and index (the PostgreSQL index, an object store).
    pub fn with_parts(
        store: Box<dyn TileStore>,
        mut index: Box<dyn Index>,
        signer: Signer,
    ) -> Result<Log, LogError> {
        let latest = index.latest_checkpoint()?;
        let origin = match &latest {
            Some(note) => {
                let cp = checkpoint::open(note.as_bytes(), "", &signer.verifier(), &[], 0);
                match cp {
                    Ok(v) => v.checkpoint.origin,
                    Err(CheckpointError::WrongOrigin { got, .. }) => got,
                    Err(e) => return Err(e.into()),
                }
            }
            None => {
                return Err(LogError::Usage(
                    "the log has no checkpoint; run `vouch log init`".into(),
                ));
            }
        };
        let mut log = Log {
            store,
            index,
            signer,
            origin,
        };
        log.repair_checkpoint()?;
        Ok(log)
    }

    /// A new, empty log over any store and index.
    pub fn create_with_parts(
        store: Box<dyn TileStore>,
        index: Box<dyn Index>,
        signer: Signer,
        origin: &str,
    ) -> Result<Log, LogError> {
        let mut log = Log {
            store,
            index,
            signer,
            origin: origin.to_string(),
        };
        log.publish_empty()?;
        Ok(log)
    }

    fn publish_empty(&mut self) -> Result<(), LogError> {
        let size = self.index.begin()?;
        if size != 0 || self.index.latest_checkpoint()?.is_some() {
            self.index.rollback()?;
            return Err(LogError::Usage("the log already exists".into()));
        }
        let note = self.sign_checkpoint(0, merkle::empty_root())?;
        self.index.commit(0, &[], 0, &note)?;
        self.publish(&note)
    }

    pub fn origin(&self) -> &str {
        &self.origin
    }

    pub fn verifier(&self) -> Verifier {
        self.signer.verifier()
    }

    pub fn store(&self) -> &dyn TileStore {
        self.store.as_ref()
    }

    fn sign_checkpoint(&self, size: u64, root: Hash) -> Result<String, LogError> {
        let body = Checkpoint {
            origin: self.origin.clone(),
            size,
            root: root.to_vec(),
            extensions: vec![],
        }
        .body();
        Ok(self.signer.sign_checkpoint(&body)?)
    }

    /// Publishes `checkpoint` atomically, without waiting for the disk: the checkpoint is
    /// already committed in the index, and a checkpoint file that a crash lost or left
    /// unreadable is re-published from the index when the log is next opened.
    fn publish(&mut self, note: &str) -> Result<(), LogError> {
        self.store
            .put_unsynced("checkpoint", note.as_bytes())
            .map_err(io("checkpoint"))
    }

    /// Re-publishes the latest committed checkpoint if a crash left `checkpoint` behind.
    fn repair_checkpoint(&mut self) -> Result<(), LogError> {
        let Some(latest) = self.index.latest_checkpoint()? else {
            return Ok(());
        };
        self.publish_committed(&latest)
    }

    /// Publishes a committed checkpoint so that `checkpoint` never stays behind the index.
    /// Replicas sharing the directory (the PostgreSQL index) publish after their commit,
    /// outside the sequencing lock, so an older checkpoint can arrive after a newer one: a
    /// checkpoint is not written over a larger one, and after each write the index's latest
    /// is read again and published in turn when it is larger. Whoever writes last has then
    /// read the latest committed checkpoint after writing, so the file ends at it.
    fn publish_committed(&mut self, note: &str) -> Result<(), LogError> {
        let mut note = note.to_string();
        let mut size = note_size(&note)?;
        // Bounded: under constant appends another replica's loop takes over.
        for _ in 0..16 {
            let current = self.store.get("checkpoint").map_err(io("checkpoint"))?;
            let current_size = current
                .as_deref()
                .and_then(|b| std::str::from_utf8(b).ok())
                .and_then(|t| note_size(t).ok());
            if current.as_deref() != Some(note.as_bytes()) && current_size.is_none_or(|c| c <= size)
            {
                self.publish(&note)?;
            }
            let Some(latest) = self.index.latest_checkpoint()? else {
                return Ok(());
            };
            let latest_size = note_size(&latest)?;
            if latest_size <= size {
                return Ok(());
            }
            note = latest;
            size = latest_size;
        }
        Ok(())
    }

    /// The latest published checkpoint note.
    pub fn checkpoint(&mut self) -> Result<String, LogError> {
        self.index
            .latest_checkpoint()?
            .ok_or_else(|| LogError::Corrupt("no checkpoint".into()))
    }

    /// Appends one entry (see [`Log::append_batch`]).
    pub fn append(&mut self, entry: &[u8]) -> Result<Appended, LogError> {
        let mut v = self.append_batch(&[entry])?;
        v.pop()
            .ok_or_else(|| LogError::Corrupt("empty batch result".into()))
    }

    /// Appends a batch of entries, returning for each its index, the signed checkpoint and
    /// an inclusion proof, only after everything is durable. Identical entries (already in
    /// the log or repeated in the batch) get the existing index.
    pub fn append_batch(&mut self, entries: &[&[u8]]) -> Result<Vec<Appended>, LogError> {
        if let Some(e) = entries.iter().find(|e| e.len() > MAX_ENTRY) {
            return Err(LogError::TooLarge(e.len()));
        }
        let n = self.index.begin()?;
        let r = self.append_locked(n, entries);
        if r.is_err() {
            let _ = self.index.rollback();
        }
        r
    }

    fn append_locked(&mut self, n: u64, entries: &[&[u8]]) -> Result<Vec<Appended>, LogError> {
        let hashes: Vec<Hash> = entries.iter().map(|e| leaf_hash(e)).collect();
        let existing = self.index.lookup(&hashes)?;
        let mut seen: HashMap<Hash, u64> = HashMap::new();
        let mut assigned = Vec::with_capacity(entries.len());
        let mut new_entries: Vec<&[u8]> = Vec::new();
        let mut new_hashes: Vec<Hash> = Vec::new();
        for (e, h) in entries.iter().zip(&hashes) {
            if let Some(i) = existing.get(h).or_else(|| seen.get(h)) {
                assigned.push((*i, *h, true));
                continue;
            }
            let i = n + new_entries.len() as u64;
            seen.insert(*h, i);
            new_entries.push(e);
            new_hashes.push(*h);
            assigned.push((i, *h, false));
        }
        let note = if new_entries.is_empty() {
            self.index.rollback()?;
            self.repair_checkpoint()?;
            self.checkpoint()?
        } else {
            let size = n + new_entries.len() as u64;
            let writes = build_tiles(self.store.as_ref(), n, &new_entries, &new_hashes)?;
            let mut objects: Vec<(&str, &[u8])> = writes
                .iter()
                .map(|(p, d)| (p.as_str(), d.as_slice()))
                .collect();
            objects.sort();
            self.store.put_many(&objects).map_err(io("tile"))?;
            self.store.sync().map_err(io("tile"))?;
            let root = merkle::root(
                &TileReader::new(self.store.as_ref(), size).with_overlay(&writes),
                size,
            )?;
            let note = self.sign_checkpoint(size, root)?;
            self.index.commit(n, &new_hashes, size, &note)?;
            self.publish_committed(&note)?;
            note
        };
        let size = note_size(&note)?;
        let reader = TileReader::new(self.store.as_ref(), size);
        assigned
            .into_iter()
            .map(|(index, leaf, duplicate)| {
                Ok(Appended {
                    index,
                    leaf,
                    duplicate,
                    size,
                    checkpoint: note.clone(),
                    proof: merkle::inclusion_proof(&reader, index, size)?,
                })
            })
            .collect()
    }
}

/// The tree size of a signed checkpoint note.
fn note_size(note: &str) -> Result<u64, LogError> {
    Ok(Checkpoint::parse_body(&crate::note::Note::parse(note.as_bytes())?.text)?.size)
}

/// Root of a full tile's 256 hashes (the node 8 heights above them).
fn tile_root(hashes: &[Hash]) -> Hash {
    let mut level: Vec<Hash> = hashes.to_vec();
    while level.len() > 1 {
        level = level
            .chunks_exact(2)
            .map(|p| node_hash(&p[0], &p[1]))
            .collect();
    }
    level[0]
}

fn concat(hashes: &[Hash]) -> Vec<u8> {
    hashes.iter().flat_map(|h| h.iter().copied()).collect()
}

/// The tiles and entry bundles that change when `entries` are appended to a tree of `n`.
pub fn build_tiles(
    store: &dyn TileStore,
    n: u64,
    entries: &[&[u8]],
    hashes: &[Hash],
) -> Result<HashMap<String, Vec<u8>>, LogError> {
    let mut writes = HashMap::new();
    // Entry bundles.
    let (mut t, w0) = (n / WIDTH, n % WIDTH);
    let mut bundle = Vec::new();
    if w0 > 0 {
        let p = entries_path(t, w0);
        bundle = store
            .get(&p)
            .map_err(io(&p))?
            .ok_or_else(|| LogError::Corrupt(format!("{p} is missing")))?;
        if decode_bundle(&bundle).map(|b| b.len() as u64) != Some(w0) {
            return Err(LogError::Corrupt(format!("{p} is truncated or malformed")));
        }
    }
    let mut count = w0;
    for e in entries {
        bundle.extend_from_slice(&(e.len() as u16).to_be_bytes());
        bundle.extend_from_slice(e);
        count += 1;
        if count == WIDTH {
            writes.insert(entries_path(t, WIDTH), std::mem::take(&mut bundle));
            t += 1;
            count = 0;
        }
    }
    if count > 0 {
        writes.insert(entries_path(t, count), bundle);
    }
    // Hash tiles, level by level.
    let mut pending: Vec<Hash> = hashes.to_vec();
    let mut level: u8 = 0;
    while !pending.is_empty() {
        let before = level_count(level, n);
        let (mut t, w0) = (before / WIDTH, before % WIDTH);
        let mut cur: Vec<Hash> = Vec::with_capacity(WIDTH as usize);
        if w0 > 0 {
            let p = tile_path(level, t, w0);
            let bytes = store
                .get(&p)
                .map_err(io(&p))?
                .ok_or_else(|| LogError::Corrupt(format!("{p} is missing")))?;
            cur = decode_tile(&bytes, w0)
                .ok_or_else(|| LogError::Corrupt(format!("{p} is truncated")))?;
        }
        let mut up = Vec::new();
        for h in pending {
            cur.push(h);
            if cur.len() as u64 == WIDTH {
                up.push(tile_root(&cur));
                writes.insert(tile_path(level, t, WIDTH), concat(&cur));
                cur.clear();
                t += 1;
            }
        }
        if !cur.is_empty() {
            writes.insert(tile_path(level, t, cur.len() as u64), concat(&cur));
        }
        pending = up;
        level += 1;
    }
    Ok(writes)
}

/// A public view of a log: its tiles and checkpoint, read through a [`TileStore`].
pub struct LogReader<'a> {
    pub store: &'a dyn TileStore,
}

impl<'a> LogReader<'a> {
    /// The current `checkpoint` object.
    pub fn checkpoint_bytes(&self) -> Result<Vec<u8>, LogError> {
        self.store
            .get("checkpoint")
            .map_err(io("checkpoint"))?
            .ok_or_else(|| LogError::Usage("no checkpoint: not a log directory".into()))
    }

    /// The entry at `index` in a tree of `size`.
    pub fn entry(&self, index: u64, size: u64) -> Result<Vec<u8>, LogError> {
        if index >= size {
            return Err(LogError::Usage(format!(
                "index {index} is outside the log of size {size}"
            )));
        }
        let t = index / WIDTH;
        let w = tiles::tile_width(0, t, size);
        let p = entries_path(t, w);
        let b = self
            .store
            .get(&p)
            .map_err(io(&p))?
            .ok_or_else(|| LogError::Corrupt(format!("{p} is missing")))?;
        let entries = decode_bundle(&b)
            .ok_or_else(|| LogError::Corrupt(format!("{p} is truncated or malformed")))?;
        entries
            .get((index % WIDTH) as usize)
            .map(|e| e.to_vec())
            .ok_or_else(|| {
                LogError::Corrupt(format!("{p} holds {} entries, wanted {w}", entries.len()))
            })
    }
}
