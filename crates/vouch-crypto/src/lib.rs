//! vouch-crypto: keys, signatures, sealing and protected memory.
//!
//! Primitives come from aws-lc-rs (the same provider rustls uses in `vouch serve`), so the
//! workspace links one crypto library. This crate never prints, never logs secret bytes, and
//! never lets a secret reach `Debug` or `Display`.

pub mod keys;
pub mod pkcs11;
pub mod protected;
pub mod ratelimit;
pub mod seal;
pub mod signer;
