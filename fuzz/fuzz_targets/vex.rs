#![no_main]
//! OpenVEX documents.
use libfuzzer_sys::fuzz_target;
fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = vouch_vuln::vex::parse(std::path::Path::new("vex.json"), text);
    }
});
