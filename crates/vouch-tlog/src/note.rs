//! C2SP `signed-note`: notes, Ed25519 note keys, `vkey` strings and key IDs, plus the
//! ECDSA P-256 keys Rekor signs checkpoints with and the timestamped Ed25519 cosignatures of
//! C2SP `tlog-cosignature` (signature type 0x04).
//!
//! Parsing follows golang.org/x/mod/sumdb/note: text is UTF-8 without control characters
//! other than newline and ends with a newline; a blank line separates it from 1–100
//! signature lines `— <name> base64(keyID || signature)`.

use aws_lc_rs::rand::SecureRandom as _;
use aws_lc_rs::signature::{self, Ed25519KeyPair, KeyPair as _, UnparsedPublicKey};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use sha2::{Digest as _, Sha256};
use zeroize::Zeroizing;

/// Signature algorithm bytes of C2SP signed-note.
pub const ALG_ED25519: u8 = 0x01;
pub const ALG_ECDSA: u8 = 0x02;
pub const ALG_COSIGNATURE_V1: u8 = 0x04;

const MAX_SIGS: usize = 100;
const SIG_PREFIX: &str = "\u{2014} ";

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NoteError {
    #[error("malformed note: {0}")]
    Malformed(String),
    #[error("malformed verifier key: {0}")]
    BadKey(String),
    #[error("malformed signer key")]
    BadSignerKey,
    #[error("ambiguous key {0}: listed twice")]
    AmbiguousKey(String),
    #[error("invalid signature for key {0}")]
    InvalidSignature(String),
    #[error("note has no verifiable signatures")]
    NoVerifiableSignatures,
    #[error("signing failed: {0}")]
    Signing(String),
}

fn malformed(why: impl Into<String>) -> NoteError {
    NoteError::Malformed(why.into())
}

/// A key name: non-empty, no whitespace, no `+`.
pub fn valid_name(name: &str) -> bool {
    !name.is_empty() && !name.contains(|c: char| c.is_whitespace() || c == '+')
}

/// The 4-byte key ID of an Ed25519-style key: SHA-256(name || "\n" || alg || key)[:4].
pub fn key_id(name: &str, alg: u8, key: &[u8]) -> u32 {
    let mut h = Sha256::new();
    h.update(name.as_bytes());
    h.update(b"\n");
    h.update([alg]);
    h.update(key);
    let d = h.finalize();
    u32::from_be_bytes([d[0], d[1], d[2], d[3]])
}

/// The message a `cosignature/v1` signs.
pub fn cosignature_message(timestamp: u64, checkpoint_text: &str) -> Vec<u8> {
    format!("cosignature/v1\ntime {timestamp}\n{checkpoint_text}").into_bytes()
}

#[derive(Clone, PartialEq, Eq)]
enum VerifierKind {
    Ed25519([u8; 32]),
    /// Uncompressed P-256 point taken from the SPKI.
    EcdsaP256(Vec<u8>),
    Cosignature([u8; 32]),
}

/// A public note key, parsed from a `vkey` string `name+hexid+base64(alg||key)`.
#[derive(Clone, PartialEq, Eq)]
pub struct Verifier {
    name: String,
    id: u32,
    kind: VerifierKind,
    vkey: String,
}

impl std::fmt::Debug for Verifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Verifier({})", self.vkey)
    }
}

const P256_SPKI_PREFIX: [u8; 26] = [
    0x30, 0x59, 0x30, 0x13, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01, 0x06, 0x08, 0x2a,
    0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07, 0x03, 0x42, 0x00,
];

impl Verifier {
    /// Parses a `vkey` string.
    pub fn parse(vkey: &str) -> Result<Self, NoteError> {
        let vkey = vkey.trim();
        let bad = |why: &str| NoteError::BadKey(why.to_string());
        let mut parts = vkey.splitn(3, '+');
        let (Some(name), Some(hexid), Some(b64)) = (parts.next(), parts.next(), parts.next())
        else {
            return Err(bad("want name+keyid+base64key"));
        };
        if !valid_name(name) {
            return Err(bad("invalid key name"));
        }
        if hexid.len() != 8 || !hexid.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(bad("key ID is not 8 hex digits"));
        }
        let id = u32::from_str_radix(hexid, 16).map_err(|_| bad("key ID is not hex"))?;
        let raw = B64.decode(b64).map_err(|_| bad("key is not base64"))?;
        let Some((&alg, key)) = raw.split_first() else {
            return Err(bad("empty key"));
        };
        let (kind, want_id) = match alg {
            ALG_ED25519 | ALG_COSIGNATURE_V1 => {
                let k: [u8; 32] = key
                    .try_into()
                    .map_err(|_| bad("Ed25519 key is not 32 bytes"))?;
                let kind = if alg == ALG_ED25519 {
                    VerifierKind::Ed25519(k)
                } else {
                    VerifierKind::Cosignature(k)
                };
                (kind, key_id(name, alg, key))
            }
            ALG_ECDSA => {
                if key.len() != 91 || key[..26] != P256_SPKI_PREFIX {
                    return Err(bad("ECDSA key is not a P-256 SubjectPublicKeyInfo"));
                }
                let d = Sha256::digest(key);
                (
                    VerifierKind::EcdsaP256(key[26..].to_vec()),
                    u32::from_be_bytes([d[0], d[1], d[2], d[3]]),
                )
            }
            other => {
                return Err(NoteError::BadKey(format!(
                    "unknown key algorithm 0x{other:02x}"
                )));
            }
        };
        if want_id != id {
            return Err(bad("key ID does not match the key"));
        }
        Ok(Verifier {
            name: name.to_string(),
            id,
            kind,
            vkey: vkey.to_string(),
        })
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn key_id(&self) -> u32 {
        self.id
    }

