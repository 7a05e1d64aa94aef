//! The in-memory quota backend, for a single replica (with several, each would grant the full
//! limit: use Redis). One std `Mutex` over a map of tenants; every decision is made and
//! committed under it, so it is as atomic as the Redis script.
//!
//! It must never charge a refused request, nor grow without bound: idle tenants are pruned.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use super::{Admission, Limits, Release};

/// Above this many tenants, idle ones are pruned on the next admission.
const PRUNE_ABOVE: usize = 10_000;

#[derive(Debug, Default)]
pub(crate) struct TenantState {
    /// GCRA theoretical arrival time, microseconds.
    tat_us: u64,
    in_flight: u32,
    /// (UTC day number, signatures counted that day).
    day: (u64, u64),
}

pub(crate) type Tenants = HashMap<String, TenantState>;

/// In-memory counters.
#[derive(Debug, Default)]
pub struct MemoryQuota {
    tenants: Arc<Mutex<Tenants>>,
}

/// The GCRA step: with `tat` the stored arrival time (or less than now), a request at `now`
/// is allowed iff `now >= max(tat, now) + T - T*burst`; then the new TAT is
/// `max(tat, now) + T`. From rest, exactly `burst` requests pass at once.
pub(crate) fn gcra(tat_us: u64, now_us: u64, t_us: u64, burst: u32) -> Result<u64, u64> {
    let new_tat = tat_us.max(now_us).saturating_add(t_us);
    let allow_at = new_tat.saturating_sub(t_us.saturating_mul(u64::from(burst)));
    if now_us < allow_at {
        Err(allow_at - now_us)
    } else {
        Ok(new_tat)
    }
}

impl MemoryQuota {
    pub(crate) fn admit(
        &self,
        tenant: &str,
        limits: &Limits,
        now_ms: u64,
    ) -> (Admission, Option<Release>) {
        let now_us = now_ms.saturating_mul(1000);
        // A poisoned lock only means another thread panicked mid-update of plain counters.
        let mut map = self.tenants.lock().unwrap_or_else(|p| p.into_inner());
        if map.len() > PRUNE_ABOVE {
            let today = now_ms / super::DAY_MS;
            map.retain(|_, s| s.in_flight > 0 || s.tat_us > now_us || s.day.0 >= today);
        }
        let state = map.entry(tenant.to_string()).or_default();
        let new_tat = match gcra(state.tat_us, now_us, limits.interval_us(), limits.burst) {
            Err(wait_us) => return (Admission::Rate(wait_us), None),
            Ok(t) => t,
        };
        if state.in_flight >= limits.concurrent {
            return (Admission::Concurrency, None);
        }
        state.tat_us = new_tat;
        state.in_flight += 1;
        (
            Admission::Admitted,
            Some(Release::Memory {
                slots: Arc::clone(&self.tenants),
                tenant: tenant.to_string(),
            }),
        )
    }

    pub(crate) fn count_signature(&self, tenant: &str, day: u64, cap: u64) -> bool {
        let mut map = self.tenants.lock().unwrap_or_else(|p| p.into_inner());
        let state = map.entry(tenant.to_string()).or_default();
        if state.day.0 != day {
            state.day = (day, 0);
        }
        if state.day.1 >= cap {
            return false;
        }
        state.day.1 += 1;
        true
    }
}

pub(crate) fn release(slots: &Mutex<Tenants>, tenant: &str) {
    let mut map = slots.lock().unwrap_or_else(|p| p.into_inner());
    if let Some(s) = map.get_mut(tenant) {
        s.in_flight = s.in_flight.saturating_sub(1);
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::{T0, config};
    use super::super::*;

    fn quotas() -> Quotas {
        Quotas::new(config(), QuotaBackend::memory())
    }

    #[test]
    fn gcra_from_rest_allows_exactly_burst() {
        let (t, burst) = (500_000, 4);
        let mut tat = 0;
        for _ in 0..4 {
            tat = super::gcra(tat, 10_000_000, t, burst).unwrap();
        }
        assert_eq!(super::gcra(tat, 10_000_000, t, burst), Err(t));
    }

    #[tokio::test]
    async fn burst_then_refusal_then_recovery() {
        let q = quotas();
        // free: 2/s, burst 4, 2 in flight: release as we go.
        for _ in 0..4 {
            q.admit("bob", T0).await.unwrap().release().await;
        }
        let e = q.admit("bob", T0).await.unwrap_err();
        assert_eq!(e.code, Code::QuotaExceeded);
        assert_eq!(e.retry_after, Some(1)); // 0.5 s, rounded up
        assert_eq!(QuotaState::of(&e), QuotaState::RateLimited);
        assert!(e.message.contains("2 requests/s"), "{}", e.message);
        // Another tenant is not affected.
        q.admit("carol", T0).await.unwrap().release().await;
        // 499 ms later: still refused; 500 ms: one more; then refused again.
        assert!(q.admit("bob", T0 + 499).await.is_err());
        q.admit("bob", T0 + 500).await.unwrap().release().await;
        assert!(q.admit("bob", T0 + 500).await.is_err());
        // After a quiet 2 s the whole burst is back.
        for _ in 0..4 {
            q.admit("bob", T0 + 2500).await.unwrap().release().await;
        }
        assert!(q.admit("bob", T0 + 2500).await.is_err());
    }

    #[tokio::test]
    async fn concurrency_limit_release_and_drop() {
        let q = quotas();
        let a = q.admit("acme", T0).await.unwrap();
        let b = q.admit("acme", T0).await.unwrap();
        let e = q.admit("acme", T0).await.unwrap_err();
        assert_eq!(QuotaState::of(&e), QuotaState::Concurrency);
        assert_eq!(e.retry_after, Some(1));
        a.release().await;
        let c = q.admit("acme", T0).await.unwrap();
        assert!(q.admit("acme", T0).await.is_err());
        drop(b); // unreleased: freed by Drop
        let d = q.admit("acme", T0).await.unwrap();
        drop((c, d));
        // A concurrency refusal did not consume rate: 2 in flight again at once.
        let _x = q.admit("acme", T0).await.unwrap();
        let _y = q.admit("acme", T0).await.unwrap();
    }

    #[tokio::test]
    async fn daily_cap_rolls_over_at_midnight() {
        let q = quotas();
        let late = T0 + super::super::DAY_MS - 90_000; // 23:58:30
        for _ in 0..3 {
            q.count_signature("bob", late).await.unwrap();
        }
        let e = q.count_signature("bob", late).await.unwrap_err();
        assert_eq!(e.code, Code::QuotaExceeded);
        assert_eq!(e.retry_after, Some(90));
        assert_eq!(QuotaState::of(&e), QuotaState::DailyCap);
        // Refusals are not counted, and other tenants have their own count.
        q.count_signature("carol", late).await.unwrap();
        assert!(q.count_signature("bob", late + 89_999).await.is_err());
        let next = T0 + super::super::DAY_MS;
        for _ in 0..3 {
            q.count_signature("bob", next).await.unwrap();
        }
        assert!(q.count_signature("bob", next).await.is_err());
    }
}
