//! Round trips of every format this crate writes: Sigstore bundle, DSSE envelope and in-toto
//! statement. Serialising what was parsed from vouch's own output gives the same bytes
//! (serialise(parse(serialise(x))) == serialise(x)), and parsing gives the same value back.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use proptest::prelude::*;
use serde_json::Value;
use vouch_attest::b64::Bytes;
use vouch_attest::bundle::Bundle;
use vouch_attest::dsse::{Envelope, Signature};
use vouch_attest::statement::{ResourceDescriptor, STATEMENT_V1, Statement};

fn shared() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared")
}

/// The public Sigstore bundles of `../shared/vectors` that vouch reads.
fn real_bundles() -> Vec<(String, Bundle)> {
    let dir = shared().join("vectors/sigstore-bundles");
    let mut out = Vec::new();
    for e in std::fs::read_dir(&dir).expect("../shared/vectors/sigstore-bundles") {
        let p = e.unwrap().path().join("bundle.sigstore.json");
        if let Ok(bytes) = std::fs::read(&p)
            && let Ok(b) = Bundle::from_json(&bytes)
        {
            out.push((p.display().to_string(), b));
        }
    }
    out.sort_by(|a, b| a.0.cmp(&b.0));
    assert!(out.len() >= 5, "{} bundles read", out.len());
    out
}

fn assert_bundle_round_trip(b: &Bundle) {
    let first = b.to_json();
    let back = Bundle::from_json(&first).expect("vouch reads the bundle it wrote");
    assert_eq!(&back, b);
    assert_eq!(back.to_json(), first);
}

fn assert_envelope_round_trip(e: &Envelope) {
    let first = e.to_json();
    let back = Envelope::from_json(&first).expect("vouch reads the envelope it wrote");
    assert_eq!(&back, e);
    assert_eq!(back.to_json(), first);
}

#[test]
fn public_bundles_round_trip() {
    for (name, b) in real_bundles() {
        let first = b.to_json();
        let back = Bundle::from_json(&first).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(back.to_json(), first, "{name}");
    }
}

fn envelope() -> impl Strategy<Value = Envelope> {
    (
        prop::collection::vec(any::<u8>(), 0..300),
        "[a-z]{1,12}/[a-z.+-]{1,20}",
        prop::collection::vec(
            (prop::collection::vec(any::<u8>(), 1..80), "[0-9a-f]{0,64}"),
            1..4,
        ),
    )
        .prop_map(|(payload, payload_type, sigs)| Envelope {
            payload: Bytes(payload),
            payload_type,
            signatures: sigs
                .into_iter()
                .map(|(sig, keyid)| Signature {
                    sig: Bytes(sig),
                    keyid,
                })
                .collect(),
        })
}

fn json_leaf() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        "\\PC{0,16}".prop_map(Value::from),
    ]
}

fn json_value() -> impl Strategy<Value = Value> {
    json_leaf().prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::from),
            prop::collection::btree_map("[a-zA-Z_]{1,8}", inner, 0..4)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

fn statement() -> impl Strategy<Value = Statement> {
    let subject = (
        prop::option::of("\\PC{1,24}"),
        prop::option::of("[a-z]{2,6}://[a-z.]{1,20}/[a-z]{0,10}"),
        prop::collection::btree_map(
            prop::sample::select(vec!["sha256", "sha512", "gitCommit"]),
            "[0-9a-f]{40,64}",
            1..3,
        ),
    )
        .prop_map(|(name, uri, digest)| ResourceDescriptor {
            name,
            uri,
            digest: digest
                .into_iter()
                .map(|(k, v)| (k.to_string(), v))
                .collect::<BTreeMap<_, _>>(),
            other: serde_json::Map::new(),
        });
    (
        prop::collection::vec(subject, 1..4),
        "https://[a-z.]{3,20}/[a-z]{1,10}/v[0-9]",
        // A predicate is an object (a JSON null reads as no predicate: refused).
        prop::collection::btree_map("[a-zA-Z_]{1,8}", json_value(), 0..5)
            .prop_map(|m| Value::Object(m.into_iter().collect())),
    )
        .prop_map(|(subject, predicate_type, predicate)| Statement {
            type_: STATEMENT_V1.to_string(),
            subject,
            predicate_type,
            predicate: Some(predicate),
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn dsse_envelope_round_trips(e in envelope()) {
        assert_envelope_round_trip(&e);
    }

    #[test]
    fn statement_round_trips(st in statement()) {
        let first = st.to_canonical_json();
        let back = Statement::from_json(&first).expect("vouch reads the statement it wrote");
        prop_assert_eq!(&back, &st);
        prop_assert_eq!(back.to_canonical_json(), first);
    }

    /// A real bundle of each kind carrying other content: a new DSSE envelope (one signature,
    /// as bundles require) or a new message signature.
    #[test]
    fn bundle_round_trips(which in 0usize..64, mut e in envelope(), sig in prop::collection::vec(any::<u8>(), 1..100)) {
        let bundles = real_bundles();
        let mut b = bundles[which % bundles.len()].1.clone();
        if let Some(d) = &mut b.dsse_envelope {
            e.signatures.truncate(1);
            *d = e;
        } else if let Some(m) = &mut b.message_signature {
            m.signature = Bytes(sig);
        }
        assert_bundle_round_trip(&b);
    }
}
