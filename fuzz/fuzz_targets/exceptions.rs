#![no_main]
//! `.vouch/exceptions.yaml`.
use libfuzzer_sys::fuzz_target;
use std::path::Path;
fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = vouch_core::exceptions::ExceptionSet::parse(Path::new("e.yaml"), "e.yaml", text);
    }
});
