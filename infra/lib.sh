# Shared helpers for the infra scripts. Sourced, not executed.
# Layout: binaries/jars in $STOCKIFY_CACHE/<part>/<version>/, runtime state in $ROOT/.local/.

INFRA_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="${STOCKIFY_ROOT:-$(cd "$INFRA_DIR/.." && pwd)}"
# shellcheck source=versions.env
. "$INFRA_DIR/versions.env"

STOCKIFY_CACHE="${STOCKIFY_CACHE:-$HOME/.cache/stockify}"
LOCAL="$ROOT/.local"
LOG_DIR="$LOCAL/logs"
RUN_DIR="$LOCAL/run"

KAFKA_PORT="${KAFKA_PORT:-9092}"
KAFKA_CONTROLLER_PORT="${KAFKA_CONTROLLER_PORT:-9093}"
PG_PORT="${PG_PORT:-5432}"
REDIS_PORT="${REDIS_PORT:-6379}"
KUBE_APISERVER_PORT="${KUBE_APISERVER_PORT:-6443}"
ETCD_CLIENT_PORT="${ETCD_CLIENT_PORT:-2379}"
ETCD_PEER_PORT="${ETCD_PEER_PORT:-2380}"

KAFKA_HOME="$STOCKIFY_CACHE/kafka/$KAFKA_VERSION"
KUBE_BIN="$STOCKIFY_CACHE/kube/$KUBE_VERSION/bin"
ETCD_BIN="$STOCKIFY_CACHE/etcd/$ETCD_VERSION/bin"
HELM_BIN="$STOCKIFY_CACHE/helm/$HELM_VERSION/bin"
COREDNS_BIN="$STOCKIFY_CACHE/coredns/$COREDNS_VERSION/bin"
KUBE_ROUTER_BIN="$STOCKIFY_CACHE/kube-router/$KUBE_ROUTER_VERSION/bin"
PG_BIN="/usr/lib/postgresql/$PG_MAJOR/bin"

ALL_PARTS="kafka postgres redis kube"

if [ -t 2 ]; then _B=$'\e[1m' _R=$'\e[31m' _G=$'\e[32m' _Y=$'\e[33m' _N=$'\e[0m'; else _B= _R= _G= _Y= _N=; fi
log()  { printf '%s[infra]%s %s\n' "$_B" "$_N" "$*" >&2; }
ok()   { printf '%s[infra]%s %s%s%s\n' "$_B" "$_N" "$_G" "$*" "$_N" >&2; }
warn() { printf '%s[infra]%s %s%s%s\n' "$_B" "$_N" "$_Y" "$*" "$_N" >&2; }
die()  { printf '%s[infra]%s %serror:%s %s\n' "$_B" "$_N" "$_R" "$_N" "$*" >&2; exit 1; }

# Elapsed-time stamp for slow steps.
now_s() { date +%s; }

ensure_dirs() { mkdir -p "$LOG_DIR" "$RUN_DIR"; }

# need_cmd <command> <what provides it>: fail with the exact missing prerequisite.
need_cmd() {
  command -v "$1" >/dev/null 2>&1 || die "missing prerequisite: '$1' not found on PATH ($2)"
}

# need_pkg_cmd <command> <debian package>: install the package with apt-get when the command is
# missing on a Debian system; elsewhere name what is missing.
need_pkg_cmd() {
  command -v "$1" >/dev/null 2>&1 && return 0
  command -v dpkg-query >/dev/null 2>&1 || die "missing prerequisite: '$1' not found on PATH (Debian package $2)"
  apt_install "$2"
  command -v "$1" >/dev/null 2>&1 || die "missing prerequisite: '$1' still not on PATH after installing $2"
}

# Go is looked up on PATH, then in the standard install location.
find_go() {
  if command -v go >/dev/null 2>&1; then command -v go; return; fi
  [ -x /usr/local/go/bin/go ] && { echo /usr/local/go/bin/go; return; }
  die "missing prerequisite: a Go toolchain (1.21 or newer; it fetches the 1.26 toolchain the go.mod files ask for) on PATH or in /usr/local/go/bin"
}

