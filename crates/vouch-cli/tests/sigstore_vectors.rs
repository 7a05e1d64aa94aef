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

/// The README's "Verify what others signed, offline" example runs as printed, from the
/// repository root, with this build of vouch first on PATH.
#[test]
fn readme_offline_verification_example_runs_as_printed() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let readme = std::fs::read_to_string(root.join("README.md")).unwrap();
    let section = readme
        .split("## Verify what others signed, offline")
        .nth(1)
        .expect("the README has the section");
    let block = section
        .split("```sh\n")
        .nth(1)
        .and_then(|b| b.split("```").next())
        .expect("the section has a sh block");
    let bin_dir = Path::new(env!("CARGO_BIN_EXE_vouch")).parent().unwrap();
    let path = format!(
        "{}:{}",
        bin_dir.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let out = Command::new("bash")
        .args(["-euo", "pipefail", "-c", block])
        .current_dir(&root)
        .env("PATH", path)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{block}\n{stderr}");
    assert!(stderr.contains("Verified OK"), "{stderr}");
    assert!(stderr.contains("log inclusion ✓ (rekor.sigstore.dev, index 63284502"));
}
