//! The negative matrix: every way a request can be wrong fails with the right code, and the
//! right request passes.

use std::sync::OnceLock;

use axum::http::{HeaderMap, HeaderValue, Method};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use proptest::prelude::*;
use serde_json::{Map, Value, json};
use tempfile::TempDir;

use super::*;

const URL: &str = "https://signer.example/v1/sign";
const ISS: &str = "https://issuer.example";
const NOW: u64 = 1_700_000_000;
const SECRET: &[u8] = b"a nonce secret of at least 32 bytes!";

struct Env {
    _dir: TempDir,
    issuer: LocalIssuer,
    auth: Authenticator,
    key: DpopKey,
}

fn env_with(tweak: impl FnOnce(&mut AuthConfig)) -> Env {
    let dir = tempfile::tempdir().unwrap();
    let issuer = LocalIssuer::load_or_create(dir.path(), ISS).unwrap();
    let mut cfg = AuthConfig::new(ISS);
    tweak(&mut cfg);
    let keys = KeySource::from_jwks_json(issuer.jwks().to_string().as_bytes()).unwrap();
    let auth = Authenticator::new(cfg, keys, ReplayCache::memory(1000), SECRET).unwrap();
    Env {
        _dir: dir,
        issuer,
        auth,
        key: DpopKey::generate().unwrap(),
    }
}

fn env() -> Env {
    env_with(|_| {})
}

fn mint_req(jkt: Option<&str>) -> MintRequest {
    MintRequest {
        subject: "ci@example".into(),
        tenant: "acme".into(),
        scope: "signer.sign other".into(),
        audience: "signer".into(),
        ttl_seconds: 600,
        dpop_jkt: jkt.map(str::to_owned),
        now: NOW,
        ..MintRequest::default()
    }
}

/// The claims `mint` would give, for tests that change one of them.
fn claims(env: &Env) -> Map<String, Value> {
    json!({
        "iss": ISS, "sub": "ci@example", "aud": "signer", "tenant": "acme",
        "scope": "signer.sign", "iat": NOW, "exp": NOW + 600, "jti": "t1",
        "cnf": {"jkt": env.key.thumbprint()}
    })
    .as_object()
    .unwrap()
    .clone()
}

impl Env {
    fn token(&self) -> String {
        self.issuer
            .mint(&mint_req(Some(self.key.thumbprint())))
            .unwrap()
    }

    fn signed(&self, f: impl FnOnce(&mut Map<String, Value>)) -> String {
        let mut c = claims(self);
        f(&mut c);
        self.issuer.sign_claims(&c).unwrap()
    }

    fn proof(&self, token: &str) -> String {
        let nonce = self.auth.fresh_nonce(NOW);
        self.key
            .proof("POST", URL, Some(token), Some(&nonce), NOW)
            .unwrap()
    }

    fn proof_claims(&self, token: &str) -> Value {
        json!({
            "jti": uuid::Uuid::new_v4().to_string(), "htm": "POST", "htu": URL, "iat": NOW,
            "ath": dpop::access_token_hash(token), "nonce": self.auth.fresh_nonce(NOW)
        })
    }

    async fn call_full(
        &self,
        method: &Method,
        url: &str,
        authorization: &[&str],
        proofs: &[&str],
        cert: Option<&[u8]>,
        now: u64,
    ) -> Result<Principal, ApiError> {
        let mut headers = HeaderMap::new();
        for a in authorization {
            headers.append("authorization", HeaderValue::from_str(a).unwrap());
        }
        for p in proofs {
            headers.append("dpop", HeaderValue::from_str(p).unwrap());
        }
        self.auth
            .authenticate(&RequestFacts {
                method,
                url,
                headers: &headers,
                client_cert: cert,
                now,
            })
            .await
    }

    async fn call(&self, token: &str, proof: &str) -> Result<Principal, ApiError> {
        self.call_full(
            &Method::POST,
            URL,
            &[&format!("DPoP {token}")],
            &[proof],
            None,
            NOW,
        )
        .await
    }

    async fn code_with_proof_claims(&self, f: impl FnOnce(&mut Value)) -> Code {
        let token = self.token();
        let mut c = self.proof_claims(&token);
        f(&mut c);
        let proof = self.key.sign(&self.key.header(), &c).unwrap();
        self.call(&token, &proof).await.unwrap_err().code
    }

    async fn code_with_proof_header(&self, f: impl FnOnce(&mut Value)) -> Code {
        let token = self.token();
        let mut h = self.key.header();
        f(&mut h);
        let proof = self.key.sign(&h, &self.proof_claims(&token)).unwrap();
        self.call(&token, &proof).await.unwrap_err().code
    }
}

async fn code(env: &Env, token: &str) -> Code {
    env.call(token, &env.proof(token)).await.unwrap_err().code
}

#[tokio::test]
async fn dpop_success_gives_the_principal() {
    let e = env();
    let t = e.token();
    let p = e.call(&t, &e.proof(&t)).await.unwrap();
    assert_eq!(p.subject, "ci@example");
    assert_eq!(p.tenant, "acme");
    assert_eq!(p.scopes, vec!["signer.sign", "other"]);
    assert!(p.token_id.is_some());
    assert_eq!(
        p.binding,
        Binding::Dpop {
            jkt: e.key.thumbprint().to_owned()
        }
    );
    assert!(require_scope(&p, "other").is_ok());
    assert_eq!(
        require_scope(&p, "admin").unwrap_err().code,
        Code::InsufficientScope
    );
    assert!(require_tenant(&p, "acme").is_ok());
}

#[tokio::test]
async fn missing_token_and_malformed_authorization() {
    let e = env();
    let t = e.token();
    let pr = e.proof(&t);
    for auth in [
        &[][..],
        &["DPoP"][..],
        &["DPoP "][..],
        &["Basic dXNlcjpwYXNz"][..],
        &["DPoP a b"][..],
    ] {
        let err = e
            .call_full(&Method::POST, URL, auth, &[&pr], None, NOW)
            .await
            .unwrap_err();
        assert_eq!(err.code, Code::InvalidToken, "{auth:?}");
    }
    let two = format!("DPoP {t}");
    let err = e
        .call_full(&Method::POST, URL, &[&two, &two], &[&pr], None, NOW)
        .await
        .unwrap_err();
    assert_eq!(err.code, Code::InvalidToken);
}

