#![no_main]
//! The secrets scanner on arbitrary bytes, as a text file and as an archive.
use libfuzzer_sys::fuzz_target;
use std::sync::OnceLock;
use vouch_secrets::{ScanOptions, Scanner};
static SCANNER: OnceLock<Option<Scanner>> = OnceLock::new();
fuzz_target!(|data: &[u8]| {
    let Some(scanner) = SCANNER.get_or_init(|| Scanner::new(ScanOptions::default()).ok()) else {
        return;
    };
    let _ = scanner.scan_bytes("src/config.py", data);
    let _ = scanner.scan_bytes("dist/app.zip", data);
    let _ = scanner.scan_bytes("dist/app.tar.gz", data);
});
