//! Round trips of every format this crate writes: signed notes, checkpoints (signed, with and
//! without the Sigstore key-hint line), entry bundles and hash tiles. Serialising what was
//! parsed from vouch's own output gives the same bytes, and what was signed still verifies.

use proptest::prelude::*;
use vouch_tlog::checkpoint::Checkpoint;
use vouch_tlog::note::{ALG_COSIGNATURE_V1, ALG_ED25519, Note, Signer};
use vouch_tlog::tiles::{decode_bundle, decode_tile, encode_bundle};

/// Note text: lines of printable characters, each ending in a newline.
fn note_text() -> impl Strategy<Value = String> {
    prop::collection::vec("[ -~\u{a0}-\u{2fff}]{0,40}", 1..6).prop_map(|lines| {
        let mut t = lines.join("\n");
        t.push('\n');
        t
    })
}

fn checkpoint() -> impl Strategy<Value = Checkpoint> {
    (
        "[a-z0-9.-]{1,20}(/[a-z0-9-]{1,10})?",
        any::<u64>(),
        prop::collection::vec(any::<u8>(), 32..=32),
        prop::collection::vec("[!-~][ -~]{0,30}", 0..3),
    )
        .prop_map(|(origin, size, root, extensions)| Checkpoint {
            origin,
            size,
            root,
            extensions,
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn signed_note_round_trips(text in note_text(), cosigner in any::<bool>()) {
        let alg = if cosigner { ALG_COSIGNATURE_V1 } else { ALG_ED25519 };
        let signer = Signer::generate("example.com/log", alg).unwrap();
        // A cosignature signs a checkpoint; a log key signs any note text.
        prop_assume!(!cosigner || text.lines().count() >= 3);
        let Ok(signed) = signer.sign(&text) else { return Ok(()) };
        let note = Note::parse(signed.as_bytes()).expect("vouch reads the note it wrote");
        prop_assert_eq!(&note.text, &text);
        prop_assert_eq!(note.to_text(), signed.clone());
        let again = Note::parse(note.to_text().as_bytes()).unwrap();
        prop_assert_eq!(&again, &note);
        if !cosigner {
            prop_assert!(note.open(&[signer.verifier()]).is_ok());
        }
    }

    #[test]
    fn checkpoint_round_trips(cp in checkpoint()) {
        let body = cp.body();
        let back = Checkpoint::parse_body(&body).expect("vouch reads the checkpoint it wrote");
        prop_assert_eq!(&back, &cp);
        prop_assert_eq!(back.body(), body.clone());
        let signer = Signer::generate(&cp.origin.replace('/', "-"), ALG_ED25519).unwrap();
        let signed = signer.sign_checkpoint(&body).unwrap();
        let note = Note::parse(signed.as_bytes()).unwrap();
        prop_assert_eq!(note.to_text(), signed);
        prop_assert_eq!(Checkpoint::parse_body(&note.text).unwrap(), cp);
        prop_assert!(note.open(&[signer.verifier()]).is_ok());
    }

    #[test]
    fn entry_bundle_round_trips(entries in prop::collection::vec(prop::collection::vec(any::<u8>(), 0..300), 0..40)) {
        let refs: Vec<&[u8]> = entries.iter().map(Vec::as_slice).collect();
        let bytes = encode_bundle(&refs);
        let back = decode_bundle(&bytes).expect("vouch reads the bundle it wrote");
        prop_assert_eq!(&back, &refs);
        prop_assert_eq!(encode_bundle(&back), bytes);
    }

    #[test]
    fn hash_tile_round_trips(hashes in prop::collection::vec(prop::array::uniform32(any::<u8>()), 1..=256)) {
        let bytes: Vec<u8> = hashes.concat();
        let back = decode_tile(&bytes, hashes.len() as u64).expect("vouch reads the tile it wrote");
        prop_assert_eq!(&back, &hashes);
        prop_assert_eq!(back.concat(), bytes);
    }
}
