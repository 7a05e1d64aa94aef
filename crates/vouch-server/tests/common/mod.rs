//! The harness of the end-to-end tests: one dev instance of the service on a loopback port,
//! tokens from its dev issuer, DPoP proofs from fresh client keys, and a plain HTTP/1 client.
//! Every test starts its own instance in its own temporary directory.

#![allow(dead_code)]

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{SystemTime, UNIX_EPOCH};

use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use serde_json::{Value, json};
use sha2::Digest;
use tempfile::TempDir;
use vouch_server::auth::issuer::{DpopKey, LocalIssuer, MintRequest};
use vouch_server::dev::{DEV_ISSUER, DEV_TENANT};
use vouch_server::{Running, ServeConfig};

pub const DSSE: &str = "/api/v1/signer/sign/dsse";
pub const BLOB: &str = "/api/v1/signer/sign/blob";
pub const EXPORT: &str = "/api/v1/signer/sign/export";

/// The external judge (`@sigstore/verify`), relative to the repository root.
pub const JUDGE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../../shared/interop/verify-bundle-key"
);

pub fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

pub fn sha256_hex(data: &[u8]) -> String {
    hex::encode(sha2::Sha256::digest(data))
}

/// An answer: status, headers and body.
#[derive(Debug)]
pub struct Resp {
    pub status: u16,
    pub headers: hyper::HeaderMap,
    pub body: Vec<u8>,
}

impl Resp {
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| {
            panic!(
                "HTTP {}: body is not JSON ({e}): {}",
                self.status,
                self.text()
            )
        })
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// `error.code` of a refusal.
    pub fn code(&self) -> String {
        self.json()["error"]["code"]
            .as_str()
            .unwrap_or_default()
            .to_string()
    }

    pub fn header(&self, name: &str) -> Option<String> {
        self.headers
            .get(name)
            .map(|v| v.to_str().unwrap().to_string())
    }

    /// Asserts a refusal with `status` and `code`.
    #[track_caller]
    pub fn refused(&self, status: u16, code: &str) {
        assert_eq!(
            (self.status, self.code().as_str()),
            (status, code),
            "{}",
            self.text()
        );
    }

    #[track_caller]
    pub fn ok(&self) -> Value {
        assert_eq!(self.status, 200, "{}", self.text());
        self.json()
    }
}

/// A client: its DPoP key and a token bound to it.
pub struct Caller {
    pub key: DpopKey,
    pub token: String,
}

/// A running instance.
pub struct Instance {
    pub dir: TempDir,
    /// The instance's data directory (canonical).
    pub data: PathBuf,
    pub addr: SocketAddr,
    pub base: String,
    pub issuer: LocalIssuer,
    pub running: Option<Running>,
    client: Client<HttpConnector, Full<Bytes>>,
}

pub async fn start() -> Instance {
    start_with(|_| {}).await
}

/// Starts an instance whose dev configuration `tweak` may change (its `data_dir` exists).
pub async fn start_with(tweak: impl FnOnce(&mut ServeConfig)) -> Instance {
    let dir = tempfile::tempdir().unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (mut config, extra) = vouch_server::dev::config(addr, dir.path()).unwrap();
    tweak(&mut config);
    let data = config.data_dir.clone();
    let running = vouch_server::start_on(listener, config, Some(extra))
        .await
        .unwrap_or_else(|e| panic!("start: {e}"));
    let issuer = LocalIssuer::load_or_create(&data, DEV_ISSUER).unwrap();
    Instance {
        dir,
        data,
        addr,
        base: running.base_url.clone(),
        issuer,
        running: Some(running),
        client: Client::builder(TokioExecutor::new()).build_http(),
    }
}

/// A quota plan (the only one, for every tenant).
pub fn one_plan(limits: vouch_server::quota::Limits) -> vouch_server::quota::QuotaConfig {
    vouch_server::quota::QuotaConfig::new(
        [("p".to_string(), limits)].into(),
        "p".into(),
        Default::default(),
    )
    .unwrap()
}

impl Instance {
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// A caller whose token `f` may change (defaults: the dev tenant, `signer.sign`, bound
    /// to a fresh DPoP key).
    pub fn mint(&self, f: impl FnOnce(&mut MintRequest)) -> Caller {
        let key = DpopKey::generate().unwrap();
        let mut req = MintRequest {
            subject: "ci@example".into(),
            tenant: DEV_TENANT.into(),
            scope: "signer.sign".into(),
            audience: "signer".into(),
            ttl_seconds: 600,
            dpop_jkt: Some(key.thumbprint().to_string()),
            now: now(),
            ..MintRequest::default()
        };
        f(&mut req);
        Caller {
            token: self.issuer.mint(&req).unwrap(),
            key,
        }
    }

    /// A caller that may sign for the dev tenant.
    pub fn signer(&self) -> Caller {
        self.mint(|_| {})
    }

    /// An administrator with step-up (`amr: ["mfa"]`).
    pub fn admin(&self) -> Caller {
        self.mint(|r| {
            r.subject = "admin@example".into();
            r.scope = "signer.sign signer.admin signer.audit".into();
            r.amr = vec!["mfa".into()];
        })
    }

    /// A DPoP proof of `caller` for `method` `path`.
    pub fn proof(&self, caller: &Caller, method: &str, path: &str, nonce: Option<&str>) -> String {
        caller
            .key
            .proof(method, &self.url(path), Some(&caller.token), nonce, now())
            .unwrap()
    }

