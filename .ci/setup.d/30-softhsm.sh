#!/usr/bin/env bash
# SoftHSM2 for the PKCS#11 tests (signing: crates/vouch-cli/tests/pkcs11.rs; seal KEK: tests/seal_pkcs11.rs). Idempotent:
# installs the Debian packages (softhsm2, opensc for pkcs11-tool) only when missing (apt-get update only then).
set -euo pipefail
if command -v softhsm2-util >/dev/null 2>&1 && command -v pkcs11-tool >/dev/null 2>&1; then
  echo "30-softhsm: softhsm2 and opensc already installed"
  exit 0
fi
SUDO=""
[ "$(id -u)" = 0 ] || SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq softhsm2 opensc >/dev/null
echo "30-softhsm: installed softhsm2"
