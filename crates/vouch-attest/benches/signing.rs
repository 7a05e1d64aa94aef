//! Signing and verification speed, vouch vs raw aws-lc-rs, ECDSA P-256 over a 1 KiB message
//! (`cargo bench -p vouch-attest --bench signing`). bench/signing.sh prints the ratios.

use std::hint::black_box;

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{self, EcdsaKeyPair, KeyPair, UnparsedPublicKey};
use criterion::{Criterion, criterion_group, criterion_main};
use vouch_attest::dsse::{Envelope, KeyIdStyle};
use vouch_attest::sign;
use vouch_attest::verify::{Policy, Verifier};
use vouch_crypto::keys::{KeyAlgorithm, PrivateKey};
use vouch_crypto::signer::Signer;

fn bench(c: &mut Criterion) {
    let msg = vec![7u8; 1024];
    let rng = SystemRandom::new();

    // Raw aws-lc-rs: the floor vouch is measured against.
    let doc =
        EcdsaKeyPair::generate_pkcs8(&signature::ECDSA_P256_SHA256_ASN1_SIGNING, &rng).unwrap();
    let raw =
        EcdsaKeyPair::from_pkcs8(&signature::ECDSA_P256_SHA256_ASN1_SIGNING, doc.as_ref()).unwrap();
    let raw_sig = raw.sign(&rng, &msg).unwrap();
    let raw_pub = UnparsedPublicKey::new(
        &signature::ECDSA_P256_SHA256_ASN1,
        raw.public_key().as_ref().to_vec(),
    );
    c.bench_function("raw_aws_lc_rs/sign_p256", |b| {
        b.iter(|| raw.sign(&rng, black_box(&msg)).unwrap())
    });
    c.bench_function("raw_aws_lc_rs/verify_p256", |b| {
        b.iter(|| raw_pub.verify(black_box(&msg), raw_sig.as_ref()).unwrap())
    });

    // vouch through the Signer trait and PublicKey.
    let key = PrivateKey::generate(KeyAlgorithm::EcdsaP256).unwrap();
    let signer: &dyn Signer = &key;
    let sig = signer.sign(&msg).unwrap();
    c.bench_function("vouch/sign_p256", |b| {
        b.iter(|| signer.sign(black_box(&msg)).unwrap())
    });
    c.bench_function("vouch/verify_p256", |b| {
        b.iter(|| key.public_key().verify(black_box(&msg), &sig).unwrap())
    });

    // Whole documents: a blob bundle and a DSSE envelope, signed and verified.
    let bundle = sign::sign_blob(signer, &msg[..]).unwrap();
    let verifier = Verifier::new(Policy::keys(vec![key.public_key().clone()]));
    c.bench_function("vouch/sign_blob_bundle_p256", |b| {
        b.iter(|| sign::sign_blob(signer, black_box(&msg[..])).unwrap())
    });
    c.bench_function("vouch/verify_blob_bundle_p256", |b| {
        b.iter(|| {
            assert!(
                verifier
                    .verify_blob(&bundle, black_box(&msg[..]))
                    .unwrap()
                    .is_verified()
            )
        })
    });
    let env = Envelope::sign(
        "application/vnd.in-toto+json",
        msg.clone(),
        &[signer],
        KeyIdStyle::Empty,
    )
    .unwrap();
    let keys = [key.public_key().clone()];
    c.bench_function("vouch/verify_dsse_p256", |b| {
        b.iter(|| env.verify(black_box(&keys), 1).unwrap())
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
