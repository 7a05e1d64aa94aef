//! `vouch sign-blob --keyless` and `vouch attest --keyless` against a dev `vouch serve`: the
//! bundles verify with `vouch verify-blob` / `verify-attestation` for the token's identity
//! only, the external sigstore-python judge accepts them, and a token the CA does not take
//! gives exit 1 and no bundle. The ambient identity token (SIGSTORE_ID_TOKEN, GitHub Actions)
//! is used when no --identity-token is given. Bundles that must be rejected (wrong identity or
//! issuer, a certificate expired at the verified time, no SCT, a tampered timestamp) are
//! rejected by both the judge and vouch.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};

use assert_cmd::cargo::CommandCargoExt;

const JUDGE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../../shared/interop/verify-bundle-keyless"
);

fn vouch() -> Command {
    Command::cargo_bin("vouch").unwrap()
}

struct Instance(Child);

impl Drop for Instance {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn start(dir: &Path) -> Instance {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
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
    assert_eq!(line.trim(), format!("http://127.0.0.1:{port}"));
    Instance(child)
}

fn token(dir: &Path, audience: &str, out: &Path) {
    let o = vouch()
        .args(["serve", "dev-token", "--dir"])
        .arg(dir)
        .args(["--audience", audience])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    std::fs::write(out, &o.stdout).unwrap();
}

fn sign(dir: &Path, artifact: &Path, tok: &Path, bundle: &Path) -> std::process::Output {
    vouch()
        .arg("sign-blob")
        .arg(artifact)
        .arg("--keyless")
        .arg("--identity-token")
        .arg(tok)
        .arg("--trust-config")
        .arg(dir.join("trust-config.json"))
        .arg("--bundle")
        .arg(bundle)
        .env_remove("ACTIONS_ID_TOKEN_REQUEST_URL")
        .env_remove("SIGSTORE_ID_TOKEN")
        .output()
        .unwrap()
}

fn verify(dir: &Path, artifact: &Path, bundle: &Path, identity: &str) -> Option<i32> {
    vouch()
        .arg("verify-blob")
        .arg(artifact)
        .arg("--bundle")
        .arg(bundle)
        .args(["--certificate-identity", identity])
        .args(["--certificate-oidc-issuer", "vouch-dev-issuer"])
        .arg("--trusted-root")
        .arg(dir.join("trusted-root.json"))
        .output()
        .unwrap()
        .status
        .code()
}

#[test]
fn keyless_sign_blob_against_a_dev_instance() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("dev");
    let _inst = start(&dir);
    let artifact = tmp.path().join("art");
    std::fs::write(&artifact, b"a keylessly signed artifact\n").unwrap();

    let tok = tmp.path().join("tok");
    token(&dir, "sigstore", &tok);
    let bundle = tmp.path().join("b.json");
    let out = sign(&dir, &artifact, &tok, &bundle);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let json: serde_json::Value = serde_json::from_slice(&std::fs::read(&bundle).unwrap()).unwrap();
    assert_eq!(
        json["mediaType"],
        "application/vnd.dev.sigstore.bundle.v0.3+json"
    );

    assert_eq!(
        verify(&dir, &artifact, &bundle, "dev-user@dev.vouch.invalid"),
        Some(0)
    );
    assert_eq!(
        verify(&dir, &artifact, &bundle, "someone-else@dev.vouch.invalid"),
        Some(1)
    );

