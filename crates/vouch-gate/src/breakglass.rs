//! The break-glass log: an append-only, hash-chained JSON-lines file of emergency approvals.
//!
//! Each line is one JSON object with sorted keys: `approver`, `at`, `environment`, `expires`,
//! `hash`, `prev`, `reason`, `seq`, `subject`. `prev` is the `hash` of the line before (64
//! zeros for the first) and `hash` is SHA-256 over the line's canonical JSON without `hash`.
//! Editing any entry breaks its own hash and the next entry's `prev`; deleting an entry breaks
//! the chain. Removing the newest entries leaves a valid shorter chain, which only an external
//! anchor reveals: every append returns the new head hash, and `verify` checks a recorded head
//! (`vouch gate log verify --head HASH`) when given one.

use std::io::Write;
use std::path::Path;

use jiff::{Timestamp, ToSpan};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use vouch_core::InputError;

/// The default log location, relative to the repository root.
pub const DEFAULT_LOG: &str = ".vouch/break-glass.log";

const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// One approval, as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Entry {
    pub approver: String,
    pub at: String,
    pub environment: Option<String>,
    pub expires: String,
    pub hash: String,
    pub prev: String,
    pub reason: String,
    pub seq: u64,
    /// The subject digest (`sha256:…`) the approval is for.
    pub subject: String,
}

impl Entry {
    fn content_hash(&self) -> String {
        let mut copy = self.clone();
        copy.hash = String::new();
        let mut v = serde_json::to_value(&copy).unwrap_or_default();
        if let Some(o) = v.as_object_mut() {
            o.remove("hash");
        }
        hex::encode(Sha256::digest(canonical(&v).as_bytes()))
    }

    /// Whether this approval covers `subject` in `environment` at `now`.
    pub fn covers(&self, subject: &str, environment: Option<&str>, now: Timestamp) -> bool {
        let (Ok(at), Ok(expires)) = (
            self.at.parse::<Timestamp>(),
            self.expires.parse::<Timestamp>(),
        ) else {
            return false;
        };
        self.subject == subject
            && (self.environment.is_none() || self.environment.as_deref() == environment)
            && at <= now
            && now < expires
    }
}

/// Canonical JSON: keys sorted (serde_json::Value maps are sorted unless preserve_order; sort
/// explicitly so the workspace's feature choice cannot change hashes), no whitespace.
fn canonical(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::Object(m) => {
            let mut keys: Vec<&String> = m.keys().collect();
            keys.sort();
            let inner: Vec<String> = keys
                .iter()
                .map(|k| {
                    format!(
                        "{}:{}",
                        serde_json::Value::String((*k).clone()),
                        canonical(&m[*k])
                    )
                })
                .collect();
            format!("{{{}}}", inner.join(","))
        }
        serde_json::Value::Array(a) => format!(
            "[{}]",
            a.iter().map(canonical).collect::<Vec<_>>().join(",")
        ),
        other => other.to_string(),
    }
}

/// Why the log does not verify.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LogError {
    #[error("line {line}: not a log entry: {message}")]
    Malformed { line: usize, message: String },
    #[error("line {line}: entry {seq} was edited (its hash does not match its content)")]
    Edited { line: usize, seq: u64 },
    #[error(
        "line {line}: the chain is broken before entry {seq} (an entry was removed, reordered or edited)"
    )]
    Broken { line: usize, seq: u64 },
    #[error(
        "the log's head is {actual}, not the recorded {expected}: entries were removed or rewritten"
    )]
    HeadMismatch { expected: String, actual: String },
}

/// Parses a duration such as `2h`, `90m`, `1d`, `1h30m` into seconds.
pub fn parse_ttl(s: &str) -> Result<u64, String> {
    let s = s.trim();
    if s.is_empty() {
        return Err("empty duration".into());
    }
    let mut total: u64 = 0;
    let mut num = String::new();
    for c in s.chars() {
        if c.is_ascii_digit() {
            num.push(c);
            continue;
        }
        let n: u64 = num.parse().map_err(|_| {
            if num.is_empty() {
                format!("`{s}` is not a duration like 2h, 90m or 1d")
            } else {
                format!("`{s}` is longer than the longest duration accepted")
            }
        })?;
        num.clear();
        let unit = match c {
            's' => 1,
            'm' => 60,
            'h' => 3600,
            'd' => 86_400,
            _ => return Err(format!("`{s}` is not a duration like 2h, 90m or 1d")),
        };
        total = total
            .checked_add(n.checked_mul(unit).ok_or("duration too long")?)
            .ok_or("duration too long")?;
    }
    if !num.is_empty() {
        return Err(format!("`{s}` needs a unit (s, m, h, d)"));
    }
    if total == 0 {
        return Err("duration must be positive".into());
    }
    if total > MAX_DURATION_SECS {
        return Err(format!(
            "`{s}` is longer than the longest duration accepted, {}d",
            MAX_DURATION_SECS / 86_400
        ));
    }
    Ok(total)
}

