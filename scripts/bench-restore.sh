#!/bin/bash
# Restore benchmark on one data set of ROWS rows (default 10 million) with indexes, side by side:
#   seeds' method: pg_dump > file.sql, then psql < file.sql into an empty database;
#   this project:  a pgBackRest full backup; then the data directory is lost, and
#                  scripts/restore/pgbackrest-restore.sh refills it and the server starts on it,
#                  replaying the archived WAL to its end and promoting itself.
# Both pgbackrest.conf and postgresql.conf are the program's own, rendered by
# components/pgbackrest.ts and components/postgres-conf.ts for MEMORY_MB of memory; the seeds' server
# gets the same postgresql.conf without archiving (they have no repository to archive into).
# "Usable" means: the server accepts a write, recovery has finished, every row is there and the
# same indexes as the source exist, all valid. Both methods must pass the same check.
# Needs PostgreSQL 15 server binaries, pgbackrest and node; run as root (drops to postgres) or as
# the postgres OS user. Usage: scripts/bench-restore.sh  (npm run bench:restore)
#   ROWS=10000000  MEMORY_MB=4096  PG_BIN=/usr/lib/postgresql/15/bin
#   PROCESS_MAX, RESTORE_PROCESS_MAX: override the renderer's defaults (for experiments only)
set -euo pipefail

ROWS=${ROWS:-10000000}
MEMORY_MB=${MEMORY_MB:-4096}
PROCESS_MAX=${PROCESS_MAX:-}
RESTORE_PROCESS_MAX=${RESTORE_PROCESS_MAX:-}
PG_BIN=${PG_BIN:-/usr/lib/postgresql/15/bin}
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
command -v pgbackrest >/dev/null || { echo "bench-restore: pgbackrest is not installed (apt-get install pgbackrest)" >&2; exit 1; }

