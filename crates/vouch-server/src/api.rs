//! The HTTP API: routes, request extraction and responses. Handlers only translate between
//! HTTP and [`crate::service::Service`]; no decision is made here.
//!
//! The OpenAPI 3.1 document at `GET /openapi.json` is generated from these handlers and the
//! request/response types (utoipa), so it cannot drift from the code.

use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{DefaultBodyLimit, Query, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::{Deserialize, Serialize};
use utoipa::OpenApi;

use crate::error::{ApiError, Code};
use crate::service::{
    self, ADMIN_SCOPE, AUDIT_SCOPE, ExportResponse, Incoming, Service, SignResponse, Signed,
};
use crate::tls::ClientCert;

type Shared = Arc<Service>;

/// The router of the whole service (the log's tiles under `/log`).
pub fn router(service: Shared, max_body: usize, timeout: std::time::Duration) -> Router {
    let store = service_log_store(&service);
    let tiles = vouch_tlog::serve::router(store.clone());
    Router::new()
        .route("/api/v1/signer/sign/dsse", post(sign_dsse))
        .route("/api/v1/signer/sign/blob", post(sign_blob))
        .route("/api/v1/signer/sign/export", post(sign_export))
        .route("/api/v1/signer/verify/referrers", get(verify_referrers))
        .route("/api/v1/signer/keys", get(public_keys))
        .route("/api/v1/signer/trusted-root", get(trusted_root))
        .route("/api/v1/admin/keys", get(admin_keys))
        .route("/api/v1/admin/keys/rotate", post(admin_rotate))
        .route("/api/v1/admin/keys/revoke", post(admin_revoke))
        .route("/api/v1/admin/poe/bypass", post(admin_bypass))
        .route("/api/v1/admin/audit", get(admin_audit))
        .route("/api/v2/signingCert", post(ca_signing_cert))
        .route("/api/v2/configuration", get(ca_configuration))
        .route("/api/v2/trustBundle", get(ca_trust_bundle))
        .route("/api/v2/log/entries", post(rekor_create_entry))
        // Rekor v2's read paths: the same tile handlers as `/log`.
        .route(
            "/api/v2/checkpoint",
            get(vouch_tlog::serve::checkpoint).with_state(store.clone()),
        )
        .route(
            "/api/v2/tile/{*path}",
            get(vouch_tlog::serve::tile).with_state(store.clone()),
        )
        .route("/api/v1/timestamp", post(tsa_timestamp))
        .route("/api/v1/trust/config", get(trust_config))
        .route(
            "/.well-known/openid-configuration",
            get(crate::keyless::oidc::routes::discovery),
        )
        .route("/oidc/jwks", get(crate::keyless::oidc::routes::jwks))
        .route("/oidc/token", post(crate::keyless::oidc::routes::token))
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .route("/openapi.json", get(openapi))
        .with_state(service)
        .nest_service("/log", tiles)
        .fallback(not_found)
        .layer(DefaultBodyLimit::max(max_body))
        .layer(tower_http::timeout::TimeoutLayer::with_status_code(
            StatusCode::SERVICE_UNAVAILABLE,
            timeout,
        ))
}

fn service_log_store(service: &Service) -> Arc<dyn vouch_tlog::store::TileStore> {
    Arc::new(vouch_tlog::store::PosixStore::new(&service.log_dir))
}

async fn not_found() -> ApiError {
    ApiError::new(Code::NotFound, "no such endpoint")
}

fn body_or_error(body: Result<Bytes, BytesRejection>) -> Result<Bytes, ApiError> {
    body.map_err(|e| {
        if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::new(
                Code::PayloadTooLarge,
                "the request body is larger than allowed",
            )
        } else {
            ApiError::new(Code::InvalidRequest, format!("cannot read the body: {e}"))
        }
    })
}

/// What every authenticated endpoint reads of a request besides its body: method, URI,
/// headers and the TLS client certificate of its connection.
struct Parts {
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    cert: Option<ClientCert>,
}

