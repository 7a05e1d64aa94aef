#!/usr/bin/env bash
# vouch iam lint vs parliament on the same IAM corpus, in one run; prints the ratio.
#
#   bench/policy-iam.sh [VOUCH_BINARY] [COPIES] [RUNS]
#
# The corpus is the fixture policies (crates/vouch-policy/tests/fixtures/iam/policies)
# copied COPIES times (default 10, i.e. 300 files) into a temporary directory. parliament
# (pinned) is installed by .ci/setup.d/40-policy.sh into ~/.cache/vouch-policy. Each tool
# runs RUNS times (default 3), alternating; the median wall time is reported.
set -euo pipefail
cd "$(dirname "$0")/.."
VOUCH="${1:-$(bash .ci/target-dir)/release/vouch}"
COPIES="${2:-10}"
RUNS="${3:-3}"
bash .ci/setup.d/40-policy.sh
PARLIAMENT="${VOUCH_POLICY_CACHE:-$HOME/.cache/vouch-policy}/venv/bin/parliament"
[ -x "$VOUCH" ] || { echo "error: $VOUCH not built (cargo build --release -p vouch-cli)" >&2; exit 2; }

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
for i in $(seq 1 "$COPIES"); do
  for f in crates/vouch-policy/tests/fixtures/iam/policies/*.json; do
    cp "$f" "$work/$(basename "$f" .json)-$i.json"
  done
done
n=$(ls "$work" | wc -l)

median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
now() { date +%s.%N; }
vouch_run() { "$VOUCH" iam lint --format json "$work"/*.json; }
parliament_run() { "$PARLIAMENT" --directory "$work" --json --include-community-auditors </dev/null; }

: > "$work.v"; : > "$work.p"
for _ in $(seq 1 "$RUNS"); do
  s=$(now); vouch_run > "$work.vout" 2>/dev/null || true; e=$(now); echo "$e - $s" | bc -l >> "$work.v"
  s=$(now); parliament_run > "$work.pout" 2>/dev/null || true; e=$(now); echo "$e - $s" | bc -l >> "$work.p"
done
v=$(median < "$work.v")
p=$(median < "$work.p")
vf=$(python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1]))["findings"]))' "$work.vout" || echo "?")
pf=$(grep -c . "$work.pout" || true)
rm -f "$work.v" "$work.p" "$work.vout" "$work.pout"
printf 'corpus: %s policy files\n' "$n"
printf 'vouch iam lint:   %.3f s  (%s findings)\n' "$v" "$vf"
printf 'parliament 1.6.4: %.3f s  (%s findings)\n' "$p" "$pf"
printf 'ratio (parliament / vouch): %.1fx\n' "$(echo "$p / $v" | bc -l)"
printf 'machine: nproc=%s, %s\n' "$(nproc)" "$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
