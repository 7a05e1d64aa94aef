//! The load generator of `bench/serve.sh`: N keep-alive HTTP/1.1 connections for D seconds,
//! each sending its next request as soon as the previous one is answered, and a JSON line of
//! what it measured: `{"count", "errors", "rps", "p50_ms", "p99_ms", ...}` (count and the
//! percentiles are of successful requests; errors are non-2xx answers).
//!
//!   serve_load bare  --url http://127.0.0.1:PORT [-c N] [-d SECONDS]
//!       POST /sign with a random 32-byte digest (examples/bare_sign.rs).
//!   serve_load dsse  --url http://127.0.0.1:PORT --dev-dir DIR [-c N] [-d SECONDS]
//!       POST /api/v1/signer/sign/dsse as tenant `dev`: each connection has its own DPoP key
//!       and a token bound to it from the local issuer in DIR (`vouch serve --dev --dir DIR`),
//!       and every request carries a freshly minted proof (the time to mint it is measured).
//!
//! Loopback only.

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper_util::rt::TokioIo;
use vouch_server::auth::{DpopKey, LocalIssuer, MintRequest};
use vouch_server::dev::{DEV_ISSUER, DEV_TENANT};

const DSSE: &str = "/api/v1/signer/sign/dsse";

struct Args {
    mode: String,
    url: String,
    dev_dir: Option<std::path::PathBuf>,
    connections: usize,
    seconds: f64,
}

fn usage() -> ! {
    eprintln!(
        "usage: serve_load bare|dsse --url http://127.0.0.1:PORT [--dev-dir DIR] [-c N] [-d SECONDS]"
    );
    std::process::exit(2)
}

