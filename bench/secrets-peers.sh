#!/usr/bin/env bash
# The secret scanner's peers for bench/secrets.sh: kingfisher-bin and detect-secrets from PyPI,
# in a virtual environment under the user's cache (never in the repository); bench only, not the tests. Idempotent: does
# nothing when both are already installed. VOUCH_BENCH_CACHE moves the cache.
set -euo pipefail
CACHE=${VOUCH_BENCH_CACHE:-$HOME/.cache/vouch-bench}
VENV="$CACHE/venv"
if [ -x "$VENV/bin/kingfisher" ] && [ -x "$VENV/bin/detect-secrets" ]; then
  exit 0
fi
mkdir -p "$CACHE"
python3 -m venv "$VENV"
"$VENV/bin/pip" install -q kingfisher-bin detect-secrets
"$VENV/bin/kingfisher" --version >/dev/null
