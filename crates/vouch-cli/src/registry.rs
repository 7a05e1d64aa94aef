//! The network side of `vouch-oci`'s [`Registry`] trait: the OCI distribution API through
//! the maintained `oci-client` crate (rustls, no OpenSSL), with
//!
//! - credentials from `--registry-username` / `--registry-password` (the password also from
//!   `VOUCH_REGISTRY_PASSWORD`, never echoed or logged), else Docker's config
//!   (`$DOCKER_CONFIG/config.json`, default `~/.docker/config.json`): `credHelpers`,
//!   `auths` (`auth` = base64 `user:password`, or an `identitytoken`, which is exchanged for
//!   an access token at the registry's token endpoint as Docker does), then `credsStore`,
//!   through the `docker-credential-<name> get` helper protocol;
//! - plain HTTP only for loopback registries or with `--allow-insecure-registry`;
//! - bounded retries with exponential backoff for 429, 5xx and connection errors (a blob
//!   is retried only before its first byte was handed on, so a retry never duplicates data).
//!
//! The client is synchronous to its callers: it owns a current-thread tokio runtime and blocks
//! on each request (see `vouch-oci`'s registry module for why the trait is synchronous).
//! Digests are not trusted here: `vouch-oci` checks every one.

use std::io::Write;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Result, anyhow};
use base64::Engine as _;
use clap::Args;
use futures_util::StreamExt as _;
use oci_client::client::{ClientConfig, ClientProtocol};
use oci_client::errors::{OciDistributionError, OciErrorCode};
use oci_client::secrets::RegistryAuth;
use oci_client::{Client, RegistryOperation};
use vouch_core::InputError;
use vouch_oci::{Digest, RawManifest, Reference, Registry, RegistryError};

/// Registry flags shared by every command that takes an image.
#[derive(Debug, Clone, Args, Default)]
pub struct RegistryArgs {
    /// Registry user name (else Docker's config.json and credential helpers).
    #[arg(
        long,
        value_name = "USER",
        env = "VOUCH_REGISTRY_USERNAME",
        requires = "registry_password"
    )]
    pub registry_username: Option<String>,
    /// Registry password or token; prefer the VOUCH_REGISTRY_PASSWORD environment variable,
    /// which other users of the machine cannot read from the process list.
    #[arg(
        long,
        value_name = "PASSWORD",
        env = "VOUCH_REGISTRY_PASSWORD",
        hide_env_values = true
    )]
    pub registry_password: Option<String>,
    /// Allow plain HTTP to a registry that is not on a loopback address.
    #[arg(long)]
    pub allow_insecure_registry: bool,
    /// Select one platform of a multi-platform image (`linux/arm64`, `linux/arm/v7`); without
    /// it an index is signed or verified as a whole.
    #[arg(long, value_name = "OS/ARCH[/VARIANT]")]
    pub platform: Option<String>,
}

const ATTEMPTS: u32 = 4;

/// A registry over HTTP(S).
pub struct HttpRegistry {
    client: Client,
    http: reqwest::Client,
    auth: RegistryAuth,
    scheme: &'static str,
    runtime: tokio::runtime::Runtime,
}

