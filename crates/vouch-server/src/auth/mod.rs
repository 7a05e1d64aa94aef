//! Authentication for `vouch serve`: who is asking, for which tenant, and proof that the
//! sender holds the key its token is bound to. An OpTok (JWT from the configured issuer) is
//! accepted only sender-constrained: by a DPoP proof (RFC 9449) or by the TLS client
//! certificate (RFC 8705). The result is a [`Principal`].
//!
//! Files: `jwt` (OpTok claims), `jwks` (key sources), `dpop` (proof checks), `mtls`
//! (certificate binding), `nonce` (stateless DPoP nonces), `replay` (proof `jti` cache),
//! `issuer` (the local dev issuer and a client DPoP key).
//!
//! It must never: accept a bearer-only token, accept a token or proof when a check could not
//! be made (a cache or key source failure refuses), or put a token, proof, key or secret into
//! an error, a log line or `Debug` output.

pub mod dpop;
pub mod issuer;
pub mod jwks;
pub mod jwt;
pub mod mtls;
pub mod nonce;
pub mod replay;

use std::path::PathBuf;
use std::time::Duration;

use axum::http::{HeaderMap, Method, header};
use jsonwebtoken::Algorithm;
use serde::Deserialize;
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

pub use issuer::{DpopKey, LocalIssuer, MintRequest};
pub use jwks::KeySource;
pub use replay::ReplayCache;

use crate::error::{ApiError, Code};

fn default_audience() -> String {
    "signer".into()
}
fn default_scope() -> String {
    "signer.sign".into()
}
fn default_tenant_claim() -> String {
    "tenant".into()
}
fn default_leeway() -> u64 {
    30
}
fn default_jwks_refresh() -> u64 {
    300
}
fn default_jwks_min_refetch() -> u64 {
    30
}
fn default_replay_prefix() -> String {
    "vouch:dpop-jti:".into()
}

/// `[auth]` in serve.toml.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuthConfig {
    /// The OpTok issuer (`iss`), compared exactly.
    pub issuer: String,
    #[serde(default = "default_audience")]
    pub audience: String,
    /// A JWKS file; exactly one of `jwks_file` and `jwks_url`.
    #[serde(default)]
    pub jwks_file: Option<PathBuf>,
    /// A JWKS `https://` URL.
    #[serde(default)]
    pub jwks_url: Option<String>,
    /// CA certificates (PEM) for `jwks_url`; the system bundle when unset.
    #[serde(default)]
    pub jwks_ca_file: Option<PathBuf>,
    /// The JWKS is reloaded this often, in seconds.
    #[serde(default = "default_jwks_refresh")]
    pub jwks_refresh_seconds: u64,
    /// An unknown `kid` reloads the JWKS at most once per this many seconds.
    #[serde(default = "default_jwks_min_refetch")]
    pub jwks_min_refetch_seconds: u64,
    #[serde(default = "default_leeway")]
    pub leeway_seconds: u64,
    /// The scope every request needs.
    #[serde(default = "default_scope")]
    pub scope: String,
    /// The claim that names the tenant.
    #[serde(default = "default_tenant_claim")]
    pub tenant_claim: String,
    #[serde(default)]
    pub sender_constraint: SenderConstraint,
    #[serde(default)]
    pub dpop: DpopConfig,
    #[serde(default)]
    pub step_up: StepUpConfig,
    /// The Redis key prefix of the replay cache.
    #[serde(default = "default_replay_prefix")]
    pub replay_key_prefix: String,
}

impl AuthConfig {
    /// A configuration with every default, for `issuer`.
    pub fn new(issuer: impl Into<String>) -> Self {
        AuthConfig {
            issuer: issuer.into(),
            audience: default_audience(),
            jwks_file: None,
            jwks_url: None,
            jwks_ca_file: None,
            jwks_refresh_seconds: default_jwks_refresh(),
            jwks_min_refetch_seconds: default_jwks_min_refetch(),
            leeway_seconds: default_leeway(),
            scope: default_scope(),
            tenant_claim: default_tenant_claim(),
            sender_constraint: SenderConstraint::default(),
            dpop: DpopConfig::default(),
            step_up: StepUpConfig::default(),
            replay_key_prefix: default_replay_prefix(),
        }
    }

    /// The key source the configuration names (exactly one of `jwks_file`, `jwks_url`).
    pub async fn key_source(&self) -> anyhow::Result<KeySource> {
        let refresh = Duration::from_secs(self.jwks_refresh_seconds);
        let min = Duration::from_secs(self.jwks_min_refetch_seconds);
        match (&self.jwks_file, &self.jwks_url) {
            (Some(f), None) => KeySource::file(f, refresh, min)
                .await
                .map_err(anyhow::Error::msg),
            (None, Some(u)) => KeySource::url(u, self.jwks_ca_file.as_deref(), refresh, min)
                .await
                .map_err(anyhow::Error::msg),
            _ => anyhow::bail!("[auth] needs exactly one of jwks_file and jwks_url"),
        }
    }
}

