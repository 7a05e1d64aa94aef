//! The local development issuer (`vouch serve --dev`, `vouch serve dev-token`): an ES256
//! P-256 key kept in `dev-issuer-key.pem` (PKCS#8, mode 0600), its JWKS in `dev-jwks.json`,
//! and the minting of OpToks. Also [`DpopKey`], a client-side DPoP key that makes proofs, for
//! tests, benchmarks and simple clients.
//!
//! It must never: be a production issuer (no revocation, no client authentication), write
//! or keep its private key readable by others, or show a private key in `Debug` output or an
//! error.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, KeyPair};
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use rustls_pki_types::PrivatePkcs8KeyDer;
use rustls_pki_types::pem::PemObject;
use serde_json::{Map, Value, json};
use zeroize::Zeroizing;

use super::dpop::{access_token_hash, jwk_thumbprint};

/// The key file's name inside the issuer's directory.
pub const KEY_FILE: &str = "dev-issuer-key.pem";
/// The JWKS file's name inside the issuer's directory.
pub const JWKS_FILE: &str = "dev-jwks.json";

/// The public JWK (`kty` EC, `crv` P-256) of an ES256 key pair.
fn public_jwk(pair: &EcdsaKeyPair) -> anyhow::Result<Map<String, Value>> {
    let point = pair.public_key().as_ref();
    if point.len() != 65 || point[0] != 4 {
        bail!("unexpected P-256 public key encoding");
    }
    let mut m = Map::new();
    m.insert("kty".into(), "EC".into());
    m.insert("crv".into(), "P-256".into());
    m.insert("x".into(), URL_SAFE_NO_PAD.encode(&point[1..33]).into());
    m.insert("y".into(), URL_SAFE_NO_PAD.encode(&point[33..65]).into());
    Ok(m)
}

/// Signs `header.claims` with ES256 as a compact JWS.
fn sign_es256(pair: &EcdsaKeyPair, header: &Value, claims: &Value) -> anyhow::Result<String> {
    let input = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(serde_json::to_vec(header)?),
        URL_SAFE_NO_PAD.encode(serde_json::to_vec(claims)?)
    );
    let sig = pair
        .sign(&SystemRandom::new(), input.as_bytes())
        .map_err(|_| anyhow::anyhow!("ES256 signing failed"))?;
    Ok(format!("{input}.{}", URL_SAFE_NO_PAD.encode(sig.as_ref())))
}

/// What to put into a minted OpTok.
#[derive(Debug, Clone, Default)]
pub struct MintRequest {
    pub subject: String,
    pub tenant: String,
    /// Space-separated scopes.
    pub scope: String,
    pub audience: String,
    pub ttl_seconds: u64,
    /// Bind to this DPoP key thumbprint (`cnf.jkt`).
    pub dpop_jkt: Option<String>,
    /// Bind to this client certificate thumbprint (`cnf["x5t#S256"]`).
    pub x5t_s256: Option<String>,
    pub acr: Option<String>,
    pub amr: Vec<String>,
    /// More claims; the standard ones above take precedence.
    pub extra: Map<String, Value>,
    /// Unix seconds.
    pub now: u64,
}

/// The dev issuer: one ES256 key, its `kid` (the RFC 7638 thumbprint) and its issuer URL.
pub struct LocalIssuer {
    pair: EcdsaKeyPair,
    kid: String,
    issuer: String,
    jwks: Value,
    dir: PathBuf,
}

impl std::fmt::Debug for LocalIssuer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LocalIssuer")
            .field("issuer", &self.issuer)
            .field("kid", &self.kid)
            .field("dir", &self.dir)
            .field("key", &"<redacted>")
            .finish()
    }
}