/// Whether `registry` (host[:port]) is a loopback address.
pub fn is_loopback(registry: &str) -> bool {
    let host = match registry.strip_prefix('[') {
        Some(rest) => rest.split(']').next().unwrap_or(""),
        None => registry.rsplit_once(':').map_or(registry, |(h, _)| h),
    };
    host == "localhost"
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

impl HttpRegistry {
    /// A client for the registry of `image`.
    pub fn new(image: &Reference, args: &RegistryArgs) -> Result<HttpRegistry> {
        let plain = is_loopback(&image.registry) || args.allow_insecure_registry;
        let config = ClientConfig {
            protocol: if plain {
                ClientProtocol::HttpsExcept(vec![image.registry.clone()])
            } else {
                ClientProtocol::Https
            },
            connect_timeout: Some(Duration::from_secs(15)),
            read_timeout: Some(Duration::from_secs(60)),
            ..ClientConfig::default()
        };
        let client = Client::try_from(config).map_err(|e| anyhow!("registry client: {e}"))?;
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(15))
            .build()
            .map_err(|e| anyhow!("registry client: {e}"))?;
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| anyhow!("registry client runtime: {e}"))?;
        let scheme = if plain { "http" } else { "https" };
        let credentials = match (&args.registry_username, &args.registry_password) {
            (Some(u), Some(p)) => Credentials::Basic(u.clone(), p.clone()),
            (None, Some(_)) => {
                return Err(anyhow!(
                    InputError::new("--registry-password without --registry-username")
                        .with_hint("give both, or neither to use Docker's config.json")
                ));
            }
            _ => docker_credentials(&image.registry)?,
        };
        let mut me = HttpRegistry {
            client,
            http,
            auth: RegistryAuth::Anonymous,
            scheme,
            runtime,
        };
        me.auth = match credentials {
            Credentials::None => RegistryAuth::Anonymous,
            Credentials::Basic(u, p) => RegistryAuth::Basic(u, p),
            Credentials::IdentityToken(t) => {
                RegistryAuth::Bearer(me.exchange_identity_token(image, &t)?)
            }
        };
        let r = me.oci_ref(image, "latest");
        let auth = me.auth.clone();
        me.runtime
            .block_on(me.client.store_auth_if_needed(r.resolve_registry(), &auth));
        Ok(me)
    }

    fn oci_ref(&self, repo: &Reference, target: &str) -> oci_client::Reference {
        let registry = repo.registry.clone();
        let repository = repo.repository.clone();
        if Digest::parse(target).is_some() {
            oci_client::Reference::with_digest(registry, repository, target.to_string())
        } else {
            oci_client::Reference::with_tag(registry, repository, target.to_string())
        }
    }

    /// Runs `op` until it succeeds, fails for good, or the attempts are used up.
    fn retry<T>(
        &self,
        what: &str,
        mut op: impl FnMut() -> std::result::Result<T, OciDistributionError>,
    ) -> std::result::Result<T, RegistryError> {
        let mut attempt = 0;
        loop {
            attempt += 1;
            match op() {
                Ok(v) => return Ok(v),
                Err(e) if attempt < ATTEMPTS && transient(&e) => {
                    std::thread::sleep(Duration::from_millis(250 << (attempt - 1)));
                }
                Err(e) => return Err(classify(what, &e)),
            }
        }
    }

    /// Docker's identity token is an OAuth2 refresh token: exchanged at the realm the
    /// registry's `WWW-Authenticate` challenge names for an access token (push and pull).
    fn exchange_identity_token(&self, image: &Reference, token: &str) -> Result<String> {
        let url = format!("{}://{}/v2/", self.scheme, registry_host(&image.registry));
        let challenge = self.runtime.block_on(async {
            let res = self.http.get(&url).send().await?;
            Ok::<_, reqwest::Error>(
                res.headers()
                    .get(reqwest::header::WWW_AUTHENTICATE)
                    .and_then(|v| v.to_str().ok())
                    .map(str::to_string),
            )
        });
        let challenge = challenge.map_err(|e| anyhow!("{url}: {e}"))?;
        let Some(challenge) = challenge.filter(|c| c.to_ascii_lowercase().starts_with("bearer "))
        else {
            return Err(anyhow!(
                "{}: Docker's config has an identity token, but the registry asks for no bearer token",
                image.registry
            ));
        };
        let param = |name: &str| -> Option<String> {
            let key = format!("{name}=\"");
            let start = challenge.find(&key)? + key.len();
            let end = challenge[start..].find('"')? + start;
            Some(challenge[start..end].to_string())
        };
        let realm = param("realm")
            .ok_or_else(|| anyhow!("{}: the bearer challenge names no realm", image.registry))?;
        let form = [
            ("grant_type", "refresh_token".to_string()),
            ("refresh_token", token.to_string()),
            ("service", param("service").unwrap_or_default()),
            (
                "scope",
                format!("repository:{}:pull,push", image.repository),
            ),
            ("client_id", "vouch".to_string()),
        ];
        let body = form
            .iter()
            .map(|(k, v)| {
                format!(
                    "{k}={}",
                    url::form_urlencoded::byte_serialize(v.as_bytes()).collect::<String>()
                )
            })
            .collect::<Vec<_>>()
            .join("&");
        let answer = self.runtime.block_on(async {
            let res = self
                .http
                .post(&realm)
                .header(
                    reqwest::header::CONTENT_TYPE,
                    "application/x-www-form-urlencoded",
                )
                .body(body)
                .send()
                .await?;
            let status = res.status();
            Ok::<_, reqwest::Error>((status, res.bytes().await?))
        });
        let (status, bytes) = answer.map_err(|e| anyhow!("{realm}: {e}"))?;
        if !status.is_success() {
            return Err(anyhow!(
                "{realm}: the token endpoint refused the identity token ({status})"
            ));
        }
        let v: serde_json::Value = serde_json::from_slice(&bytes)
            .map_err(|e| anyhow!("{realm}: not a token answer: {e}"))?;
        v.get("access_token")
            .or_else(|| v.get("token"))
            .and_then(|t| t.as_str())
            .map(str::to_string)
            .ok_or_else(|| anyhow!("{realm}: the token answer has no access_token"))
    }

    /// The `Authorization` header for a raw request (the referrers probe).
    fn authorization(&self, r: &oci_client::Reference) -> Option<String> {
        match &self.auth {
            RegistryAuth::Basic(u, p) => Some(format!(
                "Basic {}",
                base64::engine::general_purpose::STANDARD.encode(format!("{u}:{p}"))
            )),
            auth => {
                let token = self
                    .runtime
                    .block_on(self.client.auth(r, auth, RegistryOperation::Pull))
                    .ok()
                    .flatten()?;
                Some(format!("Bearer {token}"))
            }
        }
    }
}

