//! Public vectors and judge fixtures from `../shared`, used in place.

use std::path::{Path, PathBuf};

use serde_json::Value;
use vouch_attest::b64;
use vouch_attest::bundle::Bundle;
use vouch_attest::dsse::{Envelope, pae};
use vouch_attest::statement::{PredicateType, Statement, validate_slsa_v1};
use vouch_attest::verify::{Evidence, Outcome, Policy, Verifier};
use vouch_crypto::keys::PublicKey;

fn shared() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared")
}

fn read(rel: &str) -> Vec<u8> {
    let p = shared().join(rel);
    std::fs::read(&p)
        .unwrap_or_else(|e| panic!("{}: {e} (is ../shared beside the repo?)", p.display()))
}

fn key(rel: &str) -> PublicKey {
    PublicKey::from_pem(&String::from_utf8(read(rel)).unwrap()).unwrap()
}

#[test]
fn dsse_pae_vectors() {
    let v: Value = serde_json::from_slice(&read("vectors/dsse/vectors.json")).unwrap();
    let cases = v["pae"].as_array().unwrap();
    assert!(!cases.is_empty());
    for c in cases {
        let payload = b64::decode(c["payloadBase64"].as_str().unwrap()).unwrap();
        let want = b64::decode(c["paeBase64"].as_str().unwrap()).unwrap();
        assert_eq!(
            pae(c["payloadType"].as_str().unwrap(), &payload),
            want,
            "{c}"
        );
    }
}

#[test]
fn dsse_envelope_vectors() {
    let v: Value = serde_json::from_slice(&read("vectors/dsse/vectors.json")).unwrap();
    let cases = v["envelopes"].as_array().unwrap();
    assert!(cases.len() >= 10);
    for c in cases {
        let id = c["id"].as_str().unwrap();
        let k = key(&format!(
            "vectors/dsse/{}",
            c["publicKey"].as_str().unwrap()
        ));
        let env_bytes = serde_json::to_vec(&c["envelope"]).unwrap();
        let ok = match Envelope::from_json(&env_bytes) {
            Ok(env) => env.verify(std::slice::from_ref(&k), 1).is_ok(),
            Err(_) => false,
        };
        assert_eq!(ok, c["expected"] == "pass", "DSSE vector {id}");
    }
}

#[test]
fn real_statements_parse_and_type_checks() {
    let manifest = String::from_utf8(read("vectors/attestations/manifest.tsv")).unwrap();
    let mut n = 0;
    for line in manifest.lines().skip(1) {
        let cols: Vec<&str> = line.split('\t').collect();
        let (file, st_type, pred_type, expected) = (cols[0], cols[1], cols[2], cols[3]);
        let bytes = read(&format!("vectors/attestations/{file}"));
        if file.ends_with(".sigstore.json") {
            // A real v0.1 keyless bundle: must parse as a bundle (parse-only vector).
            let b = Bundle::from_json(&bytes).unwrap_or_else(|e| panic!("{file}: {e}"));
            assert!(b.dsse_envelope.is_some());
            n += 1;
            continue;
        }
        let v: Value = serde_json::from_slice(&bytes).unwrap();
        if st_type == "-" {
            // No `_type`: a strict statement parser rejects it; the predicate is still checked.
            assert!(Statement::from_json(&bytes).is_err(), "{file}");
        } else {
            let st = Statement::from_json(&bytes).unwrap_or_else(|e| panic!("{file}: {e}"));
            assert_eq!(st.predicate_type, pred_type);
            let slsa = PredicateType::resolve("slsaprovenance").unwrap();
            assert_eq!(
                slsa.accepts(pred_type),
                pred_type.starts_with("https://slsa.dev/provenance/v"),
                "{file}"
            );
        }
        if pred_type.starts_with("https://slsa.dev/provenance/v1") {
            let pred = v.get("predicate").unwrap_or(&v);
            let strict_ok = validate_slsa_v1(pred).is_ok();
            assert_eq!(
                strict_ok,
                !expected.contains("strict-slsa-v1-invalid"),
                "{file}"
            );
        }
        n += 1;
    }
    assert_eq!(n, 10);
}

