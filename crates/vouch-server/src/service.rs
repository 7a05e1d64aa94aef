//! The signing pipeline, shared by every signing endpoint: authenticate → scope and tenant →
//! payload size and quota → entitlement (PoE) → scanner provenance → key → sign → log →
//! audit. A request is signed only when every step passed; every request, signed or refused,
//! leaves exactly one audit record, and a signature whose audit record cannot be written is
//! not returned.
//!
//! Signing and logging are the capability crates' (`vouch_attest::sign`,
//! `vouch_attest::logging` over a `vouch_tlog` sequencer): the same calls as `vouch attest
//! --tlog` and `vouch sign-blob --tlog`, so a bundle from the service verifies exactly like
//! one from the CLI.

use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use serde::{Deserialize, Serialize};
use vouch_attest::Bundle;
use vouch_attest::logging::LogRequest;
use vouch_attest::statement::{ResourceDescriptor, STATEMENT_V1, Statement};
use vouch_crypto::keys::{HashAlgorithm, KeyAlgorithm, Prehash};
use vouch_crypto::signer::Signer;
use vouch_tlog::log::Appended;
use vouch_tlog::note::Verifier as NoteVerifier;
use vouch_tlog::sequencer::Sequencer;

use crate::audit::{AuditRecord, AuditStore};
use crate::auth::{Authenticator, Principal, RequestFacts};
use crate::error::{ApiError, Code};
use crate::keys::{KeyRing, Purpose};
use crate::metrics::{KeyLabels, Metrics, TenantLabels};
use crate::poe::{Entitlements, PoeState};
use crate::quota::Quotas;
use crate::scanner::ScannerTrust;

/// The scope a token needs to sign.
pub const SIGN_SCOPE: &str = "signer.sign";
/// The scope of key administration and the emergency bypass (which also need step-up).
pub const ADMIN_SCOPE: &str = "signer.admin";
/// The scope of the audit read API.
pub const AUDIT_SCOPE: &str = "signer.audit";

/// The service's transparency log: a batching sequencer and the checkpoint key.
pub struct ServiceLog {
    pub sequencer: Sequencer,
    pub key: NoteVerifier,
    pub origin: String,
}

/// Everything a request needs; one per process, shared by every connection.
pub struct Service {
    pub external_url: String,
    pub auth: Authenticator,
    pub quotas: Quotas,
    pub audit: AuditStore,
    pub keys: KeyRing,
    pub poe: Entitlements,
    pub scanner: Option<ScannerTrust>,
    pub log: Arc<ServiceLog>,
    pub metrics: Metrics,
    pub step_up: crate::auth::StepUpConfig,
    /// The log's tile directory (served read-only under `/log`).
    pub log_dir: std::path::PathBuf,
    /// The Sigstore trusted root naming the log.
    pub trusted_root: serde_json::Value,
    /// The ClientTrustConfig (trusted root + SigningConfig) of this instance.
    pub trust_config: serde_json::Value,
    /// Keyless signing (CA, CT, TSA), when configured.
    pub keyless: Option<crate::keyless::Keyless>,
    /// Redis, when configured (readiness).
    pub redis: Option<redis::aio::ConnectionManager>,
    /// Whether this is `vouch serve --dev` (for /readyz and the banner only).
    pub dev: bool,
}

impl std::fmt::Debug for Service {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Service")
            .field("external_url", &self.external_url)
            .finish_non_exhaustive()
    }
}

/// A subject of a DSSE signing request.
#[derive(Debug, Clone, Deserialize, Serialize, utoipa::ToSchema)]
pub struct SubjectInput {
    /// A name (file name, image reference).
    pub name: String,
    /// Digests by algorithm (`sha256` → lowercase hex); `sha256` is required.
    #[schema(value_type = Object)]
    pub digest: std::collections::BTreeMap<String, String>,
}

/// The scanner whose output is being signed.
#[derive(Debug, Clone, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ScannerInput {
    /// The scanner image digest (`sha256:…`).
    pub image_digest: String,
}

/// `POST /api/v1/signer/sign/dsse`.
#[derive(Debug, Clone, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DsseRequest {
    /// The tenant signing; must equal the token's tenant.
    pub tenant: String,
    /// What the statement is about (with `predicateType` and `predicate`).
    #[serde(default)]
    pub subjects: Vec<SubjectInput>,
    #[serde(default)]
    pub predicate_type: Option<String>,
    #[serde(default)]
    #[schema(value_type = Object)]
    pub predicate: Option<serde_json::Value>,
    /// A whole in-toto statement instead of subjects + predicate.
    #[serde(default)]
    #[schema(value_type = Object)]
    pub statement: Option<serde_json::Value>,
    /// For SBOMs and scan reports: the scanner image that produced them.
    #[serde(default)]
    pub scanner: Option<ScannerInput>,
}

/// `POST /api/v1/signer/sign/blob`.
#[derive(Debug, Clone, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct BlobRequest {
    pub tenant: String,
    /// The artifact digest, `sha256:<hex>` (the artifact never leaves CI).
    pub digest: String,
}

