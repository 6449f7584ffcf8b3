#!/usr/bin/env bash
# make e2e: bring the local cluster up, run the end-to-end suite, and stop what this run started,
# whether the suite passed or failed (or was interrupted): the cluster if it was down before, and
# each of Kafka, PostgreSQL and Redis that was not already running. Exits with the suite's code.
#
# Usage: infra/cluster/e2e.sh <node> [node --test arguments...]
set -uo pipefail
. "$(dirname "$0")/../lib.sh"
[ $# -ge 1 ] || die "usage: infra/cluster/e2e.sh <node> [test files...]"
node_bin=$1
shift

started=()
for part in kafka postgres redis; do is_running "$part" || started+=("$part"); done
cluster_was_up=0
is_running kubelet && cluster_was_up=1

stop_what_we_started() {
  local rc=$?
  trap - EXIT INT TERM
  if [ "$cluster_was_up" = 0 ]; then "$INFRA_DIR/cluster/cluster.sh" down || warn "e2e: cluster down failed"; fi
  if [ ${#started[@]} -gt 0 ]; then "$INFRA_DIR/infra.sh" down "${started[@]}" || warn "e2e: infra down failed"; fi
  exit "$rc"
}
trap stop_what_we_started EXIT
trap 'exit 130' INT TERM

"$INFRA_DIR/cluster/cluster.sh" up || exit 1
(
  set -a && . "$LOCAL/infra.env" && . "$LOCAL/cluster.env" && set +a
  exec "$node_bin" --test --test-reporter=spec --test-concurrency=1 --test-force-exit --test-timeout=900000 "$@"
)
