#![no_main]
//! D1–D7 registers, CSV and YAML, and threat-model flows.
use libfuzzer_sys::fuzz_target;
use std::path::Path;
use vouch_registers::{Register, RegisterKind};
fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let _ = vouch_registers::csv::parse(text);
    for kind in RegisterKind::ALL {
        let _ = Register::parse(kind, Path::new("r.csv"), "security/r.csv", text);
        let _ = Register::parse(kind, Path::new("r.yaml"), "security/r.yaml", text);
    }
    let _ = vouch_registers::threats::Flows::parse(Path::new("flows.yaml"), text);
});
