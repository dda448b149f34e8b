#!/bin/bash
# PID 1 of the database container: the server (through the image's own entrypoint) and, beside it,
# the base-backup schedule. pgBackRest reads the data directory locally, so its backups run in this
# container; our runtimes give each container its own volumes.
# Contract: TERM and INT go to the server, which shuts down cleanly; the container exits with the
# server's status; the schedule stopping never stops the server (the backup-age alert reports it).
set -uo pipefail

docker-entrypoint.sh "$@" &
server=$!
trap 'kill -TERM "$server" 2>/dev/null' TERM
trap 'kill -INT "$server" 2>/dev/null' INT

schedule=""
if [ "${NORTHSTACK_BACKUP_SCHEDULE:-on}" = "on" ]; then
  /usr/local/bin/northstack-backup.sh loop &
  schedule=$!
fi

# wait returns early when a trapped signal arrives; keep waiting until the server itself has exited.
status=0
while kill -0 "$server" 2>/dev/null; do
  wait "$server"
  status=$?
done
[ -n "$schedule" ] && kill -TERM "$schedule" 2>/dev/null
exit "$status"
