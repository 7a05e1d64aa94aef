//! mTLS-bound tokens (RFC 8705) end to end: the service speaks TLS, asks for client
//! certificates from its client CA, and accepts a token whose `cnf.x5t#S256` is the thumbprint
//! of the certificate of the very connection that carries it — and nothing else.

use std::path::Path;
use std::process::Command;
use std::sync::Arc;

use base64::Engine;
use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use serde_json::{Value, json};
use sha2::Digest;
use vouch_server::auth::issuer::{LocalIssuer, MintRequest};
use vouch_server::config::TlsConfig;
use vouch_server::dev::{DEV_ISSUER, DEV_TENANT};

fn openssl(dir: &Path, args: &[&str]) {
    let out = Command::new("openssl")
        .current_dir(dir)
        .args(args)
        .output()
        .expect("openssl is needed to make the test PKI");
    assert!(
        out.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A CA, a server certificate for 127.0.0.1 and two client certificates, all ECDSA P-256.
fn pki(dir: &Path) {
    let ec = [
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:P-256",
        "-nodes",
    ];
    let mut ca = vec![
        "req",
        "-x509",
        "-days",
        "2",
        "-subj",
        "/CN=test CA",
        "-keyout",
        "ca.key",
        "-out",
        "ca.pem",
    ];
    ca.extend_from_slice(&ec);
    ca.extend_from_slice(&[
        "-addext",
        "basicConstraints=critical,CA:true",
        "-addext",
        "keyUsage=critical,keyCertSign",
    ]);
    openssl(dir, &ca);
    for (name, ext) in [
        (
            "server",
            "subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n",
        ),
        ("alice", "extendedKeyUsage=clientAuth\n"),
        ("mallory", "extendedKeyUsage=clientAuth\n"),
    ] {
        std::fs::write(dir.join(format!("{name}.ext")), ext).unwrap();
        let mut req = vec!["req", "-subj"];
        let subj = format!("/CN={name}");
        req.push(&subj);
        let key = format!("{name}.key");
        let csr = format!("{name}.csr");
        req.extend_from_slice(&["-keyout", &key, "-out", &csr]);
        req.extend_from_slice(&ec);
        openssl(dir, &req);
        let pem = format!("{name}.pem");
        let extfile = format!("{name}.ext");
        openssl(
            dir,
            &[
                "x509",
                "-req",
                "-in",
                &csr,
                "-CA",
                "ca.pem",
                "-CAkey",
                "ca.key",
                "-CAcreateserial",
                "-days",
                "2",
                "-out",
                &pem,
                "-extfile",
                &extfile,
            ],
        );
    }
}

fn cert_der(path: &Path) -> Vec<u8> {
    CertificateDer::from_pem_file(path)
        .unwrap()
        .as_ref()
        .to_vec()
}

fn client(
    dir: &Path,
    who: Option<&str>,
) -> Client<
    hyper_rustls::HttpsConnector<hyper_util::client::legacy::connect::HttpConnector>,
    Full<Bytes>,
> {
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let mut roots = rustls::RootCertStore::empty();
    roots
        .add(CertificateDer::from_pem_file(dir.join("ca.pem")).unwrap())
        .unwrap();
    let builder = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots);
    let config = match who {
        Some(name) => builder
            .with_client_auth_cert(
                vec![CertificateDer::from_pem_file(dir.join(format!("{name}.pem"))).unwrap()],
                PrivateKeyDer::from_pem_file(dir.join(format!("{name}.key"))).unwrap(),
            )
            .unwrap(),
        None => builder.with_no_client_auth(),
    };
    let https = hyper_rustls::HttpsConnectorBuilder::new()
        .with_tls_config(config)
        .https_only()
        .enable_http1()
        .build();
    Client::builder(TokioExecutor::new()).build(https)
}

async fn post(
    c: &Client<
        hyper_rustls::HttpsConnector<hyper_util::client::legacy::connect::HttpConnector>,
        Full<Bytes>,
    >,
    url: &str,
    auth: &str,
    body: &Value,
) -> (u16, Value) {
    let req = hyper::Request::post(url)
        .header("authorization", auth)
        .header("content-type", "application/json")
        .body(Full::new(Bytes::from(serde_json::to_vec(body).unwrap())))
        .unwrap();
    let resp = c.request(req).await.unwrap();
    let status = resp.status().as_u16();
    let bytes = resp.into_body().collect().await.unwrap().to_bytes();
    (
        status,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    )
}

#[tokio::test]
async fn tokens_bound_to_the_connection_certificate_sign_and_nothing_else_does() {
    let tmp = tempfile::tempdir().unwrap();
    let pkidir = tmp.path().join("pki");
    std::fs::create_dir_all(&pkidir).unwrap();
    pki(&pkidir);

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let data = tmp.path().join("data");
    let (mut config, extra) = vouch_server::dev::config(addr, &data).unwrap();
    config.external_url = format!("https://{addr}");
    config.tls = Some(TlsConfig {
        cert: pkidir.join("server.pem"),
        key: pkidir.join("server.key"),
        client_ca: Some(pkidir.join("ca.pem")),
    });
    let running = vouch_server::start_on(listener, config, Some(extra))
        .await
        .unwrap();
    let base = format!("https://{addr}");

    let issuer = LocalIssuer::load_or_create(&data, DEV_ISSUER).unwrap();
    let x5t = |name: &str| {
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(sha2::Sha256::digest(cert_der(
            &pkidir.join(format!("{name}.pem")),
        )))
    };
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let token = |x5t: Option<String>| {
        issuer
            .mint(&MintRequest {
                subject: "ci".into(),
                tenant: DEV_TENANT.into(),
                scope: "signer.sign".into(),
                audience: "signer".into(),
                ttl_seconds: 300,
                dpop_jkt: None,
                x5t_s256: x5t,
                acr: None,
                amr: vec![],
                extra: serde_json::Map::new(),
                now,
            })
            .unwrap()
    };
    let alice_token = token(Some(x5t("alice")));
    let body = json!({"tenant": DEV_TENANT, "digest": format!("sha256:{}", "ab".repeat(32))});
    let url = format!("{base}/api/v1/signer/sign/blob");

    // Alice's token over Alice's connection: signed.
    let alice = client(&pkidir, Some("alice"));
    let (status, resp) = post(&alice, &url, &format!("Bearer {alice_token}"), &body).await;
    assert_eq!(status, 200, "{resp}");
    assert!(resp["bundle"]["verificationMaterial"]["tlogEntries"][0].is_object());

    // Alice's token over Mallory's connection (a stolen token): refused.
    let mallory = client(&pkidir, Some("mallory"));
    let (status, resp) = post(&mallory, &url, &format!("Bearer {alice_token}"), &body).await;
    assert_eq!(status, 401, "{resp}");
    assert_eq!(resp["error"]["code"], "invalid_token");

    // Without a client certificate: refused.
    let anonymous = client(&pkidir, None);
    let (status, resp) = post(&anonymous, &url, &format!("Bearer {alice_token}"), &body).await;
    assert_eq!(status, 401, "{resp}");

    // A token bound to nothing, over Alice's connection: bearer-only, refused.
    let (status, resp) = post(&alice, &url, &format!("Bearer {}", token(None)), &body).await;
    assert_eq!(status, 401, "{resp}");
    assert_eq!(resp["error"]["code"], "invalid_token");

    running.stop().await;
}
