//! Outbound HTTP for the service: JWKS documents and PoE introspection. HTTPS with the
//! system's roots through rustls; plain HTTP only to a loopback address (a sidecar or a test).
//!
//! Every call has a timeout and a response size cap, and errors name the URL without its
//! user-info or query (which may carry credentials).

use std::time::Duration;

use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Bytes;
use hyper::{Method, Request};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;

/// Largest response body read (JWKS and introspection answers are small).
const MAX_RESPONSE: usize = 1 << 20;

/// A shared HTTP(S) client.
#[derive(Clone)]
pub struct HttpClient {
    inner: Client<hyper_rustls::HttpsConnector<HttpConnector>, Full<Bytes>>,
}

impl std::fmt::Debug for HttpClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("HttpClient")
    }
}

/// A response: status and body.
#[derive(Debug, Clone)]
pub struct Response {
    pub status: u16,
    pub body: Vec<u8>,
}

/// The URL as it may appear in an error: scheme, host and path only.
pub fn redact_url(url: &str) -> String {
    let (scheme, rest) = url.split_once("://").unwrap_or(("", url));
    let rest = rest.split(['?', '#']).next().unwrap_or("");
    let rest = match rest.split_once('/') {
        Some((authority, path)) => {
            let host = authority.rsplit('@').next().unwrap_or(authority);
            format!("{host}/{path}")
        }
        None => rest.rsplit('@').next().unwrap_or(rest).to_string(),
    };
    if scheme.is_empty() {
        rest
    } else {
        format!("{scheme}://{rest}")
    }
}

/// Whether `url` is plain HTTP to a loopback host (the only plain HTTP allowed).
pub(crate) fn loopback_http(url: &str) -> bool {
    let Some(rest) = url.strip_prefix("http://") else {
        return false;
    };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    let host = authority.rsplit('@').next().unwrap_or(authority);
    let host = match host.strip_prefix('[') {
        Some(h) => h.split(']').next().unwrap_or(""),
        None => host.rsplit_once(':').map(|(h, _)| h).unwrap_or(host),
    };
    host == "localhost"
        || host
            .parse::<std::net::IpAddr>()
            .map(|ip| ip.is_loopback())
            .unwrap_or(false)
}

impl HttpClient {
    pub fn new() -> Result<HttpClient, String> {
        let https = hyper_rustls::HttpsConnectorBuilder::new()
            .with_native_roots()
            .map_err(|e| format!("cannot load the system's TLS roots: {e}"))?
            .https_or_http()
            .enable_http1()
            .build();
        Ok(HttpClient {
            inner: Client::builder(TokioExecutor::new()).build(https),
        })
    }

    /// Sends a request; `body` is JSON when given. Plain `http://` is refused unless the host
    /// is loopback.
    pub async fn send(
        &self,
        method: Method,
        url: &str,
        bearer: Option<&str>,
        body: Option<Vec<u8>>,
        timeout: Duration,
    ) -> Result<Response, String> {
        let shown = redact_url(url);
        if !url.starts_with("https://") && !loopback_http(url) {
            return Err(format!(
                "{shown}: only https:// (or http:// to loopback) is allowed"
            ));
        }
        let mut req = Request::builder().method(method).uri(url);
        if let Some(t) = bearer {
            req = req.header(hyper::header::AUTHORIZATION, format!("Bearer {t}"));
        }
        if body.is_some() {
            req = req.header(hyper::header::CONTENT_TYPE, "application/json");
        }
        req = req.header(hyper::header::ACCEPT, "application/json");
        let req = req
            .body(Full::new(Bytes::from(body.unwrap_or_default())))
            .map_err(|e| format!("{shown}: {e}"))?;
        let call = async {
            let resp = self
                .inner
                .request(req)
                .await
                .map_err(|e| format!("{shown}: {e}"))?;
            let status = resp.status().as_u16();
            let body = Limited::new(resp.into_body(), MAX_RESPONSE)
                .collect()
                .await
                .map_err(|e| format!("{shown}: reading the response: {e}"))?
                .to_bytes()
                .to_vec();
            Ok(Response { status, body })
        };
        tokio::time::timeout(timeout, call)
            .await
            .map_err(|_| format!("{shown}: no answer within {} ms", timeout.as_millis()))?
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_lose_credentials_in_errors() {
        assert_eq!(
            redact_url("https://user:pw@idp.example/introspect?token=x"),
            "https://idp.example/introspect"
        );
        assert!(loopback_http("http://127.0.0.1:8080/x"));
        assert!(loopback_http("http://[::1]:80/"));
        assert!(!loopback_http("http://idp.example/x"));
        assert!(!loopback_http("http://127.0.0.1.evil.example/x"));
    }
}
