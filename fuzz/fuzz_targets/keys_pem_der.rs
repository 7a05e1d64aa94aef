#![no_main]
//! PEM and DER keys: public (SPKI) and private (PKCS#8, encrypted PEM with a fixed passphrase).
use libfuzzer_sys::fuzz_target;
use vouch_crypto::keys::{PrivateKey, PublicKey, decode_pem};
fuzz_target!(|data: &[u8]| {
    let _ = PublicKey::from_spki_der(data);
    let _ = PrivateKey::from_pkcs8_der(data);
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = decode_pem(text);
        let _ = PublicKey::from_pem(text);
        let _ = PrivateKey::from_pem(text, None);
    }
});
