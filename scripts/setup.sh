#!/usr/bin/env bash
# Create .venv (once) and install lineage-catalog into it; --test adds what the tests need, --bench what the
# benchmarks need.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-python3}"
source scripts/apt.sh
if [ ! -x .venv/bin/python ]; then
    "$PYTHON" -m venv .venv
fi
.venv/bin/python -m pip install --quiet --upgrade pip
if [ "${1:-}" = "--test" ]; then
    .venv/bin/python -m pip install --quiet -e ".[test]"
    # Every graph test also runs on a real Neo4j 5.26: its jars come from Maven Central, once.
    bash scripts/neo4j.sh --install
    # Kafka ingestion is tested on a real broker (KRaft), also from Maven Central.
    bash scripts/kafka.sh --install
    # The Spark producer test runs pyspark with the openlineage-spark listener: its jar, and the
    # kafka-clients its KafkaTransport needs, from Maven Central (class path in scripts/spark/target).
    bash scripts/classpath.sh spark >/dev/null
    # Whole-database scans are tested on Debian's PostgreSQL (scripts/postgres.sh installs it if missing).
    bash scripts/postgres.sh --install
    # The lineage page is tested in headless Chromium: Debian's chromium and its driver.
    if ! command -v chromedriver >/dev/null || ! command -v chromium >/dev/null; then
        apt_install chromium chromium-driver
    fi
elif [ "${1:-}" = "--bench" ]; then
    # benchmarks/: wrk drives the HTTP load; py-spy, perf and strace are what docs/benchmarks.md profiled with.
    .venv/bin/python -m pip install --quiet -e ".[test]" py-spy
    if ! command -v wrk >/dev/null || ! command -v perf >/dev/null || ! command -v strace >/dev/null; then
        apt_install wrk linux-perf strace
    fi
else
    .venv/bin/python -m pip install --quiet -e .
fi
