use super::*;
use base64::Engine as _;
use proptest::prelude::*;
use serde_json::Value;
use std::path::PathBuf;

fn shared(rel: &str) -> Value {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared")
        .join(rel);
    let text = std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
    serde_json::from_str(&text).unwrap()
}

fn b64(v: &Value) -> Vec<u8> {
    base64::engine::general_purpose::STANDARD
        .decode(v.as_str().unwrap())
        .unwrap()
}

fn h32(bytes: Vec<u8>) -> Option<Hash> {
    bytes.try_into().ok()
}

/// Upstream roots are arbitrary bytes ("don't care"); map odd-sized ones to a stand-in hash
/// that keeps equality.
fn root32(bytes: Vec<u8>) -> Hash {
    match bytes.clone().try_into() {
        Ok(h) => h,
        Err(_) => sha2::Sha256::digest(&bytes).into(),
    }
}

fn list(v: &Value, dec: impl Fn(&Value) -> Vec<u8>) -> Option<Vec<Hash>> {
    match v {
        Value::Null => Some(vec![]),
        Value::Array(a) => a.iter().map(|x| h32(dec(x))).collect(),
        _ => None,
    }
}

#[test]
fn transparency_dev_inclusion_vectors() {
    let d = shared("vectors/merkle/inclusion.json");
    let mut n = 0;
    for v in d["vectors"].as_array().unwrap() {
        let want = v["expected"] == "pass";
        let got = (|| {
            let root = root32(b64(&v["root"]));
            let leaf = h32(b64(&v["leafHash"]))?;
            let proof = list(&v["proof"], b64)?;
            let idx = v["leafIdx"].as_i64()?;
            let size = v["treeSize"].as_i64()?;
            if idx < 0 || size < 0 {
                return None;
            }
            verify_inclusion(idx as u64, size as u64, &leaf, &proof, &root).ok()
        })()
        .is_some();
        assert_eq!(got, want, "{}", v["id"]);
        n += 1;
    }
    assert_eq!(n, 98);
}

#[test]
fn transparency_dev_consistency_vectors() {
    let d = shared("vectors/merkle/consistency.json");
    let mut n = 0;
    for v in d["vectors"].as_array().unwrap() {
        let want = v["expected"] == "pass";
        let got = (|| {
            let r1 = root32(b64(&v["root1"]));
            let r2 = root32(b64(&v["root2"]));
            let proof = list(&v["proof"], b64)?;
            let s1 = v["size1"].as_i64()?;
            let s2 = v["size2"].as_i64()?;
            if s1 < 0 || s2 < 0 {
                return None;
            }
            verify_consistency(s1 as u64, s2 as u64, &r1, &r2, &proof).ok()
        })()
        .is_some();
        assert_eq!(got, want, "{}", v["id"]);
        n += 1;
    }
    assert_eq!(n, 98);
}

#[test]
fn rfc6962_reference_tree() {
    let d = shared("vectors/merkle/rfc6962-reference-tree.json");
    let hx = |v: &Value| hex::decode(v.as_str().unwrap()).unwrap();
    let mut t = MemoryTree::new();
    assert_eq!(hex::encode(t.root()), d["emptyRoot"].as_str().unwrap());
    let roots = d["rootsBySize"].as_array().unwrap();
    for (i, input) in d["leafInputs"].as_array().unwrap().iter().enumerate() {
        let lh = leaf_hash(&hx(input));
        assert_eq!(hex::encode(lh), d["leafHashes"][i].as_str().unwrap());
        t.push(lh);
        assert_eq!(hex::encode(t.root()), roots[i + 1].as_str().unwrap());
    }
    for c in d["inclusion"].as_array().unwrap() {
        let (i, s) = (
            c["leafIdx"].as_u64().unwrap(),
            c["treeSize"].as_u64().unwrap(),
        );
        let proof = list(&c["proof"], hx).unwrap();
        assert_eq!(inclusion_proof(&t, i, s).unwrap(), proof);
        let root = h32(hx(&c["root"])).unwrap();
        let leaf = h32(hx(&c["leafHash"])).unwrap();
        verify_inclusion(i, s, &leaf, &proof, &root).unwrap();
    }
    for c in d["consistency"].as_array().unwrap() {
        let s1 = c["size1"].as_u64().or(c["first"].as_u64()).unwrap();
        let s2 = c["size2"].as_u64().or(c["second"].as_u64()).unwrap();
        let proof = list(&c["proof"], hx).unwrap();
        assert_eq!(consistency_proof(&t, s1, s2).unwrap(), proof, "{s1}->{s2}");
        let r1 = h32(hx(&roots[s1 as usize])).unwrap();
        let r2 = h32(hx(&roots[s2 as usize])).unwrap();
        if s1 > 0 || s2 == 0 {
            verify_consistency(s1, s2, &r1, &r2, &proof).unwrap();
        }
    }
}

fn tree(n: u64) -> MemoryTree {
    let mut t = MemoryTree::new();
    for i in 0..n {
        t.push(leaf_hash(&i.to_be_bytes()));
    }
    t
}

proptest! {
    #[test]
    fn every_inclusion_proof_verifies_and_altered_fails(size in 1u64..300, idx_seed: u64, flip: usize, bit in 0u8..8) {
        let t = tree(size);
        let idx = idx_seed % size;
        let root = t.root();
        let leaf = leaf_hash(&idx.to_be_bytes());
        let proof = inclusion_proof(&t, idx, size).unwrap();
        prop_assert!(verify_inclusion(idx, size, &leaf, &proof, &root).is_ok());
        if !proof.is_empty() {
            let mut bad = proof.clone();
            let k = flip % bad.len();
            bad[k][(flip / 7) % 32] ^= 1 << bit;
            prop_assert!(verify_inclusion(idx, size, &leaf, &bad, &root).is_err());
            let mut short = proof.clone();
            short.pop();
            prop_assert!(verify_inclusion(idx, size, &leaf, &short, &root).is_err());
        }
        if size > 1 {
            prop_assert!(verify_inclusion((idx + 1) % size, size, &leaf, &proof, &root).is_err());
        }
    }

    #[test]
    fn every_consistency_proof_verifies_and_altered_fails(new in 1u64..300, old_seed: u64, flip: usize, bit in 0u8..8) {
        let t = tree(new);
        let old = 1 + old_seed % new;
        let r1 = root(&t, old).unwrap();
        let r2 = t.root();
        let proof = consistency_proof(&t, old, new).unwrap();
        prop_assert!(verify_consistency(old, new, &r1, &r2, &proof).is_ok());
        if !proof.is_empty() {
            let mut bad = proof.clone();
            let k = flip % bad.len();
            bad[k][(flip / 7) % 32] ^= 1 << bit;
            prop_assert!(verify_consistency(old, new, &r1, &r2, &bad).is_err());
        }
        let mut r1b = r1;
        r1b[0] ^= 1;
        prop_assert!(verify_consistency(old, new, &r1b, &r2, &proof).is_err());
    }

    #[test]
    fn garbage_proofs_never_panic(idx: u64, size: u64, n in 0usize..70, seed: u8) {
        let proof: Vec<Hash> = (0..n).map(|i| [seed.wrapping_add(i as u8); 32]).collect();
        let _ = verify_inclusion(idx, size, &[0; 32], &proof, &[1; 32]);
        let _ = verify_consistency(idx, size, &[0; 32], &[1; 32], &proof);
    }
}
