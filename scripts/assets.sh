#!/usr/bin/env bash
# Refresh the browser libraries bundled with the web pages, from the npm registry.
#
# The pages load nothing from the internet (governance tools often run in closed networks),
# so the built files are committed under catalog/web/static/vendor and ship in the wheel.
# Run this only to change a version: edit scripts/assets/package.json, then
#   bash scripts/assets.sh
# It installs exactly what package-lock.json pins (npm ci) and copies the files the pages use.
set -euo pipefail
cd "$(dirname "$0")/assets"
if [ "${1:-}" = "--update-lock" ]; then npm install --no-audit --no-fund; else npm ci --no-audit --no-fund; fi
VENDOR=../../catalog/web/static/vendor
rm -rf "$VENDOR" && mkdir -p "$VENDOR"
cp node_modules/react/umd/react.production.min.js \
   node_modules/react-dom/umd/react-dom.production.min.js \
   node_modules/graphiql/graphiql.min.js node_modules/graphiql/graphiql.min.css \
   node_modules/cytoscape/dist/cytoscape.min.js \
   node_modules/elkjs/lib/elk-api.js node_modules/elkjs/lib/elk-worker.min.js "$VENDOR"/
# Each library's licence goes with it.
for package in react react-dom graphiql cytoscape elkjs; do
    version=$(node -p "require('./node_modules/$package/package.json').version")
    licence=$(ls node_modules/$package/LICENSE* | head -1)
    { echo "== $package $version"; cat "$licence"; echo; } >> "$VENDOR/LICENSES.txt"
done
ls -l "$VENDOR"
