#!/usr/bin/env bash
# Install ghz GHZ_VERSION with `go install` into $STOCKIFY_CACHE/tools/ghz/<version>/bin,
# once: the gRPC load generator of `make bench` (tests/bench/storage/api.bench.ts); prints the
# binary's path on stdout.
set -euo pipefail
. "$(dirname "$0")/../lib.sh"

GHZ_BIN="$STOCKIFY_CACHE/tools/ghz/$GHZ_VERSION/bin"

build() {
  [ -x "$GHZ_BIN/ghz" ] && return 0
  go_install ghz "$GHZ_VERSION" "$GHZ_BIN" "-s -w -X main.version=$GHZ_VERSION" "github.com/bojand/ghz/cmd/ghz@$GHZ_VERSION"
}

mkdir -p "$STOCKIFY_CACHE/tools/ghz"
with_lock "$STOCKIFY_CACHE/tools/ghz/.lock" build
echo "$GHZ_BIN/ghz"
