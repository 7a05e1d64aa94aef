//! Where the keys that verify OpToks come from: a JWKS given inline, read from a file, or
//! fetched over HTTPS (hyper + rustls with aws-lc-rs), cached and refreshed. An unknown
//! `kid` triggers one reload, at most once per configured interval, so that the issuer's key
//! rotation is honoured without letting unknown `kid`s hammer the issuer.
//!
//! It must never: use a symmetric (`oct`) or private key from a JWKS, fetch a JWKS over plain
//! HTTP, follow a key that has no `kid`, or accept an algorithm other than the key's own.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::http::{Request, StatusCode, Uri, header};
use http_body_util::{BodyExt, Empty, Limited};
use hyper::body::Bytes;
use jsonwebtoken::{Algorithm, DecodingKey};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, ServerName};
use serde_json::{Map, Value};

use super::dpop::asymmetric_alg;
use crate::error::{ApiError, Code};

/// The largest JWKS document read, in bytes.
const MAX_JWKS_LEN: usize = 1024 * 1024;
/// How long one HTTPS fetch may take.
const FETCH_TIMEOUT: Duration = Duration::from_secs(10);
/// Where the system CA bundle usually is, when no `jwks_ca_file` is configured.
const SYSTEM_CA_BUNDLES: &[&str] = &[
    "/etc/ssl/certs/ca-certificates.crt",
    "/etc/pki/tls/certs/ca-bundle.crt",
    "/etc/ssl/cert.pem",
    "/etc/ssl/ca-bundle.pem",
];

/// One verification key from the JWKS.
#[derive(Clone)]
pub struct VerifyKey {
    pub kid: String,
    key: DecodingKey,
    /// The algorithms this key may verify: its `alg` when it names one, else its family's.
    algorithms: Vec<Algorithm>,
}

impl std::fmt::Debug for VerifyKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VerifyKey")
            .field("kid", &self.kid)
            .field("algorithms", &self.algorithms)
            .finish_non_exhaustive()
    }
}

impl VerifyKey {
    pub fn allows(&self, alg: Algorithm) -> bool {
        self.algorithms.contains(&alg)
    }

    pub(crate) fn decoding_key(&self) -> &DecodingKey {
        &self.key
    }
}

/// A parsed JWKS: the usable verification keys by `kid`.
#[derive(Debug, Clone, Default)]
pub struct KeySet {
    keys: HashMap<String, Arc<VerifyKey>>,
}

impl KeySet {
    /// Parses a JWKS document. Keys that are unusable for verification (no `kid`, `oct`,
    /// private members, `use` other than `sig`, symmetric or unknown `alg`) are skipped.
    pub fn parse(json: &[u8]) -> Result<KeySet, String> {
        let doc: Value = serde_json::from_slice(json).map_err(|e| format!("not JSON: {e}"))?;
        let keys = doc
            .get("keys")
            .and_then(Value::as_array)
            .ok_or("no \"keys\" array")?;
        let mut set = KeySet::default();
        for k in keys {
            let Some(obj) = k.as_object() else { continue };
            match parse_key(obj) {
                Some(vk) => {
                    set.keys.insert(vk.kid.clone(), Arc::new(vk));
                }
                None => tracing::debug!("JWKS: skipped a key that cannot verify tokens"),
            }
        }
        Ok(set)
    }

    pub fn get(&self, kid: &str) -> Option<Arc<VerifyKey>> {
        self.keys.get(kid).cloned()
    }

    pub fn len(&self) -> usize {
        self.keys.len()
    }

    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }
}

