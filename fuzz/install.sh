#!/usr/bin/env bash
# Installs cargo-fuzz (cargo install, from the Rust package registry) into $HOME/.cargo/bin unless it is already there.
# Idempotent: a second run does nothing. The fuzz workspace builds on the stable toolchain
# with RUSTC_BOOTSTRAP=1 (set only by fuzz/run.sh and fuzz/smoke.sh), because cargo-fuzz
# passes -Zsanitizer and nightly is not installed.
set -euo pipefail
if command -v cargo-fuzz >/dev/null 2>&1 || [ -x "$HOME/.cargo/bin/cargo-fuzz" ]; then
    exit 0
fi
cargo install --locked --root "$HOME/.cargo" cargo-fuzz