    let judge = Command::new(JUDGE)
        .arg(&bundle)
        .arg(&artifact)
        .arg(dir.join("trusted-root.json"))
        .arg("dev-user@dev.vouch.invalid")
        .arg("vouch-dev-issuer")
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&judge.stdout).to_string()
        + &String::from_utf8_lossy(&judge.stderr);
    assert!(said.contains("ACCEPT"), "{said}");

    // A token for another audience: the CA refuses, exit 1, no bundle, no token in the error.
    let wrong = tmp.path().join("tok-signer");
    token(&dir, "signer", &wrong);
    let refused = tmp.path().join("refused.json");
    let out = sign(&dir, &artifact, &wrong, &refused);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(!refused.exists());
    let jwt = std::fs::read_to_string(&wrong).unwrap();
    assert!(!stderr.contains(jwt.trim()), "{stderr}");

    // Bad input exits 2: no token anywhere, or --keyless with --key.
    let o = vouch()
        .arg("sign-blob")
        .arg(&artifact)
        .arg("--keyless")
        .arg("--trust-config")
        .arg(dir.join("trust-config.json"))
        .env_remove("ACTIONS_ID_TOKEN_REQUEST_URL")
        .env_remove("ACTIONS_ID_TOKEN_REQUEST_TOKEN")
        .env_remove("SIGSTORE_ID_TOKEN")
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("identity token"));
    let o = vouch()
        .arg("sign-blob")
        .arg(&artifact)
        .args(["--keyless", "--key", "k.pem"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
}

const DEV_ISSUER: &str = "vouch-dev-issuer";
const DEV_EMAIL: &str = "dev-user@dev.vouch.invalid";

/// The judge's verdict: `Some(true)` ACCEPT, `Some(false)` REJECT, `None` anything else.
fn judged(
    bundle: &Path,
    artifact: &Path,
    root: &Path,
    identity: &str,
    issuer: &str,
) -> Option<bool> {
    let out = Command::new(JUDGE)
        .arg(bundle)
        .arg(artifact)
        .arg(root)
        .arg(identity)
        .arg(issuer)
        .output()
        .unwrap();
    let said =
        String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    let verdict = said
        .lines()
        .rev()
        .find(|l| l.starts_with("ACCEPT") || l.starts_with("REJECT") || l.starts_with("ERROR"));
    match verdict {
        Some(v) if v.starts_with("ACCEPT") && out.status.code() == Some(0) => Some(true),
        Some(v) if v.starts_with("REJECT") && out.status.code() == Some(1) => Some(false),
        _ => {
            eprintln!("judge said:\n{said}");
            None
        }
    }
}

fn verify_with(
    artifact: &Path,
    bundle: &Path,
    root: &Path,
    identity: &str,
    issuer: &str,
) -> Option<i32> {
    vouch()
        .arg("verify-blob")
        .arg(artifact)
        .arg("--bundle")
        .arg(bundle)
        .args(["--certificate-identity", identity])
        .args(["--certificate-oidc-issuer", issuer])
        .arg("--trusted-root")
        .arg(root)
        .output()
        .unwrap()
        .status
        .code()
}

/// Asserts the judge and `vouch verify-blob` agree: both accept or both reject.
fn both(
    artifact: &Path,
    bundle: &Path,
    root: &Path,
    identity: &str,
    issuer: &str,
    accept: bool,
    case: &str,
) {
    assert_eq!(
        judged(bundle, artifact, root, identity, issuer),
        Some(accept),
        "judge, case {case}"
    );
    assert_eq!(
        verify_with(artifact, bundle, root, identity, issuer),
        Some(if accept { 0 } else { 1 }),
        "vouch verify-blob, case {case}"
    );
}

fn b64(b: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(b)
}

fn unb64(s: &str) -> Vec<u8> {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.decode(s).unwrap()
}

/// The RFC 3161 token with one digit of its `genTime` changed: still DER, still parses, but
/// the TSA's signature no longer covers it.
fn tamper_gen_time(token: &[u8]) -> Vec<u8> {
    let mut t = token.to_vec();
    // GeneralizedTime, 15 bytes: YYYYMMDDHHMMSSZ (the TSA writes no fraction).
    let at = t
        .windows(2)
        .position(|w| w == [0x18, 0x0f])
        .expect("a genTime in the token");
    let second_digit = at + 2 + 13;
    t[second_digit] = if t[second_digit] == b'0' { b'1' } else { b'0' };
    t
}

#[test]
fn keyless_bundles_every_verifier_must_reject() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("dev");
    let _inst = start(&dir);
    let artifact = tmp.path().join("art");
    std::fs::write(&artifact, b"judged artifact\n").unwrap();
    let tok = tmp.path().join("tok");
    token(&dir, "sigstore", &tok);
    let bundle = tmp.path().join("good.json");
    let out = sign(&dir, &artifact, &tok, &bundle);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let root = dir.join("trusted-root.json");

    // The control: the bundle as signed is accepted by both.
    both(
        &artifact,
        &bundle,
        &root,
        DEV_EMAIL,
        DEV_ISSUER,
        true,
        "as signed",
    );
    // Wrong identity, wrong issuer.
    both(
        &artifact,
        &bundle,
        &root,
        "mallory@dev.vouch.invalid",
        DEV_ISSUER,
        false,
        "identity",
    );
    both(
        &artifact,
        &bundle,
        &root,
        DEV_EMAIL,
        "https://issuer.other.invalid",
        false,
        "issuer",
    );

    // A tampered timestamp: the only source of the verified time for a Rekor v2 entry.
    let mut json: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&bundle).unwrap()).unwrap();
    let stamp = &mut json["verificationMaterial"]["timestampVerificationData"]["rfc3161Timestamps"]
        [0]["signedTimestamp"];
    let tampered_token = tamper_gen_time(&unb64(stamp.as_str().unwrap()));
    *stamp = b64(&tampered_token).into();
    let tampered = tmp.path().join("tampered-timestamp.json");
    std::fs::write(&tampered, serde_json::to_vec_pretty(&json).unwrap()).unwrap();
    both(
        &artifact,
        &tampered,
        &root,
        DEV_EMAIL,
        DEV_ISSUER,
        false,
        "timestamp",
    );
}

