//! (owned by the signing-core work: issue 4)
//! Signing keys: generation, PEM / PKCS#8 reading and writing, passphrase encryption, cosign
//! key import, and public keys for verification.
//!
//! Algorithms: ECDSA P-256 (SHA-256), ECDSA P-384 (SHA-384) and Ed25519 for signing; the same
//! plus RSA (PKCS#1 v1.5 and PSS, SHA-256) for verification only. All primitives are aws-lc-rs.
//!
//! ## Private key files
//! A private key is written as PKCS#8 in PEM. With a passphrase it is an
//! `ENCRYPTED PRIVATE KEY` (RFC 5958 `EncryptedPrivateKeyInfo`) using **PBES2 with
//! PBKDF2-HMAC-SHA256 (600 000 iterations, 16-byte random salt) and AES-256-CBC** (RFC 8018).
//! Why: it is the scheme OpenSSL 3 writes by default, so `openssl pkey -in k.key` reads our
//! keys and we read theirs; the iteration count follows the OWASP 2023 figure for
//! PBKDF2-SHA256; and both primitives run inside aws-lc-rs (constant time, FIPS-validated
//! module, fast in debug builds too). Reading also accepts PBES2 with scrypt (what some
//! RustCrypto tools write), unencrypted `PRIVATE KEY` and SEC1 `EC PRIVATE KEY`.
//!
//! cosign's `ENCRYPTED SIGSTORE PRIVATE KEY` (and the older `ENCRYPTED COSIGN PRIVATE KEY`)
//! is a JSON document: scrypt (N, r, p from the file) derives a 32-byte key that opens a
//! NaCl secretbox (XSalsa20-Poly1305) holding the PKCS#8 DER. We read it so cosign users can
//! migrate (`vouch key import-cosign`) or sign with their key directly.
//!
//! Secrets (passphrases, private key bytes) live in [`Zeroizing`] buffers and never reach
//! `Debug`, `Display` or error messages.

use std::fmt;
use std::num::NonZeroU32;

use aws_lc_rs::cipher::{
    AES_256, DecryptionContext, EncryptionContext, PaddedBlockDecryptingKey,
    PaddedBlockEncryptingKey, UnboundCipherKey,
};
use aws_lc_rs::digest;
use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::iv::FixedLength;
use aws_lc_rs::rand::{SecureRandom, SystemRandom};
use aws_lc_rs::signature::{self, EcdsaKeyPair, Ed25519KeyPair, KeyPair, ParsedPublicKey};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use der::{Decode, Encode};
use pkcs8::EncryptedPrivateKeyInfo;
use pkcs8::pkcs5::{self, pbes2};
use zeroize::Zeroizing;

/// PBKDF2 iterations written into new encrypted keys.
pub const PBKDF2_ITERATIONS: u32 = 600_000;
/// Largest PBKDF2 iteration count accepted when reading (a hostile file must not hang us).
const MAX_PBKDF2_ITERATIONS: u32 = 10_000_000;
/// Largest scrypt log2(N) accepted when reading (2^20 × 8 × 128 B = 1 GiB).
const MAX_SCRYPT_LOG_N: u8 = 20;

/// What went wrong with a key. Messages never contain secret material.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    /// The text is not PEM at all, or the PEM is damaged or truncated.
    #[error("not a PEM key: {0}")]
    NotPem(String),
    /// A PEM block whose label we do not read.
    #[error("unsupported PEM block `{0}`")]
    UnsupportedLabel(String),
    /// The PEM holds a key of a type that cannot be used here.
    #[error("wrong key type: {0}")]
    WrongKeyType(String),
    /// The key is encrypted and no passphrase was given.
    #[error("the key is encrypted and no passphrase was given")]
    PassphraseRequired,
    /// Decryption failed: the passphrase is wrong (or the file was altered).
    #[error("wrong passphrase (or the encrypted key is damaged)")]
    WrongPassphrase,
    /// The key's algorithm or curve is not supported.
    #[error("unsupported key algorithm: {0}")]
    UnsupportedAlgorithm(String),
    /// Structurally broken key data.
    #[error("malformed key: {0}")]
    Malformed(String),
    /// A key reference (`--key`) that cannot be understood or resolved.
    #[error("bad key reference: {0}")]
    BadReference(String),
    /// A PKCS#11 (HSM) failure.
    #[error("PKCS#11: {0}")]
    Pkcs11(String),
    /// The crypto library failed in a way that does not depend on the input.
    #[error("internal cryptography error: {0}")]
    Internal(&'static str),
}

/// A signature did not verify.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("signature does not verify")]
pub struct BadSignature;

/// A signing algorithm.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum KeyAlgorithm {
    /// ECDSA on NIST P-256 with SHA-256 (the Sigstore default).
    EcdsaP256,
    /// ECDSA on NIST P-384 with SHA-384.
    EcdsaP384,
    /// ECDSA on NIST P-521 with SHA-512, for verification only (some Fulcio leaves).
    EcdsaP521,
    /// Ed25519 (pure: signs the whole message).
    Ed25519,
    /// RSA, for verification only (PKCS#1 v1.5 or PSS with SHA-256).
    Rsa,
}

impl KeyAlgorithm {
    /// The name used on the command line (`--algorithm`).
    pub fn name(self) -> &'static str {
        match self {
            KeyAlgorithm::EcdsaP256 => "ecdsa-p256",
            KeyAlgorithm::EcdsaP384 => "ecdsa-p384",
            KeyAlgorithm::EcdsaP521 => "ecdsa-p521",
            KeyAlgorithm::Ed25519 => "ed25519",
            KeyAlgorithm::Rsa => "rsa",
        }
    }

    /// Parses a command-line name.
    pub fn from_name(name: &str) -> Option<Self> {
        match name.to_ascii_lowercase().as_str() {
            "ecdsa-p256" | "p256" | "p-256" => Some(KeyAlgorithm::EcdsaP256),
            "ecdsa-p384" | "p384" | "p-384" => Some(KeyAlgorithm::EcdsaP384),
            "ed25519" => Some(KeyAlgorithm::Ed25519),
            _ => None,
        }
    }

    /// The hash used with this algorithm for Sigstore message digests.
    pub fn hash(self) -> HashAlgorithm {
        match self {
            KeyAlgorithm::EcdsaP384 => HashAlgorithm::Sha384,
            KeyAlgorithm::EcdsaP521 => HashAlgorithm::Sha512,
            _ => HashAlgorithm::Sha256,
        }
    }

    /// Whether signatures can be made from a digest alone (streaming). Ed25519 (pure) cannot.
    pub fn signs_prehashed(self) -> bool {
        matches!(
            self,
            KeyAlgorithm::EcdsaP256 | KeyAlgorithm::EcdsaP384 | KeyAlgorithm::EcdsaP521
        )
    }
}

