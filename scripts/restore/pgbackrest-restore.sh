#!/bin/bash
# Restores a self-hosted Postgres from its pgBackRest repository. Runs where pgBackRest, the
# repository and the target directory are (inside the northstack postgres image; `restore.sh dev` runs
# it there, in a one-off container with the database container's volumes), as the database's OS user,
# with the server stopped.
#
#   pgbackrest-restore.sh latest [--into DIR]
#   pgbackrest-restore.sh time 'YYYY-MM-DD HH:MM:SS+00' [--into DIR]
#
# latest: every archived WAL segment is replayed (the loss is bounded by archive_timeout).
# time:   recovery stops just before the first transaction that committed after the timestamp.
# --into: restore into a new, empty directory instead of over the configured data directory, which
#         stays untouched (start the copy on another port to inspect it).
# A physical restore carries the whole cluster, roles and grants included, so it works on an empty
# machine; no role has to exist first. The restored server promotes itself once it reaches the target
# (latest: the end of the archive).
set -euo pipefail

usage() { echo "usage: pgbackrest-restore.sh latest|time <timestamp> [--into DIR]" >&2; exit 2; }

mode=${1:-}; shift || true
target=()
case "$mode" in
  latest) target=(--type=default) ;;
  time)
    [ $# -ge 1 ] || usage
    date -d "$1" >/dev/null 2>&1 || { echo "pgbackrest-restore.sh: $1 is not a timestamp; use e.g. '2026-11-01 14:05:00+00'" >&2; exit 2; }
    target=(--type=time "--target=$1" --target-exclusive --target-action=promote)
    shift
    ;;
  *) usage ;;
esac
into=()
if [ "${1:-}" = "--into" ]; then
  [ $# -eq 2 ] || usage
  [ ! -e "$2" ] || [ -z "$(ls -A "$2")" ] || { echo "pgbackrest-restore.sh: --into $2 is not empty; choose a new directory" >&2; exit 2; }
  mkdir -p "$2"
  chmod 0700 "$2"
  into=("--pg1-path=$2")
elif [ $# -ne 0 ]; then
  usage
fi

export PGBACKREST_STANZA=${PGBACKREST_STANZA:-main}
started=$(date +%s)
# --delta rewrites only files whose checksum differs, so a restore over the old directory is quick.
pgbackrest restore --delta "${target[@]}" "${into[@]}"
echo "pgbackrest-restore.sh: restored ($mode) in $(( $(date +%s) - started )) s; start the server to replay WAL to the target"