/// A CA of the test's own (valid from two hours ago, so it can issue a certificate that
/// expired before now) and CT key, trusted by a copy of the instance's trusted root; the
/// instance's TSA and log witness the signatures.
struct TestCa {
    keys: vouch_ca::chain::CaKeys,
    ct: vouch_ca::ct::CtLog,
    root_path: std::path::PathBuf,
    trust_config: serde_json::Value,
}

impl TestCa {
    fn new(dir: &Path, out: &Path) -> TestCa {
        use vouch_attest::vouch_crypto::keys::{KeyAlgorithm, PrivateKey};
        let now = jiff::Timestamp::now();
        let from = now - jiff::SignedDuration::from_hours(2);
        let chain = vouch_ca::chain::generate_dev_chain(from, jiff::SignedDuration::from_hours(24))
            .unwrap();
        let certs = [chain.intermediate_der.clone(), chain.root_der.clone()];
        let keys = chain.into_ca_keys().unwrap();
        let ct = vouch_ca::ct::CtLog::new(Box::new(
            PrivateKey::generate(KeyAlgorithm::EcdsaP256).unwrap(),
        ))
        .unwrap();
        let mut root: serde_json::Value =
            serde_json::from_slice(&std::fs::read(dir.join("trusted-root.json")).unwrap()).unwrap();
        root["certificateAuthorities"][0]["certChain"]["certificates"] = certs
            .iter()
            .map(|c| serde_json::json!({"rawBytes": b64(c)}))
            .collect();
        let ct_spki = ct.public_key_spki_der().to_vec();
        root["ctlogs"][0]["publicKey"]["rawBytes"] = b64(&ct_spki).into();
        root["ctlogs"][0]["logId"]["keyId"] = b64(&ct.log_id()).into();
        let root_path = out.join("test-ca-root.json");
        std::fs::write(&root_path, serde_json::to_vec_pretty(&root).unwrap()).unwrap();
        let trust_config: serde_json::Value =
            serde_json::from_slice(&std::fs::read(dir.join("trust-config.json")).unwrap()).unwrap();
        TestCa {
            keys,
            ct,
            root_path,
            trust_config,
        }
    }

