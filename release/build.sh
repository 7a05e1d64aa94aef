#!/usr/bin/env bash
# release/build.sh — builds vouch's release binary reproducibly and packages it as a signed,
# logged, verifiable release, with the vouch it has just built. The release workflow
# (.github/workflows/release.yml) runs exactly this script; a developer runs it locally with a
# file key standing in for the keyless signature.
#
#   release/build.sh --key release.key --tlog .vouch/log --out dist/release   # local
#   release/build.sh --keyless --identity-token env://TOKEN --out dist/release   # GitHub Actions
#   release/build.sh --build-only --out dist/bin                              # binary only
#   release/build.sh --binary dist/bin/vouch-0.1.0-x86_64-unknown-linux-gnu --keyless --identity-token env://TOKEN --out dist/release
#                    # package a binary an earlier --build-only made (the workflow builds in a job
#                    # without the OIDC permission and signs in another)
#
# What it must never do: print or keep a secret (the identity token comes from the caller, the
# per-release key's password lives in this process's environment only, the per-release private
# key is deleted as soon as it has signed), publish anything it has not verified, or leave a half-written output directory.
#
# Reproducibility (docs/security/verify-releases.md): the same commit and toolchain give the same
# binary bytes in any directory. The inputs that would otherwise leak into the binary are pinned:
#   SOURCE_DATE_EPOCH   the commit's time (`git log -1 --format=%ct`) unless set; every dated field
#                       vouch writes (SBOMs, provenance) comes from it
#   --remap-path-prefix the checkout, the target directory, CARGO_HOME and RUSTUP_HOME become
#                       /vouch, /target, /cargo and /rustup in panic locations and symbols
#   -ffile-prefix-map   the same for the C code built by -sys crates (aws-lc, SQLite)
#   --locked            Cargo.lock as committed, nothing resolved anew
#   strip = symbols, debug = 0, incremental off, TZ=UTC, LC_ALL=C
# The toolchain is whatever `rustc` resolves to; the workflow pins it with RUSTUP_TOOLCHAIN.
#
# Output (a new directory; written to a temporary one and renamed into place):
#   vouch-<version>-<host>               the binary
#   <binary>.sigstore.json               its signature (the per-release key)
#   provenance.json, provenance.sigstore.json   SLSA v1 provenance and its DSSE attestation
#   sbom.cdx.json, sbom.sigstore.json    CycloneDX SBOM of Cargo.lock and its attestation
#   sbom.spdx.json, sbom.spdx.sigstore.json     SPDX 2.3 SBOM and its attestation
#   checksums.txt(.sigstore.json), release.json  written by `vouch release`
#   release.pub                          the per-release key's public key
#   SHA256SUMS, SHA256SUMS.sigstore.json every file above, signed by the release identity:
#                                        --key (with its log entry from --tlog) or keyless
# The per-release key signs the artifact and the attestations; SHA256SUMS binds that key and every
# file to the release identity, so one identity check authenticates the whole release.
set -euo pipefail

usage() {
  cat >&2 <<'EOF'
usage: release/build.sh --out DIR [--binary FILE] (--key KEYREF [--tlog DIR] | --keyless --identity-token FILE|env://VAR [--trust-config FILE])
       release/build.sh --out DIR --build-only
EOF
  exit 2
}

out="" key="" tlog="" keyless=0 build_only=0 identity_token="" trust_config="" binary=""
while [ $# -gt 0 ]; do
  case "$1" in
    --out) out=${2:?}; shift 2 ;;
    --key) key=${2:?}; shift 2 ;;
    --tlog) tlog=${2:?}; shift 2 ;;
    --keyless) keyless=1; shift ;;
    --identity-token) identity_token=${2:?}; shift 2 ;;
    --trust-config) trust_config=${2:?}; shift 2 ;;
    --build-only) build_only=1; shift ;;
    --binary) binary=${2:?}; shift 2 ;;
    -h|--help) usage ;;
    *) echo "error: unknown argument: $1" >&2; usage ;;
  esac
