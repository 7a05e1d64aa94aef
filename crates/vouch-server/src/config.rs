//! `serve.toml`: what a production `vouch serve --config` reads, and the dev-mode
//! configuration `vouch serve --dev` builds in memory.
//!
//! Loading never guesses: unknown keys are errors with their line, relative paths are
//! resolved against the file's directory, and a production file can never enable the local
//! token issuer (only `--dev` can). Secrets are never in this file: passphrases, PINs and
//! introspection credentials are named by environment variable.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use vouch_core::InputError;

/// The whole service configuration.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServeConfig {
    /// Address to listen on, e.g. `0.0.0.0:8443`.
    pub listen: SocketAddr,
    /// The URL clients use to reach this service (scheme, host, port): DPoP proofs name it in
    /// `htu`, so behind a proxy it is the proxy's address.
    pub external_url: String,
    /// Where keys, the log and the SQLite audit database live.
    pub data_dir: PathBuf,
    /// PostgreSQL for the audit chain and the log's sequencing index (shared by replicas).
    #[serde(default)]
    pub database_url: Option<String>,
    /// The schema in `database_url` [default: vouch_serve].
    #[serde(default = "default_schema")]
    pub database_schema: String,
    /// Redis for the DPoP replay cache, quotas and the PoE cache (shared by replicas).
    #[serde(default)]
    pub redis_url: Option<String>,
    /// Key prefix in Redis [default: vouch:].
    #[serde(default = "default_redis_prefix")]
    pub redis_prefix: String,
    /// Largest request body accepted [default: 1 MiB].
    #[serde(default = "default_max_body")]
    pub max_body_bytes: usize,
    /// A request that takes longer is answered 503 [default: 10 s].
    #[serde(default = "default_timeout")]
    pub request_timeout_ms: u64,
    #[serde(default)]
    pub tls: Option<TlsConfig>,
    pub auth: crate::auth::AuthConfig,
    pub quota: crate::quota::QuotaConfig,
    #[serde(default)]
    pub log: LogConfig,
    /// Signing keys per tenant.
    #[serde(default)]
    pub tenants: BTreeMap<String, TenantConfig>,
    #[serde(default)]
    pub poe: Option<crate::poe::PoeConfig>,
    #[serde(default)]
    pub scanner: Option<crate::scanner::ScannerConfig>,
    /// Keyless signing: the CA, CT log and TSA (docs/keyless.md).
    #[serde(default)]
    pub keyless: Option<crate::keyless::KeylessConfig>,
    /// Set by `--dev` only; a file cannot say it (see `load`).
    #[serde(skip)]
    pub dev: bool,
}

fn default_schema() -> String {
    "vouch_serve".into()
}
fn default_redis_prefix() -> String {
    "vouch:".into()
}
fn default_max_body() -> usize {
    1 << 20
}
fn default_timeout() -> u64 {
    10_000
}

/// TLS: the server certificate, and optionally the CA whose client certificates are accepted
/// (mTLS-bound tokens, RFC 8705). Without `[tls]` the service speaks plain HTTP, which is
/// only allowed on a loopback address (behind a TLS-terminating proxy on the same host).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TlsConfig {
    pub cert: PathBuf,
    pub key: PathBuf,
    #[serde(default)]
    pub client_ca: Option<PathBuf>,
}

/// The service's transparency log: every signature is appended to it.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogConfig {
    /// Directory of the log's tiles [default: DATA_DIR/log].
    #[serde(default)]
    pub dir: Option<PathBuf>,
    /// The log's origin line [default: the external URL's host + "/log"].
    #[serde(default)]
    pub origin: Option<String>,
    /// How long the first entry of a batch may wait for others [default: 20 ms].
    #[serde(default = "default_batch_ms")]
    pub batch_max_delay_ms: u64,
}

impl Default for LogConfig {
    fn default() -> Self {
        LogConfig {
            dir: None,
            origin: None,
            batch_max_delay_ms: default_batch_ms(),
        }
    }
}

fn default_batch_ms() -> u64 {
    20
}

