//! Proof of entitlement (PoE): before signing, the service asks the deployment's
//! introspection endpoint whether the tenant is entitled, and caches the answer.
//!
//! The protocol: `POST {url}` with `{"tenant": "..."}` (and `Authorization: Bearer` from
//! `token_env`), answered `200 {"entitled": true|false, "plan": "..."}`. A fresh answer
//! (younger than `refresh_seconds`) is used without asking again. When the endpoint cannot be
//! reached, the last answer is used until `ttl_seconds` after it was obtained; after that,
//! requests fail closed (`entitlement_denied`). The emergency bypass (config `bypass = true`
//! or the admin toggle) skips the check; every bypassed request is audited as `bypassed`.
//!
//! The cache lives in Redis when the service has one (all replicas share it), else in memory.
//! It must never turn "cannot ask" into "entitled" beyond the TTL.

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::error::{ApiError, Code};
use crate::http_client::HttpClient;

/// `[poe]` in serve.toml.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PoeConfig {
    /// The introspection endpoint.
    pub url: String,
    /// Environment variable holding the service's bearer token for the endpoint.
    #[serde(default)]
    pub token_env: Option<String>,
    /// A cached answer younger than this is used without asking [default: 60].
    #[serde(default = "default_refresh")]
    pub refresh_seconds: u64,
    /// During an outage, the last answer is used until this long after it was obtained
    /// [default: 900]; then requests fail closed.
    #[serde(default = "default_ttl")]
    pub ttl_seconds: u64,
    /// Timeout of one introspection call [default: 2000].
    #[serde(default = "default_timeout")]
    pub timeout_ms: u64,
    /// Emergency bypass at start-up (every bypassed request is audited).
    #[serde(default)]
    pub bypass: bool,
}

fn default_refresh() -> u64 {
    60
}
fn default_ttl() -> u64 {
    900
}
fn default_timeout() -> u64 {
    2000
}

/// How the entitlement was established, for the audit record and metrics.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PoeState {
    /// Asked the endpoint now.
    Fresh,
    /// A recent answer from the cache.
    Cached,
    /// The endpoint failed; the last answer (within its TTL) was used.
    Stale,
    /// The emergency bypass is on.
    Bypassed,
    /// No `[poe]` configured.
    NotConfigured,
    /// Refused: not entitled, or no usable answer.
    Denied,
}

impl PoeState {
    pub fn as_str(self) -> &'static str {
        match self {
            PoeState::Fresh => "fresh",
            PoeState::Cached => "cached",
            PoeState::Stale => "stale",
            PoeState::Bypassed => "bypassed",
            PoeState::NotConfigured => "not_configured",
            PoeState::Denied => "denied",
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Answer {
    entitled: bool,
    #[serde(default)]
    plan: Option<String>,
    /// Unix seconds when obtained.
    checked_at: u64,
}

#[derive(Deserialize)]
struct Wire {
    entitled: bool,
    #[serde(default)]
    plan: Option<String>,
}

/// Where answers are cached.
pub enum PoeCache {
    Memory(Mutex<HashMap<String, Answer>>),
    Redis {
        conn: redis::aio::ConnectionManager,
        prefix: String,
    },
}

/// The entitlement checker.
pub struct Entitlements {
    config: Option<PoeConfig>,
    cache: PoeCache,
    client: HttpClient,
    bypass: AtomicBool,
    /// Set when the last call to the endpoint failed (for /metrics and alerts).
    pub outage: AtomicBool,
}

impl std::fmt::Debug for Entitlements {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Entitlements")
            .field("configured", &self.config.is_some())
            .finish_non_exhaustive()
    }
}

/// A verdict that allows signing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entitled {
    pub state: PoeState,
    pub plan: Option<String>,
}

impl Entitlements {
    pub fn new(config: Option<PoeConfig>, cache: PoeCache, client: HttpClient) -> Self {
        let bypass = config.as_ref().is_some_and(|c| c.bypass);
        Entitlements {
            config,
            cache,
            client,
            bypass: AtomicBool::new(bypass),
            outage: AtomicBool::new(false),
        }
    }

    pub fn memory_cache() -> PoeCache {
        PoeCache::Memory(Mutex::new(HashMap::new()))
    }

    /// Turns the emergency bypass on or off (an audited admin action). With Redis the toggle
    /// is shared: every replica sees it at its next request.
    pub async fn set_bypass(&self, on: bool) -> Result<(), ApiError> {
        if let PoeCache::Redis { conn, prefix } = &self.cache {
            let mut c = conn.clone();
            redis::cmd("SET")
                .arg(format!("{prefix}poe-bypass"))
                .arg(if on { "1" } else { "0" })
                .query_async::<()>(&mut c)
                .await
                .map_err(|e| ApiError::unavailable(format!("redis: {e}")))?;
        }
        self.bypass.store(on, Ordering::SeqCst);
        Ok(())
    }

