#!/usr/bin/env bash
# Debian's chromium for the web console's browser tests and its README screenshot, driven by
# puppeteer-core (which never downloads a browser). Installed with apt-get when missing (as root,
# or with sudo; output in $STOCKIFY_CACHE/logs/apt.log); prints the executable's path on stdout.
# CHROMIUM_PATH names another executable and skips the install.
set -euo pipefail
. "$(dirname "$0")/../lib.sh"

if [ -n "${CHROMIUM_PATH:-}" ]; then
  [ -x "$CHROMIUM_PATH" ] || die "CHROMIUM_PATH=$CHROMIUM_PATH is not an executable"
  echo "$CHROMIUM_PATH"
  exit 0
fi

command -v dpkg-query >/dev/null 2>&1 || die "chromium: needs a Debian-based system (apt) or CHROMIUM_PATH"
mkdir -p "$STOCKIFY_CACHE/logs"
# fonts-liberation: a metric-compatible sans font, so that the page (and the screenshot) renders text.
with_lock "$STOCKIFY_CACHE/logs/.chromium.lock" apt_install chromium fonts-liberation
bin="$(command -v chromium || true)"
[ -n "$bin" ] || die "chromium: installed, but no 'chromium' on PATH"
log "chromium: $("$bin" --version 2>/dev/null || echo "version unknown") at $bin"
echo "$bin"
