#!/usr/bin/env bash
# vouch serve benchmark: signing throughput and latency over loopback HTTP, in one run:
#  (a) bare      axum + ECDSA P-256 (aws-lc-rs) and nothing else: the ceiling
#                (crates/vouch-server/examples/bare_sign.rs, POST a 32-byte digest → DER signature)
#  (b) dev       `vouch serve --dev`: DSSE signing behind a DPoP-bound token, quota, durable
#                (SQLite) hash-chained audit and transparency-log append, per request
#  (c) postgres  the same from `vouch serve --config` with database_url: audit chain and the
#                log's sequencing index in PostgreSQL (skipped when it is not reachable)
# Load: crates/vouch-server/examples/serve_load.rs, CONNECTIONS keep-alive connections for
# SECONDS each, every serve request with a freshly minted DPoP proof (the generator shares the
# machine with the server: its proof minting is reported).
# The goal: a signing request at ≥ 80% of the bare endpoint's throughput, p99 < 20 ms.
# Usage: bench/serve.sh [SECONDS] [CONNECTIONS]   (from anywhere; builds release binaries first)
#   VOUCH_BENCH_PG    libpq parameters for (c) [host=127.0.0.1 user=postgres dbname=test]
#   VOUCH_BENCH_PREBUILT=1  skip the release build and measure the binaries already there
set -euo pipefail
cd "$(dirname "$0")/.."
SECONDS_EACH=${1:-8}
CONNS=${2:-16}
if [ "$SECONDS_EACH" -gt 10 ]; then
  echo "at most 10 seconds per measurement" >&2
  exit 2
fi
PG=${VOUCH_BENCH_PG:-host=127.0.0.1 user=postgres dbname=test}
export CARGO_INCREMENTAL=0
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"

# VOUCH_BENCH_PREBUILT=1 measures the release binaries already built (say which commit).
if [ -z "${VOUCH_BENCH_PREBUILT:-}" ]; then
  cargo build --release -q -p vouch-cli --bin vouch
  cargo build --release -q -p vouch-server --example bare_sign --example serve_load
fi
R="$(bash .ci/target-dir)/release"
V="$R/vouch"
LOAD="$R/examples/serve_load"

T=$(mktemp -d)
PIDS=()
SCHEMA="vouch_bench_$$"
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done
  if [ -n "${PG_OK:-}" ]; then
    psql "$PG" -q -c "DROP SCHEMA IF EXISTS ${SCHEMA} CASCADE; DROP SCHEMA IF EXISTS ${SCHEMA}_log CASCADE; DROP SCHEMA IF EXISTS ${SCHEMA}_ct CASCADE" >/dev/null 2>&1 || true
  fi
  rm -rf "$T"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# Starts "$@" in the background, its stdout to FILE; waits for its first line (the base URL)
# and sets URL to it.
start() {
  local out=$1; shift
  "$@" >"$out" 2>"$out.err" &
  PIDS+=("$!")
  for _ in $(seq 300); do
    if [ -s "$out" ]; then URL=$(head -n1 "$out"); return 0; fi
    if ! kill -0 "$!" 2>/dev/null; then cat "$out.err" >&2; echo "failed to start: $*" >&2; exit 1; fi
    sleep 0.1
  done
  echo "did not start within 30 s: $*" >&2
  exit 1
}

stop_last() {
  local p=${PIDS[-1]}
  kill "$p" 2>/dev/null || true
  wait "$p" 2>/dev/null || true
  unset 'PIDS[-1]'
}

measure() { # NAME MODE URL [--dev-dir DIR] → one JSON line in $T/NAME.json
  local name=$1 mode=$2 url=$3; shift 3
  "$LOAD" "$mode" --url "$url" -c "$CONNS" -d "$SECONDS_EACH" "$@" >"$T/$name.json"
}

# (a) bare
start "$T/bare.url" "$R/examples/bare_sign" "127.0.0.1:0"
measure bare bare "$URL"
stop_last

# (b) vouch serve --dev
DEV="$T/dev"
port=$(free_port)
start "$T/dev.url" "$V" serve --dev --listen "127.0.0.1:$port" --dir "$DEV"
measure dev dsse "$URL" --dev-dir "$DEV"
stop_last

# (c) vouch serve --config with PostgreSQL: the dev instance's keys and token issuer, a data
# directory of its own (fresh log), the same quota and DPoP settings as dev mode.
if psql "$PG" -q -c "SELECT 1" >/dev/null 2>&1; then
  PG_OK=1
  DATA="$T/pg"
  mkdir -p "$DATA"
  cp -r "$DEV/keys" "$DATA/keys"
  port=$(free_port)
  cat >"$T/serve.toml" <<TOML
listen = "127.0.0.1:$port"
external_url = "http://127.0.0.1:$port"
data_dir = "$DATA"
database_url = "$PG"
database_schema = "$SCHEMA"

[auth]
issuer = "vouch-dev-issuer"
jwks_file = "$DEV/dev-jwks.json"

[auth.dpop]
require_nonce = false

[quota]
default_plan = "bench"

[quota.plans.bench]
requests_per_second = 100000.0
burst = 100000
concurrent = 4096
max_payload_bytes = 1048576
daily_signatures = 10000000

[tenants.dev]
TOML
  # In a subshell: a configuration that does not start costs this row, not the others.
  if ! (start "$T/pg.url" "$V" serve --config "$T/serve.toml" &&
        measure postgres dsse "$URL" --dev-dir "$DEV"; stop_last); then
    echo "(c) failed: vouch serve --config did not start or serve (see above)" >&2
  fi
else
  echo "(c) skipped: PostgreSQL is not reachable with \"$PG\" (set VOUCH_BENCH_PG)" >&2
fi

python3 - "$T" "$SECONDS_EACH" "$CONNS" <<'PY'
import json, os, sys
t, secs, conns = sys.argv[1], sys.argv[2], sys.argv[3]
rows = []
for name, what in (("bare", "bare axum + ECDSA P-256"),
                   ("dev", "vouch serve --dev (DSSE)"),
                   ("postgres", "vouch serve + PostgreSQL")):
    p = os.path.join(t, name + ".json")
    if os.path.exists(p):
        rows.append((name, what, json.load(open(p))))
bare = rows[0][2]["rps"]
print(f"loopback, {conns} connections, {secs} s each:")
print(f"  {'':<28} {'req/s':>9} {'p50 ms':>8} {'p99 ms':>8} {'errors':>7}  vs bare")
for name, what, r in rows:
    ratio = r["rps"] / bare if bare else 0.0
    print(f"  {what:<28} {r['rps']:>9.0f} {r['p50_ms']:>8.2f} {r['p99_ms']:>8.2f} {r['errors']:>7}  {ratio:6.1%}")
    if r.get("first_error"):
        print(f"    first error: {r['first_error'][:200]}")
for name, what, r in rows:
    if r.get("client_proof_us"):
        print(f"  ({name}: the load generator spent {r['client_proof_us']} µs per request minting its DPoP proof)")
PY