/// One file of an export manifest.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq, Eq, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ExportFile {
    /// Relative path inside the export (`/`-separated, no `..`).
    pub path: String,
    /// Lowercase hex SHA-256.
    pub sha256: String,
    /// Size in bytes.
    pub size: u64,
}

/// An export manifest.
#[derive(Debug, Clone, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ExportManifest {
    /// The export's name.
    pub name: String,
    pub files: Vec<ExportFile>,
}

/// `POST /api/v1/signer/sign/export`.
#[derive(Debug, Clone, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ExportRequest {
    pub tenant: String,
    pub manifest: ExportManifest,
}

/// Who signed.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SigningIdentity {
    /// SHA-256 of the public key's SubjectPublicKeyInfo, hex.
    pub key_id: String,
    pub algorithm: String,
    /// The public key, PEM.
    pub public_key: String,
}

/// A signed bundle.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SignResponse {
    /// Sigstore bundle v0.3 with the log entry, inclusion proof and checkpoint.
    #[schema(value_type = Object)]
    pub bundle: serde_json::Value,
    pub signing_identity: SigningIdentity,
    /// The entry's index in the service's log.
    pub log_index: u64,
}

/// A signed export manifest: canonical bytes and a detached signature, identical for
/// identical input.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ExportResponse {
    /// The canonical manifest (RFC 8785 JSON, files sorted by path), as a string.
    pub manifest: String,
    /// `sha256:` of the canonical manifest bytes.
    pub manifest_digest: String,
    /// Base64 Ed25519 signature over the canonical manifest bytes.
    pub signature: String,
    pub signing_identity: SigningIdentity,
}

/// The media type of canonical export manifests.
pub const EXPORT_MEDIA_TYPE: &str = "application/vnd.vouch.export-manifest.v1+json";

/// What the HTTP layer hands the pipeline about a request.
pub struct Incoming<'a> {
    pub endpoint: &'static str,
    pub method: &'a axum::http::Method,
    pub path: &'a str,
    pub headers: &'a axum::http::HeaderMap,
    pub client_cert: Option<&'a [u8]>,
    pub body_len: usize,
    pub trace_id: String,
}

/// What a signing request asks for, once parsed.
pub enum Work {
    Dsse(Box<Statement>, Option<ScannerInput>),
    Blob(Prehash),
    Export(ExportManifest),
}

/// A result of the pipeline.
pub enum Signed {
    Bundle(SignResponse),
    Export(ExportResponse),
}

fn unix_now() -> (u64, u64) {
    let d = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap_or_default();
    (
        d.as_secs(),
        u64::try_from(d.as_millis()).unwrap_or(u64::MAX),
    )
}

fn rfc3339_now() -> String {
    jiff::Timestamp::now().to_string()
}

/// The audit fields filled as the request goes through the pipeline.
struct Trail {
    record: AuditRecord,
    started: Instant,
    /// Set once the `signed` record is committed (written while the log batch that holds
    /// the signature is in flight); the pipeline's end then writes nothing more, or a
    /// refusal when the log failed after all.
    signed_recorded: bool,
}

impl Trail {
    fn new(endpoint: &str, trace_id: &str) -> Trail {
        Trail {
            record: AuditRecord {
                time: rfc3339_now(),
                endpoint: endpoint.to_string(),
                tenant: String::new(),
                subject: String::new(),
                token_id: String::new(),
                issuer_mode: "keyful".into(),
                subject_digests: Vec::new(),
                poe_state: "not_checked".into(),
                quota_state: "not_checked".into(),
                key_id: None,
                decision: "refused".into(),
                error_code: None,
                latency_ms: 0,
                trace_id: trace_id.to_string(),
            },
            started: Instant::now(),
            signed_recorded: false,
        }
    }

    /// The record of this request as decided so far, with its latency up to now.
    fn decided(&self, result: Result<(), &ApiError>) -> AuditRecord {
        let mut record = self.record.clone();
        record.latency_ms = u64::try_from(self.started.elapsed().as_millis()).unwrap_or(u64::MAX);
        match result {
            Ok(()) => record.decision = "signed".into(),
            Err(e) => {
                record.decision = "refused".into();
                record.error_code = Some(e.code.as_str().to_string());
            }
        }
        record
    }
}

impl Service {
    /// The URL a DPoP proof must name for `path` (RFC 9449 `htu`).
    pub fn htu(&self, path: &str) -> String {
        format!("{}{}", self.external_url.trim_end_matches('/'), path)
    }

    /// The audit record of an administrative action (rotate, revoke, bypass).
    pub async fn audit_admin(
        &self,
        endpoint: &str,
        principal: Option<&Principal>,
        trace_id: &str,
        result: Result<(), &ApiError>,
        started: Instant,
    ) -> Result<(), ApiError> {
        self.audit_event(endpoint, principal, trace_id, result, started, "done")
            .await
    }

