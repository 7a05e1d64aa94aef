#!/usr/bin/env bash
# Installs parliament (the IAM linter vouch-policy is cross-checked and benchmarked against)
# into a virtualenv outside the repository; a no-op when the pinned version is present.
set -euo pipefail
CACHE="${VOUCH_POLICY_CACHE:-$HOME/.cache/vouch-policy}"
PIN="parliament==1.6.4"
if [ -x "$CACHE/venv/bin/parliament" ] && [ "$(cat "$CACHE/.pin" 2>/dev/null)" = "$PIN" ]; then
  exit 0
fi
mkdir -p "$CACHE"
python3 -m venv "$CACHE/venv"
"$CACHE/venv/bin/pip" install --quiet --disable-pip-version-check "$PIN"
echo "$PIN" > "$CACHE/.pin"
