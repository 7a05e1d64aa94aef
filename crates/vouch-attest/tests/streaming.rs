//! Blob signing and verification stream the artifact: 1 GiB goes through in constant memory.

use std::io::Read;

use vouch_attest::sign;
use vouch_attest::verify::{Policy, Verifier};
use vouch_crypto::keys::{KeyAlgorithm, PrivateKey};

fn peak_rss_kib() -> Option<u64> {
    let s = std::fs::read_to_string("/proc/self/status").ok()?;
    s.lines()
        .find(|l| l.starts_with("VmHWM:"))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

#[test]
fn one_gib_in_constant_memory() {
    const SIZE: u64 = 1 << 30;
    let key = PrivateKey::generate(KeyAlgorithm::EcdsaP256).unwrap();
    let before = peak_rss_kib();
    let bundle = sign::sign_blob(&key, std::io::repeat(0xA5).take(SIZE)).unwrap();
    let verifier = Verifier::new(Policy::keys(vec![key.public_key().clone()]));
    assert!(
        verifier
            .verify_blob(&bundle, std::io::repeat(0xA5).take(SIZE))
            .unwrap()
            .is_verified()
    );
    assert!(
        !verifier
            .verify_blob(&bundle, std::io::repeat(0xA5).take(SIZE - 1))
            .unwrap()
            .is_verified()
    );
    if let (Some(b), Some(a)) = (before, peak_rss_kib()) {
        assert!(
            a - b < 64 * 1024,
            "peak RSS grew by {} KiB while streaming 1 GiB",
            a - b
        );
    }
}
