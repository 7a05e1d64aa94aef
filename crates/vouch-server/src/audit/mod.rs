//! The audit log: one hash-chained record per request and decision of `vouch serve`, kept in
//! SQLite (one replica) or PostgreSQL (many replicas sharing one chain).
//!
//! # The chain, so that anyone can recompute it
//!
//! Each stored record has a `seq` (1, 2, 3, … with no gaps), a `prev_hash` and a `hash`, all
//! hashes being 64 lowercase hex digits:
//!
//! * `prev_hash` of seq 1 is 64 zeros; `prev_hash` of seq n+1 is the `hash` of seq n.
//! * `hash = hex(SHA-256(raw(prev_hash) || canonical_json(record)))`, where `raw(prev_hash)`
//!   is the 32 bytes the hex digits spell (not the 64 ASCII characters) and
//!   `canonical_json(record)` is the UTF-8 JSON of the [`AuditRecord`] with every object's
//!   keys sorted by their UTF-8 bytes, no whitespace at all, strings escaped as `serde_json`
//!   escapes them (`"`, `\` and control characters only; other characters are written as
//!   themselves), `null` for an absent `key_id`/`error_code` (the key is present), integers in
//!   plain decimal, arrays in their order.
//! * The stored `record` column holds exactly those canonical bytes; [`AuditStore::verify`]
//!   hashes the stored bytes, so a verifier needs no knowledge of the record's fields.
//! * A one-row head table holds the seq and hash of the last record, so that removing records
//!   from the end of the chain is detected too.
//!
//! In Python: `hashlib.sha256(bytes.fromhex(prev) + json.dumps(rec, sort_keys=True,
//! separators=(",", ":"), ensure_ascii=False).encode()).hexdigest()`.
//!
//! # What it must never do
//!
//! Accept an append it did not durably commit (the caller refuses to sign when `append`
//! fails, so an error here is the safe direction), fork the chain when several replicas append
//! at once (PostgreSQL appends lock the head row), hold a token, key or database password in a
//! record, error or `Debug` output, or panic on whatever it reads back from the database.

mod postgres;
mod sqlite;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::error::ApiError;

pub use postgres::PgAudit;
pub use sqlite::SqliteAudit;

/// The `prev_hash` of the first record.
pub const GENESIS_HASH: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// The most records one [`AuditStore::read`] returns, whatever the query asks.
pub const MAX_READ: usize = 1000;

/// Rows fetched per round trip by [`AuditStore::verify`]: a long chain is checked in pages, not
/// loaded whole.
const VERIFY_PAGE: u64 = 1000;

/// One request and what was decided about it. Fields are strings rather than enums so that a
/// record written by a newer server still reads back; the comments give the values in use.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditRecord {
    /// RFC 3339, UTC (`…Z`); [`AuditRecord::now`] gives the current time in that form.
    pub time: String,
    /// The route, e.g. `/v1/sign`.
    pub endpoint: String,
    pub tenant: String,
    /// The token's subject (never the token).
    pub subject: String,
    /// The token's `jti` (an identifier, not the token).
    pub token_id: String,
    /// `keyful` or `keyless`.
    pub issuer_mode: String,
    /// The digests of the subjects of the statement (`sha256:…`).
    pub subject_digests: Vec<String>,
    /// `fresh`, `cached`, `bypassed`, `denied`, `unavailable` or `not_checked`.
    pub poe_state: String,
    /// `ok`, `rate_limited`, `concurrency`, `daily_cap`, … (see `quota::QuotaState`).
    pub quota_state: String,
    /// The signing key's id, when one was used.
    pub key_id: Option<String>,
    /// `signed`, `refused` or `read`.
    pub decision: String,
    /// The stable error code of a refusal.
    pub error_code: Option<String>,
    pub latency_ms: u64,
    pub trace_id: String,
}

impl AuditRecord {
    /// The current time as the record's `time` wants it (RFC 3339, UTC).
    pub fn now() -> String {
        jiff::Timestamp::now().to_string()
    }

    /// The canonical JSON described in the module doc: these are the bytes that get hashed.
    pub fn canonical_json(&self) -> Result<String, ApiError> {
        let value = serde_json::to_value(self)
            .map_err(|e| ApiError::internal(format!("audit record to JSON: {e}")))?;
        let mut out = String::new();
        write_canonical(&value, &mut out)?;
        Ok(out)
    }
}

