//! vouch-secrets: finds credentials in files, archives and git history.
//!
//! - [`rules`]: the credential kinds, as data (one file per provider family).
//! - [`scan`]: the engine (keyword prefilter, regexes, filters, validators, decoding layers).
//! - [`filter`], [`validate`]: false-positive control and offline validators.
//! - [`report`]: hits → `vouch_core::Finding`s with redacted evidence; inline allows.
//! - [`baseline`]: fingerprint baselines (`--baseline`).
//! - [`git`]: history (`--git`, `--since`) and the index (`--staged`) through `gix`.
//! - [`inventory`]: `.vouch/secrets.yaml` → `security/secrets.csv`, rotation checks.
//! - [`check`]: the `secrets` check of `vouch check`.
//!
//! Secrets never leave this crate in clear: hits carry a [`scan::SecretText`] whose `Debug` is
//! redacted, and findings carry only the redacted form and a hash.

// Panics on input are bugs: library and binary code returns errors instead (tests may unwrap).
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]

pub mod baseline;
pub mod check;
pub mod custom;
pub mod error;
pub mod filter;
pub mod git;
pub mod gitleaks;
pub mod inventory;
pub mod redact;
pub mod report;
pub mod rule;
pub mod rules;
pub mod scan;
pub mod tree;
pub mod validate;

pub use check::SecretsCheck;
pub use error::SecretsError;
pub use scan::{Hit, ScanOptions, Scanner};
