//! A private SoftHSM2 token for the PKCS#11 tests (signing keys, the seal KEK).
//!
//! Needs the Debian packages `softhsm2` and `opensc` (for `pkcs11-tool`), installed by
//! `.ci/setup.d/30-softhsm.sh`. A missing tool fails the test with that instruction.

// Each test binary uses a different part of this module.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;

const MODULES: &[&str] = &[
    "/usr/lib/softhsm/libsofthsm2.so",
    "/usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so",
    "/usr/lib/aarch64-linux-gnu/softhsm/libsofthsm2.so",
];

/// The SoftHSM2 PKCS#11 module.
pub fn module() -> PathBuf {
    MODULES
        .iter()
        .map(PathBuf::from)
        .find(|p| p.exists())
        .unwrap_or_else(|| {
            panic!(
                "SoftHSM2 is not installed: run `bash .ci/setup.d/30-softhsm.sh` (Debian softhsm2)"
            )
        })
}

/// A tool from PATH, or a failure saying how to install it.
pub fn tool(name: &str) -> PathBuf {
    let found = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|d| d.join(name))
            .find(|p| p.exists())
    });
    found.unwrap_or_else(|| panic!("`{name}` is missing: run `bash .ci/setup.d/30-softhsm.sh`"))
}

/// Runs a command that must succeed.
pub fn run(cmd: &mut Command) {
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "{cmd:?} failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Initialises a token labelled `label` with user PIN `pin` in `dir/tokens`; returns the
/// SoftHSM2 configuration file to pass as `SOFTHSM2_CONF`.
pub fn init_token(dir: &Path, label: &str, pin: &str) -> PathBuf {
    let tokens = dir.join("tokens");
    std::fs::create_dir_all(&tokens).unwrap();
    let conf = dir.join("softhsm2.conf");
    std::fs::write(
        &conf,
        format!(
            "directories.tokendir = {}\nobjectstore.backend = file\nlog.level = ERROR\n",
            tokens.display()
        ),
    )
    .unwrap();
    run(Command::new(tool("softhsm2-util"))
        .env("SOFTHSM2_CONF", &conf)
        .args(["--init-token", "--free", "--label", label])
        .args(["--pin", pin, "--so-pin", "5678"]));
    conf
}
