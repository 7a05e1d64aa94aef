#![no_main]
//! The signing service's request bodies: DSSE, blob and export requests
//! (`vouch_server::service::{parse_dsse, parse_blob, parse_export}`), each on the same bytes.
//! What a parser accepts must be what the pipeline can sign: a 32-byte blob digest, an
//! export manifest whose canonical form is JSON.
use libfuzzer_sys::fuzz_target;
use vouch_server::service::{Work, canonical_manifest, parse_blob, parse_dsse, parse_export};
fuzz_target!(|data: &[u8]| {
    for parse in [parse_dsse, parse_blob, parse_export] {
        let Ok((_tenant, work)) = parse(data) else {
            continue;
        };
        match work {
            Work::Blob(p) => assert_eq!(p.value.len(), 32),
            Work::Export(m) => {
                let bytes = canonical_manifest(&m);
                assert!(serde_json::from_slice::<serde_json::Value>(&bytes).is_ok());
            }
            Work::Dsse(st, _) => {
                for s in &st.subject {
                    let d = &s.digest["sha256"];
                    assert!(
                        d.len() == 64 && d.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
                    );
                }
            }
        }
    }
});
