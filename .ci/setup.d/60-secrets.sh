#!/usr/bin/env bash
# The secrets CLI tests build fixture repositories with the `git` binary (vouch itself reads
# git through gix and needs no binary). Idempotent: installs git only when it is missing.
set -euo pipefail
if ! command -v git >/dev/null 2>&1; then
  if command -v apt-get >/dev/null 2>&1; then
    apt-get update -qq && apt-get install -y -qq git
  else
    echo "setup: the secrets tests need git; install it" >&2
    exit 1
  fi
fi