#[tokio::test]
async fn time_claims() {
    let e = env();
    // Expired beyond the leeway; within it still good.
    let t = e.signed(|c| {
        c.insert("exp".into(), (NOW - 31).into());
    });
    assert_eq!(code(&e, &t).await, Code::InvalidToken);
    let t = e.signed(|c| {
        c.insert("exp".into(), (NOW - 10).into());
    });
    assert!(e.call(&t, &e.proof(&t)).await.is_ok());
    // No exp at all.
    let t = e.signed(|c| {
        c.remove("exp");
    });
    assert_eq!(code(&e, &t).await, Code::InvalidToken);
    // Not yet valid.
    let t = e.signed(|c| {
        c.insert("nbf".into(), (NOW + 100).into());
    });
    assert_eq!(code(&e, &t).await, Code::InvalidToken);
    // Issued in the future beyond the leeway.
    let t = e.signed(|c| {
        c.insert("iat".into(), (NOW + 100).into());
    });
    assert_eq!(code(&e, &t).await, Code::InvalidToken);
    // Malformed time.
    let t = e.signed(|c| {
        c.insert("exp".into(), "tomorrow".into());
    });
    assert_eq!(code(&e, &t).await, Code::InvalidToken);
}

#[tokio::test]
async fn issuer_audience_scope_tenant() {
    let e = env();
    let other = LocalIssuer::load_or_create(e._dir.path(), "https://evil.example").unwrap();
    let t = other.mint(&mint_req(Some(e.key.thumbprint()))).unwrap();
    assert_eq!(code(&e, &t).await, Code::InvalidToken, "wrong iss");
    let t = e.signed(|c| {
        c.insert("iss".into(), "https://issuer.example/".into());
    });
    assert_eq!(
        code(&e, &t).await,
        Code::InvalidToken,
        "iss compared exactly"
    );

    let t = e.signed(|c| {
        c.insert("aud".into(), "verifier".into());
    });
    assert_eq!(code(&e, &t).await, Code::InvalidToken, "wrong aud");
    let t = e.signed(|c| {
        c.remove("aud");
    });
    assert_eq!(code(&e, &t).await, Code::InvalidToken, "no aud");
    let t = e.signed(|c| {
        c.insert("aud".into(), json!(["verifier", "signer"]));
    });
    assert!(e.call(&t, &e.proof(&t)).await.is_ok(), "aud array");

    let t = e.signed(|c| {
        c.insert("scope".into(), "signer.read".into());
    });
    assert_eq!(code(&e, &t).await, Code::InsufficientScope, "wrong scope");
    let t = e.signed(|c| {
        c.insert("scope".into(), json!(["x", "signer.sign"]));
    });
    assert!(e.call(&t, &e.proof(&t)).await.is_ok(), "scope array");

    let t = e.signed(|c| {
        c.remove("tenant");
    });
    assert_eq!(code(&e, &t).await, Code::InvalidToken, "missing tenant");
    let t = e.signed(|c| {
        c.insert("tenant".into(), 7.into());
    });
    assert_eq!(
        code(&e, &t).await,
        Code::InvalidToken,
        "tenant not a string"
    );
    let t = e.signed(|c| {
        c.remove("sub");
    });
    assert_eq!(code(&e, &t).await, Code::InvalidToken, "missing sub");

    let t = e.token();
    let p = e.call(&t, &e.proof(&t)).await.unwrap();
    assert_eq!(
        require_tenant(&p, "globex").unwrap_err().code,
        Code::InsufficientScope
    );
}

#[tokio::test]
async fn tenant_claim_is_configurable() {
    let e = env_with(|c| c.tenant_claim = "org".into());
    let t = e.token(); // has "tenant", not "org"
    assert_eq!(code(&e, &t).await, Code::InvalidToken);
    let t = e.signed(|c| {
        c.insert("org".into(), "initech".into());
    });
    assert_eq!(e.call(&t, &e.proof(&t)).await.unwrap().tenant, "initech");
}

#[tokio::test]
async fn bearer_only_refused() {
    let e = env();
    // A token without cnf, with either scheme.
    let t = e.issuer.mint(&mint_req(None)).unwrap();
    assert_eq!(code(&e, &t).await, Code::InvalidToken);
    let err = e
        .call_full(
            &Method::POST,
            URL,
            &[&format!("Bearer {t}")],
            &[],
            None,
            NOW,
        )
        .await
        .unwrap_err();
    assert_eq!(err.code, Code::InvalidToken);
    // A DPoP-bound token sent as Bearer, with or without its proof.
    let t = e.token();
    let pr = e.proof(&t);
    for proofs in [&[][..], &[pr.as_str()][..]] {
        let err = e
            .call_full(
                &Method::POST,
                URL,
                &[&format!("Bearer {t}")],
                proofs,
                None,
                NOW,
            )
            .await
            .unwrap_err();
        assert_eq!(err.code, Code::InvalidToken);
    }
    // DPoP scheme without a proof.
    let err = e
        .call_full(&Method::POST, URL, &[&format!("DPoP {t}")], &[], None, NOW)
        .await
        .unwrap_err();
    assert_eq!(err.code, Code::InvalidDpopProof);
}

#[tokio::test]
async fn replayed_proof_refused() {
    let e = env();
    let t = e.token();
    let pr = e.proof(&t);
    assert!(e.call(&t, &pr).await.is_ok());
    assert_eq!(
        e.call(&t, &pr).await.unwrap_err().code,
        Code::InvalidDpopProof
    );
    // A new proof is fine.
    assert!(e.call(&t, &e.proof(&t)).await.is_ok());
}

