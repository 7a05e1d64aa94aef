//! Keyless signing in `vouch serve`: a Fulcio-compatible CA with its own CT log (`ca`), a
//! Rekor v2-compatible write API over the service's transparency log (`rekor`), an RFC 3161
//! TSA (`tsa`), and the trust material that names them (`trust`), so that one binary is a
//! private Sigstore instance real clients sign against.
//!
//! This module loads `[keyless]` (or, in dev mode, generates and keeps the CA, CT and TSA keys
//! under `DIR/keyless/`) and builds the services; the formats are `vouch-ca`'s and
//! `vouch-attest`'s. It must never start with half a keyless setup it cannot serve: a CA
//! without a CT key, or a key that does not match its certificate, is a start-up error.

pub mod ambient;
pub mod ca;
pub mod client;
pub mod oidc;
pub mod rekor;
pub mod trust;
pub mod tsa;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use serde::Deserialize;
use vouch_ca::chain::{CaCert, CaKeys};
use vouch_ca::ct::CtLog;
use vouch_ca::fulcio::cert_pem;
use vouch_ca::identity::IssuerType;
use vouch_ca::protected_key::ProtectedKey;
use vouch_ca::tsa::{DEFAULT_POLICY, TsaKeys};
use vouch_crypto::keys::{KeyAlgorithm, PrivateKey};
use vouch_crypto::signer::{KeyRef, SecretInputs, Signer, load_signer};
use vouch_tlog::log::{self as tlog, Log};
use vouch_tlog::sequencer::{BatchConfig, Sequencer};
use zeroize::Zeroizing;

use crate::auth::jwks::KeySource;
use crate::server::StartError;

use self::ca::{CaService, OidcIssuer};
use self::trust::KeylessTrust;
use self::tsa::TsaService;

/// `[keyless]` in serve.toml.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeylessConfig {
    #[serde(default)]
    pub ca: Option<CaConfig>,
    #[serde(default)]
    pub tsa: Option<TsaConfig>,
    /// The `operator` the SigningConfig names [default: vouch].
    #[serde(default = "default_operator")]
    pub operator: String,
    /// A local OIDC issuer for tests and demos (docs/keyless.md); off unless given.
    #[serde(default)]
    pub test_issuer: Option<oidc::TestIssuerConfig>,
}

fn default_operator() -> String {
    "vouch".into()
}

/// `[keyless.ca]`: the issuing certificate and key, the chain above it, the CT key and the
/// OIDC issuers whose identity tokens get certificates.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CaConfig {
    /// PEM: the issuing certificate first, then up to the root.
    pub chain: PathBuf,
    /// The issuing certificate's key: a file or a `pkcs11:` URI.
    pub key: String,
    /// The CT log's signing key (ECDSA P-256): a file or a `pkcs11:` URI.
    pub ct_key: String,
    #[serde(default)]
    pub passphrase_env: Option<String>,
    #[serde(default)]
    pub pkcs11_pin_env: Option<String>,
    #[serde(default)]
    pub oidc_issuers: Vec<OidcIssuerConfig>,
}

/// One accepted OIDC issuer.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OidcIssuerConfig {
    /// The tokens' `iss`.
    pub url: String,
    /// email, github-workflow, gitlab-pipeline, spiffe, kubernetes or uri.
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default)]
    pub jwks_file: Option<PathBuf>,
    #[serde(default)]
    pub jwks_url: Option<String>,
    /// What `aud` must contain [default: sigstore].
    #[serde(default)]
    pub audience: Option<String>,
    /// SPIFFE trust domain or URI subject domain.
    #[serde(default)]
    pub domain: Option<String>,
}

/// `[keyless.tsa]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TsaConfig {
    /// PEM: the TSA certificate first, then up to the root (at least 2).
    pub chain: PathBuf,
    pub key: String,
    #[serde(default)]
    pub passphrase_env: Option<String>,
    #[serde(default)]
    pub pkcs11_pin_env: Option<String>,
}

impl KeylessConfig {
    pub(crate) fn resolve_paths(&mut self, base: &Path) {
        let fix = |p: &mut PathBuf| {
            if p.is_relative() {
                *p = base.join(&*p);
            }
        };
        let fix_ref = |k: &mut String| {
            if !k.starts_with("pkcs11:") && !k.starts_with("env://") && Path::new(k).is_relative() {
                *k = base.join(&*k).display().to_string();
            }
        };
        if let Some(c) = &mut self.ca {
            fix(&mut c.chain);
            fix_ref(&mut c.key);
            fix_ref(&mut c.ct_key);
            for i in &mut c.oidc_issuers {
                if let Some(f) = &mut i.jwks_file {
                    fix(f);
                }
            }
        }
        if let Some(t) = &mut self.tsa {
            fix(&mut t.chain);
            fix_ref(&mut t.key);
        }
        if let Some(d) = self.test_issuer.as_mut().and_then(|t| t.dir.as_mut()) {
            fix(d);
        }
    }
}

