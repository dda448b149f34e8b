#!/bin/sh
# The offline plan (scripts/plan.ts) without npm's banner, so that `scripts/plan.sh dev --json` is one
# JSON document on stdout wherever it is run from. Arguments as for scripts/plan.ts.
root="$(cd "$(dirname "$0")/.." && pwd)"
TS_NODE_PROJECT="$root/tsconfig.json" exec node -r "$root/node_modules/ts-node/register/transpile-only" "$root/scripts/plan.ts" "$@"
