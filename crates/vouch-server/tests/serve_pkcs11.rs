//! A tenant whose signing key lives in a PKCS#11 token (SoftHSM2): `keys = ["pkcs11:…"]`
//! with the PIN named by `pkcs11_pin_env`. One instance signs a blob digest with the token's
//! ECDSA P-256 key, and the bundle verifies with the verifier against the key the token
//! holds; a wrong PIN stops start-up without the PIN in the error.
//!
//! Needs the Debian packages `softhsm2` and `opensc` (for `pkcs11-tool`), installed by
//! `.ci/setup.d/30-softhsm.sh`. A missing tool fails the test with that instruction.
//!
//! The PKCS#11 module is initialised once per process and each key reference opens its own
//! context, so the tests take turns (`TURN`) and each drops what it opened before the next.

mod common;
// The token helpers of the CLI's PKCS#11 tests (module lookup, tools, `init_token`).
#[path = "../../vouch-cli/tests/softhsm/mod.rs"]
mod softhsm;

use std::path::Path;
use std::process::Command;
use std::sync::{Arc, OnceLock};

use common::*;
use serde_json::json;
use softhsm::{module, run, tool};
use tempfile::TempDir;
use vouch_attest::{Bundle, Policy, Verifier};
use vouch_crypto::keys::PublicKey;
use vouch_server::config::TenantConfig;

const TENANT: &str = "hsm";
const LABEL: &str = "vouch-serve";
const PIN: &str = "24680135";
const WRONG_PIN: &str = "97531864";
const PIN_ENV: &str = "VOUCH_SERVE_TEST_PKCS11_PIN";
const WRONG_PIN_ENV: &str = "VOUCH_SERVE_TEST_PKCS11_WRONG_PIN";

static TURN: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// The token directory, made once per process: a token `LABEL` with user PIN `PIN` and an
/// ECDSA P-256 key pair labelled `sign`. `SOFTHSM2_CONF` and the PIN variables are set here,
/// before any thread reads the environment for them.
fn token() -> &'static Path {
    static TOKEN: OnceLock<TempDir> = OnceLock::new();
    TOKEN
        .get_or_init(|| {
            let module = module();
            let dir = TempDir::new().unwrap();
            let conf = softhsm::init_token(dir.path(), LABEL, PIN);
            run(Command::new(tool("pkcs11-tool"))
                .env("SOFTHSM2_CONF", &conf)
                .arg("--module")
                .arg(&module)
                .args(["--token-label", LABEL, "--login", "--pin", PIN])
                .args(["--keypairgen", "--key-type", "EC:prime256v1"])
                .args(["--label", "sign", "--id", "01"]));
            // SAFETY: set once, under the OnceLock, before any test reads these variables or
            // loads the module (both happen after `token()` returns).
            unsafe {
                std::env::set_var("SOFTHSM2_CONF", &conf);
                std::env::set_var(PIN_ENV, PIN);
                std::env::set_var(WRONG_PIN_ENV, WRONG_PIN);
            }
            dir
        })
        .path()
}

fn uri() -> String {
    format!(
        "pkcs11:token={LABEL};object=sign?module-path={}",
        module().display()
    )
}

fn hsm_tenant(pin_env: &str) -> TenantConfig {
    TenantConfig {
        keys: vec![uri()],
        passphrase_env: None,
        pkcs11_pin_env: Some(pin_env.into()),
    }
}

