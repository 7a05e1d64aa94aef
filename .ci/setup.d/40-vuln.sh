#!/usr/bin/env bash
# What the vouch-vuln tests need besides crates: curl (vouch db update fetches with it; the
# test uses a file:// mirror) and python3 (builds the .zip mirror fixture). Idempotent.
set -euo pipefail
missing=()
command -v curl >/dev/null 2>&1 || missing+=(curl)
command -v python3 >/dev/null 2>&1 || missing+=(python3)
if [ ${#missing[@]} -gt 0 ]; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}"
fi
