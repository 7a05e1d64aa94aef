#![no_main]
//! Rekor v2 `hashedRekordRequestV002` bodies (`HashedRekordRequest::parse`: shape, digest
//! size, key details, the signature over the digest), then the canonical entry body.
use libfuzzer_sys::fuzz_target;
fuzz_target!(|data: &[u8]| {
    if let Ok(req) = vouch_attest::rekor_v2::HashedRekordRequest::parse(data) {
        assert_eq!(req.digest.len(), 32);
        let body = req.body();
        assert!(serde_json::from_slice::<serde_json::Value>(&body).is_ok());
    }
});
