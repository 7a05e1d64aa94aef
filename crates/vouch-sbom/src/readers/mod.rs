//! One module per input format. Each reader turns the text of one file into components; it
//! never invents what the file does not say (no guessed licences or hashes).
//!
//! A reader receives the path relative to the scanned root (recorded as the components'
//! source) and returns an [`InputError`] with the line for malformed input.

pub mod cargo;
pub mod composer;
pub mod dpkg;
pub mod gobinary;
pub mod gomod;
pub mod gradle;
pub mod maven;
pub mod mix;
pub mod npm;
pub mod nuget;
pub mod pipfile;
pub mod pnpm;
pub mod poetry;
pub mod pubspec;
pub mod requirements;
pub mod rpm;
pub mod ruby;
pub mod swift;
pub mod yarn;

use vouch_core::InputError;
use vouch_core::error::line_col;

use crate::model::{Component, Subject};

/// What one file contributed.
#[derive(Debug, Default)]
pub struct Parsed {
    pub components: Vec<Component>,
    /// purls the project depends on directly.
    pub direct: Vec<String>,
    /// The project's own name and version, when the file states them.
    pub subject: Option<Subject>,
    /// Other files this one includes (`-r base.txt`), relative to its directory.
    pub includes: Vec<String>,
}

/// A reader: (relative path, text) → components.
pub type Reader = fn(&str, &str) -> Result<Parsed, InputError>;

/// The reader for a file name, if vouch reads it.
pub fn reader_for(path: &str) -> Option<Reader> {
    let name = path.rsplit('/').next().unwrap_or(path);
    Some(match name {
        "Cargo.lock" => cargo::read,
        "package-lock.json" | "npm-shrinkwrap.json" => npm::read,
        "yarn.lock" => yarn::read,
        "pnpm-lock.yaml" => pnpm::read,
        "poetry.lock" | "uv.lock" | "pdm.lock" => poetry::read,
        "Pipfile.lock" => pipfile::read,
        "go.mod" => gomod::read,
        "Gemfile.lock" | "gems.locked" => ruby::read,
        "composer.lock" => composer::read,
        "gradle.lockfile" => gradle::read,
        "pom.xml" => maven::read,
        "packages.lock.json" => nuget::read,
        "pubspec.lock" => pubspec::read,
        "Package.resolved" => swift::read,
        "mix.lock" => mix::read,
        "status" if path.ends_with("var/lib/dpkg/status") => dpkg::read,
        "installed" if path.ends_with("lib/apk/db/installed") => dpkg::read_apk,
        // Binary: read by `rpm::read_db` in the scanner; this text entry point only refuses.
        "rpmdb.sqlite" => |p, _| {
            Err(InputError::in_file(
                p,
                "an RPM database is read from a file, not text",
            ))
        },
        n if requirements::is_requirements(n) => requirements::read,
        _ => return None,
    })
}

/// Marks as `dev` every component that the production roots do not reach (for lockfiles
/// that record the graph but not the scope).
pub(crate) fn dev_by_reachability(components: &mut [Component], prod_roots: &[String]) {
    use std::collections::{HashMap, HashSet, VecDeque};
    let graph: HashMap<String, Vec<String>> = components
        .iter()
        .map(|c| (c.purl.clone(), c.dependencies.clone()))
        .collect();
    let mut seen: HashSet<String> = HashSet::new();
    let mut queue: VecDeque<String> = prod_roots.iter().cloned().collect();
    while let Some(p) = queue.pop_front() {
        if !seen.insert(p.clone()) {
            continue;
        }
        if let Some(deps) = graph.get(&p) {
            queue.extend(deps.iter().cloned());
        }
    }
    for c in components.iter_mut() {
        if !seen.contains(&c.purl) {
            c.scope = crate::model::Scope::Dev;
        }
    }
}

/// An error at a byte offset of `text`.
pub(crate) fn err_at(path: &str, text: &str, offset: usize, msg: impl Into<String>) -> InputError {
    let (line, col) = line_col(text, offset);
    InputError::at(path, line, Some(col), msg)
}

/// A JSON syntax/shape error with its position.
pub(crate) fn json_err(path: &str, e: &serde_json::Error) -> InputError {
    let line = u32::try_from(e.line()).unwrap_or(u32::MAX).max(1);
    let col = u32::try_from(e.column()).unwrap_or(u32::MAX);
    let msg = e.to_string();
    let msg = msg.split(" at line ").next().unwrap_or(&msg).to_string();
    InputError::at(
        path,
        line,
        Some(col.max(1)),
        format!("malformed JSON: {msg}"),
    )
    .with_hint("regenerate the lockfile with its package manager")
}

/// A TOML error with its position.
pub(crate) fn toml_err(path: &str, text: &str, e: &toml::de::Error) -> InputError {
    let (line, col) = e.span().map(|s| line_col(text, s.start)).unwrap_or((1, 1));
    let msg = e.message().to_string();
    InputError::at(path, line, Some(col), format!("malformed TOML: {msg}"))
        .with_hint("regenerate the lockfile with its package manager")
}

/// A shape error in a parsed document (a missing field) at a line.
pub(crate) fn shape_err(path: &str, line: u32, msg: impl Into<String>) -> InputError {
    InputError::at(path, line.max(1), None, msg)
        .with_hint("the file does not look like one its package manager wrote; regenerate it")
}

/// The 1-based line where `needle` first occurs at or after the start of a line, for
/// pointing shape errors in JSON lockfiles at the right place; 1 when not found.
pub(crate) fn line_of(text: &str, needle: &str) -> u32 {
    text.find(needle).map(|o| line_col(text, o).0).unwrap_or(1)
}

#[cfg(test)]
pub(crate) mod testutil {
    /// Runs a reader over arbitrary text; it must return, never panic.
    pub fn no_panic(reader: super::Reader, text: &str) {
        let _ = reader("x", text);
    }
}
