#![no_main]
//! CycloneDX and SPDX readers (format detected from the content).
use libfuzzer_sys::fuzz_target;
fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = vouch_sbom::read_sbom_str("bom.json", text);
    }
});
