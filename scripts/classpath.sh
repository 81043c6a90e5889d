#!/usr/bin/env bash
# Print the path of a file holding the Java class path of scripts/NAME/pom.xml, resolving it
# with Maven once per pom change (the jars stay cached in ~/.m2).
#
#   bash scripts/classpath.sh NAME        # NAME: neo4j, kafka or spark
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
POM="$HERE/$1/pom.xml"
CLASSPATH_FILE="$HERE/$1/target/classpath.txt"
command -v mvn >/dev/null || { echo "scripts/classpath.sh needs Maven (mvn) to fetch the jars of $POM" >&2; exit 1; }
if [ ! -s "$CLASSPATH_FILE" ] || [ "$POM" -nt "$CLASSPATH_FILE" ] \
        || [ ! -f "$(cut -d: -f1 "$CLASSPATH_FILE")" ]; then
    mkdir -p "$(dirname "$CLASSPATH_FILE")"
    mvn -q -B -Dstyle.color=never -f "$POM" dependency:build-classpath -Dmdep.outputFile="$CLASSPATH_FILE.tmp" >&2
    mv "$CLASSPATH_FILE.tmp" "$CLASSPATH_FILE"
fi
echo "$CLASSPATH_FILE"