    /// Whether the bypass is on (the shared toggle when there is Redis, else this process's).
    pub async fn bypassed(&self) -> Result<bool, ApiError> {
        if let PoeCache::Redis { conn, prefix } = &self.cache {
            let mut c = conn.clone();
            let v: Option<String> = redis::cmd("GET")
                .arg(format!("{prefix}poe-bypass"))
                .query_async(&mut c)
                .await
                .map_err(|e| ApiError::unavailable(format!("redis: {e}")))?;
            if let Some(v) = v {
                return Ok(v == "1");
            }
        }
        Ok(self.bypass.load(Ordering::SeqCst))
    }

    /// Whether `tenant` may sign now. `Err` carries `entitlement_denied` (or `unavailable`
    /// when the cache itself cannot be read).
    pub async fn check(&self, tenant: &str, now: u64) -> Result<Entitled, ApiError> {
        let Some(config) = &self.config else {
            return Ok(Entitled {
                state: PoeState::NotConfigured,
                plan: None,
            });
        };
        if self.bypassed().await? {
            return Ok(Entitled {
                state: PoeState::Bypassed,
                plan: None,
            });
        }
        let cached = self.get(tenant).await?;
        if let Some(a) = &cached
            && now.saturating_sub(a.checked_at) < config.refresh_seconds
        {
            return verdict(a, PoeState::Cached, tenant);
        }
        match self.ask(config, tenant).await {
            Ok(wire) => {
                self.outage.store(false, Ordering::Relaxed);
                let a = Answer {
                    entitled: wire.entitled,
                    plan: wire.plan,
                    checked_at: now,
                };
                self.put(tenant, &a, config.ttl_seconds).await?;
                verdict(&a, PoeState::Fresh, tenant)
            }
            Err(why) => {
                self.outage.store(true, Ordering::Relaxed);
                tracing::warn!(tenant, error = %why, "PoE introspection failed");
                match cached {
                    Some(a) if now.saturating_sub(a.checked_at) < config.ttl_seconds => {
                        verdict(&a, PoeState::Stale, tenant)
                    }
                    _ => Err(ApiError::new(
                        Code::EntitlementDenied,
                        "entitlement cannot be established: the PoE endpoint is unavailable and no answer within its TTL is cached",
                    )),
                }
            }
        }
    }

    async fn ask(&self, config: &PoeConfig, tenant: &str) -> Result<Wire, String> {
        let token = config
            .token_env
            .as_deref()
            .and_then(|v| std::env::var(v).ok())
            .map(zeroize::Zeroizing::new);
        let body = serde_json::to_vec(&serde_json::json!({ "tenant": tenant }))
            .map_err(|e| e.to_string())?;
        let resp = self
            .client
            .send(
                hyper::Method::POST,
                &config.url,
                token.as_ref().map(|t| t.as_str()),
                Some(body),
                Duration::from_millis(config.timeout_ms),
            )
            .await?;
        if resp.status != 200 {
            return Err(format!("PoE endpoint answered HTTP {}", resp.status));
        }
        serde_json::from_slice::<Wire>(&resp.body)
            .map_err(|e| format!("PoE endpoint answer is not understood: {e}"))
    }

    async fn get(&self, tenant: &str) -> Result<Option<Answer>, ApiError> {
        match &self.cache {
            PoeCache::Memory(m) => Ok(m
                .lock()
                .map_err(|_| ApiError::internal("PoE cache lock poisoned"))?
                .get(tenant)
                .cloned()),
            PoeCache::Redis { conn, prefix } => {
                let mut c = conn.clone();
                let v: Option<String> = redis::cmd("GET")
                    .arg(format!("{prefix}poe:{tenant}"))
                    .query_async(&mut c)
                    .await
                    .map_err(|e| ApiError::unavailable(format!("redis: {e}")))?;
                Ok(v.and_then(|s| serde_json::from_str(&s).ok()))
            }
        }
    }

    async fn put(&self, tenant: &str, a: &Answer, ttl: u64) -> Result<(), ApiError> {
        match &self.cache {
            PoeCache::Memory(m) => {
                m.lock()
                    .map_err(|_| ApiError::internal("PoE cache lock poisoned"))?
                    .insert(tenant.to_string(), a.clone());
                Ok(())
            }
            PoeCache::Redis { conn, prefix } => {
                let mut c = conn.clone();
                let v = serde_json::to_string(a).map_err(|e| ApiError::internal(e.to_string()))?;
                redis::cmd("SET")
                    .arg(format!("{prefix}poe:{tenant}"))
                    .arg(v)
                    .arg("EX")
                    .arg(ttl.max(1))
                    .query_async::<()>(&mut c)
                    .await
                    .map_err(|e| ApiError::unavailable(format!("redis: {e}")))
            }
        }
    }
}

fn verdict(a: &Answer, state: PoeState, tenant: &str) -> Result<Entitled, ApiError> {
    if a.entitled {
        Ok(Entitled {
            state,
            plan: a.plan.clone(),
        })
    } else {
        Err(ApiError::new(
            Code::EntitlementDenied,
            format!("tenant `{tenant}` is not entitled to signing"),
        ))
    }
}
