//! `vouch sign-blob --keyless` against a dev `vouch serve`: the bundle verifies with
//! `vouch verify-blob` for the token's identity only, the external sigstore-python judge
//! accepts it, and a token the CA does not take gives exit 1 and no bundle.

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

    // Bad input exits 2: no token, and the ambient GitHub Actions token is not fetched.
    let o = vouch()
        .arg("sign-blob")
        .arg(&artifact)
        .arg("--keyless")
        .arg("--trust-config")
        .arg(dir.join("trust-config.json"))
        .env(
            "ACTIONS_ID_TOKEN_REQUEST_URL",
            "https://example.invalid/token",
        )
        .env("ACTIONS_ID_TOKEN_REQUEST_TOKEN", "x")
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("not fetched yet"));
    let o = vouch()
        .arg("sign-blob")
        .arg(&artifact)
        .args(["--keyless", "--key", "k.pem"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
}
