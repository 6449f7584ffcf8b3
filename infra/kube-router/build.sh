#!/usr/bin/env bash
# Install kube-router KUBE_ROUTER_VERSION (infra/versions.env) with `go install` from the Go module
# proxy into $STOCKIFY_CACHE/kube-router/<version>/bin, once. The local cluster
# (infra/cluster/cluster.sh) runs it as a host process, as the network policy controller only
# (iptables + ipset), so that the feed's NetworkPolicies are enforced in `make e2e`.
set -euo pipefail
. "$(dirname "$0")/../lib.sh"

build() {
  [ -x "$KUBE_ROUTER_BIN/kube-router" ] && return 0
  local v="github.com/cloudnativelabs/kube-router/v2/pkg/version"
  go_install kube-router "$KUBE_ROUTER_VERSION" "$KUBE_ROUTER_BIN" \
    "-s -w -X $v.Version=$KUBE_ROUTER_VERSION -X $v.BuildDate=module" \
    "github.com/cloudnativelabs/kube-router/v2/cmd/kube-router@$KUBE_ROUTER_VERSION"
}

with_lock "$STOCKIFY_CACHE/kube-router/.lock" build
ok "kube-router $KUBE_ROUTER_VERSION in $KUBE_ROUTER_BIN"
