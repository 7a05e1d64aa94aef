//! vouch-tlog: a transparency log that speaks the formats the Sigstore and Go checksum
//! database ecosystems use.
//!
//! - [`merkle`]: RFC 6962 / RFC 9162 hashing, inclusion and consistency proofs.

// Panics on input are bugs: library and binary code returns errors instead (tests may unwrap).
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]
pub mod audit;
pub mod checkpoint;
pub mod http;
pub mod index;
pub mod index_pg;
pub mod log;
pub mod merkle;
pub mod note;
pub mod proof;
pub mod rekor;
pub mod sequencer;
pub mod serve;
pub mod store;
pub mod tiles;
pub mod witness;
