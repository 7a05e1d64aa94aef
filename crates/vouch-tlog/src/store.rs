//! Where tiles, entry bundles and the checkpoint live: an object-store-style trait (get /
//! put of whole objects by path, the shape of S3 and the `object_store` crate), with a POSIX
//! directory implementation (the embedded default) and an in-memory one for tests.
//!
//! Every `put` is atomic (temporary file, fsync, rename), so a reader never sees a torn
//! object; [`TileStore::sync`] makes the renames themselves durable (directory fsync).

use std::collections::{BTreeSet, HashMap};
use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// Whole-object storage addressed by `/`-separated relative paths.
pub trait TileStore: Send + Sync {
    /// The object at `path`, or `None` if there is none.
    fn get(&self, path: &str) -> io::Result<Option<Vec<u8>>>;
    /// Writes an object atomically (readers see the old or the new bytes, never a mix).
    fn put(&self, path: &str, data: &[u8]) -> io::Result<()>;
    /// Makes every `put` so far durable.
    fn sync(&self) -> io::Result<()>;
    /// Writes an object atomically but without waiting for the disk: only for objects that
    /// are rebuilt from durable state after a crash (the published checkpoint, which the
    /// index holds), where an fsync would only add latency to every batch.
    fn put_unsynced(&self, path: &str, data: &[u8]) -> io::Result<()> {
        self.put(path, data)
    }
    /// Writes several objects (an implementation may do so in parallel).
    fn put_many(&self, objects: &[(&str, &[u8])]) -> io::Result<()> {
        for (p, d) in objects {
            self.put(p, d)?;
        }
        Ok(())
    }
}

fn check_path(path: &str) -> io::Result<()> {
    if path.is_empty()
        || path.starts_with('/')
        || path
            .split('/')
            .any(|c| c.is_empty() || c == "." || c == "..")
    {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("bad object path `{path}`"),
        ));
    }
    Ok(())
}

/// A directory laid out exactly as C2SP tlog-tiles, servable by any static web server.
#[derive(Debug)]
pub struct PosixStore {
    root: PathBuf,
    dirty_dirs: Mutex<BTreeSet<PathBuf>>,
}

impl PosixStore {
    pub fn new(root: impl Into<PathBuf>) -> Self {
        PosixStore {
            root: root.into(),
            dirty_dirs: Mutex::default(),
        }
    }

    pub fn root(&self) -> &Path {
        &self.root
    }
}

/// Durable atomic file write: temp file in the same directory, fsync, rename. (The rename
/// is durable once the directory is synced.)
pub fn write_file_atomic(path: &Path, data: &[u8]) -> io::Result<()> {
    write_atomic(path, data, true)
}

fn write_atomic(path: &Path, data: &[u8], durable: bool) -> io::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    if !dir.is_dir() {
        fs::create_dir_all(dir)?;
    }
    let name = path
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or("object");
    let tmp = dir.join(format!(".{name}.tmp.{}", unique_suffix()));
    let mut f = fs::File::create(&tmp)?;
    f.write_all(data)?;
    if durable {
        f.sync_all()?;
    }
    drop(f);
    fs::rename(&tmp, path)
}

/// A temp-file suffix no other writer uses: the process id alone is not enough, since
/// replicas sharing a log directory may run in one process (tests) or each as PID 1 of its
/// own container, and they publish `checkpoint` concurrently.
fn unique_suffix() -> String {
    static COUNTER: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let mut r = [0u8; 8];
    // Without randomness the pid and counter still separate the writers of one host.
    let _ = aws_lc_rs::rand::fill(&mut r);
    format!("{}.{n}.{}", std::process::id(), hex::encode(r))
}

/// fsync a directory so that renames into it survive a crash.
pub fn sync_dir(dir: &Path) -> io::Result<()> {
    fs::File::open(dir)?.sync_all()
}

