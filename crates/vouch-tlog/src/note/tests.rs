use super::*;
use serde_json::Value;
use std::path::PathBuf;

fn vectors() -> Value {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/vectors/notes/signed-note.json");
    serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap()
}

#[test]
fn signed_note_vectors() {
    let d = vectors();
    let mut n = 0;
    for c in d["notes"].as_array().unwrap() {
        let bytes = match c.get("noteBase64") {
            Some(b) => B64.decode(b.as_str().unwrap()).unwrap(),
            None => c["note"].as_str().unwrap().as_bytes().to_vec(),
        };
        let keys: Vec<Verifier> = c["verifierKeys"]
            .as_array()
            .unwrap()
            .iter()
            .map(|k| Verifier::parse(k.as_str().unwrap()).unwrap())
            .collect();
        let r = Note::parse(&bytes).and_then(|note| note.open(&keys));
        let want = c["expected"] == "pass";
        assert_eq!(r.is_ok(), want, "{}: {:?}", c["id"], r.as_ref().err());
        if let Ok(o) = r {
            let names: Vec<&str> = o.verified.iter().map(|v| v.verifier.name()).collect();
            let want: Vec<&str> = c["verifiedSigners"]
                .as_array()
                .unwrap()
                .iter()
                .map(|v| v.as_str().unwrap())
                .collect();
            assert_eq!(names, want, "{}", c["id"]);
        }
        if let Some(sk) = c.get("signerKey") {
            let s = Signer::parse(sk.as_str().unwrap()).unwrap();
            assert_eq!(
                s.sign(c["noteText"].as_str().unwrap()).unwrap(),
                c["note"].as_str().unwrap()
            );
            assert_eq!(s.vkey(), c["verifierKeys"][0].as_str().unwrap());
            assert_eq!(s.to_private_string().as_str(), sk.as_str().unwrap());
        }
        n += 1;
    }
    assert_eq!(n, 18);
    let mut k = 0;
    for c in d["verifierKeys"].as_array().unwrap() {
        let r = Verifier::parse(c["verifierKey"].as_str().unwrap());
        assert_eq!(r.is_ok(), c["expected"] == "pass", "{}", c["id"]);
        k += 1;
    }
    assert_eq!(k, 8);
}

#[test]
fn cosignature_roundtrip_and_tamper() {
    let log = Signer::generate("example.com/log", ALG_ED25519).unwrap();
    let w = Signer::generate("witness.example/w1", ALG_COSIGNATURE_V1).unwrap();
    let text = "example.com/log\n5\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n";
    let signed = format!(
        "{}{}\n",
        log.sign(text).unwrap(),
        w.sign_line(text, 1_700_000_000)
    );
    let note = Note::parse(signed.as_bytes()).unwrap();
    let o = note.open(&[log.verifier(), w.verifier()]).unwrap();
    assert_eq!(o.verified.len(), 2);
    assert_eq!(o.verified[1].timestamp, 1_700_000_000);
    let tampered = signed.replace("\n5\n", "\n6\n");
    assert!(
        Note::parse(tampered.as_bytes())
            .unwrap()
            .open(&[w.verifier()])
            .is_err()
    );
    let again = Signer::parse(&w.to_private_string()).unwrap();
    assert_eq!(again.vkey(), w.vkey());
    assert!(!format!("{w:?}").contains(&w.to_private_string()[12..]));
}

proptest::proptest! {
    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..300)) {
        let _ = Note::parse(&bytes);
        if let Ok(s) = std::str::from_utf8(&bytes) {
            let _ = Verifier::parse(s);
            let _ = Signer::parse(s);
        }
    }
}