/// A tenant: where its signing keys are (its quota plan is under `[quota.tenants]`).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TenantConfig {
    /// Key references that may sign for the tenant: files (PKCS#8 PEM, encrypted with the
    /// passphrase in `passphrase_env`) or `pkcs11:` URIs. Keys the service generates by
    /// `keys rotate` are kept under DATA_DIR/keys/TENANT and need no entry here.
    #[serde(default)]
    pub keys: Vec<String>,
    /// Environment variable holding the passphrase of encrypted key files.
    #[serde(default)]
    pub passphrase_env: Option<String>,
    /// Environment variable holding the PKCS#11 user PIN.
    #[serde(default)]
    pub pkcs11_pin_env: Option<String>,
}

impl ServeConfig {
    /// Reads `path`; relative paths inside are resolved against its directory.
    pub fn load(path: &Path) -> Result<ServeConfig, InputError> {
        let text = vouch_core::fs::read_regular_to_string(path, 1 << 20)?;
        ServeConfig::parse(path, &text)
    }

    /// Parses the text of `path`.
    pub fn parse(path: &Path, text: &str) -> Result<ServeConfig, InputError> {
        let mut config: ServeConfig = toml::from_str(text).map_err(|e| {
            let (line, col) = e.span().map(|s| line_col(text, s.start)).unwrap_or((0, 0));
            InputError::at(path, line, Some(col), e.message().to_string())
        })?;
        let base = path.parent().unwrap_or(Path::new("."));
        config.resolve(base);
        config.validate(path)?;
        Ok(config)
    }

    fn resolve(&mut self, base: &Path) {
        let fix = |p: &mut PathBuf| {
            if p.is_relative() {
                *p = base.join(&*p);
            }
        };
        fix(&mut self.data_dir);
        if let Some(t) = &mut self.tls {
            fix(&mut t.cert);
            fix(&mut t.key);
            if let Some(c) = &mut t.client_ca {
                fix(c);
            }
        }
        if let Some(d) = &mut self.log.dir {
            fix(d);
        }
        for p in [&mut self.auth.jwks_file, &mut self.auth.jwks_ca_file]
            .into_iter()
            .flatten()
        {
            fix(p);
        }
        if let Some(s) = &mut self.scanner {
            s.resolve_paths(base);
        }
        if let Some(k) = &mut self.keyless {
            k.resolve_paths(base);
        }
        for t in self.tenants.values_mut() {
            for k in &mut t.keys {
                if !k.starts_with("pkcs11:")
                    && !k.starts_with("env://")
                    && Path::new(k).is_relative()
                {
                    *k = base.join(&*k).display().to_string();
                }
            }
        }
    }

    fn validate(&self, path: &Path) -> Result<(), InputError> {
        if self.tls.is_none() && !self.listen.ip().is_loopback() {
            return Err(InputError::in_file(
                path,
                format!(
                    "listen = {} without [tls]: plain HTTP is only served on loopback",
                    self.listen
                ),
            )
            .with_hint("add [tls] cert/key, or listen on 127.0.0.1 behind a TLS proxy"));
        }
        if !(self.external_url.starts_with("https://") || self.external_url.starts_with("http://"))
        {
            return Err(InputError::in_file(
                path,
                "external_url must be an http(s) URL",
            ));
        }
        Ok(())
    }

    /// The log directory.
    pub fn log_dir(&self) -> PathBuf {
        self.log
            .dir
            .clone()
            .unwrap_or_else(|| self.data_dir.join("log"))
    }

    /// The log origin.
    pub fn log_origin(&self) -> String {
        self.log.origin.clone().unwrap_or_else(|| {
            let host = self
                .external_url
                .split_once("://")
                .map(|(_, r)| r)
                .unwrap_or(&self.external_url);
            format!("{}/log", host.trim_end_matches('/'))
        })
    }
}

fn line_col(text: &str, offset: usize) -> (u32, u32) {
    let before = &text[..offset.min(text.len())];
    let line = before.bytes().filter(|&b| b == b'\n').count() + 1;
    let col = before
        .rfind('\n')
        .map_or(before.len(), |i| before.len() - i - 1)
        + 1;
    (
        u32::try_from(line).unwrap_or(u32::MAX),
        u32::try_from(col).unwrap_or(u32::MAX),
    )
}

/// `ServeConfig::parse` on generated text: never a panic, whatever the text.
#[cfg(test)]
mod proptests {
    use super::*;
    use proptest::prelude::*;

