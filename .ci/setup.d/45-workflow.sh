#!/usr/bin/env bash
# Installs zizmor (PyPI), the peer that the workflow audits are compared with, into a cache
# outside the repository; a no-op when the pinned version is already there.
# Used by crates/vouch-workflow/tests/zizmor.rs and bench/policy-workflows.sh.
set -euo pipefail
ZIZMOR_VERSION=1.32.0
CACHE=${VOUCH_ZIZMOR_CACHE:-$HOME/.cache/vouch-zizmor}
if [ -x "$CACHE/venv/bin/zizmor" ] && [ "$("$CACHE/venv/bin/zizmor" --version 2>/dev/null)" = "zizmor $ZIZMOR_VERSION" ]; then
  exit 0
fi
mkdir -p "$CACHE"
python3 -m venv "$CACHE/venv"
"$CACHE/venv/bin/pip" install --quiet --disable-pip-version-check "zizmor==$ZIZMOR_VERSION"
"$CACHE/venv/bin/zizmor" --version