/// The longest duration [`parse_ttl`] accepts: ten years. Durations are added to timestamps
/// and walked back day by day (weekly freezes); a bound keeps both far from the limits of the
/// date types (10^10 hours overflowed them and panicked).
pub const MAX_DURATION_SECS: u64 = 3650 * 86_400;

/// Reads and verifies the whole log; a missing file is an empty log.
pub fn read(path: &Path) -> Result<Vec<Entry>, LogError> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => {
            return Err(LogError::Malformed {
                line: 0,
                message: e.to_string(),
            });
        }
    };
    verify_text(&text)
}

/// Verifies log text and returns its entries.
pub fn verify_text(text: &str) -> Result<Vec<Entry>, LogError> {
    let mut entries: Vec<Entry> = Vec::new();
    let mut prev = GENESIS.to_string();
    for (i, line) in text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
    {
        let n = i + 1;
        let e: Entry = serde_json::from_str(line).map_err(|err| LogError::Malformed {
            line: n,
            message: err.to_string(),
        })?;
        if e.content_hash() != e.hash {
            return Err(LogError::Edited {
                line: n,
                seq: e.seq,
            });
        }
        let expected_seq = entries.len() as u64 + 1;
        if e.prev != prev || e.seq != expected_seq {
            return Err(LogError::Broken {
                line: n,
                seq: e.seq,
            });
        }
        prev = e.hash.clone();
        entries.push(e);
    }
    Ok(entries)
}

/// Reads and verifies the log at `path`; with `head`, also checks that the newest entry is the
/// one recorded elsewhere (detects removed tails).
pub fn verify(path: &Path, head: Option<&str>) -> Result<Vec<Entry>, LogError> {
    let entries = read(path)?;
    let actual = self::head(&entries);
    if let Some(want) = head
        && want != actual
    {
        return Err(LogError::HeadMismatch {
            expected: want.to_string(),
            actual: actual.to_string(),
        });
    }
    Ok(entries)
}

/// The hash of the newest entry (or the genesis value for an empty log).
pub fn head(entries: &[Entry]) -> &str {
    entries.last().map(|e| e.hash.as_str()).unwrap_or(GENESIS)
}

/// A new approval to record.
pub struct Approval<'a> {
    pub approver: &'a str,
    pub reason: &'a str,
    pub subject: &'a str,
    pub environment: Option<&'a str>,
    pub ttl_seconds: u64,
    pub now: Timestamp,
}