fn parse_key(jwk: &Map<String, Value>) -> Option<VerifyKey> {
    const PRIVATE: &[&str] = &["d", "p", "q", "dp", "dq", "qi", "oth", "k"];
    if PRIVATE.iter().any(|m| jwk.contains_key(*m)) {
        return None;
    }
    let kid = jwk.get("kid")?.as_str()?.to_owned();
    if let Some(u) = jwk.get("use")
        && u.as_str() != Some("sig")
    {
        return None;
    }
    let s = |n: &str| jwk.get(n).and_then(Value::as_str);
    let (key, family): (DecodingKey, Vec<Algorithm>) = match (s("kty")?, s("crv")) {
        ("EC", Some("P-256")) => (
            DecodingKey::from_ec_components(s("x")?, s("y")?).ok()?,
            vec![Algorithm::ES256],
        ),
        ("EC", Some("P-384")) => (
            DecodingKey::from_ec_components(s("x")?, s("y")?).ok()?,
            vec![Algorithm::ES384],
        ),
        ("OKP", Some("Ed25519")) => (
            DecodingKey::from_ed_components(s("x")?).ok()?,
            vec![Algorithm::EdDSA],
        ),
        ("RSA", _) => (
            DecodingKey::from_rsa_components(s("n")?, s("e")?).ok()?,
            vec![
                Algorithm::RS256,
                Algorithm::RS384,
                Algorithm::RS512,
                Algorithm::PS256,
                Algorithm::PS384,
                Algorithm::PS512,
            ],
        ),
        _ => return None,
    };
    let algorithms = match jwk.get("alg") {
        None => family,
        Some(a) => {
            let alg = asymmetric_alg(Some(a))?;
            if !family.contains(&alg) {
                return None;
            }
            vec![alg]
        }
    };
    Some(VerifyKey {
        kid,
        key,
        algorithms,
    })
}

enum Origin {
    Static,
    File(PathBuf),
    Url(Box<HttpsFetcher>),
}

/// When the key set was last loaded and tried.
struct ReloadState {
    loaded_at: Instant,
    last_attempt: Instant,
    last_failed: bool,
}

/// The OpTok verification keys, with their refresh policy. Lookups read the current set
/// without waiting; one caller at a time reloads it (a periodic refresh does not hold up
/// requests whose key is known, an unknown `kid` waits for the reload it triggers).
pub struct KeySource {
    origin: Origin,
    current: std::sync::RwLock<Arc<KeySet>>,
    reload: tokio::sync::Mutex<ReloadState>,
    refresh: Duration,
    min_refetch: Duration,
}

impl std::fmt::Debug for KeySource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let origin = match &self.origin {
            Origin::Static => "static".to_owned(),
            Origin::File(p) => format!("file {}", p.display()),
            Origin::Url(u) => format!("url {}", u.uri),
        };
        f.debug_struct("KeySource")
            .field("origin", &origin)
            .field("refresh", &self.refresh)
            .field("min_refetch", &self.min_refetch)
            .finish()
    }
}

impl KeySource {
    fn with(origin: Origin, set: KeySet, refresh: Duration, min_refetch: Duration) -> Self {
        let now = Instant::now();
        KeySource {
            origin,
            current: std::sync::RwLock::new(Arc::new(set)),
            reload: tokio::sync::Mutex::new(ReloadState {
                loaded_at: now,
                last_attempt: now,
                last_failed: false,
            }),
            refresh,
            min_refetch,
        }
    }

    /// A fixed key set (tests, the dev issuer).
    pub fn from_jwks_json(json: &[u8]) -> Result<Self, String> {
        Ok(Self::with(
            Origin::Static,
            KeySet::parse(json)?,
            Duration::MAX,
            Duration::MAX,
        ))
    }

    /// A JWKS file, re-read every `refresh` and on an unknown `kid` (at most once per
    /// `min_refetch`). The first read must succeed.
    pub async fn file(
        path: &Path,
        refresh: Duration,
        min_refetch: Duration,
    ) -> Result<Self, String> {
        let origin = Origin::File(path.to_owned());
        let set = load(&origin).await?;
        Ok(Self::with(origin, set, refresh, min_refetch))
    }

    /// A JWKS at an `https://` URL, verified against `ca_file` or the system CA bundle.
    /// The first fetch must succeed.
    pub async fn url(
        url: &str,
        ca_file: Option<&Path>,
        refresh: Duration,
        min_refetch: Duration,
    ) -> Result<Self, String> {
        let origin = Origin::Url(Box::new(HttpsFetcher::new(url, ca_file)?));
        let set = load(&origin).await?;
        Ok(Self::with(origin, set, refresh, min_refetch))
    }

