#!/usr/bin/env bash
# Build TimescaleDB TIMESCALEDB_VERSION for PostgreSQL PG_MAJOR once, into
# $STOCKIFY_CACHE/timescaledb/<version>-pg<major> (a DESTDIR tree), and install it into the Debian
# PostgreSQL tree from there (a copy: PostgreSQL 15 loads extensions from its own directories only).
#
# The source release comes from TIMESCALEDB_SOURCE (a .tar.gz of the release, top folder
# timescaledb-<version>/) when set, otherwise it is fetched from the project's release page where
# the network allows. Debian ships no TimescaleDB; the build needs cmake and postgresql-server-dev.
#
# Usage: infra/postgres/timescaledb.sh install     build if needed, then install (idempotent)
#        infra/postgres/timescaledb.sh installed   exit 0 when the extension is installed
set -euo pipefail
. "$(dirname "$0")/../lib.sh"

TSDB_CACHE="$STOCKIFY_CACHE/timescaledb/$TIMESCALEDB_VERSION-pg$PG_MAJOR"
TSDB_RELEASE_URL="https://github.com/timescale/timescaledb/archive/refs/tags/$TIMESCALEDB_VERSION.tar.gz"
PG_CONFIG="/usr/lib/postgresql/$PG_MAJOR/bin/pg_config"

TSDB_DONE="$TSDB_CACHE.complete"
built() { [ -d "$TSDB_CACHE" ] && [ -f "$TSDB_DONE" ]; }
installed() {
  [ -x "$PG_CONFIG" ] || return 1
  [ -f "$("$PG_CONFIG" --pkglibdir)/timescaledb-$TIMESCALEDB_VERSION.so" ] &&
    [ -f "$("$PG_CONFIG" --sharedir)/extension/timescaledb.control" ]
}

source_tarball() { # prints the path of the release tarball
  if [ -n "${TIMESCALEDB_SOURCE:-}" ]; then
    [ -s "$TIMESCALEDB_SOURCE" ] || die "timescaledb: TIMESCALEDB_SOURCE=$TIMESCALEDB_SOURCE is not a readable file"
    echo "$TIMESCALEDB_SOURCE"
    return
  fi
  local dl="$STOCKIFY_CACHE/timescaledb/timescaledb-$TIMESCALEDB_VERSION.tar.gz"
  if [ ! -s "$dl" ]; then
    log "timescaledb: TIMESCALEDB_SOURCE is not set; fetching the $TIMESCALEDB_VERSION release"
    curl -fsSL -m 300 -o "$dl.tmp" "$TSDB_RELEASE_URL" ||
      die "timescaledb: cannot fetch $TSDB_RELEASE_URL; set TIMESCALEDB_SOURCE to the release tarball (or STOCKIFY_TIMESCALEDB=0 for pg_partman)"
    mv "$dl.tmp" "$dl"
  fi
  echo "$dl"
}

build() {
  built && return 0
  apt_install cmake gcc make "postgresql-server-dev-$PG_MAJOR" libssl-dev libkrb5-dev
  local tarball; tarball="$(source_tarball)"
  local work="$STOCKIFY_CACHE/timescaledb/src.$$"
  trap 'rm -rf "$work"' EXIT
  mkdir -p "$work" && tar xzf "$tarball" -C "$work"
  local src; src="$(find "$work" -mindepth 1 -maxdepth 1 -type d | head -1)"
  [ -f "$src/bootstrap" ] || die "timescaledb: $tarball does not look like a TimescaleDB source release (no bootstrap)"
  local t0; t0="$(now_s)"
  log "timescaledb $TIMESCALEDB_VERSION: building for PostgreSQL $PG_MAJOR (about 3 min on 2 cores; log in $STOCKIFY_CACHE/logs/build-timescaledb.log)"
  (
    cd "$src"
    ./bootstrap -DPG_CONFIG="$PG_CONFIG" -DREGRESS_CHECKS=OFF -DTAP_CHECKS=OFF -DWARNINGS_AS_ERRORS=OFF \
      -DCMAKE_BUILD_TYPE=Release -DAPACHE_ONLY=OFF -DSEND_TELEMETRY_DEFAULT=NO
    make -C build -j"$(nproc)"
    rm -rf "$TSDB_CACHE" "$TSDB_DONE" && make -C build install DESTDIR="$TSDB_CACHE"
  ) >"$STOCKIFY_CACHE/logs/build-timescaledb.log" 2>&1 || die "timescaledb: build failed; see $STOCKIFY_CACHE/logs/build-timescaledb.log"
  touch "$TSDB_DONE"
  rm -rf "$work"
  trap - EXIT
  ok "timescaledb $TIMESCALEDB_VERSION: built in $(( $(now_s) - t0 ))s"
}

install() {
  installed && return 0
  with_lock "$STOCKIFY_CACHE/timescaledb/.lock" build
  apt_install "postgresql-$PG_MAJOR"
  # The DESTDIR tree mirrors the absolute install paths (…/lib/postgresql/15/lib, …/share/…).
  cp -a "$TSDB_CACHE/." / || die "timescaledb: cannot copy the build into the PostgreSQL tree (needs root)"
  installed || die "timescaledb: installed files not found in $("$PG_CONFIG" --pkglibdir)"
  ok "timescaledb $TIMESCALEDB_VERSION installed into PostgreSQL $PG_MAJOR"
}

mkdir -p "$STOCKIFY_CACHE/logs" "$STOCKIFY_CACHE/timescaledb"
case "${1:-}" in
  install) install ;;
  installed) installed ;;
  *) sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//p}' "$0" >&2; exit 2 ;;
esac