/// Writes `value` with sorted keys and no whitespace. The workspace builds `serde_json` with
/// `preserve_order`, so object order must be imposed here rather than assumed.
fn write_canonical(value: &serde_json::Value, out: &mut String) -> Result<(), ApiError> {
    use serde_json::Value;
    match value {
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort_by(|a, b| a.as_bytes().cmp(b.as_bytes()));
            out.push('{');
            for (i, k) in keys.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&json(k)?);
                out.push(':');
                if let Some(v) = map.get(k) {
                    write_canonical(v, out)?;
                }
            }
            out.push('}');
        }
        Value::Array(items) => {
            out.push('[');
            for (i, v) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_canonical(v, out)?;
            }
            out.push(']');
        }
        other => out.push_str(&json(other)?),
    }
    Ok(())
}

/// Strings and scalars go through `serde_json`'s own escaping.
fn json<T: Serialize + ?Sized>(v: &T) -> Result<String, ApiError> {
    serde_json::to_string(v).map_err(|e| ApiError::internal(format!("audit record to JSON: {e}")))
}

/// `hex(SHA-256(raw(prev_hash) || record_json))`; `None` when `prev_hash` is not 64 hex digits.
pub fn chain_hash(prev_hash: &str, record_json: &str) -> Option<String> {
    if prev_hash.len() != 64 {
        return None;
    }
    let prev = hex::decode(prev_hash).ok()?;
    let mut h = Sha256::new();
    h.update(&prev);
    h.update(record_json.as_bytes());
    Some(hex::encode(h.finalize()))
}

/// Where an append landed (also the head of the chain: seq 0 and [`GENESIS_HASH`] when empty).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Appended {
    pub seq: u64,
    pub hash: String,
}

/// What [`AuditStore::verify`] found. The chain is intact iff `problems` is empty; each
/// problem names the seq it concerns.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct VerifyReport {
    /// Rows read.
    pub records: u64,
    /// The head table's seq and hash.
    pub head: Appended,
    pub problems: Vec<String>,
}

/// A page of the log: records after `since_seq` (exclusive), optionally of one tenant, at most
/// `limit` (capped at [`MAX_READ`]), in seq order.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct AuditQuery {
    pub tenant: Option<String>,
    pub since_seq: Option<u64>,
    /// Defaults to [`DEFAULT_READ`] when a query string leaves it out.
    #[serde(default = "default_read")]
    pub limit: usize,
}

/// The page size of a query that names none.
pub const DEFAULT_READ: usize = 100;

fn default_read() -> usize {
    DEFAULT_READ
}

/// A record as stored, with its place in the chain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StoredRecord {
    pub seq: u64,
    pub prev_hash: String,
    pub hash: String,
    pub record: AuditRecord,
}

/// A row as the database holds it, before anything is trusted about it.
#[derive(Debug, Clone)]
pub(crate) struct RawRow {
    pub seq: i64,
    pub tenant: String,
    pub prev_hash: String,
    pub hash: String,
    pub record: String,
}

impl RawRow {
    fn into_stored(self) -> Result<StoredRecord, ApiError> {
        let record = serde_json::from_str(&self.record).map_err(|_| {
            ApiError::internal(format!("audit record seq {} does not parse", self.seq))
        })?;
        Ok(StoredRecord {
            seq: self.seq.max(0) as u64,
            prev_hash: self.prev_hash,
            hash: self.hash,
            record,
        })
    }
}

/// Walks rows in seq order and notes every way they fail to form the chain.
///
/// The head is read before the rows: records appended while verification runs land beyond it
/// and are checked as links like any other, while the head proves nothing was cut off the end
/// up to the moment verification began.
pub(crate) struct Verifier {
    head: Appended,
    /// The hash of the row whose seq is the head's, once seen.
    hash_at_head: Option<String>,
    next_seq: i64,
    prev_hash: String,
    records: u64,
    problems: Vec<String>,
}

impl Verifier {
    pub fn new(head: Appended) -> Self {
        Verifier {
            head,
            hash_at_head: None,
            next_seq: 1,
            prev_hash: GENESIS_HASH.to_string(),
            records: 0,
            problems: Vec::new(),
        }
    }

