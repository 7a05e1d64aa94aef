//! The SQLite home of the audit log, for a single replica.
//!
//! rusqlite is blocking, so every call runs off the async runtime on a connection behind a std
//! `Mutex`. WAL mode with `synchronous=FULL`: an append has reached the disk when it returns.
//! Appends go through one writer thread that commits them in groups (group commit: every
//! record waiting when a transaction starts goes into it, up to 512), so one fsync serves
//! many requests; each caller is answered only after the commit that holds its record. Each
//! transaction is `BEGIN IMMEDIATE`, reads the head row, inserts the next records and moves the
//! head, so even two processes on one file cannot fork the chain.
//!
//! It must never report an append it did not commit, nor put the path's secrets (there are
//! none) or record contents into errors.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};

use super::{Appended, RawRow, chain_hash};
use crate::error::ApiError;

/// A SQLite audit log.
pub struct SqliteAudit {
    conn: Arc<Mutex<Connection>>,
    path: PathBuf,
    writer: std::sync::mpsc::Sender<Pending>,
}

/// A record waiting for the writer, and where its answer goes.
struct Pending {
    tenant: String,
    json: String,
    reply: tokio::sync::oneshot::Sender<Result<Appended, ApiError>>,
}

/// Most records one transaction commits.
const MAX_GROUP: usize = 512;

/// The writer: takes every record waiting, commits them in one transaction, answers each.
fn writer(conn: Arc<Mutex<Connection>>, rx: std::sync::mpsc::Receiver<Pending>) {
    while let Ok(first) = rx.recv() {
        let mut group = vec![first];
        while group.len() < MAX_GROUP {
            match rx.try_recv() {
                Ok(p) => group.push(p),
                Err(_) => break,
            }
        }
        let result = match conn.lock() {
            Ok(mut guard) => append_group(&mut guard, &group),
            Err(_) => Err(ApiError::internal("audit database lock poisoned")),
        };
        match result {
            Ok(appended) => {
                for (p, a) in group.into_iter().zip(appended) {
                    let _ = p.reply.send(Ok(a));
                }
            }
            Err(e) => {
                for p in group {
                    let _ = p.reply.send(Err(e.clone()));
                }
            }
        }
    }
}

/// One transaction for `group`, in order.
fn append_group(conn: &mut Connection, group: &[Pending]) -> Result<Vec<Appended>, ApiError> {
    let tx = conn
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(db)?;
    let (mut seq, mut prev): (i64, String) = tx
        .query_row("SELECT seq, hash FROM audit_head WHERE id = 1", [], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })
        .map_err(db)?;
    let mut out = Vec::with_capacity(group.len());
    {
        let mut insert = tx
            .prepare_cached(
                "INSERT INTO audit_log (seq, tenant, prev_hash, hash, record) VALUES (?1, ?2, ?3, ?4, ?5)",
            )
            .map_err(db)?;
        for p in group {
            let hash = chain_hash(&prev, &p.json).ok_or_else(|| {
                ApiError::internal("audit head hash is not 64 hex digits: run verify")
            })?;
            seq += 1;
            insert
                .execute(params![seq, p.tenant, prev, hash, p.json])
                .map_err(db)?;
            out.push(Appended {
                seq: seq as u64,
                hash: hash.clone(),
            });
            prev = hash;
        }
    }
    tx.execute(
        "UPDATE audit_head SET seq = ?1, hash = ?2 WHERE id = 1",
        params![seq, prev],
    )
    .map_err(db)?;
    tx.commit().map_err(db)?;
    Ok(out)
}

impl std::fmt::Debug for SqliteAudit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteAudit")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

fn db(e: rusqlite::Error) -> ApiError {
    ApiError::unavailable(format!("audit database (sqlite): {e}"))
}