/// The keyless services of a running instance.
pub struct Keyless {
    pub ca: Option<CaService>,
    pub tsa: Option<TsaService>,
    pub trust: KeylessTrust,
    pub operator: String,
    /// The test identity provider, when configured.
    pub test_issuer: Option<oidc::TestIssuer>,
    /// The CT log's sequencer (kept alive for `ca`'s append closure).
    _ct: Option<Arc<Sequencer>>,
}

impl std::fmt::Debug for Keyless {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Keyless")
            .field("ca", &self.ca.is_some())
            .field("tsa", &self.tsa.is_some())
            .field("test_issuer", &self.test_issuer.is_some())
            .finish_non_exhaustive()
    }
}

fn err(what: &str) -> impl Fn(String) -> StartError + '_ {
    move |e| StartError(format!("[keyless] {what}: {e}"))
}

fn secrets(pass: &Option<String>, pin: &Option<String>) -> SecretInputs {
    let var = |v: &Option<String>| {
        v.as_deref()
            .and_then(|n| std::env::var(n).ok())
            .map(Zeroizing::new)
    };
    SecretInputs {
        passphrase: var(pass),
        pkcs11_pin: var(pin),
        pkcs11_module: None,
    }
}

/// A CA, CT or TSA key: a PKCS#11 key stays in the HSM; a key file (or env://) is moved
/// into protected memory (`vouch_ca::protected_key`) and its PEM text zeroized.
fn signer(keyref: &str, s: &SecretInputs) -> Result<Box<dyn Signer>, String> {
    let r = KeyRef::parse(keyref).map_err(|e| e.to_string())?;
    let pem = match &r {
        KeyRef::Pkcs11(_) => return load_signer(&r, s).map_err(|e| e.to_string()),
        KeyRef::Path(p) => std::fs::read_to_string(p)
            .map(Zeroizing::new)
            .map_err(|e| format!("{}: {e}", p.display()))?,
        KeyRef::Env(v) => std::env::var(v)
            .map(Zeroizing::new)
            .map_err(|_| format!("the environment variable {v} is not set"))?,
    };
    let pass = s.passphrase.as_ref().map(|p| p.as_bytes());
    let key = PrivateKey::from_pem(&pem, pass).map_err(|e| e.to_string())?;
    let protected = ProtectedKey::new(key).map_err(|e| e.to_string())?;
    Ok(Box::new(protected))
}

/// PEM certificates → DER, in file order.
fn read_chain(path: &Path) -> Result<Vec<Vec<u8>>, String> {
    use rustls_pki_types::CertificateDer;
    use rustls_pki_types::pem::PemObject;
    let certs = CertificateDer::pem_file_iter(path)
        .map_err(|e| format!("{}: {e}", path.display()))?
        .map(|c| c.map(|c| c.as_ref().to_vec()))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| format!("{}: {e}", path.display()))?;
    if certs.is_empty() {
        return Err(format!("{}: no certificate", path.display()));
    }
    Ok(certs)
}

/// The CT log: a vouch-tlog log of RFC 6962 precertificate leaves in `dir`, batched; its
/// sequencing index in PostgreSQL (`pg` = URL, schema) when replicas share it.
fn open_ct_log(
    dir: &Path,
    origin: &str,
    pg: Option<&(String, String)>,
) -> Result<Arc<Sequencer>, String> {
    let index = || -> Result<Option<Box<dyn vouch_tlog::index::Index>>, String> {
        match pg {
            None => Ok(None),
            Some((url, schema)) => vouch_tlog::index_pg::PgIndex::connect(url, schema)
                .map(|i| Some(Box::new(i) as Box<dyn vouch_tlog::index::Index>))
                .map_err(|e| e.to_string()),
        }
    };
    if !dir.join("checkpoint").exists() {
        tlog::init_with_index(dir, origin, None, index()?).map_err(|e| e.to_string())?;
    }
    let log = Log::open_with_index(dir, None, index()?).map_err(|e| e.to_string())?;
    Ok(Arc::new(Sequencer::start(
        log,
        BatchConfig {
            max_batch: 64,
            max_delay: Duration::from_millis(10),
            idle: Duration::from_millis(1),
        },
    )))
}

