#!/usr/bin/env bash
# bench/secrets.sh — vouch's secret scanner against its peers, in one run.
#
# 1. Quality: two labelled corpora scanned by vouch, detect-secrets and kingfisher-bin (both from
#    PyPI); recall and precision by location (a finding on a labelled line is a hit; anywhere
#    else, a false positive):
#    - synthetic: crates/vouch-secrets/tests/fixtures/secrets, materialised by its test;
#    - real-world: crates/vouch-secrets/tests/fixtures/corpus (files from public repositories,
#      some with planted synthetic secrets; labels.tsv).
# 2. Speed: a >= 300 MB tree of real source — the unpacked crates of the cargo registry cache
#    (filled by `cargo fetch`), topped up with PyPI sdists if it is smaller — scanned by vouch
#    and by kingfisher with the same number of threads; MB/s for each and the ratio.
#
# Peers and the tree live in a cache outside the repository: ${VOUCH_BENCH_CACHE:-~/.cache/vouch-bench}.
# The machine is shared and noisy; run it twice and keep the better number of each tool.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
CACHE=${VOUCH_BENCH_CACHE:-$HOME/.cache/vouch-bench}
JOBS=${JOBS:-$(nproc)}
MIN_MB=${MIN_MB:-300}
mkdir -p "$CACHE"

echo "== machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"

# --- tools -----------------------------------------------------------------------------------
VOUCH_BENCH_CACHE="$CACHE" bash bench/secrets-peers.sh
KF="$CACHE/venv/bin/kingfisher"
DS="$CACHE/venv/bin/detect-secrets"
cargo build --release -q -p vouch-cli
# A private copy: a shared CARGO_TARGET_DIR may be rebuilt from another checkout meanwhile.
cp "$(bash .ci/target-dir)/release/vouch" "$CACHE/vouch"
VOUCH="$CACHE/vouch"
echo "== versions: $($VOUCH --version) | $($KF --version 2>/dev/null | head -1) | detect-secrets $($DS --version)"

# --- quality on the labelled corpora ---------------------------------------------------------
OUT="$CACHE/out"
rm -rf "$OUT" && mkdir -p "$OUT"
SYN="$CACHE/corpus"
rm -rf "$SYN"
VOUCH_SECRETS_CORPUS_OUT="$SYN" cargo test -q -p vouch-secrets --test corpus -- --ignored >/dev/null
mv "$SYN/labels.tsv" "$OUT/labels-synthetic.tsv"
REAL="$CACHE/real-corpus"
rm -rf "$REAL" && mkdir -p "$REAL"
cp -a crates/vouch-secrets/tests/fixtures/corpus/. "$REAL/"
rm -f "$REAL/.vouchignore" "$REAL/SOURCES.tsv" "$REAL/README.md"
mv "$REAL/labels.tsv" "$OUT/labels-real.tsv"

score() { # name corpus-dir labels
  local name=$1 dir=$2 labels=$3
  ( cd "$dir" && "$VOUCH" secrets scan . --format json -o "$OUT/$name-vouch.json" -q ) || [ $? -eq 1 ]
  ( cd "$dir" && "$DS" scan --all-files . > "$OUT/$name-detect-secrets.json" )
  ( cd "$(dirname "$dir")" && "$KF" scan "$(basename "$dir")" --no-validate --no-dedup --git-history none -f json -o "$OUT/$name-kingfisher.json" -j "$JOBS" >/dev/null 2>&1 ) || true
  python3 - "$OUT" "$dir" "$labels" "$name" "$(basename "$dir")" <<'PY'
import json, sys, os
out, corpus, labels_file, name, base = sys.argv[1:6]
# Lines allowed inline (`vouch:allow`) are vouch-specific suppressions: scored for nobody.
ignored = set()
for dirpath, _, names in os.walk(corpus):
    for n in names:
        full = os.path.join(dirpath, n)
        rel = os.path.relpath(full, corpus).replace(os.sep, "/")
        try:
            lines = open(full, encoding="utf-8").read().split("\n")
        except (UnicodeDecodeError, OSError):
            continue
        for i, l in enumerate(lines, 1):
            if ("vouch:allow" in l and "allow-next-line" not in l) or (i > 1 and "vouch:allow-next-line" in lines[i - 2]):
                ignored.add((rel, i))
labels = set()
for line in open(labels_file):
    if line.startswith("#") or not line.strip():
        continue
    p, l, _ = line.rstrip("\n").split("\t")
    labels.add((p, int(l)))
def norm(p):
    p = p.replace("\\", "/")
    for pre in ("./", base + "/"):
        if p.startswith(pre):
            p = p[len(pre):]
    return p
def vouch():
    r = json.load(open(os.path.join(out, name + "-vouch.json")))
    return {(norm(f["location"]["path"]), f["location"].get("line", 0)) for f in r["findings"] if not f.get("suppressed_by")}
def detect_secrets():
    r = json.load(open(os.path.join(out, name + "-detect-secrets.json")))
    return {(norm(p), f["line_number"]) for p, fs in r["results"].items() for f in fs}
def kingfisher():
    try:
        r = json.load(open(os.path.join(out, name + "-kingfisher.json")))
    except Exception:
        return set()
    return {(norm(f["finding"]["path"]), int(f["finding"]["line"])) for f in r["findings"]}
print(f"== quality on the {name} corpus ({len(labels)} labelled secret locations)")
print(f"{'tool':<16}{'found':>7}{'TP':>6}{'FP':>6}{'FN':>6}{'recall':>9}{'precision':>11}")
for tool, fn in (("vouch", vouch), ("kingfisher-bin", kingfisher), ("detect-secrets", detect_secrets)):
    found = fn() - ignored
    tp = len(found & labels)
    fp = sorted(found - labels)
    fn_ = sorted(labels - found)
    rec = tp / len(labels)
    prec = tp / len(found) if found else 0.0
    print(f"{tool:<16}{len(found):>7}{tp:>6}{len(fp):>6}{len(fn_):>6}{rec:>9.3f}{prec:>11.3f}")
    if name == "real-world":
        for p, l in fp:
            print(f"    {tool} false positive: {p}:{l}")
        for p, l in fn_:
            print(f"    {tool} missed: {p}:{l}")
PY
}
score synthetic "$SYN" "$OUT/labels-synthetic.tsv"
score real-world "$REAL" "$OUT/labels-real.tsv"

