//! The PostgreSQL home of the audit log, shared by every replica of `vouch serve`.
//!
//! Tables live in a schema of their own (a validated name, as the log's PostgreSQL index does).
//! An append is one transaction that takes the one-row head with `SELECT … FOR UPDATE`, so
//! appends from all replicas queue on that row and form ONE chain: each inserts seq+1 with
//! the previous hash and moves the head before releasing the lock at commit.
//!
//! Appends are committed in groups: one writer task per handle takes every record waiting
//! (up to 512) into one transaction, so one commit serves many requests; each caller is
//! answered after the commit that holds its record. The writer is a task of its own so that
//! a request dropped mid-way (its client went away) never aborts other requests' commit.
//!
//! Each handle keeps one connection (its task spawned on the runtime). A dead connection is
//! replaced on the next call; the call that found it dead fails with `unavailable`, and the
//! caller refuses to sign (it never signs without an audit record). Every round trip is bounded
//! by a timeout so a hung database is an `unavailable`, not a hung request.
//!
//! It must never echo the connection string (it may hold a password) in an error or `Debug`,
//! nor interpolate anything but the validated schema name into SQL.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{Mutex, mpsc, oneshot};
use tokio_postgres::{Client, Config, NoTls};

use super::{Appended, GENESIS_HASH, RawRow, chain_hash};
use crate::error::ApiError;

/// Bound on connecting.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// Bound on one operation (an append waits here for other replicas' appends too).
const OP_TIMEOUT: Duration = Duration::from_secs(10);

/// Most records one transaction commits.
const MAX_GROUP: usize = 512;

/// A PostgreSQL audit log in one schema: the connection, and the writer task's queue.
pub struct PgAudit {
    conn: Arc<PgConn>,
    writer: mpsc::UnboundedSender<Pending>,
}

/// A record waiting for the writer, and where its answer goes.
struct Pending {
    tenant: String,
    json: String,
    reply: oneshot::Sender<Result<Appended, ApiError>>,
}

impl std::ops::Deref for PgAudit {
    type Target = PgConn;
    fn deref(&self) -> &PgConn {
        &self.conn
    }
}

impl std::fmt::Debug for PgAudit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.conn.fmt(f)
    }
}

impl PgAudit {
    pub(crate) async fn open(params: &str, schema: &str) -> Result<Self, ApiError> {
        let conn = Arc::new(PgConn::open(params, schema).await?);
        let (writer, rx) = mpsc::unbounded_channel();
        tokio::spawn(write_groups(conn.clone(), rx));
        Ok(PgAudit { conn, writer })
    }

    /// Appends one record; returns once the transaction holding it has committed.
    pub(crate) async fn append(&self, tenant: &str, json: &str) -> Result<Appended, ApiError> {
        let (reply, answer) = oneshot::channel();
        let gone = || ApiError::unavailable("audit database (postgres): the writer stopped");
        self.writer
            .send(Pending {
                tenant: tenant.to_owned(),
                json: json.to_owned(),
                reply,
            })
            .map_err(|_| gone())?;
        answer.await.map_err(|_| gone())?
    }
}

