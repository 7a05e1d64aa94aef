#!/usr/bin/env bash
# Vulnerability gate benchmark: vouch vs pip-audit on the same inputs, in one run.
#
#   bench/vulns.sh            # from the repository root
#
# 1. `vouch db build` from the shared OSV snapshot plus, when the network allows (or a
#    previous run cached them), OSV's full crates.io / PyPI / Go / npm exports.
# 2. A 5,000-package CycloneDX SBOM of real package names and versions taken from the OSV
#    data (bench/vulns/gen_sbom.py), scanned by vouch.
# 3. The PyPI part of it (one version per name, as pip-audit requires) scanned by vouch and
#    by pip-audit. pip-audit cannot reach api.osv.dev or PyPI's JSON API offline, so it is
#    pointed (--osv-url) at a local OSV query server answering from the same snapshot
#    (bench/vulns/osv_judge.py, matching with `packaging`); its time includes that server.
#    The same script cross-checks vouch's PyPI matches record by record.
#
# Peers are installed into ${VOUCH_BENCH_CACHE:-$HOME/.cache/vouch-bench}, never the repo.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
SHARED=$ROOT/../shared
CACHE=${VOUCH_BENCH_CACHE:-$HOME/.cache/vouch-bench}
RUNS=${RUNS:-5}
mkdir -p "$CACHE/osv"
WORK=$(mktemp -d)
SERVER_PID=
cleanup() { [ -n "$SERVER_PID" ] && kill "$SERVER_PID" 2>/dev/null; rm -rf "$WORK"; }
trap cleanup EXIT

export CARGO_INCREMENTAL=0
cargo build --release -q -p vouch-cli
cargo build --release -q -p vouch-vuln --example scan_timing
TARGET=$(bash .ci/target-dir)
VOUCH=$TARGET/release/vouch
SCAN_TIMING=$TARGET/release/examples/scan_timing

if [ ! -x "$CACHE/venv/bin/pip-audit" ]; then
  python3 -m venv "$CACHE/venv"
  "$CACHE/venv/bin/pip" install -q pip-audit
fi
PY=$CACHE/venv/bin/python

now() { date +%s%N; }
ms() { echo $(( ($2 - $1) / 1000000 )); }
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
echo "vouch: $("$VOUCH" --version)  pip-audit: $("$CACHE/venv/bin/pip-audit" --version)"

# 1. database build
SOURCES=("$SHARED/osv/osv.tar.gz")
for eco in crates.io PyPI Go npm; do
  z="$CACHE/osv/$eco.zip"
  if curl -fsS --max-time 120 -o "$z.tmp" "https://osv-vulnerabilities.storage.googleapis.com/$eco/all.zip" 2>/dev/null; then
    mv "$z.tmp" "$z"
  else
    rm -f "$z.tmp"
  fi
  [ -s "$z" ] && SOURCES+=("$z")
done
echo "sources: ${SOURCES[*]}"
t0=$(now); "$VOUCH" db build "${SOURCES[@]}" -o "$WORK/osv.db" -q; t1=$(now)
echo "db build (full):        $(ms "$t0" "$t1") ms, $(du -h "$WORK/osv.db" | cut -f1)"
t0=$(now); "$VOUCH" db build "${SOURCES[@]}" -o "$WORK/osv.db" -q; t1=$(now)
echo "db build (incremental): $(ms "$t0" "$t1") ms (nothing changed)"
"$VOUCH" db info --db "$WORK/osv.db" | sed -n '/ecosystems:/,/sources:/p' | sed '$d'

# 2. 5,000-package SBOM
"$PY" bench/vulns/gen_sbom.py "$SHARED/osv/osv.tar.gz" 5000 "$WORK/bom.cdx.json" "$WORK/req.txt"
scan_ms() {
  for _ in $(seq "$RUNS"); do
    t0=$(now); "$VOUCH" vuln scan "$1" --db "$WORK/osv.db" --format json -q -o "$2" || true; t1=$(now)
    ms "$t0" "$t1"
  done | median
}
echo "vouch vuln scan, 5000 packages: $(scan_ms "$WORK/bom.cdx.json" "$WORK/all.json") ms (median of $RUNS, whole process: DB open, SBOM read, JSON report)"
"$SCAN_TIMING" "$WORK/osv.db" "$WORK/bom.cdx.json" "$RUNS"

# 3. PyPI: vouch vs pip-audit on the same packages
PORT=$(( 20000 + RANDOM % 20000 ))
"$PY" bench/vulns/osv_judge.py serve "$SHARED/osv/osv.tar.gz" "$PORT" & SERVER_PID=$!
for _ in $(seq 50); do
  curl -fs -X POST -d '{}' "http://127.0.0.1:$PORT/v1/query" >/dev/null 2>&1 && break
  sleep 0.2
done
NPY=$(wc -l < "$WORK/req.txt")
V=$(scan_ms "$WORK/req.txt.cdx.json" "$WORK/vouch-pypi.json")
PA=$(for _ in $(seq "$RUNS"); do
  t0=$(now)
  "$CACHE/venv/bin/pip-audit" -r "$WORK/req.txt" --no-deps --disable-pip -s osv \
    --osv-url "http://127.0.0.1:$PORT/v1/query" -f json --progress-spinner off \
    -o "$WORK/pip-audit.json" >/dev/null 2>&1 || true
  t1=$(now); ms "$t0" "$t1"
done | median)
echo "PyPI, $NPY packages: vouch $V ms, pip-audit $PA ms (median of $RUNS) -> vouch is $(python3 -c "print(f'{$PA/max($V,1):.1f}')")x faster"
"$PY" bench/vulns/osv_judge.py match "$SHARED/osv/osv.tar.gz" "$WORK/req.txt" > "$WORK/judge.jsonl"
"$PY" bench/vulns/compare.py "$WORK/vouch-pypi.json" "$WORK/judge.jsonl" "$WORK/pip-audit.json"
