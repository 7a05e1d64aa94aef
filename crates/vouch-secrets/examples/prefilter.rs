//! Measures the keyword prefilter: scans a directory with it and without it (every regex over
//! every file) and prints MB/s for both. Single-threaded, so the ratio is about the prefilter,
//! not about scheduling.
//!
//! `cargo run --release -p vouch-secrets --example prefilter -- DIR`

use std::time::Instant;

use vouch_core::walk::{WalkOptions, walk};
use vouch_secrets::scan::{ScanOptions, Scanner};

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
        let mut hits = 0;
        for (p, b) in &data {
            hits += scanner.scan_bytes(p, b).hits.len();
        }
        let secs = start.elapsed().as_secs_f64();
        println!(
            "prefilter={prefilter:<5} {:>8.1} MB in {secs:>7.2} s = {:>7.1} MB/s, {hits} hits",
            total as f64 / 1e6,
            total as f64 / 1e6 / secs
        );
    }
}
