#!/usr/bin/env bash
# Set up with the test extras, then run the whole test suite: on the embedded FalkorDB and on
# a real Neo4j, which the tests start themselves with scripts/neo4j.sh (or set
# CATALOG_NEO4J_URI=bolt://... to use a running one; the tests empty it).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh --test
exec .venv/bin/python -m pytest "$@"
