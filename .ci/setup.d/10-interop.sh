#!/usr/bin/env bash
# Installs the external judges (../shared/interop) into their cache; a no-op when current.
set -euo pipefail
cd "$(dirname "$0")/../.."
VOUCH_INTEROP_QUIET=1 ../shared/interop/setup.sh
