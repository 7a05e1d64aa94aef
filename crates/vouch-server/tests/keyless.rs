//! Keyless signing through `vouch serve`, judged by the real sigstore-python client
//! (`../shared/interop/sign-sigstore-python`): it asks our CA for a certificate (with an
//! embedded SCT from our CT log), our TSA for a timestamp and our Rekor v2 API for a log
//! entry, then verifies the bundle offline against the trust config the service publishes.
//! vouch's own verifier must accept the same bundles, and refuse another identity.

mod common;

use std::path::Path;
use std::process::Command;
use std::sync::Arc;

use common::*;
use serde_json::{Value, json};
use vouch_attest::verify::{Evidence, Identity, Matcher, Policy, Verifier};

const SIGN_JUDGE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../../shared/interop/sign-sigstore-python"
);

const EMAIL: &str = "ci@dev.vouch.invalid";

fn identity_token(inst: &Instance, audience: &str) -> String {
    let mut extra = serde_json::Map::new();
    extra.insert("email".into(), EMAIL.into());
    extra.insert("email_verified".into(), true.into());
    inst.issuer
        .mint(&vouch_server::auth::issuer::MintRequest {
            subject: "ci".into(),
            tenant: "dev".into(),
            scope: String::new(),
            audience: audience.into(),
            ttl_seconds: 600,
            now: now(),
            extra,
            ..Default::default()
        })
        .unwrap()
}

/// Runs the judge; returns its verdict line (ACCEPT/REJECT/ERROR …).
fn judge(
    dir: &Path,
    config: &Value,
    token: &str,
    mode: &str,
    artifact: &[u8],
) -> (String, Option<Vec<u8>>) {
    let cfg = dir.join(format!("trust-config-{mode}.json"));
    std::fs::write(&cfg, serde_json::to_vec_pretty(config).unwrap()).unwrap();
    let tok = dir.join(format!("token-{mode}"));
    std::fs::write(&tok, token).unwrap();
    let art = dir.join(format!("artifact-{mode}"));
    std::fs::write(&art, artifact).unwrap();
    let out = dir.join(format!("bundle-{mode}.json"));
    let result = Command::new(SIGN_JUDGE)
        .args([&cfg, &tok, &art, &out])
        .env("VOUCH_INTEROP_SIGN_MODE", mode)
        .env("VOUCH_INTEROP_REKOR_VERSION", "2")
        .output()
        .expect("the sign-sigstore-python judge (run ../shared/interop/setup.sh)");
    let text = String::from_utf8_lossy(&result.stdout).to_string()
        + &String::from_utf8_lossy(&result.stderr);
    let verdict = text
        .lines()
        .rev()
        .find(|l| l.starts_with("ACCEPT") || l.starts_with("REJECT") || l.starts_with("ERROR"))
        .unwrap_or_else(|| panic!("no verdict from the judge:\n{text}"))
        .to_string();
    (verdict, std::fs::read(&out).ok())
}

