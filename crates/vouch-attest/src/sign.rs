//! Signing helpers: artifact → bundle, statement → DSSE bundle or envelope.
//!
//! These are what `vouch sign-blob`, `vouch attest`, and later `vouch release` and
//! `vouch serve` call. ECDSA blob signing streams the artifact (constant memory, any size):
//! the signature is made over the digest. Ed25519 is "pure" (it signs the message, not a
//! digest), so an Ed25519 blob signature needs the whole artifact in memory.

use std::io::Read;

use vouch_crypto::keys::{HashAlgorithm, Prehash};
use vouch_crypto::signer::Signer;

use crate::b64::Bytes;
use crate::bundle::{Bundle, HashOutput, MessageSignature};
use crate::dsse::{Envelope, IN_TOTO_PAYLOAD_TYPE, KeyIdStyle};
use crate::error::AttestError;
use crate::statement::Statement;

/// A blob signature and the digest it was made over.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlobSignature {
    /// The artifact digest (the key's hash: SHA-256, or SHA-384 for P-384).
    pub digest: Prehash,
    /// Signature bytes (ECDSA: ASN.1 DER).
    pub signature: Vec<u8>,
    /// The artifact size in bytes.
    pub size: u64,
}

/// Signs an artifact read from `reader`, streaming it when the algorithm allows.
pub fn sign_blob_raw(
    signer: &dyn Signer,
    mut reader: impl Read,
) -> Result<BlobSignature, AttestError> {
    let alg = signer.algorithm();
    let hash = alg.hash();
    if alg.signs_prehashed() {
        let mut h = hash.hasher();
        let size = h
            .update_reader(&mut reader)
            .map_err(|e| AttestError::Io(e.to_string()))?;
        let digest = h.finish();
        let signature = signer.sign_prehashed(&digest)?;
        Ok(BlobSignature {
            digest,
            signature,
            size,
        })
    } else {
        let mut all = Vec::new();
        reader
            .read_to_end(&mut all)
            .map_err(|e| AttestError::Io(e.to_string()))?;
        let signature = signer.sign(&all)?;
        Ok(BlobSignature {
            digest: HashAlgorithm::Sha256.hash(&all),
            signature,
            size: all.len() as u64,
        })
    }
}

/// Signs an artifact into a v0.3 bundle with a `messageSignature`.
pub fn sign_blob(signer: &dyn Signer, reader: impl Read) -> Result<Bundle, AttestError> {
    let sig = sign_blob_raw(signer, reader)?;
    Ok(blob_bundle(signer, sig))
}

/// Signs an artifact known only by its digest (what `vouch serve` is sent: the artifact
/// never leaves CI). The digest must be the key's hash (SHA-256, or SHA-384 for P-384);
/// Ed25519 signs messages, not digests, so it cannot sign this way.
pub fn sign_digest(signer: &dyn Signer, digest: Prehash, size: u64) -> Result<Bundle, AttestError> {
    let alg = signer.algorithm();
    if !alg.signs_prehashed() {
        return Err(AttestError::Usage(format!(
            "a {alg} key signs whole messages, not digests: sign the artifact itself"
        )));
    }
    if digest.algorithm != alg.hash() {
        return Err(AttestError::Usage(format!(
            "a {alg} key signs {} digests, not {}",
            alg.hash().proto_name(),
            digest.algorithm.proto_name()
        )));
    }
    let signature = signer.sign_prehashed(&digest)?;
    Ok(blob_bundle(
        signer,
        BlobSignature {
            digest,
            signature,
            size,
        },
    ))
}

/// Wraps a blob signature into a v0.3 bundle.
pub fn blob_bundle(signer: &dyn Signer, sig: BlobSignature) -> Bundle {
    let mut b = Bundle::for_key(signer.public_key().hint());
    b.message_signature = Some(MessageSignature {
        message_digest: Some(HashOutput {
            algorithm: sig.digest.algorithm.proto_name().to_string(),
            digest: Bytes(sig.digest.value),
        }),
        signature: Bytes(sig.signature),
    });
    b
}

/// Signs a statement into a v0.3 bundle with a DSSE envelope (one signature).
pub fn attest(signer: &dyn Signer, statement: &Statement) -> Result<Bundle, AttestError> {
    statement.validate()?;
    let env = Envelope::sign(
        IN_TOTO_PAYLOAD_TYPE,
        statement.to_canonical_json(),
        &[signer],
        KeyIdStyle::Empty,
    )?;
    let mut b = Bundle::for_key(signer.public_key().hint());
    b.dsse_envelope = Some(env);
    Ok(b)
}

/// Signs a statement into a raw DSSE envelope, one signature per signer.
pub fn attest_envelope(
    signers: &[&dyn Signer],
    statement: &Statement,
) -> Result<Envelope, AttestError> {
    statement.validate()?;
    Envelope::sign(
        IN_TOTO_PAYLOAD_TYPE,
        statement.to_canonical_json(),
        signers,
        KeyIdStyle::Sha256Spki,
    )
}
