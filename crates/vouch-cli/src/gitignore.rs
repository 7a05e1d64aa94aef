//! Keeps vouch's own secrets and state out of commits: a command that writes a private key or
//! a database inside a git work tree adds it to the `.gitignore` beside it.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use anyhow::Result;
use vouch_core::InputError;

use crate::cli::GlobalArgs;
use crate::output;

/// The top of the git work tree that contains `dir`, if any (a `.git` directory, or the `.git`
/// file of a linked worktree or submodule).
fn work_tree(dir: &Path) -> Option<PathBuf> {
    let abs = std::path::absolute(dir).ok()?;
    abs.ancestors()
        .find(|d| d.join(".git").exists())
        .map(Path::to_path_buf)
}

/// Whether `.gitignore` text already ignores `name` with one of the entries this module writes
/// (or the same name, with or without a leading slash).
fn listed(gitignore: &str, name: &str) -> bool {
    gitignore
        .lines()
        .map(str::trim)
        .any(|l| l == name || l.strip_prefix('/') == Some(name))
}

/// When `file` lies inside a git work tree, makes sure the `.gitignore` in its directory lists
/// it (appending an entry with a comment saying why) and says so on stderr. `why` is that
/// comment. Outside a work tree it does nothing.
pub fn protect(global: &GlobalArgs, file: &Path, why: &str) -> Result<()> {
    let dir = match file.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let Some(name) = file.file_name().and_then(|n| n.to_str()) else {
        return Ok(());
    };
    if work_tree(dir).is_none() {
        return Ok(());
    }
    let path = if dir == Path::new(".") {
        PathBuf::from(".gitignore")
    } else {
        dir.join(".gitignore")
    };
    let existing = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
        Err(e) => return Err(InputError::in_file(&path, format!("cannot read: {e}")).into()),
    };
    if listed(&existing, name) {
        return Ok(());
    }
    let mut entry = String::new();
    if !existing.is_empty() && !existing.ends_with('\n') {
        entry.push('\n');
    }
    entry.push_str(&format!("# written by vouch: {why}\n/{name}\n"));
    let write = std::fs::create_dir_all(dir).and_then(|()| {
        std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .and_then(|mut f| f.write_all(entry.as_bytes()))
    });
    if let Err(e) = write {
        return Err(InputError::in_file(
            &path,
            format!("cannot add `{name}` to it: {e}"),
        )
        .with_hint(format!(
            "{} must not be committed; add it to .gitignore yourself, or write it outside the repository",
            file.display()
        ))
        .into());
    }
    output::warn_note(
        global,
        &format!("added /{name} to {} ({why})", path.display()),
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn listed_entries() {
        assert!(listed("target\n/release.key\n", "release.key"));
        assert!(listed("release.key", "release.key"));
        assert!(!listed("release.key.bak\n", "release.key"));
        assert!(!listed("", "release.key"));
    }
}
