//! Times parsing and applying N exceptions against N findings (one exception per finding, each
//! with a rule and a path, as the hostile-input campaign generated them).
//! `cargo run --release -p vouch-core --example exceptions_bench -- 40000`

use std::path::Path;
use std::time::Instant;

use vouch_core::exceptions::ExceptionSet;
use vouch_core::{Finding, Location, Severity};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let n: usize = std::env::args().nth(1).map_or(Ok(10_000), |a| a.parse())?;
    let mut text = String::from("exceptions:\n");
    for i in 0..n {
        text.push_str(&format!(
            "  - id: E{i}\n    rule: secrets/aws\n    path: src/f{i}.rs\n    owner: o\n    expires: 2026-12-01\n    reason: r\n"
        ));
    }
    let started = Instant::now();
    let set = ExceptionSet::parse(Path::new("e.yaml"), "e.yaml", &text)?;
    let parsed = started.elapsed();
    let mut findings: Vec<Finding> = (0..n)
        .map(|i| {
            Finding::dynamic(
                "secrets/aws",
                Severity::High,
                Location::file(format!("src/f{i}.rs")),
                "m",
                "k",
            )
        })
        .collect();
    let today: jiff::civil::Date = "2026-11-01".parse()?;
    let started = Instant::now();
    let meta = set.apply(&mut findings, today, 90);
    let applied = started.elapsed();
    let suppressed = findings
        .iter()
        .filter(|f| f.suppressed_by.is_some())
        .count();
    println!(
        "{n} exceptions x {n} findings: parse {:.2} s, apply {:.2} s, {suppressed} suppressed, {} meta",
        parsed.as_secs_f64(),
        applied.as_secs_f64(),
        meta.len()
    );
    Ok(())
}
