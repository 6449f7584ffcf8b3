#!/usr/bin/env bash
# Build the Kubernetes binaries for KUBE_VERSION into $STOCKIFY_CACHE/kube/<version>/bin, once.
# Sources come from the Go module proxy through infra/kube/go.mod (see gen-gomod.sh).
set -euo pipefail
. "$(dirname "$0")/../lib.sh"

# kube-proxy serves the local cluster's Services (infra/cluster/cluster.sh), in iptables mode.
KUBE_CMDS=(kube-apiserver kube-controller-manager kube-scheduler kubectl kubelet kube-proxy)

# The commands not in the cache yet: a command added to KUBE_CMDS is built alone, the others stay.
missing_cmds() { local c; for c in "${KUBE_CMDS[@]}"; do [ -x "$KUBE_BIN/$c" ] || echo "$c"; done; }

build() {
  local todo
  mapfile -t todo < <(missing_cmds)
  [ ${#todo[@]} -eq 0 ] && return 0
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
  log "building Kubernetes $KUBE_VERSION (${todo[*]}); the first build of all of them takes ~20-40 min on 2 cores"
  go_build "kube $KUBE_VERSION" "$INFRA_DIR/kube" "$tmp" "$ld" "${todo[@]/#/k8s.io/kubernetes/cmd/}"
  # Into the cache one file at a time (rename): a running binary of the same cache is never touched.
  mkdir -p "$KUBE_BIN"
  local c
  for c in "${todo[@]}"; do mv -f "$tmp/$c" "$KUBE_BIN/$c"; done
  rm -rf "$tmp"
  trap - EXIT
}

with_lock "$STOCKIFY_CACHE/kube/.lock" build
ok "kubernetes $KUBE_VERSION binaries in $KUBE_BIN"
