#!/usr/bin/env bash
# Time of the `iam` check inside `vouch check` on a generated 400-file repository.
#
#   crates/vouch-policy/bench/iam-check.sh [VOUCH_BINARY] [RUNS]
#
# gen_iam_repo.py writes the repository (source, docs, Kubernetes YAML, JSON configs, a
# package-lock.json, an OpenAPI spec with a `Statement` schema, 6 policies, 2 CloudFormation
# templates, 2 single-line Terraform plans). The check runs alone ([checks] enable = ["iam"]),
# then every other check ([checks] disable = ["iam"]), then alone on the same tree without
# the IAM documents; median wall time of RUNS (default 3).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
VOUCH="${1:-target/release/vouch}"
RUNS="${2:-3}"
[ -x "$VOUCH" ] || { echo "error: $VOUCH not built (cargo build --release -p vouch-cli)" >&2; exit 2; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
python3 "$here/gen_iam_repo.py" "$work/repo" >/dev/null
cp -r "$work/repo" "$work/repo-no-iam"
rm -rf "$work/repo-no-iam/plans" "$work/repo-no-iam/cfn" "$work/repo-no-iam/iam"
printf '[checks]\nenable = ["iam"]\n' > "$work/only-iam.toml"
printf '[checks]\ndisable = ["iam"]\n' > "$work/no-iam.toml"
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
run() { # label repo config
  for _ in $(seq 1 "$RUNS"); do
    s=$(date +%s.%N)
    "$VOUCH" check "$2" --config "$3" --format json -q -o "$work/out.json" || true
    e=$(date +%s.%N); echo "$e - $s" | bc -l
  done | median | xargs printf '%-52s %.3f s\n' "$1"
}
run "iam check alone (400 files)" "$work/repo" "$work/only-iam.toml"
run "every other check (400 files)" "$work/repo" "$work/no-iam.toml"
run "iam check alone, IAM documents removed (390 files)" "$work/repo-no-iam" "$work/only-iam.toml"
printf 'machine: nproc=%s, load average %s\n' "$(nproc)" "$(cut -d' ' -f1 /proc/loadavg)"