impl fmt::Display for KeyAlgorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A message digest algorithm, named as in the Sigstore protobuf `HashAlgorithm` enum.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum HashAlgorithm {
    /// SHA-256 (`SHA2_256`).
    Sha256,
    /// SHA-384 (`SHA2_384`).
    Sha384,
    /// SHA-512 (`SHA2_512`).
    Sha512,
}

impl HashAlgorithm {
    /// The protobuf enum name (`SHA2_256`).
    pub fn proto_name(self) -> &'static str {
        match self {
            HashAlgorithm::Sha256 => "SHA2_256",
            HashAlgorithm::Sha384 => "SHA2_384",
            HashAlgorithm::Sha512 => "SHA2_512",
        }
    }

    /// Parses the protobuf enum name.
    pub fn from_proto_name(name: &str) -> Option<Self> {
        match name {
            "SHA2_256" => Some(HashAlgorithm::Sha256),
            "SHA2_384" => Some(HashAlgorithm::Sha384),
            "SHA2_512" => Some(HashAlgorithm::Sha512),
            _ => None,
        }
    }

    fn aws(self) -> &'static digest::Algorithm {
        match self {
            HashAlgorithm::Sha256 => &digest::SHA256,
            HashAlgorithm::Sha384 => &digest::SHA384,
            HashAlgorithm::Sha512 => &digest::SHA512,
        }
    }

    /// The digest length in bytes.
    pub fn output_len(self) -> usize {
        self.aws().output_len()
    }

    /// Starts a streaming hash.
    pub fn hasher(self) -> Hasher {
        Hasher {
            algorithm: self,
            ctx: digest::Context::new(self.aws()),
        }
    }

    /// Hashes a byte string in one go.
    pub fn hash(self, data: &[u8]) -> Prehash {
        let mut h = self.hasher();
        h.update(data);
        h.finish()
    }
}

/// A streaming hash (feed any amount of data with [`Hasher::update`], constant memory).
pub struct Hasher {
    algorithm: HashAlgorithm,
    ctx: digest::Context,
}

impl Hasher {
    /// Feeds bytes.
    pub fn update(&mut self, data: &[u8]) {
        self.ctx.update(data);
    }

    /// Finishes the hash.
    pub fn finish(self) -> Prehash {
        Prehash {
            algorithm: self.algorithm,
            value: self.ctx.finish().as_ref().to_vec(),
        }
    }

    /// Hashes everything a reader yields, 64 KiB at a time.
    pub fn update_reader(&mut self, mut reader: impl std::io::Read) -> std::io::Result<u64> {
        let mut buf = vec![0u8; 64 * 1024];
        let mut total = 0u64;
        loop {
            let n = match reader.read(&mut buf) {
                Ok(0) => return Ok(total),
                Ok(n) => n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            self.ctx.update(&buf[..n]);
            total += n as u64;
        }
    }
}

/// A finished message digest: what is signed when a message is too big to hold.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Prehash {
    /// The hash function.
    pub algorithm: HashAlgorithm,
    /// The raw digest bytes.
    pub value: Vec<u8>,
}

impl Prehash {
    /// The digest as lowercase hex.
    pub fn to_hex(&self) -> String {
        hex::encode(&self.value)
    }

    fn to_aws(&self) -> Result<digest::Digest, BadSignature> {
        digest::Digest::import_less_safe(&self.value, self.algorithm.aws())
            .map_err(|_| BadSignature)
    }
}

/// A public key for verification: its algorithm, its SubjectPublicKeyInfo DER, and the parsed
/// form aws-lc-rs verifies with.
#[derive(Clone)]
pub struct PublicKey {
    algorithm: KeyAlgorithm,
    spki: Vec<u8>,
    parsed: std::sync::Arc<ParsedPublicKey>,
    parsed_fixed: Option<std::sync::Arc<ParsedPublicKey>>,
}

impl fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PublicKey")
            .field("algorithm", &self.algorithm)
            .field("hint", &self.hint())
            .finish()
    }
}

impl PartialEq for PublicKey {
    fn eq(&self, other: &Self) -> bool {
        self.spki == other.spki
    }
}
impl Eq for PublicKey {}

impl PublicKey {
    /// Reads a DER SubjectPublicKeyInfo; the algorithm is taken from the key itself.
    pub fn from_spki_der(der: &[u8]) -> Result<Self, KeyError> {
        // ECDSA signatures are accepted in ASN.1 DER only, as the Sigstore spec says: one
        // signature has one byte string (a fixed-width `r||s` re-encoding is refused). RSA
        // keys accept PKCS#1 v1.5 and, as the alternative, PSS.
        let candidates: [(
            KeyAlgorithm,
            &'static dyn signature::VerificationAlgorithm,
            Option<&'static dyn signature::VerificationAlgorithm>,
        ); 5] = [
            (
                KeyAlgorithm::EcdsaP256,
                &signature::ECDSA_P256_SHA256_ASN1,
                None,
            ),
            (
                KeyAlgorithm::EcdsaP384,
                &signature::ECDSA_P384_SHA384_ASN1,
                None,
            ),
            (
                KeyAlgorithm::EcdsaP521,
                &signature::ECDSA_P521_SHA512_ASN1,
                None,
            ),
            (KeyAlgorithm::Ed25519, &signature::ED25519, None),
            (
                KeyAlgorithm::Rsa,
                &signature::RSA_PKCS1_2048_8192_SHA256,
                Some(&signature::RSA_PSS_2048_8192_SHA256),
            ),
        ];
        // A quick structural check first: aws-lc-rs also accepts raw point encodings, which
        // must not pass as a SubjectPublicKeyInfo.
        pkcs8::spki::SubjectPublicKeyInfoRef::from_der(der)
            .map_err(|e| KeyError::Malformed(format!("not a SubjectPublicKeyInfo: {e}")))?;
        for (alg, verify, alt) in candidates {
            if let Ok(parsed) = ParsedPublicKey::new(verify, der) {
                let parsed_fixed = match alt {
                    Some(a) => ParsedPublicKey::new(a, der).ok().map(std::sync::Arc::new),
                    None => None,
                };
                return Ok(PublicKey {
                    algorithm: alg,
                    spki: der.to_vec(),
                    parsed: std::sync::Arc::new(parsed),
                    parsed_fixed,
                });
            }
        }
        Err(KeyError::UnsupportedAlgorithm(
            "the public key is not ECDSA P-256/P-384/P-521, Ed25519 or RSA 2048–8192".into(),
        ))
    }

