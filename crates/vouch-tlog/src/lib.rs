//! vouch-tlog: a transparency log that speaks the formats the Sigstore and Go checksum
//! database ecosystems use.
//!
//! - [`merkle`]: RFC 6962 / RFC 9162 hashing, inclusion and consistency proofs.
//! - [`note`], [`checkpoint`], [`proof`]: C2SP signed notes, checkpoints and tlog-proofs.
//! - [`rekor`]: what Sigstore bundles and trusted roots say about a vouch log.
//! - with feature `sqlite`: the writable [`log`] (tiles + SQLite sequencing index), the
//!   batching [`sequencer`], [`audit`]; `postgres`: [`index_pg`]; `serve`: the HTTP [`serve`]r.
//!
//! Without features the crate only reads and verifies: that is the half a bundle verifier
//! links (vouch-attest), and it must never pull a database driver or an async runtime.

// Panics on input are bugs: library and binary code returns errors instead (tests may unwrap).
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]
#[cfg(feature = "sqlite")]
pub mod audit;
pub mod checkpoint;
pub mod http;
#[cfg(feature = "sqlite")]
pub mod index;
#[cfg(feature = "postgres")]
pub mod index_pg;
pub mod input;
#[cfg(feature = "sqlite")]
pub mod keyfile;
#[cfg(feature = "sqlite")]
pub mod log;
pub mod merkle;
pub mod note;
#[cfg(feature = "sqlite")]
pub mod ops;
pub mod proof;
pub mod rekor;
#[cfg(feature = "sqlite")]
pub mod sequencer;
#[cfg(feature = "serve")]
pub mod serve;
pub mod store;
pub mod tiles;
pub mod witness;