#[tokio::test]
async fn proof_claim_checks() {
    let e = env();
    let c = |v: &mut Value, k: &str, x: Value| {
        v[k] = x;
    };
    assert_eq!(
        e.code_with_proof_claims(|v| c(v, "htu", "https://signer.example/v1/other".into()))
            .await,
        Code::InvalidDpopProof,
        "wrong htu"
    );
    assert_eq!(
        e.code_with_proof_claims(|v| c(v, "htu", "https://evil.example/v1/sign".into()))
            .await,
        Code::InvalidDpopProof,
        "wrong htu host"
    );
    assert_eq!(
        e.code_with_proof_claims(|v| c(v, "htm", "GET".into()))
            .await,
        Code::InvalidDpopProof,
        "wrong htm"
    );
    assert_eq!(
        e.code_with_proof_claims(|v| c(v, "htm", "post".into()))
            .await,
        Code::InvalidDpopProof,
        "htm is case-sensitive"
    );
    assert_eq!(
        e.code_with_proof_claims(|v| c(v, "iat", (NOW - 61).into()))
            .await,
        Code::InvalidDpopProof,
        "stale iat"
    );
    assert_eq!(
        e.code_with_proof_claims(|v| c(v, "iat", (NOW + 61).into()))
            .await,
        Code::InvalidDpopProof,
        "future iat"
    );
    assert_eq!(
        e.code_with_proof_claims(|v| c(v, "ath", dpop::access_token_hash("another").into()))
            .await,
        Code::InvalidDpopProof,
        "bad ath"
    );
    assert_eq!(
        e.code_with_proof_claims(|v| {
            v.as_object_mut().unwrap().remove("ath");
        })
        .await,
        Code::InvalidDpopProof,
        "no ath"
    );
    assert_eq!(
        e.code_with_proof_claims(|v| {
            v.as_object_mut().unwrap().remove("jti");
        })
        .await,
        Code::InvalidDpopProof,
        "no jti"
    );
    assert_eq!(
        e.code_with_proof_claims(|v| c(v, "jti", "x".repeat(300).into()))
            .await,
        Code::InvalidDpopProof,
        "huge jti"
    );
}

#[tokio::test]
async fn proof_for_another_key_refused() {
    let e = env();
    let t = e.token();
    let other = DpopKey::generate().unwrap();
    let nonce = e.auth.fresh_nonce(NOW);
    let pr = other
        .proof("POST", URL, Some(&t), Some(&nonce), NOW)
        .unwrap();
    assert_eq!(
        e.call(&t, &pr).await.unwrap_err().code,
        Code::InvalidDpopProof
    );
}

#[tokio::test]
async fn nonce_flow() {
    let e = env();
    let t = e.token();
    // No nonce: use_dpop_nonce with a fresh one, which then works.
    let pr = e.key.proof("POST", URL, Some(&t), None, NOW).unwrap();
    let err = e.call(&t, &pr).await.unwrap_err();
    assert_eq!(err.code, Code::UseDpopNonce);
    let nonce = err.dpop_nonce.expect("a fresh nonce");
    let pr = e
        .key
        .proof("POST", URL, Some(&t), Some(&nonce), NOW + 1)
        .unwrap();
    let ok = e
        .call_full(
            &Method::POST,
            URL,
            &[&format!("DPoP {t}")],
            &[&pr],
            None,
            NOW + 1,
        )
        .await;
    assert!(ok.is_ok(), "{ok:?}");

    // Expired nonce.
    let old = e.auth.fresh_nonce(NOW - 301);
    let pr = e.key.proof("POST", URL, Some(&t), Some(&old), NOW).unwrap();
    let err = e.call(&t, &pr).await.unwrap_err();
    assert_eq!(err.code, Code::UseDpopNonce);
    assert!(err.dpop_nonce.is_some());

    // Forged nonce (another secret) and garbage.
    let forger = nonce::NonceIssuer::new(b"someone else's secret, 32 bytes+", 300).unwrap();
    for bad in [forger.issue(NOW), "garbage".to_owned()] {
        let pr = e.key.proof("POST", URL, Some(&t), Some(&bad), NOW).unwrap();
        let err = e.call(&t, &pr).await.unwrap_err();
        assert_eq!(err.code, Code::UseDpopNonce);
    }
}

#[tokio::test]
async fn nonce_not_required_when_configured() {
    let e = env_with(|c| c.dpop.require_nonce = false);
    let t = e.token();
    let pr = e.key.proof("POST", URL, Some(&t), None, NOW).unwrap();
    assert!(e.call(&t, &pr).await.is_ok());
    // A nonce that is present must still be valid.
    let pr = e
        .key
        .proof("POST", URL, Some(&t), Some("bad"), NOW)
        .unwrap();
    assert_eq!(e.call(&t, &pr).await.unwrap_err().code, Code::UseDpopNonce);
}

fn fake_jws(header: &Value, claims: &Value, sig: &[u8]) -> String {
    format!(
        "{}.{}.{}",
        URL_SAFE_NO_PAD.encode(header.to_string()),
        URL_SAFE_NO_PAD.encode(claims.to_string()),
        URL_SAFE_NO_PAD.encode(sig)
    )
}

