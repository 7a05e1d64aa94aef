//! The test identity provider: a local OIDC issuer for tests and demos, so that keyless
//! signing can be tried without a real identity provider. It serves
//! `/.well-known/openid-configuration`, its JWKS (`/oidc/jwks`) and a token endpoint
//! (`POST /oidc/token`) minting identity tokens the instance's CA accepts. It reuses the dev
//! issuer ([`LocalIssuer`]): `vouch serve dev-token` and this endpoint sign with one key.
//!
//! It must never be on unless configured (`[keyless.test_issuer]`; `--dev` turns it on), and
//! its token endpoint must never answer anyone but a loopback peer: a request from another
//! address, or one that came through a proxy (`Forwarded`, `X-Forwarded-For`, `X-Real-IP`),
//! is refused, since a proxy on the host would make every client look local.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use serde_json::{Map, Value, json};

use crate::auth::issuer::{LocalIssuer, MintRequest};
use crate::error::{ApiError, Code};

/// `[keyless.test_issuer]` in serve.toml.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TestIssuerConfig {
    /// The tokens' `iss`, as the discovery document states it.
    pub issuer: String,
    /// Where its key lives [default: DATA_DIR/test-issuer].
    #[serde(default)]
    pub dir: Option<PathBuf>,
    /// The `aud` of tokens when the request names none [default: sigstore].
    #[serde(default)]
    pub audience: Option<String>,
}

/// The longest validity a token from the endpoint gets, in seconds.
const MAX_TTL: u64 = 3600;
/// The validity when the request names none.
const DEFAULT_TTL: u64 = 600;
/// The email domain of tokens whose request names no email.
const EMAIL_DOMAIN: &str = "test-issuer.vouch.invalid";

/// A running test issuer.
#[derive(Debug)]
pub struct TestIssuer {
    issuer: LocalIssuer,
    default_audience: String,
}

/// What a token request may ask for (a JSON body; every field optional).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct TokenRequest {
    #[serde(default)]
    subject: Option<String>,
    #[serde(default)]
    email: Option<String>,
    #[serde(default)]
    audience: Option<String>,
    #[serde(default)]
    ttl_seconds: Option<u64>,
}

/// Headers a proxy adds: their presence means the peer address is the proxy's.
const PROXY_HEADERS: [&str; 3] = ["forwarded", "x-forwarded-for", "x-real-ip"];

impl TestIssuer {
    /// Loads (or creates) the issuer's key in `config.dir`, else `data_dir/test-issuer`.
    pub fn open(config: &TestIssuerConfig, data_dir: &Path) -> Result<TestIssuer, String> {
        let dir = config
            .dir
            .clone()
            .unwrap_or_else(|| data_dir.join("test-issuer"));
        let issuer = LocalIssuer::load_or_create(&dir, &config.issuer)
            .map_err(|e| format!("the test issuer: {e}"))?;
        Ok(TestIssuer {
            issuer,
            default_audience: config.audience.clone().unwrap_or_else(|| "sigstore".into()),
        })
    }

    /// The tokens' `iss`.
    pub fn issuer_url(&self) -> &str {
        self.issuer.issuer()
    }

    /// The JWKS file the CA verifies its tokens with.
    pub fn jwks_path(&self) -> PathBuf {
        self.issuer.jwks_path()
    }