/// The host oci-client talks to for `registry` (Docker Hub's API host).
fn registry_host(registry: &str) -> &str {
    if registry == vouch_oci::reference::DOCKER_HUB {
        "index.docker.io"
    } else {
        registry
    }
}

fn transient(e: &OciDistributionError) -> bool {
    match e {
        OciDistributionError::ServerError { code, .. } => *code == 429 || *code >= 500,
        OciDistributionError::RequestError(r) => {
            r.is_connect()
                || r.is_timeout()
                || r.status()
                    .is_some_and(|s| s.as_u16() == 429 || s.is_server_error())
        }
        OciDistributionError::RegistryError { envelope, .. } => envelope
            .errors
            .iter()
            .any(|x| matches!(x.code, OciErrorCode::Toomanyrequests)),
        _ => false,
    }
}

fn classify(what: &str, e: &OciDistributionError) -> RegistryError {
    let msg = format!("{what}: {e}");
    match e {
        OciDistributionError::ImageManifestNotFoundError(_) => RegistryError::NotFound(msg),
        OciDistributionError::ServerError { code: 404, .. } => RegistryError::NotFound(msg),
        OciDistributionError::ServerError {
            code: 401 | 403, ..
        }
        | OciDistributionError::UnauthorizedError { .. }
        | OciDistributionError::AuthenticationFailure(_) => RegistryError::Unauthorized(msg),
        OciDistributionError::RegistryError { envelope, .. } => {
            if envelope.errors.iter().any(|x| {
                matches!(
                    x.code,
                    OciErrorCode::ManifestUnknown
                        | OciErrorCode::BlobUnknown
                        | OciErrorCode::NameUnknown
                        | OciErrorCode::NotFound
                )
            }) {
                RegistryError::NotFound(msg)
            } else if envelope
                .errors
                .iter()
                .any(|x| matches!(x.code, OciErrorCode::Unauthorized | OciErrorCode::Denied))
            {
                RegistryError::Unauthorized(msg)
            } else {
                RegistryError::Other(msg)
            }
        }
        // oci-client checks digests too; a mismatch it finds is the same integrity failure
        // vouch-oci would report.
        OciDistributionError::DigestError(_) => RegistryError::Corrupt(msg),
        _ => RegistryError::Other(msg),
    }
}