    /// The audit record of a request that signs nothing: `decision` is `ok_decision` when it
    /// succeeded (`done` for administration, `read` for reads), `refused` otherwise.
    pub async fn audit_event(
        &self,
        endpoint: &str,
        principal: Option<&Principal>,
        trace_id: &str,
        result: Result<(), &ApiError>,
        started: Instant,
        ok_decision: &str,
    ) -> Result<(), ApiError> {
        let mut t = Trail::new(endpoint, trace_id);
        if let Some(p) = principal {
            t.record.tenant = p.tenant.clone();
            t.record.subject = p.subject.clone();
            t.record.token_id = p.token_id.clone().unwrap_or_default();
        }
        t.record.issuer_mode = if ok_decision == "read" {
            "none"
        } else {
            "admin"
        }
        .into();
        match result {
            Ok(()) => t.record.decision = ok_decision.into(),
            Err(e) => t.record.error_code = Some(e.code.as_str().to_string()),
        }
        t.record.latency_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
        self.audit.append(t.record).await.map(|_| ())
    }

    /// Redis answers PING (or is not configured).
    pub async fn ping_redis(&self) -> Result<(), ApiError> {
        let Some(conn) = &self.redis else {
            return Ok(());
        };
        let mut c = conn.clone();
        redis::cmd("PING")
            .query_async::<String>(&mut c)
            .await
            .map(|_| ())
            .map_err(|e| ApiError::unavailable(format!("redis: {e}")))
    }

    /// Sets the active-keys gauge of every tenant.
    pub fn refresh_key_gauges(&self) {
        let Ok(keys) = self.keys.list() else { return };
        let mut per: std::collections::BTreeMap<String, i64> = Default::default();
        for k in keys {
            let n = per.entry(k.tenant.clone()).or_default();
            if k.status == crate::keys::KeyStatus::Active {
                *n += 1;
            }
        }
        for (tenant, n) in per {
            self.metrics
                .active_keys
                .get_or_create(&TenantLabels { tenant })
                .set(n);
        }
    }

    /// Authenticates a request for `scope` (and the request's tenant, when given).
    pub async fn authenticate(
        &self,
        req: &Incoming<'_>,
        scope: &str,
    ) -> Result<Principal, ApiError> {
        self.authenticate_any(req, &[scope]).await
    }

    /// Authenticates a request that any one of `scopes` allows (one authentication: a DPoP
    /// proof cannot be presented twice).
    pub async fn authenticate_any(
        &self,
        req: &Incoming<'_>,
        scopes: &[&str],
    ) -> Result<Principal, ApiError> {
        let (now, _) = unix_now();
        let url = self.htu(req.path);
        let facts = RequestFacts {
            method: req.method,
            url: &url,
            headers: req.headers,
            client_cert: req.client_cert,
            now,
        };
        let principal = self.auth.authenticate(&facts).await?;
        let mut first = None;
        for scope in scopes {
            match crate::auth::require_scope(&principal, scope) {
                Ok(()) => return Ok(principal),
                Err(e) => {
                    first.get_or_insert(e);
                }
            }
        }
        Err(first.unwrap_or_else(|| ApiError::new(Code::InsufficientScope, "no scope allows this")))
    }

    /// Runs the whole pipeline for a signing request.
    pub async fn sign(
        &self,
        req: Incoming<'_>,
        parse: impl FnOnce() -> Result<(String, Work), ApiError>,
    ) -> Result<Signed, ApiError> {
        let started = Instant::now();
        let mut trail = Trail::new(req.endpoint, &req.trace_id);
        let result = self.sign_inner(&req, parse, &mut trail).await;
        // A `signed` record already committed covers a success; a failure after it (the log
        // refused the entry) gets its own refusal record, so the chain says what happened.
        let audited = if trail.signed_recorded && result.is_ok() {
            Ok(())
        } else {
            let record = trail.decided(result.as_ref().map(|_| ()));
            self.record_audit(record).await
        };
        let result = match (result, audited) {
            (r, Ok(())) => r,
            // No audit record, no signature: the bundle is dropped.
            (_, Err(e)) => Err(ApiError::unavailable(format!(
                "the audit record cannot be written, so nothing is returned: {}",
                e.message
            ))),
        };
        self.observe(req.endpoint, &result, started.elapsed());
        result
    }

    /// Appends one record, timing the write for the metrics.
    async fn record_audit(&self, record: AuditRecord) -> Result<(), ApiError> {
        let audit_started = Instant::now();
        let audited = self.audit.append(record).await;
        self.metrics
            .audit_write
            .observe(audit_started.elapsed().as_secs_f64());
        audited.map(|_| ())
    }

