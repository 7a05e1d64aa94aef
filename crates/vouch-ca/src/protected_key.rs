//! A signing key kept in `vouch_crypto`'s protected memory between signatures: the CA's, the
//! CT log's and the TSA's keys when they come from files (PKCS#11 keys never leave the HSM).
//!
//! A [`PrivateKey`] keeps its PKCS#8 bytes on the ordinary heap and its parsed key inside
//! aws-lc for as long as it lives; a CA or TSA key lives as long as the service. A
//! [`ProtectedKey`] instead holds only the PKCS#8 bytes, in a [`Secret`] (locked in RAM,
//! excluded from core dumps, guard pages, zeroized on drop), and parses them for each
//! signature; the parsed key is dropped (and cleansed) right after. It must never keep a
//! parsed copy, hand out the bytes, or show them in `Debug`.

use std::fmt;

use base64::Engine as _;
use vouch_crypto::keys::{KeyError, Prehash, PrivateKey, PublicKey};
use vouch_crypto::protected::Secret;
use vouch_crypto::signer::Signer;
use zeroize::Zeroizing;

use crate::chain::CaError;

/// A private key in protected memory. See the module documentation.
pub struct ProtectedKey {
    pkcs8: Secret,
    public: PublicKey,
}

impl fmt::Debug for ProtectedKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ProtectedKey")
            .field("algorithm", &self.public.algorithm())
            .field("public_hint", &self.public.hint())
            .finish_non_exhaustive()
    }
}

impl ProtectedKey {
    /// Moves `key` into protected memory (the `PrivateKey` is dropped, zeroizing its copy).
    pub fn new(key: PrivateKey) -> Result<ProtectedKey, CaError> {
        let pem = key
            .to_pem(None)
            .map_err(|e| CaError::Signing(format!("the key cannot be exported: {e}")))?;
        let b64: Zeroizing<String> = Zeroizing::new(
            pem.lines()
                .filter(|l| !l.starts_with("-----"))
                .flat_map(|l| l.trim().chars())
                .collect(),
        );
        let der = Zeroizing::new(
            base64::engine::general_purpose::STANDARD
                .decode(b64.as_bytes())
                .map_err(|_| CaError::Signing("the key's PKCS#8 export is not base64".into()))?,
        );
        let pkcs8 = Secret::from_slice(&der)
            .map_err(|e| CaError::Signing(format!("no protected memory for the key: {e}")))?;
        let public = key.public_key().clone();
        drop(key);
        let protected = ProtectedKey { pkcs8, public };
        // Fail now, not at the first certificate, if the bytes do not round-trip.
        protected
            .with_key(|_| Ok(()))
            .map_err(|e| CaError::Signing(format!("the protected key does not load: {e}")))?;
        Ok(protected)
    }

    /// Runs `f` with the key parsed from protected memory; the parsed key is dropped after.
    fn with_key<T>(
        &self,
        f: impl FnOnce(&PrivateKey) -> Result<T, KeyError>,
    ) -> Result<T, KeyError> {
        let key = PrivateKey::from_pkcs8_der(self.pkcs8.expose())?;
        if key.public_key() != &self.public {
            return Err(KeyError::Internal("the protected key changed"));
        }
        f(&key)
    }
}

impl Signer for ProtectedKey {
    fn public_key(&self) -> &PublicKey {
        &self.public
    }

    fn sign(&self, message: &[u8]) -> Result<Vec<u8>, KeyError> {
        self.with_key(|k| k.sign(message))
    }

