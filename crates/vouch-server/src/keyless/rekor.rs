//! The Rekor v2-compatible write API over the service's own transparency log:
//! `POST /api/v2/log/entries` takes a `hashedRekordRequestV002` (DSSE is sent as a
//! hashedrekord over the PAE digest, as Sigstore clients do), checks that the signature
//! verifies over the digest with the given key or certificate, appends the canonical
//! `hashedrekord` v0.0.2 body and answers a `TransparencyLogEntry` with its inclusion proof and
//! checkpoint. Entries wait for the next checkpoint (the log's batching sequencer; default
//! 20 ms). The C2SP tiles are served from the same log under `/api/v2/`.
//!
//! It must never answer before the entry is durable, nor log a signature that does not
//! verify: a log that accepts garbage proves nothing.

use vouch_attest::rekor_v2::HashedRekordRequest;

use crate::error::{ApiError, Code};
use crate::service::ServiceLog;

/// Largest entry request accepted (a certificate and a signature fit in a few KiB).
pub const MAX_REQUEST: usize = 64 * 1024;

/// Appends the entry `body` asks for; returns the proto3-JSON `TransparencyLogEntry`.
/// Blocking (it waits for the checkpoint): call it on a blocking thread.
pub fn create_entry(log: &ServiceLog, body: &[u8]) -> Result<serde_json::Value, ApiError> {
    if body.len() > MAX_REQUEST {
        return Err(ApiError::new(
            Code::PayloadTooLarge,
            format!("an entry request is at most {MAX_REQUEST} bytes"),
        ));
    }
    let request = HashedRekordRequest::parse(body)
        .map_err(|e| ApiError::new(Code::InvalidRequest, e.to_string()))?;
    let canonical = request.body();
    let appended = log
        .sequencer
        .append(canonical.clone())
        .map_err(|e| ApiError::unavailable(format!("the transparency log cannot append: {e}")))?;
    let pk = log
        .key
        .ed25519_public_key()
        .ok_or_else(|| ApiError::internal("the log's key is not Ed25519"))?;
    let mut entry = vouch_tlog::rekor::tlog_entry_json(
        &appended,
        "hashedrekord",
        &canonical,
        &vouch_tlog::rekor::ed25519_log_id(&pk),
    );
    // Rekor v2 entries carry no integrated time: the verified time comes from a timestamp.
    if let Some(o) = entry.as_object_mut() {
        o.remove("integratedTime");
    }
    Ok(entry)
}
