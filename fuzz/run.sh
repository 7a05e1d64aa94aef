#!/usr/bin/env bash
# Fuzzes each target for SECONDS (default 60) on its corpus and prints one line per target:
#   target  seconds  executions  exec/s  coverage(cov)  features(ft)  corpus  crashes
# Usage: fuzz/run.sh [SECONDS] [TARGET...]     (all targets when none is named; only the
#        named ones are built)
# Environment: CARGO_TARGET_DIR (where cargo-fuzz builds), FUZZ_RSS_MB (default 2048).
# Crashes are written to fuzz/artifacts/<target>/ and make the script exit 1.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
cd "$here"
secs="${1:-60}"; shift || true
bash "$here/install.sh"
[ -d "$here/corpus" ] || bash "$here/seed.sh" >/dev/null
# Nightly is not installed: RUSTC_BOOTSTRAP lets the stable compiler take cargo-fuzz's -Z flags.
# It is set for this workspace only. No sanitizer: the targets are safe Rust (the C in
# aws-lc is reached only through key parsing), and ASan would cost half the throughput.
# Debug assertions are on, so integer overflow panics like it does in tests.
export RUSTC_BOOTSTRAP=1
flags=(-s none -a --codegen-units 16)
target_dir="${CARGO_TARGET_DIR:-$here/target}/fuzz"
bin="$target_dir/$(rustc -vV | sed -n 's/^host: //p')/release"
targets=("$@")
if [ ${#targets[@]} -gt 0 ]; then
    # Named targets: build only those (and only the crates they need).
    for t in "${targets[@]}"; do
        cargo fuzz build "${flags[@]}" --target-dir "$target_dir" "$t" >&2
    done
else
    cargo fuzz build "${flags[@]}" --target-dir "$target_dir" >&2
    mapfile -t targets < <(cargo fuzz list)
fi
status=0
printf 'target\tseconds\texecutions\texec/s\tcov\tft\tcorpus\tcrashes\n'
for t in "${targets[@]}"; do
    mkdir -p "corpus/$t" "artifacts/$t"
    log="$(mktemp)"
    "$bin/$t" "corpus/$t" -max_total_time="$secs" -rss_limit_mb="${FUZZ_RSS_MB:-2048}" \
        -timeout=20 -max_len=65536 -artifact_prefix="artifacts/$t/" -print_final_stats=1 \
        >"$log" 2>&1 || true
    execs="$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)"
    speed="$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)"
    cov="$(grep -o 'cov: [0-9]*' "$log" | tail -1 | cut -d' ' -f2)"
    ft="$(grep -o 'ft: [0-9]*' "$log" | tail -1 | cut -d' ' -f2)"
    crashes="$(find "artifacts/$t" -type f \( -name 'crash-*' -o -name 'oom-*' -o -name 'timeout-*' \) | wc -l)"
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$t" "$secs" "${execs:-0}" "${speed:-0}" \
        "${cov:-?}" "${ft:-?}" "$(ls "corpus/$t" | wc -l)" "$crashes"
    if [ "$crashes" -gt 0 ]; then
        status=1
        grep -m3 -E 'panicked|ERROR: libFuzzer' "$log" >&2 || true
    fi
    rm -f "$log"
done
exit $status
