//! Where a keyless signer's identity token comes from when the command line names none, as
//! cosign and sigstore-python look: `SIGSTORE_ID_TOKEN`, then GitHub Actions' ambient OIDC
//! token (`GET $ACTIONS_ID_TOKEN_REQUEST_URL&audience=sigstore` with
//! `Authorization: bearer $ACTIONS_ID_TOKEN_REQUEST_TOKEN`, answered `{"value": JWT}`).
//!
//! Both the request token and the identity token are secrets: they must never appear in an
//! error, a log line or `Debug` output. Errors name the endpoint (without credentials or
//! query) and the HTTP status only, never the answer's body, which holds the token.

use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Bytes;
use serde_json::Value;
use zeroize::Zeroizing;

use super::client::{Client, ClientError, MAX_RESPONSE, TIMEOUT, bad, client, service};
use crate::http_client::{loopback_http, redact_url};

/// The audience Sigstore CAs expect.
pub const SIGSTORE_AUDIENCE: &str = "sigstore";

/// The environment an ambient token is looked up in (read once, so tests can give their own).
#[derive(Default, Clone)]
pub struct AmbientEnv {
    /// `SIGSTORE_ID_TOKEN`: the token itself.
    pub sigstore_id_token: Option<Zeroizing<String>>,
    /// `ACTIONS_ID_TOKEN_REQUEST_URL`.
    pub actions_request_url: Option<String>,
    /// `ACTIONS_ID_TOKEN_REQUEST_TOKEN`.
    pub actions_request_token: Option<Zeroizing<String>>,
}

impl std::fmt::Debug for AmbientEnv {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let shown = |s: &Option<Zeroizing<String>>| s.as_ref().map(|_| "<redacted>");
        f.debug_struct("AmbientEnv")
            .field("sigstore_id_token", &shown(&self.sigstore_id_token))
            .field(
                "actions_request_url",
                &self.actions_request_url.as_deref().map(redact_url),
            )
            .field("actions_request_token", &shown(&self.actions_request_token))
            .finish()
    }
}

impl AmbientEnv {
    /// The process environment (empty values count as unset).
    pub fn from_process() -> AmbientEnv {
        let var = |n: &str| std::env::var(n).ok().filter(|v| !v.trim().is_empty());
        AmbientEnv {
            sigstore_id_token: var("SIGSTORE_ID_TOKEN").map(Zeroizing::new),
            actions_request_url: var("ACTIONS_ID_TOKEN_REQUEST_URL"),
            actions_request_token: var("ACTIONS_ID_TOKEN_REQUEST_TOKEN").map(Zeroizing::new),
        }
    }

    /// Whether any source is there.
    pub fn has_token_source(&self) -> bool {
        self.sigstore_id_token.is_some()
            || (self.actions_request_url.is_some() && self.actions_request_token.is_some())
    }
}

/// The ambient identity token: `SIGSTORE_ID_TOKEN` when set, else GitHub Actions' token for
/// audience `sigstore` when both request variables are set, else `None`.
pub async fn ambient_identity_token(
    env: &AmbientEnv,
) -> Result<Option<Zeroizing<String>>, ClientError> {
    if let Some(t) = &env.sigstore_id_token {
        return Ok(Some(Zeroizing::new(t.trim().to_string())));
    }
    match (&env.actions_request_url, &env.actions_request_token) {
        (Some(url), Some(bearer)) => github_actions_token(&client()?, url, bearer)
            .await
            .map(Some),
        _ => Ok(None),
    }
}

/// [`ambient_identity_token`] on a runtime of its own.
pub fn ambient_identity_token_blocking(
    env: &AmbientEnv,
) -> Result<Option<Zeroizing<String>>, ClientError> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| service(format!("cannot start the async runtime: {e}")))?
        .block_on(ambient_identity_token(env))
}

/// `url` with `audience=sigstore` added to its query, as the Actions toolkit does.
fn with_audience(url: &str) -> String {
    let sep = if url.contains('?') { '&' } else { '?' };
    format!("{url}{sep}audience={SIGSTORE_AUDIENCE}")
}

