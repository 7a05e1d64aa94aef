//! The Fulcio v2 API of `vouch serve` as plain async functions over a [`CaService`]:
//! `POST /api/v2/signingCert` ([`CaService::signing_cert`]), `GET /api/v2/configuration`
//! ([`CaService::configuration`]) and `GET /api/v2/trustBundle` ([`CaService::trust_bundle`]).
//! The router (another file) maps them to HTTP, answering `signing_cert` with 201.
//!
//! A certificate is issued only for an OIDC identity token that verifies: from a configured
//! issuer (`iss` exact), signed by a key of that issuer's JWKS with the key's own asymmetric
//! algorithm, `aud` containing the issuer's audience (`sigstore` by default), `exp` in the
//! future, `iat` (required) and `nbf` not in the future, a non-empty `sub`. The identity is
//! then derived by the issuer's type (`vouch_ca::identity`), the public key comes from a
//! PKCS#10 CSR (self-signature checked) or from a `publicKeyRequest` whose proof of
//! possession signs the challenge claim, and the certificate is issued through a
//! precertificate logged in our CT log (the Merkle leaf is appended with `ct_append` before
//! the certificate exists, so every issued certificate is logged).
//!
//! It must never: issue for a token that did not verify, put the token into an error, or
//! return a certificate whose precertificate was not durably appended.

use std::sync::Arc;

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use serde_json::{Map, Value, json};
use vouch_ca::chain::{CaError, CaKeys};
use vouch_ca::ct::CtLog;
use vouch_ca::fulcio::{self, MAX_VALIDITY, cert_pem};
use vouch_ca::identity::{self, IssuerType};
use vouch_crypto::keys::{KeyAlgorithm, PublicKey};

use crate::auth::dpop::{asymmetric_alg, jws_header, verify_jws};
use crate::auth::jwks::KeySource;
use crate::error::{ApiError, Code};

/// The largest identity token looked at, in bytes.
const MAX_TOKEN_LEN: usize = 16 * 1024;
/// The largest request body read, in bytes.
const MAX_BODY_LEN: usize = 64 * 1024;

/// Appends a CT Merkle leaf (RFC 6962 `MerkleTreeLeaf`) durably; returns its index. It
/// blocks until the leaf's batch is written, so it is only called on a blocking thread.
pub type CtAppend = Arc<dyn Fn(Vec<u8>) -> Result<u64, String> + Send + Sync>;

/// One OIDC issuer whose identity tokens are accepted.
#[derive(Debug)]
pub struct OidcIssuer {
    /// The issuer URL: the tokens' `iss`.
    pub url: String,
    pub kind: IssuerType,
    /// What `aud` must contain (`sigstore` unless configured).
    pub audience: String,
    /// The issuer's signing keys.
    pub jwks: KeySource,
    /// The SPIFFE trust domain (`spiffe`) or subject domain (`uri`); without it, the
    /// issuer URL's host.
    pub domain: Option<String>,
}

impl OidcIssuer {
    /// An issuer with the default audience `sigstore` and no domain.
    pub fn new(url: impl Into<String>, kind: IssuerType, jwks: KeySource) -> Self {
        OidcIssuer {
            url: url.into(),
            kind,
            audience: "sigstore".into(),
            jwks,
            domain: None,
        }
    }
}

/// The keyless CA: its keys, its CT log and where the log's leaves go, and the issuers.
pub struct CaService {
    pub ca: Arc<CaKeys>,
    pub ct: Arc<CtLog>,
    pub ct_append: CtAppend,
    pub issuers: Vec<OidcIssuer>,
    /// How long issued certificates are valid (at most 10 minutes).
    pub validity: jiff::SignedDuration,
    /// Clock skew allowed on `exp`, `nbf` and `iat`, in seconds.
    pub leeway_seconds: u64,
}

impl std::fmt::Debug for CaService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CaService")
            .field("ca", &self.ca.issuer().subject().to_string())
            .field("ct_log_id", &hex::encode(self.ct.log_id()))
            .field("issuers", &self.issuers)
            .field("validity", &self.validity)
            .finish_non_exhaustive()
    }
}

