# Part "redis": a private redis-server (Debian package) on 127.0.0.1:$REDIS_PORT, state in
# .local/redis. Sourced by infra/infra.sh.

REDIS_STATE="$LOCAL/redis"

redis_env() { echo "export REDIS_URL=redis://127.0.0.1:$REDIS_PORT"; }

redis_healthy() { [ "$(redis-cli -h 127.0.0.1 -p "$REDIS_PORT" ping 2>/dev/null)" = PONG ]; }

redis_status() {
  if is_running redis && redis_healthy; then
    echo "redis     running  127.0.0.1:$REDIS_PORT (pid $(pid_of redis), $(redis-server --version | awk '{print $3}'))"
  elif is_running redis; then
    echo "redis     starting/unhealthy (pid $(pid_of redis)); see .local/logs/redis.log"
  else
    echo "redis     stopped"
  fi
}

redis_up() {
  command -v dpkg-query >/dev/null 2>&1 || die "redis: needs a Debian-based system (apt) for redis-server"
  apt_install redis-server redis-tools
  if ! is_running redis; then
    port_in_use "$REDIS_PORT" && die "redis: port $REDIS_PORT is in use by another process (set REDIS_PORT)"
    mkdir -p "$REDIS_STATE"
    log "redis: starting redis-server on 127.0.0.1:$REDIS_PORT"
    # A cache and pub/sub bus for development: no snapshots, no AOF.
    start_bg redis redis-server --bind 127.0.0.1 --port "$REDIS_PORT" --dir "$REDIS_STATE" \
      --daemonize no --save '' --appendonly no --protected-mode yes --loglevel notice
    STARTED_PARTS+=(redis)
  fi
  wait_until 30 redis redis_healthy
  ok "redis: ready on 127.0.0.1:$REDIS_PORT"
}

redis_down() {
  if is_running redis; then
    log "redis: stopping"
    stop_pid redis 20
  fi
  rm -f "$RUN_DIR/redis.pid"
}