    /// A valid configuration, in lines (see `docs/serve.md`).
    const BASE: &[&str] = &[
        "listen = \"127.0.0.1:8080\"",
        "external_url = \"http://127.0.0.1:8080\"",
        "data_dir = \"data\"",
        "[auth]",
        "issuer = \"https://idp.example.com\"",
        "jwks_file = \"jwks.json\"",
        "[quota]",
        "default_plan = \"p\"",
        "[quota.plans.p]",
        "requests_per_second = 1.0",
        "burst = 1",
        "concurrent = 1",
        "max_payload_bytes = 1024",
        "daily_signatures = 1",
        "[tenants.acme]",
        "keys = [\"keys/a.key\", \"pkcs11:token=t;object=o\"]",
        "pkcs11_pin_env = \"PIN\"",
    ];

    /// TOML-looking lines: the keys and tables of serve.toml with values of any type.
    fn line() -> impl Strategy<Value = String> {
        let key = prop_oneof![
            Just("listen"),
            Just("external_url"),
            Just("data_dir"),
            Just("max_body_bytes"),
            Just("request_timeout_ms"),
            Just("issuer"),
            Just("jwks_file"),
            Just("leeway_seconds"),
            Just("sender_constraint"),
            Just("algorithms"),
            Just("iat_window_seconds"),
            Just("default_plan"),
            Just("requests_per_second"),
            Just("burst"),
            Just("keys"),
            Just("origin"),
            Just("batch_max_delay_ms"),
        ];
        let value = prop_oneof![
            "\"[ -~]{0,24}\"",
            "-?[0-9]{1,22}",
            "-?[0-9]{1,4}\\.[0-9]{0,4}(e[+-]?[0-9]{1,4})?",
            Just("inf".to_string()),
            Just("nan".to_string()),
            Just("true".to_string()),
            Just("[]".to_string()),
            Just("[\"ES256\", \"HS256\", \"none\"]".to_string()),
            Just("{ a = 1 }".to_string()),
            Just("\"[::1]:0\"".to_string()),
            Just("\"0.0.0.0:443\"".to_string()),
            Just("\"ftp://x\"".to_string()),
            Just("1979-05-27T07:32:00Z".to_string()),
        ];
        let table = prop_oneof![
            Just("[tls]"),
            Just("[auth]"),
            Just("[auth.dpop]"),
            Just("[auth.step_up]"),
            Just("[quota]"),
            Just("[quota.plans.p]"),
            Just("[quota.tenants]"),
            Just("[log]"),
            Just("[poe]"),
            Just("[scanner]"),
            Just("[tenants.acme]"),
            Just("[[tenants]]"),
        ];
        prop_oneof![
            (key, value).prop_map(|(k, v)| format!("{k} = {v}")),
            table.prop_map(str::to_string),
            ".{0,40}",
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        #[test]
        fn parse_never_panics_on_text(text in ".{0,600}") {
            let _ = ServeConfig::parse(Path::new("serve.toml"), &text);
        }

        #[test]
        fn parse_never_panics_on_config_like_text(lines in proptest::collection::vec(line(), 0..40)) {
            let _ = ServeConfig::parse(Path::new("serve.toml"), &lines.join("\n"));
        }

        #[test]
        fn parse_never_panics_on_an_edited_valid_config(
            edits in proptest::collection::vec((any::<prop::sample::Index>(), line(), any::<bool>()), 0..6),
        ) {
            let mut lines: Vec<String> = BASE.iter().map(|s| s.to_string()).collect();
            prop_assert!(ServeConfig::parse(Path::new("dir/serve.toml"), &lines.join("\n")).is_ok());
            for (at, line, replace) in edits {
                let i = at.index(lines.len());
                if replace {
                    lines[i] = line;
                } else {
                    lines.insert(i, line);
                }
            }
            if let Ok(c) = ServeConfig::parse(Path::new("dir/serve.toml"), &lines.join("\n")) {
                // Relative paths are resolved against the file's directory.
                prop_assert!(c.data_dir.starts_with("dir") || c.data_dir.is_absolute());
                let _ = c.log_dir();
                let _ = c.log_origin();
            }
        }
    }
}
