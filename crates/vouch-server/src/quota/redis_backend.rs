//! The Redis quota backend, shared by every replica.
//!
//! Each decision is one Lua script (sent by `EVALSHA`, loaded on a miss by `redis::Script`),
//! which Redis runs atomically, so two replicas can never both take the last unit of a limit:
//!
//! * rate and concurrency together: the GCRA TAT key (`SET … PX` so an idle tenant's key
//!   expires) and a sorted set of in-flight permits scored by lease expiry. A slot is a lease,
//!   not a counter: a lost release frees itself after `CONCURRENCY_LEASE_MS` even under steady
//!   traffic (a plain INCR counter with a TTL would have its TTL refreshed forever).
//! * the daily signature count: `INCR` of a key per tenant and UTC day, expiring after that
//!   day, with the increment undone when it would pass the cap.
//!
//! Keys are `{prefix}:quota:{<hex tenant>}:rate|conc|day:<n>`: the tenant is hex so no name can
//! collide with another's keys, and in braces so one tenant's keys share a cluster slot.
//! Numbers cross into Lua as decimal integers formatted with `%d` (never `%g`, which would
//! round microsecond timestamps).
//!
//! It must never admit when Redis cannot be asked: errors and timeouts are `unavailable`.

use std::sync::LazyLock;
use std::time::Duration;

use redis::aio::ConnectionManager;

use super::{Admission, CONCURRENCY_LEASE_MS, Limits, Release};
use crate::error::ApiError;

/// Bound on one Redis round trip.
const TIMEOUT: Duration = Duration::from_secs(2);

/// KEYS: tat, conc. ARGV: now_us, interval_us, burst, concurrent, member, lease_ms.
/// Returns {1, 0} admitted, {0, wait_us} rate limited, {2, 0} concurrency.
static ADMIT: LazyLock<redis::Script> = LazyLock::new(|| {
    redis::Script::new(
        r"
local now = tonumber(ARGV[1])
local t = tonumber(ARGV[2])
local burst = tonumber(ARGV[3])
local limit = tonumber(ARGV[4])
local lease = tonumber(ARGV[6])
local now_ms = math.floor(now / 1000)
local tat = tonumber(redis.call('GET', KEYS[1]))
if tat == nil or tat < now then tat = now end
local new_tat = tat + t
local allow_at = new_tat - t * burst
if now < allow_at then
  return {0, allow_at - now}
end
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', string.format('%d', now_ms))
if redis.call('ZCARD', KEYS[2]) >= limit then
  return {2, 0}
end
redis.call('ZADD', KEYS[2], string.format('%d', now_ms + lease), ARGV[5])
redis.call('PEXPIRE', KEYS[2], string.format('%d', lease))
redis.call('SET', KEYS[1], string.format('%d', new_tat), 'PX',
  string.format('%d', math.ceil((new_tat - now) / 1000) + 1000))
return {1, 0}
",
    )
});

/// KEYS: day counter. ARGV: cap, ttl_ms. Returns 1 counted, 0 refused (not counted).
static COUNT: LazyLock<redis::Script> = LazyLock::new(|| {
    redis::Script::new(
        r"
local n = redis.call('INCR', KEYS[1])
if n == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
if n > tonumber(ARGV[1]) then
  redis.call('DECR', KEYS[1])
  return 0
end
return 1
",
    )
});

fn key(prefix: &str, tenant: &str, what: &str) -> String {
    format!("{prefix}:quota:{{{}}}:{what}", hex::encode(tenant))
}

fn unavailable(e: redis::RedisError) -> ApiError {
    // A RedisError names the failure (I/O, a server reply), not the connection address.
    ApiError::unavailable(format!("quota store (redis): {e}"))
}

/// Runs a Redis future under [`TIMEOUT`], mapping every failure to `unavailable`.
async fn bounded<T>(
    f: impl std::future::Future<Output = redis::RedisResult<T>>,
) -> Result<T, ApiError> {
    tokio::time::timeout(TIMEOUT, f)
        .await
        .map_err(|_| ApiError::unavailable("quota store (redis): timed out"))?
        .map_err(unavailable)
}

pub(crate) async fn admit(
    conn: &ConnectionManager,
    prefix: &str,
    tenant: &str,
    limits: &Limits,
    now_ms: u64,
) -> Result<(Admission, Option<Release>), ApiError> {
    let mut c = conn.clone();
    let conc = key(prefix, tenant, "conc");
    let member = uuid::Uuid::new_v4().simple().to_string();
    let reply: Vec<i64> = bounded(
        ADMIT
            .key(key(prefix, tenant, "rate"))
            .key(&conc)
            .arg(now_ms.saturating_mul(1000))
            .arg(limits.interval_us())
            .arg(limits.burst)
            .arg(limits.concurrent)
            .arg(&member)
            .arg(CONCURRENCY_LEASE_MS)
            .invoke_async(&mut c),
    )
    .await?;
    match reply.as_slice() {
        [1, _] => Ok((
            Admission::Admitted,
            Some(Release::Redis {
                conn: c,
                key: conc,
                member,
            }),
        )),
        [0, wait] => Ok((Admission::Rate((*wait).max(1) as u64), None)),
        [2, _] => Ok((Admission::Concurrency, None)),
        _ => Err(ApiError::internal(
            "quota store (redis): unexpected script reply",
        )),
    }
}

pub(crate) async fn release(mut conn: ConnectionManager, key: String, member: String) {
    let r: Result<i64, ApiError> = bounded(
        redis::cmd("ZREM")
            .arg(&key)
            .arg(&member)
            .query_async(&mut conn),
    )
    .await;
    if let Err(e) = r {
        // The lease frees the slot; nothing else to do for a request that is over.
        tracing::warn!(error = %e, "releasing a concurrency slot failed");
    }
}

