//! The keyring: data keys with IDs, states and counters, and its encrypted file.
//!
//! Rules, enforced on every load and every change:
//! - every key is exactly 32 bytes from the system CSPRNG (imported material of another
//!   length is refused);
//! - key IDs are 1, 2, 3, … in creation order (like Vault transit's key versions);
//! - exactly one key is `active`, and it is the newest; only it encrypts;
//! - `decrypt-only` keys open old envelopes; `retired` keys have had their material destroyed
//!   and open nothing;
//! - keys below `min_decryption_version` open nothing (a reversible cut-over, as in Vault);
//! - each key counts its encryptions and refuses past `max_encryptions`.
//!
//! The file is `magic ‖ KEK-wrapped JSON`; see `docs/seal.md`. Key material is decoded
//! straight into protected memory and serialized from it through buffers that are zeroized.

use std::sync::atomic::{AtomicU64, Ordering};

use base64::Engine as _;
use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use super::envelope::{self, Envelope, NONCE_LEN, OVERHEAD};
use super::gcm;
use super::kek::KekSource;
use super::{DEFAULT_MAX_ENCRYPTIONS, KEY_LEN, SealError};
use crate::protected::Secret;

/// File magic: "VSEALKR" and the file-format version 1.
pub const FILE_MAGIC: &[u8; 8] = b"VSEALKR\x01";

/// The lifecycle state of a key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum KeyState {
    /// Encrypts and decrypts. Exactly one key is active.
    Active,
    /// Decrypts what it sealed before a rotation.
    DecryptOnly,
    /// Material destroyed: opens nothing.
    Retired,
}

impl KeyState {
    pub fn as_str(self) -> &'static str {
        match self {
            KeyState::Active => "active",
            KeyState::DecryptOnly => "decrypt-only",
            KeyState::Retired => "retired",
        }
    }
}

/// Public facts about a key (never its bytes).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct KeyInfo {
    pub id: u32,
    pub state: KeyState,
    pub created: Timestamp,
    pub encryptions: u64,
}

struct Key {
    id: u32,
    state: KeyState,
    created: Timestamp,
    encryptions: AtomicU64,
    material: Option<Secret>,
}

/// A set of data keys. Encryption and decryption go through [`super::Sealer`].
pub struct Keyring {
    keys: Vec<Key>,
    min_decryption_version: u32,
    max_encryptions: u64,
}

impl std::fmt::Debug for Keyring {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Keyring")
            .field("keys", &self.keys())
            .field("min_decryption_version", &self.min_decryption_version)
            .finish_non_exhaustive()
    }
}

/// Why a decrypt was denied (for the audit log only; callers see one opaque error).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Denial {
    Malformed,
    UnknownKey,
    Retired,
    BelowMin,
    AuthFailed,
}

impl Denial {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Denial::Malformed => "malformed-envelope",
            Denial::UnknownKey => "unknown-key",
            Denial::Retired => "key-retired",
            Denial::BelowMin => "below-min-decryption-version",
            Denial::AuthFailed => "authentication-failed",
        }
    }
}

impl Keyring {
    /// A new keyring with one fresh active key, ID 1, created at `now`.
    pub fn generate(now: Timestamp) -> Result<Keyring, SealError> {
        let mut k = Keyring {
            keys: Vec::new(),
            min_decryption_version: 1,
            max_encryptions: DEFAULT_MAX_ENCRYPTIONS,
        };
        k.keys.push(Key {
            id: 1,
            state: KeyState::Active,
            created: now,
            encryptions: AtomicU64::new(0),
            material: Some(Secret::random(KEY_LEN)?),
        });
        Ok(k)
    }

    /// A keyring whose first active key is `material` (exactly 32 bytes), e.g. migrated from
    /// another system.
    pub fn import(material: &[u8], now: Timestamp) -> Result<Keyring, SealError> {
        let mut k = Keyring::generate(now)?;
        k.keys[0].material = Some(checked_material(material)?);
        Ok(k)
    }

