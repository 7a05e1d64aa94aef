//! Key-encryption keys: what protects the keyring file.
//!
//! [`KekSource`] is the seam: it wraps and unwraps the keyring's serialized bytes and never
//! has to hand its key to the caller. [`LocalKek`] holds a 32-byte AES-256-GCM key in
//! protected memory, read from base64 (`VOUCH_SEAL_KEK`) or a file. [`super::kek_pkcs11`]
//! keeps the key inside a PKCS#11 token and implements the same trait.

use std::path::Path;

use base64::Engine as _;
use zeroize::Zeroize;

use super::envelope::{NONCE_LEN, TAG_LEN};
use super::{KEY_LEN, SealError, gcm};
use crate::protected::Secret;

/// What kind of key-encryption key protects a keyring file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KekKind {
    /// 32 bytes held by this process (`VOUCH_SEAL_KEK`, a key file).
    Local,
    /// An AES key inside a PKCS#11 token.
    Pkcs11,
}

impl std::fmt::Display for KekKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            KekKind::Local => "a local key-encryption key (VOUCH_SEAL_KEK or --kek-file)",
            KekKind::Pkcs11 => "a key on a PKCS#11 token (--kek-pkcs11)",
        })
    }
}

/// The first bytes of a keyring wrapped by a token key (see `kek_pkcs11`).
pub const PKCS11_MARKER: &[u8; 8] = b"vsk-p11\x01";

/// Which kind of KEK wrapped these bytes. A local KEK's output starts with its random nonce,
/// which equals the 8-byte marker with probability 2^-64.
pub fn wrapped_kind(wrapped: &[u8]) -> KekKind {
    if wrapped.starts_with(PKCS11_MARKER) {
        KekKind::Pkcs11
    } else {
        KekKind::Local
    }
}

/// Something that can wrap (encrypt and authenticate) and unwrap the keyring.
pub trait KekSource: Send + Sync {
    /// Where the key comes from, for messages (`environment variable VOUCH_SEAL_KEK`,
    /// `file kek.bin`, `pkcs11:token=…`). Never key bytes.
    fn describe(&self) -> String;
    /// The kind of key, so a keyring wrapped by another kind is refused by name, not as an
    /// authentication failure.
    fn kind(&self) -> KekKind {
        KekKind::Local
    }
    /// Encrypts `plaintext`, binding `aad`.
    fn wrap(&self, plaintext: &[u8], aad: &[u8]) -> Result<Vec<u8>, SealError>;
    /// Decrypts what [`KekSource::wrap`] produced; any failure is [`SealError::KeyringAuth`].
    fn unwrap(&self, wrapped: &[u8], aad: &[u8]) -> Result<Secret, SealError>;
}

/// A key-encryption key held in this process, in protected memory.
pub struct LocalKek {
    key: Secret,
    origin: String,
}

impl std::fmt::Debug for LocalKek {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LocalKek")
            .field("origin", &self.origin)
            .finish_non_exhaustive()
    }
}

impl LocalKek {
    /// From exactly 32 key bytes.
    pub fn from_bytes(key: &[u8], origin: impl Into<String>) -> Result<LocalKek, SealError> {
        if key.len() != KEY_LEN {
            return Err(SealError::InvalidKey(format!(
                "a key-encryption key must be exactly {KEY_LEN} bytes, got {}",
                key.len()
            )));
        }
        Ok(LocalKek {
            key: Secret::from_slice(key)?,
            origin: origin.into(),
        })
    }

    /// From standard base64 text (surrounding whitespace ignored) of 32 bytes.
    pub fn from_base64(text: &str, origin: impl Into<String>) -> Result<LocalKek, SealError> {
        let origin = origin.into();
        let mut buf = Secret::zeroed(64)?;
        let decoded = base64::engine::general_purpose::STANDARD
            .decode_slice(text.trim().as_bytes(), buf.expose_mut())
            .map_err(|_| {
                SealError::InvalidKey(format!("{origin} is not base64 of {KEY_LEN} bytes"))
            })?;
        if decoded != KEY_LEN {
            return Err(SealError::InvalidKey(format!(
                "{origin} must decode to exactly {KEY_LEN} bytes, got {decoded}"
            )));
        }
        LocalKek::from_bytes(&buf.expose()[..KEY_LEN], origin)
    }

