#!/usr/bin/env bash
# Keyless benchmark, in one run on loopback against one `vouch serve --dev` (release build):
#  (a) certificates/s  POST /api/v2/signingCert: identity token verified (JWKS), proof of
#                      possession checked, precertificate appended to the CT log (batched,
#                      durable), SCT signed and embedded, certificate signed
#  (b) timestamps/s    POST /api/v1/timestamp: RFC 3161 query → signed TimeStampResp
#  (c) sign-blob       end-to-end `vouch sign-blob --keyless` latency (process start, ephemeral
#                      key, certificate, timestamp, Rekor v2 entry waiting for its checkpoint,
#                      bundle verified before it is written), sequential runs, p50/p99
# Load generator for (a) and (b): wrk (Debian package `wrk`) with a Lua script that replays one
# pre-generated request body (the same token, key and proof for every certificate; the same
# query for every timestamp), so the client only sends bytes. Every request still gets a
# fresh certificate (new serial, new CT entry) or a fresh timestamp.
# Anchors and goals (this machine: 2 cores): Sigstore's TSA load test ~6.5k timestamps/s on a
# laptop; goals ≥ 5k timestamps/s, ≥ 1k certificates/s, sign-blob p99 < 300 ms.
# Usage: bench/keyless.sh [SECONDS] [CONNECTIONS] [SIGN_RUNS]   (builds the release binary)
set -euo pipefail
cd "$(dirname "$0")/.."
SECONDS_EACH=${1:-5}
CONNS=${2:-16}
RUNS=${3:-50}
if [ "$SECONDS_EACH" -gt 10 ]; then
  echo "at most 10 seconds per measurement" >&2
  exit 2
fi
command -v wrk >/dev/null || { echo "needs wrk (apt-get install wrk)" >&2; exit 2; }
export CARGO_INCREMENTAL=0
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), load $(cut -d' ' -f1-3 /proc/loadavg)"

cargo build --release -q -p vouch-cli --bin vouch
V="$(bash .ci/target-dir)/release/vouch"

T=$(mktemp -d)
PID=""
cleanup() {
  if [ -n "$PID" ]; then kill "$PID" 2>/dev/null || true; wait "$PID" 2>/dev/null || true; fi
  rm -rf "$T"
}
trap cleanup EXIT

PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
"$V" serve --dev --listen "127.0.0.1:$PORT" --dir "$T/dev" >"$T/url" 2>"$T/serve.err" &
PID=$!
for _ in $(seq 300); do [ -s "$T/url" ] && break; sleep 0.1; done
[ -s "$T/url" ] || { cat "$T/serve.err" >&2; echo "vouch serve did not start" >&2; exit 1; }
URL=$(head -n1 "$T/url")

# The requests, generated once.
"$V" serve dev-token --dir "$T/dev" --audience sigstore --ttl 3600 >"$T/token"
VOUCH_PASSWORD= "$V" key generate --output-key-prefix "$T/eph" >/dev/null 2>&1
python3 - "$T" <<'PY'
import base64, json, sys
t = sys.argv[1]
token = open(f"{t}/token").read().strip()
claims = json.loads(base64.urlsafe_b64decode(token.split(".")[1] + "=="))
open(f"{t}/challenge", "w").write(claims.get("email") or claims["sub"])
# RFC 3161 TimeStampReq { version 1, messageImprint SHA-256, nonce, certReq TRUE }
def tlv(tag, body):
    n = len(body)
    ln = bytes([n]) if n < 0x80 else bytes([0x81, n])
    return bytes([tag]) + ln + body
alg = bytes.fromhex("300b0609608648016503040201")
imprint = tlv(0x30, alg + tlv(0x04, bytes(range(32))))
req = tlv(0x30, tlv(0x02, b"\x01") + imprint + tlv(0x02, b"\x12\x34\x56\x78") + tlv(0x01, b"\xff"))
open(f"{t}/tsq", "wb").write(req)
PY
VOUCH_PASSWORD= "$V" sign-blob "$T/challenge" --key "$T/eph.key" --output-signature "$T/pop" >/dev/null
python3 - "$T" <<'PY'
import json, sys
t = sys.argv[1]
body = {
    "credentials": {"oidcIdentityToken": open(f"{t}/token").read().strip()},
    "publicKeyRequest": {
        "publicKey": {"algorithm": "ECDSA", "content": open(f"{t}/eph.pub").read()},
        "proofOfPossession": open(f"{t}/pop").read().strip(),
    },
}
open(f"{t}/cert.json", "w").write(json.dumps(body))
PY
# One request of each by hand first: a benchmark of refusals measures nothing.
code=$(curl -s -o /dev/null -w '%{http_code}' -H 'content-type: application/json' --data-binary @"$T/cert.json" "$URL/api/v2/signingCert")
[ "$code" = 201 ] || { echo "signingCert answered $code" >&2; exit 1; }
code=$(curl -s -o "$T/tsr" -w '%{http_code}' -H 'content-type: application/timestamp-query' --data-binary @"$T/tsq" "$URL/api/v1/timestamp")
[ "$code" = 200 ] || { echo "timestamp answered $code" >&2; exit 1; }