    fn observe(&self, endpoint: &str, result: &Result<Signed, ApiError>, took: Duration) {
        let (outcome, code) = match result {
            Ok(_) => ("signed", "ok"),
            Err(e) => ("refused", e.code.as_str()),
        };
        self.metrics
            .requests
            .get_or_create(&crate::metrics::RequestLabels {
                endpoint: endpoint.to_string(),
                outcome: outcome.to_string(),
                code: code.to_string(),
            })
            .inc();
        self.metrics
            .latency
            .get_or_create(&crate::metrics::EndpointLabels {
                endpoint: endpoint.to_string(),
            })
            .observe(took.as_secs_f64());
    }

    async fn sign_inner(
        &self,
        req: &Incoming<'_>,
        parse: impl FnOnce() -> Result<(String, Work), ApiError>,
        trail: &mut Trail,
    ) -> Result<Signed, ApiError> {
        let principal = self.authenticate(req, SIGN_SCOPE).await;
        let principal = match principal {
            Ok(p) => p,
            Err(e) => return Err(e),
        };
        trail.record.subject = principal.subject.clone();
        trail.record.token_id = principal.token_id.clone().unwrap_or_default();
        trail.record.tenant = principal.tenant.clone();
        let (tenant, work) = parse()?;
        crate::auth::require_tenant(&principal, &tenant)?;
        trail.record.subject_digests = work.digests();

        let (now, now_ms) = unix_now();
        self.quotas
            .check_payload(&tenant, req.body_len as u64)
            .inspect_err(|e| {
                trail.record.quota_state = crate::quota::QuotaState::of(e).as_str().into()
            })?;
        let permit = match self.quotas.admit(&tenant, now_ms).await {
            Ok(p) => p,
            Err(e) => {
                trail.record.quota_state = crate::quota::QuotaState::of(&e).as_str().into();
                self.metrics
                    .quota_hits
                    .get_or_create(&TenantLabels {
                        tenant: tenant.clone(),
                    })
                    .inc();
                return Err(e);
            }
        };
        trail.record.quota_state = "ok".into();
        let result = self.sign_admitted(&tenant, work, now, now_ms, trail).await;
        permit.release().await;
        result
    }

    async fn sign_admitted(
        &self,
        tenant: &str,
        work: Work,
        now: u64,
        now_ms: u64,
        trail: &mut Trail,
    ) -> Result<Signed, ApiError> {
        let entitled = self.poe.check(tenant, now).await;
        self.metrics.poe_outage.set(i64::from(
            self.poe.outage.load(std::sync::atomic::Ordering::Relaxed),
        ));
        let entitled = match entitled {
            Ok(e) => e,
            Err(e) => {
                trail.record.poe_state = PoeState::Denied.as_str().into();
                if self.poe.outage.load(std::sync::atomic::Ordering::Relaxed) {
                    self.metrics.poe_failures.inc();
                }
                return Err(e);
            }
        };
        trail.record.poe_state = entitled.state.as_str().into();
        if entitled.state == PoeState::Bypassed {
            self.metrics.poe_bypassed.inc();
        }
        if let Work::Dsse(st, scanner) = &work {
            self.check_scanner(&st.predicate_type, scanner.as_ref())?;
        }
        let purpose = match &work {
            Work::Export(_) => Purpose::Export,
            Work::Blob(_) | Work::Dsse(..) => Purpose::Sign,
        };
        let signer = self.keys.signer_for(tenant, purpose)?;
        let key_id = signer.public_key().key_id();
        trail.record.key_id = Some(key_id.clone());
        self.quotas
            .count_signature(tenant, now_ms)
            .await
            .inspect_err(|_| trail.record.quota_state = "daily_cap".into())?;
        let identity = SigningIdentity {
            key_id: key_id.clone(),
            algorithm: signer.algorithm().to_string(),
            public_key: signer.public_key().to_pem(),
        };
        let signed = match work {
            Work::Export(manifest) => {
                let s = signer.clone();
                let out = tokio::task::spawn_blocking(move || sign_export(s.as_ref(), &manifest))
                    .await
                    .map_err(|e| ApiError::internal(format!("signing task: {e}")))??;
                Signed::Export(ExportResponse {
                    signing_identity: identity,
                    ..out
                })
            }
            work => {
                let s = signer.clone();
                let (mut bundle, request) =
                    tokio::task::spawn_blocking(move || sign_work(s.as_ref(), work))
                        .await
                        .map_err(|e| ApiError::internal(format!("signing task: {e}")))??;
                // The signature exists: its `signed` record is committed while the log batch
                // that will hold it is written, so the request waits for one durable write,
                // not two in a row. Neither alone releases the bundle.
                let (appended, audited) = tokio::join!(
                    self.log.append(request.body.clone()),
                    self.record_audit(trail.decided(Ok(())))
                );
                audited?;
                trail.signed_recorded = true;
                let appended = appended?;
                vouch_attest::logging::attach(&mut bundle, &request, &appended, &self.log.key)
                    .map_err(|e| bad(e.to_string()))?;
                let bundle = serde_json::from_slice(&bundle.to_json())
                    .map_err(|e| ApiError::internal(format!("bundle encoding: {e}")))?;
                Signed::Bundle(SignResponse {
                    bundle,
                    signing_identity: identity,
                    log_index: appended.index,
                })
            }
        };
        self.metrics
            .key_signatures
            .get_or_create(&KeyLabels { key_id })
            .inc();
        Ok(signed)
    }

