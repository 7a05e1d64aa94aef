#!/usr/bin/env bash
# CI smoke run: every fuzz target for a few seconds (default 5) on its seed corpus.
# Exits 1 if any target crashes, times out or runs out of memory. See docs/fuzzing.md.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
exec bash "$here/run.sh" "${1:-5}"