impl TileStore for PosixStore {
    fn get(&self, path: &str) -> io::Result<Option<Vec<u8>>> {
        check_path(path)?;
        let full = self.root.join(path);
        // A FIFO or device in the log directory would block or never end: regular files only.
        if fs::metadata(&full).is_ok_and(|m| !m.is_file()) {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!("{}: not a regular file", full.display()),
            ));
        }
        match fs::read(&full) {
            Ok(b) => Ok(Some(b)),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e),
        }
    }

    fn put(&self, path: &str, data: &[u8]) -> io::Result<()> {
        check_path(path)?;
        let full = self.root.join(path);
        let Some(parent) = full.parent() else {
            return Err(io::Error::new(io::ErrorKind::InvalidInput, "no parent"));
        };
        // The file's directory must be synced for the rename to last; directories created
        // now must be synced in their parents too, up to the first one that existed.
        let mut dirty = vec![parent.to_path_buf()];
        let mut p = parent;
        while !p.is_dir() && p != self.root {
            match p.parent() {
                Some(up) => {
                    dirty.push(up.to_path_buf());
                    p = up;
                }
                None => break,
            }
        }
        write_file_atomic(&full, data)?;
        if let Ok(mut d) = self.dirty_dirs.lock() {
            d.extend(dirty);
        }
        Ok(())
    }

    fn put_unsynced(&self, path: &str, data: &[u8]) -> io::Result<()> {
        check_path(path)?;
        write_atomic(&self.root.join(path), data, false)
    }

    fn put_many(&self, objects: &[(&str, &[u8])]) -> io::Result<()> {
        // fsyncs of different files overlap in the device queue: write them in parallel.
        std::thread::scope(|s| {
            let hs: Vec<_> = objects
                .iter()
                .map(|(p, d)| s.spawn(move || self.put(p, d)))
                .collect();
            hs.into_iter().try_for_each(|h| {
                h.join()
                    .unwrap_or_else(|_| Err(io::Error::other("writer panicked")))
            })
        })
    }

    fn sync(&self) -> io::Result<()> {
        let dirs = match self.dirty_dirs.lock() {
            Ok(mut d) => std::mem::take(&mut *d),
            Err(_) => BTreeSet::new(),
        };
        // All at once: nothing is acknowledged until every one has returned, so the order
        // in which a new directory and its parent reach the disk does not matter, and
        // waiting level by level would cost one device flush per level.
        let dirs: Vec<&PathBuf> = dirs.iter().collect();
        std::thread::scope(|s| {
            let hs: Vec<_> = dirs.iter().map(|d| s.spawn(move || sync_dir(d))).collect();
            hs.into_iter().try_for_each(|h| {
                h.join()
                    .unwrap_or_else(|_| Err(io::Error::other("sync panicked")))
            })
        })
    }
}

/// Objects in memory, for tests.
#[derive(Debug, Default)]
pub struct MemoryStore {
    objects: Mutex<HashMap<String, Vec<u8>>>,
}

impl TileStore for MemoryStore {
    fn get(&self, path: &str) -> io::Result<Option<Vec<u8>>> {
        Ok(self.objects.lock().ok().and_then(|o| o.get(path).cloned()))
    }

    fn put(&self, path: &str, data: &[u8]) -> io::Result<()> {
        check_path(path)?;
        if let Ok(mut o) = self.objects.lock() {
            o.insert(path.to_string(), data.to_vec());
        }
        Ok(())
    }

    fn sync(&self) -> io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Replicas sharing a log directory publish `checkpoint` concurrently, possibly from one
    /// process: every write must succeed and leave one whole version.
    #[test]
    fn concurrent_atomic_writes_of_one_file_all_succeed() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("checkpoint");
        std::thread::scope(|s| {
            for t in 0..8u8 {
                let path = &path;
                s.spawn(move || {
                    for _ in 0..50 {
                        write_file_atomic(path, &[t; 4096]).unwrap();
                    }
                });
            }
        });
        let data = fs::read(&path).unwrap();
        assert_eq!(data.len(), 4096);
        assert!(data.iter().all(|&b| b == data[0]));
    }
}
