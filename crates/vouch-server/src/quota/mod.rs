//! Per-tenant quotas by plan: a request rate (GCRA: a rate and a burst), a number of requests
//! in flight, a request-body size, and a number of signatures per UTC day.
//!
//! Two backends: in memory (one replica) and Redis (many replicas: every decision is one Lua
//! script run atomically by Redis, so a limit is global, not per replica).
//!
//! It must never: admit when the backend cannot be asked (Redis unavailable is `unavailable`,
//! fail closed), count a refused request or signature against the tenant, or leak a slot
//! forever — an unreleased [`Permit`] is given back on drop (in memory at once, in Redis by a
//! spawned `ZREM`) and, should that be lost too, every Redis slot is a lease that lapses after
//! [`CONCURRENCY_LEASE_MS`].
//!
//! Times are the caller's `now_ms` (Unix milliseconds), so that tests need no sleeping and all
//! replicas judge by one rule; replicas' clocks must be NTP-synchronised (a skew of `d` lets a
//! fast replica see up to `d` worth of extra rate).

mod memory;
mod redis_backend;

use std::collections::BTreeMap;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::error::{ApiError, Code};

pub use memory::MemoryQuota;

/// How long a Redis concurrency slot lives if its permit is never released (crash, lost
/// connection). Longer than any request may take: the server's request timeout is shorter.
pub const CONCURRENCY_LEASE_MS: u64 = 5 * 60 * 1000;

/// Retry-After for a refusal on concurrency: a slot frees when some request ends, unknowable.
const CONCURRENCY_RETRY_SECS: u64 = 1;

const DAY_MS: u64 = 86_400_000;

// Refusal messages start with these: `QuotaState::of` tells the limits apart by them.
const MSG_RATE: &str = "rate limit";
const MSG_CONCURRENCY: &str = "concurrent request limit";
const MSG_DAILY: &str = "daily signature limit";

/// One plan's limits.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Limits {
    /// Sustained requests per second (from 0.0001 to 1e6).
    pub requests_per_second: f64,
    /// Requests that may come at once after a quiet period (1 to 100 000).
    pub burst: u32,
    /// Requests in flight at once (at least 1).
    pub concurrent: u32,
    /// Largest request body.
    pub max_payload_bytes: u64,
    /// Signatures per UTC day.
    pub daily_signatures: u64,
}

impl Limits {
    fn check(&self, plan: &str) -> Result<(), QuotaConfigError> {
        let bad = |what: &str| QuotaConfigError(format!("plan `{plan}`: {what}"));
        let rps = self.requests_per_second;
        if !rps.is_finite() || !(0.0001..=1e6).contains(&rps) {
            return Err(bad("requests_per_second must be from 0.0001 to 1000000"));
        }
        if !(1..=100_000).contains(&self.burst) {
            return Err(bad("burst must be from 1 to 100000"));
        }
        if self.concurrent == 0 {
            return Err(bad("concurrent must be at least 1"));
        }
        Ok(())
    }

    /// GCRA emission interval in microseconds (at least 1).
    fn interval_us(&self) -> u64 {
        (1e6 / self.requests_per_second).round().max(1.0) as u64
    }
}

/// A `[quota]` section that does not hold together.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("quota config: {0}")]
pub struct QuotaConfigError(String);

/// The `[quota]` section of serve.toml. Constructed only through deserialisation or
/// [`QuotaConfig::new`], both of which reject a plan name that no plan defines.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "RawQuotaConfig")]
pub struct QuotaConfig {
    plans: BTreeMap<String, Limits>,
    default_plan: String,
    tenants: BTreeMap<String, String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawQuotaConfig {
    plans: BTreeMap<String, Limits>,
    default_plan: String,
    #[serde(default)]
    tenants: BTreeMap<String, String>,
}

impl TryFrom<RawQuotaConfig> for QuotaConfig {
    type Error = QuotaConfigError;
    fn try_from(r: RawQuotaConfig) -> Result<Self, Self::Error> {
        QuotaConfig::new(r.plans, r.default_plan, r.tenants)
    }
}

impl QuotaConfig {
    /// Checks every limit and that `default_plan` and each tenant's plan exist.
    pub fn new(
        plans: BTreeMap<String, Limits>,
        default_plan: String,
        tenants: BTreeMap<String, String>,
    ) -> Result<Self, QuotaConfigError> {
        for (name, limits) in &plans {
            limits.check(name)?;
        }
        if !plans.contains_key(&default_plan) {
            return Err(QuotaConfigError(format!(
                "default_plan `{default_plan}` is not a plan"
            )));
        }
        for (tenant, plan) in &tenants {
            if !plans.contains_key(plan) {
                return Err(QuotaConfigError(format!(
                    "tenant `{tenant}`: plan `{plan}` is not a plan"
                )));
            }
        }
        Ok(QuotaConfig {
            plans,
            default_plan,
            tenants,
        })
    }