    /// The `vkey` string.
    pub fn vkey(&self) -> &str {
        &self.vkey
    }

    /// The raw public key of an Ed25519 log key (type 0x01).
    pub fn ed25519_public_key(&self) -> Option<[u8; 32]> {
        match &self.kind {
            VerifierKind::Ed25519(k) => Some(*k),
            _ => None,
        }
    }

    /// Whether this key makes `cosignature/v1` signatures.
    pub fn is_cosigner(&self) -> bool {
        matches!(self.kind, VerifierKind::Cosignature(_))
    }

    /// Verifies `sig` (without the key ID) over the note `text`. For cosigners returns the
    /// signed timestamp.
    pub fn verify(&self, text: &str, sig: &[u8]) -> Option<u64> {
        match &self.kind {
            VerifierKind::Ed25519(k) => UnparsedPublicKey::new(&signature::ED25519, k)
                .verify(text.as_bytes(), sig)
                .ok()
                .map(|_| 0),
            VerifierKind::EcdsaP256(point) => {
                UnparsedPublicKey::new(&signature::ECDSA_P256_SHA256_ASN1, point)
                    .verify(text.as_bytes(), sig)
                    .ok()
                    .map(|_| 0)
            }
            VerifierKind::Cosignature(k) => {
                if sig.len() != 8 + 64 {
                    return None;
                }
                let ts = u64::from_be_bytes(sig[..8].try_into().ok()?);
                UnparsedPublicKey::new(&signature::ED25519, k)
                    .verify(&cosignature_message(ts, text), &sig[8..])
                    .ok()
                    .map(|_| ts)
            }
        }
    }
}

/// An Ed25519 note signing key (`PRIVATE+KEY+name+hexid+base64(0x01||seed)`), or a
/// cosigning key (algorithm 0x04) for witnesses.
pub struct Signer {
    name: String,
    alg: u8,
    seed: Zeroizing<[u8; 32]>,
    pair: Ed25519KeyPair,
}

impl std::fmt::Debug for Signer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Signer({}, <secret>)", self.name)
    }
}

impl Signer {
    /// A fresh random key. `alg` is [`ALG_ED25519`] for logs, [`ALG_COSIGNATURE_V1`] for
    /// witnesses.
    pub fn generate(name: &str, alg: u8) -> Result<Self, NoteError> {
        if !valid_name(name) {
            return Err(NoteError::BadKey(format!("invalid key name `{name}`")));
        }
        let mut seed = Zeroizing::new([0u8; 32]);
        aws_lc_rs::rand::SystemRandom::new()
            .fill(seed.as_mut())
            .map_err(|_| NoteError::Signing("no randomness".into()))?;
        Self::from_seed(name, alg, seed)
    }

    pub(crate) fn from_seed(
        name: &str,
        alg: u8,
        seed: Zeroizing<[u8; 32]>,
    ) -> Result<Self, NoteError> {
        let pair = Ed25519KeyPair::from_seed_unchecked(seed.as_ref())
            .map_err(|_| NoteError::BadSignerKey)?;
        Ok(Signer {
            name: name.to_string(),
            alg,
            seed,
            pair,
        })
    }

