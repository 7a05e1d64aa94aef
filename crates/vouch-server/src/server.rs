//! Starting the service from a [`ServeConfig`]: connects the shared state (PostgreSQL, Redis),
//! opens the keys, the log and the audit store, builds the router and serves it.
//!
//! Everything that can be checked at start-up is: an unusable key, trust file, TLS
//! certificate or database is a start-up error, not a refusal discovered by the first client.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::sync::oneshot;
use vouch_tlog::index::Index;
use vouch_tlog::log::{self as tlog, Log};
use vouch_tlog::sequencer::{BatchConfig, Sequencer};

use crate::audit::AuditStore;
use crate::auth::{Authenticator, ReplayCache};
use crate::config::ServeConfig;
use crate::http_client::HttpClient;
use crate::keys::KeyRing;
use crate::metrics::Metrics;
use crate::poe::{Entitlements, PoeCache};
use crate::quota::{QuotaBackend, Quotas};
use crate::scanner::ScannerTrust;
use crate::service::{Service, ServiceLog};

/// Why the service could not start.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct StartError(pub String);

fn err(what: &str) -> impl Fn(String) -> StartError + '_ {
    move |e| StartError(format!("{what}: {e}"))
}

/// A running service.
pub struct Running {
    /// The address it listens on.
    pub addr: SocketAddr,
    /// The base URL clients use.
    pub base_url: String,
    pub service: Arc<Service>,
    stop: Option<oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<std::io::Result<()>>,
}

impl Running {
    /// Stops accepting connections and waits for the accept loop to end.
    pub async fn stop(mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        let _ = (&mut self.task).await;
    }

    /// Serves until the accept loop ends (ctrl-c is the caller's to wire to [`Running::stop`]).
    pub async fn wait(self) -> std::io::Result<()> {
        match self.task.await {
            Ok(r) => r,
            Err(e) => Err(std::io::Error::other(e.to_string())),
        }
    }
}

/// The start of every `validFor` this instance publishes: its keys are its own, so any time
/// before they existed will do.
const VALID_FROM: &str = "2020-01-01T00:00:00Z";

/// The CT log's origin: the external URL's host + `/ct`.
fn ct_origin(config: &ServeConfig) -> String {
    let host = config
        .external_url
        .split_once("://")
        .map(|(_, r)| r)
        .unwrap_or(&config.external_url);
    format!("{}/ct", host.trim_end_matches('/'))
}

/// Opens (creating on first start) the service's log and starts its batching sequencer.
/// Runs on a blocking thread: the PostgreSQL index client has a runtime of its own.
fn open_log(config: &ServeConfig) -> Result<(ServiceLog, serde_json::Value), StartError> {
    let dir = config.log_dir();
    let index = |create: bool| -> Result<Option<Box<dyn Index>>, StartError> {
        let _ = create;
        match &config.database_url {
            None => Ok(None),
            Some(url) => {
                let schema = format!("{}_log", config.database_schema);
                let i = vouch_tlog::index_pg::PgIndex::connect(url, &schema)
                    .map_err(|e| StartError(format!("the log's PostgreSQL index: {e}")))?;
                Ok(Some(Box::new(i)))
            }
        }
    };
    if !dir.join("checkpoint").exists() {
        std::fs::create_dir_all(dir.parent().unwrap_or(&dir))
            .map_err(|e| StartError(format!("{}: {e}", dir.display())))?;
        tlog::init_with_index(&dir, &config.log_origin(), None, index(true)?)
            .map_err(|e| StartError(format!("cannot create the log in {}: {e}", dir.display())))?;
    }
    let log = Log::open_with_index(&dir, None, index(false)?)
        .map_err(|e| StartError(format!("cannot open the log in {}: {e}", dir.display())))?;
    let key = log.verifier();
    let origin = log.origin().to_string();
    let root = vouch_tlog::rekor::trusted_root_json(&key, VALID_FROM)
        .ok_or_else(|| StartError("the log's key is not Ed25519".into()))?;
    let sequencer = Sequencer::start(
        log,
        BatchConfig {
            max_batch: 256,
            max_delay: Duration::from_millis(config.log.batch_max_delay_ms),
            idle: Duration::from_millis(2),
        },
    );
    Ok((
        ServiceLog {
            sequencer,
            key,
            origin,
        },
        root,
    ))
}

