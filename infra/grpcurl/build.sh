#!/usr/bin/env bash
# Install grpcurl GRPCURL_VERSION with `go install` into $STOCKIFY_CACHE/tools/grpcurl/<version>/bin,
# once. The storage integration tests drive MarketData through it over server reflection, exactly
# as a platform engineer would; prints the binary's path on stdout.
set -euo pipefail
. "$(dirname "$0")/../lib.sh"

GRPCURL_BIN="$STOCKIFY_CACHE/tools/grpcurl/$GRPCURL_VERSION/bin"

build() {
  [ -x "$GRPCURL_BIN/grpcurl" ] && return 0
  local go; go="$(find_go)"
  local tmp="$GRPCURL_BIN.tmp.$$"
  trap 'rm -rf "$tmp"' EXIT
  mkdir -p "$tmp" "$STOCKIFY_CACHE/logs"
  log "grpcurl $GRPCURL_VERSION: go install from the Go module proxy"
  GOFLAGS=-buildvcs=false GOBIN="$tmp" CGO_ENABLED=0 \
    "$go" install -trimpath -ldflags "-s -w -X main.version=$GRPCURL_VERSION" \
    "github.com/fullstorydev/grpcurl/cmd/grpcurl@$GRPCURL_VERSION" >"$STOCKIFY_CACHE/logs/build-grpcurl.log" 2>&1 \
    || die "grpcurl $GRPCURL_VERSION: go install failed (see $STOCKIFY_CACHE/logs/build-grpcurl.log)"
  rm -rf "$GRPCURL_BIN" && mv "$tmp" "$GRPCURL_BIN"
  trap - EXIT
}

mkdir -p "$STOCKIFY_CACHE/tools/grpcurl"
with_lock "$STOCKIFY_CACHE/tools/grpcurl/.lock" build
echo "$GRPCURL_BIN/grpcurl"
