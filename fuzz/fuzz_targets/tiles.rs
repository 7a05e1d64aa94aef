#![no_main]
//! tlog-tiles hash tiles and entry bundles.
use libfuzzer_sys::fuzz_target;
fuzz_target!(|data: &[u8]| {
    let width = u64::from(data.first().copied().unwrap_or(0));
    let _ = vouch_tlog::tiles::decode_tile(data.get(1..).unwrap_or(&[]), width);
    let _ = vouch_tlog::tiles::decode_bundle(data);
});