    /// Reads a `PUBLIC KEY` PEM. A private key PEM is rejected with a clear message.
    pub fn from_pem(text: &str) -> Result<Self, KeyError> {
        let (label, der) = decode_pem(text)?;
        match label.as_str() {
            "PUBLIC KEY" => Self::from_spki_der(&der),
            l if l.contains("PRIVATE KEY") => Err(KeyError::WrongKeyType(
                "this is a private key; verification takes the public key (NAME.pub)".into(),
            )),
            "CERTIFICATE" => Err(KeyError::WrongKeyType(
                "this is a certificate; pass the public key (SPKI `PUBLIC KEY` PEM)".into(),
            )),
            other => Err(KeyError::UnsupportedLabel(other.to_string())),
        }
    }

    /// The algorithm.
    pub fn algorithm(&self) -> KeyAlgorithm {
        self.algorithm
    }

    /// The DER SubjectPublicKeyInfo.
    pub fn spki_der(&self) -> &[u8] {
        &self.spki
    }

    /// PEM (`PUBLIC KEY`), LF line endings.
    pub fn to_pem(&self) -> String {
        pem_rfc7468::encode_string("PUBLIC KEY", pem_rfc7468::LineEnding::LF, &self.spki)
            .unwrap_or_default()
    }

    /// The Sigstore key hint: standard base64 of SHA-256 over the SPKI DER.
    pub fn hint(&self) -> String {
        B64.encode(digest::digest(&digest::SHA256, &self.spki).as_ref())
    }

    /// A hex key id: lowercase hex SHA-256 over the SPKI DER (used as DSSE `keyid`).
    pub fn key_id(&self) -> String {
        hex::encode(digest::digest(&digest::SHA256, &self.spki).as_ref())
    }

    /// Verifies a signature over `message` (ECDSA: ASN.1 DER only).
    pub fn verify(&self, message: &[u8], sig: &[u8]) -> Result<(), BadSignature> {
        if self.parsed.verify_sig(message, sig).is_ok() {
            return Ok(());
        }
        match &self.parsed_fixed {
            Some(alt) => alt.verify_sig(message, sig).map_err(|_| BadSignature),
            None => Err(BadSignature),
        }
    }

    /// Verifies a signature given only the message digest (ECDSA and RSA; not Ed25519).
    pub fn verify_prehashed(&self, prehash: &Prehash, sig: &[u8]) -> Result<(), BadSignature> {
        if self.algorithm == KeyAlgorithm::Ed25519 || prehash.algorithm != self.algorithm.hash() {
            return Err(BadSignature);
        }
        let d = prehash.to_aws()?;
        if self.parsed.verify_digest_sig(&d, sig).is_ok() {
            return Ok(());
        }
        match &self.parsed_fixed {
            Some(alt) => alt.verify_digest_sig(&d, sig).map_err(|_| BadSignature),
            None => Err(BadSignature),
        }
    }
}

impl PublicKey {
    /// Verifies a signature over `message` where the format allows ECDSA signatures in
    /// either encoding: bare DSSE envelopes (the DSSE specification's own example is a
    /// fixed-width `r||s` signature). Sigstore bundles use [`PublicKey::verify`] (DER only).
    pub fn verify_der_or_fixed(&self, message: &[u8], sig: &[u8]) -> Result<(), BadSignature> {
        if self.verify(message, sig).is_ok() {
            return Ok(());
        }
        let fixed: &'static dyn signature::VerificationAlgorithm = match self.algorithm {
            KeyAlgorithm::EcdsaP256 => &signature::ECDSA_P256_SHA256_FIXED,
            KeyAlgorithm::EcdsaP384 => &signature::ECDSA_P384_SHA384_FIXED,
            KeyAlgorithm::EcdsaP521 => &signature::ECDSA_P521_SHA512_FIXED,
            _ => return Err(BadSignature),
        };
        ParsedPublicKey::new(fixed, &self.spki)
            .map_err(|_| BadSignature)?
            .verify_sig(message, sig)
            .map_err(|_| BadSignature)
    }

    /// Verifies a signature over a digest made with a hash other than the key's usual one:
    /// the signer chooses it (sigstore-python signs with a P-384 key over SHA-256, as the
    /// bundle's `messageDigest` then says). ECDSA (DER) with any SHA-2 the curve is used
    /// with, RSA PKCS#1 v1.5 with SHA-256/384/512; Ed25519 never signs a digest.
    pub fn verify_prehashed_any(&self, prehash: &Prehash, sig: &[u8]) -> Result<(), BadSignature> {
        use HashAlgorithm as H;
        use KeyAlgorithm as K;
        if prehash.algorithm == self.algorithm.hash() {
            return self.verify_prehashed(prehash, sig);
        }
        let alg: &'static dyn signature::VerificationAlgorithm =
            match (self.algorithm, prehash.algorithm) {
                (K::EcdsaP256, H::Sha384) => &signature::ECDSA_P256_SHA384_ASN1,
                (K::EcdsaP256, H::Sha512) => &signature::ECDSA_P256_SHA512_ASN1,
                (K::EcdsaP384, H::Sha256) => &signature::ECDSA_P384_SHA256_ASN1,
                (K::EcdsaP384, H::Sha512) => &signature::ECDSA_P384_SHA512_ASN1,
                (K::EcdsaP521, H::Sha256) => &signature::ECDSA_P521_SHA256_ASN1,
                (K::EcdsaP521, H::Sha384) => &signature::ECDSA_P521_SHA384_ASN1,
                (K::Rsa, H::Sha384) => &signature::RSA_PKCS1_2048_8192_SHA384,
                (K::Rsa, H::Sha512) => &signature::RSA_PKCS1_2048_8192_SHA512,
                _ => return Err(BadSignature),
            };
        let parsed = ParsedPublicKey::new(alg, &self.spki).map_err(|_| BadSignature)?;
        parsed
            .verify_digest_sig(&prehash.to_aws()?, sig)
            .map_err(|_| BadSignature)
    }
}