impl<S: Send + Sync> axum::extract::FromRequestParts<S> for Parts {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        _state: &S,
    ) -> Result<Self, Self::Rejection> {
        Ok(Parts {
            method: parts.method.clone(),
            uri: parts.uri.clone(),
            headers: parts.headers.clone(),
            cert: parts.extensions.get::<ClientCert>().cloned(),
        })
    }
}

impl Parts {
    fn request(&self) -> Request<'_> {
        Request {
            method: &self.method,
            uri: &self.uri,
            headers: &self.headers,
            cert: self.cert.as_ref(),
        }
    }
}

struct Request<'a> {
    method: &'a Method,
    uri: &'a Uri,
    headers: &'a HeaderMap,
    cert: Option<&'a ClientCert>,
}

impl<'a> Request<'a> {
    fn incoming(&self, endpoint: &'static str, body_len: usize) -> Incoming<'a> {
        Incoming {
            endpoint,
            method: self.method,
            path: self.uri.path(),
            headers: self.headers,
            client_cert: self.cert.and_then(|c| c.0.as_deref()).map(Vec::as_slice),
            body_len,
            trace_id: service::trace_id(self.headers),
        }
    }
}

/// A JSON response with the trace id and a fresh DPoP nonce.
fn respond<T: Serialize>(
    service: &Service,
    status: StatusCode,
    trace: &str,
    value: &T,
) -> Response {
    let mut r = (status, axum::Json(value)).into_response();
    decorate(service, &mut r, trace);
    r
}

fn decorate(service: &Service, r: &mut Response, trace: &str) {
    let h = r.headers_mut();
    if let Ok(v) = HeaderValue::from_str(trace) {
        h.insert("x-trace-id", v);
    }
    let now = jiff::Timestamp::now().as_second().max(0).unsigned_abs();
    if let Ok(v) = HeaderValue::from_str(&service.auth.fresh_nonce(now)) {
        h.insert("dpop-nonce", v);
    }
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
}

fn error_response(service: &Service, e: ApiError, trace: &str) -> Response {
    tracing::info!(
        code = e.code.as_str(),
        trace_id = trace,
        "refused: {}",
        e.message
    );
    let mut r = e.into_response();
    decorate(service, &mut r, trace);
    r
}

async fn run_sign(
    service: Shared,
    endpoint: &'static str,
    req: Request<'_>,
    body: Result<Bytes, BytesRejection>,
    parse: service::Parser,
) -> Response {
    let trace = service::trace_id(req.headers);
    // A body that cannot be read (too large, cut off) is refused by the pipeline like a
    // malformed one, so that the refusal is authenticated, audited and counted.
    let (body, unreadable) = match body_or_error(body) {
        Ok(b) => (b, None),
        Err(e) => (Bytes::new(), Some(e)),
    };
    let incoming = Incoming {
        trace_id: trace.clone(),
        ..req.incoming(endpoint, body.len())
    };
    let parse = || match unreadable {
        Some(e) => Err(e),
        None => parse(&body),
    };
    match service.sign(incoming, parse).await {
        Ok(Signed::Bundle(b)) => {
            tracing::info!(endpoint, trace_id = %trace, key_id = %b.signing_identity.key_id, log_index = b.log_index, "signed");
            respond(&service, StatusCode::OK, &trace, &b)
        }
        Ok(Signed::Export(x)) => {
            tracing::info!(endpoint, trace_id = %trace, key_id = %x.signing_identity.key_id, "signed export");
            respond(&service, StatusCode::OK, &trace, &x)
        }
        Err(e) => error_response(&service, e, &trace),
    }
}

/// Signs an in-toto statement into a Sigstore bundle v0.3 with a DSSE envelope, logged.
#[utoipa::path(post, path = "/api/v1/signer/sign/dsse", request_body = service::DsseRequest,
    responses((status = 200, body = SignResponse), (status = "4XX", body = ErrorBody), (status = "5XX", body = ErrorBody)),
    security(("dpop" = ["signer.sign"]), ("mtls" = ["signer.sign"])))]
async fn sign_dsse(
    State(s): State<Shared>,
    parts: Parts,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let req = parts.request();
    run_sign(s, "sign/dsse", req, body, service::parse_dsse).await
}