impl LocalIssuer {
    /// Loads `dir/dev-issuer-key.pem`, or creates it (mode 0600) when absent, and writes
    /// `dir/dev-jwks.json`. An existing key file readable by group or others is refused.
    pub fn load_or_create(dir: &Path, issuer_url: &str) -> anyhow::Result<Self> {
        fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        let key_path = dir.join(KEY_FILE);
        let pkcs8 = match read_key(&key_path)? {
            Some(k) => k,
            None => create_key(&key_path)?,
        };
        let pair = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &pkcs8)
            .map_err(|_| anyhow::anyhow!("{} is not a P-256 PKCS#8 key", key_path.display()))?;
        let mut jwk = public_jwk(&pair)?;
        let kid = jwk_thumbprint(&jwk).map_err(anyhow::Error::msg)?;
        jwk.insert("kid".into(), kid.clone().into());
        jwk.insert("alg".into(), "ES256".into());
        jwk.insert("use".into(), "sig".into());
        let jwks = json!({ "keys": [Value::Object(jwk)] });
        let jwks_path = dir.join(JWKS_FILE);
        // Written aside and renamed, so that a server re-reading it never sees half a file.
        let tmp = dir.join(format!(".{JWKS_FILE}.{}", uuid::Uuid::new_v4()));
        fs::write(&tmp, serde_json::to_vec_pretty(&jwks)?)
            .and_then(|()| fs::rename(&tmp, &jwks_path))
            .with_context(|| format!("writing {}", jwks_path.display()))?;
        Ok(LocalIssuer {
            pair,
            kid,
            issuer: issuer_url.to_owned(),
            jwks,
            dir: dir.to_owned(),
        })
    }

    pub fn issuer(&self) -> &str {
        &self.issuer
    }

    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// The JWKS (public key only).
    pub fn jwks(&self) -> Value {
        self.jwks.clone()
    }

    /// The path of `dev-jwks.json`.
    pub fn jwks_path(&self) -> PathBuf {
        self.dir.join(JWKS_FILE)
    }

    /// Mints an OpTok: ES256, `kid`, a random `jti`.
    pub fn mint(&self, req: &MintRequest) -> anyhow::Result<String> {
        let mut claims = req.extra.clone();
        let mut put = |k: &str, v: Value| {
            claims.insert(k.to_owned(), v);
        };
        put("iss", self.issuer.clone().into());
        put("sub", req.subject.clone().into());
        put("aud", req.audience.clone().into());
        put("tenant", req.tenant.clone().into());
        put("scope", req.scope.clone().into());
        put("iat", req.now.into());
        put("nbf", req.now.into());
        put("exp", req.now.saturating_add(req.ttl_seconds).into());
        put("jti", uuid::Uuid::new_v4().to_string().into());
        if let Some(acr) = &req.acr {
            put("acr", acr.clone().into());
        }
        if !req.amr.is_empty() {
            put("amr", req.amr.clone().into());
        }
        let mut cnf = Map::new();
        if let Some(j) = &req.dpop_jkt {
            cnf.insert("jkt".into(), j.clone().into());
        }
        if let Some(x) = &req.x5t_s256 {
            cnf.insert("x5t#S256".into(), x.clone().into());
        }
        if !cnf.is_empty() {
            put("cnf", Value::Object(cnf));
        }
        self.sign_claims(&claims)
    }

    /// Signs any claims as this issuer (ES256, `typ` `at+jwt`, its `kid`): for tests that
    /// need tokens [`LocalIssuer::mint`] would not make.
    pub fn sign_claims(&self, claims: &Map<String, Value>) -> anyhow::Result<String> {
        let header = json!({"alg": "ES256", "typ": "at+jwt", "kid": self.kid});
        sign_es256(&self.pair, &header, &Value::Object(claims.clone()))
    }
}

fn read_key(path: &Path) -> anyhow::Result<Option<Zeroizing<Vec<u8>>>> {
    let pem = match fs::read(path) {
        Ok(b) => Zeroizing::new(b),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e).with_context(|| format!("reading {}", path.display())),
    };
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = fs::metadata(path)?.permissions().mode();
        if mode & 0o077 != 0 {
            bail!(
                "{} is readable by others (mode {:o}); chmod 600 it",
                path.display(),
                mode & 0o777
            );
        }
    }
    let der = PrivatePkcs8KeyDer::from_pem_slice(&pem)
        .map_err(|_| anyhow::anyhow!("{} is not a PKCS#8 PEM private key", path.display()))?;
    Ok(Some(Zeroizing::new(der.secret_pkcs8_der().to_vec())))
}

fn create_key(path: &Path) -> anyhow::Result<Zeroizing<Vec<u8>>> {
    let doc = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &SystemRandom::new())
        .map_err(|_| anyhow::anyhow!("generating the dev issuer key failed"))?;
    let der = Zeroizing::new(doc.as_ref().to_vec());
    let b64 = Zeroizing::new(STANDARD.encode(&*der));
    let mut pem = Zeroizing::new(String::from("-----BEGIN PRIVATE KEY-----\n"));
    for line in b64.as_bytes().chunks(64) {
        pem.push_str(std::str::from_utf8(line)?);
        pem.push('\n');
    }
    pem.push_str("-----END PRIVATE KEY-----\n");
    let mut opts = fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let mut f = opts
        .open(path)
        .with_context(|| format!("creating {}", path.display()))?;
    f.write_all(pem.as_bytes())
        .and_then(|()| f.sync_all())
        .with_context(|| format!("writing {}", path.display()))?;
    Ok(der)
}

