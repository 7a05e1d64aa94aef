#!/usr/bin/env bash
# vouch sbom generate vs cdxgen (npm @cyclonedx/cdxgen) on the same real-project fixtures, in
# one run: wall time per project and in total, the ratio, and the component sets compared
# (purls without qualifiers). Also times a synthetic 5,000-package package-lock.json.
#
# cdxgen is installed from the npm registry into a cache outside the repository
# (${VOUCH_BENCH_CACHE:-$HOME/.cache/vouch-bench}); vouch is built in release mode.
# Usage: bench/sbom.sh [RUNS]   (vouch runs per project, default 5; cdxgen runs once each)
# Needs node/npm, python3 and bc.
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${1:-5}
CACHE=${VOUCH_BENCH_CACHE:-$HOME/.cache/vouch-bench}
CDXGEN_VERSION=11.1.7
FIX=crates/vouch-sbom/tests/fixtures
OUT=$(mktemp -d)
trap 'rm -rf "$OUT"' EXIT

if [ ! -x "$CACHE/cdxgen/node_modules/.bin/cdxgen" ]; then
  mkdir -p "$CACHE/cdxgen"
  (cd "$CACHE/cdxgen" && npm_config_cache="$CACHE/npm-cache" npm install --no-audit --no-fund \
     --ignore-scripts "@cyclonedx/cdxgen@$CDXGEN_VERSION" >/dev/null)
fi
CDXGEN="$CACHE/cdxgen/node_modules/.bin/cdxgen"
# VOUCH_BIN=path skips the release build (e.g. to time another build of vouch).
if [ -n "${VOUCH_BIN:-}" ]; then
  VOUCH=$VOUCH_BIN
else
  cargo build --release --locked -p vouch-cli >/dev/null 2>&1 || cargo build --release -p vouch-cli
  VOUCH=$(bash .ci/target-dir)/release/vouch
fi
export SOURCE_DATE_EPOCH=1700000000 CDXGEN_NO_BANNER=true FETCH_LICENSE=false CDXGEN_DEBUG_MODE=
now() { date +%s.%N; }

echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
echo "cdxgen $CDXGEN_VERSION ($(node --version)), vouch $($VOUCH --version | cut -d' ' -f2), $RUNS vouch runs per project"
printf '%-22s %10s %10s %8s   %s\n' project vouch_ms cdxgen_ms ratio "components vouch/cdxgen/common"
tv_total=0; tc_total=0
for dir in "$FIX"/*/; do
  name=$(basename "$dir")
  t0=$(now)
  for _ in $(seq "$RUNS"); do "$VOUCH" sbom generate "$dir" -o "$OUT/$name.vouch.json" --quiet; done
  t1=$(now)
  "$CDXGEN" -r "$dir" -o "$OUT/$name.cdxgen.json" --no-install-deps --spec-version 1.6 >"$OUT/$name.cdxgen.log" 2>&1 || true
  t2=$(now)
  tv=$(echo "($t1 - $t0) / $RUNS" | bc -l); tc=$(echo "$t2 - $t1" | bc -l)
  tv_total=$(echo "$tv_total + $tv" | bc -l); tc_total=$(echo "$tc_total + $tc" | bc -l)
  cmp=$(python3 bench/sbom_compare.py "$OUT/$name.vouch.json" "$OUT/$name.cdxgen.json" "$OUT/$name.diff.txt")
  printf '%-22s %10.1f %10.1f %7.0fx   %s\n' "$name" "$(echo "$tv*1000" | bc -l)" "$(echo "$tc*1000" | bc -l)" "$(echo "$tc/$tv" | bc -l)" "$cmp"
done
printf '%-22s %10.1f %10.1f %7.0fx\n' TOTAL "$(echo "$tv_total*1000" | bc -l)" "$(echo "$tc_total*1000" | bc -l)" "$(echo "$tc_total/$tv_total" | bc -l)"

# A 5,000-package lockfile (synthetic: names and versions are generated).
python3 - "$OUT/big" <<'PY'
import json, os, sys
d = sys.argv[1]; os.makedirs(d, exist_ok=True)
pk = {"": {"name": "big", "version": "1.0.0", "dependencies": {f"pkg-{i}": "^1.0.0" for i in range(50)}}}
for i in range(5000):
    deps = {f"pkg-{j}": "^1.0.0" for j in range(i + 1, min(i + 4, 5000))}
    pk[f"node_modules/pkg-{i}"] = {"version": f"1.{i % 7}.{i % 13}", "resolved": f"https://registry.npmjs.org/pkg-{i}/-/pkg-{i}-1.0.0.tgz",
        "integrity": "sha512-z4PhNX7vuL3xVChQ1m2AB9Yg5AULVxXcg/SpIdNs6c5H0NE8XYXysP+DGNKHfuwvY7kxvUdBeoGlODJ6+SfaPg==",
        "license": "MIT", "dependencies": deps}
json.dump({"name": "big", "version": "1.0.0", "lockfileVersion": 3, "requires": True, "packages": pk}, open(f"{d}/package-lock.json", "w"), indent=2)
PY
t0=$(now)
for _ in $(seq "$RUNS"); do "$VOUCH" sbom generate "$OUT/big" -o "$OUT/big.json" --quiet; done
t1=$(now)
echo "5,000-package package-lock.json: $(echo "($t1 - $t0) * 1000 / $RUNS" | bc -l | xargs printf '%.1f') ms per run (vouch, $(python3 -c "import json;print(len(json.load(open('$OUT/big.json'))['components']))") components)"
if [ -n "${VOUCH_BENCH_KEEP:-}" ]; then mkdir -p "$VOUCH_BENCH_KEEP" && cp "$OUT"/*.diff.txt "$VOUCH_BENCH_KEEP"/; fi
