#![no_main]
//! `serve.toml` of `vouch serve` (`ServeConfig::parse`: TOML, path resolution, validation),
//! then the derived log directory and origin.
use libfuzzer_sys::fuzz_target;
use std::path::Path;
fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        if let Ok(c) = vouch_server::ServeConfig::parse(Path::new("serve.toml"), text) {
            let _ = c.log_dir();
            let _ = c.log_origin();
        }
    }
});