# apt_install <package...>: install Debian packages that are missing (as root), once per run.
APT_UPDATED=
apt_install() {
  local missing=() p
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null 2>&1 || die "missing Debian packages: ${missing[*]} (run: apt-get install ${missing[*]} as root)"
    SUDO=sudo
  else
    SUDO=
  fi
  local aptlog="$STOCKIFY_CACHE/logs/apt.log"
  mkdir -p "$(dirname "$aptlog")"
  log "installing Debian packages: ${missing[*]} (apt-get output in $aptlog)"
  if [ -z "$APT_UPDATED" ]; then
    $SUDO apt-get update -qq >>"$aptlog" 2>&1 || { tail -n 20 "$aptlog" >&2; die "apt-get update failed"; }
    APT_UPDATED=1
  fi
  # Do not let package postinst scripts start the system-wide services we replace with our own.
  local policy=/usr/sbin/policy-rc.d created_policy=
  if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\nexit 101\n' | $SUDO tee "$policy" >/dev/null && $SUDO chmod +x "$policy" && created_policy=1
  fi
  local rc=0
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}" \
    >>"$aptlog" 2>&1 || rc=$?
  [ -n "$created_policy" ] && $SUDO rm -f "$policy"
  [ $rc -eq 0 ] || { tail -n 20 "$aptlog" >&2; die "apt-get install ${missing[*]} failed"; }
  ok "installed ${missing[*]}"
}

# pid helpers: a part's process id lives in $RUN_DIR/<name>.pid.
pid_of() { local f="$RUN_DIR/$1.pid"; [ -s "$f" ] && cat "$f"; }
is_running() {
  local pid; pid="$(pid_of "$1")" || return 1
  [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null
}

# start_bg <name> <command...>: detach a process (own session, so a Ctrl-C in the terminal does
# not reach it) with its log in $LOG_DIR/<name>.log. fd 9 (the state lock) is not inherited.
start_bg() {
  local name="$1"; shift
  ensure_dirs
  printf '\n===== %s start %s =====\n' "$name" "$(date -u +%FT%TZ)" >>"$LOG_DIR/$name.log"
  setsid "$@" >>"$LOG_DIR/$name.log" 2>&1 </dev/null 9>&- &
  echo $! >"$RUN_DIR/$name.pid"
}

# state_lock: serialise the runs that start or stop parts of one .local (infra.sh up/down,
# with-infra.sh), so that two test runs do not both start Kafka, or stop it under each other.
# Held on fd 9 until state_unlock or exit; nested calls (INFRA_LOCK_HELD=1) do nothing.
state_lock() {
  [ -n "${INFRA_LOCK_HELD:-}" ] && return 0
  ensure_dirs
  exec 9>"$RUN_DIR/.lock"
  if ! flock -n 9; then
    log "waiting for another infra run in ${LOCAL} to finish"
    flock 9
  fi
  export INFRA_LOCK_HELD=1
}
state_unlock() {
  [ "${INFRA_LOCK_HELD:-}" = 1 ] || return 0
  exec 9>&-
  unset INFRA_LOCK_HELD
}

# stop_pid <name> [timeout_s]: TERM, wait, then KILL the recorded process group.
stop_pid() {
  local name="$1" t="${2:-30}" pid i
  pid="$(pid_of "$name")" || { rm -f "$RUN_DIR/$name.pid"; return 0; }
  if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
    kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null
    for ((i = 0; i < t * 5; i++)); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
    if kill -0 "$pid" 2>/dev/null; then
      warn "$name (pid $pid) did not stop in ${t}s; killing"
      kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null
    fi
  fi
  rm -f "$RUN_DIR/$name.pid"
}

# fail_part <name> <reason>: print the reason and the last log lines, then exit.
fail_part() {
  local name="$1"; shift
  printf '%s[infra]%s %s%s failed:%s %s\n' "$_B" "$_N" "$_R" "$name" "$_N" "$*" >&2
  if [ -s "$LOG_DIR/$name.log" ]; then
    printf -- '----- last lines of %s -----\n' "${LOG_DIR#"$ROOT"/}/$name.log" >&2
    # Only this start's lines (start_bg writes a marker), at most 25.
    awk '/^===== .* start [0-9TZ:-]+ =====$/ { n = 0; next } { line[n++ % 25] = $0 }
         END { for (i = (n > 25 ? n - 25 : 0); i < n; i++) print line[i % 25] }' "$LOG_DIR/$name.log" >&2
    printf -- '-----\n' >&2
  fi
  # Leave nothing half-started behind.
  if is_running "$name"; then stop_pid "$name" 15; fi
  exit 1
}

# wait_until <timeout_s> <name> <command...>: poll until the command succeeds; the process in
# $RUN_DIR/<name>.pid dying early is reported at once.
wait_until() {
  local t="$1" name="$2"; shift 2
  local deadline=$(( $(now_s) + t ))
  while ! "$@" >/dev/null 2>&1; do
    if [ -f "$RUN_DIR/$name.pid" ] && ! is_running "$name"; then
      fail_part "$name" "process exited during startup"
    fi
    [ "$(now_s)" -ge "$deadline" ] && fail_part "$name" "not healthy after ${t}s (check: $*)"
    sleep 0.5
  done
}

# port_free <port>: nothing listens on 127.0.0.1:<port>.
port_in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# A per-directory lock so that concurrent infra-up/build runs do not race.
with_lock() {
  local lock="$1"; shift
  mkdir -p "$(dirname "$lock")"
  exec {_lockfd}>"$lock"
  flock "$_lockfd"
  "$@"
  local rc=$?
  exec {_lockfd}>&-
  return $rc
}

# run_progress <label> <pattern> <total|-> <log file> <command...>
# Runs a slow command with its full output in <log file>, printing "<label>: N[/total] ..." every
# ~10s, where N counts output lines matching the extended regex <pattern>. Lines that look like
# errors are shown at once. Fails with the tail of the log when the command fails.
run_progress() {
  local label="$1" pattern="$2" total="$3" logf="$4"; shift 4
  local t0 last n=0 line rcfile; t0="$(now_s)"; last="$t0"; rcfile="$(mktemp)"
  mkdir -p "$(dirname "$logf")"; : >"$logf"
  { "$@"; echo $? >"$rcfile"; } 2>&1 | tee -a "$logf" |
    while IFS= read -r line; do
      if [[ "$line" =~ $pattern ]]; then n=$((n + 1)); fi
      case "$line" in *ERROR*|*error:*|*"cannot find"*|*"not available"*) printf '  %s\n' "$line" >&2 ;; esac
      if [ $(( $(now_s) - last )) -ge 10 ]; then
        last="$(now_s)"
        log "$label: $n${total:+/$total} done, $(( last - t0 ))s elapsed"
      fi
    done
  local rc; rc="$(cat "$rcfile")"; rm -f "$rcfile"
  if [ "$rc" != 0 ]; then
    tail -n 30 "$logf" >&2
    die "$label failed (exit $rc); full output in $logf"
  fi
  ok "$label: finished in $(( $(now_s) - t0 ))s"
}