# --- throughput on a real source tree --------------------------------------------------------
TREE="$CACHE/tree"
if [ ! -f "$TREE/.complete" ]; then
  rm -rf "$TREE" && mkdir -p "$TREE/crates"
  cargo fetch -q
  REG="${CARGO_HOME:-$HOME/.cargo}/registry/src"
  for idx in "$REG"/*/; do cp -a "$idx"/. "$TREE/crates/"; done
  mb=$(( $(du -sb "$TREE" | cut -f1) / 1000000 ))
  if [ "$mb" -lt "$MIN_MB" ]; then
    mkdir -p "$TREE/pypi" "$CACHE/sdists"
    for pkg in django sqlalchemy sympy numpy pandas scipy matplotlib botocore; do
      "$CACHE/venv/bin/pip" download -q --no-deps --no-binary :all: "$pkg" -d "$CACHE/sdists" || true
      mb=$(( $(du -sb "$TREE" | cut -f1) / 1000000 ))
      [ "$mb" -ge "$MIN_MB" ] && break
      for f in "$CACHE"/sdists/*.tar.gz; do tar -xzf "$f" -C "$TREE/pypi"; done
    done
  fi
  touch "$TREE/.complete"
fi
BYTES=$(du -sb "$TREE" | cut -f1)
FILES=$(find "$TREE" -type f | wc -l)
MB=$(python3 -c "print(f'{$BYTES/1e6:.1f}')")
echo "== throughput: $MB MB in $FILES files ($TREE), $JOBS threads each"
# Warm the page cache so both tools read from memory.
cat $(find "$TREE" -type f | head -200000) >/dev/null 2>&1 || true

# /usr/bin/time gives wall and CPU seconds; on a shared machine the CPU figure is the stable one.
t() { /usr/bin/time -f "%e %U %S" -o "$OUT/time" "$@" >/dev/null 2>&1 || true; tail -1 "$OUT/time"; }
TV=$(t env RAYON_NUM_THREADS="$JOBS" "$VOUCH" secrets scan "$TREE" --format json -o "$OUT/tree-vouch.json" -q)
TK=$(t "$KF" scan "$TREE" --no-validate --git-history none -f json -o "$OUT/tree-kingfisher.json" -j "$JOBS")
python3 - "$BYTES" "$JOBS" "$OUT" "$TV" "$TK" <<'PY'
import sys, json, os
b, jobs, out = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
def parse(s):
    w, u, k = (float(x) for x in s.split())
    return w, u + k
def count(name):
    try:
        r = json.load(open(os.path.join(out, name)))
        return len(r["findings"]) if isinstance(r["findings"], list) else r["findings"]
    except Exception:
        return "?"
mb = b / 1e6
rows = []
for name, t, f in (("vouch", sys.argv[4], "tree-vouch.json"), ("kingfisher-bin", sys.argv[5], "tree-kingfisher.json")):
    wall, cpu = parse(t)
    rows.append((name, wall, cpu, mb / wall, mb / cpu))
    print(f"{name:<15} wall {wall:>7.2f} s = {mb/wall:>6.1f} MB/s | CPU {cpu:>7.2f} s = {mb/cpu:>6.1f} MB/s per core | findings: {count(f)}")
print(f"ratio (wall): vouch is {rows[0][3]/rows[1][3]:.2f}x kingfisher-bin; ratio (CPU): {rows[0][4]/rows[1][4]:.2f}x")
PY
