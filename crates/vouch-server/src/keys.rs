//! The service's signing keys: per tenant, from `serve.toml` (files or `pkcs11:` URIs) and
//! from rotation (keys the service generates under `DATA_DIR/keys/TENANT/`), with a status
//! each — active, retired (verifies old signatures, signs nothing new) or revoked.
//!
//! The status lives in `DATA_DIR/keys/state.json`, written atomically and re-read when it
//! changes, so that every replica sharing the data directory sees a rotation or revocation
//! before its next signature. A revoked key never signs; a tenant with no active key gets
//! `no_signing_key`, never another tenant's key. Private keys never leave this module: only
//! key ids, algorithms and public keys are listed.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use serde::{Deserialize, Serialize};
use vouch_crypto::keys::{KeyAlgorithm, PrivateKey, PublicKey};
use vouch_crypto::signer::{KeyRef, SecretInputs, Signer, load_signer};
use zeroize::Zeroizing;

use crate::config::TenantConfig;
use crate::error::{ApiError, Code};

/// What a key is used for: bundles (DSSE and blob signatures: ECDSA, which can sign a digest
/// the client sent) or export manifests (Ed25519, whose signatures are deterministic, so an
/// identical manifest gets an identical signature).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    Sign,
    Export,
}

impl Purpose {
    pub fn of(algorithm: KeyAlgorithm) -> Purpose {
        if algorithm == KeyAlgorithm::Ed25519 {
            Purpose::Export
        } else {
            Purpose::Sign
        }
    }
}

/// A key's status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum KeyStatus {
    Active,
    Retired,
    Revoked,
}

/// One key as listed (no secret material).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyInfo {
    pub tenant: String,
    /// SHA-256 of the SubjectPublicKeyInfo, hex (the bundle's key hint).
    pub key_id: String,
    pub algorithm: String,
    pub status: KeyStatus,
    /// `config` (serve.toml) or `generated` (rotation).
    pub origin: String,
    /// Unix seconds of the last status change (0 for configured keys never changed).
    pub changed: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    pub public_key_pem: String,
}

#[derive(Debug, Default, Clone, Serialize, Deserialize)]
struct State {
    /// key id → status record.
    #[serde(default)]
    keys: BTreeMap<String, StateEntry>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct StateEntry {
    tenant: String,
    status: KeyStatus,
    changed: u64,
    #[serde(default)]
    reason: Option<String>,
    /// For generated keys: the file, relative to the keys directory.
    #[serde(default)]
    file: Option<String>,
    /// Order of creation: the newest active key signs.
    #[serde(default)]
    serial: u64,
}

struct Loaded {
    tenant: String,
    signer: Arc<dyn Signer>,
    origin: &'static str,
    serial: u64,
}

/// The key ring.
pub struct KeyRing {
    dir: PathBuf,
    tenants: BTreeMap<String, TenantConfig>,
    inner: Mutex<Inner>,
}

struct Inner {
    state: State,
    state_mtime: Option<SystemTime>,
    loaded: HashMap<String, Loaded>,
}

impl std::fmt::Debug for KeyRing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyRing")
            .field("dir", &self.dir)
            .finish_non_exhaustive()
    }
}

fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

fn internal(what: &str, e: impl std::fmt::Display) -> ApiError {
    ApiError::internal(format!("{what}: {e}"))
}

fn secrets_for(t: &TenantConfig) -> SecretInputs {
    let var = |v: &Option<String>| {
        v.as_deref()
            .and_then(|n| std::env::var(n).ok())
            .map(Zeroizing::new)
    };
    SecretInputs {
        passphrase: var(&t.passphrase_env),
        pkcs11_pin: var(&t.pkcs11_pin_env),
        pkcs11_module: None,
    }
}

impl KeyRing {
    /// Opens the ring: loads every configured key (a key that cannot be loaded is an error
    /// now, not at the first request) and every generated key in the state file.
    pub fn open(
        data_dir: &Path,
        tenants: &BTreeMap<String, TenantConfig>,
    ) -> Result<KeyRing, ApiError> {
        let dir = data_dir.join("keys");
        std::fs::create_dir_all(&dir)
            .map_err(|e| internal("cannot create the keys directory", e))?;
        let ring = KeyRing {
            dir,
            tenants: tenants.clone(),
            inner: Mutex::new(Inner {
                state: State::default(),
                state_mtime: None,
                loaded: HashMap::new(),
            }),
        };
        {
            let mut inner = ring.lock()?;
            for (tenant, t) in tenants {
                let secrets = secrets_for(t);
                for r in &t.keys {
                    let keyref = KeyRef::parse(r)
                        .map_err(|e| ApiError::internal(format!("tenant `{tenant}`: {e}")))?;
                    let signer: Arc<dyn Signer> = Arc::from(
                        load_signer(&keyref, &secrets)
                            .map_err(|e| ApiError::internal(format!("tenant `{tenant}`: {e}")))?,
                    );
                    inner.loaded.insert(
                        signer.public_key().key_id(),
                        Loaded {
                            tenant: tenant.clone(),
                            signer,
                            origin: "config",
                            serial: 0,
                        },
                    );
                }
            }
            ring.refresh(&mut inner)?;
        }
        Ok(ring)
    }

