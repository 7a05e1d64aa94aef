#![no_main]
//! The YAML gate itself (forbidden characters, alias counting), then marked-yaml behind it.
use libfuzzer_sys::fuzz_target;
fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        if vouch_core::yaml::check(text).is_ok() {
            let _ = vouch_core::yaml::parse_yaml(std::path::Path::new("f.yaml"), text);
        }
    }
});
