#!/usr/bin/env bash
# Install ghz GHZ_VERSION with `go install` into $STOCKIFY_CACHE/tools/ghz/<version>/bin,
# once: the gRPC load generator of `make bench` (tests/bench/storage/api.bench.ts); prints the
# binary's path on stdout.
set -euo pipefail
. "$(dirname "$0")/../lib.sh"

GHZ_BIN="$STOCKIFY_CACHE/tools/ghz/$GHZ_VERSION/bin"

build() {
  [ -x "$GHZ_BIN/ghz" ] && return 0
  local go; go="$(find_go)"
  local tmp="$GHZ_BIN.tmp.$$"
  trap 'rm -rf "$tmp"' EXIT
  mkdir -p "$tmp" "$STOCKIFY_CACHE/logs"
  log "ghz $GHZ_VERSION: go install from the Go module proxy"
  GOFLAGS=-buildvcs=false GOBIN="$tmp" CGO_ENABLED=0 \
    "$go" install -trimpath -ldflags "-s -w -X main.version=$GHZ_VERSION" \
    "github.com/bojand/ghz/cmd/ghz@$GHZ_VERSION" >"$STOCKIFY_CACHE/logs/build-ghz.log" 2>&1 \
    || die "ghz $GHZ_VERSION: go install failed (see $STOCKIFY_CACHE/logs/build-ghz.log)"
  rm -rf "$GHZ_BIN" && mv "$tmp" "$GHZ_BIN"
  trap - EXIT
}

mkdir -p "$STOCKIFY_CACHE/tools/ghz"
with_lock "$STOCKIFY_CACHE/tools/ghz/.lock" build
echo "$GHZ_BIN/ghz"
