//! `vouch serve` through the binary: the dev instance starts, refuses what it must, signs a
//! digest whose bundle `vouch verify-blob` accepts with a required log entry, and its audit
//! chain verifies until someone edits it.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use assert_cmd::cargo::CommandCargoExt;
use vouch_server::auth::issuer::DpopKey;

fn vouch() -> Command {
    Command::cargo_bin("vouch").unwrap()
}

struct Instance {
    child: Child,
    base: String,
}

impl Drop for Instance {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn start(dir: &Path) -> Instance {
    let port = free_port();
    let mut child = vouch()
        .args(["serve", "--dev", "--listen"])
        .arg(format!("127.0.0.1:{port}"))
        .arg("--dir")
        .arg(dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let base = line.trim().to_string();
    assert_eq!(base, format!("http://127.0.0.1:{port}"));
    Instance { child, base }
}

/// One HTTP/1.1 request; returns (status, headers, body).
fn http(
    base: &str,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> (u16, String, Vec<u8>) {
    let addr = base.trim_start_matches("http://");
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    let mut req = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("\r\n");
    s.write_all(req.as_bytes()).unwrap();
    s.write_all(body).unwrap();
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).unwrap();
    let split = raw.windows(4).position(|w| w == b"\r\n\r\n").unwrap();
    let head = String::from_utf8_lossy(&raw[..split]).to_string();
    let status = head.split(' ').nth(1).unwrap().parse().unwrap();
    let mut body = raw[split + 4..].to_vec();
    if head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked")
    {
        body = dechunk(&body);
    }
    (status, head, body)
}

fn dechunk(mut b: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        let eol = b.windows(2).position(|w| w == b"\r\n").unwrap();
        let n = usize::from_str_radix(std::str::from_utf8(&b[..eol]).unwrap().trim(), 16).unwrap();
        if n == 0 {
            return out;
        }
        out.extend_from_slice(&b[eol + 2..eol + 2 + n]);
        b = &b[eol + 2 + n + 2..];
    }
}

fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

#[test]
fn dev_instance_signs_what_verify_blob_accepts_and_audits_every_request() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("dev");
    let inst = start(&dir);
    let (status, _, body) = http(&inst.base, "GET", "/readyz", &[], b"");
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
    for f in [
        "trust-config.json",
        "trusted-root.json",
        "dev-signing-key.pub",
    ] {
        assert!(dir.join(f).is_file(), "{f}");
    }

    // A bearer-only request is refused (and audited).
    let (status, _, body) = http(
        &inst.base,
        "POST",
        "/api/v1/signer/sign/blob",
        &[("Authorization", "Bearer x")],
        b"{}",
    );
    assert_eq!(status, 401);
    assert!(String::from_utf8_lossy(&body).contains("invalid_token"));

    // A token bound to our DPoP key, minted by the dev issuer through the CLI.
    let key = DpopKey::generate().unwrap();
    let out = vouch()
        .args(["serve", "dev-token", "--dir"])
        .arg(&dir)
        .args(["--dpop-jkt", key.thumbprint()])
        .output()
        .unwrap();
    assert!(out.status.success());
    let token = String::from_utf8(out.stdout).unwrap().trim().to_string();
    assert_eq!(token.split('.').count(), 3);

    let artifact = tmp.path().join("app.tar");
    std::fs::write(&artifact, b"the release artifact\n").unwrap();
    let digest = vouch_core::Digest::of_reader(
        vouch_core::digest::DigestAlgorithm::Sha256,
        std::fs::File::open(&artifact).unwrap(),
    )
    .unwrap()
    .hex();
    let url = format!("{}/api/v1/signer/sign/blob", inst.base);
    let proof = key.proof("POST", &url, Some(&token), None, now()).unwrap();
    let req = serde_json::json!({"tenant": "dev", "digest": format!("sha256:{digest}")});
    let auth = format!("DPoP {token}");
    let (status, head, body) = http(
        &inst.base,
        "POST",
        "/api/v1/signer/sign/blob",
        &[
            ("Authorization", &auth),
            ("DPoP", &proof),
            ("Content-Type", "application/json"),
        ],
        &serde_json::to_vec(&req).unwrap(),
    );
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
    assert!(head.to_ascii_lowercase().contains("dpop-nonce:"));
    let resp: serde_json::Value = serde_json::from_slice(&body).unwrap();
    let bundle = tmp.path().join("app.tar.sigstore.json");
    std::fs::write(&bundle, serde_json::to_vec(&resp["bundle"]).unwrap()).unwrap();