#[tokio::test]
async fn alg_none_and_hmac_tokens_refused() {
    let e = env();
    let c = Value::Object(claims(&e));
    let kid = e.issuer.kid();
    for sig in [&b""[..], &b"x"[..]] {
        let t = fake_jws(&json!({"alg": "none", "kid": kid}), &c, sig);
        assert_eq!(code(&e, &t).await, Code::InvalidToken);
    }
    // HS256 keyed with the issuer's public key bytes (the classic confusion).
    let jwk = &e.issuer.jwks()["keys"][0];
    let secret = jwk["x"].as_str().unwrap().as_bytes().to_vec();
    let header = json!({"alg": "HS256", "kid": kid, "typ": "JWT"});
    let input = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(header.to_string()),
        URL_SAFE_NO_PAD.encode(c.to_string())
    );
    let key = aws_lc_rs::hmac::Key::new(aws_lc_rs::hmac::HMAC_SHA256, &secret);
    let tag = aws_lc_rs::hmac::sign(&key, input.as_bytes());
    let t = format!("{input}.{}", URL_SAFE_NO_PAD.encode(tag.as_ref()));
    assert_eq!(code(&e, &t).await, Code::InvalidToken);
    // No kid; unknown kid; a proof passed off as a token.
    let mut h = json!({"alg": "ES256"});
    let t = e.key.sign(&h, &c).unwrap();
    assert_eq!(code(&e, &t).await, Code::InvalidToken);
    h["kid"] = "nope".into();
    let t = e.key.sign(&h, &c).unwrap();
    assert_eq!(code(&e, &t).await, Code::InvalidToken);
    let t = e.signed(|_| {});
    let parts: Vec<&str> = t.split('.').collect();
    let dpop_typed = format!(
        "{}.{}.{}",
        URL_SAFE_NO_PAD.encode(json!({"alg": "ES256", "kid": kid, "typ": "dpop+jwt"}).to_string()),
        parts[1],
        parts[2]
    );
    assert_eq!(code(&e, &dpop_typed).await, Code::InvalidToken);
    // A tampered payload does not verify.
    let tampered = format!(
        "{}.{}.{}",
        parts[0],
        URL_SAFE_NO_PAD.encode(
            json!({"iss": ISS, "sub": "root", "aud": "signer", "tenant": "acme",
                   "scope": "signer.sign", "exp": NOW + 600,
                   "cnf": {"jkt": e.key.thumbprint()}})
            .to_string()
        ),
        parts[2]
    );
    assert_eq!(code(&e, &tampered).await, Code::InvalidToken);
}

#[tokio::test]
async fn proof_header_checks() {
    let e = env();
    assert_eq!(
        e.code_with_proof_header(|v| v["alg"] = "none".into()).await,
        Code::InvalidDpopProof,
        "alg none"
    );
    assert_eq!(
        e.code_with_proof_header(|v| v["alg"] = "HS256".into())
            .await,
        Code::InvalidDpopProof,
        "alg HS256"
    );
    assert_eq!(
        e.code_with_proof_header(|v| v["alg"] = "ES384".into())
            .await,
        Code::InvalidDpopProof,
        "alg not the key's"
    );
    assert_eq!(
        e.code_with_proof_header(|v| v["jwk"]["d"] = "AAAA".into())
            .await,
        Code::InvalidDpopProof,
        "private key in jwk"
    );
    assert_eq!(
        e.code_with_proof_header(|v| {
            v.as_object_mut().unwrap().remove("jwk");
        })
        .await,
        Code::InvalidDpopProof,
        "no jwk"
    );
    assert_eq!(
        e.code_with_proof_header(|v| v["typ"] = "JWT".into()).await,
        Code::InvalidDpopProof,
        "typ JWT"
    );
    assert_eq!(
        e.code_with_proof_header(|v| {
            v.as_object_mut().unwrap().remove("typ");
        })
        .await,
        Code::InvalidDpopProof,
        "no typ"
    );
    assert_eq!(
        e.code_with_proof_header(|v| v["crit"] = json!(["exp"]))
            .await,
        Code::InvalidDpopProof,
        "crit"
    );
    // A jwk that is not the signing key: the signature does not verify.
    let other = DpopKey::generate().unwrap();
    let other_jwk = Value::Object(other.public_jwk().clone());
    assert_eq!(
        e.code_with_proof_header(move |v| v["jwk"] = other_jwk)
            .await,
        Code::InvalidDpopProof,
        "jwk of another key"
    );

    // alg none proof, unsigned.
    let t = e.token();
    let mut hd = e.key.header();
    hd["alg"] = "none".into();
    let pr = fake_jws(&hd, &e.proof_claims(&t), b"");
    assert_eq!(
        e.call(&t, &pr).await.unwrap_err().code,
        Code::InvalidDpopProof
    );
    let pr = format!("{}.", &pr[..pr.len() - 1]);
    assert_eq!(
        e.call(&t, &pr).await.unwrap_err().code,
        Code::InvalidDpopProof
    );
}

#[tokio::test]
async fn dpop_algorithm_list_is_honoured() {
    let e = env_with(|c| c.dpop.algorithms = vec![jsonwebtoken::Algorithm::EdDSA]);
    let t = e.token();
    assert_eq!(code(&e, &t).await, Code::InvalidDpopProof);
}

#[tokio::test]
async fn two_dpop_headers_refused() {
    let e = env();
    let t = e.token();
    let (a, b) = (e.proof(&t), e.proof(&t));
    let err = e
        .call_full(
            &Method::POST,
            URL,
            &[&format!("DPoP {t}")],
            &[&a, &b],
            None,
            NOW,
        )
        .await
        .unwrap_err();
    assert_eq!(err.code, Code::InvalidDpopProof);
}

#[tokio::test]
async fn htu_normalisation_through_authenticate() {
    let e = env();
    for (request_url, htu) in [
        (
            "https://signer.example:443/v1/sign?tenant=acme",
            "HTTPS://Signer.Example/v1/sign",
        ),
        (
            "https://SIGNER.example/v1/sign",
            "https://signer.example:443/v1/sign#f",
        ),
        (
            "https://signer.example/v1/sign",
            "https://signer.example/v1/sign?q=1",
        ),
        (
            "http://signer.example:80/v1/sign",
            "http://signer.example/v1/sign",
        ),
    ] {
        let t = e.token();
        let pr = e
            .key
            .sign(
                &e.key.header(),
                &json!({"jti": uuid::Uuid::new_v4().to_string(), "htm": "POST", "htu": htu,
                        "iat": NOW, "ath": dpop::access_token_hash(&t),
                        "nonce": e.auth.fresh_nonce(NOW)}),
            )
            .unwrap();
        let r = e
            .call_full(
                &Method::POST,
                request_url,
                &[&format!("DPoP {t}")],
                &[&pr],
                None,
                NOW,
            )
            .await;
        assert!(r.is_ok(), "{request_url} vs {htu}: {r:?}");
    }
    // Another port, path case and scheme are not the same URL.
    for htu in [
        "https://signer.example:8443/v1/sign",
        "https://signer.example/V1/sign",
        "http://signer.example/v1/sign",
    ] {
        assert_eq!(
            e.code_with_proof_claims(|v| v["htu"] = htu.into()).await,
            Code::InvalidDpopProof,
            "{htu}"
        );
    }
}