/// PKCS#8 v1 `PrivateKeyInfo` of an Ed25519 key (RFC 8410) up to its 32-byte seed.
const ED25519_PKCS8_V1_PREFIX: [u8; 16] = [
    0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20,
];

enum Inner {
    Ecdsa(EcdsaKeyPair),
    Ed25519(Ed25519KeyPair),
}

/// A private signing key held in memory (from a file, an environment variable or generated).
pub struct PrivateKey {
    inner: Inner,
    pkcs8: Zeroizing<Vec<u8>>,
    public: PublicKey,
}

impl fmt::Debug for PrivateKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PrivateKey")
            .field("algorithm", &self.public.algorithm)
            .field("public_hint", &self.public.hint())
            .finish_non_exhaustive()
    }
}

impl PrivateKey {
    /// Generates a new key.
    pub fn generate(algorithm: KeyAlgorithm) -> Result<Self, KeyError> {
        let rng = SystemRandom::new();
        let doc = match algorithm {
            KeyAlgorithm::EcdsaP256 => {
                EcdsaKeyPair::generate_pkcs8(&signature::ECDSA_P256_SHA256_ASN1_SIGNING, &rng)
            }
            KeyAlgorithm::EcdsaP384 => {
                EcdsaKeyPair::generate_pkcs8(&signature::ECDSA_P384_SHA384_ASN1_SIGNING, &rng)
            }
            KeyAlgorithm::Ed25519 => Ed25519KeyPair::generate_pkcs8v1(&rng),
            KeyAlgorithm::Rsa | KeyAlgorithm::EcdsaP521 => {
                return Err(KeyError::UnsupportedAlgorithm(format!(
                    "{algorithm} keys are accepted for verification only"
                )));
            }
        }
        .map_err(|_| KeyError::Internal("key generation failed"))?;
        Self::from_pkcs8_der(doc.as_ref())
    }

    /// Reads an unencrypted PKCS#8 `PrivateKeyInfo` (v1 or v2).
    pub fn from_pkcs8_der(der: &[u8]) -> Result<Self, KeyError> {
        if let Ok(kp) = EcdsaKeyPair::from_pkcs8(&signature::ECDSA_P256_SHA256_ASN1_SIGNING, der) {
            return Self::from_ecdsa(kp, der);
        }
        if let Ok(kp) = EcdsaKeyPair::from_pkcs8(&signature::ECDSA_P384_SHA384_ASN1_SIGNING, der) {
            return Self::from_ecdsa(kp, der);
        }
        if let Ok(kp) = Ed25519KeyPair::from_pkcs8_maybe_unchecked(der) {
            let spki = kp
                .public_key()
                .as_der()
                .map_err(|_| KeyError::Internal("public key encoding failed"))?;
            let public = PublicKey::from_spki_der(spki.as_ref())?;
            return Ok(PrivateKey {
                inner: Inner::Ed25519(kp),
                pkcs8: Zeroizing::new(der.to_vec()),
                public,
            });
        }
        // Say what it is, if we can tell.
        match pkcs8::PrivateKeyInfo::from_der(der) {
            Ok(info) => Err(KeyError::UnsupportedAlgorithm(format!(
                "private key algorithm {} (signing takes ECDSA P-256/P-384 or Ed25519)",
                info.algorithm.oid
            ))),
            Err(e) => Err(KeyError::Malformed(format!(
                "not a PKCS#8 private key: {e}"
            ))),
        }
    }

    /// An Ed25519 key from its 32-byte RFC 8032 seed, for formats that store the seed itself
    /// (C2SP signed-note keys), so they can be written with [`PrivateKey::to_pem`]'s encryption.
    pub fn ed25519_from_seed(seed: &[u8; 32]) -> Result<Self, KeyError> {
        let mut der = Zeroizing::new(Vec::with_capacity(ED25519_PKCS8_V1_PREFIX.len() + 32));
        der.extend_from_slice(&ED25519_PKCS8_V1_PREFIX);
        der.extend_from_slice(seed);
        Self::from_pkcs8_der(&der)
    }

    /// The 32-byte seed of an Ed25519 key; `None` for other algorithms.
    pub fn ed25519_seed(&self) -> Option<Zeroizing<[u8; 32]>> {
        if !matches!(self.inner, Inner::Ed25519(_)) {
            return None;
        }
        let info = pkcs8::PrivateKeyInfo::from_der(&self.pkcs8).ok()?;
        // RFC 8410: the private key is a CurvePrivateKey, an OCTET STRING of the seed.
        let inner = info.private_key.strip_prefix(&[0x04, 0x20])?;
        let mut seed = Zeroizing::new([0u8; 32]);
        if inner.len() != 32 {
            return None;
        }
        seed.copy_from_slice(inner);
        Some(seed)
    }

    fn from_ecdsa(kp: EcdsaKeyPair, der: &[u8]) -> Result<Self, KeyError> {
        let spki = kp
            .public_key()
            .as_der()
            .map_err(|_| KeyError::Internal("public key encoding failed"))?;
        let public = PublicKey::from_spki_der(spki.as_ref())?;
        // Normalise to PKCS#8 v1 as aws-lc-rs writes it.
        let pkcs8 = kp
            .to_pkcs8v1()
            .map(|d| d.as_ref().to_vec())
            .unwrap_or_else(|_| der.to_vec());
        Ok(PrivateKey {
            inner: Inner::Ecdsa(kp),
            pkcs8: Zeroizing::new(pkcs8),
            public,
        })
    }

