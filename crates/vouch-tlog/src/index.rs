//! The sequencing index: which entry hash sits at which index (for deduplication), the
//! committed tree size, and every checkpoint ever published. Its transaction commit is the
//! point at which a batch becomes part of the log.
//!
//! SQLite (rusqlite, WAL, `synchronous=FULL`) is the embedded default; a `BEGIN IMMEDIATE`
//! transaction serialises appenders across processes.

use std::collections::HashMap;
use std::path::Path;
use std::time::Duration;

use rusqlite::{Connection, OptionalExtension, params};

use crate::merkle::Hash;

#[derive(Debug, thiserror::Error)]
pub enum IndexError {
    #[error("index database: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("index database: {0}")]
    Other(String),
}

/// A sequencing index shared by every appender of one log.
pub trait Index: Send {
    /// Starts the append transaction (taking the log's write lock) and returns the committed
    /// tree size.
    fn begin(&mut self) -> Result<u64, IndexError>;
    /// Existing indices of entries with these leaf hashes.
    fn lookup(&mut self, hashes: &[Hash]) -> Result<HashMap<Hash, u64>, IndexError>;
    /// Records entries `start..start+hashes.len()` and the new checkpoint, and commits.
    fn commit(
        &mut self,
        start: u64,
        hashes: &[Hash],
        size: u64,
        checkpoint: &str,
    ) -> Result<(), IndexError>;
    /// Abandons the transaction.
    fn rollback(&mut self) -> Result<(), IndexError>;
    /// The latest published checkpoint.
    fn latest_checkpoint(&mut self) -> Result<Option<String>, IndexError>;
    /// Every published checkpoint, by increasing size.
    fn checkpoints(&mut self) -> Result<Vec<(u64, String)>, IndexError>;
    /// The index of an entry by its leaf hash.
    fn find(&mut self, hash: &Hash) -> Result<Option<u64>, IndexError> {
        Ok(self.lookup(std::slice::from_ref(hash))?.get(hash).copied())
    }
}

/// The SQLite index (`<dir>/.state/index.db`).
pub struct SqliteIndex {
    conn: Connection,
}

impl SqliteIndex {
    pub fn open(path: &Path) -> Result<Self, IndexError> {
        let conn = Connection::open(path)?;
        conn.busy_timeout(Duration::from_secs(60))?;
        conn.execute_batch(
            "PRAGMA journal_mode=WAL;
             PRAGMA synchronous=FULL;
             PRAGMA cache_size=-65536;
             CREATE TABLE IF NOT EXISTS entries (hash BLOB PRIMARY KEY, idx INTEGER NOT NULL UNIQUE) WITHOUT ROWID;
             CREATE TABLE IF NOT EXISTS checkpoints (size INTEGER PRIMARY KEY, note TEXT NOT NULL);",
        )?;
        Ok(SqliteIndex { conn })
    }

    /// Reads the published checkpoints of an existing index without writing to it: an audit
    /// never creates tables in the log it audits. A database without vouch's `checkpoints`
    /// table (empty or foreign) is an error, not an empty history.
    pub fn read_checkpoints(path: &Path) -> Result<Vec<(u64, String)>, IndexError> {
        use rusqlite::OpenFlags;
        let conn = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )?;
        conn.busy_timeout(Duration::from_secs(60))?;
        let has_table: bool = conn
            .query_row(
                "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'checkpoints'",
                [],
                |r| r.get::<_, i64>(0),
            )
            .map(|n| n > 0)?;
        if !has_table {
            return Err(IndexError::Other(
                "not a vouch log index (no `checkpoints` table); the log's history is missing"
                    .into(),
            ));
        }
        let mut index = SqliteIndex { conn };
        index.checkpoints()
    }

    fn size(&self) -> Result<u64, IndexError> {
        let s: Option<i64> = self
            .conn
            .query_row("SELECT max(size) FROM checkpoints", [], |r| r.get(0))
            .optional()?
            .flatten();
        Ok(s.unwrap_or(0) as u64)
    }
}

impl Index for SqliteIndex {
    fn begin(&mut self) -> Result<u64, IndexError> {
        self.conn.execute_batch("BEGIN IMMEDIATE")?;
        match self.size() {
            Ok(s) => Ok(s),
            Err(e) => {
                let _ = self.conn.execute_batch("ROLLBACK");
                Err(e)
            }
        }
    }

    fn lookup(&mut self, hashes: &[Hash]) -> Result<HashMap<Hash, u64>, IndexError> {
        let mut out = HashMap::new();
        let mut stmt = self
            .conn
            .prepare_cached("SELECT idx FROM entries WHERE hash = ?1")?;
        for h in hashes {
            if let Some(i) = stmt
                .query_row([&h[..]], |r| r.get::<_, i64>(0))
                .optional()?
            {
                out.insert(*h, i as u64);
            }
        }
        Ok(out)
    }

    fn commit(
        &mut self,
        start: u64,
        hashes: &[Hash],
        size: u64,
        checkpoint: &str,
    ) -> Result<(), IndexError> {
        let r = (|| {
            let mut ins = self
                .conn
                .prepare_cached("INSERT INTO entries (hash, idx) VALUES (?1, ?2)")?;
            for (i, h) in hashes.iter().enumerate() {
                ins.execute(params![&h[..], (start + i as u64) as i64])?;
            }
            self.conn.execute(
                "INSERT INTO checkpoints (size, note) VALUES (?1, ?2)",
                params![size as i64, checkpoint],
            )?;
            self.conn.execute_batch("COMMIT")
        })();
        if r.is_err() {
            let _ = self.conn.execute_batch("ROLLBACK");
        }
        Ok(r?)
    }

    fn rollback(&mut self) -> Result<(), IndexError> {
        if !self.conn.is_autocommit() {
            self.conn.execute_batch("ROLLBACK")?;
        }
        Ok(())
    }

    fn latest_checkpoint(&mut self) -> Result<Option<String>, IndexError> {
        Ok(self
            .conn
            .query_row(
                "SELECT note FROM checkpoints ORDER BY size DESC LIMIT 1",
                [],
                |r| r.get(0),
            )
            .optional()?)
    }

    fn checkpoints(&mut self) -> Result<Vec<(u64, String)>, IndexError> {
        let mut stmt = self
            .conn
            .prepare("SELECT size, note FROM checkpoints ORDER BY size")?;
        let rows = stmt.query_map([], |r| {
            Ok((r.get::<_, i64>(0)? as u64, r.get::<_, String>(1)?))
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }
}
