//! The `vouch sbom generate` and `vouch sbom diff` code paths without the CLI, for measuring
//! time and peak memory on very large inputs (`/usr/bin/time -v`):
//!
//! ```text
//! cargo run --release -p vouch-sbom --example scale -- generate DIR OUT.cdx.json
//! cargo run --release -p vouch-sbom --example scale -- diff OLD NEW
//! ```

use std::io::Write;
use std::path::Path;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args
        .iter()
        .map(String::as_str)
        .collect::<Vec<_>>()
        .as_slice()
    {
        ["generate", dir, out] => {
            let inv = vouch_sbom::scan(Path::new(dir))?;
            vouch_sbom::scan::require_sources(Path::new(dir), &inv)?;
            let mut w = std::io::BufWriter::with_capacity(1 << 20, std::fs::File::create(out)?);
            vouch_sbom::cyclonedx::write_json(&inv, &vouch_sbom::WriteOptions::default(), &mut w)?;
            w.flush()?;
            eprintln!("{} components", inv.components.len());
        }
        ["diff", old, new] => {
            let d = vouch_sbom::diff::diff_paths(Path::new(old), Path::new(new))?;
            let md = vouch_sbom::diff::to_markdown(&d);
            eprintln!(
                "{} / {} components, {} added, {} removed, {} upgraded; {} bytes of Markdown",
                d.old_components,
                d.new_components,
                d.added.len(),
                d.removed.len(),
                d.upgraded.len(),
                md.len()
            );
        }
        _ => {
            eprintln!("usage: scale generate DIR OUT | scale diff OLD NEW");
            std::process::exit(2);
        }
    }
    Ok(())
}