/// A client's DPoP key (ES256, P-256) that makes proofs.
pub struct DpopKey {
    pair: EcdsaKeyPair,
    jwk: Map<String, Value>,
    thumbprint: String,
}

impl std::fmt::Debug for DpopKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DpopKey")
            .field("thumbprint", &self.thumbprint)
            .field("key", &"<redacted>")
            .finish()
    }
}

impl DpopKey {
    /// A fresh random key.
    pub fn generate() -> anyhow::Result<Self> {
        let doc =
            EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &SystemRandom::new())
                .map_err(|_| anyhow::anyhow!("generating a DPoP key failed"))?;
        let pair = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, doc.as_ref())
            .map_err(|_| anyhow::anyhow!("loading the generated DPoP key failed"))?;
        let jwk = public_jwk(&pair)?;
        let thumbprint = jwk_thumbprint(&jwk).map_err(anyhow::Error::msg)?;
        Ok(DpopKey {
            pair,
            jwk,
            thumbprint,
        })
    }

    /// The RFC 7638 thumbprint, the token's `cnf.jkt`.
    pub fn thumbprint(&self) -> &str {
        &self.thumbprint
    }

    /// The public JWK.
    pub fn public_jwk(&self) -> &Map<String, Value> {
        &self.jwk
    }

    /// A proof for `method` `url` at `now`, with `ath` for `access_token` and `nonce` when
    /// given. The URL's query and fragment are left out of `htu`.
    pub fn proof(
        &self,
        method: &str,
        url: &str,
        access_token: Option<&str>,
        nonce: Option<&str>,
        now: u64,
    ) -> anyhow::Result<String> {
        let htu = url.split(['?', '#']).next().unwrap_or(url);
        let mut claims = json!({
            "jti": uuid::Uuid::new_v4().to_string(),
            "htm": method,
            "htu": htu,
            "iat": now,
        });
        if let Some(t) = access_token {
            claims["ath"] = access_token_hash(t).into();
        }
        if let Some(n) = nonce {
            claims["nonce"] = n.into();
        }
        self.sign(&self.header(), &claims)
    }

    /// The header of a well-formed proof: `typ` `dpop+jwt`, `alg` ES256, the public `jwk`.
    pub fn header(&self) -> Value {
        json!({"typ": "dpop+jwt", "alg": "ES256", "jwk": Value::Object(self.jwk.clone())})
    }

    /// Signs any header and claims with this key (ES256 whatever `alg` says): for tests
    /// that need malformed proofs.
    pub fn sign(&self, header: &Value, claims: &Value) -> anyhow::Result<String> {
        sign_es256(&self.pair, header, claims)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_is_created_once_private_and_reloaded() {
        let dir = tempfile::tempdir().unwrap();
        let a = LocalIssuer::load_or_create(dir.path(), "https://dev.local").unwrap();
        let b = LocalIssuer::load_or_create(dir.path(), "https://dev.local").unwrap();
        assert_eq!(a.kid(), b.kid());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = fs::metadata(dir.path().join(KEY_FILE))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
            fs::set_permissions(dir.path().join(KEY_FILE), fs::Permissions::from_mode(0o644))
                .unwrap();
            assert!(LocalIssuer::load_or_create(dir.path(), "https://dev.local").is_err());
        }
        let jwks: Value =
            serde_json::from_slice(&fs::read(dir.path().join(JWKS_FILE)).unwrap()).unwrap();
        assert_eq!(jwks, a.jwks());
        assert!(jwks["keys"][0].get("d").is_none());
        let dbg = format!("{a:?}");
        assert!(dbg.contains("redacted") && !dbg.contains("PRIVATE"));
    }

    #[test]
    fn garbage_key_file_refused() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join(KEY_FILE);
        fs::write(&p, "not a key").unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            fs::set_permissions(&p, fs::Permissions::from_mode(0o600)).unwrap();
        }
        let e = LocalIssuer::load_or_create(dir.path(), "x").unwrap_err();
        assert!(!format!("{e:#}").contains("not a key"));
    }
}
