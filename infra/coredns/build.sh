#!/usr/bin/env bash
# Install CoreDNS COREDNS_VERSION (infra/versions.env) with `go install` from the Go module proxy
# into $STOCKIFY_CACHE/coredns/<version>/bin, once. The local cluster's DNS (infra/cluster/cluster.sh)
# runs it as a host process; the build has CoreDNS's default plugin set (kubernetes, forward, cache,
# ready, loop, reload, errors, log among them).
set -euo pipefail
. "$(dirname "$0")/../lib.sh"

build() {
  [ -x "$COREDNS_BIN/coredns" ] && return 0
  # GitCommit is what `coredns -version` prints after the version; a module build has no commit.
  go_install coredns "$COREDNS_VERSION" "$COREDNS_BIN" "-s -w -X github.com/coredns/coredns/coremain.GitCommit=module" \
    "github.com/coredns/coredns@$COREDNS_VERSION"
}

with_lock "$STOCKIFY_CACHE/coredns/.lock" build
ok "coredns $COREDNS_VERSION in $COREDNS_BIN"
