#![no_main]
//! OSV records.
use libfuzzer_sys::fuzz_target;
fuzz_target!(|data: &[u8]| {
    let _ = vouch_vuln::osv::Record::parse(data);
});
