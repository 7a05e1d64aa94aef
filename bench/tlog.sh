#!/usr/bin/env bash
# Transparency log benchmark (issue 12): durable appends/s with 64 concurrent writers, the
# physical bound (batch size x fsyncs/s), inclusion proofs/s from a large log, and full
# `vouch log verify` speed in entries/s. Trillian Tessera (the peer) is not run here: its
# published POSIX figures are printed beside ours for comparison (see docs/benchmarks.md).
#
#   bench/tlog.sh            # N=10000000 entries for the proof/verify log
#   BENCH_TLOG_N=1000000 bench/tlog.sh
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_INCREMENTAL=0
N=${BENCH_TLOG_N:-10000000}
WRITERS=${BENCH_TLOG_WRITERS:-64}
SECS=${BENCH_TLOG_SECONDS:-10}
work=${BENCH_TLOG_DIR:-${TMPDIR:-/tmp}/vouch-bench-tlog}
mkdir -p "$work"

cargo build --release -q -p vouch-tlog --example tlog_bench
bench=$(bash .ci/target-dir)/release/examples/tlog_bench
# CPU seconds (user+sys) of each step, beside wall time: on a shared, loaded machine the
# wall-clock rates mostly measure the neighbours.
TIMEFORMAT='   cpu: %U user + %S sys, wall %R s'

echo "== machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(df -h "$work" | awk 'NR==2{print $1}')"
echo "== fsync rate of this disk (the physical bound)"
echo "   load average: $(cut -d' ' -f1-3 /proc/loadavg)"
fs=$("$bench" fsync "$work/fsync" 5); echo "$fs"
echo "== durable appends, $WRITERS concurrent writers, ${SECS}s"
time ap=$("$bench" append "$work/append" "$WRITERS" "$SECS"); echo "$ap"
echo "== build a log of $N entries"
time "$bench" build "$work/big" "$N"
echo "== inclusion proofs/s (random indices, read from the tiles)"
time pr=$("$bench" prove "$work/big" 10 "$(nproc)"); echo "$pr"
echo "== full audit (the code of vouch log verify: recompute every tile, check every checkpoint)"
time ve=$("$bench" verify "$work/big"); echo "$ve"
python3 - "$N" "$ap" "$fs" "$pr" "$ve" <<'PY'
import sys, re
n = int(sys.argv[1])
ap, fs, pr, ve = sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5]
secs = float(re.search(r"in ([\d.]+)s", ve).group(1))
app = float(re.search(r"= (\d+) appends/s", ap).group(1))
per_batch = float(re.search(r"\(([\d.]+) entries/batch", ap).group(1))
fsyncs = float(re.search(r"fsync: (\d+)", fs).group(1))
proofs = float(re.search(r"= (\d+) proofs/s", pr).group(1))
print(f"verify: {n} entries in {secs:.2f}s wall = {n/secs:,.0f} entries/s (target >= 1,000,000/s)")
print(f"appends: {app:,.0f}/s durable (target >= 10,000/s); bound ~ batch {per_batch:.0f} x {fsyncs:.0f} fsyncs/s = {per_batch*fsyncs:,.0f}/s if a batch cost one fsync")
print(f"proofs: {proofs:,.0f}/s (target >= 100,000/s)")
# Trillian Tessera docs/performance.md (POSIX backend, hammer tool): 12-core VM, mirrored SAS
# disks: ~2,900 writes/s without antispam, ~1,600 writes/s with antispam (deduplication);
# GCP e2-micro: ~1,590 writes/s. vouch always deduplicates.
for name, t in [("Tessera POSIX 12-core SAS, antispam", 1600), ("Tessera POSIX 12-core SAS, no antispam", 2900), ("Tessera POSIX e2-micro", 1590)]:
    print(f"ratio vouch/{name}: {app/t:.2f}x ({app:,.0f} vs {t:,}/s published)")
PY
