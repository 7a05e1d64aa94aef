//! (owned by the signing-core work: issue 4)
//! The [`Signer`] trait and key references.
//!
//! A [`Signer`] is anything that can produce signatures for one public key: a key file
//! ([`PrivateKey`]), an HSM key ([`crate::pkcs11::Pkcs11Signer`]), and later KMS or keyless
//! (Fulcio) signers. `vouch sign-blob`, `vouch attest`, `vouch release` and `vouch serve` all
//! sign through this trait, so a new kind of key works everywhere at once.
//!
//! A [`KeyRef`] is what a user writes after `--key`: a path, `env://VAR` (the PEM is in the
//! variable) or a `pkcs11:` URI (RFC 7512). Secrets (passphrase, PIN) are passed in through
//! [`SecretInputs`]; this crate never reads them from the environment itself.

use std::fmt;
use std::path::{Path, PathBuf};

pub use zeroize::Zeroizing;

use crate::keys::{KeyAlgorithm, KeyError, Prehash, PrivateKey, PublicKey};
use crate::pkcs11::{Pkcs11Signer, Pkcs11Uri};

/// Something that signs with one key.
///
/// Implementations must be usable from several threads (`vouch serve` shares them).
pub trait Signer: Send + Sync + fmt::Debug {
    /// The public key that verifies this signer's signatures.
    fn public_key(&self) -> &PublicKey;

    /// Signs a whole message. ECDSA signatures are ASN.1 DER.
    fn sign(&self, message: &[u8]) -> Result<Vec<u8>, KeyError>;

    /// Signs a message given only its digest, for messages too big to hold in memory.
    /// Only algorithms where [`KeyAlgorithm::signs_prehashed`] is true support this; the digest
    /// must use [`KeyAlgorithm::hash`].
    fn sign_prehashed(&self, prehash: &Prehash) -> Result<Vec<u8>, KeyError>;

    /// The key's algorithm.
    fn algorithm(&self) -> KeyAlgorithm {
        self.public_key().algorithm()
    }
}

impl Signer for PrivateKey {
    fn public_key(&self) -> &PublicKey {
        PrivateKey::public_key(self)
    }
    fn sign(&self, message: &[u8]) -> Result<Vec<u8>, KeyError> {
        PrivateKey::sign(self, message)
    }
    fn sign_prehashed(&self, prehash: &Prehash) -> Result<Vec<u8>, KeyError> {
        PrivateKey::sign_prehashed(self, prehash)
    }
}

/// Where a key lives, as written after `--key`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyRef {
    /// A PEM file.
    Path(PathBuf),
    /// An environment variable holding the PEM text (`env://VAR`).
    Env(String),
    /// A key on a PKCS#11 token (`pkcs11:token=…;object=…`).
    Pkcs11(Pkcs11Uri),
}

/// cosign's KMS key-reference schemes: recognised, so that a cosign user gets a clear "not
/// supported yet" rather than "unknown key scheme".
const KMS_SCHEMES: [&str; 4] = ["awskms", "gcpkms", "azurekms", "hashivault"];

impl KeyRef {
    /// Parses a key reference.
    pub fn parse(s: &str) -> Result<Self, KeyError> {
        if let Some(var) = s.strip_prefix("env://") {
            if var.is_empty() || !var.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
                return Err(KeyError::BadReference(format!(
                    "`{s}`: env:// needs a variable name (letters, digits, _)"
                )));
            }
            return Ok(KeyRef::Env(var.to_string()));
        }
        if s.starts_with("pkcs11:") {
            return Pkcs11Uri::parse(s).map(KeyRef::Pkcs11);
        }
        if let Some((scheme, _)) = s.split_once("://")
            && KMS_SCHEMES.contains(&scheme)
        {
            return Err(KeyError::BadReference(format!(
                "`{s}`: {scheme}:// (cosign's KMS keys) is not supported yet; use a pkcs11: URI for a key held in an HSM or a KMS with a PKCS#11 interface, or a key file"
            )));
        }
        if let Some((scheme, _)) = s.split_once("://")
            && !scheme.is_empty()
            && scheme.chars().all(|c| c.is_ascii_alphanumeric())
        {
            return Err(KeyError::BadReference(format!(
                "`{s}`: unknown key scheme `{scheme}://` (use a path, env://VAR or a pkcs11: URI)"
            )));
        }
        if s.is_empty() {
            return Err(KeyError::BadReference("empty key reference".into()));
        }
        Ok(KeyRef::Path(PathBuf::from(s)))
    }

    /// The file this reference names, if it is a path (for error messages).
    pub fn path(&self) -> Option<&Path> {
        match self {
            KeyRef::Path(p) => Some(p),
            _ => None,
        }
    }

    fn read_pem(&self) -> Result<Zeroizing<String>, KeyError> {
        match self {
            KeyRef::Path(p) => std::fs::read(p)
                .map_err(|e| KeyError::BadReference(format!("cannot read {}: {e}", p.display())))
                .and_then(|b| {
                    String::from_utf8(b)
                        .map(Zeroizing::new)
                        .map_err(|_| KeyError::NotPem("the file is not text".into()))
                }),
            KeyRef::Env(var) => std::env::var(var).map(Zeroizing::new).map_err(|_| {
                KeyError::BadReference(format!("environment variable {var} is not set"))
            }),
            KeyRef::Pkcs11(_) => Err(KeyError::BadReference("a pkcs11: key has no PEM".into())),
        }
    }
}