    /// A certificate for `spki` naming the dev identity, valid from `not_before` for 10
    /// minutes, with the SCT of the test CT key (as the CA makes them).
    fn issue(&self, spki: &[u8], not_before: jiff::Timestamp) -> Vec<u8> {
        let identity = vouch_ca::identity::Identity {
            san: vouch_ca::identity::San::Email(DEV_EMAIL.into()),
            issuer: DEV_ISSUER.into(),
            extensions: vec![],
        };
        let ms = u64::try_from(not_before.as_millisecond()).unwrap();
        vouch_ca::fulcio::issue(
            &self.keys,
            spki,
            &identity,
            not_before,
            jiff::SignedDuration::from_mins(10),
            |e| self.ct.sign_precert(&e.issuer_key_hash, &e.tbs_der, ms),
        )
        .unwrap()
        .leaf_der
    }

    /// `leaf` without its embedded SCT list, re-signed by the issuing CA.
    fn without_sct(&self, leaf: &[u8]) -> Vec<u8> {
        use der::{Decode as _, Encode as _};
        let sct_list = der::asn1::ObjectIdentifier::new_unwrap("1.3.6.1.4.1.11129.2.4.2");
        let cert = x509_cert::Certificate::from_der(leaf).unwrap();
        let mut tbs = cert.tbs_certificate;
        let exts = tbs.extensions.take().unwrap();
        let before = exts.len();
        let kept: Vec<_> = exts.into_iter().filter(|e| e.extn_id != sct_list).collect();
        assert_eq!(kept.len(), before - 1);
        tbs.extensions = Some(kept);
        let signed = vouch_ca::chain::sign_tbs(tbs, self.keys.issuer().signer.as_ref()).unwrap();
        assert!(
            x509_cert::Certificate::from_der(&signed)
                .unwrap()
                .to_der()
                .is_ok()
        );
        signed
    }

    /// Signs `artifact` with a fresh key under the certificate `make_cert` gives for it; the
    /// instance's TSA timestamps the signature and its log records it.
    fn bundle(&self, artifact: &Path, out: &Path, make_cert: impl FnOnce(&[u8]) -> Vec<u8>) {
        use vouch_attest::vouch_crypto::keys::{HashAlgorithm, KeyAlgorithm, Prehash, PrivateKey};
        use vouch_server::keyless::client::{blob_bundle, witness_blocking};
        let key = PrivateKey::generate(KeyAlgorithm::EcdsaP256).unwrap();
        let leaf = make_cert(key.public_key().spki_der());
        let digest: [u8; 32] = HashAlgorithm::Sha256
            .hash(&std::fs::read(artifact).unwrap())
            .value
            .try_into()
            .unwrap();
        let signature = key
            .sign_prehashed(&Prehash {
                algorithm: HashAlgorithm::Sha256,
                value: digest.to_vec(),
            })
            .unwrap();
        let witness = witness_blocking(&self.trust_config, &leaf, &digest, &signature).unwrap();
        let bundle = blob_bundle(&leaf, &witness, &digest, &signature);
        std::fs::write(out, serde_json::to_vec_pretty(&bundle).unwrap()).unwrap();
    }
}

