//! Audit events: one per encrypt, decrypt, rewrap, rotate, retire and policy change, to a
//! pluggable sink.
//!
//! An event says what was done, with which key, by whom, on how many bytes, and how it ended.
//! It never carries plaintext, ciphertext or key bytes; the associated data is recorded only as
//! a short SHA-256 digest (`context`), so events can be correlated by context without copying
//! identifiers that may themselves be sensitive into the log.
//!
//! Sinks: [`JsonLinesSink`] (a file, one JSON object per line, appended; the CLI default),
//! [`CallbackSink`] (any closure: forward to `tracing`, a SIEM, a channel), [`MemorySink`]
//! (tests) and [`NullSink`]. A sink that fails makes the operation fail: nothing is done
//! unaudited.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use serde::Serialize;

/// What was attempted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Operation {
    Keygen,
    Encrypt,
    Decrypt,
    Rewrap,
    Rotate,
    Retire,
    MinDecryptionVersion,
    /// Loading a keyring file (recorded when it fails: wrong KEK, altered file, bad key).
    OpenKeyring,
}

/// How it ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Outcome {
    Ok,
    /// Refused by a guard or a failed authentication (see `reason`).
    Denied,
}

/// One audit record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AuditEvent {
    /// RFC 3339 UTC time of the event.
    pub time: String,
    pub op: Operation,
    /// The key used (for decrypt: the key the envelope names).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key_id: Option<u32>,
    /// For rewrap and rotate: the key the data or keyring moved to.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub new_key_id: Option<u32>,
    /// Who asked (set by the embedding application; the CLI uses `cli:$USER`).
    pub caller: String,
    /// First 16 hex digits of SHA-256 of the associated data, when there was any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub context: Option<String>,
    /// Plaintext bytes for encrypt, envelope bytes for decrypt and rewrap.
    pub size: u64,
    pub outcome: Outcome,
    /// Why it was denied (`authentication-failed`, `unknown-key`, `key-retired`,
    /// `below-min-decryption-version`, `too-large`, `key-exhausted`, `rate-limited`, …).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<&'static str>,
}

impl AuditEvent {
    /// A successful event of `op` by `caller`, now; fill in the rest.
    pub fn new(op: Operation, caller: &str) -> AuditEvent {
        let now = jiff::Timestamp::now();
        AuditEvent {
            time: now
                .round(jiff::Unit::Millisecond)
                .unwrap_or(now)
                .to_string(),
            op,
            key_id: None,
            new_key_id: None,
            caller: caller.to_string(),
            context: None,
            size: 0,
            outcome: Outcome::Ok,
            reason: None,
        }
    }

    /// The event as one JSON line (with the trailing newline).
    pub fn to_json_line(&self) -> String {
        let mut s = serde_json::to_string(self).unwrap_or_else(|_| "{}".to_string());
        s.push('\n');
        s
    }
}

/// The short digest recorded for associated data.
pub fn context_digest(aad: &[u8]) -> Option<String> {
    if aad.is_empty() {
        return None;
    }
    let d = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, aad);
    Some(hex::encode(&d.as_ref()[..8]))
}

/// Where audit events go.
pub trait AuditSink: Send + Sync {
    /// Records one event. An error aborts the operation it describes.
    fn record(&self, event: &AuditEvent) -> Result<(), String>;
}

/// Appends JSON lines to a file (created with mode 0600 on Unix).
#[derive(Debug)]
pub struct JsonLinesSink {
    path: PathBuf,
    file: Mutex<File>,
}

impl JsonLinesSink {
    pub fn open(path: &Path) -> Result<JsonLinesSink, String> {
        let mut opts = OpenOptions::new();
        opts.create(true).append(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            opts.mode(0o600);
        }
        let file = opts
            .open(path)
            .map_err(|e| format!("cannot open audit log {}: {e}", path.display()))?;
        Ok(JsonLinesSink {
            path: path.to_path_buf(),
            file: Mutex::new(file),
        })
    }
}

impl AuditSink for JsonLinesSink {
    fn record(&self, event: &AuditEvent) -> Result<(), String> {
        let line = event.to_json_line();
        let mut f = self
            .file
            .lock()
            .map_err(|_| "audit log lock poisoned".to_string())?;
        f.write_all(line.as_bytes())
            .and_then(|_| f.flush())
            .map_err(|e| format!("cannot write audit log {}: {e}", self.path.display()))
    }
}

/// Calls a closure for every event.
pub struct CallbackSink<F: Fn(&AuditEvent) + Send + Sync>(pub F);

impl<F: Fn(&AuditEvent) + Send + Sync> AuditSink for CallbackSink<F> {
    fn record(&self, event: &AuditEvent) -> Result<(), String> {
        (self.0)(event);
        Ok(())
    }
}

/// Keeps events in memory (tests, short-lived tools that print them at the end).
#[derive(Debug, Default)]
pub struct MemorySink(pub Mutex<Vec<AuditEvent>>);

impl MemorySink {
    pub fn events(&self) -> Vec<AuditEvent> {
        self.0.lock().map(|v| v.clone()).unwrap_or_default()
    }
}

impl AuditSink for MemorySink {
    fn record(&self, event: &AuditEvent) -> Result<(), String> {
        self.0
            .lock()
            .map_err(|_| "poisoned".to_string())?
            .push(event.clone());
        Ok(())
    }
}

impl<T: AuditSink + ?Sized> AuditSink for std::sync::Arc<T> {
    fn record(&self, event: &AuditEvent) -> Result<(), String> {
        (**self).record(event)
    }
}

/// Discards events (only for callers that audit elsewhere).
#[derive(Debug, Default)]
pub struct NullSink;

impl AuditSink for NullSink {
    fn record(&self, _: &AuditEvent) -> Result<(), String> {
        Ok(())
    }
}
