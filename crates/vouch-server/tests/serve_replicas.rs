//! Two replicas of `vouch serve` in one process, sharing what replicas behind one load
//! balancer share: one PostgreSQL (audit chain, the log's sequencing index), one Redis (DPoP
//! replay cache, quotas), one data directory (keys, log tiles), the DPoP nonce secret, the
//! token issuer's JWKS and the external URL. Whatever one replica remembers, the other must
//! see: a proof used at one is a replay at the other, a quota is one budget, and concurrent
//! signing at both makes one log and one audit chain.
//!
//! Needs PostgreSQL (trust auth, user `postgres`, database `test`) and Redis on 127.0.0.1
//! (`VOUCH_TEST_PG`, `VOUCH_TEST_REDIS` override); fails, rather than skips, without them.

use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use serde_json::{Value, json};
use tokio::net::TcpListener;
use vouch_attest::vouch_crypto::keys::PublicKey;
use vouch_attest::{Bundle, Evidence, Outcome, Policy, TrustedRoot, Verifier};
use vouch_server::audit::AuditStore;
use vouch_server::auth::{DpopKey, LocalIssuer, MintRequest};
use vouch_server::dev::{self, DEV_ISSUER, DEV_TENANT};
use vouch_server::quota::{Limits, QuotaConfig};
use vouch_server::server::AuthExtra;
use vouch_server::{Running, start_on};

/// What clients call: the load balancer in front of both replicas. DPoP proofs name it.
const EXTERNAL_URL: &str = "http://signer.example:8443";
const DSSE: &str = "/api/v1/signer/sign/dsse";
const BLOB: &str = "/api/v1/signer/sign/blob";

fn pg_params() -> String {
    std::env::var("VOUCH_TEST_PG")
        .unwrap_or_else(|_| "host=127.0.0.1 user=postgres dbname=test".into())
}

fn redis_url() -> String {
    std::env::var("VOUCH_TEST_REDIS").unwrap_or_else(|_| "redis://127.0.0.1:6379/".into())
}

const START_THEM: &str = "this test needs PostgreSQL (trust auth, user postgres, database test) \
     and Redis on 127.0.0.1: start them (CI starts them from .ci/setup.d), or point \
     VOUCH_TEST_PG / VOUCH_TEST_REDIS at them";

/// Fails the test, with what to do, when PostgreSQL or Redis is not there.
async fn require_services() {
    let pg = tokio::time::timeout(
        Duration::from_secs(5),
        tokio_postgres::connect(&pg_params(), tokio_postgres::NoTls),
    )
    .await;
    match pg {
        Ok(Ok((_client, conn))) => drop(conn),
        Ok(Err(e)) => panic!("PostgreSQL is unreachable ({e}): {START_THEM}"),
        Err(_) => panic!("PostgreSQL did not answer within 5 s: {START_THEM}"),
    }
    let redis = async {
        let client = redis::Client::open(redis_url())?;
        let mut c = client.get_multiplexed_async_connection().await?;
        redis::cmd("PING").query_async::<String>(&mut c).await
    };
    match tokio::time::timeout(Duration::from_secs(5), redis).await {
        Ok(Ok(_)) => {}
        Ok(Err(e)) => panic!("Redis is unreachable ({e}): {START_THEM}"),
        Err(_) => panic!("Redis did not answer within 5 s: {START_THEM}"),
    }
}

/// The state one test run shares between its replicas; dropped (schemas, Redis keys, files)
/// when the test ends, even by a panic.
struct Shared {
    schema: String,
    prefix: String,
    dir: tempfile::TempDir,
}

impl Shared {
    fn new() -> Shared {
        let id = uuid::Uuid::new_v4().simple().to_string();
        Shared {
            schema: format!("vouch_replicas_{}", &id[..16]),
            prefix: format!("vouch_replicas_{}:", &id[..16]),
            dir: tempfile::tempdir().unwrap(),
        }
    }
}