    /// The plan name of `tenant` (its own, or the default).
    pub fn plan_of(&self, tenant: &str) -> &str {
        self.tenants
            .get(tenant)
            .map(String::as_str)
            .unwrap_or(&self.default_plan)
    }

    /// The limits of `tenant`.
    pub fn limits(&self, tenant: &str) -> &Limits {
        // Every plan name was checked at construction; the default is the fallback anyway.
        self.plans
            .get(self.plan_of(tenant))
            .or_else(|| self.plans.get(&self.default_plan))
            .unwrap_or(&FALLBACK)
    }
}

/// Unreachable (construction guarantees the default plan exists), but if it ever were: the
/// tightest limits, never unlimited ones.
static FALLBACK: Limits = Limits {
    requests_per_second: 0.0001,
    burst: 1,
    concurrent: 1,
    max_payload_bytes: 0,
    daily_signatures: 0,
};

/// Where the counters live.
pub enum QuotaBackend {
    /// One replica: counters in this process.
    Memory(MemoryQuota),
    /// Many replicas: counters in Redis under `prefix`.
    Redis {
        conn: redis::aio::ConnectionManager,
        prefix: String,
    },
}

impl QuotaBackend {
    /// An empty in-memory backend.
    pub fn memory() -> Self {
        QuotaBackend::Memory(MemoryQuota::default())
    }
}

impl std::fmt::Debug for QuotaBackend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            QuotaBackend::Memory(_) => f.write_str("Memory"),
            // Not the connection: its address may carry a password.
            QuotaBackend::Redis { prefix, .. } => f
                .debug_struct("Redis")
                .field("prefix", prefix)
                .finish_non_exhaustive(),
        }
    }
}

/// What the quota check said, for the audit record's `quota_state`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QuotaState {
    Ok,
    RateLimited,
    Concurrency,
    DailyCap,
    PayloadTooLarge,
    Unavailable,
    /// The request was refused before quotas were asked, or by something else.
    NotChecked,
}

impl QuotaState {
    pub fn as_str(self) -> &'static str {
        match self {
            QuotaState::Ok => "ok",
            QuotaState::RateLimited => "rate_limited",
            QuotaState::Concurrency => "concurrency",
            QuotaState::DailyCap => "daily_cap",
            QuotaState::PayloadTooLarge => "payload_too_large",
            QuotaState::Unavailable => "unavailable",
            QuotaState::NotChecked => "not_checked",
        }
    }

    /// The state a refusal from [`Quotas`] stands for (`NotChecked` for any other error).
    pub fn of(e: &ApiError) -> QuotaState {
        match e.code {
            Code::QuotaExceeded if e.message.starts_with(MSG_RATE) => QuotaState::RateLimited,
            Code::QuotaExceeded if e.message.starts_with(MSG_CONCURRENCY) => {
                QuotaState::Concurrency
            }
            Code::QuotaExceeded if e.message.starts_with(MSG_DAILY) => QuotaState::DailyCap,
            Code::PayloadTooLarge => QuotaState::PayloadTooLarge,
            Code::Unavailable => QuotaState::Unavailable,
            _ => QuotaState::NotChecked,
        }
    }
}

/// The quotas of all tenants.
#[derive(Debug)]
pub struct Quotas {
    config: QuotaConfig,
    backend: QuotaBackend,
}

/// The outcome of one GCRA + concurrency decision, shared by both backends.
pub(crate) enum Admission {
    Admitted,
    /// Rate limited; retry after this many microseconds.
    Rate(u64),
    Concurrency,
}

/// Seconds from microseconds, rounded up, at least 1 (a `Retry-After: 0` invites a hot loop).
fn ceil_secs_us(us: u64) -> u64 {
    us.div_ceil(1_000_000).max(1)
}

/// Seconds until the next UTC midnight after `now_ms`, rounded up.
fn secs_to_midnight(now_ms: u64) -> u64 {
    let next = (now_ms / DAY_MS + 1) * DAY_MS;
    (next - now_ms).div_ceil(1000).max(1)
}