impl fmt::Display for KeyRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            KeyRef::Path(p) => write!(f, "{}", p.display()),
            KeyRef::Env(v) => write!(f, "env://{v}"),
            KeyRef::Pkcs11(u) => write!(f, "{u}"),
        }
    }
}

/// Secrets a key may need, passed in by the caller (the CLI reads `VOUCH_PASSWORD` and
/// `VOUCH_PKCS11_PIN`; a server reads its own configuration).
#[derive(Default)]
pub struct SecretInputs {
    /// Passphrase for encrypted key files.
    pub passphrase: Option<Zeroizing<String>>,
    /// User PIN for PKCS#11 tokens (a `pin-value` in the URI takes precedence).
    pub pkcs11_pin: Option<Zeroizing<String>>,
    /// PKCS#11 module path when the URI has no `module-path` (else SoftHSM2's usual paths).
    pub pkcs11_module: Option<PathBuf>,
}

impl fmt::Debug for SecretInputs {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SecretInputs")
            .field(
                "passphrase",
                &self.passphrase.as_ref().map(|_| "<redacted>"),
            )
            .field(
                "pkcs11_pin",
                &self.pkcs11_pin.as_ref().map(|_| "<redacted>"),
            )
            .field("pkcs11_module", &self.pkcs11_module)
            .finish()
    }
}

/// Opens a signer for a key reference.
pub fn load_signer(key: &KeyRef, secrets: &SecretInputs) -> Result<Box<dyn Signer>, KeyError> {
    match key {
        KeyRef::Pkcs11(uri) => Ok(Box::new(Pkcs11Signer::open(uri, secrets)?)),
        _ => {
            let pem = key.read_pem()?;
            let pass = secrets.passphrase.as_ref().map(|p| p.as_bytes());
            Ok(Box::new(PrivateKey::from_pem(&pem, pass)?))
        }
    }
}

/// Loads a public key for verification: a `PUBLIC KEY` PEM (path or `env://`), or the public
/// half of a PKCS#11 key.
pub fn load_public_key(key: &KeyRef, secrets: &SecretInputs) -> Result<PublicKey, KeyError> {
    match key {
        KeyRef::Pkcs11(uri) => Ok(Pkcs11Signer::open(uri, secrets)?.public_key().clone()),
        _ => PublicKey::from_pem(&key.read_pem()?),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_references() {
        assert_eq!(
            KeyRef::parse("k.key").unwrap(),
            KeyRef::Path("k.key".into())
        );
        assert_eq!(
            KeyRef::parse("env://MY_KEY").unwrap(),
            KeyRef::Env("MY_KEY".into())
        );
        assert!(KeyRef::parse("env://").is_err());
        assert!(KeyRef::parse("awskms://x").is_err());
        for kms in [
            "awskms:///arn:aws:kms:us-east-1:1:key/k",
            "gcpkms://projects/p/locations/l/keyRings/r/cryptoKeys/k",
            "azurekms://vault.example/key",
            "hashivault://transit-key",
        ] {
            let e = KeyRef::parse(kms).unwrap_err().to_string();
            assert!(e.contains("not supported yet"), "{e}");
            assert!(e.contains("pkcs11:"), "{e}");
        }
        assert!(
            KeyRef::parse("foo://x")
                .unwrap_err()
                .to_string()
                .contains("unknown key scheme")
        );
        assert!(matches!(
            KeyRef::parse("pkcs11:token=t;object=k").unwrap(),
            KeyRef::Pkcs11(_)
        ));
    }

    #[test]
    fn secrets_stay_out_of_debug() {
        let s = SecretInputs {
            passphrase: Some(Zeroizing::new("hunter2-pass".into())),
            pkcs11_pin: Some(Zeroizing::new("98765".into())),
            pkcs11_module: None,
        };
        let d = format!("{s:?}");
        assert!(!d.contains("hunter2") && !d.contains("98765"), "{d}");
    }

    #[test]
    fn signer_from_env_var() {
        let k = PrivateKey::generate(KeyAlgorithm::Ed25519).unwrap();
        let var = "VOUCH_TEST_SIGNER_FROM_ENV";
        // SAFETY: this test is the only user of this variable.
        unsafe { std::env::set_var(var, k.to_pem(None).unwrap().as_str()) };
        let s = load_signer(&KeyRef::Env(var.into()), &SecretInputs::default()).unwrap();
        assert_eq!(s.public_key(), k.public_key());
        let dbg = format!("{s:?}");
        assert!(dbg.contains("Ed25519"));
    }
}
