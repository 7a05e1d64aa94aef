//! Wycheproof signature-verification vectors (used in place from ../shared).

use std::path::Path;

use serde_json::Value;
use vouch_crypto::keys::PublicKey;

/// How a signature may be encoded.
#[derive(Clone, Copy)]
enum Encoding {
    /// What Sigstore bundles accept: ASN.1 DER for ECDSA.
    Der,
    /// What bare DSSE envelopes accept: DER or fixed-width `r||s`.
    DerOrFixed,
}

fn run(file: &str) -> usize {
    run_with(file, Encoding::Der)
}

fn run_with(file: &str, encoding: Encoding) -> usize {
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
            let ok = key.as_ref().is_ok_and(|k| match encoding {
                Encoding::Der => k.verify(&msg, &sig).is_ok(),
                Encoding::DerOrFixed => k.verify_der_or_fixed(&msg, &sig).is_ok(),
            });
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
    assert!(
        run_with(
            "ecdsa_secp256r1_sha256_p1363_test.json",
            Encoding::DerOrFixed
        ) > 100
    );
}

/// Sigstore's rule: one signature, one byte string. A valid signature re-encoded from DER to
/// fixed-width `r||s` is refused by `verify` (issue: signature malleability).
#[test]
fn fixed_width_signatures_are_refused_where_der_is_the_encoding() {
    use vouch_crypto::keys::{KeyAlgorithm, PrivateKey};
    let key = PrivateKey::generate(KeyAlgorithm::EcdsaP256).unwrap();
    let der = key.sign(b"message").unwrap();
    // DER: SEQUENCE { INTEGER r, INTEGER s } -> 32-byte r || 32-byte s.
    let mut fixed = Vec::new();
    let mut i = 2;
    for _ in 0..2 {
        let len = der[i + 1] as usize;
        let int = &der[i + 2..i + 2 + len];
        let int = if int.len() > 32 {
            &int[int.len() - 32..]
        } else {
            int
        };
        fixed.extend(std::iter::repeat_n(0u8, 32 - int.len()));
        fixed.extend_from_slice(int);
        i += 2 + len;
    }
    let public = key.public_key();
    assert!(public.verify(b"message", &der).is_ok());
    assert!(public.verify(b"message", &fixed).is_err());
    assert!(public.verify_der_or_fixed(b"message", &fixed).is_ok());
}

#[test]
fn ecdsa_p384_der() {
    assert!(run("ecdsa_secp384r1_sha384_test.json") > 100);
}

#[test]
fn ed25519() {
    assert!(run("ed25519_test.json") > 100);
}