    /// From the environment variable `var` (base64 of 32 bytes); `Ok(None)` when unset.
    /// The variable's text is zeroized after decoding.
    pub fn from_env(var: &str) -> Result<Option<LocalKek>, SealError> {
        match std::env::var(var) {
            Ok(mut text) => {
                let out = LocalKek::from_base64(&text, format!("environment variable {var}"));
                text.zeroize();
                out.map(Some)
            }
            Err(std::env::VarError::NotPresent) => Ok(None),
            Err(std::env::VarError::NotUnicode(_)) => Err(SealError::InvalidKey(format!(
                "environment variable {var} is not base64 of {KEY_LEN} bytes"
            ))),
        }
    }

    /// From a file holding either the 32 raw bytes or their base64.
    pub fn from_file(path: &Path) -> Result<LocalKek, SealError> {
        let origin = format!("key-encryption key file {}", path.display());
        let mut raw = std::fs::read(path)
            .map_err(|e| SealError::InvalidKey(format!("cannot read {origin}: {e}")))?;
        let out = if raw.len() == KEY_LEN {
            LocalKek::from_bytes(&raw, origin)
        } else {
            match std::str::from_utf8(&raw) {
                Ok(text) => LocalKek::from_base64(text, origin),
                Err(_) => Err(SealError::InvalidKey(format!(
                    "{origin} must hold {KEY_LEN} raw bytes or their base64"
                ))),
            }
        };
        raw.zeroize();
        out
    }
}

impl KekSource for LocalKek {
    fn describe(&self) -> String {
        self.origin.clone()
    }

    fn wrap(&self, plaintext: &[u8], aad: &[u8]) -> Result<Vec<u8>, SealError> {
        let mut nonce = [0u8; NONCE_LEN];
        aws_lc_rs::rand::fill(&mut nonce).map_err(|_| SealError::Crypto)?;
        let mut out = Vec::with_capacity(NONCE_LEN + plaintext.len() + TAG_LEN);
        out.extend_from_slice(&nonce);
        out.extend_from_slice(plaintext);
        let tag = gcm::seal_in_place(self.key.expose(), nonce, aad, &mut out[NONCE_LEN..])
            .map_err(|_| SealError::Crypto)?;
        out.extend_from_slice(&tag);
        Ok(out)
    }

    fn unwrap(&self, wrapped: &[u8], aad: &[u8]) -> Result<Secret, SealError> {
        if wrapped.len() < NONCE_LEN + TAG_LEN {
            return Err(SealError::KeyringAuth);
        }
        let (nonce, sealed) = wrapped.split_at(NONCE_LEN);
        let nonce: [u8; NONCE_LEN] = nonce.try_into().map_err(|_| SealError::KeyringAuth)?;
        let mut buf = Secret::from_slice(sealed)?;
        let n = gcm::open_in_place(self.key.expose(), nonce, aad, buf.expose_mut())
            .map_err(|_| SealError::KeyringAuth)?;
        Ok(buf.truncated(n)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wrap_unwrap_and_wrong_kek() {
        let k = LocalKek::from_bytes(&[1u8; 32], "test").unwrap();
        let w = k.wrap(b"keyring json", b"hdr").unwrap();
        assert_eq!(k.unwrap(&w, b"hdr").unwrap().expose(), b"keyring json");
        assert!(matches!(
            k.unwrap(&w, b"other"),
            Err(SealError::KeyringAuth)
        ));
        let other = LocalKek::from_bytes(&[2u8; 32], "test").unwrap();
        assert!(matches!(
            other.unwrap(&w, b"hdr"),
            Err(SealError::KeyringAuth)
        ));
        assert!(matches!(
            k.unwrap(&w[..10], b"hdr"),
            Err(SealError::KeyringAuth)
        ));
    }

    proptest::proptest! {
        #[test]
        fn any_text_is_a_key_or_an_error(text in ".{0,80}") {
            if let Ok(k) = LocalKek::from_base64(&text, "prop") {
                proptest::prop_assert_eq!(k.key.len(), 32);
            }
        }
    }

    #[test]
    fn base64_and_lengths() {
        let b64 = base64::engine::general_purpose::STANDARD.encode([3u8; 32]);
        assert!(LocalKek::from_base64(&format!(" {b64}\n"), "env").is_ok());
        let short = base64::engine::general_purpose::STANDARD.encode([3u8; 16]);
        let e = LocalKek::from_base64(&short, "env")
            .unwrap_err()
            .to_string();
        assert!(e.contains("exactly 32 bytes, got 16"), "{e}");
        assert!(LocalKek::from_base64("not base64!", "env").is_err());
        assert!(LocalKek::from_bytes(&[0u8; 31], "x").is_err());
        let d = format!("{:?}", LocalKek::from_bytes(&[0x41u8; 32], "x").unwrap());
        assert!(!d.contains("AAAA") && !d.contains("65"), "{d}");
    }
}
