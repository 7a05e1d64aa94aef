#![no_main]
//! C2SP signed notes and verifier keys.
use libfuzzer_sys::fuzz_target;
fuzz_target!(|data: &[u8]| {
    let _ = vouch_tlog::note::Note::parse(data);
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = vouch_tlog::note::Verifier::parse(text);
    }
});