# go_build <label> <module dir> <out dir> <ldflags> <package...>
# Compiles main packages with -trimpath into <out dir>, with progress (the cold Kubernetes build
# takes tens of minutes on two cores). GOMODCACHE/GOCACHE are Go's defaults.
go_build() {
  local label="$1" dir="$2" out="$3" ldflags="$4"; shift 4
  local go; go="$(find_go)"
  export GOFLAGS="-mod=mod -buildvcs=false" CGO_ENABLED="${CGO_ENABLED:-0}"
  log "$label: resolving Go modules (the first run downloads them from the Go module proxy)"
  local total
  total="$(cd "$dir" && "$go" list -deps -f '{{.ImportPath}}' "$@" | wc -l)" \
    || die "$label: 'go list' failed in $dir (see above)"
  log "$label: compiling $total packages (incl. std; cached ones are skipped) for: ${*##*/}"
  mkdir -p "$out"
  # `go build -v` prints one package path per line as it compiles it.
  run_progress "$label: packages compiled" '^[^ #]+$' "$total" "$STOCKIFY_CACHE/logs/build-${label%% *}.log" \
    bash -c 'cd "$1" && shift && exec "$@"' _ "$dir" "$go" build -v -trimpath -ldflags "$ldflags" -o "$out/" "$@"
}

# go_install <name> <version> <bin dir> <ldflags> <package@version>
# Installs a Go command with `go install` from the Go module proxy into <bin dir>, with progress,
# through a temporary directory beside it (an interrupted build leaves no half-written <bin dir>).
go_install() {
  local name="$1" version="$2" bin="$3" ldflags="$4" pkg="$5"
  local go; go="$(find_go)"
  local tmp="$bin.tmp.$$"
  trap 'rm -rf "$tmp"' EXIT
  mkdir -p "$tmp"
  log "$name $version: go install from the Go module proxy (the first run downloads and compiles its packages: up to ~1500)"
  # `go install pkg@version` builds outside any main module, so GOFLAGS=-mod=mod must not be set.
  GOFLAGS=-buildvcs=false GOBIN="$tmp" CGO_ENABLED=0 run_progress "$name $version: packages compiled" \
    '^[^ #]+$' "" "$STOCKIFY_CACHE/logs/build-$name.log" \
    "$go" install -v -trimpath -ldflags "$ldflags" "$pkg"
  rm -rf "$bin" && mv "$tmp" "$bin"
  trap - EXIT
}
