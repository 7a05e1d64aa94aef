//! End to end over real HTTP on loopback: the policies between a valid token and a signature
//! — quotas, proof of entitlement (against a real introspection endpoint on loopback whose
//! answers the test sets) and scanner provenance.

mod common;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use common::*;
use serde_json::{Value, json};
use vouch_crypto::keys::{HashAlgorithm, KeyAlgorithm, Prehash, PrivateKey};
use vouch_server::dev::DEV_TENANT;
use vouch_server::poe::PoeConfig;
use vouch_server::quota::Limits;
use vouch_server::scanner::ScannerConfig;

const PT: &str = "https://example.com/e2e/v1";
const CYCLONEDX: &str = "https://cyclonedx.org/bom";

fn limits(rps: f64, burst: u32, max_payload: u64, daily: u64) -> Limits {
    Limits {
        requests_per_second: rps,
        burst,
        concurrent: 8,
        max_payload_bytes: max_payload,
        daily_signatures: daily,
    }
}

/// The audit records of `endpoint`, newest last.
async fn records_of(inst: &Instance, endpoint: &str) -> Vec<Value> {
    inst.audit_records()
        .await
        .into_iter()
        .map(|r| r["record"].clone())
        .filter(|r| r["endpoint"] == endpoint)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rate_limit_and_payload_limits() {
    let inst = start_with(|c| {
        c.quota = one_plan(limits(0.5, 2, 700, 100));
        c.max_body_bytes = 4096;
    })
    .await;
    let c = inst.signer();
    let digest = sha256_hex(b"quota");

    // A body over the plan's limit: refused before the rate is charged.
    let mut big = dsse_body(&digest, PT);
    big["predicate"]["padding"] = "x".repeat(1000).into();
    inst.post(&c, DSSE, &big)
        .await
        .refused(413, "payload_too_large");
    // A body over the server's limit.
    let mut huge = dsse_body(&digest, PT);
    huge["predicate"]["padding"] = "x".repeat(8000).into();
    inst.post(&c, DSSE, &huge)
        .await
        .refused(413, "payload_too_large");

    // Burst 2: two pass, the third is refused with Retry-After.
    inst.post(&c, BLOB, &blob_body(&digest)).await.ok();
    inst.post(&c, BLOB, &blob_body(&digest)).await.ok();
    let r = inst.post(&c, BLOB, &blob_body(&digest)).await;
    r.refused(429, "quota_exceeded");
    let retry: u64 = r
        .header("retry-after")
        .expect("Retry-After")
        .parse()
        .unwrap();
    assert!((1..=2).contains(&retry), "Retry-After: {retry}");

    // Another tenant's bucket is its own (refused for its tenant, not for the rate).
    let acme = inst.mint(|r| r.tenant = "acme".into());
    inst.post(
        &acme,
        BLOB,
        &json!({"tenant": "acme", "digest": format!("sha256:{digest}")}),
    )
    .await
    .refused(409, "no_signing_key");

    // After Retry-After, one more passes.
    tokio::time::sleep(Duration::from_millis(retry * 1000 + 100)).await;
    inst.post(&c, BLOB, &blob_body(&digest)).await.ok();

    let states: Vec<Value> = records_of(&inst, "sign/blob")
        .await
        .iter()
        .filter(|r| r["tenant"] == DEV_TENANT)
        .map(|r| r["quota_state"].clone())
        .collect();
    assert_eq!(
        states,
        vec![json!("ok"), json!("ok"), json!("rate_limited"), json!("ok")]
    );
    let dsse: Vec<(Value, Value)> = records_of(&inst, "sign/dsse")
        .await
        .iter()
        .map(|r| (r["error_code"].clone(), r["quota_state"].clone()))
        .collect();
    // The plan's limit is a quota decision; the server's limit stops the body being read.
    assert_eq!(
        dsse,
        vec![
            (json!("payload_too_large"), json!("payload_too_large")),
            (json!("payload_too_large"), json!("not_checked")),
        ]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn daily_signature_cap() {
    let inst = start_with(|c| c.quota = one_plan(limits(100.0, 100, 1 << 16, 3))).await;
    let c = inst.signer();
    let digest = sha256_hex(b"daily");

    // A refusal before signing does not count.
    let mut other = blob_body(&digest);
    other["tenant"] = "acme".into();
    inst.post(&c, BLOB, &other)
        .await
        .refused(403, "insufficient_scope");

    inst.post(&c, BLOB, &blob_body(&digest)).await.ok();
    inst.post(&c, DSSE, &dsse_body(&digest, PT)).await.ok();
    let export = json!({"tenant": DEV_TENANT, "manifest": {"name": "n", "files": [
        {"path": "a", "sha256": digest, "size": 5}]}});
    inst.post(&c, EXPORT, &export).await.ok();
    for path in [BLOB, DSSE] {
        let body = if path == BLOB {
            blob_body(&digest)
        } else {
            dsse_body(&digest, PT)
        };
        let r = inst.post(&c, path, &body).await;
        r.refused(429, "quota_exceeded");
        let retry: u64 = r
            .header("retry-after")
            .expect("Retry-After")
            .parse()
            .unwrap();
        assert!((1..=86_400).contains(&retry), "Retry-After: {retry}");
        assert!(
            r.json()["error"]["message"]
                .as_str()
                .unwrap()
                .contains("daily")
        );
    }
    let last = records_of(&inst, "sign/dsse").await.pop().unwrap();
    assert_eq!(last["quota_state"], "daily_cap", "{last}");
    assert_eq!(last["decision"], "refused");
}

/// What the introspection endpoint answers.
#[derive(Clone, Copy, Debug)]
enum Poe {
    Entitled(bool),
    Outage,
}

#[derive(Clone)]
struct PoeEndpoint {
    mode: Arc<Mutex<Poe>>,
    asked: Arc<Mutex<Vec<Value>>>,
}

async fn introspect(
    State(ep): State<PoeEndpoint>,
    axum::Json(body): axum::Json<Value>,
) -> axum::response::Response {
    ep.asked.lock().unwrap().push(body);
    let mode = *ep.mode.lock().unwrap();
    match mode {
        Poe::Entitled(e) => axum::Json(json!({"entitled": e, "plan": "team"})).into_response(),
        Poe::Outage => (StatusCode::INTERNAL_SERVER_ERROR, "down").into_response(),
    }
}

/// Starts the introspection endpoint; returns it and its URL.
async fn poe_endpoint() -> (PoeEndpoint, String) {
    let ep = PoeEndpoint {
        mode: Arc::new(Mutex::new(Poe::Entitled(true))),
        asked: Arc::new(Mutex::new(Vec::new())),
    };
    let app = axum::Router::new()
        .route("/introspect", axum::routing::post(introspect))
        .with_state(ep.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/introspect", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    (ep, url)
}

fn poe_config(url: &str, refresh: u64, ttl: u64) -> PoeConfig {
    PoeConfig {
        url: url.to_string(),
        token_env: None,
        refresh_seconds: refresh,
        ttl_seconds: ttl,
        timeout_ms: 2000,
        bypass: false,
    }
}

impl PoeEndpoint {
    fn set(&self, mode: Poe) {
        *self.mode.lock().unwrap() = mode;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn entitlement_is_asked_cached_and_fails_closed() {
    let (ep, url) = poe_endpoint().await;
    // Ask every time (refresh 0); an answer serves an outage for 2 s. (TTLs are whole
    // seconds: with 2, an answer is still good right after it was obtained whatever the
    // sub-second clock, and certainly stale 2.1 s later.)
    let inst = start_with(|c| c.poe = Some(poe_config(&url, 0, 2))).await;
    let c = inst.signer();
    let digest = sha256_hex(b"poe");

    inst.post(&c, BLOB, &blob_body(&digest)).await.ok();
    assert_eq!(
        ep.asked.lock().unwrap().last(),
        Some(&json!({"tenant": DEV_TENANT}))
    );

    ep.set(Poe::Entitled(false));
    inst.post(&c, BLOB, &blob_body(&digest))
        .await
        .refused(403, "entitlement_denied");

    // An outage after a "no" is still a no.
    ep.set(Poe::Outage);
    inst.post(&c, BLOB, &blob_body(&digest))
        .await
        .refused(403, "entitlement_denied");

    // An outage right after a "yes": the cached yes (inside its TTL) signs.
    ep.set(Poe::Entitled(true));
    inst.post(&c, BLOB, &blob_body(&digest)).await.ok();
    ep.set(Poe::Outage);
    inst.post(&c, BLOB, &blob_body(&digest)).await.ok();

    // After the TTL, the outage refuses.
    tokio::time::sleep(Duration::from_millis(2100)).await;
    inst.post(&c, BLOB, &blob_body(&digest))
        .await
        .refused(403, "entitlement_denied");

    let states: Vec<Value> = records_of(&inst, "sign/blob")
        .await
        .iter()
        .map(|r| r["poe_state"].clone())
        .collect();
    assert_eq!(
        states,
        ["fresh", "denied", "denied", "fresh", "stale", "denied"].map(|s| json!(s))
    );
    let metrics = inst.get("/metrics").await.text();
    assert!(
        metrics
            .lines()
            .any(|l| l.starts_with("vouch_serve_poe_outage") && l.ends_with(" 1")),
        "{metrics}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ttl_of_one_second_expires() {
    let (ep, url) = poe_endpoint().await;
    let inst = start_with(|c| c.poe = Some(poe_config(&url, 0, 1))).await;
    let c = inst.signer();
    let digest = sha256_hex(b"poe ttl");
    inst.post(&c, BLOB, &blob_body(&digest)).await.ok();
    ep.set(Poe::Outage);
    tokio::time::sleep(Duration::from_millis(1100)).await;
    inst.post(&c, BLOB, &blob_body(&digest))
        .await
        .refused(403, "entitlement_denied");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cached_answer_is_used_without_asking() {
    let (ep, url) = poe_endpoint().await;
    let inst = start_with(|c| c.poe = Some(poe_config(&url, 60, 900))).await;
    let c = inst.signer();
    let digest = sha256_hex(b"poe cache");
    inst.post(&c, BLOB, &blob_body(&digest)).await.ok();
    ep.set(Poe::Entitled(false));
    inst.post(&c, BLOB, &blob_body(&digest)).await.ok();
    assert_eq!(ep.asked.lock().unwrap().len(), 1);
    let states: Vec<Value> = records_of(&inst, "sign/blob")
        .await
        .iter()
        .map(|r| r["poe_state"].clone())
        .collect();
    assert_eq!(states, ["fresh", "cached"].map(|s| json!(s)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn emergency_bypass_needs_step_up_and_is_audited() {
    let (ep, url) = poe_endpoint().await;
    let inst = start_with(|c| c.poe = Some(poe_config(&url, 0, 1))).await;
    let c = inst.signer();
    let digest = sha256_hex(b"bypass");
    ep.set(Poe::Entitled(false));
    inst.post(&c, DSSE, &dsse_body(&digest, PT))
        .await
        .refused(403, "entitlement_denied");

    const BYPASS: &str = "/api/v1/admin/poe/bypass";
    let on = json!({"enabled": true, "reason": "PoE outage, incident 42"});
    let no_mfa = inst.mint(|r| r.scope = "signer.sign signer.admin".into());
    inst.post(&no_mfa, BYPASS, &on)
        .await
        .refused(403, "step_up_required");
    inst.post(&c, BYPASS, &on)
        .await
        .refused(403, "insufficient_scope");
    inst.post(&c, DSSE, &dsse_body(&digest, PT))
        .await
        .refused(403, "entitlement_denied");

    let admin = inst.admin();
    inst.post(&admin, BYPASS, &json!({"enabled": true, "reason": " "}))
        .await
        .refused(400, "invalid_request");
    assert_eq!(inst.post(&admin, BYPASS, &on).await.ok()["bypass"], true);
    let v = inst.post(&c, DSSE, &dsse_body(&digest, PT)).await.ok();
    assert!(v["bundle"]["dsseEnvelope"].is_object());

    let off = json!({"enabled": false, "reason": "PoE is back"});
    assert_eq!(inst.post(&admin, BYPASS, &off).await.ok()["bypass"], false);
    inst.post(&c, DSSE, &dsse_body(&digest, PT))
        .await
        .refused(403, "entitlement_denied");

    let records: Vec<(Value, Value)> = records_of(&inst, "sign/dsse")
        .await
        .iter()
        .map(|r| (r["decision"].clone(), r["poe_state"].clone()))
        .collect();
    let want = [
        ("refused", "denied"),
        ("refused", "denied"),
        ("signed", "bypassed"),
        ("refused", "denied"),
    ]
    .map(|(d, p)| (json!(d), json!(p)));
    assert_eq!(records, want);
    let toggles: Vec<(Value, Value)> = records_of(&inst, "admin/poe/bypass")
        .await
        .iter()
        .map(|r| (r["decision"].clone(), r["error_code"].clone()))
        .collect();
    let want = [
        ("refused", json!("step_up_required")),
        ("refused", json!("insufficient_scope")),
        ("refused", json!("invalid_request")),
        ("done", Value::Null),
        ("done", Value::Null),
    ]
    .map(|(d, e)| (json!(d), e));
    assert_eq!(toggles, want);
}

/// A scanner-trust setup: a release key, a bundle directory, an allow-listed digest.
struct Scanners {
    good: String,
    foreign: String,
    allowed: String,
    unknown: String,
}

fn digest_of(name: &str) -> (String, Vec<u8>) {
    let hex = sha256_hex(name.as_bytes());
    let raw = hex::decode(&hex).unwrap();
    (format!("sha256:{hex}"), raw)
}

/// Writes a bundle signing `raw` (a sha256) by `key` into `dir/name`.
fn release_bundle(dir: &std::path::Path, name: &str, key: &PrivateKey, raw: Vec<u8>) {
    let bundle = vouch_attest::sign::sign_digest(
        key,
        Prehash {
            algorithm: HashAlgorithm::Sha256,
            value: raw,
        },
        0,
    )
    .unwrap();
    std::fs::write(dir.join(name), bundle.to_json()).unwrap();
}

fn scanner_setup(config: &mut vouch_server::ServeConfig) -> Scanners {
    let release = PrivateKey::generate(KeyAlgorithm::EcdsaP256).unwrap();
    let stranger = PrivateKey::generate(KeyAlgorithm::EcdsaP256).unwrap();
    let dir = config.data_dir.join("scanner-bundles");
    std::fs::create_dir_all(&dir).unwrap();
    let key_path = config.data_dir.join("scanner-release.pub");
    std::fs::write(&key_path, release.public_key().to_pem()).unwrap();

    let (good, good_raw) = digest_of("scanner image 1.0");
    let (foreign, foreign_raw) = digest_of("scanner image, repackaged");
    let (allowed, _) = digest_of("scanner image 0.9 (before signing)");
    let (unknown, _) = digest_of("someone's scanner");
    release_bundle(&dir, "good.json", &release, good_raw);
    release_bundle(&dir, "foreign.json", &stranger, foreign_raw);
    config.scanner = Some(ScannerConfig {
        release_keys: vec![key_path],
        bundles_dir: dir,
        allow_digests: vec![allowed.clone()],
        require_for: vec![CYCLONEDX.into()],
    });
    Scanners {
        good,
        foreign,
        allowed,
        unknown,
    }
}

fn sbom_body(subject: &str, scanner: Option<&str>) -> Value {
    let mut b = json!({
        "tenant": DEV_TENANT,
        "subjects": [{"name": "image", "digest": {"sha256": subject}}],
        "predicateType": CYCLONEDX,
        "predicate": {"bomFormat": "CycloneDX", "specVersion": "1.6", "components": []},
    });
    if let Some(s) = scanner {
        b["scanner"] = json!({"imageDigest": s});
    }
    b
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scanner_provenance_gates_sboms() {
    let mut scanners = None;
    let inst = start_with(|c| scanners = Some(scanner_setup(c))).await;
    let s = scanners.unwrap();
    let c = inst.signer();
    let subject = sha256_hex(b"the image the SBOM describes");

    // No scanner named.
    let r = inst.post(&c, DSSE, &sbom_body(&subject, None)).await;
    r.refused(403, "scanner_unverified");
    // Signed by the release key.
    let v = inst
        .post(&c, DSSE, &sbom_body(&subject, Some(&s.good)))
        .await
        .ok();
    assert!(v["bundle"]["dsseEnvelope"].is_object());
    // Signed by another key only.
    let r = inst
        .post(&c, DSSE, &sbom_body(&subject, Some(&s.foreign)))
        .await;
    r.refused(403, "scanner_unverified");
    // No bundle, but allow-listed.
    inst.post(&c, DSSE, &sbom_body(&subject, Some(&s.allowed)))
        .await
        .ok();
    // No bundle at all.
    inst.post(&c, DSSE, &sbom_body(&subject, Some(&s.unknown)))
        .await
        .refused(403, "scanner_unverified");
    // A predicate the rule does not cover needs no scanner.
    inst.post(&c, DSSE, &dsse_body(&subject, PT)).await.ok();

    // The referrers verdicts.
    let verdict = |d: &str| {
        let path = format!("/api/v1/signer/verify/referrers?digest={d}");
        let inst = &inst;
        let c = &c;
        async move { inst.call(c, "GET", &path, None).await.ok() }
    };
    let v = verdict(&s.good).await;
    assert_eq!(v["verdict"], "verified", "{v}");
    assert_eq!(v["verified_bundles"], json!(["good.json"]), "{v}");
    let v = verdict(&s.foreign).await;
    assert_eq!(v["verdict"], "unverified", "{v}");
    assert!(
        v["reason"].as_str().unwrap().contains("foreign.json"),
        "{v}"
    );
    let v = verdict(&s.allowed).await;
    assert_eq!(v["verdict"], "allow_listed", "{v}");
    let v = verdict(&s.unknown).await;
    assert_eq!(v["verdict"], "unverified", "{v}");
    inst.call(
        &c,
        "GET",
        "/api/v1/signer/verify/referrers?digest=sha256:12",
        None,
    )
    .await
    .refused(400, "invalid_request");
    // The verdicts need a token like signing does.
    inst.raw(
        "GET",
        &format!("/api/v1/signer/verify/referrers?digest={}", s.good),
        &[],
        None,
    )
    .await
    .refused(401, "invalid_token");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_foreign_bundle_beside_a_good_one_fails_the_scanner() {
    let mut scanners = None;
    let inst = start_with(|c| {
        let s = scanner_setup(c);
        // A second bundle about the good digest, signed by a stranger.
        let stranger = PrivateKey::generate(KeyAlgorithm::EcdsaP256).unwrap();
        let raw = hex::decode(s.good.trim_start_matches("sha256:")).unwrap();
        let dir = c.scanner.as_ref().unwrap().bundles_dir.clone();
        release_bundle(&dir, "zz-foreign-about-good.json", &stranger, raw);
        scanners = Some(s);
    })
    .await;
    let s = scanners.unwrap();
    let c = inst.signer();
    let subject = sha256_hex(b"the image");
    inst.post(&c, DSSE, &sbom_body(&subject, Some(&s.good)))
        .await
        .refused(403, "scanner_unverified");
}