fn verifier(root_json: &[u8], email: &str) -> Verifier {
    let root = vouch_attest::TrustedRoot::from_json(root_json).unwrap();
    Verifier::new(Policy::keyless(
        Arc::new(root),
        vec![Identity {
            subject: Matcher::Exact(email.into()),
            issuer: Matcher::Exact(vouch_server::dev::DEV_ISSUER.into()),
        }],
    ))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigstore_python_signs_against_vouch_serve_and_both_verify() {
    let mut inst = start().await;
    let config = inst.get("/api/v1/trust/config").await.ok();
    assert_eq!(
        config["signingConfig"]["rekorTlogUrls"][0]["majorApiVersion"],
        json!(2)
    );
    let root_json = serde_json::to_vec(&config["trustedRoot"]).unwrap();
    let token = identity_token(&inst, "sigstore");
    let dir = inst.dir.path().to_path_buf();

    // A blob, then a DSSE attestation (sent as a hashedrekord over the PAE).
    let artifact = b"release artifact\n".to_vec();
    let (c, t, d, a) = (config.clone(), token.clone(), dir.clone(), artifact.clone());
    let (verdict, bundle) = tokio::task::spawn_blocking(move || judge(&d, &c, &t, "sign", &a))
        .await
        .unwrap();
    assert!(verdict.starts_with("ACCEPT"), "{verdict}");
    let bundle = vouch_attest::Bundle::from_json(&bundle.unwrap()).unwrap();
    let ours = verifier(&root_json, EMAIL)
        .verify_blob(&bundle, &artifact[..])
        .unwrap();
    assert!(ours.is_verified(), "{}", ours.message());
    let stranger = verifier(&root_json, "someone@else.invalid")
        .verify_blob(&bundle, &artifact[..])
        .unwrap();
    assert!(!stranger.is_verified());
    let tampered = verifier(&root_json, EMAIL)
        .verify_blob(&bundle, &b"release artifacT\n"[..])
        .unwrap();
    assert!(!tampered.is_verified());

    let (c, t, d, a) = (config.clone(), token.clone(), dir.clone(), artifact.clone());
    let (verdict, bundle) = tokio::task::spawn_blocking(move || judge(&d, &c, &t, "attest", &a))
        .await
        .unwrap();
    assert!(verdict.starts_with("ACCEPT"), "{verdict}");
    let evidence = Evidence::from_json(&bundle.unwrap()).unwrap();
    let digest =
        vouch_attest::SubjectDigest::parse(&format!("sha256:{}", sha256_hex(&artifact))).unwrap();
    let ours = verifier(&root_json, EMAIL)
        .verify_attestation_for(&evidence, &[digest])
        .unwrap();
    assert!(ours.is_verified(), "{}", ours.message());

    // A token for another audience gets no certificate: the client cannot sign.
    let wrong = identity_token(&inst, "signer");
    let (c, d, a) = (config.clone(), dir.clone(), artifact.clone());
    let (verdict, _) = tokio::task::spawn_blocking(move || judge(&d, &c, &wrong, "sign", &a))
        .await
        .unwrap();
    assert!(verdict.starts_with("REJECT"), "{verdict}");

    // The CA's other endpoints and the log's v2 tiles.
    let cfg = inst.get("/api/v2/configuration").await.ok();
    assert_eq!(
        cfg["issuers"][0]["issuerUrl"],
        vouch_server::dev::DEV_ISSUER
    );
    let bundle = inst.get("/api/v2/trustBundle").await.ok();
    assert_eq!(
        bundle["chains"][0]["certificates"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
    let checkpoint = inst.get("/api/v2/checkpoint").await;
    assert_eq!(checkpoint.status, 200);
    assert!(
        checkpoint
            .text()
            .lines()
            .nth(1)
            .unwrap()
            .parse::<u64>()
            .unwrap()
            >= 2
    );
    inst.stop().await;
}

#[tokio::test]
async fn rekor_v2_refuses_entries_whose_signature_does_not_verify() {
    use vouch_crypto::keys::{HashAlgorithm, KeyAlgorithm, PrivateKey};
    let mut inst = start().await;
    let key = PrivateKey::generate(KeyAlgorithm::EcdsaP256).unwrap();
    let digest = HashAlgorithm::Sha256.hash(b"artifact");
    let sig = key.sign_prehashed(&digest).unwrap();
    let b64 = |b: &[u8]| {
        use base64::Engine;
        base64::engine::general_purpose::STANDARD.encode(b)
    };
    let request = |d: &[u8]| {
        json!({"hashedRekordRequestV002": {"digest": b64(d), "signature": {
            "content": b64(&sig),
            "verifier": {"publicKey": {"rawBytes": b64(key.public_key().spki_der())},
                         "keyDetails": "PKIX_ECDSA_P256_SHA_256"}}}})
    };
    let ok = inst
        .post_public("/api/v2/log/entries", &request(&digest.value))
        .await;
    assert_eq!(ok.status, 201, "{}", ok.text());
    let entry = ok.json();
    assert_eq!(entry["kindVersion"]["version"], "0.0.2");
    assert!(entry["logIndex"].is_string());
    assert!(entry.get("integratedTime").is_none());
    assert!(entry["inclusionProof"]["checkpoint"]["envelope"].is_string());
    let other = HashAlgorithm::Sha256.hash(b"other");
    let bad = inst
        .post_public("/api/v2/log/entries", &request(&other.value))
        .await;
    bad.refused(400, "invalid_request");
    inst.stop().await;
}

#[tokio::test]
async fn keyless_endpoints_are_rate_limited() {
    let mut inst = start_with(|c| {
        c.quota = one_plan(vouch_server::quota::Limits {
            requests_per_second: 0.001,
            burst: 2,
            concurrent: 4,
            max_payload_bytes: 1 << 20,
            daily_signatures: 100,
        })
    })
    .await;
    let headers = [("content-type", "application/timestamp-query".to_string())];
    let ask = || {
        inst.raw(
            "POST",
            "/api/v1/timestamp",
            &headers,
            Some(b"not DER".to_vec()),
        )
    };
    // A malformed query is answered with a rejection reply (HTTP 200), and counted.
    assert_eq!(ask().await.status, 200);
    assert_eq!(ask().await.status, 200);
    let third = ask().await;
    assert_eq!(third.status, 429, "{}", third.text());
    assert!(third.header("retry-after").is_some());
    // Each endpoint has its own bucket: the log still answers (400: not a valid entry).
    let entry = inst.post_public("/api/v2/log/entries", &json!({})).await;
    assert_eq!(entry.status, 400, "{}", entry.text());
    inst.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_test_issuer_serves_discovery_jwks_and_loopback_tokens_the_ca_takes() {
    let mut inst = start().await;
    let doc = inst.get("/.well-known/openid-configuration").await.ok();
    assert_eq!(doc["issuer"], vouch_server::dev::DEV_ISSUER);
    assert_eq!(doc["jwks_uri"], inst.url("/oidc/jwks"));
    assert_eq!(doc["token_endpoint"], inst.url("/oidc/token"));
    assert_eq!(
        doc["id_token_signing_alg_values_supported"],
        json!(["ES256"])
    );

    let answer = inst
        .post_public(
            "/oidc/token",
            &json!({"subject": "demo", "email": "demo@test.invalid"}),
        )
        .await;
    assert_eq!(answer.status, 200, "{}", answer.text());
    assert_eq!(answer.header("cache-control").as_deref(), Some("no-store"));
    let token = answer.json()["id_token"].as_str().unwrap().to_string();

    // The JWKS the discovery document names verifies the token.
    let jwks: jsonwebtoken::jwk::JwkSet =
        serde_json::from_slice(&inst.get("/oidc/jwks").await.body).unwrap();
    let kid = jsonwebtoken::decode_header(&token).unwrap().kid.unwrap();
    let jwk = jwks.find(&kid).unwrap();
    assert!(!serde_json::to_string(jwk).unwrap().contains("\"d\""));
    let mut validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::ES256);
    validation.set_audience(&["sigstore"]);
    validation.set_issuer(&[vouch_server::dev::DEV_ISSUER]);
    let claims = jsonwebtoken::decode::<Value>(
        &token,
        &jsonwebtoken::DecodingKey::from_jwk(jwk).unwrap(),
        &validation,
    )
    .unwrap()
    .claims;
    assert_eq!(claims["sub"], "demo");
    assert_eq!(claims["email"], "demo@test.invalid");
    // Another key does not verify it.
    let other = vouch_server::auth::issuer::DpopKey::generate().unwrap();
    let other_jwk: jsonwebtoken::jwk::Jwk =
        serde_json::from_value(Value::Object(other.public_jwk().clone())).unwrap();
    assert!(
        jsonwebtoken::decode::<Value>(
            &token,
            &jsonwebtoken::DecodingKey::from_jwk(&other_jwk).unwrap(),
            &validation
        )
        .is_err()
    );

    // The CA takes it: a keyless signature for that identity.
    let config = inst.get("/api/v1/trust/config").await.ok();
    let artifact_sha256: [u8; 32] = <sha2::Sha256 as sha2::Digest>::digest(b"x").into();
    let request = vouch_server::keyless::client::KeylessSignRequest {
        artifact_sha256,
        identity_token: token,
        trust_config: config.clone(),
    };
    let bundle = vouch_server::keyless::client::sign_blob(&request)
        .await
        .unwrap();
    let root_json = serde_json::to_vec(&config["trustedRoot"]).unwrap();
    let bundle = vouch_attest::Bundle::from_json(&bundle).unwrap();
    let ours = verifier(&root_json, "demo@test.invalid")
        .verify_blob(&bundle, &b"x"[..])
        .unwrap();
    assert!(ours.is_verified(), "{}", ours.message());

    // Through a proxy the peer is not the client: refused.
    for h in ["x-forwarded-for", "forwarded"] {
        let proxied = inst
            .raw(
                "POST",
                "/oidc/token",
                &[(h, "192.0.2.7".to_string())],
                Some(b"{}".to_vec()),
            )
            .await;
        proxied.refused(404, "not_found");
    }
    inst.stop().await;
}

#[tokio::test]
async fn the_test_issuer_is_off_unless_configured() {
    let mut inst = start_with(|c| {
        if let Some(k) = &mut c.keyless {
            k.test_issuer = None;
        }
    })
    .await;
    for path in ["/.well-known/openid-configuration", "/oidc/jwks"] {
        inst.get(path).await.refused(404, "not_found");
    }
    inst.post_public("/oidc/token", &json!({}))
        .await
        .refused(404, "not_found");
    inst.stop().await;

    // A serve.toml `[keyless]` without `[keyless.test_issuer]` has none.
    let parsed: vouch_server::keyless::KeylessConfig =
        toml::from_str("operator = \"acme\"\n").unwrap();
    assert!(parsed.test_issuer.is_none());
    let parsed: vouch_server::keyless::KeylessConfig =
        toml::from_str("[test_issuer]\nissuer = \"https://demo.invalid\"\n").unwrap();
    assert_eq!(parsed.test_issuer.unwrap().issuer, "https://demo.invalid");
}