    fn check_scanner(
        &self,
        predicate_type: &str,
        scanner: Option<&ScannerInput>,
    ) -> Result<(), ApiError> {
        let Some(trust) = &self.scanner else {
            return Ok(());
        };
        if !trust.config().required_for(predicate_type) {
            return Ok(());
        }
        let Some(s) = scanner else {
            return Err(ApiError::new(
                Code::ScannerUnverified,
                format!(
                    "signing `{predicate_type}` needs `scanner.imageDigest`: the scanner image that produced it"
                ),
            ));
        };
        let verdict = trust.verdict(&s.image_digest)?;
        if verdict.trusted() {
            Ok(())
        } else {
            Err(ApiError::new(
                Code::ScannerUnverified,
                format!(
                    "scanner {} is not verified: {}",
                    verdict.digest,
                    verdict.reason.unwrap_or_default()
                ),
            ))
        }
    }
}

impl Work {
    fn digests(&self) -> Vec<String> {
        match self {
            Work::Dsse(st, _) => st
                .subject
                .iter()
                .filter_map(|s| s.digest.get("sha256").map(|d| format!("sha256:{d}")))
                .collect(),
            Work::Blob(p) => vec![format!("sha256:{}", p.to_hex())],
            Work::Export(m) => vec![format!(
                "sha256:{}",
                hex::encode(sha2_256(&canonical_manifest(m)))
            )],
        }
    }
}

fn sha2_256(data: &[u8]) -> [u8; 32] {
    use sha2::Digest;
    sha2::Sha256::digest(data).into()
}

fn bad(message: impl Into<String>) -> ApiError {
    ApiError::new(Code::InvalidRequest, message)
}