const SCHEMA: &str = "
    CREATE TABLE IF NOT EXISTS audit_head (
        id INTEGER PRIMARY KEY CHECK (id = 1),
        seq INTEGER NOT NULL,
        hash TEXT NOT NULL
    );
    INSERT OR IGNORE INTO audit_head (id, seq, hash)
        VALUES (1, 0, '0000000000000000000000000000000000000000000000000000000000000000');
    CREATE TABLE IF NOT EXISTS audit_log (
        seq INTEGER PRIMARY KEY,
        tenant TEXT NOT NULL,
        prev_hash TEXT NOT NULL,
        hash TEXT NOT NULL,
        record TEXT NOT NULL
    );
    CREATE INDEX IF NOT EXISTS audit_log_tenant ON audit_log (tenant, seq);
";

fn row(r: &rusqlite::Row<'_>) -> rusqlite::Result<RawRow> {
    Ok(RawRow {
        seq: r.get(0)?,
        tenant: r.get(1)?,
        prev_hash: r.get(2)?,
        hash: r.get(3)?,
        record: r.get(4)?,
    })
}

impl SqliteAudit {
    pub(crate) async fn open(path: PathBuf) -> Result<Self, ApiError> {
        let p = path.clone();
        let conn = tokio::task::spawn_blocking(move || -> Result<Connection, ApiError> {
            let conn = Connection::open(&p).map_err(db)?;
            // journal_mode answers with a row, so it is queried rather than executed.
            let mode: String = conn
                .query_row("PRAGMA journal_mode=WAL", [], |r| r.get(0))
                .map_err(db)?;
            if !mode.eq_ignore_ascii_case("wal") {
                return Err(ApiError::unavailable(format!(
                    "audit database (sqlite): WAL mode refused (journal_mode is {mode})"
                )));
            }
            conn.execute_batch("PRAGMA synchronous=FULL;").map_err(db)?;
            conn.busy_timeout(std::time::Duration::from_secs(5))
                .map_err(db)?;
            conn.execute_batch(SCHEMA).map_err(db)?;
            Ok(conn)
        })
        .await
        .map_err(|e| ApiError::internal(format!("audit open task: {e}")))??;
        let conn = Arc::new(Mutex::new(conn));
        let (tx, rx) = std::sync::mpsc::channel();
        let writer_conn = Arc::clone(&conn);
        std::thread::Builder::new()
            .name("audit-writer".into())
            .spawn(move || writer(writer_conn, rx))
            .map_err(|e| ApiError::internal(format!("audit writer thread: {e}")))?;
        Ok(SqliteAudit {
            conn,
            path,
            writer: tx,
        })
    }