impl Drop for Shared {
    fn drop(&mut self) {
        let (schema, prefix) = (self.schema.clone(), self.prefix.clone());
        // Blocking clients on a thread of their own: Drop runs inside the test's runtime.
        let done = std::thread::spawn(move || {
            let pg = pg_params();
            let _ = vouch_tlog::index_pg::PgIndex::drop_schema(&pg, &schema);
            let _ = vouch_tlog::index_pg::PgIndex::drop_schema(&pg, &format!("{schema}_log"));
            let _ = vouch_tlog::index_pg::PgIndex::drop_schema(&pg, &format!("{schema}_ct"));
            if let Ok(mut c) = redis::Client::open(redis_url()).and_then(|c| c.get_connection()) {
                let keys: Vec<String> = redis::cmd("KEYS")
                    .arg(format!("{prefix}*"))
                    .query(&mut c)
                    .unwrap_or_default();
                if !keys.is_empty() {
                    let _: redis::RedisResult<i64> = redis::cmd("DEL").arg(&keys).query(&mut c);
                }
            }
        });
        let _ = done.join();
    }
}

/// Two replicas on two loopback listeners, configured as `vouch serve --dev` on the shared
/// directory and then pointed at the shared PostgreSQL and Redis.
struct Pair {
    a: Running,
    b: Running,
    issuer: LocalIssuer,
}

async fn start_pair(shared: &Shared, quota: Option<QuotaConfig>) -> Pair {
    require_services().await;
    let la = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let lb = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let configure = |addr: SocketAddr| {
        let (mut config, extra) = dev::config(addr, shared.dir.path()).unwrap();
        config.external_url = EXTERNAL_URL.into();
        config.database_url = Some(pg_params());
        config.database_schema = shared.schema.clone();
        config.redis_url = Some(redis_url());
        config.redis_prefix = shared.prefix.clone();
        if let Some(q) = &quota {
            config.quota = q.clone();
        }
        (config, extra)
    };
    let (config_a, extra) = configure(la.local_addr().unwrap());
    let (config_b, _) = configure(lb.local_addr().unwrap());
    let secret = extra.nonce_secret.clone();
    let a = start_on(la, config_a, Some(extra)).await.unwrap();
    let b = start_on(
        lb,
        config_b,
        Some(AuthExtra {
            nonce_secret: secret,
        }),
    )
    .await
    .unwrap();
    let issuer = LocalIssuer::load_or_create(shared.dir.path(), DEV_ISSUER).unwrap();
    Pair { a, b, issuer }
}

impl Pair {
    async fn stop(self) {
        self.a.stop().await;
        self.b.stop().await;
    }
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// A client with its DPoP key and a token bound to it.
struct Caller {
    key: DpopKey,
    token: String,
}

impl Caller {
    fn new(issuer: &LocalIssuer) -> Caller {
        let key = DpopKey::generate().unwrap();
        let token = issuer
            .mint(&MintRequest {
                subject: "ci-job".into(),
                tenant: DEV_TENANT.into(),
                scope: "signer.sign".into(),
                audience: "signer".into(),
                ttl_seconds: 600,
                dpop_jkt: Some(key.thumbprint().to_string()),
                now: now(),
                ..MintRequest::default()
            })
            .unwrap();
        Caller { key, token }
    }

    /// A fresh proof for POST `path` at the external URL.
    fn proof(&self, path: &str) -> String {
        self.key
            .proof(
                "POST",
                &format!("{EXTERNAL_URL}{path}"),
                Some(&self.token),
                None,
                now(),
            )
            .unwrap()
    }
}

type Http = Client<HttpConnector, Full<Bytes>>;

fn http() -> Http {
    Client::builder(TokioExecutor::new()).build_http()
}

/// Sends to one replica (by its own address) what a client sent to the load balancer.
async fn send(
    http: &Http,
    to: &Running,
    method: &str,
    path: &str,
    auth: Option<(&Caller, &str)>,
    body: Option<&Value>,
) -> (u16, Value) {
    let mut req = hyper::Request::builder()
        .method(method)
        .uri(format!("http://{}{path}", to.addr));
    if let Some((caller, proof)) = auth {
        req = req
            .header("authorization", format!("DPoP {}", caller.token))
            .header("dpop", proof);
    }
    let body = match body {
        Some(b) => {
            req = req.header("content-type", "application/json");
            Bytes::from(serde_json::to_vec(b).unwrap())
        }
        None => Bytes::new(),
    };
    let resp = http
        .request(req.body(Full::new(body)).unwrap())
        .await
        .unwrap();
    let status = resp.status().as_u16();
    let bytes = resp.into_body().collect().await.unwrap().to_bytes();
    let value = serde_json::from_slice(&bytes)
        .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into_owned()));
    (status, value)
}