/// Signs an artifact digest into a message-signature bundle, logged.
#[utoipa::path(post, path = "/api/v1/signer/sign/blob", request_body = service::BlobRequest,
    responses((status = 200, body = SignResponse), (status = "4XX", body = ErrorBody), (status = "5XX", body = ErrorBody)),
    security(("dpop" = ["signer.sign"]), ("mtls" = ["signer.sign"])))]
async fn sign_blob(
    State(s): State<Shared>,
    parts: Parts,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let req = parts.request();
    run_sign(s, "sign/blob", req, body, service::parse_blob).await
}

/// Signs an export manifest: canonical bytes and a detached Ed25519 signature, identical
/// for identical input.
#[utoipa::path(post, path = "/api/v1/signer/sign/export", request_body = service::ExportRequest,
    responses((status = 200, body = ExportResponse), (status = "4XX", body = ErrorBody), (status = "5XX", body = ErrorBody)),
    security(("dpop" = ["signer.sign"]), ("mtls" = ["signer.sign"])))]
async fn sign_export(
    State(s): State<Shared>,
    parts: Parts,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let req = parts.request();
    run_sign(s, "sign/export", req, body, service::parse_export).await
}

/// The error body every refusal has.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ErrorDetail {
    /// A stable code (docs/serve.md lists them).
    pub code: String,
    pub message: String,
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct DigestQuery {
    /// The scanner image digest, `sha256:<hex>`.
    pub digest: String,
}

/// The trust verdict for a scanner image digest.
#[utoipa::path(get, path = "/api/v1/signer/verify/referrers", params(DigestQuery),
    responses((status = 200, body = Object), (status = "4XX", body = ErrorBody)),
    security(("dpop" = ["signer.sign"]), ("mtls" = ["signer.sign"])))]
async fn verify_referrers(
    State(s): State<Shared>,
    parts: Parts,
    Query(q): Query<DigestQuery>,
) -> Response {
    let req = parts.request();
    audited_read(
        s,
        req,
        "verify/referrers",
        &[service::SIGN_SCOPE],
        async |s, _| {
            let Some(trust) = &s.scanner else {
                return Err(ApiError::new(Code::NotFound, "no [scanner] is configured"));
            };
            trust.verdict(&q.digest)
        },
    )
    .await
}

/// A request that reads: authenticated for any of `scopes`, answered by `read`, and audited
/// (decision `read`, or `refused` with its code) like every other request.
async fn audited_read<T: Serialize>(
    s: Shared,
    req: Request<'_>,
    endpoint: &'static str,
    scopes: &[&str],
    read: impl AsyncFnOnce(&Service, &crate::auth::Principal) -> Result<T, ApiError>,
) -> Response {
    let started = std::time::Instant::now();
    let incoming = req.incoming(endpoint, 0);
    let trace = incoming.trace_id.clone();
    let principal = s.authenticate_any(&incoming, scopes).await;
    let result = match &principal {
        Ok(p) => read(&s, p).await,
        Err(e) => Err(e.clone()),
    };
    let audited = s
        .audit_event(
            endpoint,
            principal.as_ref().ok(),
            &trace,
            result.as_ref().map(|_| ()),
            started,
            "read",
        )
        .await;
    match (result, audited) {
        (Ok(v), Ok(())) => respond(&s, StatusCode::OK, &trace, &v),
        (Err(e), _) | (Ok(_), Err(e)) => error_response(&s, e, &trace),
    }
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct TenantQuery {
    pub tenant: String,
}

/// The public keys that verify a tenant's signatures (active and retired; never revoked).
#[utoipa::path(get, path = "/api/v1/signer/keys", params(TenantQuery), responses((status = 200, body = Object)))]
async fn public_keys(State(s): State<Shared>, Query(q): Query<TenantQuery>) -> Response {
    match s.keys.list() {
        Ok(keys) => {
            let keys: Vec<_> = keys
                .into_iter()
                .filter(|k| k.tenant == q.tenant && k.status != crate::keys::KeyStatus::Revoked)
                .collect();
            axum::Json(serde_json::json!({ "keys": keys })).into_response()
        }
        Err(e) => e.into_response(),
    }
}

/// The Sigstore trusted root naming the service's transparency log (for `vouch verify-blob
/// --trusted-root`).
#[utoipa::path(get, path = "/api/v1/signer/trusted-root", responses((status = 200, body = Object)))]
async fn trusted_root(State(s): State<Shared>) -> Response {
    axum::Json(s.trusted_root.clone()).into_response()
}

async fn admin_auth(
    s: &Service,
    req: &Request<'_>,
    endpoint: &'static str,
    scope: &str,
    step_up: bool,
) -> Result<(crate::auth::Principal, String), (ApiError, String)> {
    let incoming = req.incoming(endpoint, 0);
    let trace = incoming.trace_id.clone();
    let p = s
        .authenticate(&incoming, scope)
        .await
        .map_err(|e| (e, trace.clone()))?;
    if step_up {
        crate::auth::require_step_up(&p, &s.step_up).map_err(|e| (e, trace.clone()))?;
    }
    Ok((p, trace))
}

/// Every key with its status (no private material).
#[utoipa::path(get, path = "/api/v1/admin/keys", responses((status = 200, body = Object)),
    security(("dpop" = ["signer.admin"])))]
