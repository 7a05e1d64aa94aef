#![no_main]
//! Sealed (AES-256-GCM) envelopes: the header parser.
use libfuzzer_sys::fuzz_target;
fuzz_target!(|data: &[u8]| {
    let _ = vouch_crypto::seal::envelope::Envelope::parse(data);
});