    fn lookup(&self, kid: &str) -> Result<Option<Arc<VerifyKey>>, ApiError> {
        let set = self
            .current
            .read()
            .map_err(|_| ApiError::internal("key set lock poisoned"))?;
        Ok(set.get(kid))
    }

    fn may_try(&self, state: &ReloadState) -> bool {
        state.last_attempt.elapsed() >= self.min_refetch
    }

    /// The key named `kid`. Unknown `kid`: `invalid_token`, or `unavailable` when the source
    /// could not be read the last time it was tried.
    pub async fn key(&self, kid: &str) -> Result<Arc<VerifyKey>, ApiError> {
        if matches!(self.origin, Origin::Static) {
            return self.lookup(kid)?.ok_or_else(unknown_kid);
        }
        // Periodic refresh: by whoever gets the lock first; the others go on with the
        // current keys.
        if let Ok(mut state) = self.reload.try_lock()
            && state.loaded_at.elapsed() >= self.refresh
            && self.may_try(&state)
        {
            self.reload_into(&mut state).await?;
        }
        if let Some(k) = self.lookup(kid)? {
            return Ok(k);
        }
        // Unknown kid: wait for any reload in flight, then reload once if allowed.
        let mut state = self.reload.lock().await;
        if let Some(k) = self.lookup(kid)? {
            return Ok(k);
        }
        if self.may_try(&state) {
            self.reload_into(&mut state).await?;
            if let Some(k) = self.lookup(kid)? {
                return Ok(k);
            }
        }
        if state.last_failed {
            return Err(ApiError::unavailable(
                "the token's signing key is unknown and the key set cannot be refreshed",
            ));
        }
        Err(unknown_kid())
    }

    async fn reload_into(&self, state: &mut ReloadState) -> Result<(), ApiError> {
        state.last_attempt = Instant::now();
        match load(&self.origin).await {
            Ok(set) => {
                let mut current = self
                    .current
                    .write()
                    .map_err(|_| ApiError::internal("key set lock poisoned"))?;
                *current = Arc::new(set);
                state.loaded_at = state.last_attempt;
                state.last_failed = false;
            }
            Err(e) => {
                tracing::warn!(error = %e, "JWKS refresh failed; keeping the previous keys");
                state.last_failed = true;
            }
        }
        Ok(())
    }
}

fn unknown_kid() -> ApiError {
    ApiError::new(
        Code::InvalidToken,
        "the token's signing key (kid) is unknown",
    )
}

async fn load(origin: &Origin) -> Result<KeySet, String> {
    let bytes = match origin {
        Origin::Static => return Err("a static key set is never reloaded".into()),
        Origin::File(p) => {
            let b = tokio::fs::read(p)
                .await
                .map_err(|e| format!("cannot read JWKS file {}: {e}", p.display()))?;
            if b.len() > MAX_JWKS_LEN {
                return Err(format!("JWKS file {} is too large", p.display()));
            }
            b
        }
        Origin::Url(f) => f.fetch().await?,
    };
    KeySet::parse(&bytes)
}

/// GETs one `https://` URL with rustls (aws-lc-rs) over hyper's HTTP/1 client.
struct HttpsFetcher {
    uri: Uri,
    host: String,
    port: u16,
    server_name: ServerName<'static>,
    connector: tokio_rustls::TlsConnector,
}