fn invalid_token(message: &str) -> ApiError {
    ApiError::new(Code::InvalidToken, message)
}

fn invalid_request(message: impl Into<String>) -> ApiError {
    ApiError::new(Code::InvalidRequest, message)
}

fn from_ca_error(e: CaError) -> ApiError {
    match e {
        CaError::Identity(m) => ApiError::new(
            Code::InvalidToken,
            format!("the identity token does not make an identity: {m}"),
        ),
        CaError::InvalidRequest(m) => invalid_request(m),
        CaError::Ct(m) => {
            ApiError::unavailable(format!("the CT log did not log the precertificate: {m}"))
        }
        e @ (CaError::Signing(_) | CaError::Encoding(_)) => ApiError::internal(e.to_string()),
    }
}

/// A NumericDate (RFC 7519 §2): a non-negative number, fractions dropped.
fn numeric_date(claims: &Map<String, Value>, name: &str) -> Result<Option<u64>, ApiError> {
    match claims.get(name) {
        None => Ok(None),
        Some(v) => match (v.as_u64(), v.as_f64()) {
            (Some(n), _) => Ok(Some(n)),
            (None, Some(f)) if (0.0..1.0e15).contains(&f) => Ok(Some(f as u64)),
            _ => Err(invalid_token(
                "the identity token has a malformed time claim",
            )),
        },
    }
}

/// The `iss` of a compact JWS, read before the signature is checked (to pick the keys).
fn unverified_issuer(token: &str) -> Option<String> {
    let payload = token.split('.').nth(1)?;
    let raw = URL_SAFE_NO_PAD.decode(payload).ok()?;
    let v: Value = serde_json::from_slice(&raw).ok()?;
    v.get("iss")?.as_str().map(str::to_owned)
}

/// The request body: one of the two key forms, and optionally the token.
struct Request {
    token: Option<String>,
    key: KeyRequest,
}

enum KeyRequest {
    /// A PKCS#10 CSR (PEM or DER bytes, base64-decoded).
    Csr(Vec<u8>),
    /// A public key (SPKI DER), its claimed algorithm and the proof of possession.
    PublicKey {
        spki: Vec<u8>,
        algorithm: Option<String>,
        proof: Vec<u8>,
    },
}

fn parse_request(body: &[u8]) -> Result<Request, ApiError> {
    if body.len() > MAX_BODY_LEN {
        return Err(ApiError::new(
            Code::PayloadTooLarge,
            "the request body is too large",
        ));
    }
    let v: Value = serde_json::from_slice(body)
        .map_err(|_| invalid_request("the request body is not JSON"))?;
    let obj = v
        .as_object()
        .ok_or_else(|| invalid_request("the request body is not a JSON object"))?;
    let token = match obj.get("credentials") {
        None | Some(Value::Null) => None,
        Some(c) => Some(
            c.get("oidcIdentityToken")
                .and_then(Value::as_str)
                .ok_or_else(|| invalid_request("credentials.oidcIdentityToken is not a string"))?
                .to_owned(),
        ),
    };
    let b64 = |v: &Value, what: &str| -> Result<Vec<u8>, ApiError> {
        let s = v
            .as_str()
            .ok_or_else(|| invalid_request(format!("{what} is not a string")))?;
        STANDARD
            .decode(s.trim())
            .map_err(|_| invalid_request(format!("{what} is not base64")))
    };
    let csr = obj
        .get("certificateSigningRequest")
        .filter(|v| !v.is_null());
    let pkr = obj.get("publicKeyRequest").filter(|v| !v.is_null());
    let key = match (csr, pkr) {
        (Some(c), None) => KeyRequest::Csr(b64(c, "certificateSigningRequest")?),
        (None, Some(p)) => {
            let pk = p
                .get("publicKey")
                .ok_or_else(|| invalid_request("publicKeyRequest.publicKey is missing"))?;
            let content = pk
                .get("content")
                .and_then(Value::as_str)
                .ok_or_else(|| invalid_request("publicKey.content is not a string"))?;
            let spki = if content.trim_start().starts_with("-----BEGIN") {
                PublicKey::from_pem(content)
                    .map_err(|e| invalid_request(format!("publicKey.content: {e}")))?
                    .spki_der()
                    .to_vec()
            } else {
                STANDARD
                    .decode(content.trim())
                    .map_err(|_| invalid_request("publicKey.content is neither PEM nor base64"))?
            };
            let algorithm = pk
                .get("algorithm")
                .and_then(Value::as_str)
                .map(str::to_owned);
            let proof = b64(
                p.get("proofOfPossession").unwrap_or(&Value::Null),
                "publicKeyRequest.proofOfPossession",
            )?;
            KeyRequest::PublicKey {
                spki,
                algorithm,
                proof,
            }
        }
        (Some(_), Some(_)) => {
            return Err(invalid_request(
                "give either certificateSigningRequest or publicKeyRequest, not both",
            ));
        }
        (None, None) => {
            return Err(invalid_request(
                "the request has neither certificateSigningRequest nor publicKeyRequest",
            ));
        }
    };
    Ok(Request { token, key })
}