/// How tokens must be bound to their sender. Bearer-only tokens are never accepted.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SenderConstraint {
    Dpop,
    Mtls,
    #[default]
    DpopOrMtls,
}

impl SenderConstraint {
    fn allows_dpop(self) -> bool {
        matches!(self, SenderConstraint::Dpop | SenderConstraint::DpopOrMtls)
    }
    fn allows_mtls(self) -> bool {
        matches!(self, SenderConstraint::Mtls | SenderConstraint::DpopOrMtls)
    }
}

fn default_dpop_algs() -> Vec<Algorithm> {
    vec![
        Algorithm::ES256,
        Algorithm::ES384,
        Algorithm::EdDSA,
        Algorithm::PS256,
        Algorithm::RS256,
    ]
}
fn default_iat_window() -> u64 {
    60
}
fn default_true() -> bool {
    true
}
fn default_nonce_lifetime() -> u64 {
    300
}

/// `[auth.dpop]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DpopConfig {
    #[serde(default = "default_dpop_algs")]
    pub algorithms: Vec<Algorithm>,
    /// A proof's `iat` may be this many seconds from the server's clock, either way.
    #[serde(default = "default_iat_window")]
    pub iat_window_seconds: u64,
    #[serde(default = "default_true")]
    pub require_nonce: bool,
    /// The environment variable holding the nonce HMAC secret (at least 32 bytes), shared by
    /// all replicas. Unset: a random secret, valid for this process only.
    #[serde(default)]
    pub nonce_secret_env: Option<String>,
    #[serde(default = "default_nonce_lifetime")]
    pub nonce_lifetime_seconds: u64,
}

impl Default for DpopConfig {
    fn default() -> Self {
        DpopConfig {
            algorithms: default_dpop_algs(),
            iat_window_seconds: default_iat_window(),
            require_nonce: true,
            nonce_secret_env: None,
            nonce_lifetime_seconds: default_nonce_lifetime(),
        }
    }
}

impl DpopConfig {
    /// The nonce secret: from `nonce_secret_env`, or random when that is unset (then nonces
    /// are valid at this replica only).
    pub fn nonce_secret(&self) -> anyhow::Result<Zeroizing<Vec<u8>>> {
        match &self.nonce_secret_env {
            Some(var) => {
                let v = std::env::var(var)
                    .map_err(|_| anyhow::anyhow!("the environment variable {var} is not set"))?;
                let v = Zeroizing::new(v.into_bytes());
                if v.len() < nonce::MIN_SECRET_LEN {
                    anyhow::bail!(
                        "the nonce secret in {var} must be at least {} bytes",
                        nonce::MIN_SECRET_LEN
                    );
                }
                Ok(v)
            }
            None => {
                let mut s = Zeroizing::new(vec![0u8; 32]);
                aws_lc_rs::rand::fill(&mut s)
                    .map_err(|_| anyhow::anyhow!("no randomness for the nonce secret"))?;
                Ok(s)
            }
        }
    }
}

fn default_amr() -> Vec<String> {
    vec!["mfa".into(), "hwk".into(), "otp".into()]
}

/// `[auth.step_up]`: what counts as multi-factor authentication.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StepUpConfig {
    /// Any of these `acr` values satisfies step-up.
    #[serde(default)]
    pub acr_values: Vec<String>,
    /// Any of these in `amr` satisfies step-up.
    #[serde(default = "default_amr")]
    pub amr_values: Vec<String>,
}

impl Default for StepUpConfig {
    fn default() -> Self {
        StepUpConfig {
            acr_values: Vec::new(),
            amr_values: default_amr(),
        }
    }
}

/// How the token was bound to this request's sender.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Binding {
    /// A DPoP proof by the key with this RFC 7638 thumbprint.
    Dpop { jkt: String },
    /// The TLS client certificate with this SHA-256 thumbprint.
    Mtls { x5t_s256: String },
}

/// Who is asking, after authentication.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    pub subject: String,
    pub tenant: String,
    pub scopes: Vec<String>,
    /// The token's `jti`, when it has one.
    pub token_id: Option<String>,
    pub acr: Option<String>,
    pub amr: Vec<String>,
    pub binding: Binding,
}

/// What authentication looks at in a request.
#[derive(Debug, Clone, Copy)]
pub struct RequestFacts<'a> {
    pub method: &'a Method,
    /// The external URL of the request: `scheme://host[:port]/path` (a query is ignored).
    pub url: &'a str,
    pub headers: &'a HeaderMap,
    /// The DER client certificate of the TLS connection, if any.
    pub client_cert: Option<&'a [u8]>,
    /// Unix seconds.
    pub now: u64,
}