    /// Runs `f` on the connection off the async runtime.
    async fn with<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Connection) -> Result<T, ApiError> + Send + 'static,
    ) -> Result<T, ApiError> {
        let conn = Arc::clone(&self.conn);
        tokio::task::spawn_blocking(move || {
            let mut guard = conn
                .lock()
                .map_err(|_| ApiError::internal("audit database lock poisoned"))?;
            f(&mut guard)
        })
        .await
        .map_err(|e| ApiError::internal(format!("audit task: {e}")))?
    }

    pub(crate) async fn append(&self, tenant: String, json: String) -> Result<Appended, ApiError> {
        let (reply, answer) = tokio::sync::oneshot::channel();
        self.writer
            .send(Pending {
                tenant,
                json,
                reply,
            })
            .map_err(|_| ApiError::unavailable("audit database (sqlite): the writer stopped"))?;
        answer
            .await
            .map_err(|_| ApiError::unavailable("audit database (sqlite): the writer stopped"))?
    }

    pub(crate) async fn rows_after(&self, after: i64, limit: u64) -> Result<Vec<RawRow>, ApiError> {
        self.with(move |conn| {
            let mut st = conn
                .prepare_cached(
                    "SELECT seq, tenant, prev_hash, hash, record FROM audit_log WHERE seq > ?1 ORDER BY seq LIMIT ?2",
                )
                .map_err(db)?;
            let rows = st
                .query_map(params![after, limit as i64], row)
                .map_err(db)?
                .collect::<Result<Vec<_>, _>>()
                .map_err(db)?;
            Ok(rows)
        })
        .await
    }

    pub(crate) async fn read(
        &self,
        tenant: Option<String>,
        since: i64,
        limit: i64,
    ) -> Result<Vec<RawRow>, ApiError> {
        self.with(move |conn| {
            let mut st = conn
                .prepare_cached(
                    "SELECT seq, tenant, prev_hash, hash, record FROM audit_log
                     WHERE seq > ?1 AND (?2 IS NULL OR tenant = ?2) ORDER BY seq LIMIT ?3",
                )
                .map_err(db)?;
            let rows = st
                .query_map(params![since, tenant, limit], row)
                .map_err(db)?
                .collect::<Result<Vec<_>, _>>()
                .map_err(db)?;
            Ok(rows)
        })
        .await
    }

    pub(crate) async fn head(&self) -> Result<Appended, ApiError> {
        self.with(|conn| {
            let head: Option<(i64, String)> = conn
                .query_row("SELECT seq, hash FROM audit_head WHERE id = 1", [], |r| {
                    Ok((r.get(0)?, r.get(1)?))
                })
                .optional()
                .map_err(db)?;
            let (seq, hash) =
                head.ok_or_else(|| ApiError::internal("audit head row is missing: run verify"))?;
            Ok(Appended {
                seq: seq.max(0) as u64,
                hash,
            })
        })
        .await
    }

    pub(crate) async fn ping(&self) -> Result<(), ApiError> {
        self.with(|conn| {
            conn.query_row("SELECT 1", [], |_| Ok(())).map_err(db)?;
            Ok(())
        })
        .await
    }

    /// Runs raw SQL on the file, for tamper tests.
    #[cfg(test)]
    pub(crate) async fn exec(&self, sql: &'static str) {
        self.with(move |conn| conn.execute_batch(sql).map_err(db))
            .await
            .unwrap();
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::record;
    use super::super::{AuditQuery, AuditStore};

    async fn store(n: usize) -> (tempfile::TempDir, AuditStore) {
        let dir = tempfile::tempdir().unwrap();
        let s = AuditStore::open_sqlite(dir.path().join("audit.db"))
            .await
            .unwrap();
        for i in 1..=n {
            let a = s
                .append(record(i, if i.is_multiple_of(2) { "acme" } else { "beta" }))
                .await
                .unwrap();
            assert_eq!(a.seq, i as u64);
        }
        (dir, s)
    }

    fn sqlite(s: &AuditStore) -> &super::SqliteAudit {
        match s {
            AuditStore::Sqlite(x) => x,
            AuditStore::Postgres(_) => unreachable!(),
        }
    }

    #[tokio::test]
    async fn chain_verifies_reads_and_survives_reopen() {
        let (dir, s) = store(20).await;
        s.ping().await.unwrap();
        let r = s.verify().await.unwrap();
        assert!(r.problems.is_empty(), "{:?}", r.problems);
        assert_eq!(r.records, 20);
        assert_eq!(r.head.seq, 20);
        assert_eq!(s.head().await.unwrap(), r.head);

        let page = s
            .read(AuditQuery {
                tenant: Some("acme".into()),
                since_seq: Some(4),
                limit: 3,
            })
            .await
            .unwrap();
        let seqs: Vec<u64> = page.iter().map(|r| r.seq).collect();
        assert_eq!(seqs, [6, 8, 10]);
        assert_eq!(page[0].record, record(6, "acme"));
        let all = s
            .read(AuditQuery {
                tenant: None,
                since_seq: Some(18),
                limit: 5000,
            })
            .await
            .unwrap();
        assert_eq!(all.iter().map(|r| r.seq).collect::<Vec<_>>(), [19, 20]);
        let q: AuditQuery = serde_json::from_str("{\"tenant\": null}").unwrap();
        assert_eq!(q.limit, super::super::DEFAULT_READ);
        drop(s);

        let s = AuditStore::open_sqlite(dir.path().join("audit.db"))
            .await
            .unwrap();
        assert_eq!(s.append(record(21, "acme")).await.unwrap().seq, 21);
        assert!(s.verify().await.unwrap().problems.is_empty());
    }

    #[tokio::test]
    async fn edited_record_is_reported() {
        let (_d, s) = store(6).await;
        sqlite(&s)
            .exec("UPDATE audit_log SET record = replace(record, '\"signed\"', '\"refused\"') WHERE seq = 4")
            .await;
        let p = s.verify().await.unwrap().problems;
        assert_eq!(p.len(), 1, "{p:?}");
        assert!(p[0].starts_with("seq 4: hash does not match"), "{p:?}");
    }

    #[tokio::test]
    async fn removed_records_are_reported() {
        let (_d, s) = store(6).await;
        sqlite(&s).exec("DELETE FROM audit_log WHERE seq = 3").await;
        let p = s.verify().await.unwrap().problems;
        assert!(p.iter().any(|x| x.starts_with("seq 3: missing")), "{p:?}");
        assert!(p.iter().any(|x| x.starts_with("seq 4: prev_hash")), "{p:?}");

        // Truncating the end is caught by the head.
        sqlite(&s).exec("DELETE FROM audit_log WHERE seq = 6").await;
        let p = s.verify().await.unwrap().problems;
        assert!(p.iter().any(|x| x.starts_with("head (seq 6)")), "{p:?}");
    }

    #[tokio::test]
    async fn swapped_records_are_reported() {
        let (_d, s) = store(6).await;
        // Whole rows moved to each other's places: the links break.
        sqlite(&s)
            .exec(
                "UPDATE audit_log SET seq = -1 WHERE seq = 2;
                 UPDATE audit_log SET seq = 2 WHERE seq = 3;
                 UPDATE audit_log SET seq = 3 WHERE seq = -1;",
            )
            .await;
        let p = s.verify().await.unwrap().problems;
        for seq in [2, 3, 4] {
            assert!(
                p.iter()
                    .any(|x| x.starts_with(&format!("seq {seq}: prev_hash"))),
                "{seq} {p:?}"
            );
        }
        let (_d, s) = store(6).await;
        // Only the contents swapped: the hashes no longer match.
        sqlite(&s)
            .exec(
                "UPDATE audit_log SET record = (SELECT record FROM audit_log WHERE seq = 5) WHERE seq = 4;
                 UPDATE audit_log SET record = (SELECT record FROM audit_log WHERE seq = 3) WHERE seq = 5;",
            )
            .await;
        let p = s.verify().await.unwrap().problems;
        assert!(p.iter().any(|x| x.starts_with("seq 4: hash")), "{p:?}");
        assert!(p.iter().any(|x| x.starts_with("seq 5: hash")), "{p:?}");
    }
}

#[cfg(test)]
mod group_commit_tests {
    use super::*;

    /// Many requests appending at once share transactions, and still make one chain with no
    /// gap, each caller told its own place in it.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn concurrent_appends_make_one_chain() {
        let dir = tempfile::tempdir().unwrap();
        let store = Arc::new(SqliteAudit::open(dir.path().join("a.db")).await.unwrap());
        let mut tasks = Vec::new();
        for i in 0..200 {
            let s = Arc::clone(&store);
            tasks.push(tokio::spawn(async move {
                s.append("t".into(), format!("{{\"n\":{i}}}"))
                    .await
                    .unwrap()
            }));
        }
        let mut seqs = Vec::new();
        for t in tasks {
            seqs.push(t.await.unwrap().seq);
        }
        seqs.sort_unstable();
        assert_eq!(seqs, (1..=200).collect::<Vec<u64>>());
        let rows = store.rows_after(0, 1000).await.unwrap();
        assert_eq!(rows.len(), 200);
        let mut prev = super::super::GENESIS_HASH.to_string();
        for r in &rows {
            assert_eq!(r.prev_hash, prev);
            assert_eq!(chain_hash(&prev, &r.record).unwrap(), r.hash);
            prev = r.hash.clone();
        }
    }
}
