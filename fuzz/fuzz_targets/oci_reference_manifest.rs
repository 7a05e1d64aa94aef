#![no_main]
//! Image references (parse, and print-then-parse gives the same reference), OCI manifests and
//! indexes, and cosign v2 simple-signing payloads.
use libfuzzer_sys::fuzz_target;
use vouch_oci::manifest::Manifest;
use vouch_oci::{Digest, Reference};

fuzz_target!(|data: &[u8]| {
    if let Ok(s) = std::str::from_utf8(data) {
        if let Ok(r) = Reference::parse(s) {
            let printed = r.to_string();
            assert_eq!(Reference::parse(&printed).ok(), Some(r));
        }
    }
    for content_type in [None, Some("application/vnd.oci.image.index.v1+json")] {
        if let Ok(m) = Manifest::parse(data, content_type) {
            let _ = m.media_type();
        }
    }
    let _ = vouch_oci::legacy::payload_names(data, &Digest::of(b""));
});