/// Verifies the existing log, appends the approval (fsync'd) and returns the new entry.
pub fn append(path: &Path, approval: &Approval<'_>) -> Result<Entry, InputError> {
    if approval.reason.trim().is_empty() || approval.approver.trim().is_empty() {
        return Err(
            InputError::new("break-glass needs a reason and an approver")
                .with_hint("--break-glass REASON --approver ID"),
        );
    }
    let entries = read(path).map_err(|e| {
        InputError::in_file(path, format!("the break-glass log does not verify: {e}"))
            .with_hint("`vouch gate log verify` shows where; restore the log from version control")
    })?;
    let ttl = i64::try_from(approval.ttl_seconds).map_err(|_| InputError::new("--ttl too long"))?;
    let expires = approval
        .now
        .checked_add(ttl.seconds())
        .map_err(|_| InputError::new("--ttl too long"))?;
    let mut entry = Entry {
        approver: approval.approver.to_string(),
        at: approval.now.to_string(),
        environment: approval.environment.map(str::to_string),
        expires: expires.to_string(),
        hash: String::new(),
        prev: head(&entries).to_string(),
        reason: approval.reason.to_string(),
        seq: entries.len() as u64 + 1,
        subject: approval.subject.to_string(),
    };
    entry.hash = entry.content_hash();
    let line =
        canonical(&serde_json::to_value(&entry).map_err(|e| InputError::new(e.to_string()))?);
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)
            .map_err(|e| InputError::in_file(dir, format!("cannot create: {e}")))?;
    }
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .map_err(|e| InputError::in_file(path, format!("cannot open: {e}")))?;
    f.write_all(format!("{line}\n").as_bytes())
        .and_then(|_| f.sync_all())
        .map_err(|e| InputError::in_file(path, format!("cannot append: {e}")))?;
    Ok(entry)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn approval(now: &str) -> Approval<'static> {
        Approval {
            approver: "alice",
            reason: "hotfix for INC-7",
            subject: "sha256:ab",
            environment: Some("prod"),
            ttl_seconds: 7200,
            now: now.parse().unwrap(),
        }
    }

    #[test]
    fn verify_checks_the_recorded_head() {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("bg.log");
        let e = append(&log, &approval("2026-11-24T12:00:00Z")).unwrap();
        assert_eq!(verify(&log, Some(&e.hash)).unwrap().len(), 1);
        assert_eq!(verify(&log, None).unwrap().len(), 1);
        assert!(matches!(
            verify(&log, Some("abc")),
            Err(LogError::HeadMismatch { .. })
        ));
    }

    #[test]
    fn append_verify_and_cover() {
        let d = tempfile::tempdir().unwrap();
        let log = d.path().join(".vouch/break-glass.log");
        let e1 = append(&log, &approval("2026-11-24T10:00:00Z")).unwrap();
        let e2 = append(&log, &approval("2026-11-24T11:00:00Z")).unwrap();
        assert_eq!(e2.prev, e1.hash);
        let entries = read(&log).unwrap();
        assert_eq!(entries.len(), 2);
        assert!(e1.covers(
            "sha256:ab",
            Some("prod"),
            "2026-11-24T11:59:59Z".parse().unwrap()
        ));
        assert!(!e1.covers(
            "sha256:ab",
            Some("prod"),
            "2026-11-24T12:00:00Z".parse().unwrap()
        ));
        assert!(!e1.covers(
            "sha256:cd",
            Some("prod"),
            "2026-11-24T10:30:00Z".parse().unwrap()
        ));
        assert!(!e1.covers(
            "sha256:ab",
            Some("stage"),
            "2026-11-24T10:30:00Z".parse().unwrap()
        ));
    }

    #[test]
    fn edits_and_deletions_are_detected() {
        let d = tempfile::tempdir().unwrap();
        let log = d.path().join("bg.log");
        for h in ["10", "11", "12"] {
            append(&log, &approval(&format!("2026-11-24T{h}:00:00Z"))).unwrap();
        }
        let text = std::fs::read_to_string(&log).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        let edited = text.replacen("alice", "mallory", 1);
        assert!(matches!(
            verify_text(&edited),
            Err(LogError::Edited { line: 1, .. })
        ));
        let last_edited = text.replace("INC-7\",\"seq\":3", "INC-8\",\"seq\":3");
        assert!(matches!(
            verify_text(&last_edited),
            Err(LogError::Edited { line: 3, .. })
        ));
        let deleted = format!("{}\n{}\n", lines[0], lines[2]);
        assert!(matches!(
            verify_text(&deleted),
            Err(LogError::Broken { line: 2, .. })
        ));
        let reordered = format!("{}\n{}\n{}\n", lines[1], lines[0], lines[2]);
        assert!(verify_text(&reordered).is_err());
        assert!(matches!(
            verify_text("{not json\n"),
            Err(LogError::Malformed { line: 1, .. })
        ));
        // Appending to a tampered log is refused.
        std::fs::write(&log, &edited).unwrap();
        assert!(append(&log, &approval("2026-11-24T13:00:00Z")).is_err());
    }

    #[test]
    fn ttl() {
        assert_eq!(parse_ttl("2h"), Ok(7200));
        assert_eq!(parse_ttl("1h30m"), Ok(5400));
        assert!(parse_ttl("2").is_err() && parse_ttl("2x").is_err() && parse_ttl("0h").is_err());
        // Past the bound, and past u64 itself: errors, never a panic downstream.
        assert_eq!(parse_ttl("3650d"), Ok(MAX_DURATION_SECS));
        for huge in [
            "3651d",
            "10000000000h",
            "99999999999999999999h",
            "18446744073709551615s",
        ] {
            let e = parse_ttl(huge).unwrap_err();
            assert!(e.contains("long"), "{huge}: {e}");
        }
    }
}
