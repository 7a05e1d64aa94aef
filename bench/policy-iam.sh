#!/usr/bin/env bash
# vouch iam lint vs parliament on the same IAM corpus, in one run; prints the ratio.
#
#   bench/policy-iam.sh [VOUCH_BINARY] [COPIES]
#
# The corpus is the fixture policies (crates/vouch-policy/tests/fixtures/iam/policies)
# copied COPIES times (default 100) into a temporary directory. parliament (pinned) is
# installed by .ci/setup.d/40-policy.sh into ~/.cache/vouch-policy. Each tool runs 3 times;
# the median wall time is reported.
set -euo pipefail
cd "$(dirname "$0")/.."
VOUCH="${1:-target/release/vouch}"
COPIES="${2:-100}"
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

median() { sort -n | sed -n 2p; }
time_it() {  # prints seconds for one run of "$@"
  local s e
  s=$(date +%s.%N)
  "$@" >/dev/null 2>&1 || true
  e=$(date +%s.%N)
  echo "$e - $s" | bc -l
}
vouch_run() { "$VOUCH" iam lint --format json "$work"/*.json; }
parliament_run() { "$PARLIAMENT" --directory "$work" --json --include-community-auditors </dev/null; }

v=$(for _ in 1 2 3; do time_it vouch_run; done | median)
p=$(for _ in 1 2 3; do time_it parliament_run; done | median)
vf=$(vouch_run 2>/dev/null | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["findings"]))' || echo "?")
pf=$(parliament_run 2>/dev/null | grep -c . || true)
printf 'corpus: %s policy files\n' "$n"
printf 'vouch iam lint:   %.3f s  (%s findings)\n' "$v" "$vf"
printf 'parliament 1.6.4: %.3f s  (%s findings)\n' "$p" "$pf"
printf 'ratio (parliament / vouch): %.1fx\n' "$(echo "$p / $v" | bc -l)"
printf 'machine: nproc=%s, %s\n' "$(nproc)" "$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