    /// Reads a private key PEM: `PRIVATE KEY`, `ENCRYPTED PRIVATE KEY`, `EC PRIVATE KEY`, or
    /// cosign's `ENCRYPTED SIGSTORE PRIVATE KEY` / `ENCRYPTED COSIGN PRIVATE KEY`.
    pub fn from_pem(text: &str, passphrase: Option<&[u8]>) -> Result<Self, KeyError> {
        let (label, der) = decode_pem(text)?;
        let der = Zeroizing::new(der);
        match label.as_str() {
            "PRIVATE KEY" => Self::from_pkcs8_der(&der),
            "ENCRYPTED PRIVATE KEY" => {
                let pass = passphrase.ok_or(KeyError::PassphraseRequired)?;
                let plain = decrypt_pkcs8(&der, pass)?;
                Self::from_pkcs8_der(&plain)
            }
            "EC PRIVATE KEY" => {
                for alg in [
                    &signature::ECDSA_P256_SHA256_ASN1_SIGNING,
                    &signature::ECDSA_P384_SHA384_ASN1_SIGNING,
                ] {
                    if let Ok(kp) = EcdsaKeyPair::from_private_key_der(alg, &der) {
                        return Self::from_ecdsa(kp, &der);
                    }
                }
                Err(KeyError::UnsupportedAlgorithm(
                    "EC private key on a curve other than P-256/P-384".into(),
                ))
            }
            "ENCRYPTED SIGSTORE PRIVATE KEY" | "ENCRYPTED COSIGN PRIVATE KEY" => {
                let pass = passphrase.ok_or(KeyError::PassphraseRequired)?;
                let plain = decrypt_cosign(&der, pass)?;
                Self::from_pkcs8_der(&plain)
            }
            "PUBLIC KEY" => Err(KeyError::WrongKeyType(
                "this is a public key; signing needs the private key (NAME.key)".into(),
            )),
            "RSA PRIVATE KEY" => Err(KeyError::UnsupportedAlgorithm(
                "RSA keys are accepted for verification only".into(),
            )),
            other => Err(KeyError::UnsupportedLabel(other.to_string())),
        }
    }

    /// Writes the key as PEM: `ENCRYPTED PRIVATE KEY` (PBES2, PBKDF2-HMAC-SHA256, AES-256-CBC)
    /// when `passphrase` is non-empty, else an unencrypted `PRIVATE KEY`.
    pub fn to_pem(&self, passphrase: Option<&[u8]>) -> Result<Zeroizing<String>, KeyError> {
        self.to_pem_with_iterations(passphrase, PBKDF2_ITERATIONS)
    }

    /// As [`PrivateKey::to_pem`], with a chosen PBKDF2 iteration count (tests use fewer).
    pub fn to_pem_with_iterations(
        &self,
        passphrase: Option<&[u8]>,
        iterations: u32,
    ) -> Result<Zeroizing<String>, KeyError> {
        let (label, der) = match passphrase {
            Some(p) if !p.is_empty() => (
                "ENCRYPTED PRIVATE KEY",
                encrypt_pkcs8(&self.pkcs8, p, iterations)?,
            ),
            _ => ("PRIVATE KEY", Zeroizing::new(self.pkcs8.to_vec())),
        };
        pem_rfc7468::encode_string(label, pem_rfc7468::LineEnding::LF, &der)
            .map(Zeroizing::new)
            .map_err(|_| KeyError::Internal("PEM encoding failed"))
    }

    /// The public half.
    pub fn public_key(&self) -> &PublicKey {
        &self.public
    }

    /// The algorithm.
    pub fn algorithm(&self) -> KeyAlgorithm {
        self.public.algorithm
    }

    /// Signs a message. ECDSA signatures are ASN.1 DER (as Sigstore and DSSE tools expect).
    pub fn sign(&self, message: &[u8]) -> Result<Vec<u8>, KeyError> {
        match &self.inner {
            Inner::Ecdsa(kp) => kp
                .sign(&SystemRandom::new(), message)
                .map(|s| s.as_ref().to_vec())
                .map_err(|_| KeyError::Internal("ECDSA signing failed")),
            Inner::Ed25519(kp) => Ok(kp.sign(message).as_ref().to_vec()),
        }
    }

    /// Signs a message given only its digest (ECDSA only; the digest must use the key's hash).
    pub fn sign_prehashed(&self, prehash: &Prehash) -> Result<Vec<u8>, KeyError> {
        match &self.inner {
            Inner::Ecdsa(kp) => {
                if prehash.algorithm != self.algorithm().hash() {
                    return Err(KeyError::WrongKeyType(format!(
                        "{} signs {} digests, not {}",
                        self.algorithm(),
                        self.algorithm().hash().proto_name(),
                        prehash.algorithm.proto_name()
                    )));
                }
                let d = prehash
                    .to_aws()
                    .map_err(|_| KeyError::Internal("digest import failed"))?;
                kp.sign_digest(&d)
                    .map(|s| s.as_ref().to_vec())
                    .map_err(|_| KeyError::Internal("ECDSA signing failed"))
            }
            Inner::Ed25519(_) => Err(KeyError::WrongKeyType(
                "Ed25519 signs whole messages, not digests".into(),
            )),
        }
    }
}

