#!/usr/bin/env bash
# Run Neo4j 5.26 LTS Community (GPLv3) from Maven Central in the foreground, for tests,
# benchmarks and local use of the Neo4j backend.
#
#   bash scripts/neo4j.sh DATA_DIR [PORT]
#   bash scripts/neo4j.sh --install      # only fetch the jars (setup.sh --test does this)
#
# Maven fetches the jars named in scripts/neo4j/pom.xml once (cached in ~/.m2); the server
# keeps its databases, logs and generated neo4j.conf under DATA_DIR, so a second start on
# the same DATA_DIR finds its data. Bolt listens on 127.0.0.1 only, on PORT or a free port,
# with authentication off: anything that can reach the loopback interface may use it, so
# do not run it like this on a shared host (in production use a Neo4j you operate, with
# auth, and CATALOG_NEO4J_USER / CATALOG_NEO4J_PASSWORD). Once it answers queries the
# script prints `bolt://127.0.0.1:PORT` on standard output (and nothing else there);
# Neo4j's own output goes to DATA_DIR/logs. SIGTERM or Ctrl-C stops it cleanly.
#
# Environment: NEO4J_HEAP (default 1g), NEO4J_PAGECACHE (default 512m), JAVA_HOME.
set -euo pipefail
if [ $# -lt 1 ] || [ "$1" = "-h" ] || [ "$1" = "--help" ]; then
    sed -n '2,17p' "$0" | sed 's/^# \{0,1\}//'
    exit 2
fi
HERE="$(cd "$(dirname "$0")" && pwd)"
JAVA="${JAVA_HOME:+$JAVA_HOME/bin/}java"
command -v "$JAVA" >/dev/null || { echo "scripts/neo4j.sh needs Java 17+ ($JAVA)" >&2; exit 1; }
CLASSPATH_FILE="$(bash "$HERE/classpath.sh" neo4j)"
[ "$1" = "--install" ] && exit 0

mkdir -p "$1"
DATA_DIR="$(cd "$1" && pwd)"
PORT="${2:-}"

if [ -z "$PORT" ]; then
    PORT="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
fi

mkdir -p "$DATA_DIR/conf" "$DATA_DIR/logs"
cat > "$DATA_DIR/conf/neo4j.conf" <<EOF
# Written by scripts/neo4j.sh on every start.
server.directories.data=$DATA_DIR/data
server.directories.logs=$DATA_DIR/logs
server.directories.run=$DATA_DIR/run
server.directories.import=$DATA_DIR/import
server.default_listen_address=127.0.0.1
server.bolt.listen_address=127.0.0.1:$PORT
server.bolt.advertised_address=127.0.0.1:$PORT
server.http.enabled=false
server.https.enabled=false
dbms.security.auth_enabled=false
dbms.usage_report.enabled=false
server.memory.pagecache.size=${NEO4J_PAGECACHE:-512m}
db.tx_log.rotation.retention_policy=256M size
EOF

source "$HERE/supervise.sh"
mark_log "$DATA_DIR/logs/neo4j.log"

# The flags Neo4j's own launcher passes to the JVM on Java 17.
"$JAVA" -Xms"${NEO4J_HEAP:-1g}" -Xmx"${NEO4J_HEAP:-1g}" -XX:+UseG1GC -XX:-OmitStackTraceInFastThrow \
    -XX:+UnlockExperimentalVMOptions -XX:+TrustFinalNonStaticFields -XX:+DisableExplicitGC \
    -Djdk.nio.maxCachedBufferSize=1024 -Dio.netty.tryReflectionSetAccessible=true -Dlog4j2.disable.jmx=true \
    --add-opens=java.base/java.nio=ALL-UNNAMED --add-opens=java.base/java.io=ALL-UNNAMED \
    --add-opens=java.base/sun.nio.ch=ALL-UNNAMED --add-opens=java.base/java.lang=ALL-UNNAMED \
    --add-opens=java.base/java.util.concurrent=ALL-UNNAMED \
    -cp "$(cat "$CLASSPATH_FILE")" org.neo4j.server.CommunityEntryPoint \
    --home-dir="$DATA_DIR" --config-dir="$DATA_DIR/conf" >>"$DATA_DIR/logs/console.log" 2>&1 &
# Ready once its databases are online (it logs "Started.") and Bolt accepts connections.
supervise neo4j $! 'Started\.$' "$PORT" "bolt://127.0.0.1:$PORT" 180 "$DATA_DIR/logs/console.log"