#[test]
fn expired_and_sct_less_certificates_are_rejected_by_every_verifier() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("dev");
    let _inst = start(&dir);
    let artifact = tmp.path().join("art");
    std::fs::write(&artifact, b"certificates under test\n").unwrap();
    let ca = TestCa::new(&dir, tmp.path());
    let root = ca.root_path.clone();
    let now = jiff::Timestamp::now();

    // The control: the test CA's certificate as the CA would issue it is accepted.
    let good = tmp.path().join("test-ca-good.json");
    ca.bundle(&artifact, &good, |spki| {
        ca.issue(spki, now - jiff::SignedDuration::from_mins(1))
    });
    both(
        &artifact,
        &good,
        &root,
        DEV_EMAIL,
        DEV_ISSUER,
        true,
        "test CA control",
    );

    // Expired before the timestamp's time (valid from 60 to 50 minutes ago).
    let expired = tmp.path().join("expired.json");
    ca.bundle(&artifact, &expired, |spki| {
        ca.issue(spki, now - jiff::SignedDuration::from_mins(60))
    });
    both(
        &artifact, &expired, &root, DEV_EMAIL, DEV_ISSUER, false, "expired",
    );

    // No embedded SCT (otherwise the same certificate, properly signed by the CA).
    let no_sct = tmp.path().join("no-sct.json");
    ca.bundle(&artifact, &no_sct, |spki| {
        ca.without_sct(&ca.issue(spki, now - jiff::SignedDuration::from_mins(1)))
    });
    both(
        &artifact, &no_sct, &root, DEV_EMAIL, DEV_ISSUER, false, "no SCT",
    );
}

#[test]
fn keyless_attest_against_a_dev_instance() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("dev");
    let _inst = start(&dir);
    let artifact = tmp.path().join("app.tar");
    std::fs::write(&artifact, b"an attested artifact\n").unwrap();
    let predicate = tmp.path().join("predicate.json");
    std::fs::write(
        &predicate,
        br#"{"builder": {"id": "https://ci.example/builder"}}"#,
    )
    .unwrap();
    let tok = tmp.path().join("tok");
    token(&dir, "sigstore", &tok);
    let bundle = tmp.path().join("att.json");
    let out = vouch()
        .arg("attest")
        .arg(&artifact)
        .arg("--predicate")
        .arg(&predicate)
        .args(["--type", "https://example.com/predicate/v1", "--keyless"])
        .arg("--identity-token")
        .arg(&tok)
        .arg("--trust-config")
        .arg(dir.join("trust-config.json"))
        .arg("--bundle")
        .arg(&bundle)
        .env_remove("SIGSTORE_ID_TOKEN")
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let json: serde_json::Value = serde_json::from_slice(&std::fs::read(&bundle).unwrap()).unwrap();
    assert_eq!(
        json["dsseEnvelope"]["payloadType"],
        "application/vnd.in-toto+json"
    );
    assert!(json["verificationMaterial"]["certificate"]["rawBytes"].is_string());

    let root = dir.join("trusted-root.json");
    assert_eq!(
        judged(&bundle, &artifact, &root, DEV_EMAIL, DEV_ISSUER),
        Some(true)
    );
    assert_eq!(
        judged(
            &bundle,
            &artifact,
            &root,
            "mallory@dev.vouch.invalid",
            DEV_ISSUER
        ),
        Some(false)
    );
    let verify_att = |identity: &str, subject: &Path| {
        vouch()
            .arg("verify-attestation")
            .arg(subject)
            .arg("--bundle")
            .arg(&bundle)
            .args(["--type", "https://example.com/predicate/v1"])
            .args(["--certificate-identity", identity])
            .args(["--certificate-oidc-issuer", DEV_ISSUER])
            .arg("--trusted-root")
            .arg(&root)
            .output()
            .unwrap()
            .status
            .code()
    };
    assert_eq!(verify_att(DEV_EMAIL, &artifact), Some(0));
    assert_eq!(verify_att("mallory@dev.vouch.invalid", &artifact), Some(1));
    let other = tmp.path().join("other");
    std::fs::write(&other, b"not the subject\n").unwrap();
    assert_eq!(verify_att(DEV_EMAIL, &other), Some(1));

    // A raw envelope cannot carry the certificate: usage error, nothing written.
    let o = vouch()
        .args(["--format", "dsse", "attest"])
        .arg(&artifact)
        .arg("--predicate")
        .arg(&predicate)
        .arg("--keyless")
        .arg("--identity-token")
        .arg(&tok)
        .arg("--trust-config")
        .arg(dir.join("trust-config.json"))
        .arg("--bundle")
        .arg(tmp.path().join("never.json"))
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(!tmp.path().join("never.json").exists());
}

