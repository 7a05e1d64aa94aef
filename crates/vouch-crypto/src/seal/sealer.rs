//! The guarded, audited door to the keyring.

use std::sync::Arc;

use jiff::Timestamp;

use super::audit::{AuditEvent, AuditSink, Operation, Outcome, context_digest};
use super::envelope::{self, OVERHEAD};
use super::keyring::Keyring;
use super::{DEFAULT_MAX_PAYLOAD, SealError};
use crate::protected::Secret;
use crate::ratelimit::RateLimiter;

/// The result of a rewrap.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rewrap {
    /// The envelope under the active key (the input unchanged when it already was).
    pub envelope: Vec<u8>,
    pub from: u32,
    pub to: u32,
}

impl Rewrap {
    /// Whether the envelope changed.
    pub fn changed(&self) -> bool {
        self.from != self.to
    }
}

/// A keyring with its guards: payload cap, per-key encryption limit, decrypt rate limit, one
/// opaque decrypt error, and an audit event for every attempt.
///
/// ```
/// use vouch_crypto::seal::{Keyring, Sealer, audit::MemorySink};
/// let sink = std::sync::Arc::new(MemorySink::default());
/// let sealer = Sealer::new(Keyring::generate(jiff::Timestamp::UNIX_EPOCH)?, sink.clone());
/// let env = sealer.encrypt("svc", b"db password", b"tenant=acme")?;
/// let plain = sealer.decrypt("svc", &env, b"tenant=acme")?;
/// assert_eq!(plain.expose(), b"db password");
/// assert!(sealer.decrypt("svc", &env, b"tenant=evil").is_err());
/// assert_eq!(sink.events().len(), 3);
/// # Ok::<(), vouch_crypto::seal::SealError>(())
/// ```
pub struct Sealer {
    keyring: Keyring,
    sink: Arc<dyn AuditSink>,
    limiter: Option<RateLimiter<String>>,
    max_payload: usize,
}

impl std::fmt::Debug for Sealer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sealer")
            .field("keyring", &self.keyring)
            .field("max_payload", &self.max_payload)
            .finish_non_exhaustive()
    }
}

impl Sealer {
    /// Wraps `keyring`, sending audit events to `sink`. Default cap 1 MiB, no rate limit.
    pub fn new(keyring: Keyring, sink: Arc<dyn AuditSink>) -> Sealer {
        Sealer {
            keyring,
            sink,
            limiter: None,
            max_payload: DEFAULT_MAX_PAYLOAD,
        }
    }

    /// Sets the payload cap in bytes (plaintexts; envelopes may be larger by the overhead).
    pub fn with_max_payload(mut self, bytes: usize) -> Sealer {
        self.max_payload = bytes;
        self
    }

    /// Caps decrypt attempts per caller: bursts of `burst`, `per_second` sustained.
    pub fn with_decrypt_rate_limit(mut self, burst: u32, per_second: f64) -> Sealer {
        self.limiter = Some(RateLimiter::new(burst, per_second));
        self
    }

    pub fn max_payload(&self) -> usize {
        self.max_payload
    }

    pub fn keyring(&self) -> &Keyring {
        &self.keyring
    }

    pub fn into_keyring(self) -> Keyring {
        self.keyring
    }

    fn event(&self, op: Operation, caller: &str, aad: &[u8], size: usize) -> AuditEvent {
        AuditEvent {
            context: context_digest(aad),
            size: size as u64,
            ..AuditEvent::new(op, caller)
        }
    }

    fn record(&self, e: &AuditEvent) -> Result<(), SealError> {
        self.sink.record(e).map_err(SealError::Audit)
    }

    fn deny(&self, mut e: AuditEvent, reason: &'static str, err: SealError) -> SealError {
        e.outcome = Outcome::Denied;
        e.reason = Some(reason);
        match self.record(&e) {
            Ok(()) => err,
            Err(audit) => audit,
        }
    }

    /// Seals `plaintext` under the active key, binding `aad`.
    pub fn encrypt(
        &self,
        caller: &str,
        plaintext: &[u8],
        aad: &[u8],
    ) -> Result<Vec<u8>, SealError> {
        let mut e = self.event(Operation::Encrypt, caller, aad, plaintext.len());
        e.key_id = Some(self.keyring.active_id());
        if plaintext.len() > self.max_payload {
            let err = SealError::TooLarge {
                size: plaintext.len() as u64,
                max: self.max_payload as u64,
            };
            return Err(self.deny(e, "too-large", err));
        }
        match self.keyring.seal(plaintext, aad) {
            Ok((id, env)) => {
                e.key_id = Some(id);
                self.record(&e)?;
                Ok(env)
            }
            Err(err @ SealError::KeyExhausted { .. }) => Err(self.deny(e, "key-exhausted", err)),
            Err(err) => Err(self.deny(e, "error", err)),
        }
    }

