//! The file a note signing key (a log's or a witness's) is kept in.
//!
//! Two forms, told apart by their first line:
//!
//! ```text
//! PRIVATE+KEY+example.com/log+1a2b3c4d+AXNl…          plaintext C2SP signed-note key
//!
//! vouch-note-key: example.com/log+1a2b3c4d+01         encrypted (the default of `log init`)
//! -----BEGIN ENCRYPTED PRIVATE KEY-----
//! …
//! -----END ENCRYPTED PRIVATE KEY-----
//! ```
//!
//! The encrypted form is the key's Ed25519 seed as PKCS#8 (RFC 8410), encrypted exactly as
//! `vouch key generate` encrypts signing keys (PBES2: PBKDF2-HMAC-SHA256, AES-256-CBC), so
//! one passphrase scheme covers every vouch key and `openssl pkey` can read it. The line
//! before the PEM block (text before a PEM block is allowed by RFC 7468) keeps what the seed
//! alone does not: the key's name and signature type; its key id is checked after decryption.
//!
//! This module never reads the environment or prompts: the passphrase is the caller's. It
//! never puts the key or the passphrase in an error.

use vouch_crypto::keys::{KeyError, PrivateKey};
use zeroize::Zeroizing;

use crate::note::{ALG_COSIGNATURE_V1, ALG_ED25519, Signer, valid_name};

/// The first line's prefix in the encrypted form.
const HEADER: &str = "vouch-note-key: ";

/// Why a key file cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum KeyFileError {
    /// The key is encrypted and no passphrase was given.
    #[error("the key is encrypted and no passphrase was given")]
    PassphraseRequired,
    /// Decryption failed.
    #[error("wrong passphrase (or the encrypted key is damaged)")]
    WrongPassphrase,
    /// Not a note key file.
    #[error("not a signed-note private key: {0}")]
    Malformed(String),
}

/// Whether `text` is a key file in the encrypted form.
pub fn is_encrypted(text: &str) -> bool {
    text.trim_start().starts_with(HEADER)
}

/// The file's bytes for `signer`: encrypted with `passphrase`, or the plaintext note key
/// when the passphrase is empty (as `vouch key generate` treats an empty passphrase).
pub fn encode(signer: &Signer, passphrase: &[u8]) -> Result<Zeroizing<String>, KeyFileError> {
    if passphrase.is_empty() {
        return Ok(Zeroizing::new(format!(
            "{}\n",
            signer.to_private_string().as_str()
        )));
    }
    let key = PrivateKey::ed25519_from_seed(signer.seed()).map_err(crypto)?;
    let pem = key.to_pem(Some(passphrase)).map_err(crypto)?;
    Ok(Zeroizing::new(format!(
        "{HEADER}{}+{:08x}+{:02x}\n{}",
        signer.name(),
        signer.key_id(),
        signer.alg(),
        pem.as_str()
    )))
}

/// Reads a key file in either form. `passphrase` is needed only for the encrypted form.
pub fn decode(text: &str, passphrase: Option<&[u8]>) -> Result<Signer, KeyFileError> {
    let text = text.trim_start();
    let Some(rest) = text.strip_prefix(HEADER) else {
        return Signer::parse(text).map_err(|_| {
            KeyFileError::Malformed(
                "expected PRIVATE+KEY+… or an encrypted key written by `vouch log init`".into(),
            )
        });
    };
    let (line, pem) = rest.split_once('\n').unwrap_or((rest, ""));
    let mut parts = line.trim().splitn(3, '+');
    let (Some(name), Some(hexid), Some(alg)) = (parts.next(), parts.next(), parts.next()) else {
        return Err(KeyFileError::Malformed(
            "the first line is not `vouch-note-key: NAME+KEYID+ALG`".into(),
        ));
    };
    let alg = u8::from_str_radix(alg, 16)
        .ok()
        .filter(|a| *a == ALG_ED25519 || *a == ALG_COSIGNATURE_V1)
        .ok_or_else(|| KeyFileError::Malformed(format!("unknown signature type `{alg}`")))?;
    if !valid_name(name) {
        return Err(KeyFileError::Malformed(format!(
            "invalid key name `{name}`"
        )));
    }
    let pass = passphrase
        .filter(|p| !p.is_empty())
        .ok_or(KeyFileError::PassphraseRequired)?;
    let key = PrivateKey::from_pem(pem, Some(pass)).map_err(crypto)?;
    let seed = key
        .ed25519_seed()
        .ok_or_else(|| KeyFileError::Malformed("the encrypted key is not an Ed25519 key".into()))?;
    let signer = Signer::from_seed(name, alg, seed)
        .map_err(|_| KeyFileError::Malformed("the encrypted key is not usable".into()))?;
    if format!("{:08x}", signer.key_id()) != hexid {
        return Err(KeyFileError::Malformed(format!(
            "the decrypted key is not key {name}+{hexid} named on its first line"
        )));
    }
    Ok(signer)
}

fn crypto(e: KeyError) -> KeyFileError {
    match e {
        KeyError::PassphraseRequired => KeyFileError::PassphraseRequired,
        KeyError::WrongPassphrase => KeyFileError::WrongPassphrase,
        other => KeyFileError::Malformed(other.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn encrypted_and_plaintext_forms_round_trip() {
        for alg in [ALG_ED25519, ALG_COSIGNATURE_V1] {
            let s = Signer::generate("example.com/log", alg).unwrap();
            let sealed = encode(&s, b"correct horse").unwrap();
            assert!(is_encrypted(&sealed));
            assert!(!sealed.contains("PRIVATE+KEY"), "{}", sealed.as_str());
            assert!(sealed.contains("-----BEGIN ENCRYPTED PRIVATE KEY-----"));
            let back = decode(&sealed, Some(b"correct horse")).unwrap();
            assert_eq!(back.vkey(), s.vkey());
            assert!(matches!(
                decode(&sealed, Some(b"wrong")),
                Err(KeyFileError::WrongPassphrase)
            ));
            assert!(matches!(
                decode(&sealed, None),
                Err(KeyFileError::PassphraseRequired)
            ));

            let plain = encode(&s, b"").unwrap();
            assert!(!is_encrypted(&plain));
            assert!(plain.starts_with("PRIVATE+KEY+example.com/log+"));
            assert_eq!(decode(&plain, None).unwrap().vkey(), s.vkey());
        }
    }

    #[test]
    fn a_header_naming_another_key_is_refused() {
        let a = Signer::generate("a", ALG_ED25519).unwrap();
        let b = Signer::generate("b", ALG_ED25519).unwrap();
        let sealed = encode(&a, b"pw").unwrap();
        let first = sealed.lines().next().unwrap();
        let swapped = sealed.replace(first, &format!("{HEADER}b+{:08x}+01", b.key_id()));
        let e = decode(&swapped, Some(b"pw")).unwrap_err();
        assert!(e.to_string().contains("is not key b+"), "{e}");
    }

    proptest! {
        #[test]
        fn decoding_never_panics(text in "(vouch-note-key: )?[ -~\n]{0,300}") {
            let _ = decode(&text, Some(b"pw"));
            let _ = decode(&text, None);
        }
    }
}