#[tokio::test]
async fn mtls_binding() {
    let e = env();
    let cert = b"client certificate DER".as_slice();
    let mut req = mint_req(None);
    req.x5t_s256 = Some(mtls::cert_thumbprint(cert));
    let t = e.issuer.mint(&req).unwrap();
    let bearer = format!("Bearer {t}");
    let p = e
        .call_full(&Method::POST, URL, &[&bearer], &[], Some(cert), NOW)
        .await
        .unwrap();
    assert_eq!(
        p.binding,
        Binding::Mtls {
            x5t_s256: mtls::cert_thumbprint(cert)
        }
    );
    for c in [None, Some(&b"another certificate"[..])] {
        let err = e
            .call_full(&Method::POST, URL, &[&bearer], &[], c, NOW)
            .await
            .unwrap_err();
        assert_eq!(err.code, Code::InvalidToken);
    }
    // mTLS refused when only DPoP is configured, and DPoP when only mTLS is.
    let d = env_with(|c| c.sender_constraint = SenderConstraint::Dpop);
    let t = d.issuer.mint(&req).unwrap();
    let err = d
        .call_full(
            &Method::POST,
            URL,
            &[&format!("Bearer {t}")],
            &[],
            Some(cert),
            NOW,
        )
        .await
        .unwrap_err();
    assert_eq!(err.code, Code::InvalidToken);
    let m = env_with(|c| c.sender_constraint = SenderConstraint::Mtls);
    let t = m.token();
    assert_eq!(code(&m, &t).await, Code::InvalidToken);
}

#[tokio::test]
async fn dpop_token_also_bound_to_a_certificate_needs_it() {
    let e = env();
    let cert = b"cert".as_slice();
    let mut req = mint_req(Some(e.key.thumbprint()));
    req.x5t_s256 = Some(mtls::cert_thumbprint(cert));
    let t = e.issuer.mint(&req).unwrap();
    let auth = format!("DPoP {t}");
    let err = e
        .call_full(&Method::POST, URL, &[&auth], &[&e.proof(&t)], None, NOW)
        .await
        .unwrap_err();
    assert_eq!(err.code, Code::InvalidToken);
    assert!(
        e.call_full(
            &Method::POST,
            URL,
            &[&auth],
            &[&e.proof(&t)],
            Some(cert),
            NOW
        )
        .await
        .is_ok()
    );
}

#[tokio::test]
async fn step_up() {
    let e = env();
    let t = e.token();
    let p = e.call(&t, &e.proof(&t)).await.unwrap();
    let su = StepUpConfig::default();
    assert_eq!(
        require_step_up(&p, &su).unwrap_err().code,
        Code::StepUpRequired
    );
    let mut req = mint_req(Some(e.key.thumbprint()));
    req.amr = vec!["pwd".into(), "hwk".into()];
    let t = e.issuer.mint(&req).unwrap();
    let p = e.call(&t, &e.proof(&t)).await.unwrap();
    assert!(require_step_up(&p, &su).is_ok());
    let mut req = mint_req(Some(e.key.thumbprint()));
    req.acr = Some("urn:example:mfa".into());
    let t = e.issuer.mint(&req).unwrap();
    let p = e.call(&t, &e.proof(&t)).await.unwrap();
    assert!(require_step_up(&p, &su).is_err());
    let su = StepUpConfig {
        acr_values: vec!["urn:example:mfa".into()],
        amr_values: vec![],
    };
    assert!(require_step_up(&p, &su).is_ok());
}

#[tokio::test]
async fn jwks_file_rotation() {
    let dir = tempfile::tempdir().unwrap();
    let a = LocalIssuer::load_or_create(&dir.path().join("a"), ISS).unwrap();
    let b = LocalIssuer::load_or_create(&dir.path().join("b"), ISS).unwrap();
    assert_ne!(a.kid(), b.kid());
    let jwks = dir.path().join("jwks.json");
    std::fs::write(&jwks, a.jwks().to_string()).unwrap();
    let key = DpopKey::generate().unwrap();

    // Unknown kid re-reads the file (no wait configured): B's key is found after rotation.
    let mk = |min_refetch: u64, jwks: std::path::PathBuf| async move {
        let mut cfg = AuthConfig::new(ISS);
        cfg.jwks_file = Some(jwks);
        cfg.jwks_refresh_seconds = 3600;
        cfg.jwks_min_refetch_seconds = min_refetch;
        let keys = cfg.key_source().await.unwrap();
        Authenticator::new(cfg, keys, ReplayCache::memory(100), SECRET).unwrap()
    };
    let eager = mk(0, jwks.clone()).await;
    let lazy = mk(3600, jwks.clone()).await;
    let run = |auth: &Authenticator, issuer: &LocalIssuer| {
        let t = issuer.mint(&mint_req(Some(key.thumbprint()))).unwrap();
        let nonce = auth.fresh_nonce(NOW);
        let pr = key.proof("POST", URL, Some(&t), Some(&nonce), NOW).unwrap();
        let mut headers = HeaderMap::new();
        headers.insert("authorization", format!("DPoP {t}").parse().unwrap());
        headers.insert("dpop", pr.parse().unwrap());
        (headers, t)
    };
    fn facts(h: &HeaderMap) -> RequestFacts<'_> {
        RequestFacts {
            method: &Method::POST,
            url: URL,
            headers: h,
            client_cert: None,
            now: NOW,
        }
    }
    let (h, _) = run(&eager, &a);
    assert!(eager.authenticate(&facts(&h)).await.is_ok());
    let (h, _) = run(&eager, &b);
    assert_eq!(
        eager.authenticate(&facts(&h)).await.unwrap_err().code,
        Code::InvalidToken
    );
    std::fs::write(
        dir.path().join("jwks.json"),
        json!({"keys": [b.jwks()["keys"][0].clone()]}).to_string(),
    )
    .unwrap();
    let (h, _) = run(&eager, &b);
    assert!(eager.authenticate(&facts(&h)).await.is_ok());
    // A's key has been rotated out.
    let (h, _) = run(&eager, &a);
    assert_eq!(
        eager.authenticate(&facts(&h)).await.unwrap_err().code,
        Code::InvalidToken
    );
    // With a long minimum interval, an unknown kid does not re-read at once.
    let (h, _) = run(&lazy, &b);
    assert_eq!(
        lazy.authenticate(&facts(&h)).await.unwrap_err().code,
        Code::InvalidToken
    );
}

