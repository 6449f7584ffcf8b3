#!/usr/bin/env bash
# Install kube-router KUBE_ROUTER_VERSION (infra/versions.env) with `go install` from the Go module
# proxy into $STOCKIFY_CACHE/kube-router/<version>/bin, once. The local cluster
# (infra/cluster/cluster.sh) runs it as a host process, as the network policy controller only
# (iptables + ipset), so that the feed's NetworkPolicies are enforced in `make e2e`.
set -euo pipefail
. "$(dirname "$0")/../lib.sh"

build() {
  [ -x "$KUBE_ROUTER_BIN/kube-router" ] && return 0
  local go; go="$(find_go)"
  local tmp="$STOCKIFY_CACHE/kube-router/$KUBE_ROUTER_VERSION/bin.tmp.$$"
  trap 'rm -rf "$tmp"' EXIT
  mkdir -p "$tmp"
  log "kube-router $KUBE_ROUTER_VERSION: go install from the Go module proxy (the first run downloads and compiles ~1000 packages)"
  # `go install pkg@version` builds outside any main module, so GOFLAGS=-mod=mod must not be set.
  GOFLAGS=-buildvcs=false GOBIN="$tmp" CGO_ENABLED=0 run_progress "kube-router $KUBE_ROUTER_VERSION: packages compiled" \
    '^[^ #]+$' "" "$STOCKIFY_CACHE/logs/build-kube-router.log" \
    "$go" install -v -trimpath \
    -ldflags "-s -w -X github.com/cloudnativelabs/kube-router/v2/pkg/version.Version=$KUBE_ROUTER_VERSION -X github.com/cloudnativelabs/kube-router/v2/pkg/version.BuildDate=module" \
    "github.com/cloudnativelabs/kube-router/v2/cmd/kube-router@$KUBE_ROUTER_VERSION"
  rm -rf "$KUBE_ROUTER_BIN" && mv "$tmp" "$KUBE_ROUTER_BIN"
  trap - EXIT
}

with_lock "$STOCKIFY_CACHE/kube-router/.lock" build
ok "kube-router $KUBE_ROUTER_VERSION in $KUBE_ROUTER_BIN"
