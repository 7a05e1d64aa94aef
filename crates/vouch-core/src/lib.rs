//! vouch-core: the models every vouch capability shares.
//!
//! A capability (secrets, workflows, SBOM, …) turns its input into [`Finding`]s through the
//! [`Check`] trait; this crate walks the repository once, runs the checks, applies
//! [`exceptions`], severity overrides and the fail threshold, and returns a [`Report`].
//! Rendering lives in `vouch-report`; talking to the terminal lives in `vouch-cli`.
//!
//! This crate must never print, exit or read the clock implicitly: every input (the date
//! used for exception expiry, the configuration) is passed in, so runs are reproducible.

// Panics on input are bugs: library and binary code returns errors instead (tests may unwrap).
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]

pub mod check;
pub mod config;
pub mod digest;
pub mod engine;
pub mod error;
pub mod exceptions;
pub mod finding;
pub mod fingerprint;
pub mod fs;
pub mod inline;
pub mod redact;
pub mod repo_rules;
pub mod report;
pub mod rule;
pub mod severity;
pub mod walk;
pub mod yaml;

pub use check::{Check, CheckContext, Sink, SourceFile};
pub use config::Config;
pub use digest::Digest;
pub use error::InputError;
pub use finding::{Finding, Location, Region};
pub use fingerprint::Fingerprint;
pub use report::{Report, Summary};
pub use rule::Rule;
pub use severity::Severity;

/// The tool name and version written into every report.
pub const TOOL_NAME: &str = "vouch";
/// The version of the workspace, as built.
pub const TOOL_VERSION: &str = env!("CARGO_PKG_VERSION");