    /// Parses `PRIVATE+KEY+name+hexid+base64(alg||seed)`.
    pub fn parse(skey: &str) -> Result<Self, NoteError> {
        let rest = skey
            .trim()
            .strip_prefix("PRIVATE+KEY+")
            .ok_or(NoteError::BadSignerKey)?;
        let mut parts = rest.splitn(3, '+');
        let (Some(name), Some(hexid), Some(b64)) = (parts.next(), parts.next(), parts.next())
        else {
            return Err(NoteError::BadSignerKey);
        };
        let raw = Zeroizing::new(B64.decode(b64).map_err(|_| NoteError::BadSignerKey)?);
        if raw.len() != 33 || !valid_name(name) {
            return Err(NoteError::BadSignerKey);
        }
        let alg = raw[0];
        if alg != ALG_ED25519 && alg != ALG_COSIGNATURE_V1 {
            return Err(NoteError::BadSignerKey);
        }
        let mut seed = Zeroizing::new([0u8; 32]);
        seed.copy_from_slice(&raw[1..]);
        let s = Self::from_seed(name, alg, seed)?;
        if format!("{:08x}", s.key_id()) != hexid {
            return Err(NoteError::BadSignerKey);
        }
        Ok(s)
    }

    /// The signature type: [`ALG_ED25519`] or [`ALG_COSIGNATURE_V1`].
    pub(crate) fn alg(&self) -> u8 {
        self.alg
    }

    /// The Ed25519 seed (a secret), for the encrypted key file.
    pub(crate) fn seed(&self) -> &[u8; 32] {
        &self.seed
    }

    /// The private key string (a secret: write it to a 0600 file, never log it).
    pub fn to_private_string(&self) -> Zeroizing<String> {
        let mut raw = Zeroizing::new(Vec::with_capacity(33));
        raw.push(self.alg);
        raw.extend_from_slice(self.seed.as_ref());
        Zeroizing::new(format!(
            "PRIVATE+KEY+{}+{:08x}+{}",
            self.name,
            self.key_id(),
            B64.encode(raw.as_slice())
        ))
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    fn public(&self) -> &[u8] {
        self.pair.public_key().as_ref()
    }

    pub fn key_id(&self) -> u32 {
        key_id(&self.name, self.alg, self.public())
    }

    /// The public `vkey` string.
    pub fn vkey(&self) -> String {
        let mut raw = vec![self.alg];
        raw.extend_from_slice(self.public());
        format!("{}+{:08x}+{}", self.name, self.key_id(), B64.encode(raw))
    }

    pub fn verifier(&self) -> Verifier {
        // The vkey we just produced always parses.
        match Verifier::parse(&self.vkey()) {
            Ok(v) => v,
            Err(_) => unreachable!("own vkey parses"),
        }
    }

    /// A signature line (without the newline) over `text`; for a cosigning key `timestamp`
    /// is the signed time in seconds since the epoch.
    pub fn sign_line(&self, text: &str, timestamp: u64) -> String {
        let mut raw = self.key_id().to_be_bytes().to_vec();
        if self.alg == ALG_COSIGNATURE_V1 {
            raw.extend_from_slice(&timestamp.to_be_bytes());
            raw.extend_from_slice(
                self.pair
                    .sign(&cosignature_message(timestamp, text))
                    .as_ref(),
            );
        } else {
            raw.extend_from_slice(self.pair.sign(text.as_bytes()).as_ref());
        }
        format!("{SIG_PREFIX}{} {}", self.name, B64.encode(raw))
    }

    /// Signs a note text: text, blank line, one signature line.
    pub fn sign(&self, text: &str) -> Result<String, NoteError> {
        check_text(text)?;
        Ok(format!("{text}\n{}\n", self.sign_line(text, 0)))
    }

    /// Signs a checkpoint for Sigstore clients too: the C2SP signature line, then the same
    /// signature under the key hint Sigstore clients look for, the first 4 bytes of the log
    /// ID (SHA-256 of the key's SubjectPublicKeyInfo) — sigstore-python finds a Rekor v2
    /// checkpoint signature only by that hint. Verifiers ignore the line whose hint is not
    /// theirs, so the note verifies for both. Ed25519 keys only (a cosigning key signs
    /// differently): others get the C2SP line alone.
    pub fn sign_checkpoint(&self, text: &str) -> Result<String, NoteError> {
        check_text(text)?;
        let c2sp = self.sign_line(text, 0);
        if self.alg != ALG_ED25519 {
            return Ok(format!("{text}\n{c2sp}\n"));
        }
        let Ok(public) = <[u8; 32]>::try_from(self.public()) else {
            return Ok(format!("{text}\n{c2sp}\n"));
        };
        let log_id = crate::rekor::ed25519_log_id(&public);
        let mut raw = log_id[..4].to_vec();
        raw.extend_from_slice(self.pair.sign(text.as_bytes()).as_ref());
        let sigstore = format!("{SIG_PREFIX}{} {}", self.name, B64.encode(raw));
        Ok(format!("{text}\n{c2sp}\n{sigstore}\n"))
    }
}

/// One signature line of a note.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NoteSig {
    pub name: String,
    pub key_id: u32,
    /// The signature bytes after the key ID.
    pub sig: Vec<u8>,
    /// The whole line, without the newline.
    pub line: String,
}

