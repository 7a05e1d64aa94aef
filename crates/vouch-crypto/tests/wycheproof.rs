//! Wycheproof signature-verification vectors (used in place from ../shared).

use std::path::Path;

use serde_json::Value;
use vouch_crypto::keys::PublicKey;

fn run(file: &str) -> usize {
    let p = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/vectors/wycheproof")
        .join(file);
    let v: Value = serde_json::from_slice(&std::fs::read(&p).expect("../shared/vectors present"))
        .expect("json");
    let mut n = 0;
    for g in v["testGroups"].as_array().unwrap() {
        let der = hex::decode(g["publicKeyDer"].as_str().unwrap()).unwrap();
        let key = PublicKey::from_spki_der(&der);
        for t in g["tests"].as_array().unwrap() {
            let result = t["result"].as_str().unwrap();
            if result == "acceptable" {
                continue;
            }
            let msg = hex::decode(t["msg"].as_str().unwrap()).unwrap();
            let sig = hex::decode(t["sig"].as_str().unwrap()).unwrap();
            let ok = key.as_ref().is_ok_and(|k| k.verify(&msg, &sig).is_ok());
            assert_eq!(
                ok,
                result == "valid",
                "{file} tcId {}: {}",
                t["tcId"],
                t["comment"]
            );
            n += 1;
        }
    }
    n
}

#[test]
fn ecdsa_p256_der() {
    assert!(run("ecdsa_secp256r1_sha256_test.json") > 300);
}

#[test]
fn ecdsa_p256_fixed_width() {
    assert!(run("ecdsa_secp256r1_sha256_p1363_test.json") > 100);
}

#[test]
fn ecdsa_p384_der() {
    assert!(run("ecdsa_secp384r1_sha384_test.json") > 100);
}

#[test]
fn ed25519() {
    assert!(run("ed25519_test.json") > 100);
}