    /// Facts about every key, oldest first.
    pub fn keys(&self) -> Vec<KeyInfo> {
        self.keys
            .iter()
            .map(|k| KeyInfo {
                id: k.id,
                state: k.state,
                created: k.created,
                encryptions: k.encryptions.load(Ordering::Relaxed),
            })
            .collect()
    }

    /// The active key's ID.
    pub fn active_id(&self) -> u32 {
        self.keys
            .iter()
            .find(|k| k.state == KeyState::Active)
            .map(|k| k.id)
            .unwrap_or(0)
    }

    pub fn min_decryption_version(&self) -> u32 {
        self.min_decryption_version
    }

    pub fn max_encryptions(&self) -> u64 {
        self.max_encryptions
    }

    /// Lowers the per-key encryption limit (it can never exceed 2^31).
    pub fn set_max_encryptions(&mut self, n: u64) {
        self.max_encryptions = n.clamp(1, DEFAULT_MAX_ENCRYPTIONS);
    }

    /// Adds a fresh active key; the previous active key becomes decrypt-only. Returns the new
    /// key's ID.
    pub fn rotate(&mut self, now: Timestamp) -> Result<u32, SealError> {
        let next = self
            .keys
            .iter()
            .map(|k| k.id)
            .max()
            .unwrap_or(0)
            .checked_add(1)
            .ok_or_else(|| SealError::Keyring("key IDs exhausted".into()))?;
        let material = Secret::random(KEY_LEN)?;
        for k in &mut self.keys {
            if k.state == KeyState::Active {
                k.state = KeyState::DecryptOnly;
            }
        }
        self.keys.push(Key {
            id: next,
            state: KeyState::Active,
            created: now,
            encryptions: AtomicU64::new(0),
            material: Some(material),
        });
        Ok(next)
    }

    /// Retires key `id`: its material is destroyed, so nothing it sealed opens again.
    /// The active key cannot be retired (rotate first).
    pub fn retire(&mut self, id: u32) -> Result<(), SealError> {
        let k = self
            .keys
            .iter_mut()
            .find(|k| k.id == id)
            .ok_or_else(|| SealError::Keyring(format!("no key {id}")))?;
        if k.state == KeyState::Active {
            return Err(SealError::Keyring(format!(
                "key {id} is the active key; rotate before retiring it"
            )));
        }
        k.state = KeyState::Retired;
        k.material = None; // Secret zeroizes on drop
        Ok(())
    }

    /// Refuses to decrypt with keys below `v` (reversible; the material is kept).
    /// `v` may not exceed the active key's ID.
    pub fn set_min_decryption_version(&mut self, v: u32) -> Result<(), SealError> {
        let active = self.active_id();
        if v == 0 || v > active {
            return Err(SealError::Keyring(format!(
                "minimum decryption version must be between 1 and the active key ({active}), got {v}"
            )));
        }
        self.min_decryption_version = v;
        Ok(())
    }

    fn validate(&self) -> Result<(), SealError> {
        let active: Vec<_> = self
            .keys
            .iter()
            .filter(|k| k.state == KeyState::Active)
            .collect();
        if active.len() != 1 {
            return Err(SealError::Keyring(format!(
                "exactly one key must be active, found {}",
                active.len()
            )));
        }
        let newest = self.keys.iter().map(|k| k.id).max().unwrap_or(0);
        if active[0].id != newest {
            return Err(SealError::Keyring(format!(
                "the active key ({}) must be the newest ({newest})",
                active[0].id
            )));
        }
        for (i, k) in self.keys.iter().enumerate() {
            if self.keys[..i].iter().any(|o| o.id == k.id) || k.id == 0 {
                return Err(SealError::Keyring(format!(
                    "duplicate or zero key ID {}",
                    k.id
                )));
            }
            if (k.state == KeyState::Retired) != k.material.is_none() {
                return Err(SealError::Keyring(format!(
                    "key {}: retired keys and only they have no material",
                    k.id
                )));
            }
        }
        if self.min_decryption_version == 0 || self.min_decryption_version > active[0].id {
            return Err(SealError::Keyring(format!(
                "min_decryption_version {} is outside 1..={}",
                self.min_decryption_version, active[0].id
            )));
        }
        Ok(())
    }

