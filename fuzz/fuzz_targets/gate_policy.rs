#![no_main]
//! Deploy-gate policies (gate.yaml), including freeze windows.
use libfuzzer_sys::fuzz_target;
fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = vouch_gate::GatePolicy::parse(std::path::Path::new("gate.yaml"), text);
    }
});
