#!/bin/sh
# The offline plan (scripts/plan.ts) without npm's banner, so that `scripts/plan.sh dev --json` is one
# JSON document on stdout wherever it is run from. Arguments as for scripts/plan.ts.
root="$(cd "$(dirname "$0")/.." && pwd)"
exec node -r "$root/scripts/register.js" "$root/scripts/plan.ts" "$@"
