#!/usr/bin/env bash
# Builds fuzz/corpus/<target>/ from the repository's test fixtures and ../shared/vectors
# (beside the repository, when present). Idempotent: files are named by content hash, so a
# second run adds nothing. The corpus is not committed (it grows while fuzzing).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(dirname "$here")"
shared="$(dirname "$repo")/shared"
corpus="$here/corpus"

# add TARGET FILE... : copies each file into the target's corpus.
add() {
    local t="$1"; shift
    mkdir -p "$corpus/$t"
    local f
    for f in "$@"; do
        [ -f "$f" ] || continue
        [ "$(stat -c %s "$f")" -le 1048576 ] || continue
        cp "$f" "$corpus/$t/$(sha1sum "$f" | cut -c1-16)"
    done
}
# files DIR GLOB... : regular files under DIR (if it exists) whose name matches a glob.
files() {
    local dir="$1"; shift
    [ -d "$dir" ] || return 0
    local args=() g
    for g in "$@"; do args+=(-o -name "$g"); done
    find "$dir" -type f \( -false "${args[@]}" \) -not -path '*/target/*' -not -path '*/fuzz/*' | sort
}
mapfile -t json < <(files "$repo/crates" '*.json'; files "$shared/vectors" '*.json')
mapfile -t yaml < <(files "$repo" '*.yaml' '*.yml')
mapfile -t pem < <(files "$repo/crates" '*.pem' '*.pub' '*.key' '*.crt'; files "$shared/vectors" '*.pem' '*.pub')

add sigstore_bundle $(files "$shared/vectors/sigstore-bundles" '*.json' '*.sigstore')
add dsse_envelope $(files "$shared/vectors/dsse" '*.json') $(files "$shared/vectors/attestations" '*.json')
add intoto_statement $(files "$shared/vectors/attestations" '*.json' '*.jsonl')
add trusted_root $(files "$shared/vectors/sigstore-bundles" 'trusted_root*.json' '*root*.json')
add keys_pem_der "${pem[@]}"
add x509_cert "${pem[@]}" $(files "$shared/vectors" '*.der' '*.crt')
add signed_note $(files "$shared/vectors/notes" '*') $(files "$repo/crates/vouch-tlog" '*.note' 'checkpoint*')
add checkpoint $(files "$shared/vectors/notes" '*') $(files "$repo/crates/vouch-tlog" 'checkpoint*')
add tiles $(files "$shared/vectors/merkle" '*.json')
add sbom_read $(files "$repo/crates" '*.cdx.json' '*.spdx.json' 'bom*.json' 'sbom*.json')
add osv_record $(files "$repo/crates/vouch-cli/tests/fixtures/vuln/osv" '*.json')
add vex $(files "$repo/crates" '*vex*.json')
add workflow_yaml $(files "$repo/crates/vouch-workflow/tests/corpus" '*.yml' '*.yaml')
add iam_doc $(files "$repo/crates/vouch-policy/tests/fixtures/iam" '*')
add iam_doc $(files "$repo/crates/vouch-policy/tests/fixtures/rego/inputs" '*')
add secrets_scan $(files "$repo/crates/vouch-secrets/tests/fixtures" '*')
add registers $(files "$repo" '*.csv') $(files "$repo/crates/vouch-registers" '*.yaml')
add exceptions $(files "$repo" 'exceptions*.yaml')
add vouch_toml $(files "$repo" 'vouch*.toml') "$repo/Cargo.toml"
add gate_policy $(files "$repo" 'gate*.yaml' '*policy*.yaml') "$repo/docs/deploy-gate.md"
add yaml_gate "${yaml[@]}"
add seal_envelope $(files "$repo/crates/vouch-crypto" '*.bin' '*.sealed')

# Hand-written seeds for formats without fixtures (committed under fuzz/seeds/<target>/).
for d in "$here"/seeds/*/; do
    add "$(basename "$d")" "$d"*
done

# Lockfiles: the first byte picks the reader (see fuzz_targets/lockfiles.rs).
names=(Cargo.lock package-lock.json yarn.lock pnpm-lock.yaml poetry.lock Pipfile.lock go.mod
       Gemfile.lock composer.lock gradle.lockfile pom.xml packages.lock.json pubspec.lock
       Package.resolved mix.lock status installed requirements.txt uv.lock)
mkdir -p "$corpus/lockfiles"
for i in "${!names[@]}"; do
    while IFS= read -r f; do
        [ "$(stat -c %s "$f")" -le 1048576 ] || continue
        out="$corpus/lockfiles/$(sha1sum "$f" | cut -c1-16)"
        { printf "\\x$(printf %02x "$i")"; cat "$f"; } > "$out"
    done < <(files "$repo/crates/vouch-sbom/tests/fixtures" "${names[$i]}"; \
             files "$shared/corpora/lockfiles" "${names[$i]}" | head -n 20)
done
for d in "$corpus"/*/; do printf '%-18s %s\n' "$(basename "$d")" "$(ls "$d" | wc -l)"; done
