//! Entry points for `vouch serve` and its operator subcommands: each is one blocking call
//! that the CLI makes with parsed arguments and whose result it renders. The tokio runtime,
//! the JSON log subscriber and ctrl-c handling live here, not in the binary.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use crate::audit::{AuditStore, VerifyReport};
use crate::auth::issuer::{LocalIssuer, MintRequest};
use crate::config::ServeConfig;
use crate::keys::{KeyInfo, KeyRing};
use crate::server::{AuthExtra, StartError};

/// Which instance a command is about.
#[derive(Debug, Clone)]
pub enum Instance {
    /// A production configuration file.
    Config(PathBuf),
    /// A dev instance's directory (and, to serve, its address).
    Dev { dir: PathBuf, listen: SocketAddr },
}

/// What `serve` reports once it listens.
#[derive(Debug, Clone)]
pub struct Started {
    pub base_url: String,
    /// DIR/trust-config.json of a dev instance.
    pub trust_config: Option<PathBuf>,
    pub dev: bool,
}

fn runtime() -> Result<tokio::runtime::Runtime, StartError> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| StartError(format!("cannot start the runtime: {e}")))
}

fn load(instance: &Instance) -> Result<(ServeConfig, Option<AuthExtra>), StartError> {
    match instance {
        Instance::Config(path) => ServeConfig::load(path)
            .map(|c| (c, None))
            .map_err(|e| StartError(e.to_string())),
        Instance::Dev { dir, listen } => {
            crate::dev::config(*listen, dir).map(|(c, x)| (c, Some(x)))
        }
    }
}

/// JSON logs on stderr (`RUST_LOG` filters; default info).
fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .json()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_current_span(false)
        .try_init();
}

/// Serves until ctrl-c (or SIGTERM). `on_ready` is called once the listener is bound and the
/// service is ready.
pub fn serve(instance: &Instance, on_ready: impl FnOnce(&Started)) -> Result<(), StartError> {
    init_logging();
    let (config, extra) = load(instance)?;
    let dev = config.dev;
    let dir = config.data_dir.clone();
    let rt = runtime()?;
    rt.block_on(async move {
        let running = crate::server::start(config, extra).await?;
        let trust_config = if dev {
            Some(crate::dev::write_trust(
                &dir,
                &running.base_url,
                &running.service.trusted_root,
                &running.service.trust_config,
            )?)
        } else {
            None
        };
        on_ready(&Started {
            base_url: running.base_url.clone(),
            trust_config,
            dev,
        });
        tracing::info!(url = %running.base_url, dev, "vouch serve is ready");
        shutdown_signal().await;
        tracing::info!("shutting down");
        running.stop().await;
        Ok(())
    })
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
}

/// What `dev-token` mints.
#[derive(Debug, Clone)]
pub struct DevToken {
    pub subject: String,
    pub tenant: String,
    pub scope: String,
    pub audience: String,
    pub ttl_seconds: u64,
    pub dpop_jkt: Option<String>,
    pub x5t_s256: Option<String>,
    pub amr: Vec<String>,
    /// An `email` claim (with `email_verified: true`): the identity the keyless CA certifies.
    /// With audience `sigstore` and no email, `SUBJECT@dev.vouch.invalid`.
    pub email: Option<String>,
}

/// A token from the dev instance's local issuer in `dir`.
pub fn dev_token(dir: &Path, t: &DevToken) -> Result<String, StartError> {
    if !dir.join(crate::dev::DEV_JSON).is_file() && !dir.join("dev-issuer-key.pem").is_file() {
        return Err(StartError(format!(
            "{} is not a dev instance's directory (start `vouch serve --dev --dir {}` first)",
            dir.display(),
            dir.display()
        )));
    }
    let issuer = LocalIssuer::load_or_create(dir, crate::dev::DEV_ISSUER)
        .map_err(|e| StartError(format!("the dev issuer: {e}")))?;
    let now = jiff::Timestamp::now().as_second().max(0).unsigned_abs();
    let mut extra = serde_json::Map::new();
    let email = t
        .email
        .clone()
        .or_else(|| (t.audience == "sigstore").then(|| format!("{}@dev.vouch.invalid", t.subject)));
    if let Some(e) = email {
        extra.insert("email".into(), e.into());
        extra.insert("email_verified".into(), true.into());
    }
    issuer
        .mint(&MintRequest {
            subject: t.subject.clone(),
            tenant: t.tenant.clone(),
            scope: t.scope.clone(),
            audience: t.audience.clone(),
            ttl_seconds: t.ttl_seconds,
            dpop_jkt: t.dpop_jkt.clone(),
            x5t_s256: t.x5t_s256.clone(),
            acr: None,
            amr: t.amr.clone(),
            extra,
            now,
        })
        .map_err(|e| StartError(format!("minting: {e}")))
}

fn data_dir_and_tenants(
    instance: &Instance,
) -> Result<
    (
        PathBuf,
        std::collections::BTreeMap<String, crate::config::TenantConfig>,
    ),
    StartError,
> {
    match instance {
        Instance::Config(path) => {
            let c = ServeConfig::load(path).map_err(|e| StartError(e.to_string()))?;
            Ok((c.data_dir, c.tenants))
        }
        Instance::Dev { dir, .. } => Ok((dir.clone(), Default::default())),
    }
}

/// Key administration on the instance's data directory (the operator's local path; over HTTP
/// the same operations need step-up).
pub enum KeyOp<'a> {
    List,
    Rotate {
        tenant: &'a str,
        algorithm: Option<&'a str>,
    },
    Revoke {
        key_id: &'a str,
        reason: &'a str,
    },
}

pub fn keys(instance: &Instance, op: KeyOp<'_>) -> Result<Vec<KeyInfo>, StartError> {
    let (dir, tenants) = data_dir_and_tenants(instance)?;
    let ring = KeyRing::open(&dir, &tenants).map_err(|e| StartError(e.message))?;
    match op {
        KeyOp::List => ring.list().map_err(|e| StartError(e.message)),
        KeyOp::Rotate { tenant, algorithm } => {
            let alg = crate::keys::parse_algorithm(algorithm).map_err(|e| StartError(e.message))?;
            ring.rotate(tenant, alg)
                .map(|k| vec![k])
                .map_err(|e| StartError(e.message))
        }
        KeyOp::Revoke { key_id, reason } => ring
            .revoke(key_id, reason)
            .map(|k| vec![k])
            .map_err(|e| StartError(e.message)),
    }
}

/// Verifies the audit hash chain of the instance.
pub fn audit_verify(instance: &Instance) -> Result<VerifyReport, StartError> {
    let rt = runtime()?;
    rt.block_on(async {
        let store = match instance {
            Instance::Config(path) => {
                let c = ServeConfig::load(path).map_err(|e| StartError(e.to_string()))?;
                match &c.database_url {
                    Some(url) => AuditStore::open_postgres(url, &c.database_schema).await,
                    None => AuditStore::open_sqlite(c.data_dir.join("audit.db")).await,
                }
            }
            Instance::Dev { dir, .. } => {
                let db = dir.join("audit.db");
                if !db.is_file() {
                    return Err(StartError(format!(
                        "{}: no audit database (has the instance served?)",
                        db.display()
                    )));
                }
                AuditStore::open_sqlite(db).await
            }
        }
        .map_err(|e| StartError(e.message))?;
        store.verify().await.map_err(|e| StartError(e.message))
    })
}