/// A token is verified once and remembered; a later use still checks the clock and that its
/// key is still published.
#[tokio::test]
async fn a_remembered_token_is_checked_again_for_time_and_key() {
    let dir = tempfile::tempdir().unwrap();
    let a = LocalIssuer::load_or_create(&dir.path().join("a"), ISS).unwrap();
    let b = LocalIssuer::load_or_create(&dir.path().join("b"), ISS).unwrap();
    let jwks = dir.path().join("jwks.json");
    std::fs::write(&jwks, a.jwks().to_string()).unwrap();
    let mut cfg = AuthConfig::new(ISS);
    cfg.jwks_file = Some(jwks.clone());
    cfg.jwks_min_refetch_seconds = 0;
    let keys = cfg.key_source().await.unwrap();
    let auth = Authenticator::new(cfg, keys, ReplayCache::memory(100), SECRET).unwrap();
    let key = DpopKey::generate().unwrap();
    let token = a.mint(&mint_req(Some(key.thumbprint()))).unwrap();
    let call = |now: u64| {
        let pr = key
            .proof("POST", URL, Some(&token), Some(&auth.fresh_nonce(now)), now)
            .unwrap();
        let mut headers = HeaderMap::new();
        headers.insert("authorization", format!("DPoP {token}").parse().unwrap());
        headers.insert("dpop", pr.parse().unwrap());
        headers
    };
    fn facts(h: &HeaderMap, now: u64) -> RequestFacts<'_> {
        RequestFacts {
            method: &Method::POST,
            url: URL,
            headers: h,
            client_cert: None,
            now,
        }
    }
    let h = call(NOW);
    assert!(auth.authenticate(&facts(&h, NOW)).await.is_ok());
    let h = call(NOW + 1);
    assert!(auth.authenticate(&facts(&h, NOW + 1)).await.is_ok());
    // Remembered, but past its exp (600 s + leeway): refused.
    let late = NOW + 3600;
    let h = call(late);
    let e = auth.authenticate(&facts(&h, late)).await.unwrap_err();
    assert_eq!(e.code, Code::InvalidToken);
    assert!(e.message.contains("expired"), "{}", e.message);
    // Its key rotated out of the JWKS (seen by the key source when B's new kid makes it
    // re-read the file): refused, though it verified a moment ago.
    std::fs::write(&jwks, b.jwks().to_string()).unwrap();
    let tb = b.mint(&mint_req(Some(key.thumbprint()))).unwrap();
    let pb = key
        .proof("POST", URL, Some(&tb), Some(&auth.fresh_nonce(NOW)), NOW)
        .unwrap();
    let mut hb = HeaderMap::new();
    hb.insert("authorization", format!("DPoP {tb}").parse().unwrap());
    hb.insert("dpop", pb.parse().unwrap());
    assert!(auth.authenticate(&facts(&hb, NOW)).await.is_ok());
    let h = call(NOW + 2);
    assert_eq!(
        auth.authenticate(&facts(&h, NOW + 2))
            .await
            .unwrap_err()
            .code,
        Code::InvalidToken
    );
}

#[tokio::test]
async fn jwks_periodic_refresh_and_failure() {
    let dir = tempfile::tempdir().unwrap();
    let a = LocalIssuer::load_or_create(&dir.path().join("a"), ISS).unwrap();
    let b = LocalIssuer::load_or_create(&dir.path().join("b"), ISS).unwrap();
    let path = dir.path().join("jwks.json");
    std::fs::write(&path, a.jwks().to_string()).unwrap();
    let ks = KeySource::file(&path, Duration::ZERO, Duration::ZERO)
        .await
        .unwrap();
    assert!(ks.key(a.kid()).await.is_ok());
    std::fs::write(&path, b.jwks().to_string()).unwrap();
    // refresh 0: the next lookup reloads, so A is gone even though it was cached.
    assert_eq!(ks.key(a.kid()).await.unwrap_err().code, Code::InvalidToken);
    assert!(ks.key(b.kid()).await.is_ok());
    // The file vanishes: known keys stay, an unknown kid is "unavailable".
    std::fs::remove_file(&path).unwrap();
    assert!(ks.key(b.kid()).await.is_ok());
    assert_eq!(ks.key(a.kid()).await.unwrap_err().code, Code::Unavailable);
    // A missing file at startup is an error.
    assert!(
        KeySource::file(&path, Duration::ZERO, Duration::ZERO)
            .await
            .is_err()
    );
}

