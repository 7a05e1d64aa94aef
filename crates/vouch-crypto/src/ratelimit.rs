//! (owned by the seal work: issue 9)
//! Token-bucket rate limiting per caller.
//!
//! [`TokenBucket`] is the classic bucket: `capacity` tokens, refilled continuously at `rate`
//! tokens per second; each attempt takes one (or `cost`) token, and an empty bucket says how
//! long to wait. [`RateLimiter`] keeps one bucket per caller key (tenant, token subject, peer
//! address) behind a mutex, forgetting full buckets when the table grows past its bound so a
//! flood of distinct callers cannot grow memory without limit.
//!
//! Time is passed in (`*_at(now)`) so tests and simulations are exact; the `check` helpers use
//! `Instant::now()`. The seal keyring uses it to cap decrypt attempts; `vouch serve` reuses it
//! for request quotas.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// A token bucket: up to `capacity` tokens, refilled at `rate` per second.
#[derive(Debug, Clone)]
pub struct TokenBucket {
    capacity: f64,
    rate: f64,
    tokens: f64,
    last: Instant,
}

/// Refused: try again after this long.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("rate limit exceeded; retry after {} ms", retry_after.as_millis())]
pub struct RateLimited {
    pub retry_after: Duration,
}

impl TokenBucket {
    /// A full bucket. `capacity` is the burst; `per_second` the sustained rate (> 0).
    pub fn new(capacity: u32, per_second: f64, now: Instant) -> TokenBucket {
        let capacity = f64::from(capacity.max(1));
        TokenBucket {
            capacity,
            rate: if per_second.is_finite() && per_second > 0.0 {
                per_second
            } else {
                f64::MIN_POSITIVE
            },
            tokens: capacity,
            last: now,
        }
    }

    fn refill(&mut self, now: Instant) {
        let dt = now.saturating_duration_since(self.last).as_secs_f64();
        self.tokens = (self.tokens + dt * self.rate).min(self.capacity);
        if now > self.last {
            self.last = now;
        }
    }

    /// Takes `cost` tokens at `now`, or says how long until they are available.
    pub fn try_take_at(&mut self, cost: u32, now: Instant) -> Result<(), RateLimited> {
        self.refill(now);
        let cost = f64::from(cost);
        if self.tokens >= cost {
            self.tokens -= cost;
            Ok(())
        } else {
            let wait = ((cost - self.tokens) / self.rate).min(1e9);
            Err(RateLimited {
                retry_after: Duration::from_secs_f64(wait),
            })
        }
    }

    /// Whether the bucket is full at `now` (a full bucket carries no state worth keeping).
    pub fn is_full_at(&mut self, now: Instant) -> bool {
        self.refill(now);
        self.tokens >= self.capacity
    }

    /// Tokens available at `now` (rounded down).
    pub fn available_at(&mut self, now: Instant) -> u32 {
        self.refill(now);
        self.tokens.floor() as u32
    }
}

/// One token bucket per caller key.
#[derive(Debug)]
pub struct RateLimiter<K> {
    capacity: u32,
    per_second: f64,
    max_callers: usize,
    buckets: Mutex<HashMap<K, TokenBucket>>,
}

impl<K: Hash + Eq + Clone> RateLimiter<K> {
    /// A limiter allowing bursts of `capacity` and `per_second` sustained, per caller.
    pub fn new(capacity: u32, per_second: f64) -> RateLimiter<K> {
        RateLimiter {
            capacity,
            per_second,
            max_callers: 100_000,
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// Bounds the number of callers tracked (default 100 000). When the table is full, callers
    /// whose buckets have refilled are forgotten; if none has, the new caller is refused.
    pub fn with_max_callers(mut self, n: usize) -> Self {
        self.max_callers = n.max(1);
        self
    }

    /// One attempt by `caller` now.
    pub fn check(&self, caller: &K) -> Result<(), RateLimited> {
        self.check_at(caller, 1, Instant::now())
    }

    /// `cost` attempts by `caller` at `now`.
    pub fn check_at(&self, caller: &K, cost: u32, now: Instant) -> Result<(), RateLimited> {
        let refused = RateLimited {
            retry_after: Duration::from_secs_f64(1.0 / self.per_second.max(1e-9)),
        };
        let Ok(mut map) = self.buckets.lock() else {
            return Err(refused);
        };
        if !map.contains_key(caller) && map.len() >= self.max_callers {
            map.retain(|_, b| !b.is_full_at(now));
            if map.len() >= self.max_callers {
                return Err(refused);
            }
        }
        map.entry(caller.clone())
            .or_insert_with(|| TokenBucket::new(self.capacity, self.per_second, now))
            .try_take_at(cost, now)
    }

    /// Number of callers currently tracked.
    pub fn tracked(&self) -> usize {
        self.buckets.lock().map(|m| m.len()).unwrap_or(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn burst_then_refill() {
        let t0 = Instant::now();
        let mut b = TokenBucket::new(3, 1.0, t0);
        for _ in 0..3 {
            b.try_take_at(1, t0).unwrap();
        }
        let e = b.try_take_at(1, t0).unwrap_err();
        assert_eq!(e.retry_after, Duration::from_secs(1));
        assert!(b.try_take_at(1, t0 + Duration::from_millis(500)).is_err());
        b.try_take_at(1, t0 + Duration::from_millis(1000)).unwrap();
        // Never more than capacity, however long idle.
        assert_eq!(b.available_at(t0 + Duration::from_secs(3600)), 3);
    }

    #[test]
    fn per_caller_isolation() {
        let t0 = Instant::now();
        let l = RateLimiter::new(2, 0.5);
        l.check_at(&"a", 1, t0).unwrap();
        l.check_at(&"a", 1, t0).unwrap();
        assert!(l.check_at(&"a", 1, t0).is_err());
        l.check_at(&"b", 1, t0).unwrap();
        l.check_at(&"a", 1, t0 + Duration::from_secs(2)).unwrap();
    }

    #[test]
    fn bounded_table() {
        let t0 = Instant::now();
        let l = RateLimiter::new(1, 1.0).with_max_callers(2);
        l.check_at(&1, 1, t0).unwrap();
        l.check_at(&2, 1, t0).unwrap();
        // Table full of empty buckets: a third caller is refused rather than growing memory.
        assert!(l.check_at(&3, 1, t0).is_err());
        // Later the old buckets are full again and get forgotten.
        l.check_at(&3, 1, t0 + Duration::from_secs(5)).unwrap();
        assert!(l.tracked() <= 2);
    }

    #[test]
    fn time_going_backwards_is_harmless() {
        let t0 = Instant::now() + Duration::from_secs(10);
        let mut b = TokenBucket::new(1, 1.0, t0);
        b.try_take_at(1, t0).unwrap();
        assert!(b.try_take_at(1, t0 - Duration::from_secs(5)).is_err());
    }
}
