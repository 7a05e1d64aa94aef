//! Prometheus metrics (`GET /metrics`, text exposition format): signing latency, requests by
//! outcome and code, PoE failures and outage, quota hits, signatures per key, audit write
//! latency, active keys per tenant. `ops/prometheus/vouch-serve.rules.yml` alerts on them.
//!
//! Labels never carry token subjects or request data: endpoint, outcome, code, tenant, key id.

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RequestLabels {
    pub endpoint: String,
    pub outcome: String,
    pub code: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct EndpointLabels {
    pub endpoint: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct TenantLabels {
    pub tenant: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct KeyLabels {
    pub key_id: String,
}

fn latency_buckets() -> impl Iterator<Item = f64> {
    [
        0.0005, 0.001, 0.0025, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
    ]
    .into_iter()
}

/// Every metric of the service.
pub struct Metrics {
    registry: Registry,
    pub requests: Family<RequestLabels, Counter>,
    pub latency: Family<EndpointLabels, Histogram>,
    pub poe_failures: Counter,
    pub poe_outage: Gauge,
    pub poe_bypassed: Counter,
    pub quota_hits: Family<TenantLabels, Counter>,
    pub key_signatures: Family<KeyLabels, Counter>,
    pub active_keys: Family<TenantLabels, Gauge>,
    pub audit_write: Histogram,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Metrics")
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    pub fn new() -> Metrics {
        let mut registry = Registry::with_prefix("vouch_serve");
        let requests = Family::<RequestLabels, Counter>::default();
        registry.register(
            "requests",
            "Requests by endpoint, outcome (signed, refused, read) and error code",
            requests.clone(),
        );
        let latency = Family::<EndpointLabels, Histogram>::new_with_constructor(|| {
            Histogram::new(latency_buckets())
        });
        registry.register(
            "request_duration_seconds",
            "Request latency, signing included",
            latency.clone(),
        );
        let poe_failures = Counter::default();
        registry.register(
            "poe_failures",
            "Calls to the PoE introspection endpoint that failed",
            poe_failures.clone(),
        );
        let poe_outage = Gauge::default();
        registry.register(
            "poe_outage",
            "1 while the last PoE introspection call failed",
            poe_outage.clone(),
        );
        let poe_bypassed = Counter::default();
        registry.register(
            "poe_bypassed",
            "Requests signed under the emergency PoE bypass",
            poe_bypassed.clone(),
        );
        let quota_hits = Family::<TenantLabels, Counter>::default();
        registry.register(
            "quota_hits",
            "Requests refused by a quota",
            quota_hits.clone(),
        );
        let key_signatures = Family::<KeyLabels, Counter>::default();
        registry.register(
            "key_signatures",
            "Signatures made, per key id",
            key_signatures.clone(),
        );
        let active_keys = Family::<TenantLabels, Gauge>::default();
        registry.register(
            "active_keys",
            "Active signing keys per tenant (0 means the tenant cannot sign)",
            active_keys.clone(),
        );
        let audit_write = Histogram::new(latency_buckets());
        registry.register(
            "audit_write_duration_seconds",
            "Time to append one audit record",
            audit_write.clone(),
        );
        Metrics {
            registry,
            requests,
            latency,
            poe_failures,
            poe_outage,
            poe_bypassed,
            quota_hits,
            key_signatures,
            active_keys,
            audit_write,
        }
    }

    /// The text exposition.
    pub fn render(&self) -> String {
        let mut out = String::new();
        if prometheus_client::encoding::text::encode(&mut out, &self.registry).is_err() {
            out.clear();
        }
        out
    }
}
