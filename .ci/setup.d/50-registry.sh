#!/usr/bin/env bash
# Debian's docker-registry (distribution 2.8) for the OCI registry tests
# (crates/vouch-cli/tests/oci_registry.rs) and bench/oci.sh, plus apache2-utils for `htpasswd`
# (the bcrypt file of the authenticated instance). Idempotent: installs only what is missing
# (apt-get update only then). The package's system service is never started: each test starts
# its own instance on a free loopback port with a temporary configuration and storage.
set -euo pipefail
have_registry() { command -v docker-registry >/dev/null 2>&1 || [ -x /usr/bin/docker-registry ]; }
if have_registry && command -v htpasswd >/dev/null 2>&1; then
  echo "50-registry: docker-registry and htpasswd already installed"
  exit 0
fi
SUDO=""
[ "$(id -u)" = 0 ] || SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
# policy-rc.d 101: the package's postinst must not start the system service.
policy=/usr/sbin/policy-rc.d
created=""
if [ ! -e "$policy" ]; then
  printf '#!/bin/sh\nexit 101\n' | $SUDO tee "$policy" >/dev/null
  $SUDO chmod +x "$policy"
  created=1
fi
$SUDO apt-get install -y -qq --no-install-recommends docker-registry apache2-utils >/dev/null
[ -n "$created" ] && $SUDO rm -f "$policy"
have_registry || { echo "50-registry: docker-registry did not install" >&2; exit 1; }
echo "50-registry: installed docker-registry"
