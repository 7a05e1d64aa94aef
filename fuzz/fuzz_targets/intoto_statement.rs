#![no_main]
//! in-toto Statement v1 JSON.
use libfuzzer_sys::fuzz_target;
fuzz_target!(|data: &[u8]| {
    let _ = vouch_attest::Statement::from_json(data);
});