    // ---- crypto (crate-private: the public door is `Sealer`, which guards and audits) ----

    /// Reserves one encryption on the active key and seals under it.
    pub(crate) fn seal(&self, plaintext: &[u8], aad: &[u8]) -> Result<(u32, Vec<u8>), SealError> {
        let key = self
            .keys
            .iter()
            .find(|k| k.state == KeyState::Active)
            .ok_or_else(|| SealError::Keyring("no active key".into()))?;
        let material = key
            .material
            .as_ref()
            .ok_or_else(|| SealError::Keyring("active key has no material".into()))?;
        // Reserve a counter slot atomically; refuse once the limit is reached.
        key.encryptions
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| {
                (n < self.max_encryptions).then_some(n + 1)
            })
            .map_err(|n| SealError::KeyExhausted {
                id: key.id,
                count: n,
            })?;
        let mut nonce = [0u8; NONCE_LEN];
        aws_lc_rs::rand::fill(&mut nonce).map_err(|_| SealError::Crypto)?;
        let header = envelope::header(key.id);
        let body = envelope::HEADER_LEN + NONCE_LEN;
        let mut out = vec![0u8; plaintext.len() + OVERHEAD];
        out[..envelope::HEADER_LEN].copy_from_slice(&header);
        out[envelope::HEADER_LEN..body].copy_from_slice(&nonce);
        let (ct, tag) = out[body..].split_at_mut(plaintext.len());
        let t = gcm::seal_into(
            material.expose(),
            nonce,
            &gcm_aad(&header, aad),
            plaintext,
            ct,
        )
        .map_err(|_| SealError::Crypto)?;
        tag.copy_from_slice(&t);
        Ok((key.id, out))
    }

    /// Opens an envelope into protected memory. The error is the reason for the audit log;
    /// callers turn every one into `SealError::Decrypt`.
    pub(crate) fn open(&self, bytes: &[u8], aad: &[u8]) -> Result<Secret, (Option<u32>, Denial)> {
        let env = Envelope::parse(bytes).map_err(|_| (None, Denial::Malformed))?;
        let id = Some(env.key_id);
        let key = self
            .keys
            .iter()
            .find(|k| k.id == env.key_id)
            .ok_or((id, Denial::UnknownKey))?;
        if key.id < self.min_decryption_version {
            return Err((id, Denial::BelowMin));
        }
        let material = match (&key.state, &key.material) {
            (KeyState::Retired, _) | (_, None) => return Err((id, Denial::Retired)),
            (_, Some(m)) => m,
        };
        // Decrypt straight into protected memory of the plaintext's length: one pass, no
        // intermediate copy. A failed open leaves garbage there, which the drop zeroizes.
        let n = env.plaintext_len();
        let mut out = Secret::zeroed(n).map_err(|_| (id, Denial::Malformed))?;
        let (ct, tag) = env.sealed.split_at(n);
        gcm::open_into(
            material.expose(),
            env.nonce,
            &gcm_aad(env.header, aad),
            ct,
            tag,
            out.expose_mut(),
        )
        .map_err(|_| (id, Denial::AuthFailed))?;
        Ok(out)
    }

    // ---- the keyring file ----

    /// Serializes and wraps the keyring under `kek`: the bytes of the keyring file.
    pub fn to_file_bytes(&self, kek: &dyn KekSource) -> Result<Vec<u8>, SealError> {
        self.validate()?;
        let mut b64 = Zeroizing::new([0u8; 44]);
        let mut rows = Vec::with_capacity(self.keys.len());
        // Encode each key into a zeroized scratch area sized up front (no reallocation).
        let mut scratch: Zeroizing<Vec<u8>> = Zeroizing::new(vec![0u8; 44 * self.keys.len()]);
        for (i, k) in self.keys.iter().enumerate() {
            if let Some(m) = &k.material {
                let n = base64::engine::general_purpose::STANDARD
                    .encode_slice(m.expose(), &mut *b64)
                    .map_err(|_| SealError::Crypto)?;
                scratch[i * 44..i * 44 + n].copy_from_slice(&b64[..n]);
            }
        }
        for (i, k) in self.keys.iter().enumerate() {
            let key = match &k.material {
                Some(_) => Some(
                    std::str::from_utf8(&scratch[i * 44..i * 44 + 44])
                        .map_err(|_| SealError::Crypto)?,
                ),
                None => None,
            };
            rows.push(KeyRow {
                id: k.id,
                state: k.state,
                created: k.created.to_string(),
                encryptions: k.encryptions.load(Ordering::SeqCst),
                key,
            });
        }
        let doc = FileDoc {
            format: 1,
            min_decryption_version: self.min_decryption_version,
            max_encryptions: self.max_encryptions,
            keys: rows,
        };
        let mut json: Zeroizing<Vec<u8>> =
            Zeroizing::new(Vec::with_capacity(512 + 256 * self.keys.len()));
        serde_json::to_writer(&mut *json, &doc).map_err(|e| SealError::Keyring(e.to_string()))?;
        let wrapped = kek.wrap(&json, FILE_MAGIC)?;
        let mut out = Vec::with_capacity(FILE_MAGIC.len() + wrapped.len());
        out.extend_from_slice(FILE_MAGIC);
        out.extend_from_slice(&wrapped);
        Ok(out)
    }

    /// Unwraps and parses keyring file bytes.
    pub fn from_file_bytes(bytes: &[u8], kek: &dyn KekSource) -> Result<Keyring, SealError> {
        let Some(wrapped) = bytes.strip_prefix(FILE_MAGIC) else {
            return Err(SealError::Keyring(
                "not a vouch seal keyring (bad magic or unsupported version)".into(),
            ));
        };
        let made_by = super::kek::wrapped_kind(wrapped);
        if made_by != kek.kind() {
            return Err(SealError::Keyring(format!(
                "this keyring is protected by {made_by}, but {} was given",
                kek.describe()
            )));
        }
        let plain = kek.unwrap(wrapped, FILE_MAGIC)?;
        Keyring::from_json(plain.expose())
    }

    fn from_json(json: &[u8]) -> Result<Keyring, SealError> {
        let doc: FileDoc<'_> = serde_json::from_slice(json)
            .map_err(|e| SealError::Keyring(format!("malformed keyring: {e}")))?;
        if doc.format != 1 {
            return Err(SealError::Keyring(format!(
                "unsupported keyring format {}",
                doc.format
            )));
        }
        let mut keys = Vec::with_capacity(doc.keys.len());
        for row in doc.keys {
            let created: Timestamp = row
                .created
                .parse()
                .map_err(|_| SealError::Keyring(format!("key {}: bad creation time", row.id)))?;
            let material = match row.key {
                Some(text) => {
                    let mut buf = Secret::zeroed(64)?;
                    let n = base64::engine::general_purpose::STANDARD
                        .decode_slice(text.as_bytes(), buf.expose_mut())
                        .map_err(|_| {
                            SealError::InvalidKey(format!("key {}: not base64", row.id))
                        })?;
                    Some(checked_material(&buf.expose()[..n]).map_err(|e| match e {
                        SealError::InvalidKey(m) => {
                            SealError::InvalidKey(format!("key {}: {m}", row.id))
                        }
                        other => other,
                    })?)
                }
                None => None,
            };
            keys.push(Key {
                id: row.id,
                state: row.state,
                created,
                encryptions: AtomicU64::new(row.encryptions),
                material,
            });
        }
        let k = Keyring {
            keys,
            min_decryption_version: doc.min_decryption_version,
            max_encryptions: doc.max_encryptions.clamp(1, DEFAULT_MAX_ENCRYPTIONS),
        };
        k.validate()?;
        Ok(k)
    }
}