async fn admin_keys(State(s): State<Shared>, parts: Parts) -> Response {
    let req = parts.request();
    audited_read(s, req, "admin/keys", &[ADMIN_SCOPE], async |s, _| {
        s.keys.list().map(|k| serde_json::json!({ "keys": k }))
    })
    .await
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RotateRequest {
    pub tenant: String,
    /// `ecdsa-p256` (default; bundles), `ecdsa-p384` or `ed25519` (export manifests).
    #[serde(default)]
    pub algorithm: Option<String>,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RevokeRequest {
    pub key_id: String,
    pub reason: String,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BypassRequest {
    pub enabled: bool,
    pub reason: String,
}

async fn admin_action(
    s: Shared,
    req: Request<'_>,
    endpoint: &'static str,
    body: Result<Bytes, BytesRejection>,
    act: impl AsyncFnOnce(&Service, &[u8]) -> Result<serde_json::Value, ApiError>,
) -> Response {
    let started = std::time::Instant::now();
    let (principal, trace) = match admin_auth(&s, &req, endpoint, ADMIN_SCOPE, true).await {
        Ok(p) => p,
        Err((e, trace)) => {
            let _ = s
                .audit_admin(endpoint, None, &trace, Err(&e), started)
                .await;
            return error_response(&s, e, &trace);
        }
    };
    let result = match body_or_error(body) {
        Ok(b) => act(&s, &b).await,
        Err(e) => Err(e),
    };
    let audited = s
        .audit_admin(
            endpoint,
            Some(&principal),
            &trace,
            result.as_ref().map(|_| ()),
            started,
        )
        .await;
    match (result, audited) {
        (Ok(v), Ok(())) => respond(&s, StatusCode::OK, &trace, &v),
        (Err(e), _) | (Ok(_), Err(e)) => error_response(&s, e, &trace),
    }
}

fn parse_body<T: serde::de::DeserializeOwned>(b: &[u8]) -> Result<T, ApiError> {
    serde_json::from_slice(b).map_err(|e| ApiError::new(Code::InvalidRequest, e.to_string()))
}

/// Generates a new key for a tenant and retires the previous one (step-up required).
#[utoipa::path(post, path = "/api/v1/admin/keys/rotate", request_body = RotateRequest,
    responses((status = 200, body = Object)), security(("dpop" = ["signer.admin"])))]
async fn admin_rotate(
    State(s): State<Shared>,
    parts: Parts,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let req = parts.request();
    admin_action(s, req, "admin/keys/rotate", body, async |s, b| {
        let r: RotateRequest = parse_body(b)?;
        let alg = crate::keys::parse_algorithm(r.algorithm.as_deref())?;
        let k = s.keys.rotate(&r.tenant, alg)?;
        s.refresh_key_gauges();
        serde_json::to_value(k).map_err(|e| ApiError::internal(e.to_string()))
    })
    .await
}

/// Revokes a key: it never signs again (step-up required).
#[utoipa::path(post, path = "/api/v1/admin/keys/revoke", request_body = RevokeRequest,
    responses((status = 200, body = Object)), security(("dpop" = ["signer.admin"])))]