fn args() -> Args {
    let mut it = std::env::args().skip(1);
    let mode = it.next().unwrap_or_else(|| usage());
    let mut a = Args {
        mode,
        url: String::new(),
        dev_dir: None,
        connections: 16,
        seconds: 5.0,
    };
    while let Some(flag) = it.next() {
        let value = it.next().unwrap_or_else(|| usage());
        match flag.as_str() {
            "--url" => a.url = value.trim_end_matches('/').to_string(),
            "--dev-dir" => a.dev_dir = Some(value.into()),
            "-c" => a.connections = value.parse().unwrap_or_else(|_| usage()),
            "-d" => a.seconds = value.parse().unwrap_or_else(|_| usage()),
            _ => usage(),
        }
    }
    if a.url.is_empty() || !(a.mode == "bare" || (a.mode == "dsse" && a.dev_dir.is_some())) {
        usage()
    }
    a
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

fn random_hex() -> String {
    let mut b = [0u8; 32];
    aws_lc_rs::rand::fill(&mut b).expect("randomness");
    hex::encode(b)
}

/// What one connection measured: latencies of successes (µs), errors, proof minting (µs).
#[derive(Default)]
struct Tally {
    ok: Vec<u64>,
    errors: u64,
    first_error: Option<String>,
    mint_us: u64,
}

async fn connection(
    args: &Args,
    issuer: Option<&LocalIssuer>,
    deadline: Instant,
) -> Result<Tally, Box<dyn std::error::Error + Send + Sync>> {
    let authority = args
        .url
        .strip_prefix("http://")
        .ok_or("--url must be http://HOST:PORT")?
        .to_string();
    let stream = tokio::net::TcpStream::connect(&authority).await?;
    if !stream.peer_addr()?.ip().is_loopback() {
        return Err("the benchmark runs on loopback only".into());
    }
    stream.set_nodelay(true)?;
    let (mut send, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
    tokio::spawn(conn);
    let (key, token) = match issuer {
        Some(issuer) => {
            let key = DpopKey::generate()?;
            let token = issuer.mint(&MintRequest {
                subject: "bench".into(),
                tenant: DEV_TENANT.into(),
                scope: "signer.sign".into(),
                audience: "signer".into(),
                ttl_seconds: 900,
                dpop_jkt: Some(key.thumbprint().to_string()),
                now: now(),
                ..MintRequest::default()
            })?;
            (Some(key), token)
        }
        None => (None, String::new()),
    };
    let mut tally = Tally::default();
    let mut n = 0u64;
    while Instant::now() < deadline {
        n += 1;
        let started = Instant::now();
        let req = match &key {
            None => {
                let digest = hex::decode(random_hex())?;
                hyper::Request::post(format!("{}/sign", args.url))
                    .header("host", &authority)
                    .body(Full::new(Bytes::from(digest)))?
            }
            Some(key) => {
                let url = format!("{}{DSSE}", args.url);
                let proof = key.proof("POST", &url, Some(&token), None, now())?;
                tally.mint_us += started.elapsed().as_micros() as u64;
                let body = serde_json::json!({
                    "tenant": DEV_TENANT,
                    "subjects": [{"name": format!("artifact-{n}"), "digest": {"sha256": random_hex()}}],
                    "predicateType": "https://example.com/bench/v1",
                    "predicate": {"n": n},
                });
                hyper::Request::post(url)
                    .header("host", &authority)
                    .header("content-type", "application/json")
                    .header("authorization", format!("DPoP {token}"))
                    .header("dpop", proof)
                    .body(Full::new(Bytes::from(serde_json::to_vec(&body)?)))?
            }
        };
        let resp = send.send_request(req).await?;
        let status = resp.status();
        let body = resp.into_body().collect().await?.to_bytes();
        if status.is_success() {
            tally.ok.push(started.elapsed().as_micros() as u64);
        } else {
            tally.errors += 1;
            if tally.first_error.is_none() {
                tally.first_error = Some(format!("{status}: {}", String::from_utf8_lossy(&body)));
            }
        }
    }
    Ok(tally)
}

fn percentile(sorted: &[u64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() as f64 * p).ceil() as usize).clamp(1, sorted.len()) - 1;
    sorted[i] as f64 / 1000.0
}

#[tokio::main]
async fn main() {
    let args = std::sync::Arc::new(args());
    let issuer = match &args.dev_dir {
        Some(dir) => match LocalIssuer::load_or_create(dir, DEV_ISSUER) {
            Ok(i) => Some(std::sync::Arc::new(i)),
            Err(e) => {
                eprintln!("serve_load: the dev issuer in {}: {e:#}", dir.display());
                std::process::exit(1)
            }
        },
        None => None,
    };
    let started = Instant::now();
    let deadline = started + Duration::from_secs_f64(args.seconds);
    let tasks: Vec<_> = (0..args.connections)
        .map(|_| {
            let (args, issuer) = (args.clone(), issuer.clone());
            tokio::spawn(async move { connection(&args, issuer.as_deref(), deadline).await })
        })
        .collect();
    let mut all = Tally::default();
    for t in tasks {
        match t.await {
            Ok(Ok(t)) => {
                all.ok.extend(t.ok);
                all.errors += t.errors;
                all.mint_us += t.mint_us;
                all.first_error = all.first_error.or(t.first_error);
            }
            Ok(Err(e)) => {
                eprintln!("serve_load: a connection failed: {e}");
                std::process::exit(1)
            }
            Err(e) => {
                eprintln!("serve_load: {e}");
                std::process::exit(1)
            }
        }
    }
    let elapsed = started.elapsed().as_secs_f64();
    all.ok.sort_unstable();
    let requests = all.ok.len() as u64 + all.errors;
    let out = serde_json::json!({
        "mode": args.mode,
        "connections": args.connections,
        "seconds": (elapsed * 100.0).round() / 100.0,
        "count": all.ok.len(),
        "errors": all.errors,
        "first_error": all.first_error,
        "rps": ((all.ok.len() as f64 / elapsed) * 10.0).round() / 10.0,
        "p50_ms": percentile(&all.ok, 0.50),
        "p99_ms": percentile(&all.ok, 0.99),
        "client_proof_us": if requests > 0 && args.mode == "dsse" { all.mint_us / requests } else { 0 },
    });
    println!("{out}");
}
