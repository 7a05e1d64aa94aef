//! The one AES-256-GCM call site (aws-lc-rs), shared by envelopes and the keyring file, and
//! checked against the Wycheproof vectors.
//!
//! A context is built per operation from key bytes held in protected memory, so the expanded
//! key schedule lives only for the operation; aws-lc cleanses it when the context is freed.

use aws_lc_rs::aead::{AES_256_GCM, Aad, LessSafeKey, Nonce, UnboundKey};

use super::envelope::{NONCE_LEN, TAG_LEN};

/// The primitive failed: bad key length, or (open) authentication failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct GcmError;

fn key(bytes: &[u8]) -> Result<LessSafeKey, GcmError> {
    UnboundKey::new(&AES_256_GCM, bytes)
        .map(LessSafeKey::new)
        .map_err(|_| GcmError)
}

/// Encrypts `buf` in place and returns the tag.
pub(crate) fn seal_in_place(
    k: &[u8],
    nonce: [u8; NONCE_LEN],
    aad: &[u8],
    buf: &mut [u8],
) -> Result<[u8; TAG_LEN], GcmError> {
    let tag = key(k)?
        .seal_in_place_separate_tag(Nonce::assume_unique_for_key(nonce), Aad::from(aad), buf)
        .map_err(|_| GcmError)?;
    let mut t = [0u8; TAG_LEN];
    t.copy_from_slice(tag.as_ref());
    Ok(t)
}

/// Decrypts `buf` (ciphertext ‖ tag) in place; returns the plaintext length.
pub(crate) fn open_in_place(
    k: &[u8],
    nonce: [u8; NONCE_LEN],
    aad: &[u8],
    buf: &mut [u8],
) -> Result<usize, GcmError> {
    key(k)?
        .open_in_place(Nonce::assume_unique_for_key(nonce), Aad::from(aad), buf)
        .map(|p| p.len())
        .map_err(|_| GcmError)
}

/// Encrypts `plaintext` into `out` (same length) in one pass; returns the tag.
pub(crate) fn seal_into(
    k: &[u8],
    nonce: [u8; NONCE_LEN],
    aad: &[u8],
    plaintext: &[u8],
    out: &mut [u8],
) -> Result<[u8; TAG_LEN], GcmError> {
    let mut tag = [0u8; TAG_LEN];
    key(k)?
        .seal_out_of_place_scatter(
            Nonce::assume_unique_for_key(nonce),
            Aad::from(aad),
            plaintext,
            out,
            &[],
            &mut tag,
        )
        .map_err(|_| GcmError)?;
    Ok(tag)
}

/// Decrypts `ciphertext` with `tag` into `out` (same length) in one pass. On failure `out`
/// may hold garbage; the caller discards (and zeroizes) it.
pub(crate) fn open_into(
    k: &[u8],
    nonce: [u8; NONCE_LEN],
    aad: &[u8],
    ciphertext: &[u8],
    tag: &[u8],
    out: &mut [u8],
) -> Result<(), GcmError> {
    key(k)?
        .open_separate_gather(
            Nonce::assume_unique_for_key(nonce),
            Aad::from(aad),
            ciphertext,
            tag,
            out,
        )
        .map_err(|_| GcmError)
}

#[cfg(test)]
mod wycheproof {
    //! Wycheproof AES-GCM vectors, read in place from the shared test vectors.
    use super::*;
    use std::path::Path;

    fn h(s: &str) -> Vec<u8> {
        hex::decode(s).unwrap()
    }

    #[test]
    fn aes_256_gcm_vectors() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../../shared/vectors/wycheproof/aes_gcm_test.json");
        let text = std::fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("shared vectors missing at {}: {e}", path.display()));
        let doc: serde_json::Value = serde_json::from_str(&text).unwrap();
        let (mut valid, mut invalid, mut skipped) = (0, 0, 0);
        for group in doc["testGroups"].as_array().unwrap() {
            let applicable =
                group["keySize"] == 256 && group["ivSize"] == 96 && group["tagSize"] == 128;
            for t in group["tests"].as_array().unwrap() {
                if !applicable {
                    // Our envelope only ever uses 256-bit keys, 96-bit nonces, 128-bit tags;
                    // other shapes cannot be expressed (the nonce is a [u8; 12]).
                    skipped += 1;
                    continue;
                }
                let id = &t["tcId"];
                let k = h(t["key"].as_str().unwrap());
                let iv: [u8; 12] = h(t["iv"].as_str().unwrap()).try_into().unwrap();
                let aad = h(t["aad"].as_str().unwrap());
                let msg = h(t["msg"].as_str().unwrap());
                let ct = h(t["ct"].as_str().unwrap());
                let tag = h(t["tag"].as_str().unwrap());
                let mut sealed = ct.clone();
                sealed.extend_from_slice(&tag);
                let opened = open_in_place(&k, iv, &aad, &mut sealed);
                match t["result"].as_str().unwrap() {
                    "valid" => {
                        valid += 1;
                        assert_eq!(opened, Ok(msg.len()), "tcId {id}: open");
                        assert_eq!(&sealed[..msg.len()], &msg[..], "tcId {id}: plaintext");
                        let mut buf = msg.clone();
                        let t2 = seal_in_place(&k, iv, &aad, &mut buf).unwrap();
                        assert_eq!(buf, ct, "tcId {id}: ciphertext");
                        assert_eq!(&t2[..], &tag[..], "tcId {id}: tag");
                        let mut out = vec![0u8; msg.len()];
                        let t3 = seal_into(&k, iv, &aad, &msg, &mut out).unwrap();
                        assert_eq!((&out, &t3[..]), (&ct, &tag[..]), "tcId {id}: seal_into");
                        let mut back = vec![0u8; ct.len()];
                        open_into(&k, iv, &aad, &ct, &tag, &mut back).unwrap();
                        assert_eq!(back, msg, "tcId {id}: open_into");
                    }
                    _ => {
                        invalid += 1;
                        assert_eq!(opened, Err(GcmError), "tcId {id}: must be rejected");
                        if tag.len() == TAG_LEN {
                            let mut back = vec![0u8; ct.len()];
                            assert_eq!(
                                open_into(&k, iv, &aad, &ct, &tag, &mut back),
                                Err(GcmError),
                                "tcId {id}: open_into must reject"
                            );
                        }
                    }
                }
            }
        }
        assert!(
            valid >= 20 && invalid >= 10,
            "valid {valid} invalid {invalid}"
        );
        assert!(skipped > 0);
    }
}
