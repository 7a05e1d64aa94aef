//! Measures the keyword prefilter: scans a directory with it and without it (every regex over
//! every file) and prints MB/s for both, by wall clock and by on-CPU time (robust to a loaded
//! machine). Single-threaded, so the ratio is about the prefilter, not about scheduling.
//!
//! `cargo run --release -p vouch-secrets --example prefilter -- DIR`

use std::time::Instant;

use vouch_core::walk::{WalkOptions, walk};
use vouch_secrets::scan::{ScanOptions, Scanner};

/// Nanoseconds this thread has run on a CPU (Linux `/proc/thread-self/schedstat`), so the
/// number means something on a shared, loaded machine; 0 elsewhere.
fn thread_cpu_ns() -> u64 {
    std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()
        .and_then(|s| s.split_whitespace().next().and_then(|n| n.parse().ok()))
        .unwrap_or(0)
}

fn main() {
    let Some(dir) = std::env::args().nth(1) else {
        eprintln!("usage: prefilter DIR");
        std::process::exit(2);
    };
    let files = match walk(std::path::Path::new(&dir), &WalkOptions::default()) {
        Ok(w) => w.files,
        Err(e) => {
            eprintln!("error: {e}");
            std::process::exit(2);
        }
    };
    let data: Vec<(String, Vec<u8>)> = files
        .iter()
        .filter_map(|f| {
            std::fs::read(&f.full_path)
                .ok()
                .map(|b| (f.path.clone(), b))
        })
        .collect();
    let total: usize = data.iter().map(|(_, b)| b.len()).sum();
    for prefilter in [true, false] {
        let scanner = match Scanner::new(ScanOptions {
            prefilter,
            ..ScanOptions::default()
        }) {
            Ok(s) => s,
            Err(e) => {
                eprintln!("error: {e}");
                std::process::exit(2);
            }
        };
        let start = Instant::now();
        let cpu0 = thread_cpu_ns();
        let mut hits = 0;
        for (p, b) in &data {
            hits += scanner.scan_bytes(p, b).hits.len();
        }
        let secs = start.elapsed().as_secs_f64();
        let cpu = (thread_cpu_ns() - cpu0) as f64 / 1e9;
        let mb = total as f64 / 1e6;
        println!(
            "prefilter={prefilter:<5} {mb:>8.1} MB: wall {secs:>6.2} s = {:>6.1} MB/s; on-CPU {cpu:>6.2} s = {:>6.1} MB/s per core; {hits} hits",
            mb / secs,
            mb / cpu.max(1e-9)
        );
    }
}
