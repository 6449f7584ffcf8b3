#!/usr/bin/env bash
# Build the implied-vol reference binary of the processor bench (tests/bench/processor/) with
# cargo into $STOCKIFY_CACHE/tools/implied-vol/<source hash>/bin, once per source: the crate is
# pinned (=2.1.0, Cargo.lock), so a cached build needs no network, and a changed source gets its
# own directory. Build log in $STOCKIFY_CACHE/logs/build-implied-vol.log; prints the binary's path.
set -euo pipefail
. "$(dirname "$0")/../lib.sh"

SRC="$INFRA_DIR/implied-vol"
need_cmd cargo "Rust's cargo, from rustup or Debian's cargo package"
HASH="$(cat "$SRC/Cargo.toml" "$SRC/Cargo.lock" "$SRC/src/main.rs" | sha256sum | cut -c1-12)"
DIR="$STOCKIFY_CACHE/tools/implied-vol/$HASH"
BIN="$DIR/bin/stockify-implied-vol-reference"
LOGFILE="$STOCKIFY_CACHE/logs/build-implied-vol.log"

build() {
  [ -x "$BIN" ] && return 0
  mkdir -p "$STOCKIFY_CACHE/logs" "$DIR"
  local target="$STOCKIFY_CACHE/tools/implied-vol/target" started; started="$(now_s)"
  log "implied-vol reference: cargo build --release (crate implied-vol =2.1.0 from crates.io)"
  # Offline first: once the crate is in cargo's cache a rebuild needs no network.
  { cargo build --release --locked --offline --manifest-path "$SRC/Cargo.toml" --target-dir "$target" \
      || cargo build --release --locked --manifest-path "$SRC/Cargo.toml" --target-dir "$target"; } >"$LOGFILE" 2>&1 \
    || die "implied-vol reference: cargo build failed (see $LOGFILE)"
  mkdir -p "$DIR/bin.tmp.$$"
  cp "$target/release/stockify-implied-vol-reference" "$DIR/bin.tmp.$$/"
  rm -rf "$DIR/bin" && mv "$DIR/bin.tmp.$$" "$DIR/bin"
  echo "built in $(($(now_s) - started)) s" >>"$LOGFILE"
  log "implied-vol reference built in $(($(now_s) - started)) s"
}

mkdir -p "$STOCKIFY_CACHE/tools/implied-vol"
with_lock "$STOCKIFY_CACHE/tools/implied-vol/.lock" build
echo "$BIN"