async fn github_actions_token(
    client: &Client,
    url: &str,
    bearer: &str,
) -> Result<Zeroizing<String>, ClientError> {
    let shown = format!("the GitHub Actions token endpoint {}", redact_url(url));
    let full = with_audience(url);
    if !full.starts_with("https://") && !loopback_http(&full) {
        return Err(bad(format!(
            "{shown}: only https:// (or http:// to loopback) is allowed"
        )));
    }
    let authorization = Zeroizing::new(format!("bearer {}", bearer.trim()));
    let req = hyper::Request::get(&full)
        .header(hyper::header::AUTHORIZATION, authorization.as_str())
        .header(hyper::header::ACCEPT, "application/json")
        .body(Full::new(Bytes::new()))
        // The builder's error may quote a header value: say only that the request is malformed.
        .map_err(|_| {
            bad(format!(
                "{shown}: the request cannot be built (bad URL or token characters)"
            ))
        })?;
    let call = async {
        let resp = client
            .request(req)
            .await
            .map_err(|e| service(format!("{shown}: {e}")))?;
        let status = resp.status().as_u16();
        let body = Limited::new(resp.into_body(), MAX_RESPONSE)
            .collect()
            .await
            .map_err(|e| service(format!("{shown}: reading the response: {e}")))?
            .to_bytes();
        Ok::<_, ClientError>((status, Zeroizing::new(body.to_vec())))
    };
    let (status, body) = tokio::time::timeout(TIMEOUT, call)
        .await
        .map_err(|_| service(format!("{shown}: no answer within {} s", TIMEOUT.as_secs())))??;
    if status >= 400 {
        return Err(service(format!("{shown} refused (HTTP {status})")));
    }
    let json: Value = serde_json::from_slice(&body)
        .map_err(|_| service(format!("{shown}: the answer is not JSON")))?;
    let value = json
        .get("value")
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .ok_or_else(|| service(format!("{shown}: the answer has no `value`")))?;
    Ok(Zeroizing::new(value.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn audience_is_appended_to_the_query() {
        assert_eq!(
            with_audience("https://x.example/t?api-version=2.0"),
            "https://x.example/t?api-version=2.0&audience=sigstore"
        );
        assert_eq!(
            with_audience("https://x.example/t"),
            "https://x.example/t?audience=sigstore"
        );
    }

    #[test]
    fn debug_shows_no_secret() {
        let env = AmbientEnv {
            sigstore_id_token: Some(Zeroizing::new("jwt-secret-1".into())),
            actions_request_url: Some("https://u:p@x.example/t?sig=q".into()),
            actions_request_token: Some(Zeroizing::new("req-secret-2".into())),
        };
        let shown = format!("{env:?}");
        for secret in ["jwt-secret-1", "req-secret-2", "u:p", "sig=q"] {
            assert!(!shown.contains(secret), "{shown}");
        }
        assert!(env.has_token_source());
        assert!(!AmbientEnv::default().has_token_source());
    }

    #[tokio::test]
    async fn sigstore_id_token_comes_first_and_plain_http_elsewhere_is_refused() {
        let env = AmbientEnv {
            sigstore_id_token: Some(Zeroizing::new(" a.b.c \n".into())),
            actions_request_url: Some("http://192.0.2.1/t".into()),
            actions_request_token: Some(Zeroizing::new("r".into())),
        };
        let t = ambient_identity_token(&env).await.unwrap().unwrap();
        assert_eq!(t.as_str(), "a.b.c");
        let env = AmbientEnv {
            sigstore_id_token: None,
            ..env
        };
        let e = ambient_identity_token(&env).await.unwrap_err();
        assert!(matches!(e, ClientError::BadInput(_)), "{e}");
        assert!(
            ambient_identity_token(&AmbientEnv::default())
                .await
                .unwrap()
                .is_none()
        );
    }
}
