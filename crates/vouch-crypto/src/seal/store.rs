//! Serialising access to a keyring file between processes.
//!
//! Every command that changes the keyring (encrypt counts, rotate, rewrap, retire) holds an
//! exclusive advisory lock on `<keyring>.lock` from load to save, so two processes never lose
//! each other's encryption counts or rotations.

use std::fs::{File, OpenOptions};
use std::path::{Path, PathBuf};

/// An exclusive lock on a keyring, released on drop.
#[derive(Debug)]
pub struct KeyringLock {
    _file: File,
    path: PathBuf,
}

impl KeyringLock {
    /// Blocks until the lock on `keyring` is held.
    pub fn acquire(keyring: &Path) -> std::io::Result<KeyringLock> {
        let mut name = keyring.as_os_str().to_owned();
        name.push(".lock");
        let path = PathBuf::from(name);
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)?;
        #[cfg(unix)]
        {
            use std::os::fd::AsRawFd;
            // SAFETY: flock on a file descriptor we own.
            if unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX) } != 0 {
                return Err(std::io::Error::last_os_error());
            }
        }
        Ok(KeyringLock { _file: file, path })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}
