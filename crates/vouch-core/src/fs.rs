//! Reading input files that an attacker may have chosen.
//!
//! A path in a repository, a flag or an OCI layout can name a FIFO (opening it blocks until a
//! writer appears, so CI hangs), a directory, or a device such as `/dev/zero` or
//! `/dev/urandom` (reading it never ends, memory grows until the process is killed). Every
//! input file is therefore opened without blocking, checked to be a regular file on the open
//! descriptor (no window between the check and the read), and read up to a size limit.
//! Standard input is the only non-regular input, and only where a command documents `-`.

use std::fs::{File, Metadata};
use std::io::Read;
use std::path::Path;

use crate::InputError;

/// A generous limit for text inputs (policies, lockfiles, configuration): 256 MiB.
pub const MAX_INPUT_LEN: u64 = 256 * 1024 * 1024;

/// What kind of file `meta` describes, in words, when it is not a regular file.
fn kind(meta: &Metadata) -> &'static str {
    let t = meta.file_type();
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if t.is_fifo() {
            return "a FIFO";
        }
        if t.is_char_device() {
            return "a character device";
        }
        if t.is_block_device() {
            return "a block device";
        }
        if t.is_socket() {
            return "a socket";
        }
    }
    if t.is_dir() {
        "a directory"
    } else {
        "not a regular file"
    }
}

/// Opens `path` for reading if, and only if, it is a regular file (symbolic links are
/// followed). FIFOs are opened non-blocking, so refusing one never waits for a writer.
pub fn open_regular(path: &Path) -> Result<(File, Metadata), InputError> {
    let mut options = std::fs::OpenOptions::new();
    options.read(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        // O_NONBLOCK has no effect on regular files; on a FIFO it makes open return at once.
        options.custom_flags(libc::O_NONBLOCK);
    }
    let file = options
        .open(path)
        .map_err(|e| InputError::in_file(path, format!("cannot read: {e}")))?;
    let meta = file
        .metadata()
        .map_err(|e| InputError::in_file(path, format!("cannot read: {e}")))?;
    if !meta.is_file() {
        return Err(InputError::in_file(
            path,
            format!("cannot read: {}, not a regular file", kind(&meta)),
        )
        .with_hint(
            "give the path of a regular file (use `-` where a command reads standard input)",
        ));
    }
    Ok((file, meta))
}

/// Refuses, without opening it, a path that exists and is not a regular file. A missing path
/// passes (callers that treat "missing" as "absent" keep doing so).
pub fn ensure_regular_if_present(path: &Path) -> Result<(), InputError> {
    match std::fs::metadata(path) {
        Ok(meta) if !meta.is_file() => Err(InputError::in_file(
            path,
            format!("cannot read: {}, not a regular file", kind(&meta)),
        )
        .with_hint("replace it with a regular file or remove it")),
        _ => Ok(()),
    }
}

/// Reads a regular file of at most `max_len` bytes.
pub fn read_regular(path: &Path, max_len: u64) -> Result<Vec<u8>, InputError> {
    let (file, meta) = open_regular(path)?;
    let too_long = || {
        InputError::in_file(path, format!("file is larger than {max_len} bytes"))
            .with_hint("vouch refuses inputs this large")
    };
    if meta.len() > max_len {
        return Err(too_long());
    }
    let mut bytes = Vec::with_capacity(usize::try_from(meta.len()).unwrap_or(0));
    // The file may grow between stat and read: read one byte past the limit to notice.
    file.take(max_len.saturating_add(1))
        .read_to_end(&mut bytes)
        .map_err(|e| InputError::in_file(path, format!("cannot read: {e}")))?;
    if bytes.len() as u64 > max_len {
        return Err(too_long());
    }
    Ok(bytes)
}

/// Reads a regular UTF-8 text file of at most `max_len` bytes.
pub fn read_regular_to_string(path: &Path, max_len: u64) -> Result<String, InputError> {
    let bytes = read_regular(path, max_len)?;
    String::from_utf8(bytes).map_err(|e| {
        let offset = e.utf8_error().valid_up_to();
        let valid = String::from_utf8_lossy(&e.as_bytes()[..offset]).into_owned();
        let (line, column) = crate::error::line_col(&valid, offset);
        InputError::at(path, line, Some(column), "not UTF-8 text")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn regular_files_are_read() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("a.txt");
        std::fs::write(&p, "hello\n").unwrap();
        assert_eq!(read_regular_to_string(&p, 100).unwrap(), "hello\n");
        let e = read_regular(&p, 3).unwrap_err();
        assert!(e.message.contains("larger than 3"), "{e}");
    }

    #[test]
    fn directories_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let e = read_regular(dir.path(), 100).unwrap_err();
        assert!(e.message.contains("a directory"), "{e}");
        assert!(ensure_regular_if_present(dir.path()).is_err());
        assert!(ensure_regular_if_present(&dir.path().join("missing")).is_ok());
    }

    #[cfg(unix)]
    #[test]
    fn fifos_are_refused_without_blocking() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("fifo");
        let c = std::ffi::CString::new(p.to_str().unwrap()).unwrap();
        // SAFETY: a valid NUL-terminated path and mode.
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
        // Without O_NONBLOCK this open would wait for a writer forever.
        let e = read_regular(&p, 100).unwrap_err();
        assert!(e.message.contains("FIFO"), "{e}");
        assert!(ensure_regular_if_present(&p).is_err());
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn devices_are_refused() {
        for dev in ["/dev/zero", "/dev/urandom", "/dev/null"] {
            let e = read_regular(Path::new(dev), MAX_INPUT_LEN).unwrap_err();
            assert!(e.message.contains("character device"), "{dev}: {e}");
        }
    }

    #[test]
    fn invalid_utf8_has_a_position() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("a.txt");
        std::fs::write(&p, b"ab\ncd\xffe").unwrap();
        let e = read_regular_to_string(&p, 100).unwrap_err();
        assert_eq!((e.line, e.column), (Some(2), Some(3)), "{e}");
    }
}