    fn lock(&self) -> Result<std::sync::MutexGuard<'_, Inner>, ApiError> {
        self.inner
            .lock()
            .map_err(|_| ApiError::internal("the key ring lock is poisoned"))
    }

    fn state_path(&self) -> PathBuf {
        self.dir.join("state.json")
    }

    /// Re-reads the state file when it changed (another replica rotated or revoked).
    fn refresh(&self, inner: &mut Inner) -> Result<(), ApiError> {
        let path = self.state_path();
        let mtime = std::fs::metadata(&path).and_then(|m| m.modified()).ok();
        if mtime.is_some() && mtime == inner.state_mtime {
            return Ok(());
        }
        let state: State = match std::fs::read(&path) {
            Ok(bytes) => serde_json::from_slice(&bytes)
                .map_err(|e| internal("the key state file is not valid", e))?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => State::default(),
            Err(e) => return Err(internal("cannot read the key state file", e)),
        };
        for (id, entry) in &state.keys {
            if inner.loaded.contains_key(id) {
                continue;
            }
            let Some(file) = &entry.file else { continue };
            let t = self.tenants.get(&entry.tenant).cloned().unwrap_or_default();
            let pem = std::fs::read_to_string(self.dir.join(file))
                .map(Zeroizing::new)
                .map_err(|e| internal("cannot read a generated key", e))?;
            let secrets = secrets_for(&t);
            let key = PrivateKey::from_pem(&pem, secrets.passphrase.as_ref().map(|p| p.as_bytes()))
                .map_err(|e| internal("cannot load a generated key", e))?;
            inner.loaded.insert(
                id.clone(),
                Loaded {
                    tenant: entry.tenant.clone(),
                    signer: Arc::new(key),
                    origin: "generated",
                    serial: entry.serial,
                },
            );
        }
        inner.state = state;
        inner.state_mtime = mtime;
        Ok(())
    }

    fn status(inner: &Inner, id: &str) -> KeyStatus {
        inner
            .state
            .keys
            .get(id)
            .map(|e| e.status)
            .unwrap_or(KeyStatus::Active)
    }

    /// The key that signs for `tenant` now: its newest active key for `purpose`.
    pub fn signer_for(&self, tenant: &str, purpose: Purpose) -> Result<Arc<dyn Signer>, ApiError> {
        let mut inner = self.lock()?;
        self.refresh(&mut inner)?;
        inner
            .loaded
            .iter()
            .filter(|(id, l)| {
                l.tenant == tenant
                    && Purpose::of(l.signer.algorithm()) == purpose
                    && Self::status(&inner, id) == KeyStatus::Active
            })
            .max_by_key(|(id, l)| (l.serial, (*id).clone()))
            .map(|(_, l)| l.signer.clone())
            .ok_or_else(|| {
                ApiError::new(
                    Code::NoSigningKey,
                    format!(
                        "tenant `{tenant}` has no active {} key",
                        match purpose {
                            Purpose::Sign => "signing (ECDSA)",
                            Purpose::Export => "export (Ed25519)",
                        }
                    ),
                )
            })
    }

    /// Every key, for `keys list` and the trust material.
    pub fn list(&self) -> Result<Vec<KeyInfo>, ApiError> {
        let mut inner = self.lock()?;
        self.refresh(&mut inner)?;
        let mut out: Vec<KeyInfo> = inner
            .loaded
            .iter()
            .map(|(id, l)| {
                let e = inner.state.keys.get(id);
                KeyInfo {
                    tenant: l.tenant.clone(),
                    key_id: id.clone(),
                    algorithm: l.signer.algorithm().to_string(),
                    status: Self::status(&inner, id),
                    origin: l.origin.to_string(),
                    changed: e.map(|e| e.changed).unwrap_or(0),
                    reason: e.and_then(|e| e.reason.clone()),
                    public_key_pem: l.signer.public_key().to_pem(),
                }
            })
            .collect();
        out.sort_by(|a, b| (&a.tenant, &a.key_id).cmp(&(&b.tenant, &b.key_id)));
        Ok(out)
    }

    /// Public keys of every key that ever signed for `tenant` and is not revoked.
    pub fn verification_keys(&self, tenant: &str) -> Result<Vec<PublicKey>, ApiError> {
        Ok(self
            .list()?
            .into_iter()
            .filter(|k| k.tenant == tenant && k.status != KeyStatus::Revoked)
            .filter_map(|k| PublicKey::from_pem(&k.public_key_pem).ok())
            .collect())
    }

    fn save(&self, inner: &mut Inner) -> Result<(), ApiError> {
        let bytes = serde_json::to_vec_pretty(&inner.state)
            .map_err(|e| internal("cannot encode the key state", e))?;
        let tmp = self.dir.join(format!(".state.{}.tmp", std::process::id()));
        std::fs::write(&tmp, &bytes).map_err(|e| internal("cannot write the key state", e))?;
        std::fs::rename(&tmp, self.state_path())
            .map_err(|e| internal("cannot write the key state", e))?;
        inner.state_mtime = std::fs::metadata(self.state_path())
            .and_then(|m| m.modified())
            .ok();
        Ok(())
    }

    /// Generates a new key for `tenant`, makes it the active one and retires the others of
    /// the same purpose.
    pub fn rotate(&self, tenant: &str, algorithm: KeyAlgorithm) -> Result<KeyInfo, ApiError> {
        let mut inner = self.lock()?;
        self.refresh(&mut inner)?;
        let key = PrivateKey::generate(algorithm).map_err(|e| internal("key generation", e))?;
        let id = key.public_key().key_id();
        let t = self.tenants.get(tenant).cloned();
        let pass = t
            .as_ref()
            .and_then(|t| t.passphrase_env.as_deref())
            .and_then(|v| std::env::var(v).ok())
            .map(Zeroizing::new);
        let pem = key
            .to_pem(pass.as_ref().map(|p| p.as_bytes()))
            .map_err(|e| internal("key encoding", e))?;
        let rel = format!("{}/{}.pem", sanitize(tenant), &id[..16.min(id.len())]);
        let path = self.dir.join(&rel);
        if let Some(p) = path.parent() {
            std::fs::create_dir_all(p)
                .map_err(|e| internal("cannot create the key directory", e))?;
        }
        write_private(&path, pem.as_bytes(), false)
            .map_err(|e| internal("cannot write the key", e))?;
        let now = now_secs();
        let serial = inner
            .state
            .keys
            .values()
            .map(|e| e.serial)
            .max()
            .unwrap_or(0)
            + 1;
        let ids: Vec<String> = inner
            .loaded
            .iter()
            .filter(|(_, l)| {
                l.tenant == tenant && Purpose::of(l.signer.algorithm()) == Purpose::of(algorithm)
            })
            .map(|(id, _)| id.clone())
            .collect();
        for other in ids {
            if Self::status(&inner, &other) == KeyStatus::Active {
                let origin_file = inner.state.keys.get(&other).and_then(|e| e.file.clone());
                let old_serial = inner.state.keys.get(&other).map(|e| e.serial).unwrap_or(0);
                inner.state.keys.insert(
                    other,
                    StateEntry {
                        tenant: tenant.to_string(),
                        status: KeyStatus::Retired,
                        changed: now,
                        reason: Some("rotated".into()),
                        file: origin_file,
                        serial: old_serial,
                    },
                );
            }
        }
        inner.state.keys.insert(
            id.clone(),
            StateEntry {
                tenant: tenant.to_string(),
                status: KeyStatus::Active,
                changed: now,
                reason: None,
                file: Some(rel),
                serial,
            },
        );
        inner.loaded.insert(
            id.clone(),
            Loaded {
                tenant: tenant.to_string(),
                signer: Arc::new(key),
                origin: "generated",
                serial,
            },
        );
        self.save(&mut inner)?;
        drop(inner);
        self.list()?
            .into_iter()
            .find(|k| k.key_id == id)
            .ok_or_else(|| ApiError::internal("the rotated key vanished"))
    }

    /// Revokes a key: it never signs again (and is no longer offered for verification).
    pub fn revoke(&self, key_id: &str, reason: &str) -> Result<KeyInfo, ApiError> {
        let mut inner = self.lock()?;
        self.refresh(&mut inner)?;
        let Some(l) = inner.loaded.get(key_id) else {
            return Err(ApiError::new(Code::NotFound, format!("no key `{key_id}`")));
        };
        let tenant = l.tenant.clone();
        let prev = inner.state.keys.get(key_id).cloned();
        inner.state.keys.insert(
            key_id.to_string(),
            StateEntry {
                tenant,
                status: KeyStatus::Revoked,
                changed: now_secs(),
                reason: Some(reason.to_string()),
                file: prev.as_ref().and_then(|p| p.file.clone()),
                serial: prev.map(|p| p.serial).unwrap_or(0),
            },
        );
        self.save(&mut inner)?;
        drop(inner);
        self.list()?
            .into_iter()
            .find(|k| k.key_id == key_id)
            .ok_or_else(|| ApiError::internal("the revoked key vanished"))
    }

    /// Whether every tenant with keys has an active one (for /readyz).
    pub fn ready(&self) -> Result<(), ApiError> {
        let keys = self.list()?;
        if keys.iter().any(|k| k.status == KeyStatus::Active) {
            Ok(())
        } else {
            Err(ApiError::unavailable("no active signing key"))
        }
    }
}

