#!/usr/bin/env bash
# Set up, then run the server on the embedded graph engine with the sample lineage loaded.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
# --no-auth: a local trial needs no API key (the server binds 127.0.0.1 only). Drop it and
# create keys with `catalog keys create` to run with authentication, as everywhere else.
exec .venv/bin/catalog serve --demo --no-auth "$@"