    fn sign_prehashed(&self, prehash: &Prehash) -> Result<Vec<u8>, KeyError> {
        self.with_key(|k| k.sign_prehashed(prehash))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use vouch_crypto::keys::KeyAlgorithm;

    /// Every rendering of `secret` a careless `Debug` could print.
    fn renderings(secret: &[u8]) -> Vec<String> {
        let b64 = base64::engine::general_purpose::STANDARD.encode(secret);
        vec![
            hex::encode(secret),
            hex::encode_upper(secret),
            b64[..24].to_string(),
            format!("{:?}", &secret[..12])
                .trim_end_matches(']')
                .to_string(),
        ]
    }

    /// The private scalar of a PKCS#8 v1 P-256 key: the OCTET STRING after `02 01 01 04 20`
    /// (ECPrivateKey version 1, privateKey) in the DER.
    fn scalar(key: &PrivateKey) -> Vec<u8> {
        let pem = key.to_pem(None).unwrap();
        let b64: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
        let der = base64::engine::general_purpose::STANDARD
            .decode(b64)
            .unwrap();
        let at = der
            .windows(5)
            .position(|w| w == [0x02, 0x01, 0x01, 0x04, 0x20])
            .unwrap();
        der[at + 5..at + 37].to_vec()
    }

    #[test]
    fn signs_like_the_key_and_shows_no_key_bytes() {
        let key = PrivateKey::generate(KeyAlgorithm::EcdsaP256).unwrap();
        let secret = scalar(&key);
        let public = key.public_key().clone();
        let protected = ProtectedKey::new(key).unwrap();
        let sig = protected.sign(b"message").unwrap();
        public.verify(b"message", &sig).unwrap();
        assert!(public.verify(b"other", &sig).is_err());
        let shown = format!("{protected:?}");
        for r in renderings(&secret) {
            assert!(!shown.contains(&r), "{shown}");
        }
        let ed = ProtectedKey::new(PrivateKey::generate(KeyAlgorithm::Ed25519).unwrap()).unwrap();
        let sig = ed.sign(b"m").unwrap();
        ed.public_key().verify(b"m", &sig).unwrap();
    }

    /// No key type of the CA, CT log or TSA prints key bytes in `Debug`, whether the key is
    /// protected or a plain `PrivateKey`.
    #[test]
    fn debug_of_every_ca_key_type_hides_the_key() {
        let now = jiff::Timestamp::now();
        let chain =
            crate::chain::generate_dev_chain(now, jiff::SignedDuration::from_hours(1)).unwrap();
        let mut secrets = vec![scalar(&chain.root_key), scalar(&chain.intermediate_key)];
        let ca_keys = chain.into_ca_keys().unwrap();

        let ct_key = PrivateKey::generate(KeyAlgorithm::EcdsaP256).unwrap();
        secrets.push(scalar(&ct_key));
        let ct = crate::ct::CtLog::new(Box::new(ProtectedKey::new(ct_key).unwrap())).unwrap();
        let ct_plain_key = PrivateKey::generate(KeyAlgorithm::EcdsaP256).unwrap();
        secrets.push(scalar(&ct_plain_key));
        let ct_plain = crate::ct::CtLog::new(Box::new(ct_plain_key)).unwrap();

        let tsa_key = PrivateKey::generate(KeyAlgorithm::EcdsaP256).unwrap();
        secrets.push(scalar(&tsa_key));
        let copy = PrivateKey::from_pem(&tsa_key.to_pem(None).unwrap(), None).unwrap();
        let (tsa, _) = crate::tsa::generate_dev_tsa_for(now, tsa_key).unwrap();
        let tsa_protected = crate::tsa::TsaKeys::new(
            std::sync::Arc::new(ProtectedKey::new(copy).unwrap()),
            tsa.chain_der.clone(),
            crate::tsa::DEFAULT_POLICY,
        )
        .unwrap();

        let shown = format!(
            "{ca_keys:?} {:?} {ct:?} {ct_plain:?} {tsa:?} {tsa_protected:?}",
            ca_keys.issuer()
        );
        assert!(shown.contains("ProtectedKey"));
        for s in &secrets {
            for r in renderings(s) {
                assert!(!shown.contains(&r), "key bytes in Debug output");
            }
        }
    }
}
