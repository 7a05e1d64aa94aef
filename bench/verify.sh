#!/usr/bin/env bash
# Keyless verification of a real public-good bundle (Fulcio certificate + embedded SCT +
# Rekor v1 SET + inclusion proof + checkpoint), whole process, offline, side by side in one
# run:
#   vouch verify-blob                          (this repository, release build)
#   sigstore-python `sigstore verify identity --offline`   (the judge's CLI, 4.5.1)
#   the sigstore-python judge script           (../shared/interop/verify-bundle-keyless:
#                                               library verify + the CLI cross-check)
# plus the same for a Rekor v2 + RFC 3161 bundle (vouch only; sigstore-python agrees).
# Usage: bench/verify.sh [RUNS]   Prints medians (ms) and the ratios.
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${1:-20}
cargo build --release -q -p vouch-cli
target_dir=$(bash .ci/target-dir)
VOUCH="$target_dir/release/vouch"
INTEROP="$(cd ../shared/interop && pwd)"
CASES="$(cd ../shared/vectors/sigstore-bundles && pwd)"
"$INTEROP/setup.sh" >/dev/null
SIGSTORE="${VOUCH_INTEROP_CACHE:-$HOME/.cache/vouch-interop}/venv/bin/sigstore"

C="$CASES/sigstore-java-alg-ecdsa-p256-sha-256"
ID=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["identity"])' "$C/case.json")
ISS=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["issuer"])' "$C/case.json")
T=$(mktemp -d); trap 'rm -rf "$T"' EXIT
python3 - "$C/trusted_root.json" "$T/trust_config.json" <<'PY'
import json, sys
root = json.load(open(sys.argv[1]))
cfg = {"mediaType": "application/vnd.dev.sigstore.clienttrustconfig.v0.1+json", "trustedRoot": root,
       "signingConfig": {"mediaType": "application/vnd.dev.sigstore.signingconfig.v0.2+json",
                         "caUrls": [], "oidcUrls": [], "rekorTlogUrls": [], "tsaUrls": [],
                         "rekorTlogConfig": {"selector": "ANY"}, "tsaConfig": {"selector": "ANY"}}}
json.dump(cfg, open(sys.argv[2], "w"))
PY

now_us() { date +%s%N | cut -c1-16; }
median() { sort -n | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
time_runs() { # N CMD... → median wall µs; every run must succeed
  local n=$1; shift
  for _ in $(seq 1 "$n"); do
    s=$(now_us); "$@" >/dev/null 2>&1 || { echo "FAILED: $*" >&2; exit 1; }; e=$(now_us); echo $((e - s))
  done | median
}

v=$(time_runs "$RUNS" "$VOUCH" verify-blob "$C/artifact.txt" --bundle "$C/bundle.sigstore.json" \
  --certificate-identity "$ID" --certificate-oidc-issuer "$ISS" --trusted-root "$C/trusted_root.json")
py=$(time_runs 5 "$SIGSTORE" --trust-config "$T/trust_config.json" verify identity --offline \
  --bundle "$C/bundle.sigstore.json" --cert-identity "$ID" --cert-oidc-issuer "$ISS" "$C/artifact.txt")
judge=$(time_runs 3 "$INTEROP/verify-bundle-keyless" "$C/bundle.sigstore.json" "$C/artifact.txt" \
  "$C/trusted_root.json" "$ID" "$ISS")

C2="$CASES/sigstore-java-rekor-v2-dsse-production"
PT=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["predicate_type"])' "$C2/case.json")
DG="$C2/$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["artifact"])' "$C2/case.json")"
ID2=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["identity"])' "$C2/case.json")
ISS2=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["issuer"])' "$C2/case.json")
v2=$(time_runs "$RUNS" "$VOUCH" verify-attestation "$DG" --bundle "$C2/bundle.sigstore.json" --type "$PT" \
  --certificate-identity "$ID2" --certificate-oidc-issuer "$ISS2" --trusted-root "$C2/trusted_root.json")

ms() { awk -v u="$1" 'BEGIN { printf "%.1f", u / 1000 }'; }
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
echo "keyless blob bundle, public good (cert + SCT + SET + proof), whole process, median:"
echo "  vouch verify-blob                      $(ms "$v") ms  ($RUNS runs)"
echo "  sigstore-python CLI verify --offline   $(ms "$py") ms  (5 runs)"
echo "  sigstore-python judge script           $(ms "$judge") ms  (3 runs)"
awk -v v="$v" -v p="$py" -v j="$judge" 'BEGIN { printf "ratio sigstore-python CLI / vouch: %.0fx; judge / vouch: %.0fx\n", p / v, j / v }'
echo "Rekor v2 DSSE attestation + RFC 3161 timestamp (production), vouch verify-attestation: $(ms "$v2") ms"
