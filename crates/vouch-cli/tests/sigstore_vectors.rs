//! The shared corpus of real Sigstore bundles (`../shared/vectors/sigstore-bundles`, 60 cases
//! from public clients' test data), run through the `vouch` binary by the corpus' own
//! `run.sh`, exactly as a user's commands would: every case must give its expected exit code
//! (0 verified, 1 not verified — malformed bundles included).

use std::path::Path;
use std::process::Command;

#[test]
fn every_public_bundle_case_gives_its_expected_exit_code() {
    let run = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/vectors/sigstore-bundles/run.sh");
    let out = Command::new("bash")
        .arg(&run)
        .arg(env!("CARGO_BIN_EXE_vouch"))
        .env("VERBOSE", "1")
        .output()
        .expect("run.sh runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let last = stdout.lines().last().unwrap_or_default();
    assert_eq!(last, "60 passed, 0 failed", "{stdout}");
    assert!(out.status.success(), "{stdout}");
}
