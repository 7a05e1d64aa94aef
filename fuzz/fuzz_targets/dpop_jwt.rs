#![no_main]
//! OpToks and DPoP proofs as `vouch serve` receives them. The input is header values, one per
//! line: the first is `Authorization`, every further line a `DPoP` header. Each line also goes
//! through the stateless proof checks (`dpop::verify_proof`) and the `htu` normalisation.
//!
//! The authenticator trusts one fixed ES256 key (the seeds' tokens are signed by it, so the
//! fuzzer starts past the token's signature) and requires a server nonce from a secret drawn
//! at random per process, which no input can know: `authenticate` must never succeed, never
//! panic, and never echo the token in its error.
use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use vouch_server::auth::{AuthConfig, Authenticator, KeySource, ReplayCache, RequestFacts, dpop};

/// The seeds' time (2026-01-01T00:00:00Z): their tokens and proofs are current then.
const NOW: u64 = 1_767_225_600;
const URL: &str = "https://signer.example.com/api/v1/signer/sign/blob";
/// The public half of the key that signed the tokens in `fuzz/seeds/dpop_jwt/`.
const JWKS: &str = r#"{"keys":[{"kty":"EC","crv":"P-256","x":"heO3PbDyWR0w6IUfCxOv266HudVAle7abnL-7o9xJrs","y":"R0n_xaj5Bb6W6MnDy7I8emcA0rD7App--wBD7mmSLxQ","kid":"L5-S5EUdHaInogRO_PklIMPtrbVEq5wstJgHHvPn-vE","alg":"ES256","use":"sig"}]}"#;

struct Fixture {
    rt: tokio::runtime::Runtime,
    auth: Authenticator,
}

fn fixture() -> &'static Fixture {
    static F: OnceLock<Fixture> = OnceLock::new();
    F.get_or_init(|| {
        let keys = KeySource::from_jwks_json(JWKS.as_bytes()).expect("the fixed JWKS");
        let mut config = AuthConfig::new("https://idp.example.com");
        config.dpop.require_nonce = true;
        config.tenant_claim = "tenant".into();
        // Unset `nonce_secret_env`: 32 random bytes, drawn now.
        config.dpop.nonce_secret_env = None;
        let secret = config.dpop.nonce_secret().expect("a nonce secret");
        let auth = Authenticator::new(config, keys, ReplayCache::memory(4096), &secret)
            .expect("the authenticator");
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .expect("a runtime");
        Fixture { rt, auth }
    })
}

/// Inputs the echo check applies to: long and with the two dots of a compact JWS. A shorter
/// or dot-poor input can be a piece of a fixed error message (libFuzzer copies those from its
/// comparison table), which is not an echo.
fn jws_like(s: &str) -> bool {
    s.len() >= 32 && s.matches('.').count() >= 2
}

fuzz_target!(|data: &[u8]| {
    let f = fixture();
    let mut lines = data.split(|&b| b == b'\n');
    let Some(authorization) = lines.next() else {
        return;
    };
    let proofs: Vec<&[u8]> = lines.collect();

    let mut headers = http::HeaderMap::new();
    if let Ok(v) = http::HeaderValue::from_bytes(authorization) {
        headers.append(http::header::AUTHORIZATION, v);
    }
    for p in &proofs {
        if let Ok(v) = http::HeaderValue::from_bytes(p) {
            headers.append("dpop", v);
        }
    }
    let token = std::str::from_utf8(authorization)
        .ok()
        .and_then(|a| a.split_once(' '))
        .map(|(_, t)| t.trim_matches(' '));

    for method in [http::Method::POST, http::Method::GET] {
        let facts = RequestFacts {
            method: &method,
            url: URL,
            headers: &headers,
            client_cert: None,
            now: NOW,
        };
        match f.rt.block_on(f.auth.authenticate(&facts)) {
            Ok(p) => panic!("authenticated without a server nonce: {p:?}"),
            Err(e) => {
                if let Some(t) = token.filter(|t| jws_like(t)) {
                    assert!(!e.to_string().contains(t), "the error echoes the token");
                }
            }
        }
    }

    let algorithms = &f.auth.config().dpop.algorithms;
    for p in &proofs {
        let Ok(p) = std::str::from_utf8(p) else {
            continue;
        };
        let req = dpop::ProofRequest {
            method: &http::Method::POST,
            url: URL,
            access_token: token,
            algorithms,
            iat_window_seconds: 60,
            now: NOW,
        };
        if let Err(e) = dpop::verify_proof(p, &req) {
            if jws_like(p) {
                assert!(!e.to_string().contains(p), "the error echoes the proof");
            }
        }
        if let Ok(n) = dpop::normalize_htu(p) {
            assert!(n.starts_with("https://") || n.starts_with("http://"));
        }
    }
});
