//! Round trip of the sealed-message layout: the fields parsed from an envelope, written back
//! in order (header, nonce, ciphertext and tag), give the same bytes.

use proptest::prelude::*;
use vouch_crypto::seal::envelope::{Envelope, OVERHEAD, header};

fn write(e: &Envelope<'_>) -> Vec<u8> {
    let mut out = header(e.key_id).to_vec();
    out.extend_from_slice(&e.nonce);
    out.extend_from_slice(e.sealed);
    out
}

proptest! {
    #[test]
    fn sealed_message_round_trips(
        key_id in any::<u32>(),
        nonce in prop::array::uniform12(any::<u8>()),
        sealed in prop::collection::vec(any::<u8>(), 16..400),
    ) {
        let mut bytes = header(key_id).to_vec();
        bytes.extend_from_slice(&nonce);
        bytes.extend_from_slice(&sealed);
        let e = Envelope::parse(&bytes).expect("vouch reads the layout it writes");
        prop_assert_eq!(e.key_id, key_id);
        prop_assert_eq!(e.plaintext_len() + OVERHEAD, bytes.len());
        let again = write(&e);
        prop_assert_eq!(&again, &bytes);
        let e2 = Envelope::parse(&again).unwrap();
        prop_assert_eq!(write(&e2), again);
    }
}
