#!/bin/bash
# Replaces a stopped Redis server's data with a kept RDB copy. Runs where redis-check-rdb and the data
# directory are (inside the Redis image; `restore.sh redis` runs it there, in a one-off container with
# the Redis container's volumes), as Redis's OS user, with the server stopped.
#
#   redis-restore.sh <copy.rdb> <data dir> [<appenddirname>]
#
# The server runs with appendonly yes, and such a server loads its AOF and ignores dump.rdb: so the
# copy becomes the base file of a new AOF (an RDB is a valid base, as with aof-use-rdb-preamble), with
# a manifest naming only that base, and dump.rdb too. The replaced AOF directory is kept beside it as
# <appenddirname>.before-restore-<UTC stamp> until an operator deletes it (docs/runbooks.md).
set -euo pipefail

if [ $# -lt 2 ] || [ $# -gt 3 ]; then echo "usage: redis-restore.sh <copy.rdb> <data dir> [<appenddirname>]" >&2; exit 2; fi
rdb=$1 dir=$2 aofdir=${3:-appendonlydir}
[ -f "$rdb" ] || { echo "redis-restore: $rdb is not a file" >&2; exit 1; }
[ -d "$dir" ] || { echo "redis-restore: $dir is not a directory" >&2; exit 1; }
if ! report=$(redis-check-rdb "$rdb" 2>&1); then
  printf 'redis-restore: %s does not pass redis-check-rdb; nothing was changed\n%s\n' "$rdb" "$report" >&2
  exit 1
fi

stage=$(mktemp -d "$dir/.restore-XXXXXX")
cp -- "$rdb" "$stage/appendonly.aof.1.base.rdb"
printf 'file appendonly.aof.1.base.rdb seq 1 type b\n' > "$stage/appendonly.aof.manifest"
if [ -e "$dir/$aofdir" ]; then
  mv -- "$dir/$aofdir" "$dir/$aofdir.before-restore-$(date -u +%Y%m%dT%H%M%SZ)"
fi
cp -- "$rdb" "$dir/dump.rdb"
mv -- "$stage" "$dir/$aofdir"
echo "redis-restore: $dir/$aofdir now starts from $rdb ($(printf '%s\n' "$report" | sed -nE 's/.*\[info\] ([0-9]+) keys read.*/\1/p') keys)" >&2