pub(crate) async fn count_signature(
    conn: &ConnectionManager,
    prefix: &str,
    tenant: &str,
    day: u64,
    cap: u64,
    ttl_ms: u64,
) -> Result<bool, ApiError> {
    let mut c = conn.clone();
    let n: i64 = bounded(
        COUNT
            .key(key(prefix, tenant, &format!("day:{day}")))
            .arg(cap)
            .arg(ttl_ms)
            .invoke_async(&mut c),
    )
    .await?;
    Ok(n == 1)
}

pub(crate) async fn ping(conn: &ConnectionManager) -> Result<(), ApiError> {
    let mut c = conn.clone();
    let _: String = bounded(redis::cmd("PING").query_async(&mut c)).await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::super::tests::{T0, config};
    use super::super::*;
    use super::*;

    async fn conn() -> ConnectionManager {
        let url =
            std::env::var("VOUCH_TEST_REDIS").unwrap_or_else(|_| "redis://127.0.0.1:6379/".into());
        ConnectionManager::new(redis::Client::open(url).unwrap())
            .await
            .unwrap()
    }

    fn prefix() -> String {
        format!("vouch_test_{}", uuid::Uuid::new_v4().simple())
    }

    async fn quotas(prefix: &str) -> Quotas {
        Quotas::new(
            config(),
            QuotaBackend::Redis {
                conn: conn().await,
                prefix: prefix.to_string(),
            },
        )
    }

    async fn cleanup(prefix: &str) {
        let mut c = conn().await;
        let keys: Vec<String> = redis::cmd("KEYS")
            .arg(format!("{prefix}:*"))
            .query_async(&mut c)
            .await
            .unwrap();
        if !keys.is_empty() {
            let _: i64 = redis::cmd("DEL")
                .arg(&keys)
                .query_async(&mut c)
                .await
                .unwrap();
        }
    }

    #[tokio::test]
    async fn rate_concurrency_and_daily_cap() {
        let p = prefix();
        let q = quotas(&p).await;
        q.ping().await.unwrap();

        // Rate: burst 4, then 0.5 s per request.
        for _ in 0..4 {
            q.admit("bob", T0).await.unwrap().release().await;
        }
        let e = q.admit("bob", T0).await.unwrap_err();
        assert_eq!((e.code, e.retry_after), (Code::QuotaExceeded, Some(1)));
        assert_eq!(QuotaState::of(&e), QuotaState::RateLimited);
        assert!(q.admit("bob", T0 + 499).await.is_err());
        q.admit("bob", T0 + 500).await.unwrap().release().await;
        for _ in 0..4 {
            q.admit("bob", T0 + 3000).await.unwrap().release().await;
        }
        assert!(q.admit("bob", T0 + 3000).await.is_err());

        // Concurrency: 2 in flight; release, drop, and lease expiry free slots.
        let a = q.admit("acme", T0).await.unwrap();
        let b = q.admit("acme", T0).await.unwrap();
        let e = q.admit("acme", T0).await.unwrap_err();
        assert_eq!(QuotaState::of(&e), QuotaState::Concurrency);
        a.release().await;
        let c = q.admit("acme", T0).await.unwrap();
        drop(b); // the release is spawned
        let mut d = None;
        for _ in 0..200 {
            if let Ok(p) = q.admit("acme", T0).await {
                d = Some(p);
                break;
            }
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        let d = d.expect("a dropped permit's slot comes back");
        std::mem::forget(c);
        std::mem::forget(d); // two leaked slots
        assert!(q.admit("acme", T0 + 10).await.is_err());
        q.admit("acme", T0 + CONCURRENCY_LEASE_MS + 1)
            .await
            .unwrap()
            .release()
            .await;

        // Daily cap, and its rollover at midnight.
        let late = T0 + DAY_MS - 90_000;
        for _ in 0..3 {
            q.count_signature("bob", late).await.unwrap();
        }
        let e = q.count_signature("bob", late).await.unwrap_err();
        assert_eq!(
            (e.retry_after, QuotaState::of(&e)),
            (Some(90), QuotaState::DailyCap)
        );
        assert!(q.count_signature("bob", late).await.is_err());
        for _ in 0..3 {
            q.count_signature("bob", T0 + DAY_MS).await.unwrap();
        }
        assert!(q.count_signature("bob", T0 + DAY_MS).await.is_err());

        cleanup(&p).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn two_replicas_share_the_limit() {
        let p = prefix();
        let (a, b) = (Arc::new(quotas(&p).await), Arc::new(quotas(&p).await));
        let mut tasks = Vec::new();
        for q in [a, b] {
            tasks.push(tokio::spawn(async move {
                let mut admitted = 0;
                for _ in 0..10 {
                    if let Ok(permit) = q.admit("bob", T0).await {
                        admitted += 1;
                        permit.release().await;
                    }
                }
                admitted
            }));
        }
        let mut total = 0;
        for t in tasks {
            total += t.await.unwrap();
        }
        assert_eq!(total, 4, "burst is 4 across both replicas");
        cleanup(&p).await;
    }

    #[tokio::test]
    async fn a_failing_script_fails_closed() {
        let p = prefix();
        let q = quotas(&p).await;
        // The TAT key holds a list: the script errors, and the request is refused.
        let mut c = conn().await;
        let _: i64 = redis::cmd("RPUSH")
            .arg(key(&p, "bob", "rate"))
            .arg("x")
            .query_async(&mut c)
            .await
            .unwrap();
        let e = q.admit("bob", T0).await.unwrap_err();
        assert_eq!(e.code, Code::Unavailable);
        assert_eq!(QuotaState::of(&e), QuotaState::Unavailable);
        cleanup(&p).await;
    }
}
