#!/usr/bin/env bash
# npm test [-- jest arguments]: the type-check (tsc --noEmit), ESLint and Prettier's check run beside
# jest rather than before it. jest's workers spend much of the run waiting on PostgreSQL, pgBackRest,
# Prometheus and the AWS CLI, and the three checks use that idle CPU instead of adding their own
# time in front. jest's output is shown as it runs; each check's output follows once jest is done,
# in full when the check failed. Fails when jest or any check fails.
set -uo pipefail

cd "$(dirname "$0")/.." || exit 1
logs=$(mktemp -d)
trap 'rm -rf "$logs"' EXIT

checks=(typecheck lint format:check)
declare -A pid
for check in "${checks[@]}"; do
  npm run -s "$check" >"$logs/$check" 2>&1 &
  pid[$check]=$!
done

status=0
npx jest "$@" || status=$?

for check in "${checks[@]}"; do
  if wait "${pid[$check]}"; then
    printf 'npm run %s: passed\n' "$check"
  else
    status=1
    printf 'npm run %s: FAILED\n' "$check"
    cat "$logs/$check"
  fi
done
exit "$status"
