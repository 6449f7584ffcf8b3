#!/usr/bin/env bash
# Resolve the Kafka KAFKA_VERSION runtime classpath with Maven into
# $STOCKIFY_CACHE/kafka/<version>/libs, once (Maven keeps its own copy in ~/.m2).
set -euo pipefail
. "$(dirname "$0")/../lib.sh"

fetch() {
  [ -f "$KAFKA_HOME/libs/.complete" ] && return 0
  need_pkg_cmd java openjdk-17-jre-headless
  need_pkg_cmd mvn maven
  local tmp="$KAFKA_HOME/libs.tmp.$$"
  trap 'rm -rf "$tmp"' EXIT
  log "kafka $KAFKA_VERSION: resolving the broker and tools jars with Maven"
  run_progress "kafka $KAFKA_VERSION: artifacts downloaded" 'Downloaded from' "" "$STOCKIFY_CACHE/logs/fetch-kafka.log" \
    mvn -B -f "$INFRA_DIR/kafka/pom.xml" \
      -Dkafka.version="$KAFKA_VERSION" -Dscala.binary.version="$KAFKA_SCALA_VERSION" \
      dependency:copy-dependencies -DincludeScope=runtime -DoutputDirectory="$tmp"
  ls "$tmp"/kafka_"$KAFKA_SCALA_VERSION"-"$KAFKA_VERSION".jar >/dev/null 2>&1 || die "Maven did not produce the kafka jar in $tmp"
  touch "$tmp/.complete"
  rm -rf "$KAFKA_HOME/libs" && mv "$tmp" "$KAFKA_HOME/libs"
  trap - EXIT
  ok "kafka $KAFKA_VERSION: $(ls "$KAFKA_HOME/libs" | wc -l) jars in $KAFKA_HOME/libs"
}

mkdir -p "$KAFKA_HOME"
with_lock "$STOCKIFY_CACHE/kafka/.lock" fetch