/// A one-shot fake of GitHub Actions' token endpoint on loopback: answers `status` with
/// `body` to the first request and hands back that request's head.
fn fake_actions_endpoint(status: u16, body: String) -> (u16, std::thread::JoinHandle<String>) {
    use std::io::{Read as _, Write as _};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let handle = std::thread::spawn(move || {
        let (mut conn, _) = listener.accept().unwrap();
        let mut head = Vec::new();
        let mut byte = [0u8; 1];
        while !head.ends_with(b"\r\n\r\n") {
            if conn.read(&mut byte).unwrap() == 0 {
                break;
            }
            head.push(byte[0]);
        }
        let reply = format!(
            "HTTP/1.1 {status} X\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
            body.len()
        );
        conn.write_all(reply.as_bytes()).unwrap();
        String::from_utf8_lossy(&head).to_string()
    });
    (port, handle)
}

#[test]
fn ambient_identity_tokens_are_picked_up() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("dev");
    let _inst = start(&dir);
    let artifact = tmp.path().join("art");
    std::fs::write(&artifact, b"signed in CI\n").unwrap();
    let tok = tmp.path().join("tok");
    token(&dir, "sigstore", &tok);
    let jwt = std::fs::read_to_string(&tok).unwrap().trim().to_string();
    let request_secret = "actions-request-secret-0123456789";
    let ambient = |bundle: &Path, url: &str, sigstore_id_token: Option<&str>| {
        let mut c = vouch();
        c.arg("sign-blob")
            .arg(&artifact)
            .arg("--keyless")
            .arg("--trust-config")
            .arg(dir.join("trust-config.json"))
            .arg("--bundle")
            .arg(bundle)
            .env("ACTIONS_ID_TOKEN_REQUEST_URL", url)
            .env("ACTIONS_ID_TOKEN_REQUEST_TOKEN", request_secret)
            .env_remove("SIGSTORE_ID_TOKEN");
        if let Some(t) = sigstore_id_token {
            c.env("SIGSTORE_ID_TOKEN", t);
        }
        c.output().unwrap()
    };

    // GitHub Actions: GET $URL&audience=sigstore with `Authorization: bearer $TOKEN`.
    let (port, seen) = fake_actions_endpoint(200, serde_json::json!({"value": jwt}).to_string());
    let bundle = tmp.path().join("gha.json");
    let out = ambient(
        &bundle,
        &format!("http://127.0.0.1:{port}/token?api-version=2.0"),
        None,
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let head = seen.join().unwrap();
    let request_line = head.lines().next().unwrap();
    assert_eq!(
        request_line,
        "GET /token?api-version=2.0&audience=sigstore HTTP/1.1"
    );
    assert!(
        head.lines()
            .any(|l| l.eq_ignore_ascii_case(&format!("authorization: bearer {request_secret}"))),
        "{head}"
    );
    assert_eq!(verify(&dir, &artifact, &bundle, DEV_EMAIL), Some(0));

    // SIGSTORE_ID_TOKEN comes first: the Actions endpoint (a closed port) is not asked.
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let bundle = tmp.path().join("env.json");
    let out = ambient(
        &bundle,
        &format!("http://127.0.0.1:{closed}/token"),
        Some(&jwt),
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    // The endpoint refuses (and echoes the secret): exit 1, no bundle, no secret shown.
    let (port, seen) =
        fake_actions_endpoint(403, format!("{{\"message\": \"bad {request_secret}\"}}"));
    let bundle = tmp.path().join("refused.json");
    let out = ambient(
        &bundle,
        &format!("http://127.0.0.1:{port}/token?api-version=2.0"),
        None,
    );
    seen.join().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("403"), "{stderr}");
    assert!(!stderr.contains(request_secret), "{stderr}");
    assert!(!bundle.exists());
}