    /// `GET /.well-known/openid-configuration`; `base` is the service's external URL.
    pub fn discovery(&self, base: &str) -> Value {
        let base = base.trim_end_matches('/');
        json!({
            "issuer": self.issuer.issuer(),
            "jwks_uri": format!("{base}/oidc/jwks"),
            "token_endpoint": format!("{base}/oidc/token"),
            "response_types_supported": ["id_token"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["ES256"],
            "grant_types_supported": ["client_credentials"],
            "claims_supported": ["iss", "sub", "aud", "exp", "iat", "nbf", "email", "email_verified"],
        })
    }

    /// `GET /oidc/jwks`: the public key only.
    pub fn jwks(&self) -> Value {
        self.issuer.jwks()
    }

    /// `POST /oidc/token`: mints an identity token for a loopback `peer` (see the module doc).
    pub fn token(
        &self,
        peer: Option<SocketAddr>,
        headers: &http::HeaderMap,
        body: &[u8],
        now: u64,
    ) -> Result<Value, ApiError> {
        loopback_only(peer, headers)?;
        let req: TokenRequest = if body.iter().all(u8::is_ascii_whitespace) {
            TokenRequest::default()
        } else {
            serde_json::from_slice(body).map_err(|e| {
                ApiError::new(Code::InvalidRequest, format!("the token request: {e}"))
            })?
        };
        let subject = req.subject.unwrap_or_else(|| "test-user".into());
        if subject.is_empty() || subject.len() > 256 {
            return Err(ApiError::new(
                Code::InvalidRequest,
                "subject must be 1 to 256 characters",
            ));
        }
        let email = req
            .email
            .unwrap_or_else(|| format!("{subject}@{EMAIL_DOMAIN}"));
        let ttl = req.ttl_seconds.unwrap_or(DEFAULT_TTL);
        if ttl == 0 || ttl > MAX_TTL {
            return Err(ApiError::new(
                Code::InvalidRequest,
                format!("ttl_seconds must be 1 to {MAX_TTL}"),
            ));
        }
        let mut extra = Map::new();
        extra.insert("email".into(), email.into());
        extra.insert("email_verified".into(), true.into());
        let token = self
            .issuer
            .mint(&MintRequest {
                subject,
                audience: req
                    .audience
                    .unwrap_or_else(|| self.default_audience.clone()),
                ttl_seconds: ttl,
                extra,
                now,
                ..Default::default()
            })
            .map_err(|e| ApiError::internal(format!("minting: {e}")))?;
        Ok(json!({
            "access_token": token,
            "id_token": token,
            "token_type": "Bearer",
            "expires_in": ttl,
        }))
    }
}

/// Refuses every peer but a loopback one reached directly.
fn loopback_only(peer: Option<SocketAddr>, headers: &http::HeaderMap) -> Result<(), ApiError> {
    let refused = || {
        ApiError::new(
            Code::NotFound,
            "the test issuer's token endpoint answers loopback clients only",
        )
    };
    let peer = peer.ok_or_else(refused)?;
    if !peer.ip().to_canonical().is_loopback() {
        return Err(refused());
    }
    if PROXY_HEADERS.iter().any(|h| headers.contains_key(*h)) {
        return Err(refused());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn issuer(dir: &Path) -> TestIssuer {
        TestIssuer::open(
            &TestIssuerConfig {
                issuer: "https://issuer.test.invalid".into(),
                dir: None,
                audience: None,
            },
            dir,
        )
        .unwrap()
    }

    #[test]
    fn only_direct_loopback_peers_get_tokens() {
        let tmp = tempfile::tempdir().unwrap();
        let i = issuer(tmp.path());
        let none = http::HeaderMap::new();
        let at = |a: &str| Some(a.parse::<SocketAddr>().unwrap());
        assert!(
            i.token(at("127.0.0.1:5"), &none, b"", 1_700_000_000)
                .is_ok()
        );
        assert!(i.token(at("[::1]:5"), &none, b"{}", 1_700_000_000).is_ok());
        assert!(
            i.token(at("[::ffff:127.0.0.1]:5"), &none, b"", 1_700_000_000)
                .is_ok()
        );
        for far in [
            "192.0.2.7:5",
            "[2001:db8::1]:5",
            "[::ffff:192.0.2.7]:5",
            "0.0.0.0:5",
        ] {
            let e = i.token(at(far), &none, b"", 1_700_000_000).unwrap_err();
            assert_eq!(e.code, Code::NotFound, "{far}");
        }
        assert!(i.token(None, &none, b"", 1_700_000_000).is_err());
        for h in PROXY_HEADERS {
            let mut proxied = http::HeaderMap::new();
            proxied.insert(h, http::HeaderValue::from_static("192.0.2.7"));
            assert!(
                i.token(at("127.0.0.1:5"), &proxied, b"", 1_700_000_000)
                    .is_err(),
                "{h}"
            );
        }
    }

    #[test]
    fn requests_are_checked() {
        let tmp = tempfile::tempdir().unwrap();
        let i = issuer(tmp.path());
        let lo = Some("127.0.0.1:1".parse().unwrap());
        let none = http::HeaderMap::new();
        for bad in [
            &br#"{"ttl_seconds": 0}"#[..],
            br#"{"ttl_seconds": 99999}"#,
            br#"{"subject": ""}"#,
            br#"{"unknown": 1}"#,
            b"not json",
        ] {
            let e = i.token(lo, &none, bad, 1).unwrap_err();
            assert_eq!(e.code, Code::InvalidRequest);
        }
        let ok = i
            .token(
                lo,
                &none,
                br#"{"subject": "ci", "audience": "other", "ttl_seconds": 60}"#,
                1,
            )
            .unwrap();
        assert_eq!(ok["expires_in"], 60);
        assert_eq!(ok["access_token"], ok["id_token"]);
        let doc = i.discovery("http://127.0.0.1:9/");
        assert_eq!(doc["issuer"], "https://issuer.test.invalid");
        assert_eq!(doc["jwks_uri"], "http://127.0.0.1:9/oidc/jwks");
        assert_eq!(doc["token_endpoint"], "http://127.0.0.1:9/oidc/token");
        assert!(!i.jwks().to_string().contains("\"d\""));
    }
}

/// The HTTP handlers (routes registered in `api.rs`).
pub mod routes {
    use std::net::SocketAddr;
    use std::sync::Arc;

    use axum::Extension;
    use axum::body::Bytes;
    use axum::extract::{ConnectInfo, State};
    use axum::response::{IntoResponse, Response};
    use http::HeaderMap;

    use super::TestIssuer;
    use crate::error::{ApiError, Code};
    use crate::service::Service;

    fn test_issuer(s: &Service) -> Result<&TestIssuer, ApiError> {
        s.keyless
            .as_ref()
            .and_then(|k| k.test_issuer.as_ref())
            .ok_or_else(|| ApiError::new(Code::NotFound, "this instance runs no test issuer"))
    }

    /// `GET /.well-known/openid-configuration`.
    pub async fn discovery(State(s): State<Arc<Service>>) -> Response {
        match test_issuer(&s) {
            Ok(t) => axum::Json(t.discovery(&s.external_url)).into_response(),
            Err(e) => e.into_response(),
        }
    }

    /// `GET /oidc/jwks`.
    pub async fn jwks(State(s): State<Arc<Service>>) -> Response {
        match test_issuer(&s) {
            Ok(t) => axum::Json(t.jwks()).into_response(),
            Err(e) => e.into_response(),
        }
    }

    /// `POST /oidc/token` (loopback peers only).
    pub async fn token(
        State(s): State<Arc<Service>>,
        peer: Option<Extension<ConnectInfo<SocketAddr>>>,
        headers: HeaderMap,
        body: Bytes,
    ) -> Response {
        let now = jiff::Timestamp::now().as_second().max(0).unsigned_abs();
        let peer = peer.map(|Extension(ConnectInfo(a))| a);
        match test_issuer(&s).and_then(|t| t.token(peer, &headers, &body, now)) {
            Ok(v) => {
                let mut r = axum::Json(v).into_response();
                // A token response must not be cached (RFC 6749 §5.1).
                r.headers_mut().insert(
                    http::header::CACHE_CONTROL,
                    http::HeaderValue::from_static("no-store"),
                );
                r
            }
            Err(e) => e.into_response(),
        }
    }
}