/// Whether a `publicKey.algorithm` (Fulcio's `PublicKeyAlgorithm` names) fits the key.
fn algorithm_fits(name: &str, key: KeyAlgorithm) -> bool {
    match name {
        "" | "PUBLIC_KEY_ALGORITHM_UNSPECIFIED" => true,
        "ECDSA" => matches!(
            key,
            KeyAlgorithm::EcdsaP256 | KeyAlgorithm::EcdsaP384 | KeyAlgorithm::EcdsaP521
        ),
        "ED25519" => key == KeyAlgorithm::Ed25519,
        "RSA_PSS" | "RSA" => key == KeyAlgorithm::Rsa,
        _ => false,
    }
}

impl CaService {
    /// A service issuing 10-minute certificates, with 60 s of clock leeway on tokens.
    pub fn new(ca: CaKeys, ct: CtLog, ct_append: CtAppend, issuers: Vec<OidcIssuer>) -> Self {
        CaService {
            ca: Arc::new(ca),
            ct: Arc::new(ct),
            ct_append,
            issuers,
            validity: MAX_VALIDITY,
            leeway_seconds: 60,
        }
    }

    /// Verifies an OIDC identity token at `now` (unix seconds); returns its issuer and claims.
    pub async fn verify_token(
        &self,
        token: &str,
        now: u64,
    ) -> Result<(&OidcIssuer, Map<String, Value>), ApiError> {
        if token.is_empty() || token.len() > MAX_TOKEN_LEN {
            return Err(invalid_token("the identity token is empty or too large"));
        }
        let header =
            jws_header(token).ok_or_else(|| invalid_token("the identity token is not a JWS"))?;
        if let Some(typ) = header.get("typ") {
            match typ.as_str() {
                Some(t) if t.eq_ignore_ascii_case("dpop+jwt") => {
                    return Err(invalid_token("a DPoP proof is not an identity token"));
                }
                Some(_) => {}
                None => return Err(invalid_token("the identity token has a malformed typ")),
            }
        }
        let alg = asymmetric_alg(header.get("alg")).ok_or_else(|| {
            invalid_token("the identity token's alg is none, symmetric or unknown")
        })?;
        if header.contains_key("crit") {
            return Err(invalid_token(
                "the identity token has critical header parameters",
            ));
        }
        let kid = header
            .get("kid")
            .and_then(Value::as_str)
            .ok_or_else(|| invalid_token("the identity token names no key (kid)"))?;
        let iss = unverified_issuer(token)
            .ok_or_else(|| invalid_token("the identity token has no issuer"))?;
        let issuer =
            self.issuers.iter().find(|i| i.url == iss).ok_or_else(|| {
                invalid_token("the identity token is from an issuer not configured")
            })?;
        let key = issuer.jwks.key(kid).await?;
        if !key.allows(alg) {
            return Err(invalid_token("the identity token's alg is not its key's"));
        }
        let claims = verify_jws(token, key.decoding_key(), alg)
            .ok_or_else(|| invalid_token("the identity token's signature does not verify"))?;
        if claims.get("iss").and_then(Value::as_str) != Some(issuer.url.as_str()) {
            return Err(invalid_token("the identity token is from another issuer"));
        }
        let aud_ok = match claims.get("aud") {
            Some(Value::String(a)) => *a == issuer.audience,
            Some(Value::Array(a)) => a.iter().any(|x| x.as_str() == Some(&issuer.audience)),
            _ => false,
        };
        if !aud_ok {
            return Err(invalid_token("the identity token is not for this audience"));
        }
        let leeway = self.leeway_seconds;
        let exp = numeric_date(&claims, "exp")?
            .ok_or_else(|| invalid_token("the identity token has no exp"))?;
        if exp.saturating_add(leeway) <= now {
            return Err(invalid_token("the identity token has expired"));
        }
        let iat = numeric_date(&claims, "iat")?
            .ok_or_else(|| invalid_token("the identity token has no iat"))?;
        if iat > now.saturating_add(leeway) {
            return Err(invalid_token("the identity token was issued in the future"));
        }
        if let Some(nbf) = numeric_date(&claims, "nbf")?
            && nbf > now.saturating_add(leeway)
        {
            return Err(invalid_token("the identity token is not yet valid"));
        }
        match claims.get("sub") {
            Some(Value::String(s)) if !s.is_empty() => {}
            _ => return Err(invalid_token("the identity token has no subject")),
        }
        Ok((issuer, claims))
    }

