//! A key-encryption key that never leaves a PKCS#11 token (an HSM, a cloud HSM, SoftHSM2).
//!
//! The KEK is an AES-256 secret-key object on the token (`CKA_SENSITIVE`, not extractable),
//! named by an RFC 7512 URI. The keyring is wrapped with `CKM_AES_GCM` inside the token
//! (`C_Encrypt`/`C_Decrypt`): vouch sends the serialized keyring and gets back ciphertext, so
//! the KEK's bytes are never in this process.
//!
//! Wrapped layout (what follows the keyring file's magic):
//!
//! ```text
//! "vsk-p11" 0x01 | IV (12 random bytes) | ciphertext | tag (16 bytes)
//! ```
//!
//! The 8-byte marker says a token key made it (a local KEK's output starts with its random
//! nonce instead), and is bound into the GCM associated data together with the caller's.
//!
//! This module must never log, print or put into an error the PIN or the keyring plaintext.

use std::fmt;
use std::sync::Mutex;

use cryptoki::context::Pkcs11;
use cryptoki::mechanism::Mechanism;
use cryptoki::mechanism::aead::GcmParams;
use cryptoki::object::{Attribute, KeyType, ObjectClass, ObjectHandle};
use cryptoki::session::Session;
use cryptoki::types::Ulong;

use super::envelope::{NONCE_LEN, TAG_LEN};
use super::kek::{KekKind, KekSource, PKCS11_MARKER};
use super::{KEY_LEN, SealError};
use crate::pkcs11::{Pkcs11Uri, object_template, open_session};
use crate::protected::Secret;
use crate::signer::SecretInputs;

/// An AES-256 key on a PKCS#11 token, used as the keyring's key-encryption key.
pub struct Pkcs11Kek {
    session: Mutex<Session>,
    key: ObjectHandle,
    uri: String,
    _ctx: Pkcs11,
}

impl fmt::Debug for Pkcs11Kek {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Pkcs11Kek")
            .field("uri", &self.uri)
            .finish_non_exhaustive()
    }
}

fn token_error(e: crate::keys::KeyError) -> SealError {
    SealError::InvalidKey(e.to_string())
}

fn secret_key_template(uri: &Pkcs11Uri) -> Vec<Attribute> {
    let mut t = object_template(uri);
    t.push(Attribute::Class(ObjectClass::SECRET_KEY));
    t.push(Attribute::KeyType(KeyType::AES));
    t
}

fn require_name(uri: &Pkcs11Uri) -> Result<(), SealError> {
    if uri.object.is_none() && uri.id.is_none() {
        return Err(SealError::InvalidKey(format!(
            "{uri} names no key: add object=<label> (and/or id=) to the URI"
        )));
    }
    Ok(())
}

impl Pkcs11Kek {
    /// Opens the token the URI names, logs in and finds exactly one AES key matching its
    /// `object=`/`id=`.
    pub fn open(uri: &Pkcs11Uri, secrets: &SecretInputs) -> Result<Pkcs11Kek, SealError> {
        require_name(uri)?;
        let (ctx, session) = open_session(uri, secrets, false).map_err(token_error)?;
        let found = session
            .find_objects(&secret_key_template(uri))
            .map_err(|e| SealError::InvalidKey(format!("PKCS#11: find objects: {e}")))?;
        let key = match found.as_slice() {
            [k] => *k,
            [] => {
                return Err(SealError::InvalidKey(format!(
                    "no AES key matches {uri} (create one with `vouch seal kek-init --pkcs11 URI`)"
                )));
            }
            more => {
                return Err(SealError::InvalidKey(format!(
                    "{} AES keys match {uri}; add id= to choose one",
                    more.len()
                )));
            }
        };
        Ok(Pkcs11Kek {
            session: Mutex::new(session),
            key,
            uri: uri.to_string(),
            _ctx: ctx,
        })
    }

    /// Creates the AES-256 key on the token: a token object, sensitive and not extractable,
    /// usable only to encrypt and decrypt. Refuses when a key with the same label/id exists.
    pub fn generate(uri: &Pkcs11Uri, secrets: &SecretInputs) -> Result<(), SealError> {
        require_name(uri)?;
        let (_ctx, session) = open_session(uri, secrets, true).map_err(token_error)?;
        let existing = session
            .find_objects(&secret_key_template(uri))
            .map_err(|e| SealError::InvalidKey(format!("PKCS#11: find objects: {e}")))?;
        if !existing.is_empty() {
            return Err(SealError::InvalidKey(format!(
                "an AES key matching {uri} already exists on the token; it is kept"
            )));
        }
        let mut template = secret_key_template(uri);
        template.extend([
            Attribute::ValueLen(Ulong::from(KEY_LEN as u64)),
            Attribute::Token(true),
            Attribute::Private(true),
            Attribute::Sensitive(true),
            Attribute::Extractable(false),
            Attribute::Encrypt(true),
            Attribute::Decrypt(true),
            // Nothing else: it must not sign, or wrap other keys out of the token.
            Attribute::Sign(false),
            Attribute::Verify(false),
            Attribute::Wrap(false),
            Attribute::Unwrap(false),
            Attribute::Derive(false),
        ]);
        session
            .generate_key(&Mechanism::AesKeyGen, &template)
            .map_err(|e| SealError::InvalidKey(format!("PKCS#11: generate key: {e}")))?;
        Ok(())
    }