impl Registry for HttpRegistry {
    fn get_manifest(
        &self,
        repo: &Reference,
        target: &str,
    ) -> std::result::Result<RawManifest, RegistryError> {
        let r = self.oci_ref(repo, target);
        let (bytes, _) = self.retry(
            &format!("{repo_name}:{target}", repo_name = repo.name()),
            || {
                self.runtime.block_on(self.client.pull_manifest_raw(
                    &r,
                    &self.auth,
                    vouch_oci::registry::accepted_media_types(),
                ))
            },
        )?;
        Ok(RawManifest {
            bytes: bytes.to_vec(),
            content_type: None,
        })
    }

    fn put_manifest(
        &self,
        repo: &Reference,
        target: &str,
        media_type: &str,
        bytes: &[u8],
    ) -> std::result::Result<(), RegistryError> {
        let r = self.oci_ref(repo, target);
        let ct = reqwest::header::HeaderValue::from_str(media_type)
            .map_err(|e| RegistryError::Other(format!("media type {media_type}: {e}")))?;
        let body = bytes::Bytes::copy_from_slice(bytes);
        self.retry(
            &format!("pushing manifest {}:{target}", repo.name()),
            || {
                self.runtime.block_on(async {
                    self.client
                        .auth(&r, &self.auth, RegistryOperation::Push)
                        .await?;
                    self.client
                        .push_manifest_raw(&r, body.clone(), ct.clone())
                        .await
                })
            },
        )?;
        Ok(())
    }

    fn get_blob(
        &self,
        repo: &Reference,
        digest: &Digest,
        sink: &mut dyn Write,
    ) -> std::result::Result<u64, RegistryError> {
        let r = self.oci_ref(repo, digest.as_str());
        let what = format!("{}@{digest}", repo.name());
        let mut stream = self.retry(&what, || {
            self.runtime
                .block_on(self.client.pull_blob_stream(&r, digest.as_str()))
        })?;
        let mut written = 0u64;
        loop {
            let next = self.runtime.block_on(stream.next());
            let Some(chunk) = next else { break };
            let chunk = chunk.map_err(|e| {
                if e.to_string().to_ascii_lowercase().contains("digest") {
                    RegistryError::Corrupt(format!("{what}: {e}"))
                } else {
                    RegistryError::Other(format!("{what}: {e}"))
                }
            })?;
            sink.write_all(&chunk)
                .map_err(|e| RegistryError::Other(format!("{what}: {e}")))?;
            written = written.saturating_add(chunk.len() as u64);
        }
        Ok(written)
    }

    fn put_blob(
        &self,
        repo: &Reference,
        digest: &Digest,
        bytes: &[u8],
    ) -> std::result::Result<(), RegistryError> {
        let r = self.oci_ref(repo, digest.as_str());
        let what = format!("uploading {}@{digest}", repo.name());
        let body = bytes::Bytes::copy_from_slice(bytes);
        self.retry(&what, || {
            self.runtime.block_on(async {
                self.client
                    .auth(&r, &self.auth, RegistryOperation::Push)
                    .await?;
                if self.client.blob_exists(&r, digest.as_str()).await? {
                    return Ok(());
                }
                self.client
                    .push_blob(&r, body.clone(), digest.as_str())
                    .await
                    .map(|_| ())
            })
        })
    }