#[test]
fn config_parsing() {
    let cfg: AuthConfig = toml::from_str(
        r#"
        issuer = "https://issuer.example"
        jwks_file = "/etc/vouch/jwks.json"
        sender_constraint = "dpop"
        [dpop]
        algorithms = ["ES256", "EdDSA"]
        require_nonce = false
        [step_up]
        acr_values = ["phr"]
        "#,
    )
    .unwrap();
    assert_eq!(cfg.audience, "signer");
    assert_eq!(cfg.scope, "signer.sign");
    assert_eq!(cfg.tenant_claim, "tenant");
    assert_eq!(cfg.leeway_seconds, 30);
    assert_eq!(cfg.sender_constraint, SenderConstraint::Dpop);
    assert_eq!(cfg.dpop.iat_window_seconds, 60);
    assert!(!cfg.dpop.require_nonce);
    assert_eq!(cfg.step_up.amr_values, vec!["mfa", "hwk", "otp"]);
    let d: AuthConfig = toml::from_str(r#"issuer = "x""#).unwrap();
    assert_eq!(d.sender_constraint, SenderConstraint::DpopOrMtls);
    assert!(d.dpop.require_nonce);
    assert_eq!(d.dpop.algorithms.len(), 5);
    assert!(toml::from_str::<AuthConfig>("issuer = \"x\"\nbogus = 1").is_err());
    assert!(
        toml::from_str::<AuthConfig>("issuer = \"x\"\nsender_constraint = \"bearer\"").is_err()
    );
    assert!(
        toml::from_str::<AuthConfig>("issuer = \"x\"\n[dpop]\nalgorithms = [\"none\"]").is_err()
    );
}

#[tokio::test]
async fn unsafe_configuration_refused() {
    let keys = || KeySource::from_jwks_json(br#"{"keys": []}"#).unwrap();
    let mut cfg = AuthConfig::new(ISS);
    cfg.dpop.algorithms = vec![jsonwebtoken::Algorithm::HS256];
    assert!(Authenticator::new(cfg, keys(), ReplayCache::memory(1), SECRET).is_err());
    let mut cfg = AuthConfig::new(ISS);
    cfg.dpop.algorithms.clear();
    assert!(Authenticator::new(cfg, keys(), ReplayCache::memory(1), SECRET).is_err());
    assert!(
        Authenticator::new(
            AuthConfig::new(ISS),
            keys(),
            ReplayCache::memory(1),
            b"short"
        )
        .is_err()
    );
    let mut both = AuthConfig::new(ISS);
    both.jwks_file = Some("/x".into());
    both.jwks_url = Some("https://x".into());
    assert!(both.key_source().await.is_err());
    assert!(AuthConfig::new(ISS).key_source().await.is_err());
}

#[tokio::test]
async fn debug_output_holds_no_secret() {
    let e = env();
    let dbg = format!("{:?} {:?} {:?}", e.auth, e.issuer, e.key);
    assert!(!dbg.contains(std::str::from_utf8(SECRET).unwrap()));
    assert!(!dbg.contains("BEGIN"));
    let t = e.token();
    let err = code(&e, "x.y.z").await;
    assert_eq!(err, Code::InvalidToken);
    // Errors never echo the token or the proof.
    let pr = e.key.proof("GET", URL, Some(&t), None, NOW).unwrap();
    let err = e.call(&t, &pr).await.unwrap_err();
    assert!(!err.message.contains(&t[..20]) && !err.message.contains(&pr[..20]));
}

struct Shared {
    env: Env,
    token: String,
    rt: tokio::runtime::Runtime,
}

fn shared() -> &'static Shared {
    static S: OnceLock<Shared> = OnceLock::new();
    S.get_or_init(|| {
        let env = env();
        let token = env.token();
        Shared {
            env,
            token,
            rt: tokio::runtime::Builder::new_current_thread()
                .build()
                .unwrap(),
        }
    })
}

fn arbitrary_must_fail(authorization: &[u8], proof: &[u8]) {
    let s = shared();
    let (Ok(a), Ok(p)) = (
        HeaderValue::from_bytes(authorization),
        HeaderValue::from_bytes(proof),
    ) else {
        return;
    };
    let mut headers = HeaderMap::new();
    headers.insert("authorization", a);
    headers.insert("dpop", p);
    let r = s.rt.block_on(s.env.auth.authenticate(&RequestFacts {
        method: &Method::POST,
        url: URL,
        headers: &headers,
        client_cert: None,
        now: NOW,
    }));
    assert!(r.is_err());
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn arbitrary_proof_never_authenticates(bytes in proptest::collection::vec(any::<u8>(), 0..600)) {
        let s = shared();
        arbitrary_must_fail(format!("DPoP {}", s.token).as_bytes(), &bytes);
    }

    #[test]
    fn arbitrary_jws_shaped_proof_never_authenticates(
        h in "[A-Za-z0-9_-]{0,80}", p in "[A-Za-z0-9_-]{0,200}", sig in "[A-Za-z0-9_-]{0,90}"
    ) {
        let s = shared();
        // A real header, so the checks go past parsing.
        let header = URL_SAFE_NO_PAD.encode(s.env.key.header().to_string());
        arbitrary_must_fail(format!("DPoP {}", s.token).as_bytes(), format!("{header}.{p}.{sig}").as_bytes());
        arbitrary_must_fail(format!("DPoP {}", s.token).as_bytes(), format!("{h}.{p}.{sig}").as_bytes());
    }

    #[test]
    fn arbitrary_token_never_authenticates(bytes in proptest::collection::vec(any::<u8>(), 0..600)) {
        let s = shared();
        let proof = s.env.proof(&s.token);
        let mut auth = b"DPoP ".to_vec();
        auth.extend_from_slice(&bytes);
        arbitrary_must_fail(&auth, proof.as_bytes());
        arbitrary_must_fail(&bytes, proof.as_bytes());
    }

    #[test]
    fn arbitrary_htu_never_panics(s in "\\PC{0,100}") {
        let _ = dpop::normalize_htu(&s);
        let _ = dpop::normalize_htu(&format!("https://{s}"));
    }
}

/// The controls of the matrix: the helpers' requests pass unchanged, so each negative case
/// fails for the one thing it changed.
#[tokio::test]
async fn the_crafted_requests_pass_unchanged() {
    let e = env();
    let t = e.token();
    let pr = e.key.sign(&e.key.header(), &e.proof_claims(&t)).unwrap();
    assert!(e.call(&t, &pr).await.is_ok());
    let t = e.signed(|_| {});
    assert!(e.call(&t, &e.proof(&t)).await.is_ok());
}

#[tokio::test]
async fn refusals_name_the_failed_check() {
    let e = env();
    let t = e.token();
    let other = DpopKey::generate().unwrap();
    let nonce = e.auth.fresh_nonce(NOW);
    let pr = other
        .proof("POST", URL, Some(&t), Some(&nonce), NOW)
        .unwrap();
    assert!(
        e.call(&t, &pr)
            .await
            .unwrap_err()
            .message
            .contains("cnf.jkt")
    );
    let pr = e
        .key
        .proof(
            "POST",
            "https://signer.example/x",
            Some(&t),
            Some(&nonce),
            NOW,
        )
        .unwrap();
    assert!(e.call(&t, &pr).await.unwrap_err().message.contains("htu"));
    let pr = e
        .key
        .proof("PUT", URL, Some(&t), Some(&nonce), NOW)
        .unwrap();
    assert!(e.call(&t, &pr).await.unwrap_err().message.contains("htm"));
    let pr = e
        .key
        .proof("POST", URL, Some(&t), Some(&nonce), NOW - 120)
        .unwrap();
    assert!(e.call(&t, &pr).await.unwrap_err().message.contains("iat"));
    let pr = e
        .key
        .proof("POST", URL, Some("other token"), Some(&nonce), NOW)
        .unwrap();
    assert!(e.call(&t, &pr).await.unwrap_err().message.contains("ath"));
    let x = e.signed(|c| {
        c.insert("exp".into(), (NOW - 100).into());
    });
    assert!(code(&e, &x).await == Code::InvalidToken);
    let err = e.call(&x, &e.proof(&x)).await.unwrap_err();
    assert!(err.message.contains("expired"), "{}", err.message);
}

/// Reads one DER TLV at the start of `d`: (tag, content, rest).
fn der_tlv(d: &[u8]) -> (u8, &[u8], &[u8]) {
    let (tag, first) = (d[0], d[1]);
    let (len, hdr) = if first < 0x80 {
        (first as usize, 2)
    } else {
        let n = (first & 0x7f) as usize;
        let len = d[2..2 + n]
            .iter()
            .fold(0usize, |a, b| (a << 8) | *b as usize);
        (len, 2 + n)
    };
    (tag, &d[hdr..hdr + len], &d[hdr + len..])
}

/// Proofs made with every default algorithm (ES256 is everywhere else) are accepted when the
/// token is bound to their key.
#[tokio::test]
async fn proofs_with_each_default_algorithm() {
    use aws_lc_rs::rand::SystemRandom;
    use aws_lc_rs::signature::{self, KeyPair};
    let e = env();
    let b64 = |b: &[u8]| URL_SAFE_NO_PAD.encode(b);
    let rng = SystemRandom::new();

    let p384 =
        signature::EcdsaKeyPair::generate(&signature::ECDSA_P384_SHA384_FIXED_SIGNING).unwrap();
    let pt = p384.public_key().as_ref().to_vec();
    let ed = signature::Ed25519KeyPair::generate().unwrap();
    let rsa = signature::RsaKeyPair::generate(aws_lc_rs::rsa::KeySize::Rsa2048).unwrap();
    let (_, seq, _) = der_tlv(rsa.public_key().as_ref());
    let (_, n, rest) = der_tlv(seq);
    let (_, ex, _) = der_tlv(rest);
    let strip = |b: &[u8]| {
        b.iter()
            .skip_while(|x| **x == 0)
            .copied()
            .collect::<Vec<u8>>()
    };
    let rsa_jwk = json!({"kty": "RSA", "n": b64(&strip(n)), "e": b64(&strip(ex))});

    type Signer<'a> = Box<dyn Fn(&[u8]) -> Vec<u8> + 'a>;
    let cases: Vec<(&str, Value, Signer)> = vec![
        (
            "ES384",
            json!({"kty": "EC", "crv": "P-384", "x": b64(&pt[1..49]), "y": b64(&pt[49..97])}),
            Box::new(|m: &[u8]| p384.sign(&rng, m).unwrap().as_ref().to_vec()),
        ),
        (
            "EdDSA",
            json!({"kty": "OKP", "crv": "Ed25519", "x": b64(ed.public_key().as_ref())}),
            Box::new(|m: &[u8]| ed.sign(m).as_ref().to_vec()),
        ),
        (
            "PS256",
            rsa_jwk.clone(),
            Box::new(|m: &[u8]| {
                let mut s = vec![0; rsa.public_modulus_len()];
                rsa.sign(&signature::RSA_PSS_SHA256, &rng, m, &mut s)
                    .unwrap();
                s
            }),
        ),
        (
            "RS256",
            rsa_jwk,
            Box::new(|m: &[u8]| {
                let mut s = vec![0; rsa.public_modulus_len()];
                rsa.sign(&signature::RSA_PKCS1_SHA256, &rng, m, &mut s)
                    .unwrap();
                s
            }),
        ),
    ];
    for (alg, jwk, sign) in cases {
        let jkt = dpop::jwk_thumbprint(jwk.as_object().unwrap()).unwrap();
        let t = e.issuer.mint(&mint_req(Some(&jkt))).unwrap();
        let header = json!({"typ": "dpop+jwt", "alg": alg, "jwk": jwk});
        let input = format!(
            "{}.{}",
            b64(header.to_string().as_bytes()),
            b64(e.proof_claims(&t).to_string().as_bytes())
        );
        let proof = format!("{input}.{}", b64(&sign(input.as_bytes())));
        let r = e.call(&t, &proof).await;
        assert!(r.is_ok(), "{alg}: {r:?}");
        // The same proof under another alg name is refused.
        let wrong = if alg == "RS256" { "PS256" } else { "RS256" };
        let header = json!({"typ": "dpop+jwt", "alg": wrong, "jwk": header["jwk"]});
        let input2 = format!(
            "{}.{}",
            b64(header.to_string().as_bytes()),
            b64(e.proof_claims(&t).to_string().as_bytes())
        );
        let proof = format!("{input2}.{}", b64(&sign(input2.as_bytes())));
        assert_eq!(
            e.call(&t, &proof).await.unwrap_err().code,
            Code::InvalidDpopProof,
            "{alg} signed, {wrong} claimed"
        );
    }
}