    pub fn feed(&mut self, row: &RawRow) {
        if u64::try_from(row.seq).ok() == Some(self.head.seq) {
            self.hash_at_head = Some(row.hash.clone());
        }
        self.records += 1;
        let seq = row.seq;
        if seq > self.next_seq {
            if seq - 1 == self.next_seq {
                self.problems.push(format!(
                    "seq {}: missing (gap before seq {seq})",
                    self.next_seq
                ));
            } else {
                self.problems.push(format!(
                    "seq {}..={}: missing (gap before seq {seq})",
                    self.next_seq,
                    seq - 1
                ));
            }
        } else if seq < self.next_seq {
            // Rows come sorted by seq from a primary key, so this only happens with a seq < 1.
            self.problems.push(format!(
                "seq {seq}: out of order (expected seq {})",
                self.next_seq
            ));
        }
        if row.prev_hash != self.prev_hash {
            self.problems.push(format!(
                "seq {seq}: prev_hash does not match the hash of the record before it (broken link, removed or reordered record)"
            ));
        }
        match chain_hash(&row.prev_hash, &row.record) {
            None => self
                .problems
                .push(format!("seq {seq}: prev_hash is not 64 hex digits")),
            Some(h) if h != row.hash => self.problems.push(format!(
                "seq {seq}: hash does not match the record's contents (record edited)"
            )),
            Some(_) => {}
        }
        // The tenant column only serves queries, but a mismatch means someone edited it.
        match serde_json::from_str::<serde_json::Value>(&row.record) {
            Ok(v) => {
                if v.get("tenant").and_then(|t| t.as_str()) != Some(row.tenant.as_str()) {
                    self.problems.push(format!(
                        "seq {seq}: tenant column does not match the record"
                    ));
                }
            }
            Err(_) => self.problems.push(format!("seq {seq}: record is not JSON")),
        }
        self.prev_hash = row.hash.clone();
        self.next_seq = seq.saturating_add(1).max(self.next_seq);
    }

    pub fn finish(mut self) -> VerifyReport {
        let head = self.head.clone();
        let last = (self.next_seq - 1).max(0) as u64;
        if head.seq == 0 {
            if head.hash != GENESIS_HASH {
                self.problems
                    .push("head (seq 0): hash of an empty log is not the genesis hash".into());
            }
        } else if last < head.seq {
            self.problems.push(format!(
                "head (seq {}) is beyond the last record (seq {last}): records removed from the end",
                head.seq
            ));
        } else if self.hash_at_head.as_deref() != Some(head.hash.as_str()) {
            self.problems.push(format!(
                "head (seq {}): hash does not match the record at that seq (head or record edited)",
                head.seq
            ));
        }
        VerifyReport {
            records: self.records,
            head,
            problems: self.problems,
        }
    }
}

/// The audit log, in one of its two homes.
#[derive(Debug)]
pub enum AuditStore {
    Sqlite(SqliteAudit),
    Postgres(PgAudit),
}

impl AuditStore {
    /// Opens (creating if needed) a SQLite audit log at `path`.
    pub async fn open_sqlite(path: impl Into<std::path::PathBuf>) -> Result<Self, ApiError> {
        Ok(AuditStore::Sqlite(SqliteAudit::open(path.into()).await?))
    }

    /// Connects (`host=… user=… dbname=…` or a `postgresql://` URL) and creates the tables in
    /// `schema` (letters, digits and `_`) if needed. The connection string is never echoed.
    pub async fn open_postgres(params: &str, schema: &str) -> Result<Self, ApiError> {
        Ok(AuditStore::Postgres(PgAudit::open(params, schema).await?))
    }

    /// Appends `record` as the next link of the chain; returns only once it is committed.
    pub async fn append(&self, record: AuditRecord) -> Result<Appended, ApiError> {
        let json = record.canonical_json()?;
        match self {
            AuditStore::Sqlite(s) => s.append(record.tenant, json).await,
            AuditStore::Postgres(p) => p.append(&record.tenant, &json).await,
        }
    }