    fn referrers(
        &self,
        repo: &Reference,
        digest: &Digest,
    ) -> std::result::Result<Option<Vec<u8>>, RegistryError> {
        let r = self.oci_ref(repo, digest.as_str());
        let url = format!(
            "{}://{}/v2/{}/referrers/{digest}",
            self.scheme,
            registry_host(&repo.registry),
            repo.repository
        );
        let authorization = self.authorization(&r);
        let mut attempt = 0;
        loop {
            attempt += 1;
            let answer = self.runtime.block_on(async {
                let mut req = self
                    .http
                    .get(&url)
                    .header(reqwest::header::ACCEPT, vouch_oci::manifest::OCI_INDEX);
                if let Some(a) = &authorization {
                    req = req.header(reqwest::header::AUTHORIZATION, a);
                }
                let res = req.send().await?;
                let status = res.status();
                Ok::<_, reqwest::Error>((status, res.bytes().await?))
            });
            let retry = match &answer {
                Ok((s, _)) => s.as_u16() == 429 || s.is_server_error(),
                Err(e) => e.is_connect() || e.is_timeout(),
            };
            if retry && attempt < ATTEMPTS {
                std::thread::sleep(Duration::from_millis(250 << (attempt - 1)));
                continue;
            }
            let (status, body) = answer.map_err(|e| RegistryError::Other(format!("{url}: {e}")))?;
            return match status.as_u16() {
                200 => {
                    let is_index = matches!(
                        vouch_oci::manifest::Manifest::parse(
                            &body,
                            Some(vouch_oci::manifest::OCI_INDEX)
                        ),
                        Ok(vouch_oci::manifest::Manifest::Index(_))
                    );
                    Ok(is_index.then(|| body.to_vec()))
                }
                // No referrers API: 404 as the spec says, or what older registries answer for
                // an unknown route.
                400 | 404 | 405 | 501 => Ok(None),
                401 | 403 => Err(RegistryError::Unauthorized(format!("{url}: {status}"))),
                _ => Err(RegistryError::Other(format!("{url}: {status}"))),
            };
        }
    }

    fn list_tags(&self, repo: &Reference) -> std::result::Result<Vec<String>, RegistryError> {
        let r = self.oci_ref(repo, "latest");
        let tags = self.retry(&format!("{} tags", repo.name()), || {
            self.runtime
                .block_on(self.client.list_tags(&r, &self.auth, None, None))
        })?;
        Ok(tags.tags)
    }
}

/// Credentials for one registry.
enum Credentials {
    None,
    Basic(String, String),
    IdentityToken(String),
}

fn docker_config_path() -> Option<PathBuf> {
    match std::env::var_os("DOCKER_CONFIG") {
        Some(d) => Some(PathBuf::from(d).join("config.json")),
        None => std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".docker/config.json")),
    }
}

/// The keys Docker's config may use for `registry`.
fn config_keys(registry: &str) -> Vec<String> {
    if registry == vouch_oci::reference::DOCKER_HUB {
        [
            "https://index.docker.io/v1/",
            "index.docker.io",
            "docker.io",
            "registry-1.docker.io",
        ]
        .into_iter()
        .map(str::to_string)
        .collect()
    } else {
        vec![registry.to_string()]
    }
}

/// `https://host/v1/` → `host`.
fn config_host(key: &str) -> &str {
    let k = key
        .strip_prefix("https://")
        .or_else(|| key.strip_prefix("http://"))
        .unwrap_or(key);
    k.split('/').next().unwrap_or(k)
}

