//! vouch-ca: the issuing side of keyless signing, as pure functions over bytes.
//!
//! - `fulcio`: short-lived code-signing certificates in Fulcio's profile (one critical SAN,
//!   empty subject, digitalSignature + codeSigning, the OIDC issuer in `1.3.6.1.4.1.57264.1.1`
//!   and `.1.8`, CI workflow claims in `.1.9`–`.1.24`), issued as a precertificate first.
//! - `ct`: an RFC 6962 CT log's signing half: the precertificate Merkle leaf and the signed
//!   certificate timestamp (SCT) that the final certificate embeds.
//! - `tsa`: RFC 3161 timestamp responses (TSTInfo in CMS SignedData) for a DER
//!   `TimeStampReq`.
//!
//! Like every capability crate, this one never prints, never exits, never reads a clock or a
//! file: `vouch serve` passes the time and the keys. Every signature is made through
//! `vouch_crypto::signer::Signer`, so CA and TSA keys can be files or PKCS#11 objects. What it
//! issues must verify with `vouch_attest`'s verifier and with sigstore-python; the tests
//! check the first, `vouch serve`'s tests the second.

#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]

pub mod chain;
pub mod ct;
pub mod fulcio;
pub mod identity;
pub mod protected_key;
pub mod tsa;
