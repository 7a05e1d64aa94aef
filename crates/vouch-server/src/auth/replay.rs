//! The replay cache for DPoP proof `jti`s (RFC 9449 §11.1): a proof is accepted once.
//!
//! In memory for a single replica, in Redis (`SET key 1 NX EX ttl`) when replicas share the
//! work, so that a proof used at one replica is refused at every other.
//!
//! It must never: answer "first use" when it could not tell (a Redis failure is
//! `unavailable`, and a full memory cache refuses rather than forgetting live entries), or
//! grow without bound.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::error::{ApiError, Code};

/// Default bound of the in-memory cache.
pub const DEFAULT_MEMORY_CAPACITY: usize = 1_000_000;

/// Where the `jti`s seen are remembered.
pub enum ReplayCache {
    Memory(MemoryReplay),
    Redis(RedisReplay),
}

impl std::fmt::Debug for ReplayCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ReplayCache::Memory(m) => f
                .debug_struct("ReplayCache::Memory")
                .field("capacity", &m.capacity)
                .finish(),
            ReplayCache::Redis(r) => f
                .debug_struct("ReplayCache::Redis")
                .field("prefix", &r.prefix)
                .finish(),
        }
    }
}

/// A bounded map of key → expiry; expired entries are pruned when space is needed.
pub struct MemoryReplay {
    entries: Mutex<HashMap<String, Instant>>,
    capacity: usize,
}

/// Redis-backed cache: keys are `prefix + key`.
pub struct RedisReplay {
    conn: redis::aio::ConnectionManager,
    prefix: String,
}

impl ReplayCache {
    /// An in-memory cache holding at most `capacity` live entries.
    pub fn memory(capacity: usize) -> Self {
        ReplayCache::Memory(MemoryReplay {
            entries: Mutex::new(HashMap::new()),
            capacity: capacity.max(1),
        })
    }

    /// A Redis cache; every key is put under `prefix` (e.g. `vouch:dpop:`).
    pub fn redis(conn: redis::aio::ConnectionManager, prefix: impl Into<String>) -> Self {
        ReplayCache::Redis(RedisReplay {
            conn,
            prefix: prefix.into(),
        })
    }

    /// `true` the first time `key` is seen within `ttl`, `false` on every later use.
    pub async fn first_use(&self, key: &str, ttl: Duration) -> Result<bool, ApiError> {
        match self {
            ReplayCache::Memory(m) => m.first_use(key, ttl, Instant::now()),
            ReplayCache::Redis(r) => r.first_use(key, ttl).await,
        }
    }
}

impl MemoryReplay {
    fn first_use(&self, key: &str, ttl: Duration, now: Instant) -> Result<bool, ApiError> {
        let mut entries = self
            .entries
            .lock()
            .map_err(|_| ApiError::internal("replay cache lock poisoned"))?;
        if let Some(expiry) = entries.get(key) {
            if *expiry > now {
                return Ok(false);
            }
            entries.remove(key);
        }
        if entries.len() >= self.capacity {
            entries.retain(|_, expiry| *expiry > now);
            if entries.len() >= self.capacity {
                // Forgetting a live entry would let its proof be replayed: refuse instead.
                return Err(ApiError::new(
                    Code::Unavailable,
                    "the replay cache is full; retry shortly",
                ));
            }
        }
        entries.insert(key.to_owned(), now + ttl);
        Ok(true)
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.entries.lock().map(|e| e.len()).unwrap_or(0)
    }
}

impl RedisReplay {
    async fn first_use(&self, key: &str, ttl: Duration) -> Result<bool, ApiError> {
        let mut conn = self.conn.clone();
        let reply: Option<String> = redis::cmd("SET")
            .arg(format!("{}{}", self.prefix, key))
            .arg(1)
            .arg("NX")
            .arg("EX")
            .arg(ttl.as_secs().max(1))
            .query_async(&mut conn)
            .await
            .map_err(|e| {
                tracing::warn!(error = %e, "replay cache: Redis unavailable");
                ApiError::unavailable("the replay cache is unavailable")
            })?;
        Ok(reply.is_some())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn memory_first_use_then_replay() {
        let c = ReplayCache::memory(10);
        let ttl = Duration::from_secs(60);
        assert!(c.first_use("a", ttl).await.unwrap());
        assert!(!c.first_use("a", ttl).await.unwrap());
        assert!(c.first_use("b", ttl).await.unwrap());
    }

    #[test]
    fn memory_expiry_prune_and_bound() {
        let m = MemoryReplay {
            entries: Mutex::new(HashMap::new()),
            capacity: 2,
        };
        let t0 = Instant::now();
        let ttl = Duration::from_secs(10);
        assert!(m.first_use("a", ttl, t0).unwrap());
        assert!(m.first_use("b", ttl, t0).unwrap());
        // Full of live entries: refuse, do not forget.
        let e = m.first_use("c", ttl, t0).unwrap_err();
        assert_eq!(e.code, Code::Unavailable);
        assert!(!m.first_use("a", ttl, t0).unwrap());
        // Later the entries have expired: pruned, and "a" is new again.
        let later = t0 + Duration::from_secs(11);
        assert!(m.first_use("c", ttl, later).unwrap());
        assert!(m.len() <= 2);
        assert!(m.first_use("a", ttl, later).unwrap());
    }

    /// Needs Redis at 127.0.0.1:6379 (`.ci/setup.d/20-services.sh` starts it): fails, never
    /// skips, when none answers.
    #[tokio::test]
    async fn redis_first_use_then_replay() {
        let client = redis::Client::open("redis://127.0.0.1:6379/").unwrap();
        let conn = tokio::time::timeout(
            Duration::from_secs(5),
            redis::aio::ConnectionManager::new(client),
        )
        .await
        .expect("no Redis at 127.0.0.1:6379 (run .ci/setup.d/20-services.sh)")
        .expect("no Redis at 127.0.0.1:6379 (run .ci/setup.d/20-services.sh)");
        let prefix = format!("vouch-test-auth-{}:", uuid::Uuid::new_v4());
        let c = ReplayCache::redis(conn.clone(), prefix.clone());
        let ttl = Duration::from_secs(30);
        let first = c.first_use("k", ttl).await.unwrap();
        let second = c.first_use("k", ttl).await.unwrap();
        let mut cleanup = conn.clone();
        let _: Result<(), _> = redis::cmd("DEL")
            .arg(format!("{prefix}k"))
            .query_async(&mut cleanup)
            .await;
        assert!(first);
        assert!(!second);
    }
}