    /// Re-reads the whole chain and reports every problem, by seq.
    pub async fn verify(&self) -> Result<VerifyReport, ApiError> {
        let mut v = Verifier::new(self.head().await?);
        let mut after = 0i64;
        loop {
            let rows = match self {
                AuditStore::Sqlite(s) => s.rows_after(after, VERIFY_PAGE).await?,
                AuditStore::Postgres(p) => p.rows_after(after, VERIFY_PAGE).await?,
            };
            let n = rows.len() as u64;
            for r in &rows {
                v.feed(r);
                after = after.max(r.seq);
            }
            if n < VERIFY_PAGE {
                break;
            }
        }
        Ok(v.finish())
    }

    /// A page of records (see [`AuditQuery`]).
    pub async fn read(&self, q: AuditQuery) -> Result<Vec<StoredRecord>, ApiError> {
        let limit = q.limit.min(MAX_READ);
        if limit == 0 {
            return Ok(Vec::new());
        }
        let since = i64::try_from(q.since_seq.unwrap_or(0)).unwrap_or(i64::MAX);
        let rows = match self {
            AuditStore::Sqlite(s) => s.read(q.tenant, since, limit as i64).await?,
            AuditStore::Postgres(p) => p.read(q.tenant.as_deref(), since, limit as i64).await?,
        };
        rows.into_iter().map(RawRow::into_stored).collect()
    }

    /// The seq and hash of the last record (seq 0 and [`GENESIS_HASH`] when empty).
    pub async fn head(&self) -> Result<Appended, ApiError> {
        match self {
            AuditStore::Sqlite(s) => s.head().await,
            AuditStore::Postgres(p) => p.head().await,
        }
    }