cat >"$T/post.lua" <<'LUA'
local f = assert(io.open(os.getenv("BODY_FILE"), "rb"))
wrk.method = "POST"
wrk.body = f:read("*a")
f:close()
wrk.headers["Content-Type"] = os.getenv("BODY_TYPE")
done = function(summary, latency, requests)
  local bad = summary.errors.status + summary.errors.connect + summary.errors.read
    + summary.errors.write + summary.errors.timeout
  io.write(string.format("RESULT %d %.0f %.2f %.2f %d\n", summary.requests,
    summary.requests / (summary.duration / 1e6), latency:percentile(50) / 1000,
    latency:percentile(99) / 1000, bad))
end
LUA

load() { # NAME PATH BODY TYPE
  local out
  out=$(BODY_FILE="$3" BODY_TYPE="$4" wrk -t1 -c"$CONNS" -d"${SECONDS_EACH}s" --latency -s "$T/post.lua" "$URL$2" | grep '^RESULT')
  read -r _ n rate p50 p99 bad <<<"$out"
  printf '%-16s %8s req/s  p50 %7s ms  p99 %7s ms  (%s requests, %s failed)\n' "$1" "$rate" "$p50" "$p99" "$n" "$bad"
  [ "$bad" = 0 ] || { echo "failed requests: the numbers above do not count" >&2; exit 1; }
  eval "RATE_$1=$rate"
}

echo "wrk: 1 thread, $CONNS connections, ${SECONDS_EACH}s each, against $URL"
load certificates /api/v2/signingCert "$T/cert.json" application/json
load timestamps /api/v1/timestamp "$T/tsq" application/timestamp-query

# (c) sign-blob end to end, sequential.
head -c 1048576 /dev/urandom >"$T/artifact"
python3 - "$V" "$T" "$RUNS" <<'PY'
import subprocess, sys, time, os
v, t, runs = sys.argv[1], sys.argv[2], int(sys.argv[3])
env = {k: val for k, val in os.environ.items() if not k.startswith(("ACTIONS_ID_TOKEN", "SIGSTORE_"))}
times = []
for i in range(runs):
    start = time.perf_counter()
    subprocess.run([v, "sign-blob", f"{t}/artifact", "--keyless", "--identity-token", f"{t}/token",
                    "--trust-config", f"{t}/dev/trust-config.json", "--bundle", f"{t}/b{i % 2}.json"],
                   check=True, env=env, stdout=subprocess.DEVNULL)
    times.append((time.perf_counter() - start) * 1000)
times.sort()
pct = lambda p: times[min(len(times) - 1, int(round(p / 100 * len(times) + 0.5)) - 1)]
print(f"{'sign-blob':<16} {runs} runs        p50 {pct(50):7.1f} ms  p99 {pct(99):7.1f} ms  (max {times[-1]:.1f} ms)")
open(f"{t}/p99", "w").write(f"{pct(99):.1f}")
PY
P99=$(cat "$T/p99")

python3 - "$RATE_certificates" "$RATE_timestamps" "$P99" <<'PY'
import sys
certs, stamps, p99 = (float(x) for x in sys.argv[1:])
print(f"timestamps:   {stamps:.0f}/s = {stamps / 6500:.2f}x Sigstore's TSA load test (~6.5k/s, laptop); goal 5k/s: {'met' if stamps >= 5000 else 'missed'}")
print(f"certificates: {certs:.0f}/s; goal 1k/s: {'met' if certs >= 1000 else 'missed'}")
print(f"sign-blob p99: {p99:.0f} ms; goal < 300 ms: {'met' if p99 < 300 else 'missed'}")
PY