    /// `POST /api/v2/signingCert`. `bearer` is the `Authorization: Bearer` token, if any; a
    /// token in the body's `credentials` takes precedence. `now` is the request's clock.
    pub async fn signing_cert(
        &self,
        bearer: Option<&str>,
        body: &[u8],
        now: jiff::Timestamp,
    ) -> Result<Value, ApiError> {
        let request = parse_request(body)?;
        let token = request
            .token
            .as_deref()
            .or(bearer)
            .filter(|t| !t.is_empty())
            .ok_or_else(|| {
                invalid_token("no identity token (Authorization: Bearer or credentials)")
            })?;
        let now_s = u64::try_from(now.as_second())
            .map_err(|_| ApiError::internal("the clock is before 1970"))?;
        let (issuer, claims) = self.verify_token(token, now_s).await?;
        let identity =
            identity::from_claims(issuer.kind, &issuer.url, issuer.domain.as_deref(), &claims)
                .map_err(from_ca_error)?;

        let spki = match request.key {
            KeyRequest::Csr(bytes) => fulcio::parse_csr(&bytes).map_err(from_ca_error)?,
            KeyRequest::PublicKey {
                spki,
                algorithm,
                proof,
            } => {
                let key = PublicKey::from_spki_der(&spki)
                    .map_err(|e| invalid_request(format!("publicKey.content: {e}")))?;
                if let Some(a) = &algorithm
                    && !algorithm_fits(a, key.algorithm())
                {
                    return Err(invalid_request(format!(
                        "publicKey.algorithm `{a}` does not fit the key"
                    )));
                }
                let claim = issuer.kind.challenge_claim();
                let challenge = claims
                    .get(claim)
                    .and_then(Value::as_str)
                    .ok_or_else(|| invalid_token("the identity token lacks the challenge claim"))?;
                fulcio::verify_proof_of_possession(&spki, challenge, &proof)
                    .map_err(from_ca_error)?;
                spki
            }
        };

        let timestamp_ms = u64::try_from(now.as_millisecond())
            .map_err(|_| ApiError::internal("the clock is before 1970"))?;
        // Signing (three ECDSA signatures) and the CT append (which waits for the CT log's
        // batch to be durable) run on a blocking thread, never on an async worker: a worker
        // parked on the CT batch would stall every other request it serves. No SCT, no
        // certificate: the append's error ends the issuing.
        let (ca, ct, append) = (self.ca.clone(), self.ct.clone(), self.ct_append.clone());
        let validity = self.validity;
        let issued = tokio::task::spawn_blocking(move || {
            fulcio::issue(&ca, &spki, &identity, now, validity, |entry| {
                let sct = ct.sign_precert(&entry.issuer_key_hash, &entry.tbs_der, timestamp_ms)?;
                let leaf = vouch_ca::ct::merkle_leaf(
                    &entry.issuer_key_hash,
                    &entry.tbs_der,
                    timestamp_ms,
                )?;
                append(leaf).map_err(CaError::Ct)?;
                Ok(sct)
            })
        })
        .await
        .map_err(|e| ApiError::internal(format!("the issuing task failed: {e}")))?
        .map_err(from_ca_error)?;
        Ok(json!({
            "signedCertificateEmbeddedSct": {
                "chain": {"certificates": issued.pem_chain()}
            }
        }))
    }