#[test]
fn intoto_validation_cases() {
    let v: Value = serde_json::from_slice(&read("vectors/attestations/intoto-cases.json")).unwrap();
    for c in v["cases"].as_array().unwrap() {
        let json = c["json"].as_str().unwrap();
        let valid = match c["kind"].as_str().unwrap() {
            "statement" => Statement::from_json(json.as_bytes()).is_ok(),
            _ => validate_slsa_v1(&serde_json::from_str(json).unwrap()).is_ok(),
        };
        assert_eq!(valid, c["expected"] == "valid", "{}", c["id"]);
    }
}

fn fixture(name: &str) -> Vec<u8> {
    read(&format!("interop/fixtures/{name}"))
}

fn verifier(keyfile: &str) -> Verifier {
    Verifier::new(Policy::keys(vec![key(&format!(
        "interop/fixtures/{keyfile}"
    ))]))
}

#[test]
fn judge_fixtures_verify_and_tampering_is_rejected() {
    let artifact = fixture("artifact.txt");
    let mut flipped = artifact.clone();
    flipped[0] ^= 1;
    let good = verifier("test-key.pub.pem");
    let other = verifier("other-key.pub.pem");
    for name in ["blob.sigstore.json", "blob.v02.sigstore.json"] {
        let b = Bundle::from_json(&fixture(name)).unwrap();
        assert!(
            good.verify_blob(&b, &artifact[..]).unwrap().is_verified(),
            "{name}"
        );
        assert!(matches!(
            good.verify_blob(&b, &flipped[..]).unwrap(),
            Outcome::SubjectDigestMismatch { .. }
        ));
        assert!(matches!(
            other.verify_blob(&b, &artifact[..]).unwrap(),
            Outcome::NoValidSignature { .. }
        ));
        // A flipped signature byte.
        let mut bad = b.clone();
        let ms = bad.message_signature.as_mut().unwrap();
        let last = ms.signature.0.len() - 1;
        ms.signature.0[last] ^= 1;
        assert!(!good.verify_blob(&bad, &artifact[..]).unwrap().is_verified());
        // The digest recomputed for a flipped artifact: only the signature can catch it.
        let mut redigest = b.clone();
        let d = redigest
            .message_signature
            .as_mut()
            .unwrap()
            .message_digest
            .as_mut()
            .unwrap();
        d.digest.0 = vouch_crypto::keys::HashAlgorithm::Sha256
            .hash(&flipped)
            .value;
        assert!(matches!(
            good.verify_blob(&redigest, &flipped[..]).unwrap(),
            Outcome::NoValidSignature { .. }
        ));
    }
    let digest = vouch_crypto::keys::HashAlgorithm::Sha256
        .hash(&artifact)
        .to_hex();
    let flipped_digest = vouch_crypto::keys::HashAlgorithm::Sha256
        .hash(&flipped)
        .to_hex();
    for name in ["attest.sigstore.json", "envelope.dsse.json"] {
        let ev = Evidence::from_json(&fixture(name)).unwrap();
        let out = good.verify_attestation(&ev, Some(&digest)).unwrap();
        assert!(out.is_verified(), "{name}: {out:?}");
        assert!(matches!(
            good.verify_attestation(&ev, Some(&flipped_digest)).unwrap(),
            Outcome::SubjectDigestMismatch { .. }
        ));
        assert!(matches!(
            other.verify_attestation(&ev, Some(&digest)).unwrap(),
            Outcome::NoValidSignature { .. }
        ));
        let typed = Verifier::new(
            good.policy()
                .clone()
                .with_predicate_type(PredicateType::resolve("cyclonedx").unwrap()),
        );
        assert!(matches!(
            typed.verify_attestation(&ev, Some(&digest)).unwrap(),
            Outcome::WrongPredicateType { .. }
        ));
    }
}

#[test]
fn keyless_fixtures_parse_and_are_not_accepted_by_key() {
    for name in [
        "keyless/bundle.sigstore.json",
        "keyless/attest.sigstore.json",
    ] {
        let b = Bundle::from_json(&fixture(name)).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert!(
            b.verification_material.certificate.is_some()
                || b.verification_material.x509_certificate_chain.is_some()
        );
        assert!(!b.verification_material.tlog_entries.is_empty());
        // Round trip is lossless: the same canonical digest.
        let again = Bundle::from_json(&b.to_json()).unwrap();
        assert_eq!(again.canonical_digest(), b.canonical_digest());
    }
}