done
[ -n "$out" ] || { echo "error: --out DIR is required" >&2; usage; }
modes=$(( (${#key} > 0) + keyless + build_only ))
[ "$modes" = 1 ] || { echo "error: give exactly one of --key, --keyless, --build-only" >&2; usage; }
if [ "$build_only" = 1 ] && [ -n "$binary" ]; then
  echo "error: --binary packages a built binary; --build-only builds one" >&2
  exit 2
fi
if [ -n "$binary" ] && [ ! -f "$binary" ]; then
  echo "error: --binary $binary: no such file" >&2
  exit 2
fi
if [ "$keyless" = 1 ] && [ -z "$identity_token" ]; then
  echo "error: --keyless needs --identity-token (in GitHub Actions, the job's OIDC token for audience sigstore)" >&2
  exit 2
fi
if [ "$keyless" = 0 ] && { [ -n "$identity_token" ] || [ -n "$trust_config" ]; }; then
  echo "error: --identity-token and --trust-config go with --keyless" >&2
  exit 2
fi
if [ "$keyless" = 1 ] && [ -n "$tlog" ]; then
  echo "error: --tlog is for --key; a keyless signature is logged by the trust config's log" >&2
  exit 2
fi
if [ -e "$out" ] && [ -n "$(ls -A "$out" 2>/dev/null)" ]; then
  echo "error: $out exists and is not empty (a release is never written over another)" >&2
  exit 2
fi
# Paths given relative to the caller stay valid after the cd below.
abs() { case "$1" in /*|env://*|pkcs11:*) printf '%s' "$1" ;; *) printf '%s/%s' "$PWD" "$1" ;; esac; }
out=$(abs "$out")
out_parent=$(dirname "$out")
mkdir -p "$out_parent"
[ -z "$key" ] || key=$(abs "$key")
[ -z "$binary" ] || binary=$(abs "$binary")
[ -z "$tlog" ] || tlog=$(abs "$tlog")
[ -z "$identity_token" ] || identity_token=$(abs "$identity_token")
[ -z "$trust_config" ] || trust_config=$(abs "$trust_config")

cd "$(dirname "$0")/.."
src=$(pwd -P)

# ---- pinned build environment -------------------------------------------------------------
export TZ=UTC LC_ALL=C CARGO_INCREMENTAL=0 CARGO_TERM_COLOR=never
umask 022
SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-$(git log -1 --format=%ct)}
export SOURCE_DATE_EPOCH
if [ -n "${RUSTUP_TOOLCHAIN:-}" ] && command -v rustup >/dev/null 2>&1; then
  rustup toolchain install "$RUSTUP_TOOLCHAIN" --profile minimal >&2
fi
target_dir=$(bash .ci/target-dir)
mkdir -p "$target_dir"
target_dir=$(cd "$target_dir" && pwd -P)
cargo_home=${CARGO_HOME:-$HOME/.cargo}
rustup_home=${RUSTUP_HOME:-$HOME/.rustup}
host=$(rustc -vV | sed -n 's/^host: //p')
# rustc applies the last matching prefix, so the most specific (the target directory, which may
# sit inside the checkout) comes last.
remap="--remap-path-prefix=$cargo_home=/cargo --remap-path-prefix=$rustup_home=/rustup"
remap="$remap --remap-path-prefix=$src=/vouch --remap-path-prefix=$target_dir=/target"
export RUSTFLAGS="$remap"
cmap="-ffile-prefix-map=$cargo_home=/cargo -ffile-prefix-map=$src=/vouch -ffile-prefix-map=$target_dir=/target"
export CFLAGS="${CFLAGS:+$CFLAGS }$cmap" CXXFLAGS="${CXXFLAGS:+$CXXFLAGS }$cmap"
export CARGO_PROFILE_RELEASE_STRIP=symbols CARGO_PROFILE_RELEASE_DEBUG=0

if [ -n "$binary" ]; then
  built=$binary
else
  echo "== build: $(rustc -V) on $host, SOURCE_DATE_EPOCH=$SOURCE_DATE_EPOCH, commit $(git rev-parse HEAD)" >&2
  cargo build --release --locked -p vouch-cli --bin vouch >&2
  built="$target_dir/release/vouch"
fi
version=$("$built" --version | awk '{print $2}')
[ -n "$version" ] || { echo "error: $built --version printed no version" >&2; exit 2; }
name="vouch-$version-$host"

stage=$(mktemp -d "$out_parent/.release.XXXXXX")
cleanup() { rm -rf "$stage"; }
trap cleanup EXIT
mkdir "$stage/out"
cp "$built" "$stage/out/$name"

if [ "$build_only" = 1 ]; then
  mv "$stage/out" "$out"
  (cd "$out" && sha256sum "$name")
  exit 0
fi

# ---- package and sign, with the vouch just built ------------------------------------------
vouch="$stage/out/$name"
mkdir -m 700 "$stage/keys" "$stage/sbom-source" "$stage/dist"
cp "$built" "$stage/dist/$name"
# The SBOM describes what the binary was built from: the workspace's Cargo.lock, not the test
# fixtures' and fuzzing workspace's lockfiles elsewhere in the tree.
cp Cargo.lock "$stage/sbom-source/Cargo.lock"

# A per-release key, encrypted at rest with a password that lives only in this process.
VOUCH_PASSWORD=$(head -c 32 /dev/urandom | base64)
export VOUCH_PASSWORD
"$vouch" -q key generate --algorithm ecdsa-p256 --output-key-prefix "$stage/keys/release" >&2

tlog_args=()
[ -z "$tlog" ] || tlog_args=(--tlog "$tlog")
builder_args=()
if [ "${GITHUB_ACTIONS:-}" != true ]; then
  # Outside CI nothing in the environment names the source: say it.
  repo_url=$(sed -n 's/^repository = "\(.*\)"/\1/p' Cargo.toml | head -n 1)
  builder_args=(--source-uri "git+$repo_url" --source-commit "$(git rev-parse HEAD)")
fi
echo "== release: $name" >&2
"$vouch" -q release "$stage/dist/$name" --key "$stage/keys/release.key" "${tlog_args[@]}" \
  --out-dir "$stage/release" --sbom-source "$stage/sbom-source" "${builder_args[@]}" >&2
"$vouch" -q sbom generate "$stage/sbom-source" --strict --format spdx-json \
  -o "$stage/release/sbom.spdx.json"
"$vouch" -q attest "$stage/dist/$name" --predicate "$stage/release/sbom.spdx.json" --type spdxjson \
  --key "$stage/keys/release.key" "${tlog_args[@]}" --bundle "$stage/release/sbom.spdx.sigstore.json" >&2
cp "$stage/keys/release.pub" "$stage/release/release.pub"
rm -f "$stage/keys/release.key"
unset VOUCH_PASSWORD
cp "$stage/release/"* "$stage/out/"
# "$vouch" lives in $stage/out, already there.

# Published files are world-readable (vouch writes its outputs owner-only by default).
chmod 644 "$stage/out/"*
chmod 755 "$stage/out/$name"
# SHA256SUMS: every file of the release, in sha256sum's format, sorted by name.
(cd "$stage/out" && find . -maxdepth 1 -type f -printf '%f\n' | sort | xargs -d '\n' sha256sum -- > "$stage/SHA256SUMS")
mv "$stage/SHA256SUMS" "$stage/out/SHA256SUMS"
chmod 644 "$stage/out/SHA256SUMS"

echo "== sign SHA256SUMS" >&2
if [ -n "$key" ]; then
  "$vouch" -q sign-blob "$stage/out/SHA256SUMS" --key "$key" "${tlog_args[@]}" \
    --bundle "$stage/out/SHA256SUMS.sigstore.json" >&2
else
  if [ -z "$trust_config" ]; then
    # Sigstore's public-good instance: its trusted root and signing config through TUF, every
    # TUF check passed before anything is used.
    "$vouch" -q trust update --store "$stage/trust" >&2
    jq -n --slurpfile root "$stage/trust/trusted_root.json" \
      --slurpfile signing "$stage/trust/signing_config.json" \
      '{mediaType: "application/vnd.dev.sigstore.clienttrustconfig.v0.1+json",
        trustedRoot: $root[0], signingConfig: $signing[0]}' > "$stage/trust-config.json"
    trust_config="$stage/trust-config.json"
  fi
  "$vouch" -q sign-blob "$stage/out/SHA256SUMS" --keyless --identity-token "$identity_token" \
    --trust-config "$trust_config" --bundle "$stage/out/SHA256SUMS.sigstore.json" >&2
fi

# ---- verify before publishing -------------------------------------------------------------
echo "== verify" >&2
(cd "$stage/out" && sha256sum --quiet --strict -c SHA256SUMS >&2)
root_args=()
if [ -n "$tlog" ]; then
  "$vouch" -q log trusted-root --dir "$tlog" > "$stage/log-root.json"
  root_args=(--trusted-root "$stage/log-root.json" --require-tlog)
fi
if [ -n "$key" ]; then
  "$vouch" -q key public-key --key "$key" > "$stage/identity.pub"
  "$vouch" -q verify-blob "$stage/out/SHA256SUMS" --bundle "$stage/out/SHA256SUMS.sigstore.json" \
    --key "$stage/identity.pub" "${root_args[@]}" >&2
fi
# (A keyless bundle was verified against the trust config's root by sign-blob before it was
# written; the identity check is the user's, with the workflow's identity.)
rel="$stage/out"
"$vouch" -q verify-blob "$rel/$name" --bundle "$rel/$name.sigstore.json" --key "$rel/release.pub" "${root_args[@]}" >&2
"$vouch" -q verify-blob "$rel/checksums.txt" --bundle "$rel/checksums.txt.sigstore.json" --key "$rel/release.pub" "${root_args[@]}" >&2
for att in provenance.sigstore.json:slsaprovenance sbom.sigstore.json:cyclonedx sbom.spdx.sigstore.json:spdxjson; do
  "$vouch" -q verify-attestation "$rel/$name" --bundle "$rel/${att%%:*}" --type "${att##*:}" \
    --key "$rel/release.pub" "${root_args[@]}" >&2
done

chmod 644 "$stage/out/SHA256SUMS.sigstore.json"
mv "$stage/out" "$out"
echo "== released $name into $out" >&2
(cd "$out" && sha256sum "$name")