impl Quotas {
    pub fn new(config: QuotaConfig, backend: QuotaBackend) -> Self {
        Quotas { config, backend }
    }

    pub fn config(&self) -> &QuotaConfig {
        &self.config
    }

    /// Admits one request of `tenant` at `now_ms` under its rate and concurrency limits, or
    /// refuses with `quota_exceeded` (and `Retry-After`). Neither limit is charged unless
    /// both pass. The [`Permit`] holds the concurrency slot until released or dropped.
    pub async fn admit(&self, tenant: &str, now_ms: u64) -> Result<Permit, ApiError> {
        let limits = self.config.limits(tenant);
        let (admission, release) = match &self.backend {
            QuotaBackend::Memory(m) => m.admit(tenant, limits, now_ms),
            QuotaBackend::Redis { conn, prefix } => {
                redis_backend::admit(conn, prefix, tenant, limits, now_ms).await?
            }
        };
        match admission {
            Admission::Admitted => Ok(Permit { release }),
            Admission::Rate(us) => Err(ApiError::new(
                Code::QuotaExceeded,
                format!(
                    "{MSG_RATE} of {} requests/s (burst {}) exceeded",
                    limits.requests_per_second, limits.burst
                ),
            )
            .with_retry_after(ceil_secs_us(us))),
            Admission::Concurrency => Err(ApiError::new(
                Code::QuotaExceeded,
                format!("{MSG_CONCURRENCY} of {} reached", limits.concurrent),
            )
            .with_retry_after(CONCURRENCY_RETRY_SECS)),
        }
    }

    /// Refuses a request body larger than the tenant's plan allows.
    pub fn check_payload(&self, tenant: &str, bytes: u64) -> Result<(), ApiError> {
        let max = self.config.limits(tenant).max_payload_bytes;
        if bytes > max {
            return Err(ApiError::new(
                Code::PayloadTooLarge,
                format!("request body of {bytes} bytes exceeds the plan's limit of {max} bytes"),
            ));
        }
        Ok(())
    }

    /// Counts one signature against the tenant's daily cap (UTC day of `now_ms`), or refuses
    /// with `quota_exceeded` and `Retry-After` until the next UTC midnight. A refusal is not
    /// counted; a counted signature that then fails to be made stays counted.
    pub async fn count_signature(&self, tenant: &str, now_ms: u64) -> Result<(), ApiError> {
        let cap = self.config.limits(tenant).daily_signatures;
        let day = now_ms / DAY_MS;
        let ok = match &self.backend {
            QuotaBackend::Memory(m) => m.count_signature(tenant, day, cap),
            QuotaBackend::Redis { conn, prefix } => {
                // Kept a little past midnight so that a skewed replica still finds it.
                let ttl_ms = (day + 1) * DAY_MS - now_ms + 3_600_000;
                redis_backend::count_signature(conn, prefix, tenant, day, cap, ttl_ms).await?
            }
        };
        if ok {
            Ok(())
        } else {
            Err(ApiError::new(
                Code::QuotaExceeded,
                format!("{MSG_DAILY} of {cap} reached; it resets at 00:00 UTC"),
            )
            .with_retry_after(secs_to_midnight(now_ms)))
        }
    }

    /// Whether the backend answers (for `/readyz`).
    pub async fn ping(&self) -> Result<(), ApiError> {
        match &self.backend {
            QuotaBackend::Memory(_) => Ok(()),
            QuotaBackend::Redis { conn, .. } => redis_backend::ping(conn).await,
        }
    }
}

/// How to give a concurrency slot back.
pub(crate) enum Release {
    Memory {
        slots: Arc<std::sync::Mutex<memory::Tenants>>,
        tenant: String,
    },
    Redis {
        conn: redis::aio::ConnectionManager,
        key: String,
        member: String,
    },
}

impl Release {
    async fn run(self) {
        match self {
            Release::Memory { slots, tenant } => memory::release(&slots, &tenant),
            Release::Redis { conn, key, member } => redis_backend::release(conn, key, member).await,
        }
    }
}

/// One admitted request's concurrency slot. Call [`Permit::release`] when the request ends.
/// Dropping it unreleased is safe: in memory the slot is freed at once; with Redis a task is
/// spawned to free it (when there is a runtime), and the slot's lease
/// ([`CONCURRENCY_LEASE_MS`]) bounds the leak if that is lost.
#[must_use = "a permit holds a concurrency slot until released"]
pub struct Permit {
    release: Option<Release>,
}

