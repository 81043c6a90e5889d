#!/usr/bin/env bash
# Set up, then run the server on the embedded graph engine with the sample lineage loaded.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec .venv/bin/catalog serve --demo "$@"
