#!/usr/bin/env bash
# Install grpcurl GRPCURL_VERSION with `go install` into $STOCKIFY_CACHE/tools/grpcurl/<version>/bin,
# once. The storage integration tests drive MarketData through it over server reflection, exactly
# as a platform engineer would; prints the binary's path on stdout.
set -euo pipefail
. "$(dirname "$0")/../lib.sh"

GRPCURL_BIN="$STOCKIFY_CACHE/tools/grpcurl/$GRPCURL_VERSION/bin"

build() {
  [ -x "$GRPCURL_BIN/grpcurl" ] && return 0
  go_install grpcurl "$GRPCURL_VERSION" "$GRPCURL_BIN" "-s -w -X main.version=$GRPCURL_VERSION" \
    "github.com/fullstorydev/grpcurl/cmd/grpcurl@$GRPCURL_VERSION"
}

mkdir -p "$STOCKIFY_CACHE/tools/grpcurl"
with_lock "$STOCKIFY_CACHE/tools/grpcurl/.lock" build
echo "$GRPCURL_BIN/grpcurl"