impl HttpsFetcher {
    fn new(url: &str, ca_file: Option<&Path>) -> Result<Self, String> {
        let uri: Uri = url
            .parse()
            .map_err(|_| "jwks_url is not a URL".to_owned())?;
        if uri.scheme_str() != Some("https") {
            return Err("jwks_url must be an https:// URL".into());
        }
        let authority = uri.authority().ok_or("jwks_url has no host")?;
        if authority.as_str().contains('@') {
            return Err("jwks_url must not carry credentials".into());
        }
        let host = authority
            .host()
            .trim_start_matches('[')
            .trim_end_matches(']');
        let port = authority.port_u16().unwrap_or(443);
        let server_name = ServerName::try_from(host.to_owned())
            .map_err(|_| "jwks_url has an invalid host name".to_owned())?;
        let mut roots = rustls::RootCertStore::empty();
        let files: Vec<PathBuf> = match ca_file {
            Some(p) => vec![p.to_owned()],
            None => SYSTEM_CA_BUNDLES
                .iter()
                .map(PathBuf::from)
                .filter(|p| p.exists())
                .take(1)
                .collect(),
        };
        for f in &files {
            let iter = CertificateDer::pem_file_iter(f)
                .map_err(|e| format!("cannot read CA file {}: {e}", f.display()))?;
            for cert in iter.flatten() {
                // A bundle may hold certificates rustls cannot use; skip those.
                let _ = roots.add(cert);
            }
        }
        if roots.is_empty() {
            return Err("no CA certificates to verify the JWKS server (set jwks_ca_file)".into());
        }
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let mut config = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| format!("TLS configuration: {e}"))?
            .with_root_certificates(roots)
            .with_no_client_auth();
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(HttpsFetcher {
            host: host.to_owned(),
            port,
            server_name,
            connector: tokio_rustls::TlsConnector::from(Arc::new(config)),
            uri,
        })
    }

    async fn fetch(&self) -> Result<Vec<u8>, String> {
        tokio::time::timeout(FETCH_TIMEOUT, self.fetch_inner())
            .await
            .map_err(|_| format!("fetching {} timed out", self.uri))?
    }

    async fn fetch_inner(&self) -> Result<Vec<u8>, String> {
        let what = |e: &dyn std::fmt::Display| format!("fetching {}: {e}", self.uri);
        let tcp = tokio::net::TcpStream::connect((self.host.as_str(), self.port))
            .await
            .map_err(|e| what(&e))?;
        let tls = self
            .connector
            .connect(self.server_name.clone(), tcp)
            .await
            .map_err(|e| what(&e))?;
        let (mut sender, conn) =
            hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(tls))
                .await
                .map_err(|e| what(&e))?;
        let driver = tokio::spawn(conn);
        let path = self.uri.path_and_query().map(|p| p.as_str()).unwrap_or("/");
        let authority = self.uri.authority().map(|a| a.as_str()).unwrap_or("");
        let req = Request::get(path)
            .header(header::HOST, authority)
            .header(header::ACCEPT, "application/json")
            .body(Empty::<Bytes>::new())
            .map_err(|e| what(&e))?;
        let result = async {
            let resp = sender.send_request(req).await.map_err(|e| what(&e))?;
            if resp.status() != StatusCode::OK {
                return Err(format!("fetching {}: HTTP {}", self.uri, resp.status()));
            }
            let body = Limited::new(resp.into_body(), MAX_JWKS_LEN)
                .collect()
                .await
                .map_err(|e| what(&e))?;
            Ok(body.to_bytes().to_vec())
        }
        .await;
        driver.abort();
        result
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_skips_unusable_keys() {
        let doc = serde_json::json!({"keys": [
            {"kty": "oct", "kid": "sym", "k": "c2VjcmV0"},
            {"kty": "EC", "crv": "P-256", "kid": "priv", "x": "AA", "y": "AA", "d": "AA"},
            {"kty": "EC", "crv": "P-256", "x": "AA", "y": "AA"},
            {"kty": "RSA", "kid": "hs", "alg": "HS256", "n": "AQAB", "e": "AQAB"},
            {"kty": "RSA", "kid": "enc", "use": "enc", "n": "AQAB", "e": "AQAB"},
            {"kty": "EC", "crv": "P-256", "kid": "wrongalg", "alg": "ES384", "x": "AA", "y": "AA"},
            {"kty": "RSA", "kid": "ok", "alg": "PS256", "n": "AQAB", "e": "AQAB"},
            "not an object"
        ]});
        let set = KeySet::parse(doc.to_string().as_bytes()).unwrap();
        assert_eq!(set.len(), 1);
        let k = set.get("ok").unwrap();
        assert!(k.allows(Algorithm::PS256));
        assert!(!k.allows(Algorithm::RS256));
        assert!(KeySet::parse(b"{}").is_err());
        assert!(KeySet::parse(b"nope").is_err());
    }

    #[test]
    fn url_source_refuses_plain_http_and_credentials() {
        assert!(HttpsFetcher::new("http://issuer.example/jwks", None).is_err());
        assert!(HttpsFetcher::new("https://u:p@issuer.example/jwks", None).is_err());
        assert!(HttpsFetcher::new("not a url", None).is_err());
    }

    #[tokio::test]
    async fn unreachable_url_fails_at_startup() {
        let dir = tempfile::tempdir().unwrap();
        let ca = dir.path().join("ca.pem");
        std::fs::write(&ca, "").unwrap();
        // An empty CA file gives no roots: refused before any connection.
        let e = KeySource::url(
            "https://127.0.0.1:9/jwks",
            Some(&ca),
            Duration::from_secs(60),
            Duration::from_secs(1),
        )
        .await
        .unwrap_err();
        assert!(e.contains("CA"), "{e}");
    }

    /// A local HTTPS server (test CA in `testdata/`, certificate for 127.0.0.1) serving
    /// whatever JWKS `body` holds.
    async fn serve_jwks(body: Arc<std::sync::Mutex<String>>) -> u16 {
        use rustls_pki_types::PrivateKeyDer;
        let certs = CertificateDer::pem_slice_iter(include_bytes!("testdata/jwks-server-cert.pem"))
            .collect::<Result<Vec<_>, _>>()
            .unwrap();
        let key =
            PrivateKeyDer::from_pem_slice(include_bytes!("testdata/jwks-server-key.pem")).unwrap();
        let cfg = rustls::ServerConfig::builder_with_provider(Arc::new(
            rustls::crypto::aws_lc_rs::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .unwrap();
        let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(cfg));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        tokio::spawn(async move {
            while let Ok((tcp, _)) = listener.accept().await {
                let acceptor = acceptor.clone();
                let body = body.clone();
                tokio::spawn(async move {
                    let Ok(tls) = acceptor.accept(tcp).await else {
                        return;
                    };
                    let svc = hyper::service::service_fn(move |_req| {
                        let b = body.lock().unwrap().clone();
                        async move {
                            Ok::<_, std::convert::Infallible>(hyper::Response::new(
                                http_body_util::Full::new(Bytes::from(b)),
                            ))
                        }
                    });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(hyper_util::rt::TokioIo::new(tls), svc)
                        .await;
                });
            }
        });
        port
    }

    #[tokio::test]
    async fn https_source_fetches_and_follows_rotation() {
        let dir = tempfile::tempdir().unwrap();
        let a = crate::auth::LocalIssuer::load_or_create(&dir.path().join("a"), "i").unwrap();
        let b = crate::auth::LocalIssuer::load_or_create(&dir.path().join("b"), "i").unwrap();
        let body = Arc::new(std::sync::Mutex::new(a.jwks().to_string()));
        let port = serve_jwks(body.clone()).await;
        let ca = dir.path().join("ca.pem");
        std::fs::write(&ca, include_str!("testdata/jwks-server-ca.pem")).unwrap();
        let url = format!("https://127.0.0.1:{port}/.well-known/jwks.json");
        let ks = KeySource::url(&url, Some(&ca), Duration::from_secs(3600), Duration::ZERO)
            .await
            .unwrap();
        assert!(ks.key(a.kid()).await.is_ok());
        *body.lock().unwrap() = b.jwks().to_string();
        assert!(ks.key(b.kid()).await.is_ok(), "unknown kid refetches");
        assert_eq!(ks.key(a.kid()).await.unwrap_err().code, Code::InvalidToken);
        // The server's certificate is not trusted by the system bundle: refused.
        let e = KeySource::url(&url, None, Duration::from_secs(1), Duration::ZERO)
            .await
            .unwrap_err();
        assert!(e.contains("fetching") || e.contains("CA"), "{e}");
    }
}