fn checked_material(bytes: &[u8]) -> Result<Secret, SealError> {
    if bytes.len() != KEY_LEN {
        return Err(SealError::InvalidKey(format!(
            "a data key must be exactly {KEY_LEN} bytes, got {}",
            bytes.len()
        )));
    }
    Ok(Secret::from_slice(bytes)?)
}

/// GCM associated data: envelope header ‖ caller's associated data (the header has a fixed
/// length, so the concatenation is unambiguous).
fn gcm_aad(header: &[u8], aad: &[u8]) -> Vec<u8> {
    let mut v = Vec::with_capacity(header.len() + aad.len());
    v.extend_from_slice(header);
    v.extend_from_slice(aad);
    v
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileDoc<'a> {
    format: u32,
    min_decryption_version: u32,
    max_encryptions: u64,
    #[serde(borrow)]
    keys: Vec<KeyRow<'a>>,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct KeyRow<'a> {
    id: u32,
    state: KeyState,
    created: String,
    encryptions: u64,
    #[serde(borrow, skip_serializing_if = "Option::is_none", default)]
    key: Option<&'a str>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::seal::LocalKek;
    use proptest::prelude::*;

    fn t0() -> Timestamp {
        "2026-01-01T00:00:00Z".parse().unwrap()
    }

    #[test]
    fn file_round_trip_keeps_everything() {
        let kek = LocalKek::from_bytes(&[9u8; 32], "test").unwrap();
        let mut k = Keyring::generate(t0()).unwrap();
        let (_, env1) = k.seal(b"one", b"").unwrap();
        k.rotate(t0()).unwrap();
        k.rotate(t0()).unwrap();
        k.retire(1).unwrap();
        k.set_min_decryption_version(2).unwrap();
        let bytes = k.to_file_bytes(&kek).unwrap();
        let back = Keyring::from_file_bytes(&bytes, &kek).unwrap();
        assert_eq!(back.keys(), k.keys());
        assert_eq!(back.min_decryption_version(), 2);
        assert_eq!(back.active_id(), 3);
        assert_eq!(back.keys()[0].encryptions, 1);
        assert!(back.open(&env1, b"").is_err());
        // The file is not plaintext.
        let s = String::from_utf8_lossy(&bytes);
        assert!(!s.contains("active") && !s.contains("min_decryption"));
    }

    #[test]
    fn wrong_kek_and_tampered_file() {
        let kek = LocalKek::from_bytes(&[9u8; 32], "test").unwrap();
        let bytes = Keyring::generate(t0())
            .unwrap()
            .to_file_bytes(&kek)
            .unwrap();
        let other = LocalKek::from_bytes(&[8u8; 32], "test").unwrap();
        assert!(matches!(
            Keyring::from_file_bytes(&bytes, &other),
            Err(SealError::KeyringAuth)
        ));
        for i in 0..bytes.len() {
            let mut t = bytes.clone();
            t[i] ^= 1;
            assert!(Keyring::from_file_bytes(&t, &kek).is_err(), "byte {i}");
        }
    }

    #[test]
    fn thirty_two_bytes_exactly() {
        for n in [0, 16, 31, 33, 64] {
            let e = Keyring::import(&vec![1u8; n], t0()).unwrap_err();
            assert!(
                e.to_string()
                    .contains(&format!("exactly 32 bytes, got {n}")),
                "{e}"
            );
        }
        assert!(Keyring::import(&[1u8; 32], t0()).is_ok());
        // A keyring file whose key is 31 bytes is refused on load.
        let short = base64::engine::general_purpose::STANDARD.encode([1u8; 31]);
        let json = format!(
            r#"{{"format":1,"min_decryption_version":1,"max_encryptions":10,"keys":[{{"id":1,"state":"active","created":"2026-01-01T00:00:00Z","encryptions":0,"key":"{short}"}}]}}"#
        );
        let e = Keyring::from_json(json.as_bytes()).unwrap_err();
        assert!(
            e.to_string()
                .contains("key 1: a data key must be exactly 32 bytes, got 31"),
            "{e}"
        );
    }

    #[test]
    fn invariants_on_load() {
        let key = base64::engine::general_purpose::STANDARD.encode([1u8; 32]);
        let row = |id: u32, state: &str| {
            format!(
                r#"{{"id":{id},"state":"{state}","created":"2026-01-01T00:00:00Z","encryptions":0,"key":"{key}"}}"#
            )
        };
        let doc = |rows: Vec<String>| {
            format!(
                r#"{{"format":1,"min_decryption_version":1,"max_encryptions":10,"keys":[{}]}}"#,
                rows.join(",")
            )
        };
        let two_active = doc(vec![row(1, "active"), row(2, "active")]);
        assert!(
            Keyring::from_json(two_active.as_bytes())
                .unwrap_err()
                .to_string()
                .contains("exactly one key must be active")
        );
        let none = doc(vec![row(1, "decrypt-only")]);
        assert!(Keyring::from_json(none.as_bytes()).is_err());
        let old_active = doc(vec![row(1, "active"), row(2, "decrypt-only")]);
        assert!(Keyring::from_json(old_active.as_bytes()).is_err());
        let dup = doc(vec![row(1, "decrypt-only"), row(1, "active")]);
        assert!(Keyring::from_json(dup.as_bytes()).is_err());
        let ok = doc(vec![row(1, "decrypt-only"), row(2, "active")]);
        assert!(Keyring::from_json(ok.as_bytes()).is_ok());
    }

    #[test]
    fn rotate_retire_min_version_rules() {
        let mut k = Keyring::generate(t0()).unwrap();
        assert!(k.retire(1).is_err(), "active key cannot be retired");
        assert_eq!(k.rotate(t0()).unwrap(), 2);
        assert_eq!(k.keys()[0].state, KeyState::DecryptOnly);
        assert!(k.set_min_decryption_version(3).is_err());
        assert!(k.set_min_decryption_version(0).is_err());
        k.set_min_decryption_version(2).unwrap();
        k.set_min_decryption_version(1).unwrap(); // reversible
        assert!(k.retire(7).is_err());
    }

    #[test]
    fn counter_forces_rotation() {
        let mut k = Keyring::generate(t0()).unwrap();
        k.set_max_encryptions(3);
        for _ in 0..3 {
            k.seal(b"x", b"").unwrap();
        }
        assert!(matches!(
            k.seal(b"x", b""),
            Err(SealError::KeyExhausted { id: 1, count: 3 })
        ));
        k.rotate(t0()).unwrap();
        assert_eq!(k.seal(b"x", b"").unwrap().0, 2);
        // The cap can never be raised past 2^31.
        k.set_max_encryptions(u64::MAX);
        assert_eq!(k.max_encryptions(), 1 << 31);
    }

    proptest! {
        #[test]
        fn malformed_keyring_json_is_an_error(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
            let _ = Keyring::from_json(&bytes);
        }

        #[test]
        fn malformed_keyring_file_is_an_error(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
            let kek = LocalKek::from_bytes(&[9u8; 32], "test").unwrap();
            let mut b = FILE_MAGIC.to_vec();
            b.extend_from_slice(&bytes);
            prop_assert!(Keyring::from_file_bytes(&b, &kek).is_err());
            prop_assert!(Keyring::from_file_bytes(&bytes, &kek).is_err());
        }
    }
}