DIR=$(mktemp -d /tmp/northstack-bench-XXXXXX)
as_pg() { if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
PORT_A=${PORT_A:-55431}; PORT_C=${PORT_C:-55433}
export PGBACKREST_CONFIG=$DIR/pgbackrest.conf PGBACKREST_STANZA=main PGBACKREST_LOCK_PATH=$DIR/lock PGBACKREST_LOG_LEVEL_CONSOLE=warn
cleanup() {
  for d in a c; do
    if [ -f "$DIR/$d/postmaster.pid" ]; then as_pg "$PG_BIN/pg_ctl" -D "$DIR/$d" -m immediate -w stop >/dev/null 2>&1 || true; fi
  done
  rm -rf "$DIR"
}
trap cleanup EXIT

# The program's renderers, with this run's paths and ports: the bench measures the shipped settings.
# Writes pgbackrest.conf, postgresql-archiving.conf (this project's server) and postgresql-plain.conf (the seeds').
# shellcheck disable=SC2016 # JavaScript template literals, not shell expansions
(cd "$ROOT" && node -r ./scripts/register.js -e '
  const fs = require("fs");
  const [dir, port, memoryMb, processMax, restoreProcessMax] = process.argv.slice(1);
  const { renderPgBackRestConf } = require("./components/pgbackrest");
  const { postgresSettings, renderPostgresConf } = require("./components/postgres-conf");
  const conf = `${dir}/pgbackrest.conf`;
  fs.writeFileSync(conf, renderPgBackRestConf({
    pgPath: `${dir}/a`, socketPath: dir, pgPort: Number(port), repoPath: `${dir}/repo`,
    processMax: processMax ? Number(processMax) : undefined,
    restoreProcessMax: restoreProcessMax ? Number(restoreProcessMax) : undefined,
  }));
  const archiving = postgresSettings({ memoryMb: Number(memoryMb), archive: { configPath: conf } });
  fs.writeFileSync(`${dir}/postgresql-archiving.conf`, renderPostgresConf(archiving));
  fs.writeFileSync(`${dir}/postgresql-plain.conf`, renderPostgresConf(postgresSettings({ memoryMb: Number(memoryMb) })));
' "$DIR" "$PORT_A" "$MEMORY_MB" "$PROCESS_MAX" "$RESTORE_PROCESS_MAX")
# The restore script runs as postgres, who may not be able to read the checkout.
cp "$ROOT/scripts/restore/pgbackrest-restore.sh" "$DIR/pgbackrest-restore.sh"
[ "$(id -u)" -ne 0 ] || chown -R postgres:postgres "$DIR"

now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }
start() { # dir port conf: starts the server and waits until it has left recovery and accepts a write
  local deadline=$((SECONDS + 3600))
  as_pg "$PG_BIN/pg_ctl" -D "$1" -l "$1.log" -w -t 3600 \
    -o "-c config_file=$3 -c hba_file=$1/pg_hba.conf -c ident_file=$1/pg_ident.conf -c port=$2 -c listen_addresses='' -c unix_socket_directories=$DIR" start >/dev/null
  until [ "$(as_pg "$PG_BIN/psql" -X -At -h "$DIR" -p "$2" -d postgres -c 'select pg_is_in_recovery(), txid_current() > 0' 2>/dev/null)" = "f|t" ]; do
    [ "$SECONDS" -lt "$deadline" ] || { echo "bench-restore: the server on $1 has not left recovery after an hour; see $1.log" >&2; exit 1; }
    sleep 0.1
  done
}
stop() { as_pg "$PG_BIN/pg_ctl" -D "$1" -m fast -w stop >/dev/null; }
sql() { as_pg "$PG_BIN/psql" -X -At -v ON_ERROR_STOP=1 -h "$DIR" -p "$1" -d postgres "${@:2}"; }
# What "usable" must show on both restored servers: rows, the source's indexes, none invalid.
INDEXES="select string_agg(c.relname, ',' order by c.relname) from pg_index i join pg_class c on c.oid = i.indexrelid join pg_namespace n on n.oid = c.relnamespace where n.nspname = 'public'"
check_usable() { # port label
  local rows invalid indexes recovery
  recovery=$(sql "$1" -c 'select pg_is_in_recovery()')
  rows=$(sql "$1" -c 'select count(*) from public.orders')
  invalid=$(sql "$1" -c 'select count(*) from pg_index where not indisvalid or not indisready')
  indexes=$(sql "$1" -c "$INDEXES")
  if [ "$recovery" != f ] || [ "$rows" != "$ROWS" ] || [ "$invalid" != 0 ] || [ "$indexes" != "$SOURCE_INDEXES" ]; then
    echo "bench-restore: $2 is not usable: in recovery $recovery, $rows rows (expected $ROWS), $invalid invalid indexes, indexes '$indexes' (expected '$SOURCE_INDEXES')" >&2
    exit 1
  fi
}

for d in a c; do as_pg "$PG_BIN/initdb" -D "$DIR/$d" -U postgres --auth=trust --no-sync >/dev/null; done
start "$DIR/a" "$PORT_A" "$DIR/postgresql-archiving.conf"
as_pg pgbackrest stanza-create >/dev/null
echo "bench-restore: loading $ROWS rows with indexes ..." >&2
sql "$PORT_A" >/dev/null <<SQL
create table public.orders (id bigint primary key, customer_id int not null, status text not null, amount numeric(12,2) not null, note text, created_at timestamptz not null);
insert into public.orders select g, (g::bigint * 7919) % 100000, (array['new','paid','shipped','done'])[1 + g % 4], (g % 100000) / 100.0, md5(g::text), timestamptz '2026-01-01' + g * interval '1 second' from generate_series(1, $ROWS) g;
create index orders_customer on public.orders (customer_id, created_at);
create index orders_status on public.orders (status) where status <> 'done';
vacuum analyze public.orders;
SQL
SOURCE_INDEXES=$(sql "$PORT_A" -c "$INDEXES")

# Seeds' method, exactly: a plain-SQL dump, replayed by psql into a fresh, empty cluster.
echo "bench-restore: pg_dump > file.sql; psql < file.sql ..." >&2
t=$(now); as_pg "$PG_BIN/pg_dump" -h "$DIR" -p "$PORT_A" -d postgres >"$DIR/dump.sql"; dump_backup=$(since "$t")
dump_size=$(du -sb "$DIR/dump.sql" | cut -f1)
start "$DIR/c" "$PORT_C" "$DIR/postgresql-plain.conf"
t=$(now); sql "$PORT_C" -q <"$DIR/dump.sql" >/dev/null; dump_restore=$(since "$t")
check_usable "$PORT_C" "the psql restore"
stop "$DIR/c"

# This project's path: the scheduled backup's command; then the data directory is lost, and the
# restore script refills it and the server starts on it with its own config, replaying the archive.
echo "bench-restore: pgBackRest backup and restore ..." >&2
t=$(now); as_pg pgbackrest backup --type=full; br_backup=$(since "$t")
br_size=$(du -sb "$DIR/repo/backup" | cut -f1)
stop "$DIR/a"
rm -rf "$DIR/a"; as_pg mkdir -m 0700 "$DIR/a"
t=$(now)
as_pg bash "$DIR/pgbackrest-restore.sh" latest >/dev/null
br_files=$(since "$t")
start "$DIR/a" "$PORT_A" "$DIR/postgresql-archiving.conf"
br_restore=$(since "$t")
check_usable "$PORT_A" "the pgBackRest restore"

mb() { awk -v b="$1" 'BEGIN { printf "%.0f MB", b / 1048576 }'; }
ratio() { awk -v a="$dump_restore" -v b="$1" 'BEGIN { printf "%.1fx", a / b }'; }
printf '\n%s rows, 3 indexes, %s CPUs, postgresql.conf for %s MB, pgbackrest.conf:' "$ROWS" "$(nproc)" "$MEMORY_MB"
grep -E '^(\[|compress|process-max|recovery-option)' "$PGBACKREST_CONFIG" | tr '\n' ' '
printf '\n\n| method | backup | restore to usable | size | restore speed-up |\n|---|---|---|---|---|\n'
printf '| pg_dump > file.sql; psql < file.sql | %s s | %s s | %s | 1.0x |\n' "$dump_backup" "$dump_restore" "$(mb "$dump_size")"
printf '| pgBackRest full + restore, WAL replay | %s s | %s s | %s | %s |\n' "$br_backup" "$br_restore" "$(mb "$br_size")" "$(ratio "$br_restore")"
printf '\nThe pgBackRest restore: %s s writing the files, the rest starting the server and replaying WAL. Its size is\nthe backup set; the WAL archive (kept for point-in-time recovery) is not counted.\n' "$br_files"