fn docker_credentials(registry: &str) -> Result<Credentials> {
    let Some(path) = docker_config_path() else {
        return Ok(Credentials::None);
    };
    let bytes = match std::fs::read(&path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Credentials::None),
        Err(e) => {
            return Err(anyhow!(InputError::in_file(
                &path,
                format!("cannot read: {e}")
            )));
        }
    };
    let config: serde_json::Value = serde_json::from_slice(&bytes)
        .map_err(|e| anyhow!(InputError::in_file(&path, format!("not JSON: {e}"))))?;
    let keys = config_keys(registry);
    let hosts: Vec<&str> = keys.iter().map(|k| config_host(k)).collect();
    if let Some(helpers) = config.get("credHelpers").and_then(|v| v.as_object())
        && let Some(helper) = helpers
            .iter()
            .find(|(k, _)| hosts.contains(&config_host(k)))
            .and_then(|(_, v)| v.as_str())
    {
        return credential_helper(helper, &keys[0]);
    }
    if let Some(auths) = config.get("auths").and_then(|v| v.as_object())
        && let Some(entry) = auths
            .iter()
            .find(|(k, _)| hosts.contains(&config_host(k)))
            .map(|(_, v)| v)
    {
        if let Some(t) = entry
            .get("identitytoken")
            .and_then(|v| v.as_str())
            .filter(|t| !t.is_empty())
        {
            return Ok(Credentials::IdentityToken(t.to_string()));
        }
        if let Some(a) = entry
            .get("auth")
            .and_then(|v| v.as_str())
            .filter(|a| !a.is_empty())
        {
            let decoded = base64::engine::general_purpose::STANDARD
                .decode(a.trim())
                .ok()
                .and_then(|d| String::from_utf8(d).ok())
                .ok_or_else(|| {
                    anyhow!(InputError::in_file(
                        &path,
                        format!("auths.{registry}.auth is not base64 of user:password")
                    ))
                })?;
            let (u, p) = decoded.split_once(':').ok_or_else(|| {
                anyhow!(InputError::in_file(
                    &path,
                    format!("auths.{registry}.auth is not user:password")
                ))
            })?;
            return Ok(Credentials::Basic(u.to_string(), p.to_string()));
        }
        if let (Some(u), Some(p)) = (
            entry.get("username").and_then(|v| v.as_str()),
            entry.get("password").and_then(|v| v.as_str()),
        ) {
            return Ok(Credentials::Basic(u.to_string(), p.to_string()));
        }
    }
    if let Some(store) = config
        .get("credsStore")
        .and_then(|v| v.as_str())
        .filter(|s| !s.is_empty())
    {
        return credential_helper(store, &keys[0]);
    }
    Ok(Credentials::None)
}

/// `docker-credential-<helper> get`: the server URL on stdin, `{"Username","Secret"}` on
/// stdout; a helper that has nothing for the server means anonymous access.
fn credential_helper(helper: &str, server: &str) -> Result<Credentials> {
    if helper.is_empty()
        || !helper
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'.')
    {
        return Err(anyhow!(InputError::new(format!(
            "`{helper}` is not a credential helper name"
        ))));
    }
    let program = format!("docker-credential-{helper}");
    let mut child = std::process::Command::new(&program)
        .arg("get")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .map_err(|e| {
            anyhow!(
                InputError::new(format!("cannot run {program}: {e}")).with_hint(
                    "install the helper Docker's config.json names, or pass --registry-username"
                )
            )
        })?;
    if let Some(mut stdin) = child.stdin.take() {
        let _ = stdin.write_all(server.as_bytes());
    }
    let out = child
        .wait_with_output()
        .map_err(|e| anyhow!("{program}: {e}"))?;
    if !out.status.success() {
        let said = String::from_utf8_lossy(&out.stdout).to_ascii_lowercase();
        if said.contains("credentials not found") {
            return Ok(Credentials::None);
        }
        return Err(anyhow!("{program} get failed ({})", out.status));
    }
    let v: serde_json::Value = serde_json::from_slice(&out.stdout)
        .map_err(|_| anyhow!("{program} get: the answer is not JSON"))?;
    let user = v
        .get("Username")
        .and_then(|x| x.as_str())
        .unwrap_or_default();
    let secret = v.get("Secret").and_then(|x| x.as_str()).unwrap_or_default();
    Ok(match (user, secret) {
        (_, "") => Credentials::None,
        ("<token>", t) => Credentials::IdentityToken(t.to_string()),
        (u, s) => Credentials::Basic(u.to_string(), s.to_string()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_hosts() {
        assert!(is_loopback("127.0.0.1:5000"));
        assert!(is_loopback("localhost:5000"));
        assert!(is_loopback("[::1]:5000"));
        assert!(!is_loopback("registry.example.com"));
        assert!(!is_loopback("10.0.0.1:5000"));
    }

    #[test]
    fn config_hosts() {
        assert_eq!(
            config_host("https://index.docker.io/v1/"),
            "index.docker.io"
        );
        assert_eq!(config_host("127.0.0.1:5000"), "127.0.0.1:5000");
    }
}
