#![no_main]
//! C2SP checkpoint bodies and inclusion/consistency proof text.
use libfuzzer_sys::fuzz_target;
fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = vouch_tlog::checkpoint::Checkpoint::parse_body(text);
        let _ = vouch_tlog::proof::TlogProof::parse(text);
    }
});