async fn issuers(config: &[OidcIssuerConfig]) -> Result<Vec<OidcIssuer>, StartError> {
    let mut out = Vec::new();
    for i in config {
        let kind: IssuerType = i
            .kind
            .parse()
            .map_err(|e| StartError(format!("[keyless.ca] issuer {}: {e}", i.url)))?;
        let refresh = Duration::from_secs(300);
        let min = Duration::from_secs(30);
        let jwks = match (&i.jwks_file, &i.jwks_url) {
            (Some(f), None) => KeySource::file(f, refresh, min).await,
            (None, Some(u)) => KeySource::url(u, None, refresh, min).await,
            _ => {
                return Err(StartError(format!(
                    "[keyless.ca] issuer {}: give exactly one of jwks_file and jwks_url",
                    i.url
                )));
            }
        }
        .map_err(|e| StartError(format!("[keyless.ca] issuer {}: {e}", i.url)))?;
        let mut issuer = OidcIssuer::new(i.url.clone(), kind, jwks);
        if let Some(a) = &i.audience {
            issuer.audience = a.clone();
        }
        issuer.domain = i.domain.clone();
        out.push(issuer);
    }
    Ok(out)
}

/// Builds the keyless services from `[keyless]`; the CT log lives in `data_dir/ct`.
pub async fn build(
    config: &KeylessConfig,
    data_dir: &Path,
    ct_origin: &str,
    pg: Option<(String, String)>,
) -> Result<Keyless, StartError> {
    let mut trust = KeylessTrust::default();
    let mut ct_seq = None;
    let test_issuer = config
        .test_issuer
        .as_ref()
        .map(|t| oidc::TestIssuer::open(t, data_dir))
        .transpose()
        .map_err(err("test_issuer"))?;
    let ca = match &config.ca {
        None => None,
        Some(c) => {
            let s = secrets(&c.passphrase_env, &c.pkcs11_pin_env);
            let chain = read_chain(&c.chain).map_err(err("ca.chain"))?;
            let issuing_signer = signer(&c.key, &s).map_err(err("ca.key"))?;
            let issuing = CaCert::new(issuing_signer, chain[0].clone())
                .map_err(|e| err("ca.key")(e.to_string()))?;
            let keys = CaKeys::issuing(issuing, chain[1..].to_vec())
                .map_err(|e| err("ca.chain")(e.to_string()))?;
            let ct = CtLog::new(signer(&c.ct_key, &s).map_err(err("ca.ct_key"))?)
                .map_err(|e| err("ca.ct_key")(e.to_string()))?;
            trust.ca_chain = keys.chain_der();
            trust.ct_spki = Some(ct.public_key_spki_der().to_vec());
            let dir = data_dir.join("ct");
            let origin = ct_origin.to_string();
            let seq = tokio::task::spawn_blocking(move || open_ct_log(&dir, &origin, pg.as_ref()))
                .await
                .map_err(|e| StartError(e.to_string()))?
                .map_err(err("the CT log"))?;
            ct_seq = Some(seq.clone());
            let append: ca::CtAppend =
                Arc::new(move |leaf| seq.append(leaf).map(|a| a.index).map_err(|e| e.to_string()));
            let mut accepted = issuers(&c.oidc_issuers).await?;
            // The CA takes the test issuer's tokens (unless an issuer of that URL is listed).
            if let Some(t) = &test_issuer
                && !accepted.iter().any(|i| i.url == t.issuer_url())
            {
                let jwks = KeySource::file(
                    &t.jwks_path(),
                    Duration::from_secs(300),
                    Duration::from_secs(30),
                )
                .await
                .map_err(|e| err("test_issuer")(e.to_string()))?;
                accepted.push(OidcIssuer::new(
                    t.issuer_url().to_string(),
                    IssuerType::Email,
                    jwks,
                ));
            }
            Some(CaService::new(keys, ct, append, accepted))
        }
    };
    let tsa = match &config.tsa {
        None => None,
        Some(t) => {
            let s = secrets(&t.passphrase_env, &t.pkcs11_pin_env);
            let chain = read_chain(&t.chain).map_err(err("tsa.chain"))?;
            let key: Arc<dyn Signer> = Arc::from(signer(&t.key, &s).map_err(err("tsa.key"))?);
            let keys = TsaKeys::new(key, chain.clone(), DEFAULT_POLICY)
                .map_err(|e| err("tsa")(e.to_string()))?;
            trust.tsa_chain = chain;
            Some(TsaService::new(keys))
        }
    };
    Ok(Keyless {
        ca,
        tsa,
        trust,
        operator: config.operator.clone(),
        test_issuer,
        _ct: ct_seq,
    })
}

