#!/usr/bin/env bash
# Build etcd ETCD_VERSION (infra/etcd/go.mod pins go.etcd.io/etcd/server/v3) into
# $STOCKIFY_CACHE/etcd/<version>/bin/etcd, once.
set -euo pipefail
. "$(dirname "$0")/../lib.sh"

build() {
  [ -x "$ETCD_BIN/etcd" ] && return 0
  grep -q "go.etcd.io/etcd/server/v3 $ETCD_VERSION\$" "$INFRA_DIR/etcd/go.mod" ||
    die "infra/etcd/go.mod does not require go.etcd.io/etcd/server/v3 $ETCD_VERSION; update it (go get go.etcd.io/etcd/server/v3@$ETCD_VERSION)"
  local tmp="$STOCKIFY_CACHE/etcd/$ETCD_VERSION/bin.tmp.$$"
  trap 'rm -rf "$tmp"' EXIT
  go_build "etcd $ETCD_VERSION" "$INFRA_DIR/etcd" "$tmp" "-s -w" .
  # `go build -o dir/ .` names the binary after the module path's last element: etcd.
  [ -x "$tmp/etcd" ] || die "etcd build produced no $tmp/etcd"
  rm -rf "$ETCD_BIN" && mv "$tmp" "$ETCD_BIN"
  trap - EXIT
}

with_lock "$STOCKIFY_CACHE/etcd/.lock" build
ok "etcd $ETCD_VERSION in $ETCD_BIN"
