//! The PostgreSQL index against the server on 127.0.0.1:5432 (trust auth, database `test`).
//! Fails, rather than skips, when the server is not there.

use vouch_tlog::audit::audit;
use vouch_tlog::index::Index;
use vouch_tlog::index_pg::PgIndex;
use vouch_tlog::log::Log;
use vouch_tlog::note::{ALG_ED25519, Signer};
use vouch_tlog::store::PosixStore;

const PG: &str = "host=127.0.0.1 port=5432 user=postgres dbname=test";

#[test]
fn postgres_index_appends_dedups_and_two_replicas_share_the_log() {
    let schema = format!(
        "vouch_tlog_test_{}_{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos()
            % 1_000_000_000
    );
    let tmp = tempfile::tempdir().unwrap();
    let signer = Signer::generate("example.com/pg", ALG_ED25519).unwrap();
    let skey = signer.to_private_string();
    let result = std::panic::catch_unwind(|| {
        let idx = PgIndex::connect(PG, &schema)
            .expect("PostgreSQL on 127.0.0.1:5432 is required for this test");
        let mut a = Log::create_with_parts(
            Box::new(PosixStore::new(tmp.path())),
            Box::new(idx),
            signer,
            "example.com/pg",
        )
        .unwrap();
        // A second replica: its own connection, the same store and schema.
        let idx2 = PgIndex::connect(PG, &schema).unwrap();
        let mut b = Log::with_parts(
            Box::new(PosixStore::new(tmp.path())),
            Box::new(idx2),
            Signer::parse(&skey).unwrap(),
        )
        .unwrap();
        let mut all = Vec::new();
        for i in 0..30u32 {
            let e = format!("pg entry {i}");
            let log = if i % 2 == 0 { &mut a } else { &mut b };
            let ack = log.append(e.as_bytes()).unwrap();
            assert_eq!(ack.index, i as u64);
            all.push(e);
        }
        let dup = b.append(b"pg entry 4").unwrap();
        assert!(dup.duplicate);
        assert_eq!(dup.index, 4);
        let mut idx3 = PgIndex::connect(PG, &schema).unwrap();
        let hist = idx3.checkpoints().unwrap();
        assert_eq!(hist.len(), 31);
        let rep = audit(&PosixStore::new(tmp.path()), &a.verifier(), None, &hist).unwrap();
        assert!(rep.problems.is_empty(), "{:?}", rep.problems);
        assert_eq!(rep.size, 30);
    });
    let _ = PgIndex::drop_schema(PG, &schema);
    if let Err(e) = result {
        std::panic::resume_unwind(e);
    }
}
