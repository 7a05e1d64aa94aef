//! Benchmark driver for bench/tlog.sh (release build):
//!
//!   tlog_bench append DIR WRITERS SECONDS   durable appends/s with concurrent writers
//!   tlog_bench build DIR N                  build an N-entry log (big batches)
//!   tlog_bench prove DIR SECONDS THREADS    inclusion proofs/s from the tiles (random indices)
//!   tlog_bench verify DIR                   full audit speed, entries/s
//!   tlog_bench fsync DIR SECONDS            fsyncs/s of this disk (the physical bound)

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use vouch_tlog::index::{Index, SqliteIndex};
use vouch_tlog::log::{Log, init};
use vouch_tlog::merkle;
use vouch_tlog::sequencer::{BatchConfig, Sequencer};
use vouch_tlog::store::PosixStore;
use vouch_tlog::tiles::TileReader;

fn main() {
    let a: Vec<String> = std::env::args().collect();
    let arg = |i: usize| a.get(i).cloned().unwrap_or_default();
    let num = |i: usize, d: u64| a.get(i).and_then(|s| s.parse().ok()).unwrap_or(d);
    let dir = Path::new(a.get(2).map(String::as_str).unwrap_or("bench-log")).to_path_buf();
    match arg(1).as_str() {
        "append" => append(&dir, num(3, 64) as usize, num(4, 10)),
        "build" => build(&dir, num(3, 1_000_000)),
        "prove" => prove(&dir, num(3, 5), num(4, 2) as usize),
        "verify" => verify(&dir),
        "fsync" => fsync(&dir, num(3, 3)),
        _ => eprintln!("usage: tlog_bench append|build|prove|verify|fsync DIR ..."),
    }
}

fn fresh(dir: &Path) -> Log {
    let _ = std::fs::remove_dir_all(dir);
    let _ = std::fs::remove_file(vouch_tlog::log::default_key_path(dir));
    init(dir, "bench.example/log", None).expect("init");
    Log::open(dir, None).expect("open")
}

fn append(dir: &Path, writers: usize, secs: u64) {
    let seq = Arc::new(Sequencer::start(fresh(dir), BatchConfig::default()));
    let stop = Arc::new(AtomicBool::new(false));
    let done = Arc::new(AtomicU64::new(0));
    let t0 = Instant::now();
    let hs: Vec<_> = (0..writers)
        .map(|w| {
            let (seq, stop, done) = (seq.clone(), stop.clone(), done.clone());
            std::thread::spawn(move || {
                let mut i = 0u64;
                while !stop.load(Ordering::Relaxed) {
                    seq.append(format!("writer {w} entry {i} {}", "x".repeat(100)).into_bytes())
                        .expect("append");
                    done.fetch_add(1, Ordering::Relaxed);
                    i += 1;
                }
            })
        })
        .collect();
    std::thread::sleep(Duration::from_secs(secs));
    stop.store(true, Ordering::Relaxed);
    for h in hs {
        let _ = h.join();
    }
    let el = t0.elapsed().as_secs_f64();
    let n = done.load(Ordering::Relaxed);
    let mut idx = SqliteIndex::open(&dir.join(".state/index.db")).expect("index");
    let batches = idx.checkpoints().expect("checkpoints").len() - 1;
    println!(
        "append: {writers} writers, {n} durable appends in {el:.1}s = {:.0} appends/s; {batches} batches ({:.1} entries/batch, {:.0} batches/s)",
        n as f64 / el,
        n as f64 / batches.max(1) as f64,
        batches as f64 / el
    );
}

fn build(dir: &Path, n: u64) {
    let mut log = fresh(dir);
    let t0 = Instant::now();
    let mut i = 0u64;
    while i < n {
        let k = 16384.min(n - i);
        let data: Vec<Vec<u8>> = (i..i + k)
            .map(|j| format!("entry {j}").into_bytes())
            .collect();
        let refs: Vec<&[u8]> = data.iter().map(Vec::as_slice).collect();
        log.append_batch(&refs).expect("append");
        i += k;
    }
    println!("build: {n} entries in {:.1}s", t0.elapsed().as_secs_f64());
}

fn size_of(dir: &Path) -> u64 {
    let note = std::fs::read(dir.join("checkpoint")).expect("checkpoint");
    let n = vouch_tlog::note::Note::parse(&note).expect("note");
    vouch_tlog::checkpoint::Checkpoint::parse_body(&n.text)
        .expect("checkpoint")
        .size
}

fn prove(dir: &Path, secs: u64, threads: usize) {
    let size = size_of(dir);
    let t0 = Instant::now();
    let total: u64 = std::thread::scope(|s| {
        let hs: Vec<_> = (0..threads)
            .map(|t| {
                s.spawn(move || {
                    let store = PosixStore::new(dir);
                    let reader = TileReader::new(&store, size);
                    let root = merkle::root(&reader, size).expect("root");
                    let mut x: u64 = 0x2545F4914F6CDD1D ^ (t as u64 + 1);
                    let mut n = 0u64;
                    while t0.elapsed().as_secs() < secs {
                        for _ in 0..256 {
                            x ^= x << 13;
                            x ^= x >> 7;
                            x ^= x << 17;
                            let i = x % size;
                            let p = merkle::inclusion_proof(&reader, i, size).expect("proof");
                            std::hint::black_box((&p, &root));
                            n += 1;
                        }
                    }
                    n
                })
            })
            .collect();
        hs.into_iter().map(|h| h.join().unwrap_or(0)).sum()
    });
    let el = t0.elapsed().as_secs_f64();
    println!(
        "prove: {total} inclusion proofs (random indices, log of {size}) in {el:.1}s with {threads} threads = {:.0} proofs/s",
        total as f64 / el
    );
}

fn verify(dir: &Path) {
    let store = PosixStore::new(dir);
    let vkey = std::fs::read_to_string(dir.join(".state/vkey")).expect("vkey");
    let key = vouch_tlog::note::Verifier::parse(vkey.trim()).expect("vkey");
    let mut idx = SqliteIndex::open(&dir.join(".state/index.db")).expect("index");
    let hist = idx.checkpoints().expect("checkpoints");
    let t0 = Instant::now();
    let rep = vouch_tlog::audit::audit(&store, &key, None, &hist).expect("audit");
    let el = t0.elapsed().as_secs_f64();
    assert!(rep.problems.is_empty(), "{:?}", rep.problems);
    println!(
        "verify: {} entries, {} tiles, {} checkpoints in {el:.2}s = {:.0} entries/s",
        rep.size,
        rep.tiles_checked,
        rep.checkpoints_checked,
        rep.size as f64 / el
    );
}

fn fsync(dir: &Path, secs: u64) {
    std::fs::create_dir_all(dir).expect("dir");
    let p = dir.join("fsync-probe");
    let t0 = Instant::now();
    let mut n = 0u64;
    while t0.elapsed().as_secs() < secs {
        vouch_tlog::store::write_file_atomic(&p, &n.to_be_bytes()).expect("write");
        n += 1;
    }
    let _ = std::fs::remove_file(&p);
    println!(
        "fsync: {:.0} atomic durable file writes/s (write+fsync+rename)",
        n as f64 / t0.elapsed().as_secs_f64()
    );
}
