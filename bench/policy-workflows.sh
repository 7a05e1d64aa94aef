#!/usr/bin/env bash
# vouch ci audit vs zizmor on the workflow corpus, in one run; prints both times and the ratio.
#
#   bench/policy-workflows.sh            # builds vouch in release mode first
#   VOUCH_BIN=target/release/vouch bench/policy-workflows.sh
#   RUNS=20 COPIES=20 bench/policy-workflows.sh
#
# Three workloads: the synthetic corpus as it is (122 files, where process start-up dominates),
# that corpus copied COPIES times into a temporary repository (throughput), and the real-world
# corpus (tests/fixtures/corpus: 124 workflows from public repositories, audited as files). Each tool audits each
# workload RUNS times with JSON output to /dev/null; the median wall time is reported.
# zizmor (PyPI, pinned below) is installed into a cache outside the repository.
set -euo pipefail
cd "$(dirname "$0")/.."
ZIZMOR_VERSION=1.32.0
CACHE=${VOUCH_BENCH_CACHE:-$HOME/.cache/vouch-bench}
RUNS=${RUNS:-15}
COPIES=${COPIES:-20}
CORPUS=crates/vouch-workflow/tests/corpus
REAL=crates/vouch-workflow/tests/fixtures/corpus

if ! [ -x "$CACHE/venv/bin/zizmor" ] || [ "$("$CACHE/venv/bin/zizmor" --version)" != "zizmor $ZIZMOR_VERSION" ]; then
  mkdir -p "$CACHE"
  python3 -m venv "$CACHE/venv"
  "$CACHE/venv/bin/pip" install --quiet --disable-pip-version-check "zizmor==$ZIZMOR_VERSION"
fi
ZIZMOR="$CACHE/venv/bin/zizmor"

if [ -z "${VOUCH_BIN:-}" ]; then
  cargo build --release --locked -p vouch-cli >&2
  VOUCH_BIN=$(bash .ci/target-dir)/release/vouch
fi
VOUCH=$(realpath "$VOUCH_BIN")

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# the large workload: a repository with COPIES copies of every corpus file
big="$work/big"
for i in $(seq 1 "$COPIES"); do
  mkdir -p "$big/.github/workflows"
  for f in "$CORPUS"/workflows/*.yml; do cp "$f" "$big/.github/workflows/$i-$(basename "$f")"; done
  for d in "$CORPUS"/actions/*/; do
    mkdir -p "$big/actions/$i-$(basename "$d")"
    cp "$d/action.yml" "$big/actions/$i-$(basename "$d")/action.yml"
  done
done
cp "$CORPUS/zizmor-first-party.yml" "$work/zizmor.yml"

median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
# time_cmd DIR CMD...: median wall seconds over RUNS runs (exit status 0/1/14 all mean "ran")
time_cmd() {
  local dir=$1; shift
  for _ in $(seq 1 "$RUNS"); do
    local t0 t1
    t0=$(date +%s.%N)
    (cd "$dir" && "$@" >/dev/null 2>&1) || true
    t1=$(date +%s.%N)
    echo "$t1 - $t0" | bc -l
  done | median
}

small_files=$(ls "$CORPUS"/workflows/*.yml | wc -l)
big_files=$(find "$big" -name '*.yml' | wc -l)
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'); shared and noisy"
echo "vouch $("$VOUCH" --version | cut -d' ' -f2), $("$ZIZMOR" --version); median of $RUNS runs"
echo

# sanity: both tools find what they should on the corpus
(cd "$CORPUS" && "$VOUCH" ci audit workflows actions --format json -o "$work/v.json") || true
(cd "$CORPUS" && "$ZIZMOR" --offline --no-progress --config zizmor-first-party.yml --format json workflows/*.yml actions > "$work/z.json" 2>/dev/null) || true
python3 "$CORPUS/compare.py" "$work/v.json" "$work/z.json"
echo

v_small=$(time_cmd "$CORPUS" "$VOUCH" ci audit workflows actions --format json)
z_small=$(time_cmd "$CORPUS" sh -c "'$ZIZMOR' --offline --no-progress --config zizmor-first-party.yml --format json workflows/*.yml actions")
v_big=$(time_cmd "$big" "$VOUCH" ci audit . --format json)
real_list=$(cd "$REAL" && find . \( -name '*.yml' -o -name '*.yaml' \) -not -path './LICENSES/*' | sort | tr '\n' ' ')
real_files=$(echo "$real_list" | wc -w)
v_real=$(time_cmd "$REAL" sh -c "'$VOUCH' ci audit $real_list --format json")
z_real=$(time_cmd "$REAL" sh -c "'$ZIZMOR' --offline --no-progress --config ../../corpus/zizmor-first-party.yml --format json $real_list")
z_big=$(time_cmd "$big" "$ZIZMOR" --offline --no-progress --config "$work/zizmor.yml" --format json .)

printf '%-34s %10s %10s %8s\n' "workload" "vouch (s)" "zizmor (s)" "ratio"
printf '%-34s %10.3f %10.3f %7.1fx\n' "corpus ($small_files workflows + 6 actions)" "$v_small" "$z_small" "$(echo "$z_small / $v_small" | bc -l)"
printf '%-34s %10.3f %10.3f %7.1fx\n' "corpus x$COPIES ($big_files files)" "$v_big" "$z_big" "$(echo "$z_big / $v_big" | bc -l)"
printf '%-34s %10.3f %10.3f %7.1fx\n' "real-world corpus ($real_files files)" "$v_real" "$z_real" "$(echo "$z_real / $v_real" | bc -l)"
