//! Times the matcher alone (after the database is open and the SBOM is read), for
//! bench/vulns.sh: `cargo run --release -p vouch-vuln --example scan_timing -- DB SBOM [RUNS]`.

use std::path::Path;
use std::time::Instant;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let (db, sbom) = match (args.get(1), args.get(2)) {
        (Some(d), Some(s)) => (d.clone(), s.clone()),
        _ => return Err("usage: scan_timing DB SBOM [RUNS]".into()),
    };
    let runs: usize = args.get(3).and_then(|r| r.parse().ok()).unwrap_or(5);
    let text = std::fs::read_to_string(&sbom)?;
    let packages = vouch_vuln::sbom::read(Path::new(&sbom), &sbom, &text)?.packages;
    let mut times = Vec::new();
    let mut findings = 0;
    for _ in 0..runs {
        // A fresh handle each run: no record cache carried over.
        let mut handle = vouch_vuln::Database::open(Path::new(&db))?;
        let t = Instant::now();
        findings = vouch_vuln::scan::scan(&mut handle, &packages)?
            .findings
            .len();
        times.push(t.elapsed().as_secs_f64() * 1000.0);
    }
    times.sort_by(|a, b| a.total_cmp(b));
    println!(
        "{} packages, {findings} findings: scan after DB open {:.0} ms (median of {runs})",
        packages.len(),
        times[times.len() / 2]
    );
    Ok(())
}
