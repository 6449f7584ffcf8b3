#!/usr/bin/env bash
# Debian packages the daemonless image build needs: umoci assembles the OCI image, containerd
# ships `ctr` (used by the tests to prove the archive imports the way a node would import it).
set -euo pipefail
need=()
command -v umoci >/dev/null || need+=(umoci)
command -v ctr >/dev/null || need+=(containerd)
command -v tar >/dev/null || need+=(tar)
[ -f /etc/ssl/certs/ca-certificates.crt ] || need+=(ca-certificates)
[ ${#need[@]} -eq 0 ] && exit 0
echo "==> installing Debian packages: ${need[*]}"
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq >/dev/null
# policy-rc.d-free containers may try to start services; containerd is only used via its binaries.
$sudo apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