async fn admin_revoke(
    State(s): State<Shared>,
    parts: Parts,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let req = parts.request();
    admin_action(s, req, "admin/keys/revoke", body, async |s, b| {
        let r: RevokeRequest = parse_body(b)?;
        let k = s.keys.revoke(&r.key_id, &r.reason)?;
        s.refresh_key_gauges();
        serde_json::to_value(k).map_err(|e| ApiError::internal(e.to_string()))
    })
    .await
}

/// Turns the emergency PoE bypass on or off (step-up required; every bypassed request is
/// audited as `bypassed`).
#[utoipa::path(post, path = "/api/v1/admin/poe/bypass", request_body = BypassRequest,
    responses((status = 200, body = Object)), security(("dpop" = ["signer.admin"])))]
async fn admin_bypass(
    State(s): State<Shared>,
    parts: Parts,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let req = parts.request();
    admin_action(s, req, "admin/poe/bypass", body, async |s, b| {
        let r: BypassRequest = parse_body(b)?;
        if r.reason.trim().is_empty() {
            return Err(ApiError::new(Code::InvalidRequest, "a reason is required"));
        }
        s.poe.set_bypass(r.enabled).await?;
        tracing::warn!(enabled = r.enabled, reason = %r.reason, "PoE emergency bypass changed");
        Ok(serde_json::json!({ "bypass": r.enabled }))
    })
    .await
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct AuditParams {
    pub tenant: Option<String>,
    /// Records after this sequence number.
    pub since: Option<u64>,
    /// At most this many [default 100, at most 1000].
    pub limit: Option<usize>,
}

/// Reads the audit log (scope `signer.audit` or `signer.admin`).
#[utoipa::path(get, path = "/api/v1/admin/audit", params(AuditParams),
    responses((status = 200, body = Object)), security(("dpop" = ["signer.audit"])))]
async fn admin_audit(
    State(s): State<Shared>,
    parts: Parts,
    Query(q): Query<AuditParams>,
) -> Response {
    let req = parts.request();
    let query = crate::audit::AuditQuery {
        tenant: q.tenant,
        since_seq: q.since,
        limit: q.limit.unwrap_or(100).min(1000),
    };
    audited_read(
        s,
        req,
        "admin/audit",
        &[AUDIT_SCOPE, ADMIN_SCOPE],
        async |s, _| {
            s.audit
                .read(query)
                .await
                .map(|records| serde_json::json!({ "records": records }))
        },
    )
    .await
}

fn keyless_part<'a, T>(
    s: &'a Service,
    part: impl FnOnce(&'a crate::keyless::Keyless) -> Option<&'a T>,
    what: &str,
) -> Result<&'a T, ApiError> {
    s.keyless
        .as_ref()
        .and_then(part)
        .ok_or_else(|| ApiError::new(Code::NotFound, format!("this instance runs no {what}")))
}

/// Runs a keyless request inside the quota of its endpoint's bucket (`keyless/ca`,
/// `keyless/log`, `keyless/tsa`: the default plan unless `[quota.tenants]` names them), so the
/// public endpoints are rate-limited like signing is.
async fn within_quota<T>(
    s: &Service,
    bucket: &str,
    work: impl std::future::Future<Output = Result<T, ApiError>>,
) -> Result<T, ApiError> {
    let now_ms = u64::try_from(jiff::Timestamp::now().as_millisecond()).unwrap_or(0);
    let permit = s.quotas.admit(bucket, now_ms).await.inspect_err(|_| {
        s.metrics
            .quota_hits
            .get_or_create(&crate::metrics::TenantLabels {
                tenant: bucket.to_string(),
            })
            .inc();
    })?;
    let result = work.await;
    permit.release().await;
    result
}

