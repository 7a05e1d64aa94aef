use vouch_tlog::audit::audit;
use vouch_tlog::index::{Index, SqliteIndex};
use vouch_tlog::log::{Log, init};
use vouch_tlog::merkle::{self, leaf_hash};
use vouch_tlog::note::Verifier;
use vouch_tlog::proof::verify_inclusion;
use vouch_tlog::store::PosixStore;

#[test]
fn append_prove_audit_dedup_and_tamper() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("log");
    let vkey = init(&dir, "example.com/test/log", None).unwrap();
    let key = Verifier::parse(&vkey).unwrap();
    assert!(tmp.path().join("log.key").exists());
    let mut log = Log::open(&dir, None).unwrap();
    let entries: Vec<Vec<u8>> = (0..700u32)
        .map(|i| format!("entry {i}\n").into_bytes())
        .collect();
    let mut acks = Vec::new();
    for chunk in entries.chunks(97) {
        let refs: Vec<&[u8]> = chunk.iter().map(|e| e.as_slice()).collect();
        acks.extend(log.append_batch(&refs).unwrap());
    }
    for (i, a) in acks.iter().enumerate() {
        assert_eq!(a.index, i as u64);
        assert!(!a.duplicate);
        verify_inclusion(
            &a.leaf,
            a.index,
            &a.proof,
            a.checkpoint.as_bytes(),
            "example.com/test/log",
            &key,
            &[],
            0,
        )
        .unwrap();
    }
    for p in [
        "tile/0/000",
        "tile/0/001",
        "tile/0/002.p/188",
        "tile/1/000.p/2",
        "tile/entries/002.p/188",
        "checkpoint",
    ] {
        assert!(dir.join(p).exists(), "{p}");
    }
    let again = log.append(b"entry 5\n").unwrap();
    assert!(again.duplicate);
    assert_eq!(again.index, 5);
    assert_eq!(again.size, 700);
    assert_eq!(again.leaf, leaf_hash(b"entry 5\n"));

    let store = PosixStore::new(&dir);
    let mut idx = SqliteIndex::open(&dir.join(".state/index.db")).unwrap();
    let hist = idx.checkpoints().unwrap();
    assert_eq!(hist.len(), 9);
    let rep = audit(&store, &key, None, &hist).unwrap();
    assert!(rep.problems.is_empty(), "{:?}", rep.problems);
    assert_eq!(rep.size, 700);

    // A consistency proof between two published checkpoints, from the tiles.
    let reader = vouch_tlog::tiles::TileReader::new(&store, 700);
    let p = merkle::consistency_proof(&reader, 97, 700).unwrap();
    let r97 = merkle::root(&reader, 97).unwrap();
    merkle::verify_consistency(97, 700, &r97, &merkle::root(&reader, 700).unwrap(), &p).unwrap();

    // Tamper with one byte of a full tile: the audit must say so.
    let t = dir.join("tile/0/001");
    let mut b = std::fs::read(&t).unwrap();
    b[100] ^= 1;
    std::fs::write(&t, &b).unwrap();
    let rep = audit(&store, &key, None, &hist).unwrap();
    assert!(
        rep.problems.iter().any(|p| p.contains("tile/0/001")),
        "{:?}",
        rep.problems
    );
    // Truncate an entry bundle.
    std::fs::write(dir.join("tile/entries/000"), b"\x00\x05ab").unwrap();
    let rep = audit(&store, &key, None, &hist).unwrap();
    assert!(
        rep.problems.iter().any(|p| p.contains("truncated")),
        "{:?}",
        rep.problems
    );
}

#[test]
fn init_refuses_existing_log_and_bad_origin() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("l");
    assert!(init(&dir, "a\nb", None).is_err());
    init(&dir, "o", None).unwrap();
    assert!(init(&dir, "o", None).is_err());
}

#[test]
fn sequencer_batches_concurrent_writers() {
    use std::sync::Arc;
    use vouch_tlog::sequencer::{BatchConfig, Sequencer};
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("log");
    let vkey = init(&dir, "example.com/seq", None).unwrap();
    let key = Verifier::parse(&vkey).unwrap();
    let cfg = BatchConfig {
        max_batch: 16,
        ..BatchConfig::default()
    };
    let seq = Arc::new(Sequencer::start(Log::open(&dir, None).unwrap(), cfg));
    let hs: Vec<_> = (0..8)
        .map(|w| {
            let seq = seq.clone();
            std::thread::spawn(move || {
                (0..20)
                    .map(|i| seq.append(format!("w{w} e{i}").into_bytes()).unwrap())
                    .collect::<Vec<_>>()
            })
        })
        .collect();
    let acks: Vec<_> = hs.into_iter().flat_map(|h| h.join().unwrap()).collect();
    let mut idx: Vec<u64> = acks.iter().map(|a| a.index).collect();
    idx.sort();
    assert_eq!(idx, (0..160).collect::<Vec<_>>());
    for a in &acks {
        verify_inclusion(
            &a.leaf,
            a.index,
            &a.proof,
            a.checkpoint.as_bytes(),
            "example.com/seq",
            &key,
            &[],
            0,
        )
        .unwrap();
    }
    let dup = seq.append(b"w3 e7".to_vec()).unwrap();
    assert!(dup.duplicate);
    let mut i = SqliteIndex::open(&dir.join(".state/index.db")).unwrap();
    let batches = i.checkpoints().unwrap().len() - 1;
    assert!((10..160).contains(&batches), "{batches} batches");
}
