//! The signing half of an RFC 6962 CT log for precertificates: the signed certificate
//! timestamp (§3.2) a CA embeds in the final certificate (§3.3), and the Merkle tree leaf
//! (§3.4) the server appends to its log.
//!
//! The log signs, with ECDSA P-256 over SHA-256, the TLS-encoded
//! `digitally-signed struct { version v1; signature_type certificate_timestamp; timestamp;
//! entry_type precert_entry; PreCert { issuer_key_hash; tbs_certificate<1..2^24-1> };
//! CtExtensions extensions<0..2^16-1> }`, where `tbs_certificate` is the precertificate's
//! TBS without the poison extension — which is also the final certificate's TBS without the
//! SCT list, the bytes a client rebuilds.

use vouch_crypto::keys::KeyAlgorithm;
use vouch_crypto::signer::Signer;

use crate::chain::{CaError, sha256};

/// TLS `HashAlgorithm.sha256`.
const HASH_SHA256: u8 = 4;
/// TLS `SignatureAlgorithm.ecdsa`.
const SIG_ECDSA: u8 = 3;
/// `LogEntryType.precert_entry`.
const PRECERT_ENTRY: u16 = 1;
/// The largest TBS a `tbs_certificate<1..2^24-1>` holds.
const MAX_TBS: usize = (1 << 24) - 1;

/// A signed certificate timestamp (v1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sct {
    /// SHA-256 of the log's SubjectPublicKeyInfo (DER).
    pub log_id: [u8; 32],
    /// Milliseconds since the epoch.
    pub timestamp_ms: u64,
    /// CtExtensions (none from this log).
    pub extensions: Vec<u8>,
    /// TLS HashAlgorithm (4 = SHA-256).
    pub hash_alg: u8,
    /// TLS SignatureAlgorithm (3 = ECDSA).
    pub sig_alg: u8,
    /// DER ECDSA signature.
    pub signature: Vec<u8>,
}

impl Sct {
    /// The TLS encoding of this `SignedCertificateTimestamp` (RFC 6962 §3.2).
    pub fn to_tls_bytes(&self) -> Result<Vec<u8>, CaError> {
        let mut out = vec![0u8]; // v1
        out.extend_from_slice(&self.log_id);
        out.extend_from_slice(&self.timestamp_ms.to_be_bytes());
        put_u16_vec(&mut out, &self.extensions)?;
        out.push(self.hash_alg);
        out.push(self.sig_alg);
        put_u16_vec(&mut out, &self.signature)?;
        Ok(out)
    }

    /// A `SignedCertificateTimestampList` (RFC 6962 §3.3) holding this SCT alone: the
    /// content of the OCTET STRING in the certificate's SCT list extension.
    pub fn to_tls_list_bytes(&self) -> Result<Vec<u8>, CaError> {
        sct_list_bytes(std::slice::from_ref(self))
    }
}

/// A `SignedCertificateTimestampList` of `scts`.
pub fn sct_list_bytes(scts: &[Sct]) -> Result<Vec<u8>, CaError> {
    let mut list = Vec::new();
    for s in scts {
        put_u16_vec(&mut list, &s.to_tls_bytes()?)?;
    }
    let mut out = Vec::new();
    put_u16_vec(&mut out, &list)?;
    Ok(out)
}

fn put_u16_vec(out: &mut Vec<u8>, b: &[u8]) -> Result<(), CaError> {
    let n = u16::try_from(b.len())
        .map_err(|_| CaError::Ct("a TLS vector is longer than 65535 bytes".into()))?;
    out.extend_from_slice(&n.to_be_bytes());
    out.extend_from_slice(b);
    Ok(())
}

fn put_u24_vec(out: &mut Vec<u8>, b: &[u8]) -> Result<(), CaError> {
    if b.is_empty() || b.len() > MAX_TBS {
        return Err(CaError::Ct(
            "the TBS certificate is empty or longer than 2^24-1 bytes".into(),
        ));
    }
    let n = (b.len() as u32).to_be_bytes();
    out.extend_from_slice(&n[1..]);
    out.extend_from_slice(b);
    Ok(())
}

/// `timestamp ‖ entry_type ‖ PreCert ‖ extensions`: shared by the signed data and the leaf.
fn timestamped_precert(
    issuer_key_hash: &[u8; 32],
    tbs: &[u8],
    timestamp_ms: u64,
) -> Result<Vec<u8>, CaError> {
    let mut d = Vec::with_capacity(tbs.len() + 50);
    d.extend_from_slice(&timestamp_ms.to_be_bytes());
    d.extend_from_slice(&PRECERT_ENTRY.to_be_bytes());
    d.extend_from_slice(issuer_key_hash);
    put_u24_vec(&mut d, tbs)?;
    put_u16_vec(&mut d, &[])?; // no CtExtensions
    Ok(d)
}