/// Decodes one PEM block, with messages that say what is wrong.
pub fn decode_pem(text: &str) -> Result<(String, Vec<u8>), KeyError> {
    let trimmed = text.trim_matches(|c: char| c.is_whitespace() || c == '\u{feff}');
    if !trimmed.starts_with("-----BEGIN ") {
        return Err(KeyError::NotPem("no `-----BEGIN` line".into()));
    }
    if !trimmed.contains("-----END ") {
        return Err(KeyError::NotPem(
            "no `-----END` line (the file is truncated)".into(),
        ));
    }
    // pem-rfc7468 wants a canonical single block with a final newline.
    let end = trimmed
        .find("-----END ")
        .and_then(|i| {
            trimmed[i..]
                .find("-----\n")
                .map(|j| i + j + 5)
                .or(Some(trimmed.len()))
        })
        .unwrap_or(trimmed.len());
    let mut block = trimmed[..end].replace("\r\n", "\n");
    block.push('\n');
    match pem_rfc7468::decode_vec(block.as_bytes()) {
        Ok((label, der)) => Ok((label.to_string(), der)),
        // OpenSSL and Go read PEM whose base64 lines are longer or shorter than RFC 7468's
        // 64 characters (npm's registry key is one such file); so do we, for one block with
        // matching BEGIN/END labels and no headers.
        Err(e) => lenient_pem(&block)
            .ok_or_else(|| KeyError::NotPem(format!("damaged or truncated PEM ({e})"))),
    }
}

fn lenient_pem(block: &str) -> Option<(String, Vec<u8>)> {
    let mut lines = block.lines().map(str::trim);
    let label = lines
        .next()?
        .strip_prefix("-----BEGIN ")?
        .strip_suffix("-----")?
        .to_string();
    let mut b64 = String::new();
    for line in lines {
        if let Some(end) = line.strip_prefix("-----END ") {
            return (end.strip_suffix("-----")? == label)
                .then(|| B64.decode(b64.as_bytes()).ok())
                .flatten()
                .map(|der| (label, der));
        }
        if line.contains(':') {
            return None;
        }
        b64.push_str(line);
    }
    None
}

fn encrypt_pkcs8(
    plain: &[u8],
    passphrase: &[u8],
    iterations: u32,
) -> Result<Zeroizing<Vec<u8>>, KeyError> {
    let rng = SystemRandom::new();
    let mut salt = [0u8; 16];
    let mut iv = [0u8; 16];
    rng.fill(&mut salt)
        .and_then(|_| rng.fill(&mut iv))
        .map_err(|_| KeyError::Internal("random generation failed"))?;
    let params = pbes2::Parameters::pbkdf2_sha256_aes256cbc(iterations, &salt, &iv)
        .map_err(|_| KeyError::Internal("PBES2 parameters"))?;
    let iters = NonZeroU32::new(iterations).ok_or(KeyError::Internal("zero iterations"))?;
    let mut key = Zeroizing::new([0u8; 32]);
    aws_lc_rs::pbkdf2::derive(
        aws_lc_rs::pbkdf2::PBKDF2_HMAC_SHA256,
        iters,
        &salt,
        passphrase,
        key.as_mut(),
    );
    let cipher = UnboundCipherKey::new(&AES_256, key.as_ref())
        .and_then(PaddedBlockEncryptingKey::cbc_pkcs7)
        .map_err(|_| KeyError::Internal("AES key setup failed"))?;
    let mut buf = plain.to_vec();
    cipher
        .less_safe_encrypt(&mut buf, EncryptionContext::Iv128(FixedLength::from(iv)))
        .map_err(|_| KeyError::Internal("AES encryption failed"))?;
    let info = EncryptedPrivateKeyInfo {
        encryption_algorithm: pkcs5::EncryptionScheme::Pbes2(params),
        encrypted_data: &buf,
    };
    info.to_der()
        .map(Zeroizing::new)
        .map_err(|_| KeyError::Internal("DER encoding failed"))
}

fn decrypt_pkcs8(der: &[u8], passphrase: &[u8]) -> Result<Zeroizing<Vec<u8>>, KeyError> {
    let info = EncryptedPrivateKeyInfo::from_der(der)
        .map_err(|e| KeyError::Malformed(format!("not an EncryptedPrivateKeyInfo: {e}")))?;
    let params = info.encryption_algorithm.pbes2().ok_or_else(|| {
        KeyError::UnsupportedAlgorithm("PBES1 key encryption (re-encrypt with PBES2)".into())
    })?;
    let key_len = params.encryption.key_size();
    let mut key = Zeroizing::new(vec![0u8; key_len]);
    match &params.kdf {
        pbes2::Kdf::Pbkdf2(p) => {
            let prf = match p.prf {
                pbes2::Pbkdf2Prf::HmacWithSha256 => aws_lc_rs::pbkdf2::PBKDF2_HMAC_SHA256,
                pbes2::Pbkdf2Prf::HmacWithSha384 => aws_lc_rs::pbkdf2::PBKDF2_HMAC_SHA384,
                pbes2::Pbkdf2Prf::HmacWithSha512 => aws_lc_rs::pbkdf2::PBKDF2_HMAC_SHA512,
                pbes2::Pbkdf2Prf::HmacWithSha1 => aws_lc_rs::pbkdf2::PBKDF2_HMAC_SHA1,
                _ => {
                    return Err(KeyError::UnsupportedAlgorithm(
                        "PBKDF2 with this PRF".into(),
                    ));
                }
            };
            if p.iteration_count > MAX_PBKDF2_ITERATIONS {
                return Err(KeyError::Malformed(format!(
                    "PBKDF2 iteration count {} is above the limit {MAX_PBKDF2_ITERATIONS}",
                    p.iteration_count
                )));
            }
            let iters = NonZeroU32::new(p.iteration_count)
                .ok_or_else(|| KeyError::Malformed("PBKDF2 iteration count 0".into()))?;
            aws_lc_rs::pbkdf2::derive(prf, iters, p.salt, passphrase, &mut key);
        }
        pbes2::Kdf::Scrypt(p) => {
            let log_n = scrypt_log_n(p.cost_parameter)?;
            let params = scrypt::Params::new(
                log_n,
                u32::from(p.block_size),
                u32::from(p.parallelization),
                key_len,
            )
            .map_err(|_| KeyError::Malformed("scrypt parameters out of range".into()))?;
            scrypt::scrypt(passphrase, p.salt, &params, &mut key)
                .map_err(|_| KeyError::Malformed("scrypt parameters out of range".into()))?;
        }
        _ => {
            return Err(KeyError::UnsupportedAlgorithm(
                "PBES2 key derivation function".into(),
            ));
        }
    }
    let (alg, iv) = match params.encryption {
        pbes2::EncryptionScheme::Aes128Cbc { iv } => (&aws_lc_rs::cipher::AES_128, iv),
        pbes2::EncryptionScheme::Aes256Cbc { iv } => (&AES_256, iv),
        _ => {
            return Err(KeyError::UnsupportedAlgorithm(
                "key encryption cipher (AES-128-CBC or AES-256-CBC are read)".into(),
            ));
        }
    };
    let cipher = UnboundCipherKey::new(alg, &key)
        .and_then(PaddedBlockDecryptingKey::cbc_pkcs7)
        .map_err(|_| KeyError::Internal("AES key setup failed"))?;
    let mut buf = Zeroizing::new(info.encrypted_data.to_vec());
    if buf.is_empty() || !buf.len().is_multiple_of(16) {
        return Err(KeyError::Malformed(
            "encrypted key length is not a multiple of 16".into(),
        ));
    }
    let plain = cipher
        .decrypt(&mut buf, DecryptionContext::Iv128(FixedLength::from(*iv)))
        .map_err(|_| KeyError::WrongPassphrase)?;
    let plain = Zeroizing::new(plain.to_vec());
    // A wrong passphrase passes the padding check about 1 time in 256: the DER check catches it.
    if pkcs8::PrivateKeyInfo::from_der(&plain).is_err() {
        return Err(KeyError::WrongPassphrase);
    }
    Ok(plain)
}