/// A parsed (not yet verified) signed note.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Note {
    pub text: String,
    pub sigs: Vec<NoteSig>,
}

fn check_text(text: &str) -> Result<(), NoteError> {
    if !text.ends_with('\n') {
        return Err(malformed("text does not end in a newline"));
    }
    if text
        .chars()
        .any(|c| (c < ' ' && c != '\n') || c == '\u{fffd}')
    {
        return Err(malformed("text holds a control character"));
    }
    Ok(())
}

impl Note {
    /// Parses the bytes of a signed note.
    pub fn parse(bytes: &[u8]) -> Result<Note, NoteError> {
        let msg = std::str::from_utf8(bytes).map_err(|_| malformed("not UTF-8"))?;
        if msg
            .chars()
            .any(|c| (c < ' ' && c != '\n') || c == '\u{fffd}')
        {
            return Err(malformed("control character"));
        }
        let split = msg
            .rfind("\n\n")
            .ok_or_else(|| malformed("no blank line before the signatures"))?;
        let text = &msg[..split + 1];
        let sigblock = &msg[split + 2..];
        if sigblock.is_empty() {
            return Err(malformed("no signatures"));
        }
        if !sigblock.ends_with('\n') {
            return Err(malformed("signature block does not end in a newline"));
        }
        let mut sigs = Vec::new();
        for line in sigblock[..sigblock.len() - 1].split('\n') {
            let rest = line
                .strip_prefix(SIG_PREFIX)
                .ok_or_else(|| malformed("line in the signature block is not a signature"))?;
            let (name, b64) = rest
                .split_once(' ')
                .ok_or_else(|| malformed("signature line without a name"))?;
            if !valid_name(name) {
                return Err(malformed("invalid signer name"));
            }
            let raw = B64
                .decode(b64)
                .map_err(|_| malformed("signature is not base64"))?;
            if raw.len() < 5 {
                return Err(malformed("signature too short"));
            }
            sigs.push(NoteSig {
                name: name.to_string(),
                key_id: u32::from_be_bytes([raw[0], raw[1], raw[2], raw[3]]),
                sig: raw[4..].to_vec(),
                line: line.to_string(),
            });
            if sigs.len() > MAX_SIGS {
                return Err(malformed("more than 100 signatures"));
            }
        }
        Ok(Note {
            text: text.to_string(),
            sigs,
        })
    }

    /// Verifies the note against known keys (Go `note.Open` semantics): every signature by
    /// a known key must verify, unknown keys are set aside, and at least one must verify.
    pub fn open(&self, known: &[Verifier]) -> Result<Opened, NoteError> {
        let mut verified: Vec<VerifiedSig> = Vec::new();
        let mut unverified = Vec::new();
        for s in &self.sigs {
            let matches: Vec<&Verifier> = known
                .iter()
                .filter(|v| v.name == s.name && v.id == s.key_id)
                .collect();
            if matches.is_empty() {
                unverified.push(s.clone());
                continue;
            }
            if matches.len() > 1 {
                return Err(NoteError::AmbiguousKey(format!(
                    "{}+{:08x}",
                    s.name, s.key_id
                )));
            }
            if verified
                .iter()
                .any(|v| v.verifier.name == s.name && v.verifier.id == s.key_id)
            {
                continue;
            }
            let v = matches[0];
            match v.verify(&self.text, &s.sig) {
                Some(timestamp) => verified.push(VerifiedSig {
                    verifier: v.clone(),
                    timestamp,
                }),
                None => {
                    return Err(NoteError::InvalidSignature(format!(
                        "{}+{:08x}",
                        s.name, s.key_id
                    )));
                }
            }
        }
        if verified.is_empty() {
            return Err(NoteError::NoVerifiableSignatures);
        }
        Ok(Opened {
            text: self.text.clone(),
            verified,
            unverified,
        })
    }

    /// The note as bytes.
    pub fn to_text(&self) -> String {
        let mut s = self.text.clone();
        s.push('\n');
        for sig in &self.sigs {
            s.push_str(&sig.line);
            s.push('\n');
        }
        s
    }
}

/// A signature that verified.
#[derive(Debug, Clone)]
pub struct VerifiedSig {
    pub verifier: Verifier,
    /// For cosignatures, the signed time; else 0.
    pub timestamp: u64,
}

/// A note whose signatures were checked.
#[derive(Debug, Clone)]
pub struct Opened {
    pub text: String,
    pub verified: Vec<VerifiedSig>,
    pub unverified: Vec<NoteSig>,
}

#[cfg(test)]
mod tests;
