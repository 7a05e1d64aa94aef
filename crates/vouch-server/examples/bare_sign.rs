//! The baseline of `bench/serve.sh`: a bare signing endpoint, axum + ECDSA P-256 (aws-lc-rs)
//! and nothing else: no authentication, quota, audit or log. `POST /sign` with a 32-byte
//! SHA-256 digest as the body answers the DER (ASN.1) ECDSA signature over it.
//!
//! Usage: `bare_sign [ADDR]` (default `127.0.0.1:0`); prints `http://ADDR` once it listens,
//! serves until killed. Loopback only.

use std::net::SocketAddr;
use std::sync::Arc;

use aws_lc_rs::digest::{Digest, SHA256};
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{ECDSA_P256_SHA256_ASN1_SIGNING, EcdsaKeyPair};
use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::post;

async fn sign(State(key): State<Arc<EcdsaKeyPair>>, body: Bytes) -> Response {
    let Ok(digest) = Digest::import_less_safe(&body, &SHA256) else {
        return (
            StatusCode::BAD_REQUEST,
            "the body must be a 32-byte SHA-256 digest",
        )
            .into_response();
    };
    match key.sign_digest(&digest) {
        Ok(sig) => sig.as_ref().to_vec().into_response(),
        Err(_) => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let addr: SocketAddr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:0".into())
        .parse()?;
    if !addr.ip().is_loopback() {
        return Err(format!("{addr}: the bare endpoint serves on loopback only").into());
    }
    let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, &SystemRandom::new())
        .map_err(|_| "key generation failed")?;
    let key = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, pkcs8.as_ref())
        .map_err(|_| "key loading failed")?;
    let app = Router::new()
        .route("/sign", post(sign))
        .with_state(Arc::new(key));
    let listener = tokio::net::TcpListener::bind(addr).await?;
    println!("http://{}", listener.local_addr()?);
    axum::serve(listener, app).await?;
    Ok(())
}
