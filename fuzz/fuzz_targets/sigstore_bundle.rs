#![no_main]
//! Sigstore bundle v0.3 JSON: parse, and re-serialise what parses.
use libfuzzer_sys::fuzz_target;
fuzz_target!(|data: &[u8]| {
    if let Ok(b) = vouch_attest::Bundle::from_json(data) {
        let _ = format!("{b:?}");
    }
});