/// Dev mode: the CA chain, CT key and TSA chain under `dir/keyless/`, generated on first
/// start and kept (so bundles signed yesterday still verify with today's trust config), and
/// the configuration naming them, with the dev issuer as the one OIDC issuer (type `uri`...
/// `email` tokens need `email_verified`; the dev issuer's tokens carry an email).
pub fn dev_config(
    dir: &Path,
    dev_issuer: &str,
    jwks_file: &Path,
) -> Result<KeylessConfig, StartError> {
    let k = dir.join("keyless");
    std::fs::create_dir_all(&k).map_err(|e| StartError(format!("{}: {e}", k.display())))?;
    let io = |p: &Path| {
        let p = p.to_path_buf();
        move |e: std::io::Error| StartError(format!("{}: {e}", p.display()))
    };
    let now = jiff::Timestamp::now();
    let ca_chain = k.join("ca-chain.pem");
    let ca_key = k.join("ca-issuing.key");
    let ct_key = k.join("ct.key");
    if !(ca_chain.is_file() && ca_key.is_file() && ct_key.is_file()) {
        let chain =
            vouch_ca::chain::generate_dev_chain(now, jiff::SignedDuration::from_hours(24 * 3650))
                .map_err(|e| StartError(format!("dev CA: {e}")))?;
        let key_pem = chain
            .intermediate_key
            .to_pem(None)
            .map_err(|e| StartError(format!("dev CA: {e}")))?;
        crate::keys::write_private(&ca_key, key_pem.as_bytes(), true).map_err(io(&ca_key))?;
        let text = cert_pem(&chain.intermediate_der) + &cert_pem(&chain.root_der);
        std::fs::write(&ca_chain, text).map_err(io(&ca_chain))?;
        let ct = PrivateKey::generate(KeyAlgorithm::EcdsaP256)
            .map_err(|e| StartError(format!("dev CT key: {e}")))?;
        let ct_pem = ct
            .to_pem(None)
            .map_err(|e| StartError(format!("dev CT key: {e}")))?;
        crate::keys::write_private(&ct_key, ct_pem.as_bytes(), true).map_err(io(&ct_key))?;
    }
    let tsa_chain = k.join("tsa-chain.pem");
    let tsa_key = k.join("tsa.key");
    if !(tsa_chain.is_file() && tsa_key.is_file()) {
        let key = PrivateKey::generate(KeyAlgorithm::EcdsaP256)
            .map_err(|e| StartError(format!("dev TSA key: {e}")))?;
        let key_pem = key
            .to_pem(None)
            .map_err(|e| StartError(format!("dev TSA key: {e}")))?;
        let (keys, _root) = vouch_ca::tsa::generate_dev_tsa_for(now, key)
            .map_err(|e| StartError(format!("dev TSA: {e}")))?;
        crate::keys::write_private(&tsa_key, key_pem.as_bytes(), true).map_err(io(&tsa_key))?;
        let text: String = keys.chain_der.iter().map(|c| cert_pem(c)).collect();
        std::fs::write(&tsa_chain, text).map_err(io(&tsa_chain))?;
    }
    Ok(KeylessConfig {
        ca: Some(CaConfig {
            chain: ca_chain,
            key: ca_key.display().to_string(),
            ct_key: ct_key.display().to_string(),
            passphrase_env: None,
            pkcs11_pin_env: None,
            oidc_issuers: vec![OidcIssuerConfig {
                url: dev_issuer.to_string(),
                kind: "email".into(),
                jwks_file: Some(jwks_file.to_path_buf()),
                jwks_url: None,
                audience: None,
                domain: None,
            }],
        }),
        tsa: Some(TsaConfig {
            chain: tsa_chain,
            key: tsa_key.display().to_string(),
            passphrase_env: None,
            pkcs11_pin_env: None,
        }),
        operator: "vouch-dev".into(),
        // The same issuer (and key) as `vouch serve dev-token`.
        test_issuer: Some(oidc::TestIssuerConfig {
            issuer: dev_issuer.to_string(),
            dir: Some(dir.to_path_buf()),
            audience: None,
        }),
    })
}