fn scrypt_log_n(n: u64) -> Result<u8, KeyError> {
    if n < 2 || !n.is_power_of_two() {
        return Err(KeyError::Malformed(format!(
            "scrypt N={n} is not a power of two"
        )));
    }
    let log_n = n.trailing_zeros() as u8;
    if log_n > MAX_SCRYPT_LOG_N {
        return Err(KeyError::Malformed(format!(
            "scrypt N=2^{log_n} is above the limit 2^{MAX_SCRYPT_LOG_N}"
        )));
    }
    Ok(log_n)
}

#[derive(serde::Deserialize)]
struct CosignKey {
    kdf: CosignKdf,
    cipher: CosignCipher,
    ciphertext: String,
}
#[derive(serde::Deserialize)]
struct CosignKdf {
    name: String,
    params: CosignScrypt,
    salt: String,
}
#[derive(serde::Deserialize)]
#[allow(non_snake_case)]
struct CosignScrypt {
    N: u64,
    r: u32,
    p: u32,
}
#[derive(serde::Deserialize)]
struct CosignCipher {
    name: String,
    nonce: String,
}

fn decrypt_cosign(json: &[u8], passphrase: &[u8]) -> Result<Zeroizing<Vec<u8>>, KeyError> {
    use crypto_secretbox::aead::{Aead, KeyInit};
    let doc: CosignKey = serde_json::from_slice(json)
        .map_err(|e| KeyError::Malformed(format!("cosign key JSON: {e}")))?;
    if doc.kdf.name != "scrypt" {
        return Err(KeyError::UnsupportedAlgorithm(format!(
            "cosign key KDF `{}`",
            doc.kdf.name
        )));
    }
    if doc.cipher.name != "nacl/secretbox" {
        return Err(KeyError::UnsupportedAlgorithm(format!(
            "cosign key cipher `{}`",
            doc.cipher.name
        )));
    }
    let b64 = |s: &str, what: &str| {
        B64.decode(s)
            .map_err(|_| KeyError::Malformed(format!("cosign key {what} is not base64")))
    };
    let salt = b64(&doc.kdf.salt, "salt")?;
    let nonce = b64(&doc.cipher.nonce, "nonce")?;
    let ciphertext = b64(&doc.ciphertext, "ciphertext")?;
    if nonce.len() != 24 {
        return Err(KeyError::Malformed(
            "cosign key nonce is not 24 bytes".into(),
        ));
    }
    let log_n = scrypt_log_n(doc.kdf.params.N)?;
    let params = scrypt::Params::new(log_n, doc.kdf.params.r, doc.kdf.params.p, 32)
        .map_err(|_| KeyError::Malformed("cosign scrypt parameters out of range".into()))?;
    if u64::from(doc.kdf.params.r) * u64::from(doc.kdf.params.p) > 64 {
        return Err(KeyError::Malformed("cosign scrypt r·p is above 64".into()));
    }
    let mut key = Zeroizing::new([0u8; 32]);
    scrypt::scrypt(passphrase, &salt, &params, key.as_mut())
        .map_err(|_| KeyError::Malformed("cosign scrypt parameters out of range".into()))?;
    let cipher = crypto_secretbox::XSalsa20Poly1305::new(key.as_ref().into());
    let plain = cipher
        .decrypt(nonce.as_slice().into(), ciphertext.as_slice())
        .map_err(|_| KeyError::WrongPassphrase)?;
    Ok(Zeroizing::new(plain))
}

