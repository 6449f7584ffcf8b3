#!/usr/bin/env bash
# Run a Java main class with the cached Kafka classpath, like Kafka's bin/kafka-run-class.sh.
# Usage: infra/kafka/run-class.sh <main class> [args...]
#   infra/kafka/run-class.sh org.apache.kafka.tools.TopicCommand --bootstrap-server 127.0.0.1:9092 --list
#   infra/kafka/run-class.sh org.apache.kafka.tools.ProducerPerformance --topic t --num-records 100000 \
#       --record-size 200 --throughput -1 --producer-props bootstrap.servers=127.0.0.1:9092
#   infra/kafka/run-class.sh org.apache.kafka.tools.ConsumerPerformance --bootstrap-server 127.0.0.1:9092 \
#       --topic t --messages 100000
# Env: KAFKA_HEAP_OPTS (default -Xmx512m), KAFKA_OPTS (extra JVM options).
set -euo pipefail
. "$(dirname "$0")/../lib.sh"
if [ $# -lt 1 ] || [ "$1" = -h ] || [ "$1" = --help ]; then
  sed -n '2,10s/^# \{0,1\}//p' "$0" >&2
  exit 2
fi
"$INFRA_DIR/kafka/fetch.sh"
# shellcheck disable=SC2086 # option lists are meant to split
exec java ${KAFKA_HEAP_OPTS:--Xmx512m} ${KAFKA_OPTS:-} -Djava.awt.headless=true \
  -Dlog4j.configuration="file:$INFRA_DIR/kafka/tools-log4j.properties" \
  -cp "$KAFKA_HOME/libs/*" "$@"
