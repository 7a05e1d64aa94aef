#![no_main]
//! DSSE envelope JSON.
use libfuzzer_sys::fuzz_target;
fuzz_target!(|data: &[u8]| {
    let _ = vouch_attest::Envelope::from_json(data);
});