    /// Opens `envelope` with the key it names, checking `aad`. Every failure that concerns the
    /// ciphertext, its context or its key is the one [`SealError::Decrypt`].
    pub fn decrypt(&self, caller: &str, envelope: &[u8], aad: &[u8]) -> Result<Secret, SealError> {
        let (secret, e) = self.open(Operation::Decrypt, caller, envelope, aad)?;
        self.record(&e)?;
        Ok(secret)
    }

    fn open(
        &self,
        op: Operation,
        caller: &str,
        envelope: &[u8],
        aad: &[u8],
    ) -> Result<(Secret, AuditEvent), SealError> {
        let mut e = self.event(op, caller, aad, envelope.len());
        e.key_id = envelope::key_id(envelope);
        if envelope.len() > self.max_payload.saturating_add(OVERHEAD) {
            let err = SealError::TooLarge {
                size: envelope.len() as u64,
                max: (self.max_payload + OVERHEAD) as u64,
            };
            return Err(self.deny(e, "too-large", err));
        }
        if let Some(l) = &self.limiter
            && let Err(limited) = l.check(&caller.to_string())
        {
            return Err(self.deny(e, "rate-limited", limited.into()));
        }
        match self.keyring.open(envelope, aad) {
            Ok(secret) => Ok((secret, e)),
            Err((_, denial)) => Err(self.deny(e, denial.as_str(), SealError::Decrypt)),
        }
    }

    /// Re-encrypts `envelope` under the active key without handing the plaintext to the
    /// caller. An envelope already under the active key is returned unchanged.
    pub fn rewrap(&self, caller: &str, envelope: &[u8], aad: &[u8]) -> Result<Rewrap, SealError> {
        let (plain, mut e) = self.open(Operation::Rewrap, caller, envelope, aad)?;
        let from = e.key_id.unwrap_or(0);
        let active = self.keyring.active_id();
        if from == active {
            e.new_key_id = Some(active);
            self.record(&e)?;
            return Ok(Rewrap {
                envelope: envelope.to_vec(),
                from,
                to: active,
            });
        }
        match self.keyring.seal(plain.expose(), aad) {
            Ok((to, env)) => {
                e.new_key_id = Some(to);
                self.record(&e)?;
                Ok(Rewrap {
                    envelope: env,
                    from,
                    to,
                })
            }
            Err(err @ SealError::KeyExhausted { .. }) => Err(self.deny(e, "key-exhausted", err)),
            Err(err) => Err(self.deny(e, "error", err)),
        }
    }

    /// Adds a new active key (the old one becomes decrypt-only). Returns its ID. If the audit
    /// event cannot be recorded the error is returned and the caller must not persist the
    /// rotated keyring (the CLI does not).
    pub fn rotate(&mut self, caller: &str, now: Timestamp) -> Result<u32, SealError> {
        let mut e = self.event(Operation::Rotate, caller, b"", 0);
        e.key_id = Some(self.keyring.active_id());
        match self.keyring.rotate(now) {
            Ok(next) => {
                e.new_key_id = Some(next);
                self.record(&e)?;
                Ok(next)
            }
            Err(err) => Err(self.deny(e, "error", err)),
        }
    }

    /// Retires key `id` (its material is destroyed).
    pub fn retire(&mut self, caller: &str, id: u32) -> Result<(), SealError> {
        let mut e = self.event(Operation::Retire, caller, b"", 0);
        e.key_id = Some(id);
        match self.keyring.retire(id) {
            Ok(()) => self.record(&e),
            Err(err) => Err(self.deny(e, "invalid", err)),
        }
    }

    /// Sets the minimum decryption version.
    pub fn set_min_decryption_version(&mut self, caller: &str, v: u32) -> Result<(), SealError> {
        let mut e = self.event(Operation::MinDecryptionVersion, caller, b"", 0);
        e.key_id = Some(v);
        match self.keyring.set_min_decryption_version(v) {
            Ok(()) => self.record(&e),
            Err(err) => Err(self.deny(e, "invalid", err)),
        }
    }

    /// Records the creation of a keyring (the CLI's `keygen`).
    pub fn record_keygen(&self, caller: &str) -> Result<(), SealError> {
        let mut e = self.event(Operation::Keygen, caller, b"", 0);
        e.key_id = Some(self.keyring.active_id());
        self.record(&e)
    }
}
