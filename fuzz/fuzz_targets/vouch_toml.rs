#![no_main]
//! `vouch.toml`, including the rule-id check and the capability sections.
use libfuzzer_sys::fuzz_target;
use std::path::Path;
fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        if let Ok(c) = vouch_core::Config::parse(Path::new("vouch.toml"), text) {
            let _ = c.check_rule_ids(["secrets/aws-access-key"]);
            let _ = c.section::<std::collections::BTreeMap<String, String>>("secrets");
        }
    }
});