    fn session(&self) -> Result<std::sync::MutexGuard<'_, Session>, SealError> {
        self.session.lock().map_err(|_| SealError::Crypto)
    }
}

fn full_aad(aad: &[u8]) -> Vec<u8> {
    let mut a = Vec::with_capacity(aad.len() + PKCS11_MARKER.len());
    a.extend_from_slice(aad);
    a.extend_from_slice(PKCS11_MARKER);
    a
}

impl KekSource for Pkcs11Kek {
    fn describe(&self) -> String {
        format!("PKCS#11 key {}", self.uri)
    }

    fn kind(&self) -> KekKind {
        KekKind::Pkcs11
    }

    fn wrap(&self, plaintext: &[u8], aad: &[u8]) -> Result<Vec<u8>, SealError> {
        let mut iv = [0u8; NONCE_LEN];
        aws_lc_rs::rand::fill(&mut iv).map_err(|_| SealError::Crypto)?;
        let aad = full_aad(aad);
        let mut iv_param = iv;
        let params = GcmParams::new(&mut iv_param, &aad, Ulong::from((TAG_LEN * 8) as u64))
            .map_err(|_| SealError::Crypto)?;
        let sealed = self
            .session()?
            .encrypt(&Mechanism::AesGcm(params), self.key, plaintext)
            .map_err(|e| SealError::InvalidKey(format!("PKCS#11: encrypt: {e}")))?;
        let mut out = Vec::with_capacity(PKCS11_MARKER.len() + NONCE_LEN + sealed.len());
        out.extend_from_slice(PKCS11_MARKER);
        out.extend_from_slice(&iv);
        out.extend_from_slice(&sealed);
        Ok(out)
    }

    fn unwrap(&self, wrapped: &[u8], aad: &[u8]) -> Result<Secret, SealError> {
        let (iv, sealed) = split_wrapped(wrapped).ok_or(SealError::KeyringAuth)?;
        let aad = full_aad(aad);
        let mut iv = iv;
        let params = GcmParams::new(&mut iv, &aad, Ulong::from((TAG_LEN * 8) as u64))
            .map_err(|_| SealError::KeyringAuth)?;
        let mut plain = zeroize::Zeroizing::new(
            self.session()?
                .decrypt(&Mechanism::AesGcm(params), self.key, sealed)
                .map_err(|_| SealError::KeyringAuth)?,
        );
        let out = Secret::from_slice(&plain);
        zeroize::Zeroize::zeroize(&mut *plain);
        Ok(out?)
    }
}

/// Splits `marker | IV | ciphertext+tag`; `None` unless the marker is there and a tag fits.
pub(crate) fn split_wrapped(wrapped: &[u8]) -> Option<([u8; NONCE_LEN], &[u8])> {
    let rest = wrapped.strip_prefix(PKCS11_MARKER.as_slice())?;
    if rest.len() < NONCE_LEN + TAG_LEN {
        return None;
    }
    let (iv, sealed) = rest.split_at(NONCE_LEN);
    Some((iv.try_into().ok()?, sealed))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layout() {
        let mut w = PKCS11_MARKER.to_vec();
        w.extend_from_slice(&[9u8; NONCE_LEN]);
        w.extend_from_slice(&[1u8; TAG_LEN]);
        let (iv, sealed) = split_wrapped(&w).unwrap();
        assert_eq!(iv, [9u8; NONCE_LEN]);
        assert_eq!(sealed.len(), TAG_LEN);
        assert!(split_wrapped(&w[..w.len() - 1]).is_none());
        assert!(split_wrapped(&w[1..]).is_none());
    }

    proptest::proptest! {
        #[test]
        fn garbage_never_panics(bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..64)) {
            let _ = split_wrapped(&bytes);
            let mut with_marker = PKCS11_MARKER.to_vec();
            with_marker.extend_from_slice(&bytes);
            let _ = split_wrapped(&with_marker);
            let _ = super::super::kek::wrapped_kind(&bytes);
        }
    }
}