    /// Sends a request with exactly these headers.
    pub async fn raw(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, String)],
        body: Option<Vec<u8>>,
    ) -> Resp {
        let mut req = hyper::Request::builder().method(method).uri(self.url(path));
        for (k, v) in headers {
            req = req.header(*k, v.as_str());
        }
        if body.is_some() {
            req = req.header("content-type", "application/json");
        }
        let req = req
            .body(Full::new(Bytes::from(body.unwrap_or_default())))
            .unwrap();
        let resp = self.client.request(req).await.unwrap();
        let (parts, body) = resp.into_parts();
        let body = body.collect().await.unwrap().to_bytes().to_vec();
        Resp {
            status: parts.status.as_u16(),
            headers: parts.headers,
            body,
        }
    }

    /// Sends `body` as `caller` with a fresh DPoP proof (and `nonce` in it, when given).
    pub async fn call_bytes(
        &self,
        caller: &Caller,
        method: &str,
        path: &str,
        body: Option<Vec<u8>>,
        nonce: Option<&str>,
    ) -> Resp {
        let proof = self.proof(caller, method, path, nonce);
        self.raw(
            method,
            path,
            &[
                ("authorization", format!("DPoP {}", caller.token)),
                ("dpop", proof),
            ],
            body,
        )
        .await
    }

    pub async fn call(
        &self,
        caller: &Caller,
        method: &str,
        path: &str,
        body: Option<&Value>,
    ) -> Resp {
        self.call_bytes(
            caller,
            method,
            path,
            body.map(|b| serde_json::to_vec(b).unwrap()),
            None,
        )
        .await
    }

    pub async fn post(&self, caller: &Caller, path: &str, body: &Value) -> Resp {
        self.call(caller, "POST", path, Some(body)).await
    }

    /// POSTs JSON without credentials (the keyless log API is public).
    pub async fn post_public(&self, path: &str, body: &Value) -> Resp {
        self.raw("POST", path, &[], Some(serde_json::to_vec(body).unwrap()))
            .await
    }

    pub async fn get(&self, path: &str) -> Resp {
        self.raw("GET", path, &[], None).await
    }

    /// The instance's trusted root (naming its log), as served.
    pub async fn trusted_root_json(&self) -> Vec<u8> {
        let r = self.get("/api/v1/signer/trusted-root").await;
        assert_eq!(r.status, 200, "{}", r.text());
        r.body
    }

    pub async fn trusted_root(&self) -> vouch_attest::TrustedRoot {
        vouch_attest::TrustedRoot::for_logs(&self.trusted_root_json().await).unwrap()
    }

    /// [`judge`] with this instance's trusted root.
    pub async fn judge(&self, bundle: &Value, artifact: &[u8], public_key_pem: &str) -> Judgement {
        let root = self.trusted_root_json().await;
        judge(self.dir.path(), bundle, artifact, public_key_pem, &root)
    }

    /// The audit records, read through the API.
    pub async fn audit_records(&self) -> Vec<Value> {
        let auditor = self.mint(|r| r.scope = "signer.sign signer.audit".into());
        let r = self
            .call(&auditor, "GET", "/api/v1/admin/audit?limit=1000", None)
            .await;
        r.ok()["records"].as_array().unwrap().clone()
    }

    pub async fn stop(&mut self) {
        if let Some(r) = self.running.take() {
            r.stop().await;
        }
    }
}

/// A DSSE request body for the dev tenant about `subject_sha256`.
pub fn dsse_body(subject_sha256: &str, predicate_type: &str) -> Value {
    json!({
        "tenant": DEV_TENANT,
        "subjects": [{"name": "artifact.bin", "digest": {"sha256": subject_sha256}}],
        "predicateType": predicate_type,
        "predicate": {"note": "built by the end-to-end tests"},
    })
}

/// A blob request body for the dev tenant.
pub fn blob_body(sha256: &str) -> Value {
    json!({"tenant": DEV_TENANT, "digest": format!("sha256:{sha256}")})
}

/// What the external judge said.
#[derive(Debug, PartialEq, Eq)]
pub enum Judgement {
    Accept,
    Reject(String),
}

/// Runs the external judge on a bundle, an artifact, a public key (PEM) and the trusted root
/// naming the log. A harness error (exit 2) fails the test: a verdict that could not be
/// reached is not a pass.
pub fn judge(
    dir: &Path,
    bundle: &Value,
    artifact: &[u8],
    public_key_pem: &str,
    trusted_root: &[u8],
) -> Judgement {
    let bundle_path = dir.join("judge-bundle.json");
    let artifact_path = dir.join("judge-artifact.bin");
    let key_path = dir.join("judge-key.pem");
    let root_path = dir.join("judge-trusted-root.json");
    std::fs::write(&bundle_path, serde_json::to_vec(bundle).unwrap()).unwrap();
    std::fs::write(&artifact_path, artifact).unwrap();
    std::fs::write(&key_path, public_key_pem).unwrap();
    std::fs::write(&root_path, trusted_root).unwrap();
    let repo_root = concat!(env!("CARGO_MANIFEST_DIR"), "/../..");
    let out = Command::new(JUDGE)
        .arg(&bundle_path)
        .arg(&artifact_path)
        .arg(&key_path)
        .arg(&root_path)
        .current_dir(repo_root)
        .output()
        .unwrap_or_else(|e| panic!("cannot run the judge {JUDGE}: {e}"));
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    match out.status.code() {
        Some(0) if stdout.contains("ACCEPT") => Judgement::Accept,
        Some(1) if stdout.contains("REJECT") => Judgement::Reject(stdout),
        _ => panic!(
            "the judge could not judge ({:?}): {stdout}{stderr}",
            out.status
        ),
    }
}