/// The bytes an SCT for a precertificate entry signs (RFC 6962 §3.2).
pub fn precert_signed_data(
    issuer_key_hash: &[u8; 32],
    tbs_without_poison: &[u8],
    timestamp_ms: u64,
) -> Result<Vec<u8>, CaError> {
    let mut d = vec![0u8, 0u8]; // v1, certificate_timestamp
    d.extend(timestamped_precert(
        issuer_key_hash,
        tbs_without_poison,
        timestamp_ms,
    )?);
    Ok(d)
}

/// The RFC 6962 §3.4 `MerkleTreeLeaf` for a precertificate entry: `version v1 ‖
/// leaf_type timestamped_entry ‖ TimestampedEntry`. Its Merkle leaf hash is
/// SHA-256(0x00 ‖ these bytes), as vouch-tlog computes for every leaf.
pub fn merkle_leaf(
    issuer_key_hash: &[u8; 32],
    tbs_without_poison: &[u8],
    timestamp_ms: u64,
) -> Result<Vec<u8>, CaError> {
    let mut d = vec![0u8, 0u8]; // v1, timestamped_entry
    d.extend(timestamped_precert(
        issuer_key_hash,
        tbs_without_poison,
        timestamp_ms,
    )?);
    Ok(d)
}

/// A CT log's signing key (ECDSA P-256) and its log ID.
#[derive(Debug)]
pub struct CtLog {
    key: Box<dyn Signer>,
    log_id: [u8; 32],
}

impl CtLog {
    /// A log signing with `key`, which must be ECDSA P-256 (the SCT format names hash and
    /// signature algorithm; Sigstore clients expect ECDSA with SHA-256).
    pub fn new(key: Box<dyn Signer>) -> Result<CtLog, CaError> {
        if key.algorithm() != KeyAlgorithm::EcdsaP256 {
            return Err(CaError::Signing(format!(
                "the CT log key must be ECDSA P-256, not {}",
                key.algorithm()
            )));
        }
        let log_id = sha256(key.public_key().spki_der());
        Ok(CtLog { key, log_id })
    }

    /// SHA-256 of the log's SubjectPublicKeyInfo.
    pub fn log_id(&self) -> [u8; 32] {
        self.log_id
    }

    /// The log's public key (DER SubjectPublicKeyInfo), for the trusted root's `ctlogs`.
    pub fn public_key_spki_der(&self) -> &[u8] {
        self.key.public_key().spki_der()
    }

    /// Signs an SCT for a precertificate: `issuer_key_hash` is SHA-256 of the issuing CA's
    /// SubjectPublicKeyInfo, `tbs_without_poison` the precertificate's TBS without the
    /// poison extension.
    pub fn sign_precert(
        &self,
        issuer_key_hash: &[u8; 32],
        tbs_without_poison: &[u8],
        timestamp_ms: u64,
    ) -> Result<Sct, CaError> {
        let data = precert_signed_data(issuer_key_hash, tbs_without_poison, timestamp_ms)?;
        let signature = self
            .key
            .sign(&data)
            .map_err(|e| CaError::Signing(format!("the CT log key did not sign: {e}")))?;
        Ok(Sct {
            log_id: self.log_id,
            timestamp_ms,
            extensions: Vec::new(),
            hash_alg: HASH_SHA256,
            sig_alg: SIG_ECDSA,
            signature,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use vouch_crypto::keys::PrivateKey;

    #[test]
    fn sct_signs_the_rfc6962_structure() {
        let key = PrivateKey::generate(KeyAlgorithm::EcdsaP256).unwrap();
        let public = key.public_key().clone();
        let log = CtLog::new(Box::new(key)).unwrap();
        let ikh = [7u8; 32];
        let sct = log.sign_precert(&ikh, b"tbs", 1_700_000_000_123).unwrap();
        let data = precert_signed_data(&ikh, b"tbs", 1_700_000_000_123).unwrap();
        assert_eq!(&data[..2], &[0, 0]);
        assert_eq!(&data[10..12], &[0, 1]);
        assert_eq!(&data[44..47], &[0, 0, 3]);
        assert_eq!(&data[50..], &[0, 0]);
        public.verify(&data, &sct.signature).unwrap();

        let list = sct.to_tls_list_bytes().unwrap();
        let one = sct.to_tls_bytes().unwrap();
        assert_eq!(list.len(), one.len() + 4);
        assert_eq!(&list[..2], &((one.len() + 2) as u16).to_be_bytes());
        assert_eq!(&list[2..4], &(one.len() as u16).to_be_bytes());
        assert_eq!(one[0], 0);
        assert_eq!(&one[1..33], &log.log_id());

        let leaf = merkle_leaf(&ikh, b"tbs", 1_700_000_000_123).unwrap();
        assert_eq!(&leaf[2..], &data[2..]);
        assert!(merkle_leaf(&ikh, b"", 1).is_err());
    }

    #[test]
    fn ct_key_must_be_p256() {
        let key = PrivateKey::generate(KeyAlgorithm::Ed25519).unwrap();
        assert!(CtLog::new(Box::new(key)).is_err());
    }
}
