#!/usr/bin/env bash
# Build Marquez 0.50.0 from a git checkout of github.com/MarquezProject/marquez, with Maven,
# and print the path of a file holding its Java class path (the built jar first).
#
#   bash benchmarks/marquez/build.sh MARQUEZ_CHECKOUT
#
# Maven Central serves Marquez's dependencies but not marquez-api, and Marquez builds with
# Gradle: this copies the api and Java client sources of tag 0.50.0 into sources/ and
# compiles them with pom.xml beside it. The jars stay cached in ~/.m2; a second call with the
# same sources builds nothing.
set -euo pipefail
if [ $# -ne 1 ] || [ "$1" = "-h" ] || [ "$1" = "--help" ]; then
    sed -n '2,10p' "$0" | sed 's/^# \{0,1\}//'
    exit 2
fi
HERE="$(cd "$(dirname "$0")" && pwd)"
TAG=0.50.0
CLASSPATH_FILE="$HERE/target/classpath.txt"
JAR="$HERE/target/marquez-from-source-$TAG.jar"
if [ ! -s "$CLASSPATH_FILE" ] || [ ! -f "$JAR" ]; then
    rm -rf "$HERE/sources" && mkdir -p "$HERE/sources/java" "$HERE/sources/resources"
    UNPACKED="$(mktemp -d)"
    trap 'rm -rf "$UNPACKED"' EXIT
    git -C "$1" archive "$TAG" api/src/main clients/java/src/main lombok.config | tar -x -C "$UNPACKED"
    cp -r "$UNPACKED/api/src/main/java/." "$UNPACKED/clients/java/src/main/java/." "$HERE/sources/java/"
    cp "$UNPACKED/lombok.config" "$HERE/sources/java/"
    cp -r "$UNPACKED/api/src/main/resources/." "$HERE/sources/resources/"
    mvn -q -B -Dstyle.color=never -f "$HERE/pom.xml" clean package -DskipTests >&2
    mvn -q -B -Dstyle.color=never -f "$HERE/pom.xml" dependency:build-classpath \
        -Dmdep.outputFile="$CLASSPATH_FILE.tmp" >&2
    { printf '%s:' "$JAR"; cat "$CLASSPATH_FILE.tmp"; } > "$CLASSPATH_FILE"
    rm "$CLASSPATH_FILE.tmp"
fi
echo "$CLASSPATH_FILE"
