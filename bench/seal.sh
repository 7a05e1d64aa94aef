#!/usr/bin/env bash
# Seal throughput next to raw aws-lc-rs AES-256-GCM (the peer, in the same criterion run), and
# the overhead of protected memory. Usage: bench/seal.sh [criterion args...]
# Prints one line per size: raw MB/s, seal MB/s, seal/raw; then protected vs plain memory.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_INCREMENTAL=0
out=${CRITERION_HOME:-${HOME}/.cache/vouch-bench/criterion-seal}
rm -rf "$out"; mkdir -p "$out"
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
CRITERION_HOME="$out" cargo bench --locked -p vouch-crypto --bench seal -- \
  --warm-up-time 1 --measurement-time "${MEASURE_SECS:-3}" "$@" >"$out/log.txt" 2>&1 \
  || { tail -30 "$out/log.txt"; exit 2; }
python3 - "$out" <<'PY'
import json, os, sys
root = sys.argv[1]
def ns(group, fn, size=None):
    p = os.path.join(root, group, fn, size, "new", "estimates.json") if size else os.path.join(root, group, fn, "new", "estimates.json")
    with open(p) as f:
        return json.load(f)["median"]["point_estimate"]
sizes = {"1KiB": 1 << 10, "64KiB": 64 << 10, "1MiB": 1 << 20}
print(f"{'op':8} {'size':>6} {'raw MB/s':>10} {'seal MB/s':>10} {'seal/raw':>9}")
for op in ("encrypt", "decrypt"):
    for label, n in sizes.items():
        raw, seal = ns(op, "raw-aws-lc-rs", label), ns(op, "vouch-seal", label)
        print(f"{op:8} {label:>6} {n / raw * 1e3:10.0f} {n / seal * 1e3:10.0f} {raw / seal:9.1%}")
print()
print(f"{'protected decrypt':18} {'size':>6} {'vec ns':>9} {'secret ns':>10} {'overhead':>9}")
for label in ("32B", "1KiB", "64KiB"):
    v, s = ns("protected-decrypt", "vec-zeroized", label), ns("protected-decrypt", "secret", label)
    print(f"{'':18} {label:>6} {v:9.0f} {s:10.0f} {s / v - 1:9.1%}")
v, s = ns("protected-alloc", "vec-zeroized-32B"), ns("protected-alloc", "secret-32B")
m = ns("protected-alloc", "mapping-per-secret-32B")
print(f"alloc 32 B: heap Vec {v:.0f} ns, protected Secret (arena) {s:.0f} ns, one mapping per secret {m:.0f} ns = {m / s:.0f}x the arena")
k = ns("key-setup", "aes-256-gcm")
print(f"AES-256-GCM key setup per operation: {k:.0f} ns")
PY
