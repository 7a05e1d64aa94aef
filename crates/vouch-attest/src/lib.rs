//! vouch-attest: the formats signatures travel in, and their verification.
//!
//! - [`dsse`]: DSSE envelopes (PAE, multiple signatures, threshold verification).
//! - [`statement`]: in-toto Statement v1 (and v0.1 on reading), predicate type names.
//! - [`bundle`]: Sigstore bundle v0.3 (reads v0.1/v0.2) in the protobuf-specs proto3 JSON
//!   mapping, with transparency-log entry types ready for `vouch-tlog`.
//! - [`sign`]: helpers that turn a [`Signer`] and an artifact or statement into a bundle or
//!   envelope (what `vouch sign-blob`, `vouch attest` and `vouch release` call).
//! - [`verify`]: a [`Verifier`] with an explicit [`Policy`] (keys, identities, threshold,
//!   predicate types) returning a typed [`Outcome`] so a gate can tell "no valid signature"
//!   from "wrong predicate type" from "subject digest mismatch".
//! - [`trusted_root`], [`x509`], [`keyless`]: offline keyless (Fulcio certificate)
//!   verification against a Sigstore trusted root: chain, SCT, identity, Rekor entry.
//! - `logging` (feature `log`): a signature appended to a vouch transparency log, its entry,
//!   inclusion proof and checkpoint put into the bundle.
//! - [`request`]: one call per signing command (`verify-blob`, `verify-attestation`, `attest`,
//!   `sign-blob`, `bundle digest`, key files): the policy built from trust options, evidence
//!   read with the usage-vs-failed-verification rule, subjects parsed and digested.
//! - [`canonical`]: RFC 8785-style canonical JSON for signed payloads and bundle digests.
//!
//! Like every capability crate, this one never prints and never exits.
//!
//! ```
//! use vouch_attest::{sign, verify::{Policy, Verifier}};
//! use vouch_crypto::keys::{KeyAlgorithm, PrivateKey};
//!
//! let key = PrivateKey::generate(KeyAlgorithm::EcdsaP256).unwrap();
//! let bundle = sign::sign_blob(&key, &b"hello"[..]).unwrap();
//! let verifier = Verifier::new(Policy::keys(vec![key.public_key().clone()]));
//! assert!(verifier.verify_blob(&bundle, &b"hello"[..]).unwrap().is_verified());
//! assert!(!verifier.verify_blob(&bundle, &b"hellO"[..]).unwrap().is_verified());
//! ```

// Panics on input are bugs: library and binary code returns errors instead (tests may unwrap).
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]

pub mod b64;
pub mod bundle;
pub mod canonical;
pub mod dsse;
pub(crate) mod entry;
pub mod error;
pub mod keyless;
#[cfg(feature = "log")]
pub mod logging;
pub mod rekor_v2;
pub mod request;
pub mod sign;
pub mod statement;
pub mod timestamp;
pub mod trust;
pub mod trusted_root;
pub mod verify;
pub mod x509;

pub use bundle::Bundle;
pub use dsse::Envelope;
pub use error::AttestError;
pub use statement::Statement;
pub use trusted_root::TrustedRoot;
pub use verify::{Evidence, Identity, Matcher, Outcome, Policy, SubjectDigest, Verifier};
pub use vouch_crypto;
pub use vouch_crypto::signer::Signer;
