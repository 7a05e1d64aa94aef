#!/usr/bin/env bash
# Deploy-gate benchmark: a release of 50 artifacts, then
#   1. one `vouch gate` decision (whole process: policy, discovery, verification, decision),
#   2. a decision for every one of the 50 artifacts,
#   3. the per-bundle verification cost: `vouch verify-blob` vs the @sigstore/verify judge
#      (../shared/interop/verify-bundle-key) on the same bundle, in one run.
# Usage: bench/gate.sh [RUNS]   (release build; prints medians and the ratio)
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${1:-20}
cargo build --release -q -p vouch-cli
VOUCH="$(bash .ci/target-dir)/release/vouch"
JUDGE="$(cd ../shared/interop && pwd)/verify-bundle-key"
T=$(mktemp -d); trap 'rm -rf "$T"' EXIT
cd "$T"
export VOUCH_PASSWORD=bench SOURCE_DATE_EPOCH=1700000000
"$VOUCH" key generate --output-key-prefix release >/dev/null 2>&1
mkdir dist
for i in $(seq 1 50); do head -c 1048576 /dev/urandom > "dist/app$i"; done
"$VOUCH" release dist/app* --key release.key --out-dir rel -q --allow-empty
printf 'signatures:\n  keys: [release.pub]\n  threshold: 1\nattestations:\n  - type: slsaprovenance\n' > gate.yaml

now_ms() { date +%s%N | cut -c1-13; }
median() { sort -n | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
time_runs() { # CMD... → median wall ms over RUNS
  for _ in $(seq 1 "$RUNS"); do s=$(now_ms); "$@" >/dev/null 2>&1 || true; e=$(now_ms); echo $((e - s)); done | median
}

one=$(time_runs "$VOUCH" gate dist/app7 --policy gate.yaml --release rel)
s=$(now_ms); for i in $(seq 1 50); do "$VOUCH" gate "dist/app$i" --policy gate.yaml --release rel >/dev/null; done; e=$(now_ms)
all=$((e - s))
v=$(time_runs "$VOUCH" verify-blob dist/app7 --bundle rel/app7.sigstore.json --key release.pub)
"$JUDGE" rel/app7.sigstore.json dist/app7 release.pub >/dev/null 2>&1 # warm the judge's setup check
j=$(time_runs "$JUDGE" rel/app7.sigstore.json dist/app7 release.pub)

echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
echo "gate decision, 1 artifact of a 50-artifact release (median of $RUNS): ${one} ms"
echo "gate decisions for all 50 artifacts, one process each: ${all} ms total"
echo "verify-blob, 1 MiB artifact, whole process (median of $RUNS): vouch ${v} ms, @sigstore/verify judge ${j} ms"
awk -v v="$v" -v j="$j" 'BEGIN { if (v > 0) printf "ratio judge/vouch: %.1fx\n", j / v; else print "ratio: vouch under 1 ms" }'
