#!/usr/bin/env bash
# Peak memory and wall time of `vouch sbom generate` on a 1M-entry lockfile of every format
# bench/big-lockfiles.py writes, and of `vouch sbom diff` on two 1M-component CycloneDX
# documents (issue 22's target: ≤ 300 MiB and ≤ 2 s per million entries).
#
# Usage: bench/big-lockfiles.sh [ENTRIES] [FORMAT...]   (ENTRIES default 1000000; FORMAT as in
#        the generator: npm-v3 npm-v1 yarn-v1 yarn-berry pnpm9 cargo poetry uv gomod gem sbom)
# VOUCH_BIN=path measures that binary instead of building a release build; BASE_BIN=path also
# measures a second binary (e.g. a build of main) on the same inputs in the same run, and
# prints the ratio. Inputs go to ${VOUCH_BENCH_CACHE:-$HOME/.cache/vouch-bench}/big-N (reused).
# Needs python3 and GNU time (/usr/bin/time).
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-1000000}
shift || true
FORMATS=${*:-npm-v3 npm-v1 yarn-v1 yarn-berry pnpm9 cargo poetry uv gomod gem sbom}
CACHE=${VOUCH_BENCH_CACHE:-$HOME/.cache/vouch-bench}
IN="$CACHE/big-$N"
if [ -n "${VOUCH_BIN:-}" ]; then
  VOUCH=$VOUCH_BIN
else
  cargo build --release --locked -p vouch-cli >/dev/null 2>&1 || cargo build --release -p vouch-cli
  VOUCH=$(bash .ci/target-dir)/release/vouch
fi
OUT=$(mktemp -d)
trap 'rm -rf "$OUT"' EXIT

for f in $FORMATS; do
  if [ "$f" = sbom ]; then [ -f "$IN/sbom-new.cdx.json" ] && continue; else [ -d "$IN/$f" ] && continue; fi
  python3 bench/big-lockfiles.py "$IN" "$N" "$f"
done

# measure BIN ARGS... -> "seconds MiB exit"
measure() {
  local log="$OUT/time.log"
  local rc=0
  /usr/bin/time -v "$@" >"$OUT/stdout" 2>"$log" || rc=$?
  local wall mib
  wall=$(sed -n 's/.*Elapsed (wall clock) time (h:mm:ss or m:ss): //p' "$log" | awk -F: '{ if (NF == 3) print $1*3600 + $2*60 + $3; else print $1*60 + $2 }')
  mib=$(sed -n 's/.*Maximum resident set size (kbytes): //p' "$log" | awk '{ printf "%.0f", $1 / 1024 }')
  echo "$wall $mib $rc"
}

echo "machine: $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg); vouch $($VOUCH --version | cut -d' ' -f2); $N entries"
printf '%-12s %9s %10s %9s %10s %s\n' input size_MB wall_s peak_MiB base_wall base_MiB
for f in $FORMATS; do
  if [ "$f" = sbom ]; then
    args=(sbom diff "$IN/sbom-old.cdx.json" "$IN/sbom-new.cdx.json" -o "$OUT/diff.md")
    size=$(du -m "$IN/sbom-old.cdx.json" | cut -f1)
  else
    args=(sbom generate "$IN/$f" -o "$OUT/sbom.cdx.json" --quiet)
    size=$(du -sm "$IN/$f" | cut -f1)
  fi
  read -r wall mib rc <<<"$(measure "$VOUCH" "${args[@]}")"
  [ "$rc" = 0 ] || { echo "$f: vouch exited $rc: $(tail -3 "$OUT/time.log")" >&2; }
  if [ -n "${BASE_BIN:-}" ]; then
    read -r bwall bmib brc <<<"$(measure "$BASE_BIN" "${args[@]}")"
    [ "$brc" = 0 ] || echo "$f: base exited $brc" >&2
    printf '%-12s %9s %10.2f %9s %10.2f %9s   (%.1fx less memory, %.1fx faster)\n' "$f" "$size" "$wall" "$mib" "$bwall" "$bmib" \
      "$(echo "$bmib / $mib" | bc -l)" "$(echo "$bwall / $wall" | bc -l)"
  else
    printf '%-12s %9s %10.2f %9s\n' "$f" "$size" "$wall" "$mib"
  fi
done