    // The same proof again: replayed, refused.
    let (status, _, _) = http(
        &inst.base,
        "POST",
        "/api/v1/signer/sign/blob",
        &[("Authorization", &auth), ("DPoP", &proof)],
        &serde_json::to_vec(&req).unwrap(),
    );
    assert_eq!(status, 401);

    // vouch verify-blob accepts the bundle with the log entry required by the trusted root.
    let verify = |artifact: &Path| {
        vouch()
            .arg("verify-blob")
            .arg(artifact)
            .arg("--bundle")
            .arg(&bundle)
            .arg("--key")
            .arg(dir.join("dev-signing-key.pub"))
            .arg("--trusted-root")
            .arg(dir.join("trusted-root.json"))
            .output()
            .unwrap()
    };
    let ok = verify(&artifact);
    assert_eq!(
        ok.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );
    let other = tmp.path().join("other.tar");
    std::fs::write(&other, b"something else\n").unwrap();
    assert_eq!(verify(&other).status.code(), Some(1));

    // Keys, OpenAPI.
    let keys = vouch()
        .args(["serve", "keys", "list", "--dir"])
        .arg(&dir)
        .output()
        .unwrap();
    let text = String::from_utf8(keys.stdout).unwrap();
    assert_eq!(text.lines().count(), 2, "{text}");
    assert!(text.contains("Active"));
    let api = vouch().args(["serve", "openapi"]).output().unwrap();
    let doc: serde_json::Value = serde_json::from_slice(&api.stdout).unwrap();
    assert_eq!(doc["openapi"], "3.1.0");
    assert!(doc["paths"]["/api/v1/signer/sign/dsse"].is_object());

    drop(inst);
    // Three signing requests so far (readyz is not audited): refused, signed, replayed.
    let audit = |d: &Path| {
        vouch()
            .args(["serve", "audit", "verify", "--dir"])
            .arg(d)
            .output()
            .unwrap()
    };
    let out = audit(&dir);
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert!(text.starts_with("verified: 3 records"), "{text}");

    // Edit one record: the chain no longer verifies.
    let conn = rusqlite::Connection::open(dir.join("audit.db")).unwrap();
    let changed = conn
        .execute(
            "UPDATE audit_log SET record = replace(record, '\"refused\"', '\"signed\"') WHERE seq = 1",
            [],
        )
        .unwrap();
    assert_eq!(changed, 1);
    drop(conn);
    let out = audit(&dir);
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
}

#[test]
fn serve_refuses_what_it_must() {
    let tmp = tempfile::tempdir().unwrap();
    // Dev mode on a routable address: refused before anything is created.
    let out = vouch()
        .args(["serve", "--dev", "--listen", "0.0.0.0:0", "--dir"])
        .arg(tmp.path().join("d"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("loopback"));
    assert!(!tmp.path().join("d").exists());
    // Neither --config nor --dev.
    let out = vouch().arg("serve").output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    // A configuration with an unknown key: file and line.
    let cfg = tmp.path().join("serve.toml");
    std::fs::write(
        &cfg,
        "listen = \"127.0.0.1:0\"\nexternal_url = \"http://127.0.0.1\"\ndata_dir = \"d\"\nlisten_twice = 1\n",
    )
    .unwrap();
    let out = vouch()
        .args(["serve", "--config"])
        .arg(&cfg)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("serve.toml:4"), "{err}");
    // A dev token needs a dev instance.
    let out = vouch()
        .args(["serve", "dev-token", "--dir"])
        .arg(tmp.path().join("nothing"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
}