fn is_sha256_hex(s: &str) -> bool {
    s.len() == 64
        && s.bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// A request parser: the body → the tenant and what to sign.
pub type Parser = fn(&[u8]) -> Result<(String, Work), ApiError>;

/// Parses a DSSE request into the statement to sign.
pub fn parse_dsse(body: &[u8]) -> Result<(String, Work), ApiError> {
    let req: DsseRequest = serde_json::from_slice(body)
        .map_err(|e| bad(format!("not a DSSE signing request: {e}")))?;
    let statement = match (&req.statement, &req.predicate_type) {
        (Some(_), Some(_)) => {
            return Err(bad(
                "give either `statement` or `subjects` + `predicateType` + `predicate`, not both",
            ));
        }
        (Some(st), None) => {
            if !req.subjects.is_empty() || req.predicate.is_some() {
                return Err(bad("`statement` carries its own subjects and predicate"));
            }
            let bytes = serde_json::to_vec(st).map_err(|e| bad(e.to_string()))?;
            Statement::from_json(&bytes).map_err(|e| bad(e.to_string()))?
        }
        (None, Some(pt)) => {
            let Some(predicate) = req.predicate.clone() else {
                return Err(bad("`predicate` is missing"));
            };
            if req.subjects.is_empty() {
                return Err(bad("no `subjects`"));
            }
            Statement {
                type_: STATEMENT_V1.to_string(),
                subject: req
                    .subjects
                    .iter()
                    .map(|s| ResourceDescriptor {
                        name: Some(s.name.clone()),
                        uri: None,
                        digest: s.digest.clone(),
                        other: serde_json::Map::new(),
                    })
                    .collect(),
                predicate_type: pt.clone(),
                predicate: Some(predicate),
            }
        }
        (None, None) => {
            return Err(bad(
                "give `statement`, or `subjects` + `predicateType` + `predicate`",
            ));
        }
    };
    statement.validate().map_err(|e| bad(e.to_string()))?;
    for (i, s) in statement.subject.iter().enumerate() {
        match s.digest.get("sha256") {
            Some(d) if is_sha256_hex(d) => {}
            Some(_) => {
                return Err(bad(format!(
                    "subject {}: sha256 is not 64 lowercase hex digits",
                    i + 1
                )));
            }
            None => {
                return Err(bad(format!(
                    "subject {}: a sha256 digest is required",
                    i + 1
                )));
            }
        }
    }
    if statement.predicate_type == vouch_attest::statement::SLSA_V1
        && let Some(p) = &statement.predicate
    {
        vouch_attest::statement::validate_slsa_v1(p).map_err(|e| bad(e.to_string()))?;
    }
    Ok((req.tenant, Work::Dsse(Box::new(statement), req.scanner)))
}

/// Parses a blob request.
pub fn parse_blob(body: &[u8]) -> Result<(String, Work), ApiError> {
    let req: BlobRequest = serde_json::from_slice(body)
        .map_err(|e| bad(format!("not a blob signing request: {e}")))?;
    let hex_digest = req
        .digest
        .strip_prefix("sha256:")
        .filter(|h| is_sha256_hex(h))
        .ok_or_else(|| bad("`digest` must be sha256:<64 lowercase hex digits>"))?;
    let value = hex::decode(hex_digest).map_err(|e| bad(e.to_string()))?;
    Ok((
        req.tenant,
        Work::Blob(Prehash {
            algorithm: HashAlgorithm::Sha256,
            value,
        }),
    ))
}

/// Parses an export request (paths checked, duplicates refused).
pub fn parse_export(body: &[u8]) -> Result<(String, Work), ApiError> {
    let req: ExportRequest = serde_json::from_slice(body)
        .map_err(|e| bad(format!("not an export signing request: {e}")))?;
    let m = &req.manifest;
    if m.files.is_empty() {
        return Err(bad("the manifest lists no files"));
    }
    let mut seen = std::collections::BTreeSet::new();
    for f in &m.files {
        let p = &f.path;
        if p.is_empty()
            || p.starts_with('/')
            || p.contains('\\')
            || p.contains('\0')
            || p.split('/').any(|c| c.is_empty() || c == "." || c == "..")
        {
            return Err(bad(format!(
                "`{p}` is not a relative /-separated path without . or .."
            )));
        }
        if !is_sha256_hex(&f.sha256) {
            return Err(bad(format!("`{p}`: sha256 is not 64 lowercase hex digits")));
        }
        if !seen.insert(p.as_str()) {
            return Err(bad(format!("`{p}` is listed twice")));
        }
    }
    Ok((req.tenant, Work::Export(req.manifest)))
}

/// The canonical manifest bytes: RFC 8785 JSON with the media type, the name and the files
/// sorted by path.
pub fn canonical_manifest(m: &ExportManifest) -> Vec<u8> {
    let mut files = m.files.clone();
    files.sort_by(|a, b| a.path.cmp(&b.path));
    let v = serde_json::json!({
        "mediaType": EXPORT_MEDIA_TYPE,
        "name": m.name,
        "files": files,
    });
    vouch_attest::canonical::canonicalize(&v)
}

fn sign_export(signer: &dyn Signer, m: &ExportManifest) -> Result<ExportResponse, ApiError> {
    if signer.algorithm() != KeyAlgorithm::Ed25519 {
        return Err(ApiError::new(
            Code::NoSigningKey,
            "export manifests are signed with the tenant's Ed25519 key (deterministic signatures); it has none",
        ));
    }
    let bytes = canonical_manifest(m);
    let signature = signer
        .sign(&bytes)
        .map_err(|e| ApiError::internal(format!("signing: {e}")))?;
    use base64::Engine;
    Ok(ExportResponse {
        manifest_digest: format!("sha256:{}", hex::encode(sha2_256(&bytes))),
        manifest: String::from_utf8(bytes)
            .map_err(|e| ApiError::internal(format!("canonical JSON: {e}")))?,
        signature: base64::engine::general_purpose::STANDARD.encode(signature),
        signing_identity: SigningIdentity {
            key_id: signer.public_key().key_id(),
            algorithm: signer.algorithm().to_string(),
            public_key: signer.public_key().to_pem(),
        },
    })
}

/// Signs `work` (a statement or a digest) and builds its log entry's body.
fn sign_work(signer: &dyn Signer, work: Work) -> Result<(Bundle, LogRequest), ApiError> {
    let bundle = match work {
        Work::Dsse(st, _) => vouch_attest::sign::attest(signer, &st),
        Work::Blob(digest) => vouch_attest::sign::sign_digest(signer, digest, 0),
        Work::Export(_) => return Err(ApiError::internal("an export is not a bundle")),
    }
    .map_err(|e| match e {
        vouch_attest::AttestError::Key(k) => ApiError::internal(format!("signing: {k}")),
        other => bad(other.to_string()),
    })?;
    let request = vouch_attest::logging::log_request(&bundle, signer.public_key())
        .map_err(|e| bad(e.to_string()))?;
    Ok((bundle, request))
}

impl ServiceLog {
    /// Appends `body` and waits, without holding a thread, until its batch is durable.
    pub async fn append(&self, body: Vec<u8>) -> Result<Appended, ApiError> {
        let (tx, rx) = tokio::sync::oneshot::channel();
        self.sequencer.submit(body, move |r| {
            let _ = tx.send(r);
        });
        let unavailable =
            |e: String| ApiError::unavailable(format!("the transparency log cannot append: {e}"));
        rx.await
            .map_err(|_| unavailable("the sequencer stopped".into()))?
            .map_err(|e| unavailable(e.to_string()))
    }
}

/// A trace id: the W3C `traceparent` header's trace id when valid, else a fresh random one.
pub fn trace_id(headers: &axum::http::HeaderMap) -> String {
    if let Some(tp) = headers.get("traceparent").and_then(|v| v.to_str().ok()) {
        let parts: Vec<&str> = tp.split('-').collect();
        if parts.len() == 4
            && parts[0].len() == 2
            && parts[1].len() == 32
            && parts[1]
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
            && parts[1] != "00000000000000000000000000000000"
        {
            return parts[1].to_string();
        }
    }
    uuid::Uuid::new_v4().simple().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn export_manifest_is_canonical_and_order_free() {
        let f = |p: &str| ExportFile {
            path: p.into(),
            sha256: "a".repeat(64),
            size: 1,
        };
        let a = ExportManifest {
            name: "x".into(),
            files: vec![f("b"), f("a/c")],
        };
        let b = ExportManifest {
            name: "x".into(),
            files: vec![f("a/c"), f("b")],
        };
        assert_eq!(canonical_manifest(&a), canonical_manifest(&b));
        let text = String::from_utf8(canonical_manifest(&a)).unwrap();
        assert!(text.starts_with("{\"files\":[{\"path\":\"a/c\""), "{text}");
    }

    #[test]
    fn export_paths_are_checked() {
        for p in ["../x", "/abs", "a//b", "a/./b", ""] {
            let body = serde_json::json!({"tenant":"t","manifest":{"name":"n","files":[{"path":p,"sha256":"a".repeat(64),"size":1}]}});
            assert!(
                parse_export(&serde_json::to_vec(&body).unwrap()).is_err(),
                "{p}"
            );
        }
    }

    #[test]
    fn dsse_requests_need_sha256_subjects() {
        let body = serde_json::json!({"tenant":"t","subjects":[{"name":"a","digest":{"sha512":"00"}}],"predicateType":"https://example.com/p","predicate":{}});
        assert!(parse_dsse(&serde_json::to_vec(&body).unwrap()).is_err());
        let body = serde_json::json!({"tenant":"t","subjects":[{"name":"a","digest":{"sha256":"a".repeat(64)}}],"predicateType":"https://example.com/p","predicate":{}});
        assert!(parse_dsse(&serde_json::to_vec(&body).unwrap()).is_ok());
    }

    #[test]
    fn traceparent_is_honoured_when_valid() {
        let mut h = axum::http::HeaderMap::new();
        h.insert(
            "traceparent",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
                .parse()
                .unwrap(),
        );
        assert_eq!(trace_id(&h), "4bf92f3577b34da6a3ce929d0e0e4736");
        h.insert("traceparent", "garbage".parse().unwrap());
        assert_eq!(trace_id(&h).len(), 32);
    }
}

/// Properties of the request parsers and the canonical manifest, on generated input.
#[cfg(test)]
mod proptests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::{Value, json};

    /// Any JSON value, a few levels deep, with the request's own keys among the arbitrary ones
    /// so that objects often get past the first field checks.
    fn json_value() -> impl Strategy<Value = Value> {
        let key = prop_oneof![
            Just("tenant".to_string()),
            Just("digest".to_string()),
            Just("sha256".to_string()),
            Just("subjects".to_string()),
            Just("predicateType".to_string()),
            Just("predicate".to_string()),
            Just("statement".to_string()),
            Just("scanner".to_string()),
            Just("manifest".to_string()),
            Just("files".to_string()),
            Just("path".to_string()),
            Just("name".to_string()),
            Just("size".to_string()),
            "[a-zA-Z_]{0,8}",
        ];
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::from),
            any::<i64>().prop_map(Value::from),
            any::<u64>().prop_map(Value::from),
            any::<f64>()
                .prop_map(|f| serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number)),
            ".{0,12}".prop_map(Value::from),
            "sha256:[0-9a-f]{62,66}".prop_map(Value::from),
            "[0-9a-fA-F]{63,65}".prop_map(Value::from),
        ];
        leaf.prop_recursive(4, 48, 6, move |inner| {
            prop_oneof![
                proptest::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
                proptest::collection::btree_map(key.clone(), inner, 0..6)
                    .prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        })
    }

    fn is_lower_hex64(s: &str) -> bool {
        s.len() == 64 && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
    }

    /// Digest-like strings: mostly hex of about the right length, in either case, with
    /// the odd non-hex character.
    fn digest_text() -> impl Strategy<Value = String> {
        prop_oneof![
            "[0-9a-f]{64}",
            "[0-9a-fA-F]{60,68}",
            "[0-9a-gz ]{64}",
            "[0-9a-f]{63}[^0-9a-f]",
            ".{0,70}",
        ]
    }

    fn export_file() -> impl Strategy<Value = ExportFile> {
        (
            "[a-z]{1,4}(/[a-z0-9_-][a-z0-9._-]{0,5}){0,3}",
            "[0-9a-f]{64}",
            any::<u64>(),
        )
            .prop_map(|(path, sha256, size)| ExportFile { path, sha256, size })
    }

    /// Manifests whose paths are distinct (what `parse_export` lets through).
    fn manifest() -> impl Strategy<Value = ExportManifest> {
        (".{0,16}", proptest::collection::vec(export_file(), 1..12)).prop_map(|(name, files)| {
            let mut seen = std::collections::BTreeSet::new();
            let files = files
                .into_iter()
                .filter(|f| seen.insert(f.path.clone()))
                .collect();
            ExportManifest { name, files }
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        #[test]
        fn parsers_never_panic_on_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
            let _ = parse_dsse(&bytes);
            let _ = parse_blob(&bytes);
            let _ = parse_export(&bytes);
        }

        #[test]
        fn parsers_never_panic_on_json(v in json_value()) {
            let bytes = serde_json::to_vec(&v).unwrap();
            let _ = parse_dsse(&bytes);
            let _ = parse_blob(&bytes);
            let _ = parse_export(&bytes);
        }

        #[test]
        fn request_shaped_json_never_panics(
            tenant in json_value(),
            digest in json_value(),
            predicate in json_value(),
            files in json_value(),
        ) {
            for body in [
                json!({"tenant": tenant, "digest": digest}),
                json!({"tenant": tenant, "subjects": [{"name": "a", "digest": digest}],
                       "predicateType": "https://slsa.dev/provenance/v1", "predicate": predicate}),
                json!({"tenant": tenant, "statement": predicate}),
                json!({"tenant": tenant, "manifest": {"name": "n", "files": files}}),
            ] {
                let bytes = serde_json::to_vec(&body).unwrap();
                let _ = parse_dsse(&bytes);
                let _ = parse_blob(&bytes);
                let _ = parse_export(&bytes);
            }
        }

        #[test]
        fn blob_digests_are_64_lowercase_hex(hex in digest_text(), prefix in prop_oneof![Just("sha256:"), Just("SHA256:"), Just("sha512:"), Just("")]) {
            let body = serde_json::to_vec(&json!({"tenant": "t", "digest": format!("{prefix}{hex}")})).unwrap();
            let ok = parse_blob(&body).is_ok();
            prop_assert_eq!(ok, prefix == "sha256:" && is_lower_hex64(&hex), "{}{}", prefix, hex);
            if let Ok((_, Work::Blob(p))) = parse_blob(&body) {
                prop_assert_eq!(hex::encode(&p.value), hex);
            }
        }

        #[test]
        fn dsse_subject_digests_are_64_lowercase_hex(hex in digest_text()) {
            let subjects = json!([{"name": "a", "digest": {"sha256": hex}}]);
            let by_parts = json!({"tenant": "t", "subjects": subjects,
                                  "predicateType": "https://example.com/p", "predicate": {}});
            let whole = json!({"tenant": "t", "statement": {
                "_type": STATEMENT_V1, "subject": subjects,
                "predicateType": "https://example.com/p", "predicate": {}}});
            for body in [by_parts, whole] {
                let ok = parse_dsse(&serde_json::to_vec(&body).unwrap()).is_ok();
                prop_assert_eq!(ok, is_lower_hex64(&hex), "{}", hex);
            }
        }

        #[test]
        fn export_digests_are_64_lowercase_hex(hex in digest_text()) {
            let body = json!({"tenant": "t", "manifest": {"name": "n", "files": [
                {"path": "a/b", "sha256": hex, "size": 1}]}});
            let ok = parse_export(&serde_json::to_vec(&body).unwrap()).is_ok();
            prop_assert_eq!(ok, is_lower_hex64(&hex), "{}", hex);
        }

        #[test]
        fn canonical_manifest_ignores_file_order(
            (m, shuffled) in manifest().prop_flat_map(|m| {
                let files = m.files.clone();
                (Just(m), Just(files).prop_shuffle())
            })
        ) {
            let other = ExportManifest { name: m.name.clone(), files: shuffled };
            prop_assert_eq!(canonical_manifest(&m), canonical_manifest(&other));
        }

        #[test]
        fn canonical_manifest_is_idempotent(m in manifest()) {
            let bytes = canonical_manifest(&m);
            let mut v: Value = serde_json::from_slice(&bytes).unwrap();
            prop_assert_eq!(v["mediaType"].as_str(), Some(EXPORT_MEDIA_TYPE));
            v.as_object_mut().unwrap().remove("mediaType");
            let back: ExportManifest = serde_json::from_value(v).unwrap();
            let paths: Vec<&str> = back.files.iter().map(|f| f.path.as_str()).collect();
            prop_assert!(paths.windows(2).all(|w| w[0] < w[1]), "{:?}", paths);
            prop_assert_eq!(canonical_manifest(&back), bytes);
            // What the export parser accepts canonicalises to the same bytes.
            let body = serde_json::to_vec(&json!({"tenant": "t", "manifest": m})).unwrap();
            match parse_export(&body) {
                Ok((_, Work::Export(parsed))) => prop_assert_eq!(canonical_manifest(&parsed), canonical_manifest(&m)),
                Ok(_) => prop_assert!(false, "an export request parsed as other work"),
                Err(e) => prop_assert!(false, "a well-formed manifest was refused: {}", e),
            }
        }
    }
}