/// The public key as the token itself gives it (the context is closed again on return).
fn token_public_key() -> PublicKey {
    let keyref = vouch_crypto::signer::KeyRef::parse(&uri()).unwrap();
    let secrets = vouch_crypto::signer::SecretInputs {
        passphrase: None,
        pkcs11_pin: Some(zeroize::Zeroizing::new(PIN.to_string())),
        pkcs11_module: None,
    };
    vouch_crypto::signer::load_public_key(&keyref, &secrets).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tenant_key_in_softhsm_signs_a_blob_that_verifies() {
    let _turn = TURN.lock().await;
    token();
    let hsm_key = token_public_key();
    assert_eq!(hsm_key.algorithm().to_string(), "ecdsa-p256");

    let mut inst = start_with(|c| {
        c.tenants.insert(TENANT.into(), hsm_tenant(PIN_ENV));
    })
    .await;

    // The key list offers the token's key for the tenant, from the configuration.
    let keys = inst
        .get(&format!("/api/v1/signer/keys?tenant={TENANT}"))
        .await
        .ok();
    let listed = keys["keys"].as_array().unwrap();
    assert_eq!(listed.len(), 1, "{keys}");
    assert_eq!(listed[0]["origin"], "config", "{keys}");
    assert_eq!(listed[0]["key_id"], hsm_key.key_id().as_str(), "{keys}");
    let listed_key = PublicKey::from_pem(listed[0]["public_key_pem"].as_str().unwrap()).unwrap();
    assert_eq!(listed_key.key_id(), hsm_key.key_id());

    let caller = inst.mint(|r| r.tenant = TENANT.into());
    let artifact = b"an artifact signed by a key that never leaves the token\n".repeat(7);
    let digest = sha256_hex(&artifact);
    let v = inst
        .post(
            &caller,
            BLOB,
            &json!({"tenant": TENANT, "digest": format!("sha256:{digest}")}),
        )
        .await
        .ok();
    assert_eq!(
        v["signingIdentity"]["keyId"],
        hsm_key.key_id().as_str(),
        "{v}"
    );

    let root = inst.trusted_root().await;
    let verifier = Verifier::new(
        Policy::keys(vec![hsm_key.clone()])
            .with_tlog_root(Arc::new(root))
            .requiring_tlog(),
    );
    let bundle = Bundle::from_json(&serde_json::to_vec(&v["bundle"]).unwrap()).unwrap();
    let outcome = verifier.verify_blob(&bundle, artifact.as_slice()).unwrap();
    assert!(outcome.is_verified(), "{}", outcome.message());
    let outcome = verifier.verify_blob(&bundle, &b"another"[..]).unwrap();
    assert!(!outcome.is_verified());

    // The dev tenant's token may not sign for the HSM tenant.
    let other = inst.signer();
    inst.post(
        &other,
        BLOB,
        &json!({"tenant": TENANT, "digest": format!("sha256:{digest}")}),
    )
    .await
    .refused(403, "insufficient_scope");

    inst.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_pin_stops_start_up_without_showing_the_pin() {
    let _turn = TURN.lock().await;
    token();
    let dir = TempDir::new().unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (mut config, extra) = vouch_server::dev::config(addr, dir.path()).unwrap();
    config
        .tenants
        .insert(TENANT.into(), hsm_tenant(WRONG_PIN_ENV));
    let err = match vouch_server::start_on(listener, config, Some(extra)).await {
        Ok(running) => {
            running.stop().await;
            panic!("the service started with a wrong PKCS#11 PIN");
        }
        Err(e) => e.to_string(),
    };
    assert!(err.contains(TENANT), "{err}");
    assert!(err.to_ascii_lowercase().contains("pin"), "{err}");
    assert!(!err.contains(WRONG_PIN), "the error shows the PIN: {err}");
    assert!(!err.contains(PIN), "the error shows the PIN: {err}");

    // An unset PIN variable is refused the same way.
    let dir = TempDir::new().unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (mut config, extra) = vouch_server::dev::config(addr, dir.path()).unwrap();
    config.tenants.insert(
        TENANT.into(),
        hsm_tenant("VOUCH_SERVE_TEST_PKCS11_PIN_UNSET"),
    );
    let Err(e) = vouch_server::start_on(listener, config, Some(extra)).await else {
        panic!("the service started without a PKCS#11 PIN");
    };
    assert!(e.to_string().contains("PIN"), "{e}");
}
