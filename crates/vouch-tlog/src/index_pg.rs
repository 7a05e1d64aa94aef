//! The PostgreSQL sequencing index, for many `vouch serve` replicas sharing one log.
//!
//! The same tables as the SQLite index, in a schema of their own; a one-row `state` table
//! locked with `SELECT … FOR UPDATE` serialises appenders across replicas.

use std::collections::HashMap;

use postgres::{Client, NoTls};

use crate::index::{Index, IndexError};
use crate::merkle::Hash;

/// A PostgreSQL index in `schema`.
pub struct PgIndex {
    client: Client,
    schema: String,
    in_tx: bool,
}

fn pg(e: postgres::Error) -> IndexError {
    IndexError::Other(format!("postgres: {e}"))
}

impl PgIndex {
    /// Connects (`host=127.0.0.1 user=postgres dbname=test` or a `postgresql://` URL) and
    /// creates the tables in `schema` if needed.
    pub fn connect(params: &str, schema: &str) -> Result<Self, IndexError> {
        if schema.is_empty()
            || !schema
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_')
        {
            return Err(IndexError::Other(format!(
                "schema name `{schema}` must be letters, digits and _"
            )));
        }
        let mut client = Client::connect(params, NoTls).map_err(pg)?;
        client
            .batch_execute(&format!(
                "CREATE SCHEMA IF NOT EXISTS {schema};
                 CREATE TABLE IF NOT EXISTS {schema}.state (id INT PRIMARY KEY, size BIGINT NOT NULL);
                 INSERT INTO {schema}.state VALUES (1, 0) ON CONFLICT DO NOTHING;
                 CREATE TABLE IF NOT EXISTS {schema}.entries (hash BYTEA PRIMARY KEY, idx BIGINT NOT NULL UNIQUE);
                 CREATE TABLE IF NOT EXISTS {schema}.checkpoints (size BIGINT PRIMARY KEY, note TEXT NOT NULL);"
            ))
            .map_err(pg)?;
        Ok(PgIndex {
            client,
            schema: schema.to_string(),
            in_tx: false,
        })
    }

    /// Drops the schema and every table in it (tests, decommissioning a log).
    pub fn drop_schema(params: &str, schema: &str) -> Result<(), IndexError> {
        if schema.is_empty()
            || !schema
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_')
        {
            return Err(IndexError::Other(format!(
                "schema name `{schema}` must be letters, digits and _"
            )));
        }
        let mut client = Client::connect(params, NoTls).map_err(pg)?;
        client
            .batch_execute(&format!("DROP SCHEMA IF EXISTS {schema} CASCADE"))
            .map_err(pg)
    }
}

impl Index for PgIndex {
    fn begin(&mut self) -> Result<u64, IndexError> {
        self.client.batch_execute("BEGIN").map_err(pg)?;
        self.in_tx = true;
        let row = self
            .client
            .query_one(
                &format!(
                    "SELECT size FROM {}.state WHERE id = 1 FOR UPDATE",
                    self.schema
                ),
                &[],
            )
            .map_err(pg);
        match row {
            Ok(r) => Ok(r.get::<_, i64>(0) as u64),
            Err(e) => {
                let _ = self.rollback();
                Err(e)
            }
        }
    }

    fn lookup(&mut self, hashes: &[Hash]) -> Result<HashMap<Hash, u64>, IndexError> {
        let keys: Vec<&[u8]> = hashes.iter().map(|h| &h[..]).collect();
        let rows = self
            .client
            .query(
                &format!(
                    "SELECT hash, idx FROM {}.entries WHERE hash = ANY($1)",
                    self.schema
                ),
                &[&keys],
            )
            .map_err(pg)?;
        let mut out = HashMap::new();
        for r in rows {
            let h: Vec<u8> = r.get(0);
            if let Ok(h) = <Hash>::try_from(h) {
                out.insert(h, r.get::<_, i64>(1) as u64);
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
        let s = self.schema.clone();
        let r = (|| {
            let keys: Vec<&[u8]> = hashes.iter().map(|h| &h[..]).collect();
            let idx: Vec<i64> = (0..hashes.len())
                .map(|i| (start + i as u64) as i64)
                .collect();
            self.client
                .execute(&format!("INSERT INTO {s}.entries (hash, idx) SELECT * FROM unnest($1::bytea[], $2::bigint[])"), &[&keys, &idx])
                .map_err(pg)?;
            self.client
                .execute(
                    &format!("INSERT INTO {s}.checkpoints (size, note) VALUES ($1, $2)"),
                    &[&(size as i64), &checkpoint],
                )
                .map_err(pg)?;
            self.client
                .execute(
                    &format!("UPDATE {s}.state SET size = $1 WHERE id = 1"),
                    &[&(size as i64)],
                )
                .map_err(pg)?;
            self.client.batch_execute("COMMIT").map_err(pg)
        })();
        self.in_tx = false;
        if r.is_err() {
            let _ = self.client.batch_execute("ROLLBACK");
        }
        r
    }

    fn rollback(&mut self) -> Result<(), IndexError> {
        if self.in_tx {
            self.in_tx = false;
            self.client.batch_execute("ROLLBACK").map_err(pg)?;
        }
        Ok(())
    }

    fn latest_checkpoint(&mut self) -> Result<Option<String>, IndexError> {
        let rows = self
            .client
            .query(
                &format!(
                    "SELECT note FROM {}.checkpoints ORDER BY size DESC LIMIT 1",
                    self.schema
                ),
                &[],
            )
            .map_err(pg)?;
        Ok(rows.first().map(|r| r.get(0)))
    }

    fn checkpoints(&mut self) -> Result<Vec<(u64, String)>, IndexError> {
        let rows = self
            .client
            .query(
                &format!(
                    "SELECT size, note FROM {}.checkpoints ORDER BY size",
                    self.schema
                ),
                &[],
            )
            .map_err(pg)?;
        Ok(rows
            .iter()
            .map(|r| (r.get::<_, i64>(0) as u64, r.get(1)))
            .collect())
    }
}