impl std::fmt::Debug for Permit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Permit")
            .field("held", &self.release.is_some())
            .finish()
    }
}

impl Permit {
    /// Gives the slot back. A Redis failure here is logged, not returned: the request is over
    /// and the lease frees the slot.
    pub async fn release(mut self) {
        if let Some(r) = self.release.take() {
            r.run().await;
        }
    }
}

impl Drop for Permit {
    fn drop(&mut self) {
        match self.release.take() {
            None => {}
            Some(Release::Memory { slots, tenant }) => memory::release(&slots, &tenant),
            Some(r @ Release::Redis { .. }) => {
                if let Ok(handle) = tokio::runtime::Handle::try_current() {
                    handle.spawn(r.run());
                }
                // Without a runtime the lease frees the slot.
            }
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub fn config() -> QuotaConfig {
        toml::from_str(
            r#"
            default_plan = "free"
            [plans.free]
            requests_per_second = 2.0
            burst = 4
            concurrent = 2
            max_payload_bytes = 1000
            daily_signatures = 3
            [plans.busy]
            requests_per_second = 1000.0
            burst = 100
            concurrent = 2
            max_payload_bytes = 10
            daily_signatures = 1000
            [tenants]
            acme = "busy"
            "#,
        )
        .unwrap()
    }

    /// 2026-12-07T00:00:00Z, as a test clock.
    pub const T0: u64 = 1_796_601_600_000;

    #[test]
    fn config_rejects_unknown_plans_fields_and_bad_limits() {
        let c = config();
        assert_eq!(c.plan_of("acme"), "busy");
        assert_eq!(c.plan_of("other"), "free");
        assert_eq!(c.limits("other").burst, 4);

        let base = r#"
            [plans.free]
            requests_per_second = 2.0
            burst = 4
            concurrent = 2
            max_payload_bytes = 1000
            daily_signatures = 3
        "#;
        let parse = |extra: &str| toml::from_str::<QuotaConfig>(&format!("{extra}\n{base}"));
        assert!(parse("default_plan = \"free\"").is_ok());
        let e = parse("default_plan = \"gold\"").unwrap_err().to_string();
        assert!(e.contains("default_plan `gold`"), "{e}");
        let e = parse("default_plan = \"free\"\ntenants = { acme = \"gold\" }")
            .unwrap_err()
            .to_string();
        assert!(e.contains("tenant `acme`"), "{e}");
        assert!(parse("default_plan = \"free\"\nspare = 1").is_err());
        assert!(
            toml::from_str::<QuotaConfig>(&format!(
                "default_plan = \"free\"\n{}",
                base.replace("burst = 4", "burst = 4\nburts = 5")
            ))
            .is_err()
        );
        for (from, to) in [
            ("burst = 4", "burst = 0"),
            ("concurrent = 2", "concurrent = 0"),
            ("requests_per_second = 2.0", "requests_per_second = 0.0"),
            ("requests_per_second = 2.0", "requests_per_second = nan"),
        ] {
            let t = format!("default_plan = \"free\"\n{}", base.replace(from, to));
            assert!(toml::from_str::<QuotaConfig>(&t).is_err(), "{to}");
        }
    }

    #[test]
    fn midnight_and_rounding() {
        assert_eq!(secs_to_midnight(T0), 86_400);
        assert_eq!(secs_to_midnight(T0 + DAY_MS - 1), 1);
        assert_eq!(secs_to_midnight(T0 + DAY_MS - 1500), 2);
        assert_eq!(ceil_secs_us(1), 1);
        assert_eq!(ceil_secs_us(1_000_001), 2);
        assert_eq!(ceil_secs_us(0), 1);
    }

    #[test]
    fn states_name_the_limit() {
        let q = Quotas::new(config(), QuotaBackend::memory());
        let e = q.check_payload("other", 1001).unwrap_err();
        assert_eq!(e.code, Code::PayloadTooLarge);
        assert_eq!(QuotaState::of(&e).as_str(), "payload_too_large");
        assert!(q.check_payload("other", 1000).is_ok());
        assert!(q.check_payload("acme", 11).is_err());
        assert_eq!(
            QuotaState::of(&ApiError::unavailable("x")),
            QuotaState::Unavailable
        );
        assert_eq!(
            QuotaState::of(&ApiError::new(Code::InvalidToken, "x")),
            QuotaState::NotChecked
        );
    }
}