    /// `GET /api/v2/configuration`: the accepted issuers, as Fulcio lists them.
    pub fn configuration(&self) -> Value {
        let issuers: Vec<Value> = self
            .issuers
            .iter()
            .map(|i| {
                let mut o = json!({
                    "issuerUrl": i.url,
                    "audience": i.audience,
                    "challengeClaim": i.kind.challenge_claim(),
                });
                if i.kind == IssuerType::Spiffe
                    && let (Some(obj), Some(d)) = (o.as_object_mut(), &i.domain)
                {
                    obj.insert("spiffeTrustDomain".into(), d.clone().into());
                }
                o
            })
            .collect();
        json!({ "issuers": issuers })
    }

    /// `GET /api/v2/trustBundle`: the CA chain (issuing certificate first, root last).
    pub fn trust_bundle(&self) -> Value {
        let certs: Vec<String> = self.ca.chain_der().iter().map(|d| cert_pem(d)).collect();
        json!({ "chains": [{ "certificates": certs }] })
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use vouch_attest::x509::Cert;
    use vouch_ca::chain::generate_dev_chain;
    use vouch_crypto::keys::PrivateKey;

    use super::*;
    use crate::auth::issuer::LocalIssuer;

    const ISS: &str = "https://issuer.invalid";
    const NOW: i64 = 1_800_000_000;

    struct Env {
        svc: CaService,
        idp: LocalIssuer,
        leaves: Arc<Mutex<Vec<Vec<u8>>>>,
        _dir: tempfile::TempDir,
    }

    fn env(kind: IssuerType) -> Env {
        let dir = tempfile::tempdir().unwrap();
        let idp = LocalIssuer::load_or_create(dir.path(), ISS).unwrap();
        let jwks = KeySource::from_jwks_json(idp.jwks().to_string().as_bytes()).unwrap();
        let at = jiff::Timestamp::from_second(NOW - 3600).unwrap();
        let ca = generate_dev_chain(at, jiff::SignedDuration::from_hours(48))
            .unwrap()
            .into_ca_keys()
            .unwrap();
        let ct = CtLog::new(Box::new(
            PrivateKey::generate(KeyAlgorithm::EcdsaP256).unwrap(),
        ))
        .unwrap();
        let leaves = Arc::new(Mutex::new(Vec::new()));
        let l2 = leaves.clone();
        let append: CtAppend = Arc::new(move |leaf| {
            let mut l = l2.lock().map_err(|_| "poisoned".to_string())?;
            l.push(leaf);
            Ok(l.len() as u64 - 1)
        });
        let mut issuer = OidcIssuer::new(ISS, kind, jwks);
        issuer.domain = Some("issuer.invalid".into());
        Env {
            svc: CaService::new(ca, ct, append, vec![issuer]),
            idp,
            leaves,
            _dir: dir,
        }
    }

    fn claims() -> Map<String, Value> {
        json!({
            "iss": ISS, "sub": "user-1", "aud": ["sigstore"], "iat": NOW - 10, "exp": NOW + 300,
            "email": "dev@example.com", "email_verified": true,
        })
        .as_object()
        .unwrap()
        .clone()
    }

    fn csr_body(key: &PrivateKey) -> Vec<u8> {
        let der = fulcio::make_csr(key).unwrap();
        let pem = format!(
            "-----BEGIN CERTIFICATE REQUEST-----\n{}\n-----END CERTIFICATE REQUEST-----\n",
            STANDARD.encode(der)
        );
        json!({"certificateSigningRequest": STANDARD.encode(pem)})
            .to_string()
            .into_bytes()
    }

    fn now() -> jiff::Timestamp {
        jiff::Timestamp::from_second(NOW).unwrap()
    }

    fn pem_der(pem: &str) -> Vec<u8> {
        let (label, der) = vouch_crypto::keys::decode_pem(pem).unwrap();
        assert_eq!(label, "CERTIFICATE");
        der
    }

    #[tokio::test]
    async fn csr_flow_issues_a_logged_certificate() {
        let e = env(IssuerType::Email);
        let token = e.idp.sign_claims(&claims()).unwrap();
        let key = PrivateKey::generate(KeyAlgorithm::EcdsaP256).unwrap();
        let out = e
            .svc
            .signing_cert(Some(&token), &csr_body(&key), now())
            .await
            .unwrap();
        let certs = out["signedCertificateEmbeddedSct"]["chain"]["certificates"]
            .as_array()
            .unwrap();
        assert_eq!(certs.len(), 3);
        let leaf = Cert::from_der(&pem_der(certs[0].as_str().unwrap())).unwrap();
        let inter = Cert::from_der(&pem_der(certs[1].as_str().unwrap())).unwrap();
        leaf.issued_by(&inter).unwrap();
        assert_eq!(leaf.identities(), vec!["dev@example.com".to_string()]);
        assert_eq!(leaf.oidc_issuer().as_deref(), Some(ISS));
        assert_eq!(leaf.spki_der().unwrap(), key.public_key().spki_der());
        assert_eq!(leaf.embedded_scts().unwrap().len(), 1);
        assert_eq!(e.leaves.lock().unwrap().len(), 1);

        // configuration and trust bundle
        let conf = e.svc.configuration();
        assert_eq!(conf["issuers"][0]["issuerUrl"], ISS);
        assert_eq!(conf["issuers"][0]["audience"], "sigstore");
        assert_eq!(conf["issuers"][0]["challengeClaim"], "email");
        let tb = e.svc.trust_bundle();
        assert_eq!(tb["chains"][0]["certificates"].as_array().unwrap().len(), 2);
    }

    #[tokio::test]
    async fn public_key_flow_needs_the_proof() {
        let e = env(IssuerType::Email);
        let token = e.idp.sign_claims(&claims()).unwrap();
        let key = PrivateKey::generate(KeyAlgorithm::EcdsaP256).unwrap();
        let body = |proof: &[u8]| {
            json!({
                "credentials": {"oidcIdentityToken": token},
                "publicKeyRequest": {
                    "publicKey": {"algorithm": "ECDSA", "content": key.public_key().to_pem()},
                    "proofOfPossession": STANDARD.encode(proof),
                }
            })
            .to_string()
            .into_bytes()
        };
        let good = key.sign(b"dev@example.com").unwrap();
        e.svc.signing_cert(None, &body(&good), now()).await.unwrap();
        let bad = key.sign(b"user-1").unwrap();
        let err = e
            .svc
            .signing_cert(None, &body(&bad), now())
            .await
            .unwrap_err();
        assert_eq!(err.code, Code::InvalidRequest);
        assert_eq!(e.leaves.lock().unwrap().len(), 1);
    }

    #[tokio::test]
    async fn token_checks() {
        let e = env(IssuerType::Email);
        let key = PrivateKey::generate(KeyAlgorithm::EcdsaP256).unwrap();
        let body = csr_body(&key);
        let code_with = |f: &dyn Fn(&mut Map<String, Value>)| {
            let mut c = claims();
            f(&mut c);
            e.idp.sign_claims(&c).unwrap()
        };
        let cases: Vec<(&str, String)> = vec![
            (
                "aud",
                code_with(&|c| {
                    c.insert("aud".into(), "other".into());
                }),
            ),
            (
                "exp",
                code_with(&|c| {
                    c.insert("exp".into(), (NOW - 120).into());
                }),
            ),
            (
                "no exp",
                code_with(&|c| {
                    c.remove("exp");
                }),
            ),
            (
                "no iat",
                code_with(&|c| {
                    c.remove("iat");
                }),
            ),
            (
                "iat future",
                code_with(&|c| {
                    c.insert("iat".into(), (NOW + 600).into());
                }),
            ),
            (
                "iss",
                code_with(&|c| {
                    c.insert("iss".into(), "https://other.invalid".into());
                }),
            ),
            (
                "no sub",
                code_with(&|c| {
                    c.remove("sub");
                }),
            ),
            (
                "unverified",
                code_with(&|c| {
                    c.insert("email_verified".into(), false.into());
                }),
            ),
            ("garbage", "a.b.c".into()),
        ];
        for (what, token) in cases {
            let err = e
                .svc
                .signing_cert(Some(&token), &body, now())
                .await
                .unwrap_err();
            assert_eq!(err.code, Code::InvalidToken, "{what}: {err:?}");
            assert!(!err.message.contains(&token), "token leaked");
        }
        // A tampered signature.
        let token = e.idp.sign_claims(&claims()).unwrap();
        let mut parts: Vec<String> = token.split('.').map(str::to_owned).collect();
        let mut c = claims();
        c.insert("email".into(), "evil@example.com".into());
        parts[1] = URL_SAFE_NO_PAD.encode(Value::Object(c).to_string());
        let forged = parts.join(".");
        let err = e
            .svc
            .signing_cert(Some(&forged), &body, now())
            .await
            .unwrap_err();
        assert_eq!(err.code, Code::InvalidToken);
        // No token at all; a malformed body.
        let err = e.svc.signing_cert(None, &body, now()).await.unwrap_err();
        assert_eq!(err.code, Code::InvalidToken);
        let err = e
            .svc
            .signing_cert(Some(&token), b"{}", now())
            .await
            .unwrap_err();
        assert_eq!(err.code, Code::InvalidRequest);
        let err = e
            .svc
            .signing_cert(
                Some(&token),
                br#"{"certificateSigningRequest":"!!"}"#,
                now(),
            )
            .await
            .unwrap_err();
        assert_eq!(err.code, Code::InvalidRequest);
        assert!(e.leaves.lock().unwrap().is_empty());
    }

    #[tokio::test]
    async fn ct_failure_issues_nothing() {
        let mut e = env(IssuerType::Email);
        e.svc.ct_append = Arc::new(|_| Err("disk full".into()));
        let token = e.idp.sign_claims(&claims()).unwrap();
        let key = PrivateKey::generate(KeyAlgorithm::EcdsaP256).unwrap();
        let err = e
            .svc
            .signing_cert(Some(&token), &csr_body(&key), now())
            .await
            .unwrap_err();
        assert_eq!(err.code, Code::Unavailable);
    }

    #[tokio::test]
    async fn spiffe_configuration_names_the_trust_domain() {
        let e = env(IssuerType::Spiffe);
        let conf = e.svc.configuration();
        assert_eq!(conf["issuers"][0]["challengeClaim"], "sub");
        assert_eq!(conf["issuers"][0]["spiffeTrustDomain"], "issuer.invalid");
        let mut c = claims();
        c.insert("sub".into(), "spiffe://issuer.invalid/ns/a".into());
        let token = e.idp.sign_claims(&c).unwrap();
        let key = PrivateKey::generate(KeyAlgorithm::EcdsaP256).unwrap();
        let out = e
            .svc
            .signing_cert(Some(&token), &csr_body(&key), now())
            .await
            .unwrap();
        let leaf = out["signedCertificateEmbeddedSct"]["chain"]["certificates"][0]
            .as_str()
            .unwrap();
        let leaf = Cert::from_der(&pem_der(leaf)).unwrap();
        assert_eq!(
            leaf.identities(),
            vec!["spiffe://issuer.invalid/ns/a".to_string()]
        );
    }
}
