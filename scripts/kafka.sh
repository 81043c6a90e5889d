#!/usr/bin/env bash
# Run a single-node Apache Kafka 4.1 broker (KRaft: broker and controller in one process, no
# ZooKeeper) from Maven Central in the foreground, for tests, benchmarks and local use of
# Kafka ingestion.
#
#   bash scripts/kafka.sh DATA_DIR [PORT]
#   bash scripts/kafka.sh --install      # only fetch the jars (setup.sh --test does this)
#
# Maven fetches the jars named in scripts/kafka/pom.xml once (cached in ~/.m2). The first
# start formats DATA_DIR/data as a new cluster; later starts on the same DATA_DIR keep its
# topics, messages and committed offsets. The broker listens on 127.0.0.1 only, on PORT or
# a free port, without TLS or SASL: for one user or tests, not for a shared host (in
# production point --kafka-bootstrap at the Kafka you operate). Topics are created on first
# use, with one partition unless the producer creates them with more. Once it accepts
# clients the script prints `127.0.0.1:PORT` on standard output (and nothing else there);
# Kafka's own log is DATA_DIR/logs/server.log. SIGTERM or Ctrl-C stops it cleanly.
#
# Environment: KAFKA_HEAP (default 512m), JAVA_HOME.
set -euo pipefail
if [ $# -lt 1 ] || [ "$1" = "-h" ] || [ "$1" = "--help" ]; then
    sed -n '2,18p' "$0" | sed 's/^# \{0,1\}//'
    exit 2
fi
HERE="$(cd "$(dirname "$0")" && pwd)"
JAVA="${JAVA_HOME:+$JAVA_HOME/bin/}java"
command -v "$JAVA" >/dev/null || { echo "scripts/kafka.sh needs Java 17+ ($JAVA)" >&2; exit 1; }
CLASSPATH_FILE="$(bash "$HERE/classpath.sh" kafka)"
[ "$1" = "--install" ] && exit 0

mkdir -p "$1"
DATA_DIR="$(cd "$1" && pwd)"
free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
PORT="${2:-$(free_port)}"
CONTROLLER_PORT="$(free_port)"

mkdir -p "$DATA_DIR/conf" "$DATA_DIR/logs"
cat > "$DATA_DIR/conf/server.properties" <<CONF
# Written by scripts/kafka.sh on every start.
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:$CONTROLLER_PORT
listeners=PLAINTEXT://127.0.0.1:$PORT,CONTROLLER://127.0.0.1:$CONTROLLER_PORT
advertised.listeners=PLAINTEXT://127.0.0.1:$PORT
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT
log.dirs=$DATA_DIR/data
num.partitions=1
auto.create.topics.enable=true
offsets.topic.replication.factor=1
offsets.topic.num.partitions=4
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
group.initial.rebalance.delay.ms=0
CONF
cat > "$DATA_DIR/conf/log4j2.properties" <<CONF
appender.file.type=File
appender.file.name=file
appender.file.fileName=$DATA_DIR/logs/server.log
appender.file.layout.type=PatternLayout
appender.file.layout.pattern=[%d] %p %m (%c)%n
rootLogger.level=INFO
rootLogger.appenderRef.file.ref=file
logger.kafka.name=org.apache.kafka
logger.kafka.level=WARN
logger.state.name=state.change.logger
logger.state.level=WARN
CONF

JAVA_ARGS=(-Xms"${KAFKA_HEAP:-512m}" -Xmx"${KAFKA_HEAP:-512m}" -XX:+UseG1GC -Djava.awt.headless=true
           -Dlog4j2.configurationFile="$DATA_DIR/conf/log4j2.properties" -cp "$(cat "$CLASSPATH_FILE")")

# A new DATA_DIR is formatted as a cluster of its own; a formatted one is started as it is.
if [ ! -f "$DATA_DIR/data/meta.properties" ]; then
    # As Kafka's own random-uuid: a UUID in URL-safe base64, drawn again while it starts with "-" (1 in 64), which the
    # format command would take for an option ("--cluster-id: expected one argument", seen in CI).
    CLUSTER_ID="$(python3 -c 'import base64, uuid
text = "-"
while text.startswith("-"):
    text = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
print(text)')"
    "$JAVA" "${JAVA_ARGS[@]}" kafka.tools.StorageTool format --cluster-id "$CLUSTER_ID" \
        --config "$DATA_DIR/conf/server.properties" >>"$DATA_DIR/logs/console.log" 2>&1 \
        || { echo "formatting $DATA_DIR/data failed; see $DATA_DIR/logs/console.log" >&2; exit 1; }
fi

source "$HERE/supervise.sh"
mark_log "$DATA_DIR/logs/server.log"
# Started directly (not through a function, which would fork a subshell): $! is the JVM itself.
"$JAVA" "${JAVA_ARGS[@]}" kafka.Kafka "$DATA_DIR/conf/server.properties" >>"$DATA_DIR/logs/console.log" 2>&1 &
supervise kafka $! "Kafka Server started" "$PORT" "127.0.0.1:$PORT" 120 "$DATA_DIR/logs/console.log"
