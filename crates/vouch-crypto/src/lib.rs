//! vouch-crypto: keys, signatures, sealing and protected memory.
//!
//! Primitives come from aws-lc-rs (the same provider rustls uses in `vouch serve`), so the
//! workspace links one crypto library. This crate never prints, never logs secret bytes, and
//! never lets a secret reach `Debug` or `Display`.

// Panics on input are bugs: library and binary code returns errors instead (tests may unwrap).
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]

pub mod keys;
pub mod pkcs11;
pub mod protected;
pub mod ratelimit;
pub mod seal;
pub mod signer;
