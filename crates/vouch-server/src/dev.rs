//! `vouch serve --dev`: a self-contained instance for demos and tests, like Vault's `-dev`.
//! Keys are generated into DIR, the audit log is SQLite, quotas are in-process, and a local
//! token issuer mints tokens (`vouch serve dev-token`).
//!
//! It must never: listen on a non-loopback address, or be reachable from a production
//! configuration (only this module enables the local issuer, and only `--dev` calls it).

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use vouch_crypto::keys::KeyAlgorithm;
use zeroize::Zeroizing;

use crate::auth::issuer::LocalIssuer;
use crate::config::{LogConfig, ServeConfig, TenantConfig};
use crate::keys::{KeyRing, KeyStatus, Purpose};
use crate::server::{AuthExtra, StartError};

/// The `iss` of dev tokens.
pub const DEV_ISSUER: &str = "vouch-dev-issuer";
/// The tenant dev mode creates keys for.
pub const DEV_TENANT: &str = "dev";

/// The files dev mode writes into DIR.
pub const TRUST_CONFIG: &str = "trust-config.json";
pub const TRUSTED_ROOT: &str = "trusted-root.json";
pub const SIGNING_KEY_PUB: &str = "dev-signing-key.pub";
pub const DEV_JSON: &str = "dev.json";

fn io(path: &Path) -> impl Fn(std::io::Error) -> StartError + '_ {
    move |e| StartError(format!("{}: {e}", path.display()))
}

/// The DPoP nonce secret of a dev instance (kept in DIR so a restart keeps nonces valid).
fn nonce_secret(dir: &Path) -> Result<Zeroizing<Vec<u8>>, StartError> {
    let path = dir.join("dev-nonce-secret");
    if let Ok(bytes) = std::fs::read(&path)
        && bytes.len() == 32
    {
        return Ok(Zeroizing::new(bytes));
    }
    let mut secret = Zeroizing::new(vec![0u8; 32]);
    aws_lc_rs::rand::fill(&mut secret).map_err(|_| StartError("no randomness".into()))?;
    crate::keys::write_private(&path, &secret, true).map_err(io(&path))?;
    Ok(secret)
}

/// The configuration of a dev instance on `addr` keeping its state in `dir`.
pub fn config(addr: SocketAddr, dir: &Path) -> Result<(ServeConfig, AuthExtra), StartError> {
    if !addr.ip().is_loopback() {
        return Err(StartError(format!(
            "--dev serves only on a loopback address, not {addr}: it hands out tokens to anyone who asks"
        )));
    }
    std::fs::create_dir_all(dir).map_err(io(dir))?;
    let dir = dir.canonicalize().map_err(io(dir))?;
    let base = format!("http://{addr}");
    let issuer = LocalIssuer::load_or_create(&dir, DEV_ISSUER)
        .map_err(|e| StartError(format!("the dev token issuer: {e}")))?;
    let mut tenants = BTreeMap::new();
    tenants.insert(DEV_TENANT.to_string(), TenantConfig::default());
    // Keys for the dev tenant: ECDSA P-256 for bundles, Ed25519 for export manifests.
    let ring = KeyRing::open(&dir, &tenants).map_err(|e| StartError(e.message))?;
    let listed = ring.list().map_err(|e| StartError(e.message))?;
    for (alg, purpose) in [
        (KeyAlgorithm::EcdsaP256, Purpose::Sign),
        (KeyAlgorithm::Ed25519, Purpose::Export),
    ] {
        let has = listed.iter().any(|k| {
            k.tenant == DEV_TENANT
                && k.status == KeyStatus::Active
                && KeyAlgorithm::from_name(&k.algorithm).map(Purpose::of) == Some(purpose)
        });
        if !has {
            ring.rotate(DEV_TENANT, alg)
                .map_err(|e| StartError(e.message))?;
        }
    }
    let signer = ring
        .signer_for(DEV_TENANT, Purpose::Sign)
        .map_err(|e| StartError(e.message))?;
    let pub_path = dir.join(SIGNING_KEY_PUB);
    std::fs::write(&pub_path, signer.public_key().to_pem()).map_err(io(&pub_path))?;
    let mut auth = crate::auth::AuthConfig::new(DEV_ISSUER);
    auth.jwks_file = Some(issuer.jwks_path());
    // A dev client makes one request per proof; nonces stay available (the server sends
    // one with every answer) but are not required.
    auth.dpop.require_nonce = false;
    let config = ServeConfig {
        listen: addr,
        external_url: base,
        data_dir: dir.clone(),
        database_url: None,
        database_schema: "vouch_serve".into(),
        redis_url: None,
        redis_prefix: "vouch:".into(),
        max_body_bytes: 1 << 20,
        request_timeout_ms: 10_000,
        tls: None,
        auth,
        quota: dev_quota()?,
        log: LogConfig {
            dir: Some(dir.join("log")),
            origin: None,
            batch_max_delay_ms: 20,
        },
        tenants,
        poe: None,
        scanner: None,
        keyless: Some(crate::keyless::dev_config(
            &dir,
            DEV_ISSUER,
            &issuer.jwks_path(),
        )?),
        dev: true,
    };
    Ok((
        config,
        AuthExtra {
            nonce_secret: nonce_secret(&dir)?,
        },
    ))
}

/// One generous plan: dev mode shows quota refusals only when asked to.
fn dev_quota() -> Result<crate::quota::QuotaConfig, StartError> {
    let plan = crate::quota::Limits {
        // High enough never to be what a benchmark or a demo measures; the quota tests set
        // their own plans.
        requests_per_second: 100_000.0,
        burst: 100_000,
        concurrent: 4096,
        max_payload_bytes: 1 << 20,
        daily_signatures: 10_000_000,
    };
    crate::quota::QuotaConfig::new(
        BTreeMap::from([("dev".to_string(), plan)]),
        "dev".into(),
        BTreeMap::new(),
    )
    .map_err(|e| StartError(format!("dev quota: {e}")))
}

/// Writes DIR/trusted-root.json and DIR/trust-config.json (a Sigstore ClientTrustConfig:
/// the trusted root naming this instance's log, CA, CT log and TSA, and a SigningConfig v0.2
/// listing its URLs).
pub fn write_trust(
    dir: &Path,
    base_url: &str,
    trusted_root: &serde_json::Value,
    trust_config: &serde_json::Value,
) -> Result<PathBuf, StartError> {
    let mut root =
        serde_json::to_vec_pretty(trusted_root).map_err(|e| StartError(e.to_string()))?;
    root.push(b'\n');
    let root_path = dir.join(TRUSTED_ROOT);
    std::fs::write(&root_path, &root).map_err(io(&root_path))?;
    let config = trust_config;
    let mut bytes = serde_json::to_vec_pretty(config).map_err(|e| StartError(e.to_string()))?;
    bytes.push(b'\n');
    let path = dir.join(TRUST_CONFIG);
    std::fs::write(&path, &bytes).map_err(io(&path))?;
    // Where this instance is, for `vouch serve dev-token` and scripts.
    let dev = serde_json::json!({
        "baseUrl": base_url,
        "issuer": DEV_ISSUER,
        "tenant": DEV_TENANT,
        "logTilesUrl": format!("{base_url}/log"),
    });
    let dev_path = dir.join(DEV_JSON);
    std::fs::write(&dev_path, format!("{dev:#}\n")).map_err(io(&dev_path))?;
    Ok(path)
}