enum Scheme {
    Dpop,
    Bearer,
}

/// Checks OpToks and their sender constraint.
pub struct Authenticator {
    config: AuthConfig,
    keys: KeySource,
    replay: ReplayCache,
    nonces: nonce::NonceIssuer,
    verified: jwt::VerifiedTokens,
}

impl std::fmt::Debug for Authenticator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Authenticator")
            .field("config", &self.config)
            .field("keys", &self.keys)
            .field("replay", &self.replay)
            .field("nonces", &self.nonces)
            .finish()
    }
}

fn invalid_token(message: &str) -> ApiError {
    ApiError::new(Code::InvalidToken, message)
}

fn invalid_proof(message: &str) -> ApiError {
    ApiError::new(Code::InvalidDpopProof, message)
}

impl Authenticator {
    /// Refuses a configuration that could accept what it must not (symmetric DPoP algorithms,
    /// an empty algorithm list, a short nonce secret).
    pub fn new(
        config: AuthConfig,
        keys: KeySource,
        replay: ReplayCache,
        nonce_secret: &[u8],
    ) -> anyhow::Result<Self> {
        if config.dpop.algorithms.is_empty() {
            anyhow::bail!("[auth.dpop] algorithms is empty");
        }
        if config
            .dpop
            .algorithms
            .iter()
            .any(|a| dpop::is_symmetric(*a))
        {
            anyhow::bail!("[auth.dpop] algorithms may not name a symmetric (HS*) algorithm");
        }
        if config.issuer.is_empty() {
            anyhow::bail!("[auth] issuer is empty");
        }
        let nonces = nonce::NonceIssuer::new(nonce_secret, config.dpop.nonce_lifetime_seconds)
            .map_err(anyhow::Error::msg)?;
        Ok(Authenticator {
            config,
            keys,
            replay,
            nonces,
            verified: jwt::VerifiedTokens::default(),
        })
    }

    pub fn config(&self) -> &AuthConfig {
        &self.config
    }

    /// A fresh DPoP nonce (for `DPoP-Nonce`).
    pub fn fresh_nonce(&self, now: u64) -> String {
        self.nonces.issue(now)
    }