    /// Whether the store answers (for `/readyz`).
    pub async fn ping(&self) -> Result<(), ApiError> {
        match self {
            AuditStore::Sqlite(s) => s.ping().await,
            AuditStore::Postgres(p) => p.ping().await,
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub fn record(i: usize, tenant: &str) -> AuditRecord {
        AuditRecord {
            time: "2026-12-07T21:00:00Z".into(),
            endpoint: "/v1/sign".into(),
            tenant: tenant.into(),
            subject: format!("repo:acme/app:{i}"),
            token_id: format!("jti-{i}"),
            issuer_mode: "keyful".into(),
            subject_digests: vec![format!("sha256:{i:064x}")],
            poe_state: "fresh".into(),
            quota_state: "ok".into(),
            key_id: if i.is_multiple_of(2) {
                Some("k1".into())
            } else {
                None
            },
            decision: if i.is_multiple_of(3) {
                "refused"
            } else {
                "signed"
            }
            .into(),
            error_code: if i.is_multiple_of(3) {
                Some("quota_exceeded".into())
            } else {
                None
            },
            latency_ms: i as u64,
            trace_id: format!("trace-{i}"),
        }
    }

    #[test]
    fn canonical_json_sorts_keys_without_whitespace() {
        let json = record(2, "acme \"q\"").canonical_json().unwrap();
        assert!(json.starts_with("{\"decision\":\"signed\",\"endpoint\":"));
        assert!(!json.contains(": ") && !json.contains(", "));
        assert!(json.contains("\"error_code\":null"));
        assert!(json.contains("\"tenant\":\"acme \\\"q\\\"\""));
        // Keys appear in sorted order.
        let v: serde_json::Value = serde_json::from_str(&json).unwrap();
        let keys: Vec<&String> = v.as_object().unwrap().keys().collect();
        let mut sorted = keys.clone();
        sorted.sort();
        assert_eq!(keys, sorted);
    }

    #[test]
    fn chain_hash_is_sha256_of_raw_prev_and_json() {
        let mut h = Sha256::new();
        h.update([0u8; 32]);
        h.update(b"{}");
        assert_eq!(
            chain_hash(GENESIS_HASH, "{}").unwrap(),
            hex::encode(h.finalize())
        );
        assert_eq!(chain_hash("zz", "{}"), None);
        assert_eq!(chain_hash(&"g".repeat(64), "{}"), None);
    }

    /// A chain of rows as an honest store would hold them.
    pub fn honest_rows(n: usize) -> Vec<RawRow> {
        let mut prev = GENESIS_HASH.to_string();
        (1..=n)
            .map(|i| {
                let r = record(i, "acme");
                let json = r.canonical_json().unwrap();
                let hash = chain_hash(&prev, &json).unwrap();
                let row = RawRow {
                    seq: i as i64,
                    tenant: r.tenant,
                    prev_hash: prev.clone(),
                    hash: hash.clone(),
                    record: json,
                };
                prev = hash;
                row
            })
            .collect()
    }

    fn verify_rows(rows: &[RawRow]) -> VerifyReport {
        let head = rows
            .last()
            .map(|r| Appended {
                seq: r.seq as u64,
                hash: r.hash.clone(),
            })
            .unwrap_or(Appended {
                seq: 0,
                hash: GENESIS_HASH.into(),
            });
        let mut v = Verifier::new(head);
        for r in rows {
            v.feed(r);
        }
        v.finish()
    }

    #[test]
    fn verifier_pure_cases() {
        let rows = honest_rows(5);
        assert!(verify_rows(&rows).problems.is_empty());
        assert!(verify_rows(&[]).problems.is_empty());

        let mut gap = rows.clone();
        gap.remove(2);
        let p = verify_rows(&gap).problems;
        assert!(p.iter().any(|s| s.starts_with("seq 3: missing")), "{p:?}");
        assert!(p.iter().any(|s| s.starts_with("seq 4: prev_hash")), "{p:?}");

        let mut edited = rows.clone();
        edited[1].record = edited[1].record.replace("signed", "refused");
        let p = verify_rows(&edited).problems;
        assert_eq!(p.len(), 1, "{p:?}");
        assert!(p[0].starts_with("seq 2: hash does not match"));

        // Rows appended after the head was read are fine; a cut end or edited head is not.
        let mut v = Verifier::new(Appended {
            seq: 3,
            hash: rows[2].hash.clone(),
        });
        rows.iter().for_each(|r| v.feed(r));
        assert!(v.finish().problems.is_empty());
        let mut v = Verifier::new(Appended {
            seq: 3,
            hash: rows[3].hash.clone(),
        });
        rows.iter().for_each(|r| v.feed(r));
        let p = v.finish().problems;
        assert!(
            p[0].starts_with("head (seq 3): hash does not match"),
            "{p:?}"
        );
        let mut v = Verifier::new(Appended {
            seq: 0,
            hash: rows[0].hash.clone(),
        });
        v.feed(&rows[0]);
        assert!(v.finish().problems[0].starts_with("head (seq 0)"));
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(64))]

        /// Whatever a database hands back, verification reports rather than panics.
        #[test]
        fn verify_never_panics(
            seqs in proptest::collection::vec(-3i64..20, 0..8),
            texts in proptest::collection::vec(".{0,40}", 8),
            hashes in proptest::collection::vec("[0-9a-g]{0,66}", 16),
        ) {
            let mut rows: Vec<RawRow> = seqs.iter().enumerate().map(|(i, s)| RawRow {
                seq: *s,
                tenant: texts[i].clone(),
                prev_hash: hashes[2 * i].clone(),
                hash: hashes[2 * i + 1].clone(),
                record: texts[(i + 1) % 8].clone(),
            }).collect();
            rows.sort_by_key(|r| r.seq);
            let _ = verify_rows(&rows);
        }

        /// Any record contents chain and verify cleanly.
        #[test]
        fn arbitrary_records_chain(
            fields in proptest::collection::vec("\\PC{0,12}|[\\u{0}-\\u{1f}\"\\\\]{0,4}", 10),
            latency in proptest::prelude::any::<u64>(),
        ) {
            let rec = AuditRecord {
                time: fields[0].clone(), endpoint: fields[1].clone(), tenant: fields[2].clone(),
                subject: fields[3].clone(), token_id: fields[4].clone(),
                issuer_mode: fields[5].clone(), subject_digests: fields[6..8].to_vec(),
                poe_state: fields[8].clone(), quota_state: fields[9].clone(),
                key_id: Some(fields[1].clone()), decision: fields[0].clone(),
                error_code: None, latency_ms: latency, trace_id: fields[3].clone(),
            };
            let json = rec.canonical_json().unwrap();
            let back: AuditRecord = serde_json::from_str(&json).unwrap();
            proptest::prop_assert_eq!(&back, &rec);
            let hash = chain_hash(GENESIS_HASH, &json).unwrap();
            let row = RawRow { seq: 1, tenant: rec.tenant.clone(), prev_hash: GENESIS_HASH.into(), hash, record: json };
            proptest::prop_assert!(verify_rows(&[row]).problems.is_empty());
        }
    }
}
