//! The Prometheus alert rules shipped in ops/prometheus load, name only metrics the service
//! exports, and point at runbooks that exist.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use serde::Deserialize;

#[derive(Deserialize)]
struct File {
    groups: Vec<Group>,
}

#[derive(Deserialize)]
struct Group {
    name: String,
    rules: Vec<Rule>,
}

#[derive(Deserialize)]
struct Rule {
    alert: String,
    expr: String,
    #[serde(rename = "for")]
    for_: String,
    labels: BTreeMap<String, String>,
    annotations: BTreeMap<String, String>,
}

fn repo() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."))
}

#[test]
fn alert_rules_name_exported_metrics_and_existing_runbooks() {
    let text =
        std::fs::read_to_string(repo().join("ops/prometheus/vouch-serve.rules.yml")).unwrap();
    let file: File = marked_yaml::from_yaml(0, &text).unwrap();
    // Families appear in the exposition once they have a sample: give each one.
    use vouch_server::metrics::*;
    let m = Metrics::new();
    m.requests
        .get_or_create(&RequestLabels {
            endpoint: "sign/dsse".into(),
            outcome: "signed".into(),
            code: "ok".into(),
        })
        .inc();
    m.latency
        .get_or_create(&EndpointLabels {
            endpoint: "sign/dsse".into(),
        })
        .observe(0.001);
    let tenant = TenantLabels { tenant: "t".into() };
    m.quota_hits.get_or_create(&tenant).inc();
    m.active_keys.get_or_create(&tenant).set(1);
    m.key_signatures
        .get_or_create(&KeyLabels { key_id: "k".into() })
        .inc();
    let exported = m.render();
    let mut alerts = BTreeSet::new();
    let mut covered = BTreeSet::new();
    for g in &file.groups {
        assert_eq!(g.name, "vouch-serve");
        for r in &g.rules {
            assert!(
                alerts.insert(r.alert.clone()),
                "duplicate alert {}",
                r.alert
            );
            assert!(
                r.for_.ends_with('m') || r.for_.ends_with('s'),
                "{}: for",
                r.alert
            );
            assert!(
                ["critical", "warning"].contains(&r.labels["severity"].as_str()),
                "{}: severity",
                r.alert
            );
            assert!(!r.annotations["summary"].is_empty());
            let runbook = &r.annotations["runbook"];
            assert!(
                repo().join(runbook).is_file(),
                "{}: no runbook {runbook}",
                r.alert
            );
            let names: Vec<&str> = r
                .expr
                .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .filter(|w| w.starts_with("vouch_serve_"))
                .collect();
            assert!(!names.is_empty(), "{}: names no vouch metric", r.alert);
            for n in names {
                let base = ["_bucket", "_total", "_sum", "_count"]
                    .iter()
                    .fold(n, |n, s| n.strip_suffix(s).unwrap_or(n));
                assert!(
                    exported.contains(&format!("# TYPE {base} ")),
                    "{}: `{n}` is not exported:\n{exported}",
                    r.alert
                );
                covered.insert(base.to_string());
            }
        }
    }
    // The alerts the service promises: PoE outage, key exhaustion/revocation, quota breach,
    // failure-rate spikes.
    for needed in [
        "vouch_serve_poe_outage",
        "vouch_serve_active_keys",
        "vouch_serve_quota_hits",
        "vouch_serve_requests",
    ] {
        assert!(covered.contains(needed), "no alert on {needed}");
    }
}
