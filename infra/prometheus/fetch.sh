#!/usr/bin/env bash
# Unpack Debian's `prometheus` package (prometheus and promtool) into
# $STOCKIFY_CACHE/tools/prometheus/<version>/, once per package version, without installing it
# system-wide (no service, no user): `apt-get download` + `dpkg-deb -x`. The observability
# integration test runs this Prometheus against `stockify up`; prints the directory of the binaries.
set -euo pipefail
. "$(dirname "$0")/../lib.sh"

command -v apt-get >/dev/null 2>&1 || die "prometheus: needs a Debian-based system (apt-get download)"
version="$(apt-cache policy prometheus 2>/dev/null | awk '/Candidate:/ {print $2}')"
if [ -z "$version" ] || [ "$version" = "(none)" ]; then
  # Package lists not fetched yet on this machine.
  if [ "$(id -u)" -eq 0 ]; then apt-get update -qq >/dev/null 2>&1 || true; else sudo -n apt-get update -qq >/dev/null 2>&1 || true; fi
  version="$(apt-cache policy prometheus 2>/dev/null | awk '/Candidate:/ {print $2}')"
fi
[ -n "$version" ] && [ "$version" != "(none)" ] || die "prometheus: no Debian package candidate (apt-get update?)"

ROOT_DIR="$STOCKIFY_CACHE/tools/prometheus/${version//[:+~]/_}"
BIN="$ROOT_DIR/usr/bin"

fetch() {
  [ -x "$BIN/prometheus" ] && [ -x "$BIN/promtool" ] && return 0
  local tmp="$ROOT_DIR.tmp.$$"
  trap 'rm -rf "$tmp"' EXIT
  mkdir -p "$tmp/deb" "$STOCKIFY_CACHE/logs"
  log "prometheus $version: apt-get download + dpkg-deb -x into the cache"
  (cd "$tmp/deb" && apt-get download "prometheus=$version") >"$STOCKIFY_CACHE/logs/fetch-prometheus.log" 2>&1 \
    || die "prometheus $version: apt-get download failed (see $STOCKIFY_CACHE/logs/fetch-prometheus.log)"
  dpkg-deb -x "$tmp"/deb/prometheus_*.deb "$tmp/root"
  [ -x "$tmp/root/usr/bin/prometheus" ] || die "prometheus $version: the package holds no usr/bin/prometheus"
  rm -rf "$ROOT_DIR" && mv "$tmp/root" "$ROOT_DIR"
  rm -rf "$tmp"
  trap - EXIT
}

mkdir -p "$STOCKIFY_CACHE/tools/prometheus"
with_lock "$STOCKIFY_CACHE/tools/prometheus/.lock" fetch
echo "$BIN"
