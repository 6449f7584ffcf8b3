#!/usr/bin/env bash
# Run a command with the local infrastructure available, e.g. `infra/with-infra.sh npm test`.
#
# For each part (INFRA_PARTS, default all): if its variable already points at a live service
# (KAFKA_BROKERS, DATABASE_URL, REDIS_URL, KUBECONFIG) that service is used as is; otherwise the
# local part is used, started with infra/infra.sh up if it is not running. The command runs with
# the variables exported; afterwards the parts started here are stopped again (also on failure or
# Ctrl-C) unless another with-infra run still uses them. Exits with the command's exit code.
set -uo pipefail
. "$(dirname "$0")/lib.sh"
for part in $ALL_PARTS; do . "$INFRA_DIR/$part/part.sh"; done

if [ $# -eq 0 ] || [ "$1" = -h ] || [ "$1" = --help ]; then
  sed -n '2,9s/^# \{0,1\}//p' "$0" >&2
  exit 2
fi

# tcp_reachable host:port
tcp_reachable() { local hp="${1##*/}"; (exec 3<>"/dev/tcp/${hp%:*}/${hp##*:}") 2>/dev/null; }

external_ok() {
  case "$1" in
    kafka) [ -n "${KAFKA_BROKERS:-}" ] && tcp_reachable "${KAFKA_BROKERS%%,*}" ;;
    postgres)
      [ -n "${DATABASE_URL:-}" ] || return 1
      if [ -x "$PG_BIN/pg_isready" ]; then "$PG_BIN/pg_isready" -q -t 3 -d "$DATABASE_URL"
      else local hp="${DATABASE_URL#*@}"; tcp_reachable "${hp%%/*}"; fi ;;
    redis)
      [ -n "${REDIS_URL:-}" ] || return 1
      if command -v redis-cli >/dev/null 2>&1; then [ "$(redis-cli -u "$REDIS_URL" ping 2>/dev/null)" = PONG ]
      else local hp="${REDIS_URL#redis://}"; tcp_reachable "${hp%%/*}"; fi ;;
    kube)
      [ -n "${KUBECONFIG:-}" ] && [ -f "${KUBECONFIG%%:*}" ] || return 1
      local kubectl; kubectl="$(command -v kubectl || echo "$KUBE_BIN/kubectl")"
      [ -x "$kubectl" ] && timeout 10 "$kubectl" get --raw /readyz >/dev/null 2>&1 ;;
  esac
}

var_of() { case "$1" in kafka) echo KAFKA_BROKERS ;; postgres) echo DATABASE_URL ;; redis) echo REDIS_URL ;; kube) echo KUBECONFIG ;; esac; }

read -r -a parts <<<"${INFRA_PARTS:-$ALL_PARTS}"
need=()
for part in "${parts[@]}"; do
  v="$(var_of "$part")"
  [ -n "$v" ] || die "unknown part '$part' (known: $ALL_PARTS)"
  if external_ok "$part"; then
    log "$part: using $v=$(printf '%s' "${!v}" | sed -E 's#//[^@/]*@#//***@#') (already running)"
  else
    [ -n "${!v:-}" ] && warn "$part: $v does not answer; using the local $part instead"
    need+=("$part")
  fi
done

# Leases: .local/run/leases/<pid> lists the local parts this run uses. An ephemeral part (started
# by some with-infra run) is stopped by the last run that still holds a lease on it.
LEASES="$RUN_DIR/leases"
lease="$LEASES/$$"

release() {
  local rc=$?
  trap - EXIT INT TERM
  if [ -f "$lease" ]; then
    state_lock
    rm -f "$lease"
    local stop=() part f pid
    for part in "${need[@]}"; do
      [ -f "$RUN_DIR/$part.ephemeral" ] || continue
      local used=
      for f in "$LEASES"/*; do
        [ -f "$f" ] || continue
        pid="${f##*/}"
        if kill -0 "$pid" 2>/dev/null; then grep -qx "$part" "$f" && used=1
        else rm -f "$f"; fi   # a run that died without cleaning up
      done
      if [ -n "$used" ]; then log "$part: still used by another with-infra run; leaving it up"
      else stop+=("$part"); fi
    done
    if [ ${#stop[@]} -gt 0 ]; then "$INFRA_DIR/infra.sh" down "${stop[@]}" || rc=1; fi
    state_unlock
  fi
  exit "${cmd_rc:-$rc}"
}
trap release EXIT
trap 'cmd_rc=130; exit 130' INT
trap 'cmd_rc=143; exit 143' TERM

if [ ${#need[@]} -gt 0 ]; then
  state_lock
  mkdir -p "$LEASES"
  printf '%s\n' "${need[@]}" >"$lease"
  INFRA_EPHEMERAL=1 "$INFRA_DIR/infra.sh" up "${need[@]}" || { cmd_rc=1; exit 1; }
  state_unlock
  for part in "${need[@]}"; do eval "$("${part}_env")"; done
fi
# kubectl and helm of the local build on PATH whenever they exist (the tests call helm).
for d in "$KUBE_BIN" "$HELM_BIN"; do [ -d "$d" ] && PATH="$d:$PATH"; done
export PATH STOCKIFY_BIN="$KUBE_BIN:$HELM_BIN"

"$@"
cmd_rc=$?
exit "$cmd_rc"
