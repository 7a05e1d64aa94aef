//! (owned by the seal work: issue 9)
//! Seal: AES-256-GCM encryption at rest with a keyring, key IDs, rotation, rewrap and audit.
//!
//! - [`envelope`]: the versioned byte layout of a sealed message (documented in `docs/seal.md`).
//! - [`keyring`]: 32-byte keys with IDs, states (active, decrypt-only, retired), creation
//!   times and encryption counters; exactly one active key; the keyring file, encrypted under a
//!   key-encryption key.
//! - [`kek`]: where the key-encryption key comes from ([`kek::KekSource`]: base64 in an
//!   environment variable, a file; an HSM source plugs in through the same trait).
//! - [`audit`]: structured events for every operation, to a pluggable sink.
//! - [`Sealer`]: the only way to encrypt and decrypt. It enforces the payload cap before any
//!   work, the per-key encryption limit, the decrypt rate limit, one opaque decrypt error, and
//!   records an audit event for every attempt, successful or not.
//!
//! AES-256-GCM comes from aws-lc-rs. Nonces are 96 random bits from the system CSPRNG; with
//! random nonces NIST SP 800-38D bounds a key to 2^32 messages, so each key counts its
//! encryptions and refuses past [`DEFAULT_MAX_ENCRYPTIONS`] (2^31), forcing a rotation long
//! before the bound.

pub mod audit;
pub mod envelope;
mod gcm;
pub mod kek;
pub mod kek_pkcs11;
pub mod keyring;
mod sealer;
pub mod store;

pub use audit::{AuditEvent, AuditSink, Operation, Outcome};
pub use kek::{KekKind, KekSource, LocalKek};
pub use kek_pkcs11::Pkcs11Kek;
pub use keyring::{KeyInfo, KeyState, Keyring};
pub use sealer::{Rewrap, Sealer};

use crate::protected::ProtectedError;
use crate::ratelimit::RateLimited;

/// Default cap on a plaintext (and on a ciphertext, plus the envelope overhead): 1 MiB.
pub const DEFAULT_MAX_PAYLOAD: usize = 1 << 20;

/// Encryptions one key may make before it must be rotated: 2^31, half the 2^32 that
/// NIST SP 800-38D allows for random 96-bit nonces.
pub const DEFAULT_MAX_ENCRYPTIONS: u64 = 1 << 31;

/// Length of every data key and key-encryption key: AES-256.
pub const KEY_LEN: usize = 32;

/// Everything that can go wrong while sealing. Decryption failures are deliberately one
/// variant, [`SealError::Decrypt`], whatever the cause.
#[derive(Debug, thiserror::Error)]
pub enum SealError {
    /// The one opaque decryption error: bad tag, wrong associated data, wrong or unknown key,
    /// retired key, key below the minimum decryption version, malformed envelope. The audit
    /// event (for the operator) records which.
    #[error("decryption failed: wrong key, wrong associated data, or the ciphertext was altered")]
    Decrypt,
    /// The payload is over the configured cap; refused before any work.
    #[error("payload of {size} bytes is over the limit of {max} bytes")]
    TooLarge { size: u64, max: u64 },
    /// The active key has made as many encryptions as it may.
    #[error("key {id} has made {count} encryptions, its limit")]
    KeyExhausted { id: u32, count: u64 },
    /// Key material that is not exactly 32 bytes, or an unusable key-encryption key.
    #[error("invalid key: {0}")]
    InvalidKey(String),
    /// The keyring's contents or an operation on it break its rules.
    #[error("keyring: {0}")]
    Keyring(String),
    /// The keyring file did not authenticate under the key-encryption key.
    #[error("the keyring could not be opened: wrong key-encryption key, or the file was altered")]
    KeyringAuth,
    /// The audit sink refused the event; the operation is not performed (fail closed).
    #[error("audit sink failed: {0}")]
    Audit(String),
    /// Too many decrypt attempts from this caller.
    #[error(transparent)]
    RateLimited(#[from] RateLimited),
    #[error(transparent)]
    Memory(#[from] ProtectedError),
    /// The crypto provider failed (random generator, key setup).
    #[error("cryptographic provider failure")]
    Crypto,
}

#[cfg(test)]
mod tests;
