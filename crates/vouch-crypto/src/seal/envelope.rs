//! The sealed-message byte layout, version 1.
//!
//! ```text
//! offset  size  field
//! 0       1     version (0x01)
//! 1       4     key ID, unsigned big-endian (the keyring version that sealed it)
//! 5       12    nonce, 96 random bits
//! 17      n     ciphertext (same length as the plaintext)
//! 17+n    16    GCM tag
//! ```
//!
//! The GCM associated data is the 5-byte header (version and key ID) followed by the caller's
//! associated data, so neither the key ID nor the context can be changed without the tag
//! failing. The header is fixed-length, so the concatenation is unambiguous.

use super::SealError;

/// The only version this code writes and reads.
pub const VERSION: u8 = 1;
/// Version byte and key ID.
pub const HEADER_LEN: usize = 5;
/// 96-bit nonce.
pub const NONCE_LEN: usize = 12;
/// 128-bit tag.
pub const TAG_LEN: usize = 16;
/// Bytes an envelope adds to its plaintext.
pub const OVERHEAD: usize = HEADER_LEN + NONCE_LEN + TAG_LEN;

/// A parsed envelope, borrowing the input.
#[derive(Debug, Clone, Copy)]
pub struct Envelope<'a> {
    pub key_id: u32,
    pub header: &'a [u8],
    pub nonce: [u8; NONCE_LEN],
    /// Ciphertext followed by the tag.
    pub sealed: &'a [u8],
}

impl<'a> Envelope<'a> {
    /// Splits `bytes` into its fields. Any malformation is the opaque decrypt error.
    pub fn parse(bytes: &'a [u8]) -> Result<Envelope<'a>, SealError> {
        if bytes.len() < OVERHEAD || bytes[0] != VERSION {
            return Err(SealError::Decrypt);
        }
        let (header, rest) = bytes.split_at(HEADER_LEN);
        let (nonce, sealed) = rest.split_at(NONCE_LEN);
        let key_id = u32::from_be_bytes([header[1], header[2], header[3], header[4]]);
        let mut n = [0u8; NONCE_LEN];
        n.copy_from_slice(nonce);
        Ok(Envelope {
            key_id,
            header,
            nonce: n,
            sealed,
        })
    }

    /// Length of the plaintext inside.
    pub fn plaintext_len(&self) -> usize {
        self.sealed.len() - TAG_LEN
    }
}

/// The key ID an envelope names, without decrypting (for `status` and rewrap planning).
pub fn key_id(bytes: &[u8]) -> Option<u32> {
    Envelope::parse(bytes).ok().map(|e| e.key_id)
}

/// The 5-byte header for `key_id`.
pub fn header(key_id: u32) -> [u8; HEADER_LEN] {
    let k = key_id.to_be_bytes();
    [VERSION, k[0], k[1], k[2], k[3]]
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn layout() {
        let mut b = header(0x01020304).to_vec();
        b.extend_from_slice(&[9u8; NONCE_LEN]);
        b.extend_from_slice(&[7u8; 3 + TAG_LEN]);
        let e = Envelope::parse(&b).unwrap();
        assert_eq!(e.key_id, 0x01020304);
        assert_eq!(e.nonce, [9u8; 12]);
        assert_eq!(e.plaintext_len(), 3);
        assert_eq!(key_id(&b), Some(0x01020304));
        assert!(Envelope::parse(&b[..OVERHEAD - 1]).is_err());
        b[0] = 2;
        assert!(Envelope::parse(&b).is_err());
    }

    proptest! {
        #[test]
        fn parse_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
            let _ = Envelope::parse(&bytes);
        }
    }
}