/// Audits a keyless request (no tenant: the identity token or the entry says who).
async fn audit_keyless(
    s: &Service,
    endpoint: &str,
    trace: &str,
    result: Result<(), &ApiError>,
    started: std::time::Instant,
) -> Result<(), ApiError> {
    s.audit_event(endpoint, None, trace, result, started, "issued")
        .await
}

/// Fulcio v2: a short-lived code-signing certificate for an OIDC identity token.
#[utoipa::path(post, path = "/api/v2/signingCert", responses((status = 201, body = Object), (status = "4XX", body = ErrorBody)))]
async fn ca_signing_cert(
    State(s): State<Shared>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let started = std::time::Instant::now();
    let trace = service::trace_id(&headers);
    let bearer = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::to_string);
    let result = within_quota(&s, "keyless/ca", async {
        let ca = keyless_part(&s, |k| k.ca.as_ref(), "certificate authority")?;
        let body = body_or_error(body)?;
        ca.signing_cert(bearer.as_deref(), &body, jiff::Timestamp::now())
            .await
    })
    .await;
    let audited = audit_keyless(
        &s,
        "keyless/signingCert",
        &trace,
        result.as_ref().map(|_| ()),
        started,
    )
    .await;
    match (result, audited) {
        (Ok(v), Ok(())) => respond(&s, StatusCode::CREATED, &trace, &v),
        (Err(e), _) | (Ok(_), Err(e)) => error_response(&s, e, &trace),
    }
}

/// Fulcio v2: the accepted OIDC issuers.
#[utoipa::path(get, path = "/api/v2/configuration", responses((status = 200, body = Object)))]
async fn ca_configuration(State(s): State<Shared>) -> Response {
    match keyless_part(&s, |k| k.ca.as_ref(), "certificate authority") {
        Ok(ca) => axum::Json(ca.configuration()).into_response(),
        Err(e) => e.into_response(),
    }
}

/// Fulcio v2: the CA chains.
#[utoipa::path(get, path = "/api/v2/trustBundle", responses((status = 200, body = Object)))]
async fn ca_trust_bundle(State(s): State<Shared>) -> Response {
    match keyless_part(&s, |k| k.ca.as_ref(), "certificate authority") {
        Ok(ca) => axum::Json(ca.trust_bundle()).into_response(),
        Err(e) => e.into_response(),
    }
}

/// Rekor v2: log a hashedrekord entry; answers the TransparencyLogEntry.
#[utoipa::path(post, path = "/api/v2/log/entries", responses((status = 201, body = Object), (status = "4XX", body = ErrorBody)))]
async fn rekor_create_entry(
    State(s): State<Shared>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let started = std::time::Instant::now();
    let trace = service::trace_id(&headers);
    let result = within_quota(&s, "keyless/log", async {
        let b = body_or_error(body)?;
        let log = s.log.clone();
        tokio::task::spawn_blocking(move || crate::keyless::rekor::create_entry(&log, &b))
            .await
            .unwrap_or_else(|e| Err(ApiError::internal(format!("log task: {e}"))))
    })
    .await;
    let audited = audit_keyless(
        &s,
        "keyless/log/entries",
        &trace,
        result.as_ref().map(|_| ()),
        started,
    )
    .await;
    match (result, audited) {
        (Ok(v), Ok(())) => respond(&s, StatusCode::CREATED, &trace, &v),
        (Err(e), _) | (Ok(_), Err(e)) => error_response(&s, e, &trace),
    }
}

/// RFC 3161: a timestamp reply for a DER timestamp query.
#[utoipa::path(post, path = "/api/v1/timestamp", responses((status = 200, description = "application/timestamp-reply")))]
async fn tsa_timestamp(
    State(s): State<Shared>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let started = std::time::Instant::now();
    let trace = service::trace_id(&headers);
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let result = within_quota(&s, "keyless/tsa", async {
        let tsa = keyless_part(&s, |k| k.tsa.as_ref(), "timestamp authority")?;
        let body = body_or_error(body)?;
        tsa.timestamp(content_type.as_deref(), &body, jiff::Timestamp::now())
    })
    .await;
    let audited = audit_keyless(
        &s,
        "keyless/timestamp",
        &trace,
        result.as_ref().map(|_| ()),
        started,
    )
    .await;
    match (result, audited) {
        (Ok(bytes), Ok(())) => {
            let mut r = bytes.into_response();
            r.headers_mut().insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static(crate::keyless::tsa::REPLY_CONTENT_TYPE),
            );
            r
        }
        (Err(e), _) | (Ok(_), Err(e)) => error_response(&s, e, &trace),
    }
}

