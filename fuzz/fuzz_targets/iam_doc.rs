#![no_main]
//! IAM policy JSON, CloudFormation YAML/JSON, and the span-carrying document model under both
//! (also the Rego input and `--data` reader).
use libfuzzer_sys::fuzz_target;
fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = vouch_policy::doc::parse_json(text);
        let _ = vouch_policy::doc::parse_yaml(text);
        let _ = vouch_policy::iam::parse("policy.json", text);
        let _ = vouch_policy::iam::parse("template.yaml", text);
    }
});
