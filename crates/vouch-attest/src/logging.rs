//! A key-signed bundle's signature logged in a vouch transparency log (`vouch-tlog`), and the
//! entry — Rekor v2 body, inclusion proof, signed checkpoint — put into the bundle, so that
//! `vouch verify-blob --require-tlog` and any Sigstore verifier given the log's trusted root
//! accept it.
//!
//! What the CLI's `--tlog`, `vouch release --tlog` and `vouch serve` call: one implementation.
//! The append itself is the caller's (a `Log` opened on a directory, or a batching
//! `Sequencer` shared by many requests), so this module never opens files or databases.
//! It must never return a bundle whose entry was not durably appended.

use vouch_crypto::keys::PublicKey;
use vouch_tlog::log::{Appended, Log, LogError};
use vouch_tlog::note::Verifier;
use vouch_tlog::rekor;

use crate::bundle::{Bundle, TransparencyLogEntry};
use crate::error::AttestError;
use crate::rekor_v2;

/// What gets appended for a bundle: the canonical Rekor v2 entry body and its kind.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogRequest {
    pub body: Vec<u8>,
    pub kind: &'static str,
}

/// The Rekor v2 entry body for `bundle` signed by `signer` (hashedrekord for a message
/// signature, dsse for an envelope).
pub fn log_request(bundle: &Bundle, signer: &PublicKey) -> Result<LogRequest, AttestError> {
    let details = rekor_v2::key_details(signer.algorithm()).ok_or_else(|| {
        AttestError::Usage(
            "Rekor v2 entries name ECDSA P-256/P-384 or Ed25519 keys; this key is neither".into(),
        )
    })?;
    let (body, kind) = rekor_v2::body_for_bundle(bundle, signer.spki_der(), details)?;
    Ok(LogRequest { body, kind })
}

/// Puts the appended entry (index, inclusion proof, checkpoint) into `bundle`, replacing any
/// entry it had.
pub fn attach(
    bundle: &mut Bundle,
    request: &LogRequest,
    appended: &Appended,
    log_key: &Verifier,
) -> Result<(), AttestError> {
    let pk = log_key
        .ed25519_public_key()
        .ok_or_else(|| AttestError::Usage("the log's checkpoint key is not Ed25519".into()))?;
    let item = rekor::tlog_entry_json(
        appended,
        request.kind,
        &request.body,
        &rekor::ed25519_log_id(&pk),
    );
    let entry: TransparencyLogEntry = serde_json::from_value(item)
        .map_err(|e| AttestError::bundle(format!("a log entry did not fit the bundle: {e}")))?;
    bundle.verification_material.tlog_entries = vec![entry];
    Ok(())
}

/// Logs `bundle` with `append` (which must return only once the entry is durable) and
/// attaches the entry.
pub fn log_bundle_with(
    bundle: &mut Bundle,
    signer: &PublicKey,
    log_key: &Verifier,
    append: impl FnOnce(&[u8]) -> Result<Appended, LogError>,
) -> Result<Appended, LogBundleError> {
    let request = log_request(bundle, signer)?;
    let appended = append(&request.body).map_err(LogBundleError::Log)?;
    attach(bundle, &request, &appended, log_key)?;
    Ok(appended)
}

/// Logs `bundle` in `log` and attaches the entry.
pub fn log_bundle(
    log: &mut Log,
    bundle: &mut Bundle,
    signer: &PublicKey,
) -> Result<Appended, LogBundleError> {
    let key = log.verifier();
    log_bundle_with(bundle, signer, &key, |body| log.append(body))
}

/// Why a bundle could not be logged: the bundle or key (the caller's input), or the log.
#[derive(Debug, thiserror::Error)]
pub enum LogBundleError {
    #[error(transparent)]
    Bundle(#[from] AttestError),
    #[error(transparent)]
    Log(LogError),
}