/// The ClientTrustConfig of this instance: trusted root (log, CA, CT log, TSA) and a
/// SigningConfig v0.2 naming this service (`sigstore --trust-config`, `vouch trust import`).
#[utoipa::path(get, path = "/api/v1/trust/config", responses((status = 200, body = Object)))]
async fn trust_config(State(s): State<Shared>) -> Response {
    axum::Json(s.trust_config.clone()).into_response()
}

/// Liveness: the process serves.
#[utoipa::path(get, path = "/healthz", responses((status = 200, body = Object)))]
async fn healthz() -> Response {
    axum::Json(serde_json::json!({"status": "ok"})).into_response()
}

/// Readiness: the database, Redis (when configured) and an active key.
#[utoipa::path(get, path = "/readyz", responses((status = 200, body = Object), (status = 503, body = ErrorBody)))]
async fn readyz(State(s): State<Shared>) -> Response {
    let mut checks = serde_json::Map::new();
    let mut ok = true;
    let mut note = |name: &str, r: Result<(), ApiError>| {
        match r {
            Ok(()) => checks.insert(name.into(), "ok".into()),
            Err(e) => {
                ok = false;
                checks.insert(name.into(), e.message.into())
            }
        };
    };
    note("database", s.audit.ping().await);
    note("redis", s.ping_redis().await);
    note("keys", s.keys.ready());
    let status = if ok {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (
        status,
        axum::Json(serde_json::json!({"ready": ok, "checks": checks})),
    )
        .into_response()
}

/// Prometheus metrics.
#[utoipa::path(get, path = "/metrics", responses((status = 200, body = String)))]
async fn metrics(State(s): State<Shared>) -> Response {
    s.refresh_key_gauges();
    let mut r = s.metrics.render().into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/openmetrics-text; version=1.0.0; charset=utf-8"),
    );
    r
}

#[derive(OpenApi)]
#[openapi(
    info(title = "vouch serve", description = "The vouch signing service: DPoP- or mTLS-bound tokens, entitlement, quotas, a transparency log and a hash-chained audit log. Error codes: docs/serve.md."),
    paths(sign_dsse, sign_blob, sign_export, verify_referrers, public_keys, trusted_root,
          ca_signing_cert, ca_configuration, ca_trust_bundle, rekor_create_entry, tsa_timestamp, trust_config,
          admin_keys, admin_rotate, admin_revoke, admin_bypass, admin_audit, healthz, readyz, metrics),
    components(schemas(ErrorBody, ErrorDetail, service::DsseRequest, service::BlobRequest,
        service::ExportRequest, service::ExportManifest, service::ExportFile, service::SubjectInput,
        service::ScannerInput, SignResponse, ExportResponse, service::SigningIdentity,
        RotateRequest, RevokeRequest, BypassRequest)),
    modifiers(&SecuritySchemes)
)]
pub struct ApiDoc;

struct SecuritySchemes;

impl utoipa::Modify for SecuritySchemes {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "dpop",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format(
                        "JWT, sent as `Authorization: DPoP <token>` with a `DPoP` proof (RFC 9449)",
                    )
                    .build(),
            ),
        );
        components.add_security_scheme(
            "mtls",
            SecurityScheme::MutualTls {
                description: Some(
                    "A token bound to the TLS client certificate (RFC 8705 cnf.x5t#S256)".into(),
                ),
                extensions: None,
            },
        );
    }
}

/// The OpenAPI 3.1 document.
pub fn openapi_json() -> String {
    ApiDoc::openapi().to_pretty_json().unwrap_or_default()
}

async fn openapi() -> Response {
    let mut r = openapi_json().into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    r
}
