#!/usr/bin/env bash
# Signing benchmark: vouch vs its peers, side by side in one run.
#  1. In-process (criterion, crates/vouch-attest/benches/signing.rs): ECDSA P-256 sign/s and
#     verify/s on one core through vouch's Signer/PublicKey vs raw aws-lc-rs, plus whole
#     bundle/DSSE verification.
#  2. Whole process: `vouch verify-blob` vs the @sigstore/verify judge
#     (../shared/interop/verify-bundle-key, node) on the same bundle, N runs each.
# Usage: bench/signing.sh [RUNS]   (from anywhere; builds release binaries first)
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${1:-20}
export CARGO_INCREMENTAL=0
INTEROP=../shared/interop
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"

# --- peers: the @sigstore/verify judge installs itself into its cache outside the repo ---
VOUCH_INTEROP_QUIET=1 "$INTEROP/setup.sh" >&2
cargo build --release -q -p vouch-cli
V="$(bash .ci/target-dir)/release/vouch"

# --- 1. in-process ---
crit=$(mktemp)
cargo bench -q -p vouch-attest --bench signing -- --warm-up-time 1 --measurement-time 3 2>/dev/null | tee "$crit" >/dev/null
python3 - "$crit" <<'PY'
import re, sys
t = {}
name = None
units = {"ns": 1e-9, "µs": 1e-6, "us": 1e-6, "ms": 1e-3, "s": 1.0}
for line in open(sys.argv[1], encoding="utf-8"):
    m = re.match(r"^(\S+/\S+)", line)
    if m and "time:" not in line:
        name = m.group(1)
    m2 = re.search(r"time:\s+\[\S+ \S+ (\S+) (\S+) \S+ \S+\]", line)
    if m2:
        if m and "time:" in line:
            name = m.group(1)
        t[name] = float(m2.group(1)) * units[m2.group(2)]
def ops(n): return 1.0 / t[n]
print("in-process, one core, ECDSA P-256, 1 KiB message:")
for what in ("sign", "verify"):
    raw, ours = ops(f"raw_aws_lc_rs/{what}_p256"), ops(f"vouch/{what}_p256")
    print(f"  {what:<6}  vouch {ours:>9.0f}/s   raw aws-lc-rs {raw:>9.0f}/s   vouch/raw = {ours/raw:.2f}")
for n in ("vouch/sign_blob_bundle_p256", "vouch/verify_blob_bundle_p256", "vouch/verify_dsse_p256"):
    print(f"  {n.split('/')[1]:<26} {ops(n):>9.0f}/s")
PY
rm -f "$crit"

# --- 2. whole process ---
T=$(mktemp -d); trap 'rm -rf "$T"' EXIT
cd "$T"
export VOUCH_PASSWORD=bench
"$V" -q key generate --output-key-prefix k
head -c 1048576 /dev/urandom > art.bin
"$V" sign-blob art.bin --key k.key --bundle b.json
time_runs() { # prints mean milliseconds per run
  local start end
  start=$(date +%s%N)
  for _ in $(seq "$RUNS"); do "$@" >/dev/null 2>&1 || { echo "FAILED: $*" >&2; exit 1; }; done
  end=$(date +%s%N)
  echo "scale=2; ($end - $start) / 1000000 / $RUNS" | bc
}
vouch_ms=$(time_runs "$V" -q verify-blob art.bin --bundle b.json --key k.pub)
judge_ms=$(time_runs "$OLDPWD/$INTEROP/verify-bundle-key" b.json art.bin k.pub)
node_ms=$(VOUCH_INTEROP_CACHE_RESOLVED="${VOUCH_INTEROP_CACHE:-$HOME/.cache/vouch-interop}" \
  time_runs node "$OLDPWD/$INTEROP/lib/verify-bundle-key.js" b.json art.bin k.pub)
echo "whole process, verify-blob of a 1 MiB artifact, mean of $RUNS runs:"
echo "  vouch verify-blob                         ${vouch_ms} ms"
echo "  verify-bundle-key judge (setup + node)    ${judge_ms} ms   ratio $(echo "scale=1; $judge_ms / $vouch_ms" | bc)x"
echo "  @sigstore/verify in node alone            ${node_ms} ms   ratio $(echo "scale=1; $node_ms / $vouch_ms" | bc)x"