/// A key algorithm named in a rotation request [default: ECDSA P-256].
pub fn parse_algorithm(name: Option<&str>) -> Result<KeyAlgorithm, ApiError> {
    match name.unwrap_or("ecdsa-p256") {
        "ecdsa-p256" => Ok(KeyAlgorithm::EcdsaP256),
        "ecdsa-p384" => Ok(KeyAlgorithm::EcdsaP384),
        "ed25519" => Ok(KeyAlgorithm::Ed25519),
        other => Err(ApiError::new(
            Code::InvalidRequest,
            format!("unknown key algorithm `{other}` (ecdsa-p256, ecdsa-p384, ed25519)"),
        )),
    }
}

fn sanitize(tenant: &str) -> String {
    tenant
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// Writes a secret (a private key, a nonce secret) readable by the owner only, synced.
/// `replace` allows overwriting an existing file; without it an existing file is an error.
pub(crate) fn write_private(path: &Path, bytes: &[u8], replace: bool) -> std::io::Result<()> {
    use std::io::Write;
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true);
    if replace {
        opts.create(true).truncate(true);
    } else {
        opts.create_new(true);
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let mut f = opts.open(path)?;
    f.write_all(bytes)?;
    f.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rotate_retires_and_revoke_stops_signing() {
        let dir = tempfile::tempdir().unwrap();
        let ring = KeyRing::open(dir.path(), &BTreeMap::new()).unwrap();
        assert_eq!(
            ring.signer_for("acme", Purpose::Sign).unwrap_err().code,
            Code::NoSigningKey
        );
        let first = ring.rotate("acme", KeyAlgorithm::EcdsaP256).unwrap();
        assert_eq!(
            ring.signer_for("acme", Purpose::Sign)
                .unwrap()
                .public_key()
                .key_id(),
            first.key_id
        );
        let second = ring.rotate("acme", KeyAlgorithm::EcdsaP256).unwrap();
        assert_eq!(
            ring.signer_for("acme", Purpose::Sign)
                .unwrap()
                .public_key()
                .key_id(),
            second.key_id
        );
        let listed = ring.list().unwrap();
        assert_eq!(
            listed
                .iter()
                .find(|k| k.key_id == first.key_id)
                .unwrap()
                .status,
            KeyStatus::Retired
        );
        // An Ed25519 key is for exports; rotating it leaves the signing key active.
        let export = ring.rotate("acme", KeyAlgorithm::Ed25519).unwrap();
        assert_eq!(
            ring.signer_for("acme", Purpose::Export)
                .unwrap()
                .public_key()
                .key_id(),
            export.key_id
        );
        assert_eq!(
            ring.signer_for("acme", Purpose::Sign)
                .unwrap()
                .public_key()
                .key_id(),
            second.key_id
        );
        // Other tenants never get this tenant's key.
        assert!(ring.signer_for("other", Purpose::Sign).is_err());
        ring.revoke(&second.key_id, "compromised").unwrap();
        assert_eq!(
            ring.signer_for("acme", Purpose::Sign).unwrap_err().code,
            Code::NoSigningKey
        );
        // A second ring on the same directory (another replica) sees the same state.
        let replica = KeyRing::open(dir.path(), &BTreeMap::new()).unwrap();
        assert_eq!(
            replica.signer_for("acme", Purpose::Sign).unwrap_err().code,
            Code::NoSigningKey
        );
        assert_eq!(replica.verification_keys("acme").unwrap().len(), 2);
        // Nothing secret in the listing.
        let text = serde_json::to_string(&replica.list().unwrap()).unwrap();
        assert!(!text.contains("PRIVATE"));
    }
}
