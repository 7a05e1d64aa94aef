#![no_main]
//! X.509 certificates (DER): parse, then every accessor the verifier uses.
use libfuzzer_sys::fuzz_target;
fuzz_target!(|data: &[u8]| {
    if let Ok(c) = vouch_attest::x509::Cert::from_der(data) {
        let _ = c.spki_der();
        let _ = c.subject();
        let _ = c.identities();
        let _ = c.is_ca();
        let _ = c.check_code_signing();
        let _ = c.valid_at(0);
        let _ = c.issued_by(&c);
    }
});