fn code(v: &Value) -> &str {
    v["error"]["code"].as_str().unwrap_or("")
}

fn digest(i: usize, what: &str) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(format!("{what} {i}")))
}

fn dsse_body(i: usize, what: &str) -> Value {
    json!({
        "tenant": DEV_TENANT,
        "subjects": [{"name": format!("artifact-{i}.tar"), "digest": {"sha256": digest(i, what)}}],
        "predicateType": "https://example.com/replica-test/v1",
        "predicate": {"request": i, "run": what},
    })
}

fn blob_body(i: usize, what: &str) -> Value {
    json!({"tenant": DEV_TENANT, "digest": format!("sha256:{}", digest(i, what))})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_proof_used_at_one_replica_is_a_replay_at_the_other() {
    let shared = Shared::new();
    let pair = start_pair(&shared, None).await;
    let http = http();
    let caller = Caller::new(&pair.issuer);

    let proof = caller.proof(BLOB);
    let body = blob_body(1, "replay");
    let (status, v) = send(
        &http,
        &pair.a,
        "POST",
        BLOB,
        Some((&caller, &proof)),
        Some(&body),
    )
    .await;
    assert_eq!(status, 200, "replica A signs: {v}");
    let (status, v) = send(
        &http,
        &pair.b,
        "POST",
        BLOB,
        Some((&caller, &proof)),
        Some(&body),
    )
    .await;
    assert_eq!(status, 401, "the same proof at replica B: {v}");
    assert_eq!(code(&v), "invalid_dpop_proof", "{v}");

    // B accepts this caller with a fresh proof: it was the replay that B refused.
    let fresh = caller.proof(BLOB);
    let (status, v) = send(
        &http,
        &pair.b,
        "POST",
        BLOB,
        Some((&caller, &fresh)),
        Some(&body),
    )
    .await;
    assert_eq!(status, 200, "replica B with a fresh proof: {v}");
    // And the other way round: B's proof replayed to A.
    let (status, v) = send(
        &http,
        &pair.a,
        "POST",
        BLOB,
        Some((&caller, &fresh)),
        Some(&body),
    )
    .await;
    assert_eq!(
        (status, code(&v)),
        (401, "invalid_dpop_proof"),
        "B's proof replayed to A: {v}"
    );
    pair.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_quota_is_one_budget_across_replicas() {
    const BURST: u32 = 5;
    let plan = Limits {
        // One token back per ~3 hours: nothing refills while the test runs.
        requests_per_second: 0.0001,
        burst: BURST,
        concurrent: 64,
        max_payload_bytes: 1 << 20,
        daily_signatures: 1_000_000,
    };
    let quota = QuotaConfig::new(
        BTreeMap::from([("tight".to_string(), plan)]),
        "tight".into(),
        BTreeMap::new(),
    )
    .unwrap();
    let shared = Shared::new();
    let pair = start_pair(&shared, Some(quota)).await;
    let http = http();
    let caller = Caller::new(&pair.issuer);
    let replicas = [&pair.a, &pair.b];

    for i in 0..BURST as usize {
        let (status, v) = send(
            &http,
            replicas[i % 2],
            "POST",
            BLOB,
            Some((&caller, &caller.proof(BLOB))),
            Some(&blob_body(i, "quota")),
        )
        .await;
        assert_eq!(status, 200, "request {} of the burst {BURST}: {v}", i + 1);
    }
    for (name, replica) in [("A", &pair.a), ("B", &pair.b)] {
        let (status, v) = send(
            &http,
            replica,
            "POST",
            BLOB,
            Some((&caller, &caller.proof(BLOB))),
            Some(&blob_body(99, "quota")),
        )
        .await;
        assert_eq!(
            (status, code(&v)),
            (429, "quota_exceeded"),
            "past the burst at replica {name}: {v}"
        );
    }
    pair.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn both_replicas_sign_concurrently_into_one_log_and_one_audit_chain() {
    const PER_REPLICA: usize = 20;
    let shared = Shared::new();
    let pair = Arc::new(start_pair(&shared, None).await);
    let http = http();

    let mut tasks = Vec::new();
    for i in 0..2 * PER_REPLICA {
        let (pair, http) = (pair.clone(), http.clone());
        tasks.push(tokio::spawn(async move {
            let caller = Caller::new(&pair.issuer);
            let replica = if i % 2 == 0 { &pair.a } else { &pair.b };
            let (status, v) = send(
                &http,
                replica,
                "POST",
                DSSE,
                Some((&caller, &caller.proof(DSSE))),
                Some(&dsse_body(i, "concurrent")),
            )
            .await;
            assert_eq!(status, 200, "request {i}: {v}");
            (i, v)
        }));
    }
    let mut signed = Vec::new();
    for t in tasks {
        signed.push(t.await.unwrap());
    }

    // Both replicas name the same log.
    let (sa, root_a) = send(
        &http,
        &pair.a,
        "GET",
        "/api/v1/signer/trusted-root",
        None,
        None,
    )
    .await;
    let (sb, root_b) = send(
        &http,
        &pair.b,
        "GET",
        "/api/v1/signer/trusted-root",
        None,
        None,
    )
    .await;
    assert_eq!((sa, sb), (200, 200));
    assert_eq!(root_a, root_b, "the replicas serve different trusted roots");
    let root = Arc::new(TrustedRoot::for_logs(&serde_json::to_vec(&root_a).unwrap()).unwrap());

    let mut indexes = BTreeSet::new();
    for (i, v) in &signed {
        let key = PublicKey::from_pem(v["signingIdentity"]["publicKey"].as_str().unwrap()).unwrap();
        let verifier = Verifier::new(
            Policy::keys(vec![key])
                .with_tlog_root(root.clone())
                .requiring_tlog(),
        );
        let bundle = Bundle::from_json(&serde_json::to_vec(&v["bundle"]).unwrap()).unwrap();
        let outcome = verifier
            .verify_attestation(
                &Evidence::Bundle(Box::new(bundle)),
                Some(&digest(*i, "concurrent")),
            )
            .unwrap();
        assert!(
            matches!(outcome, Outcome::Verified(_)),
            "request {i}: {outcome:?}"
        );
        let index = v["logIndex"].as_u64().unwrap();
        assert!(indexes.insert(index), "log index {index} given twice");
    }
    let n = 2 * PER_REPLICA as u64;
    assert_eq!(indexes, (0..n).collect::<BTreeSet<_>>());

    // The published checkpoint, served by either replica, is the latest: an older one
    // published late by the other replica must not stay in place.
    for replica in [&pair.a, &pair.b] {
        let (status, cp) = send(&http, replica, "GET", "/log/checkpoint", None, None).await;
        assert_eq!(status, 200);
        let text = cp
            .as_str()
            .map(str::to_owned)
            .unwrap_or_else(|| cp.to_string());
        let size: u64 = text.lines().nth(1).unwrap().parse().unwrap();
        assert_eq!(size, n, "{text}");
    }

    // One chain, one record per request, none broken.
    let audit = AuditStore::open_postgres(&pg_params(), &shared.schema)
        .await
        .unwrap();
    let report = audit.verify().await.unwrap();
    assert!(report.problems.is_empty(), "{:?}", report.problems);
    assert_eq!(report.records, n, "{report:?}");
    assert_eq!(report.head.seq, n, "{report:?}");

    drop(audit);
    let Ok(pair) = Arc::try_unwrap(pair) else {
        panic!("a request task still holds the replicas")
    };
    pair.stop().await;
}