/// Encrypts a PKCS#8 DER the way cosign does (scrypt + secretbox) — for tests and fixtures;
/// vouch itself writes PBES2 keys.
#[doc(hidden)]
pub fn encrypt_cosign_for_tests(
    pkcs8: &[u8],
    passphrase: &[u8],
    log_n: u8,
) -> Result<String, KeyError> {
    use crypto_secretbox::aead::{Aead, KeyInit};
    let rng = SystemRandom::new();
    let mut salt = [0u8; 32];
    let mut nonce = [0u8; 24];
    rng.fill(&mut salt)
        .and_then(|_| rng.fill(&mut nonce))
        .map_err(|_| KeyError::Internal("random generation failed"))?;
    let params =
        scrypt::Params::new(log_n, 8, 1, 32).map_err(|_| KeyError::Internal("scrypt params"))?;
    let mut key = [0u8; 32];
    scrypt::scrypt(passphrase, &salt, &params, &mut key)
        .map_err(|_| KeyError::Internal("scrypt"))?;
    let cipher = crypto_secretbox::XSalsa20Poly1305::new((&key).into());
    let ct = cipher
        .encrypt((&nonce).into(), pkcs8)
        .map_err(|_| KeyError::Internal("secretbox"))?;
    let json = serde_json::json!({
        "kdf": {"name": "scrypt", "params": {"N": 1u64 << log_n, "r": 8, "p": 1}, "salt": B64.encode(salt)},
        "cipher": {"name": "nacl/secretbox", "nonce": B64.encode(nonce)},
        "ciphertext": B64.encode(ct),
    });
    pem_rfc7468::encode_string(
        "ENCRYPTED SIGSTORE PRIVATE KEY",
        pem_rfc7468::LineEnding::LF,
        json.to_string().as_bytes(),
    )
    .map_err(|_| KeyError::Internal("PEM encoding failed"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn generate_sign_verify_all_algorithms() {
        for alg in [
            KeyAlgorithm::EcdsaP256,
            KeyAlgorithm::EcdsaP384,
            KeyAlgorithm::Ed25519,
        ] {
            let k = PrivateKey::generate(alg).unwrap();
            assert_eq!(k.algorithm(), alg);
            let sig = k.sign(b"hello").unwrap();
            k.public_key().verify(b"hello", &sig).unwrap();
            assert!(k.public_key().verify(b"hellO", &sig).is_err());
            if alg.signs_prehashed() {
                let pre = alg.hash().hash(b"big message");
                let sig = k.sign_prehashed(&pre).unwrap();
                k.public_key().verify(b"big message", &sig).unwrap();
                k.public_key().verify_prehashed(&pre, &sig).unwrap();
            }
            let pem = k.public_key().to_pem();
            assert_eq!(&PublicKey::from_pem(&pem).unwrap(), k.public_key());
        }
    }

    #[test]
    fn ed25519_seed_round_trips_through_encrypted_pkcs8() {
        // RFC 8032 test 1: this seed's public key is d75a9801…
        let seed: [u8; 32] =
            hex::decode("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60")
                .unwrap()
                .try_into()
                .unwrap();
        let k = PrivateKey::ed25519_from_seed(&seed).unwrap();
        assert_eq!(
            hex::encode(&k.public_key().spki_der()[12..]),
            "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a"
        );
        let pem = k.to_pem_with_iterations(Some(b"pw"), 1000).unwrap();
        let back = PrivateKey::from_pem(&pem, Some(b"pw")).unwrap();
        assert_eq!(*back.ed25519_seed().unwrap(), seed);
        let generated = PrivateKey::generate(KeyAlgorithm::Ed25519).unwrap();
        let again = PrivateKey::ed25519_from_seed(&generated.ed25519_seed().unwrap()).unwrap();
        assert_eq!(again.public_key(), generated.public_key());
        let ecdsa = PrivateKey::generate(KeyAlgorithm::EcdsaP256).unwrap();
        assert!(ecdsa.ed25519_seed().is_none());
    }

    #[test]
    fn encrypted_pem_round_trip_and_wrong_passphrase() {
        let k = PrivateKey::generate(KeyAlgorithm::EcdsaP256).unwrap();
        let pem = k.to_pem_with_iterations(Some(b"pw"), 1000).unwrap();
        assert!(pem.starts_with("-----BEGIN ENCRYPTED PRIVATE KEY-----"));
        let back = PrivateKey::from_pem(&pem, Some(b"pw")).unwrap();
        assert_eq!(back.public_key(), k.public_key());
        assert_eq!(
            PrivateKey::from_pem(&pem, Some(b"nope")).unwrap_err(),
            KeyError::WrongPassphrase
        );
        assert_eq!(
            PrivateKey::from_pem(&pem, None).unwrap_err(),
            KeyError::PassphraseRequired
        );
        let truncated = &pem[..pem.len() / 2];
        assert!(matches!(
            PrivateKey::from_pem(truncated, Some(b"pw")).unwrap_err(),
            KeyError::NotPem(_)
        ));
    }

    #[test]
    fn public_key_given_for_signing_is_a_wrong_type() {
        let k = PrivateKey::generate(KeyAlgorithm::Ed25519).unwrap();
        let e = PrivateKey::from_pem(&k.public_key().to_pem(), None).unwrap_err();
        assert!(matches!(e, KeyError::WrongKeyType(_)));
        let pem = k.to_pem(None).unwrap();
        assert!(matches!(
            PublicKey::from_pem(&pem).unwrap_err(),
            KeyError::WrongKeyType(_)
        ));
    }

    #[test]
    fn cosign_key_import() {
        let k = PrivateKey::generate(KeyAlgorithm::EcdsaP256).unwrap();
        let pem = encrypt_cosign_for_tests(&k.pkcs8, b"cosign-pw", 10).unwrap();
        let back = PrivateKey::from_pem(&pem, Some(b"cosign-pw")).unwrap();
        assert_eq!(back.public_key(), k.public_key());
        assert_eq!(
            PrivateKey::from_pem(&pem, Some(b"bad")).unwrap_err(),
            KeyError::WrongPassphrase
        );
    }

    #[test]
    fn debug_never_shows_secrets() {
        let k = PrivateKey::generate(KeyAlgorithm::EcdsaP256).unwrap();
        let dbg = format!("{k:?}");
        assert!(dbg.contains("EcdsaP256"));
        assert!(!dbg.contains(&hex::encode(&k.pkcs8[k.pkcs8.len() - 8..])));
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]
        #[test]
        fn pem_parsers_never_panic(s in ".{0,400}") {
            let _ = PrivateKey::from_pem(&s, Some(b"x"));
            let _ = PublicKey::from_pem(&s);
        }

        #[test]
        fn damaged_pem_bodies_give_errors(body in proptest::collection::vec(any::<u8>(), 0..300),
                                          label in prop::sample::select(vec!["PRIVATE KEY", "ENCRYPTED PRIVATE KEY", "PUBLIC KEY", "EC PRIVATE KEY", "ENCRYPTED SIGSTORE PRIVATE KEY"])) {
            let pem = pem_rfc7468::encode_string(label, pem_rfc7468::LineEnding::LF, &body).unwrap();
            prop_assert!(PrivateKey::from_pem(&pem, Some(b"x")).is_err());
            prop_assert!(PublicKey::from_pem(&pem).is_err());
        }
    }
}
