#!/usr/bin/env bash
# Install CoreDNS COREDNS_VERSION (infra/versions.env) with `go install` from the Go module proxy
# into $STOCKIFY_CACHE/coredns/<version>/bin, once. The local cluster's DNS (infra/cluster/cluster.sh)
# runs it as a host process; the build has CoreDNS's default plugin set (kubernetes, forward, cache,
# ready, loop, reload, errors, log among them).
set -euo pipefail
. "$(dirname "$0")/../lib.sh"

build() {
  [ -x "$COREDNS_BIN/coredns" ] && return 0
  local go; go="$(find_go)"
  local tmp="$STOCKIFY_CACHE/coredns/$COREDNS_VERSION/bin.tmp.$$"
  trap 'rm -rf "$tmp"' EXIT
  mkdir -p "$tmp"
  log "coredns $COREDNS_VERSION: go install from the Go module proxy (the first run downloads and compiles ~1500 packages)"
  # `go install pkg@version` builds outside any main module, so GOFLAGS=-mod=mod must not be set.
  # GitCommit is what `coredns -version` prints after the version; a module build has no commit.
  GOFLAGS=-buildvcs=false GOBIN="$tmp" CGO_ENABLED=0 run_progress "coredns $COREDNS_VERSION: packages compiled" \
    '^[^ #]+$' "" "$STOCKIFY_CACHE/logs/build-coredns.log" \
    "$go" install -v -trimpath -ldflags "-s -w -X github.com/coredns/coredns/coremain.GitCommit=module" \
    "github.com/coredns/coredns@$COREDNS_VERSION"
  rm -rf "$COREDNS_BIN" && mv "$tmp" "$COREDNS_BIN"
  trap - EXIT
}

with_lock "$STOCKIFY_CACHE/coredns/.lock" build
ok "coredns $COREDNS_VERSION in $COREDNS_BIN"
