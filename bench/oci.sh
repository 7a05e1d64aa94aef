#!/usr/bin/env bash
# OCI registry benchmark, in one run on a loopback docker-registry (Debian's distribution 2.8,
# installed by .ci/setup.d/50-registry.sh; started here on a free port, stopped at the end):
#   1. sign + verify of an image by reference (`vouch sign`, `vouch verify`) against the same
#      steps on the saved image (`vouch sign-blob` / `vouch verify-blob` of the layout's
#      manifest file);
#   2. SBOM of a multi-layer image of SIZE_MB pulled from the registry (`vouch sbom generate
#      IMAGE`) against the same image saved as an OCI layout (`vouch sbom generate DIR`),
#      wall time and peak RSS (/usr/bin/time -v): pulling streams layers to disk, so its peak
#      memory must not grow with layer size.
# Usage: bench/oci.sh [VOUCH_BINARY] [SIZE_MB] [RUNS]   (default: the release build, 200 MB, 5)
set -euo pipefail
cd "$(dirname "$0")/.."
VOUCH="${1:-$(bash .ci/target-dir)/release/vouch}"
SIZE_MB="${2:-200}"
RUNS="${3:-5}"
[ -x "$VOUCH" ] || { echo "error: $VOUCH not built (cargo build --release -p vouch-cli)" >&2; exit 2; }
REGISTRY=$(command -v docker-registry || echo /usr/bin/docker-registry)
[ -x "$REGISTRY" ] || { echo "error: docker-registry not installed (.ci/setup.d/50-registry.sh)" >&2; exit 2; }
T=$(mktemp -d)
PID=""
cleanup() { [ -n "$PID" ] && kill "$PID" 2>/dev/null; wait 2>/dev/null || true; rm -rf "$T"; }
trap cleanup EXIT
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
cat > "$T/registry.yml" <<YML
version: 0.1
log:
  level: error
storage:
  filesystem:
    rootdirectory: $T/data
http:
  addr: 127.0.0.1:$PORT
YML
"$REGISTRY" serve "$T/registry.yml" >/dev/null 2>&1 &
PID=$!
for _ in $(seq 1 100); do (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null && break; sleep 0.1; done

# The image: an os-release + dpkg status layer, then four layers of incompressible data
# (SIZE_MB in all), as an OCI layout built from files.
python3 - "$T/layout" "$SIZE_MB" <<'PY'
import hashlib, io, json, os, sys, tarfile
out, size_mb = sys.argv[1], int(sys.argv[2])
blobs = os.path.join(out, "blobs", "sha256"); os.makedirs(blobs)
def put(b):
    d = hashlib.sha256(b).hexdigest()
    open(os.path.join(blobs, d), "wb").write(b)
    return "sha256:" + d
def tar(files):
    bio = io.BytesIO()
    with tarfile.open(fileobj=bio, mode="w") as t:
        for name, data in files:
            ti = tarfile.TarInfo(name); ti.size = len(data); t.addfile(ti, io.BytesIO(data))
    return bio.getvalue()
status = b"".join(b"Package: pkg%d\nStatus: install ok installed\nArchitecture: amd64\nVersion: 1.%d\n\n" % (i, i) for i in range(200))
layers = [tar([("etc/os-release", b"ID=debian\nVERSION_ID=\"12\"\n"), ("var/lib/dpkg/status", status)])]
per = size_mb * 1024 * 1024 // 4
for i in range(4):
    layers.append(tar([("opt/data%d.bin" % i, os.urandom(per))]))
cfg = json.dumps({"architecture": "amd64", "os": "linux", "rootfs": {"type": "layers", "diff_ids": [put(l) for l in layers]}}).encode()
m = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
    "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": put(cfg), "size": len(cfg)},
    "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": put(l), "size": len(l)} for l in layers]}).encode()
md = put(m)
open(os.path.join(out, "manifest.json"), "wb").write(m)
open(os.path.join(out, "oci-layout"), "w").write('{"imageLayoutVersion":"1.0.0"}')
open(os.path.join(out, "index.json"), "w").write(json.dumps({"schemaVersion": 2, "manifests": [{"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": md, "size": len(m)}]}))
PY
cd "$T"
export VOUCH_PASSWORD="" DOCKER_CONFIG="$T/no-docker" SOURCE_DATE_EPOCH=1767225600
"$VOUCH" key generate --output-key-prefix k >/dev/null 2>&1
IMAGE="127.0.0.1:$PORT/bench/app:1"
"$VOUCH" push layout "$IMAGE" >/dev/null

now_ms() { date +%s%N | cut -c1-13; }
median() { sort -n | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
time_runs() { for _ in $(seq 1 "$RUNS"); do s=$(now_ms); "$@" >/dev/null 2>&1; e=$(now_ms); echo $((e - s)); done | median; }
peak_kb() { /usr/bin/time -v "$@" 2>&1 >/dev/null | awk -F: '/Maximum resident set size/ {gsub(/ /,"",$2); print $2}'; }

reg_sign=$(time_runs "$VOUCH" sign "$IMAGE" --key k.key)
reg_verify=$(time_runs "$VOUCH" verify "$IMAGE" --key k.pub)
loc_sign=$(time_runs "$VOUCH" sign-blob layout/manifest.json --key k.key --bundle m.sigstore.json)
loc_verify=$(time_runs "$VOUCH" verify-blob layout/manifest.json --bundle m.sigstore.json --key k.pub)
reg_sbom=$(time_runs "$VOUCH" sbom generate "$IMAGE")
loc_sbom=$(time_runs "$VOUCH" sbom generate layout)
reg_rss=$(peak_kb "$VOUCH" sbom generate "$IMAGE")
loc_rss=$(peak_kb "$VOUCH" sbom generate layout)
sig_count=$("$VOUCH" tree "$IMAGE" --format json | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["attachments"]))')

echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs); binary: $VOUCH"
echo "image: 5 layers, ${SIZE_MB} MB; registry: docker-registry (distribution 2.8) on loopback, tag schema"
echo "sign   (median of $RUNS): registry ${reg_sign} ms | saved manifest (sign-blob) ${loc_sign} ms"
echo "verify (median of $RUNS, up to $sig_count signatures attached): registry ${reg_verify} ms | saved manifest (verify-blob) ${loc_verify} ms"
echo "sbom   (median of $RUNS): registry pull+scan ${reg_sbom} ms | saved layout ${loc_sbom} ms"
echo "sbom peak RSS: registry ${reg_rss} KiB | saved layout ${loc_rss} KiB"
awk -v a="$reg_sbom" -v b="$loc_sbom" 'BEGIN { if (b > 0) printf "ratio registry/saved (sbom wall): %.2fx\n", a / b }'