/// Builds the service (without serving it).
pub async fn build(
    config: ServeConfig,
    auth_extra: Option<AuthExtra>,
) -> Result<Service, StartError> {
    std::fs::create_dir_all(&config.data_dir)
        .map_err(|e| StartError(format!("{}: {e}", config.data_dir.display())))?;
    let redis = match &config.redis_url {
        None => None,
        Some(url) => {
            let client = redis::Client::open(url.as_str())
                .map_err(|e| StartError(format!("redis_url: {e}")))?;
            Some(
                client
                    .get_connection_manager()
                    .await
                    .map_err(|e| StartError(format!("cannot connect to Redis: {e}")))?,
            )
        }
    };
    let prefix = config.redis_prefix.clone();
    let audit = match &config.database_url {
        Some(url) => AuditStore::open_postgres(url, &config.database_schema)
            .await
            .map_err(|e| StartError(format!("the audit database: {}", e.message)))?,
        None => AuditStore::open_sqlite(&config.data_dir.join("audit.db"))
            .await
            .map_err(|e| StartError(format!("the audit database: {}", e.message)))?,
    };
    let quotas = Quotas::new(
        config.quota.clone(),
        match &redis {
            Some(conn) => QuotaBackend::Redis {
                conn: conn.clone(),
                prefix: format!("{prefix}quota"),
            },
            None => QuotaBackend::memory(),
        },
    );
    let replay = match &redis {
        Some(conn) => ReplayCache::redis(conn.clone(), format!("{prefix}dpop-jti:")),
        None => ReplayCache::memory(1_000_000),
    };
    let client = HttpClient::new().map_err(err("HTTP client"))?;
    let nonce_secret = match auth_extra {
        Some(x) => x.nonce_secret,
        None => config
            .auth
            .dpop
            .nonce_secret()
            .map_err(|e| StartError(format!("[auth.dpop]: {e}")))?,
    };
    let jwks = config
        .auth
        .key_source()
        .await
        .map_err(|e| StartError(format!("[auth]: {e}")))?;
    let auth = Authenticator::new(config.auth.clone(), jwks, replay, &nonce_secret)
        .map_err(|e| StartError(format!("[auth]: {e}")))?;
    let step_up = config.auth.step_up.clone();
    let keys = KeyRing::open(&config.data_dir, &config.tenants)
        .map_err(|e| StartError(format!("keys: {}", e.message)))?;
    let poe = Entitlements::new(
        config.poe.clone(),
        match &redis {
            Some(conn) => PoeCache::Redis {
                conn: conn.clone(),
                prefix: prefix.clone(),
            },
            None => Entitlements::memory_cache(),
        },
        client,
    );
    let scanner = config
        .scanner
        .clone()
        .map(ScannerTrust::new)
        .transpose()
        .map_err(err("[scanner]"))?;
    let log_config = config.clone();
    let (log, trusted_root) = tokio::task::spawn_blocking(move || open_log(&log_config))
        .await
        .map_err(|e| StartError(format!("log: {e}")))??;
    let keyless = match &config.keyless {
        Some(k) => {
            let pg = config
                .database_url
                .clone()
                .map(|url| (url, format!("{}_ct", config.database_schema)));
            Some(crate::keyless::build(k, &config.data_dir, &ct_origin(&config), pg).await?)
        }
        None => None,
    };
    let empty = crate::keyless::trust::KeylessTrust::default();
    let keyless_trust = keyless.as_ref().map(|k| &k.trust).unwrap_or(&empty);
    let trusted_root = crate::keyless::trust::trusted_root(
        &trusted_root,
        &config.external_url,
        keyless_trust,
        VALID_FROM,
    );
    let trust_config = crate::keyless::trust::client_trust_config(
        &trusted_root,
        &config.external_url,
        keyless_trust,
        keyless
            .as_ref()
            .map(|k| k.operator.as_str())
            .unwrap_or("vouch"),
        VALID_FROM,
    );
    let service = Service {
        external_url: config.external_url.clone(),
        auth,
        quotas,
        audit,
        keys,
        poe,
        scanner,
        log: Arc::new(log),
        metrics: Metrics::new(),
        step_up,
        log_dir: config.log_dir(),
        trusted_root,
        trust_config,
        keyless,
        redis,
        dev: config.dev,
    };
    service.refresh_key_gauges();
    Ok(service)
}

/// What the configuration file does not hold: the DPoP nonce secret (from the environment in
/// production, from the dev directory in dev mode).
pub struct AuthExtra {
    pub nonce_secret: zeroize::Zeroizing<Vec<u8>>,
}

/// Builds and starts serving; returns once the listener is bound.
pub async fn start(
    config: ServeConfig,
    auth_extra: Option<AuthExtra>,
) -> Result<Running, StartError> {
    let listener = TcpListener::bind(config.listen)
        .await
        .map_err(|e| StartError(format!("cannot listen on {}: {e}", config.listen)))?;
    start_on(listener, config, auth_extra).await
}

/// Like [`start`], on a listener the caller bound (tests bind port 0 first).
pub async fn start_on(
    listener: TcpListener,
    config: ServeConfig,
    auth_extra: Option<AuthExtra>,
) -> Result<Running, StartError> {
    let addr = listener
        .local_addr()
        .map_err(|e| StartError(format!("listener: {e}")))?;
    let tls = config
        .tls
        .as_ref()
        .map(crate::tls::server_config)
        .transpose()
        .map_err(err("[tls]"))?;
    let max_body = config.max_body_bytes;
    let timeout = Duration::from_millis(config.request_timeout_ms);
    let base_url = config.external_url.clone();
    let service = Arc::new(build(config, auth_extra).await?);
    let app = crate::api::router(service.clone(), max_body, timeout);
    let (stop, stopped) = oneshot::channel::<()>();
    let task = tokio::spawn(crate::tls::serve(listener, app, tls, async move {
        let _ = stopped.await;
    }));
    Ok(Running {
        addr,
        base_url,
        service,
        stop: Some(stop),
        task,
    })
}