/// The writer: takes every record waiting, commits them in one transaction, answers each.
/// Ends when the handle (the queue's sender) is dropped.
async fn write_groups(conn: Arc<PgConn>, mut rx: mpsc::UnboundedReceiver<Pending>) {
    while let Some(first) = rx.recv().await {
        let mut group = vec![first];
        while group.len() < MAX_GROUP {
            match rx.try_recv() {
                Ok(p) => group.push(p),
                Err(_) => break,
            }
        }
        match conn.append_group(&group).await {
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

/// The connection and schema: every read, and the writer's transactions.
pub struct PgConn {
    config: Box<Config>,
    schema: String,
    client: Mutex<Option<Client>>,
}

impl std::fmt::Debug for PgConn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Not the config: it is the connection string, and that may carry a password.
        f.debug_struct("PgAudit")
            .field("schema", &self.schema)
            .finish_non_exhaustive()
    }
}

fn pg(e: tokio_postgres::Error) -> ApiError {
    // tokio-postgres errors name what failed (I/O, a server message), never the config.
    ApiError::unavailable(format!("audit database (postgres): {e}"))
}

fn timed_out() -> ApiError {
    ApiError::unavailable("audit database (postgres): timed out")
}

/// Letters, digits and `_` only: the name is spliced into SQL.
fn valid_schema(schema: &str) -> bool {
    !schema.is_empty()
        && schema.len() <= 63
        && schema
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_')
        && !schema.as_bytes()[0].is_ascii_digit()
}

fn raw(r: &tokio_postgres::Row) -> Result<RawRow, ApiError> {
    let get = |e: tokio_postgres::Error| ApiError::internal(format!("audit row: {e}"));
    Ok(RawRow {
        seq: r.try_get(0).map_err(get)?,
        tenant: r.try_get(1).map_err(get)?,
        prev_hash: r.try_get(2).map_err(get)?,
        hash: r.try_get(3).map_err(get)?,
        record: r.try_get(4).map_err(get)?,
    })
}

impl PgConn {
    async fn open(params: &str, schema: &str) -> Result<Self, ApiError> {
        if !valid_schema(schema) {
            return Err(ApiError::internal(format!(
                "audit schema name `{schema}` must be letters, digits and _ (not starting with a digit)"
            )));
        }
        let mut config: Config = params.parse().map_err(|_| {
            ApiError::internal("audit database: the connection string does not parse")
        })?;
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(CONNECT_TIMEOUT);
        }
        let store = PgConn {
            config: Box::new(config),
            schema: schema.to_string(),
            client: Mutex::new(None),
        };
        let s = &store.schema;
        // The advisory lock keeps replicas that start together from racing on CREATE.
        let ddl = format!(
            "BEGIN;
             SELECT pg_advisory_xact_lock(hashtext('vouch_audit_ddl'));
             CREATE SCHEMA IF NOT EXISTS {s};
             CREATE TABLE IF NOT EXISTS {s}.audit_head (
                 id INT PRIMARY KEY CHECK (id = 1),
                 seq BIGINT NOT NULL,
                 hash TEXT NOT NULL);
             INSERT INTO {s}.audit_head VALUES (1, 0, '{GENESIS_HASH}') ON CONFLICT DO NOTHING;
             CREATE TABLE IF NOT EXISTS {s}.audit_log (
                 seq BIGINT PRIMARY KEY,
                 tenant TEXT NOT NULL,
                 prev_hash TEXT NOT NULL,
                 hash TEXT NOT NULL,
                 record TEXT NOT NULL);
             CREATE INDEX IF NOT EXISTS audit_log_tenant ON {s}.audit_log (tenant, seq);
             COMMIT;"
        );
        let mut guard = store.client.lock().await;
        let client = store.connected(&mut guard).await?;
        let r = tokio::time::timeout(OP_TIMEOUT, client.batch_execute(&ddl)).await;
        Self::settle(&mut guard, r)?;
        drop(guard);
        Ok(store)
    }

    /// The live client, connecting when there is none or the last one died.
    async fn connected<'a>(
        &self,
        slot: &'a mut Option<Client>,
    ) -> Result<&'a mut Client, ApiError> {
        if slot.as_ref().is_none_or(|c| c.is_closed()) {
            *slot = None;
            let (client, connection) =
                tokio::time::timeout(CONNECT_TIMEOUT, self.config.connect(NoTls))
                    .await
                    .map_err(|_| timed_out())?
                    .map_err(pg)?;
            tokio::spawn(async move {
                if let Err(e) = connection.await {
                    tracing::warn!(error = %e, "audit database connection ended");
                }
            });
            *slot = Some(client);
        }
        slot.as_mut()
            .ok_or_else(|| ApiError::internal("audit database: no connection"))
    }

    /// Maps an operation's outcome, dropping the connection when it timed out or died so that
    /// the next call starts clean (a dropped client also aborts any open transaction).
    fn settle<T>(
        slot: &mut Option<Client>,
        r: Result<Result<T, tokio_postgres::Error>, tokio::time::error::Elapsed>,
    ) -> Result<T, ApiError> {
        match r {
            Ok(Ok(v)) => Ok(v),
            Ok(Err(e)) => {
                if slot.as_ref().is_none_or(|c| c.is_closed()) || e.is_closed() {
                    *slot = None;
                }
                Err(pg(e))
            }
            Err(_) => {
                *slot = None;
                Err(timed_out())
            }
        }
    }

    /// One transaction for `group`, in order: takes the head row (so replicas queue on it),
    /// inserts the records chained from it, moves the head, commits.
    async fn append_group(&self, group: &[Pending]) -> Result<Vec<Appended>, ApiError> {
        let s = &self.schema;
        let mut guard = self.client.lock().await;
        let client = self.connected(&mut guard).await?;
        let r = tokio::time::timeout(OP_TIMEOUT, async {
            let tx = client.transaction().await?;
            let head = tx
                .query_one(
                    &format!("SELECT seq, hash FROM {s}.audit_head WHERE id = 1 FOR UPDATE"),
                    &[],
                )
                .await?;
            let mut seq: i64 = head.try_get(0)?;
            let mut prev: String = head.try_get(1)?;
            let mut rows = (Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new());
            let mut out = Vec::with_capacity(group.len());
            for p in group {
                let Some(hash) = chain_hash(&prev, &p.json) else {
                    // Rolled back on drop; the head is corrupt and verify will say how.
                    return Ok(Err(ApiError::internal(
                        "audit head hash is not 64 hex digits: run verify",
                    )));
                };
                seq += 1;
                rows.0.push(seq);
                rows.1.push(p.tenant.as_str());
                rows.2.push(std::mem::replace(&mut prev, hash.clone()));
                rows.3.push(hash.clone());
                rows.4.push(p.json.as_str());
                out.push(Appended {
                    seq: seq as u64,
                    hash,
                });
            }
            tx.execute(
                &format!(
                    "INSERT INTO {s}.audit_log (seq, tenant, prev_hash, hash, record)
                     SELECT * FROM unnest($1::bigint[], $2::text[], $3::text[], $4::text[], $5::text[])"
                ),
                &[&rows.0, &rows.1, &rows.2, &rows.3, &rows.4],
            )
            .await?;
            tx.execute(
                &format!("UPDATE {s}.audit_head SET seq = $1, hash = $2 WHERE id = 1"),
                &[&seq, &prev],
            )
            .await?;
            tx.commit().await?;
            Ok(Ok(out))
        })
        .await;
        Self::settle(&mut guard, r)?
    }

    pub(crate) async fn rows_after(&self, after: i64, limit: u64) -> Result<Vec<RawRow>, ApiError> {
        let sql = format!(
            "SELECT seq, tenant, prev_hash, hash, record FROM {}.audit_log WHERE seq > $1 ORDER BY seq LIMIT $2",
            self.schema
        );
        let mut guard = self.client.lock().await;
        let client = self.connected(&mut guard).await?;
        let r =
            tokio::time::timeout(OP_TIMEOUT, client.query(&sql, &[&after, &(limit as i64)])).await;
        Self::settle(&mut guard, r)?.iter().map(raw).collect()
    }

    pub(crate) async fn read(
        &self,
        tenant: Option<&str>,
        since: i64,
        limit: i64,
    ) -> Result<Vec<RawRow>, ApiError> {
        let sql = format!(
            "SELECT seq, tenant, prev_hash, hash, record FROM {}.audit_log
             WHERE seq > $1 AND ($2::text IS NULL OR tenant = $2) ORDER BY seq LIMIT $3",
            self.schema
        );
        let mut guard = self.client.lock().await;
        let client = self.connected(&mut guard).await?;
        let r =
            tokio::time::timeout(OP_TIMEOUT, client.query(&sql, &[&since, &tenant, &limit])).await;
        Self::settle(&mut guard, r)?.iter().map(raw).collect()
    }

    pub(crate) async fn head(&self) -> Result<Appended, ApiError> {
        let sql = format!(
            "SELECT seq, hash FROM {}.audit_head WHERE id = 1",
            self.schema
        );
        let mut guard = self.client.lock().await;
        let client = self.connected(&mut guard).await?;
        let r = tokio::time::timeout(OP_TIMEOUT, client.query_opt(&sql, &[])).await;
        let row = Self::settle(&mut guard, r)?
            .ok_or_else(|| ApiError::internal("audit head row is missing: run verify"))?;
        let bad = |e: tokio_postgres::Error| ApiError::internal(format!("audit head: {e}"));
        let seq: i64 = row.try_get(0).map_err(bad)?;
        Ok(Appended {
            seq: seq.max(0) as u64,
            hash: row.try_get(1).map_err(bad)?,
        })
    }

    pub(crate) async fn ping(&self) -> Result<(), ApiError> {
        let mut guard = self.client.lock().await;
        let client = self.connected(&mut guard).await?;
        let r = tokio::time::timeout(OP_TIMEOUT, client.batch_execute("SELECT 1")).await;
        Self::settle(&mut guard, r)
    }

    /// Runs raw SQL (with `{s}` for the schema), for tamper tests.
    #[cfg(test)]
    pub(crate) async fn exec(&self, sql: &str) {
        let sql = sql.replace("{s}", &self.schema);
        let mut guard = self.client.lock().await;
        let client = self.connected(&mut guard).await.unwrap();
        client.batch_execute(&sql).await.unwrap();
    }

    /// Kills this handle's connection from the server side, for the reconnect test.
    #[cfg(test)]
    pub(crate) async fn kill_connection(&self) {
        let mut guard = self.client.lock().await;
        let client = self.connected(&mut guard).await.unwrap();
        let pid: i32 = client
            .query_one("SELECT pg_backend_pid()", &[])
            .await
            .unwrap()
            .get(0);
        let (other, conn) = self.config.connect(NoTls).await.unwrap();
        tokio::spawn(conn);
        other
            .execute("SELECT pg_terminate_backend($1)", &[&pid])
            .await
            .unwrap();
        // Give the server a moment to close the socket.
        for _ in 0..100 {
            if client.is_closed() {
                break;
            }
            let _ = client.batch_execute("SELECT 1").await;
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        assert!(client.is_closed(), "the connection was not killed");
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::super::tests::record;
    use super::super::{AuditQuery, AuditStore};
    use super::*;

    fn params() -> String {
        std::env::var("VOUCH_TEST_PG")
            .unwrap_or_else(|_| "host=127.0.0.1 port=5432 user=postgres dbname=test".into())
    }

    /// A schema of the test's own, dropped when the test ends (even by a panic).
    struct Schema(String);

    impl Schema {
        fn new() -> Self {
            Schema(format!("vouch_audit_t_{}", uuid::Uuid::new_v4().simple()))
        }
    }

    impl Drop for Schema {
        fn drop(&mut self) {
            let name = self.0.clone();
            // A runtime of its own on a thread of its own: Drop may run inside the test's.
            let _ = std::thread::spawn(move || {
                let rt = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .unwrap();
                rt.block_on(async {
                    let (c, conn) = tokio_postgres::connect(&params(), NoTls).await.unwrap();
                    tokio::spawn(conn);
                    c.batch_execute(&format!("DROP SCHEMA IF EXISTS {name} CASCADE"))
                        .await
                        .unwrap();
                });
            })
            .join();
        }
    }

    fn pgs(s: &AuditStore) -> &PgAudit {
        match s {
            AuditStore::Postgres(p) => p,
            AuditStore::Sqlite(_) => unreachable!(),
        }
    }

    async fn store(schema: &Schema, n: usize) -> AuditStore {
        let s = AuditStore::open_postgres(&params(), &schema.0)
            .await
            .unwrap();
        for i in 1..=n {
            s.append(record(i, if i.is_multiple_of(2) { "acme" } else { "beta" }))
                .await
                .unwrap();
        }
        s
    }

    #[tokio::test]
    async fn rejects_bad_schema_and_hides_the_password() {
        for bad in ["", "a;drop", "1abc", "a-b", &"x".repeat(64)] {
            assert!(AuditStore::open_postgres(&params(), bad).await.is_err());
        }
        let e = AuditStore::open_postgres(
            // vouch:allow-next-line secrets/database-url a made-up password the test proves is never echoed
            "postgresql://u:hunter2secret@127.0.0.1:1/db?connect_timeout=1",
            "vouch_audit_never",
        )
        .await
        .unwrap_err();
        assert_eq!(e.code, crate::Code::Unavailable);
        assert!(!e.message.contains("hunter2secret"), "{e}");
        // vouch:allow-next-line secrets/database-url the same made-up password, in a malformed URL
        let e = AuditStore::open_postgres("postgresql://u:hunter2secret@[bad", "x")
            .await
            .unwrap_err();
        assert!(!e.message.contains("hunter2secret"), "{e}");
    }

    #[tokio::test]
    async fn chain_verifies_and_reads() {
        let schema = Schema::new();
        let s = store(&schema, 12).await;
        s.ping().await.unwrap();
        let r = s.verify().await.unwrap();
        assert!(r.problems.is_empty(), "{:?}", r.problems);
        assert_eq!((r.records, r.head.seq), (12, 12));
        let page = s
            .read(AuditQuery {
                tenant: Some("beta".into()),
                since_seq: None,
                limit: 2,
            })
            .await
            .unwrap();
        assert_eq!(page.iter().map(|r| r.seq).collect::<Vec<_>>(), [1, 3]);
        assert_eq!(page[1].record, record(3, "beta"));
        let tail = s
            .read(AuditQuery {
                tenant: None,
                since_seq: Some(10),
                limit: 100,
            })
            .await
            .unwrap();
        assert_eq!(tail.iter().map(|r| r.seq).collect::<Vec<_>>(), [11, 12]);
        assert!(!format!("{s:?}").contains("postgres user"));
    }

    #[tokio::test]
    async fn reconnects_after_the_connection_dies() {
        let schema = Schema::new();
        let s = store(&schema, 2).await;
        pgs(&s).kill_connection().await;
        // The dead connection is noticed and replaced: the chain goes on.
        let a = s.append(record(3, "acme")).await.unwrap();
        assert_eq!(a.seq, 3);
        assert!(s.verify().await.unwrap().problems.is_empty());
    }

    #[tokio::test]
    async fn tampering_is_reported() {
        let schema = Schema::new();
        let s = store(&schema, 8).await;
        let p = pgs(&s);
        p.exec("UPDATE {s}.audit_log SET record = replace(record, '\"jti-2\"', '\"jti-X\"') WHERE seq = 2")
            .await;
        p.exec("DELETE FROM {s}.audit_log WHERE seq = 5").await;
        // Swap the whole rows 6 and 7.
        p.exec(
            "UPDATE {s}.audit_log SET seq = -1 WHERE seq = 6;
             UPDATE {s}.audit_log SET seq = 6 WHERE seq = 7;
             UPDATE {s}.audit_log SET seq = 7 WHERE seq = -1;",
        )
        .await;
        let problems = s.verify().await.unwrap().problems;
        let has = |prefix: &str| problems.iter().any(|x| x.starts_with(prefix));
        assert!(has("seq 2: hash does not match"), "{problems:?}");
        assert!(has("seq 5: missing"), "{problems:?}");
        assert!(has("seq 6: prev_hash"), "{problems:?}");
        assert!(has("seq 7: prev_hash"), "{problems:?}");
        assert!(has("seq 8: prev_hash"), "{problems:?}");
        assert!(
            !has("seq 1:") && !has("seq 3:") && !has("seq 4:"),
            "{problems:?}"
        );

        // Contents swapped between two rows: both hashes fail.
        let schema2 = Schema::new();
        let s = store(&schema2, 4).await;
        pgs(&s)
            .exec(
                "UPDATE {s}.audit_log a SET record = b.record FROM {s}.audit_log b
                 WHERE (a.seq, b.seq) IN ((2, 4), (4, 2))",
            )
            .await;
        let problems = s.verify().await.unwrap().problems;
        assert!(
            problems.iter().any(|x| x.starts_with("seq 2: hash")),
            "{problems:?}"
        );
        assert!(
            problems.iter().any(|x| x.starts_with("seq 4: hash")),
            "{problems:?}"
        );
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn two_replicas_append_one_chain() {
        let schema = Schema::new();
        let a = Arc::new(
            AuditStore::open_postgres(&params(), &schema.0)
                .await
                .unwrap(),
        );
        let b = Arc::new(
            AuditStore::open_postgres(&params(), &schema.0)
                .await
                .unwrap(),
        );
        let mut tasks = Vec::new();
        for (n, store) in [a.clone(), b.clone()].into_iter().enumerate() {
            tasks.push(tokio::spawn(async move {
                let mut seqs = Vec::new();
                for i in 0..50 {
                    let tenant = if n == 0 { "acme" } else { "beta" };
                    seqs.push(store.append(record(i, tenant)).await.unwrap().seq);
                }
                seqs
            }));
        }
        let mut all = Vec::new();
        for t in tasks {
            all.extend(t.await.unwrap());
        }
        all.sort_unstable();
        assert_eq!(all, (1..=100).collect::<Vec<u64>>());
        for s in [&a, &b] {
            let r = s.verify().await.unwrap();
            assert!(r.problems.is_empty(), "{:?}", r.problems);
            assert_eq!((r.records, r.head.seq), (100, 100));
        }
    }
}
