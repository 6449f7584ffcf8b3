#!/usr/bin/env bash
# Build the Kubernetes binaries for KUBE_VERSION into $STOCKIFY_CACHE/kube/<version>/bin, once.
# Sources come from the Go module proxy through infra/kube/go.mod (see gen-gomod.sh).
set -euo pipefail
. "$(dirname "$0")/../lib.sh"

KUBE_CMDS=(kube-apiserver kube-controller-manager kube-scheduler kubectl kubelet)

built() { local c; for c in "${KUBE_CMDS[@]}"; do [ -x "$KUBE_BIN/$c" ] || return 1; done; }

build() {
  built && return 0
  grep -q "^require k8s.io/kubernetes $KUBE_VERSION\$" "$INFRA_DIR/kube/go.mod" ||
    die "infra/kube/go.mod is not for $KUBE_VERSION; run infra/kube/gen-gomod.sh"
  local minor="${KUBE_VERSION#v1.}"; minor="${minor%%.*}"
  local ld="-s -w" k v
  local date; date="$(date -u +%Y-%m-%dT%H:%M:%SZ)"
  # The same variables hack/lib/version.sh sets, so `kubectl version` and /version are truthful.
  for k in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    for v in "gitVersion=$KUBE_VERSION" "gitMajor=1" "gitMinor=$minor" "gitTreeState=clean" "buildDate=$date"; do
      ld+=" -X $k.$v"
    done
  done
  local tmp="$STOCKIFY_CACHE/kube/$KUBE_VERSION/bin.tmp.$$"
  trap 'rm -rf "$tmp"' EXIT
  log "building Kubernetes $KUBE_VERSION (${KUBE_CMDS[*]}); the first build takes ~20-40 min on 2 cores"
  go_build "kube $KUBE_VERSION" "$INFRA_DIR/kube" "$tmp" "$ld" "${KUBE_CMDS[@]/#/k8s.io/kubernetes/cmd/}"
  rm -rf "$KUBE_BIN" && mv "$tmp" "$KUBE_BIN"
  trap - EXIT
}

with_lock "$STOCKIFY_CACHE/kube/.lock" build
ok "kubernetes $KUBE_VERSION binaries in $KUBE_BIN"