    fn access_token<'r>(&self, headers: &'r HeaderMap) -> Result<(Scheme, &'r str), ApiError> {
        let mut values = headers.get_all(header::AUTHORIZATION).iter();
        let value = values
            .next()
            .ok_or_else(|| invalid_token("no access token (Authorization header)"))?;
        if values.next().is_some() {
            return Err(invalid_token("more than one Authorization header"));
        }
        let value = value
            .to_str()
            .map_err(|_| invalid_token("the Authorization header is not ASCII"))?;
        let (scheme, token) = value
            .split_once(' ')
            .ok_or_else(|| invalid_token("the Authorization header has no scheme"))?;
        let token = token.trim_matches(' ');
        if token.is_empty() || token.contains(' ') {
            return Err(invalid_token("the Authorization header is malformed"));
        }
        let scheme = if scheme.eq_ignore_ascii_case("dpop") {
            Scheme::Dpop
        } else if scheme.eq_ignore_ascii_case("bearer") {
            Scheme::Bearer
        } else {
            return Err(invalid_token(
                "the Authorization scheme must be DPoP or Bearer",
            ));
        };
        Ok((scheme, token))
    }

    /// Authenticates one request: the token, then its binding to the sender.
    pub async fn authenticate(&self, req: &RequestFacts<'_>) -> Result<Principal, ApiError> {
        let (scheme, token) = self.access_token(req.headers)?;
        let cfg = &self.config;
        let rules = jwt::TokenRules {
            issuer: &cfg.issuer,
            audience: &cfg.audience,
            scope: &cfg.scope,
            tenant_claim: &cfg.tenant_claim,
            leeway_seconds: cfg.leeway_seconds,
        };
        let claims = jwt::verify_optok(token, &self.keys, &rules, req.now, &self.verified).await?;
        let mut proofs = req.headers.get_all("dpop").iter();
        let proof = proofs.next();
        let binding = match scheme {
            Scheme::Dpop => {
                if proofs.next().is_some() {
                    return Err(invalid_proof("more than one DPoP header"));
                }
                let Some(jkt) = claims.cnf_jkt.as_deref() else {
                    return Err(invalid_token(
                        "the token is not bound to a DPoP key (cnf.jkt)",
                    ));
                };
                if !cfg.sender_constraint.allows_dpop() {
                    return Err(invalid_token("DPoP-bound tokens are not accepted here"));
                }
                let proof = proof
                    .ok_or_else(|| invalid_proof("no DPoP proof"))?
                    .to_str()
                    .map_err(|_| invalid_proof("the DPoP header is not ASCII"))?;
                self.check_proof(proof, token, jkt, req).await?
            }
            Scheme::Bearer => {
                if proof.is_some() {
                    return Err(invalid_token(
                        "a DPoP proof needs the DPoP authorization scheme",
                    ));
                }
                if claims.cnf_jkt.is_some() {
                    return Err(invalid_token(
                        "a DPoP-bound token must be sent with the DPoP scheme",
                    ));
                }
                let Some(x5t) = claims.cnf_x5t_s256.as_deref() else {
                    return Err(invalid_token(
                        "bearer tokens are refused: the token must be sender-constrained",
                    ));
                };
                if !cfg.sender_constraint.allows_mtls() {
                    return Err(invalid_token(
                        "certificate-bound tokens are not accepted here",
                    ));
                }
                mtls::check_binding(x5t, req.client_cert)?;
                Binding::Mtls {
                    x5t_s256: x5t.to_owned(),
                }
            }
        };
        // A token bound to a certificate as well is checked against it whatever the scheme.
        if let (Binding::Dpop { .. }, Some(x5t)) = (&binding, claims.cnf_x5t_s256.as_deref()) {
            mtls::check_binding(x5t, req.client_cert)?;
        }
        Ok(Principal {
            subject: claims.subject,
            tenant: claims.tenant,
            scopes: claims.scopes,
            token_id: claims.jti,
            acr: claims.acr,
            amr: claims.amr,
            binding,
        })
    }

    async fn check_proof(
        &self,
        proof: &str,
        token: &str,
        jkt: &str,
        req: &RequestFacts<'_>,
    ) -> Result<Binding, ApiError> {
        let dcfg = &self.config.dpop;
        let verified = dpop::verify_proof(
            proof,
            &dpop::ProofRequest {
                method: req.method,
                url: req.url,
                access_token: Some(token),
                algorithms: &dcfg.algorithms,
                iat_window_seconds: dcfg.iat_window_seconds,
                now: req.now,
            },
        )?;
        if aws_lc_rs::constant_time::verify_slices_are_equal(
            verified.jkt.as_bytes(),
            jkt.as_bytes(),
        )
        .is_err()
        {
            return Err(invalid_proof(
                "the DPoP proof's key is not the one the token is bound to (cnf.jkt)",
            ));
        }
        let nonce_ok = match verified.nonce.as_deref() {
            Some(n) => self.nonces.verify(n, req.now).is_ok(),
            None => !dcfg.require_nonce,
        };
        if !nonce_ok {
            return Err(ApiError::new(
                Code::UseDpopNonce,
                "the DPoP proof needs a valid server nonce; use the one in DPoP-Nonce",
            )
            .with_dpop_nonce(self.fresh_nonce(req.now)));
        }
        // The replay key: jti per key, hashed so that its length is ours.
        let mut h = Sha256::new();
        h.update(verified.jkt.as_bytes());
        h.update([0u8]);
        h.update(verified.jti.as_bytes());
        let key = hex::encode(h.finalize());
        let ttl = Duration::from_secs(dcfg.iat_window_seconds.saturating_mul(2).saturating_add(1));
        if !self.replay.first_use(&key, ttl).await? {
            return Err(invalid_proof("the DPoP proof has been used before (jti)"));
        }
        Ok(Binding::Dpop { jkt: verified.jkt })
    }
}

/// The principal's token must carry `scope`; else `insufficient_scope`.
pub fn require_scope(principal: &Principal, scope: &str) -> Result<(), ApiError> {
    if principal.scopes.iter().any(|s| s == scope) {
        Ok(())
    } else {
        Err(ApiError::new(
            Code::InsufficientScope,
            format!("the token lacks the scope {scope}"),
        ))
    }
}

/// The tenant a request names must be the token's; else `insufficient_scope`.
pub fn require_tenant(principal: &Principal, tenant: &str) -> Result<(), ApiError> {
    if principal.tenant == tenant {
        Ok(())
    } else {
        Err(ApiError::new(
            Code::InsufficientScope,
            "the token is for another tenant",
        ))
    }
}

/// The token must show multi-factor authentication: an `acr` in `acr_values` or an `amr`
/// entry in `amr_values`; else `step_up_required`.
pub fn require_step_up(principal: &Principal, step_up: &StepUpConfig) -> Result<(), ApiError> {
    let acr_ok = principal
        .acr
        .as_ref()
        .is_some_and(|a| step_up.acr_values.contains(a));
    let amr_ok = principal.amr.iter().any(|m| step_up.amr_values.contains(m));
    if acr_ok || amr_ok {
        Ok(())
    } else {
        Err(ApiError::new(
            Code::StepUpRequired,
            "this needs multi-factor authentication (acr/amr)",
        ))
    }
}

#[cfg(test)]
mod tests;
