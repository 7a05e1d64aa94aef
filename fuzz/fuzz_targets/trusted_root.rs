#![no_main]
//! Sigstore trusted root JSON.
use libfuzzer_sys::fuzz_target;
fuzz_target!(|data: &[u8]| {
    let _ = vouch_attest::TrustedRoot::from_json(data);
});
