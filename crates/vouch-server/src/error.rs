//! Structured JSON errors with a stable `code`: what every refusal of the service looks like
//! on the wire (`{"error": {"code": "...", "message": "..."}}`), with the HTTP status and the
//! headers the code implies (`Retry-After`, `DPoP-Nonce`, `WWW-Authenticate`).
//!
//! A message must never carry a token, key or secret: it names what was wrong, not the value.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

/// The stable error codes; docs/serve.md lists them. Clients may match on them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Code {
    /// No token, or one that does not verify (signature, issuer, audience, time, claims).
    InvalidToken,
    /// The DPoP proof is missing or fails a check of RFC 9449 §4.3.
    InvalidDpopProof,
    /// The server requires a nonce in the DPoP proof; the response carries `DPoP-Nonce`.
    UseDpopNonce,
    /// The token lacks the scope the endpoint needs, or names another tenant.
    InsufficientScope,
    /// The endpoint needs proof of multi-factor authentication (`acr`/`amr`).
    StepUpRequired,
    /// The tenant is not entitled (PoE said no, or PoE cannot be asked and the cache expired).
    EntitlementDenied,
    /// A quota was hit; the response carries `Retry-After`.
    QuotaExceeded,
    /// The scanner image named in the request is not signed by the configured release identity.
    ScannerUnverified,
    /// The request body is malformed or misses a field.
    InvalidRequest,
    /// The request body is larger than allowed.
    PayloadTooLarge,
    /// No usable signing key for the tenant (none configured, or all revoked).
    NoSigningKey,
    /// A dependency (database, Redis, log) is unavailable: nothing was signed.
    Unavailable,
    /// No such resource.
    NotFound,
    /// A bug or unexpected failure: nothing was signed.
    Internal,
}

impl Code {
    pub fn as_str(self) -> &'static str {
        match self {
            Code::InvalidToken => "invalid_token",
            Code::InvalidDpopProof => "invalid_dpop_proof",
            Code::UseDpopNonce => "use_dpop_nonce",
            Code::InsufficientScope => "insufficient_scope",
            Code::StepUpRequired => "step_up_required",
            Code::EntitlementDenied => "entitlement_denied",
            Code::QuotaExceeded => "quota_exceeded",
            Code::ScannerUnverified => "scanner_unverified",
            Code::InvalidRequest => "invalid_request",
            Code::PayloadTooLarge => "payload_too_large",
            Code::NoSigningKey => "no_signing_key",
            Code::Unavailable => "unavailable",
            Code::NotFound => "not_found",
            Code::Internal => "internal",
        }
    }

    pub fn status(self) -> StatusCode {
        match self {
            Code::InvalidToken | Code::InvalidDpopProof | Code::UseDpopNonce => {
                StatusCode::UNAUTHORIZED
            }
            Code::InsufficientScope | Code::StepUpRequired | Code::EntitlementDenied => {
                StatusCode::FORBIDDEN
            }
            Code::ScannerUnverified => StatusCode::FORBIDDEN,
            Code::QuotaExceeded => StatusCode::TOO_MANY_REQUESTS,
            Code::InvalidRequest => StatusCode::BAD_REQUEST,
            Code::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Code::NoSigningKey => StatusCode::CONFLICT,
            Code::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
            Code::NotFound => StatusCode::NOT_FOUND,
            Code::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// Every code, for docs and tests.
    pub const ALL: &'static [Code] = &[
        Code::InvalidToken,
        Code::InvalidDpopProof,
        Code::UseDpopNonce,
        Code::InsufficientScope,
        Code::StepUpRequired,
        Code::EntitlementDenied,
        Code::QuotaExceeded,
        Code::ScannerUnverified,
        Code::InvalidRequest,
        Code::PayloadTooLarge,
        Code::NoSigningKey,
        Code::Unavailable,
        Code::NotFound,
        Code::Internal,
    ];
}

/// A refusal: code, a message for people, and the headers the code implies.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    pub code: Code,
    pub message: String,
    /// Seconds, for `Retry-After` (quota).
    pub retry_after: Option<u64>,
    /// A fresh nonce for `DPoP-Nonce` (sent with `use_dpop_nonce`, and whenever one is issued).
    pub dpop_nonce: Option<String>,
}

impl ApiError {
    pub fn new(code: Code, message: impl Into<String>) -> Self {
        ApiError {
            code,
            message: message.into(),
            retry_after: None,
            dpop_nonce: None,
        }
    }

    pub fn with_retry_after(mut self, seconds: u64) -> Self {
        self.retry_after = Some(seconds);
        self
    }

    pub fn with_dpop_nonce(mut self, nonce: String) -> Self {
        self.dpop_nonce = Some(nonce);
        self
    }

    pub fn internal(message: impl Into<String>) -> Self {
        ApiError::new(Code::Internal, message)
    }

    pub fn unavailable(message: impl Into<String>) -> Self {
        ApiError::new(Code::Unavailable, message)
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.code.as_str(), self.message)
    }
}

impl std::error::Error for ApiError {}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = serde_json::json!({
            "error": {"code": self.code.as_str(), "message": self.message}
        });
        let mut response = (self.code.status(), axum::Json(body)).into_response();
        let headers = response.headers_mut();
        if let Some(s) = self.retry_after {
            headers.insert(header::RETRY_AFTER, HeaderValue::from(s));
        }
        if let Some(n) = self.dpop_nonce.as_deref()
            && let Ok(v) = HeaderValue::from_str(n)
        {
            headers.insert("dpop-nonce", v);
        }
        // RFC 9449 §7.1 / RFC 6750 §3: the challenge names the scheme and the error.
        let challenge = match self.code {
            Code::InvalidToken => Some("DPoP error=\"invalid_token\""),
            Code::InvalidDpopProof => Some("DPoP error=\"invalid_dpop_proof\""),
            Code::UseDpopNonce => Some("DPoP error=\"use_dpop_nonce\""),
            Code::InsufficientScope => Some("DPoP error=\"insufficient_scope\""),
            _ => None,
        };
        if let Some(c) = challenge {
            headers.insert(header::WWW_AUTHENTICATE, HeaderValue::from_static(c));
        }
        response
    }
}
