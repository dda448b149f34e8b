#!/bin/bash
# Restore benchmark on one data set of ROWS rows (default 10 million) with indexes, side by side:
#   seeds' method: pg_dump > file.sql, then psql < file.sql into an empty database;
#   this project:  pgBackRest full backup (lz4, process-max=PROCESS_MAX), then a physical restore
#                  into a new directory and a server started on it.
# "Usable" means the restored server accepts queries with every index built and recovery finished.
# Needs PostgreSQL 15 server binaries and pgbackrest; run as root (drops to postgres) or as the
# postgres OS user. Usage: scripts/bench-restore.sh  (npm run bench:restore)
set -euo pipefail

ROWS=${ROWS:-10000000}
PROCESS_MAX=${PROCESS_MAX:-$(nproc)}
PG_BIN=${PG_BIN:-/usr/lib/postgresql/15/bin}
command -v pgbackrest >/dev/null || { echo "bench-restore: pgbackrest is not installed (apt-get install pgbackrest)" >&2; exit 1; }

DIR=$(mktemp -d /tmp/northstack-bench-XXXXXX)
as_pg() { if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
[ "$(id -u)" -ne 0 ] || chown postgres:postgres "$DIR"
PORT_A=${PORT_A:-55431}; PORT_B=${PORT_B:-55432}; PORT_C=${PORT_C:-55433}
export PGBACKREST_CONFIG=$DIR/pgbackrest.conf PGBACKREST_STANZA=bench PGBACKREST_LOCK_PATH=$DIR/lock
cleanup() {
  for d in a b c; do [ -f "$DIR/$d/postmaster.pid" ] && as_pg "$PG_BIN/pg_ctl" -D "$DIR/$d" -m immediate -w stop >/dev/null 2>&1; done
  rm -rf "$DIR"
}
trap cleanup EXIT

now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }
start() { # dir port
  as_pg "$PG_BIN/pg_ctl" -D "$1" -l "$1.log" -w -t 3600 -o "-c port=$2 -c listen_addresses='' -c unix_socket_directories=$DIR -c shared_buffers=1GB -c max_wal_size=8GB -c maintenance_work_mem=512MB -c archive_mode=on -c archive_command='pgbackrest archive-push %p' -c archive_timeout=60s" start >/dev/null
  until [ "$(as_pg "$PG_BIN/psql" -X -At -h "$DIR" -p "$2" -d postgres -c 'select pg_is_in_recovery()' 2>/dev/null)" = "f" ]; do sleep 0.2; done
}
sql() { as_pg "$PG_BIN/psql" -X -At -v ON_ERROR_STOP=1 -h "$DIR" -p "$1" -d postgres "${@:2}"; }

for d in a c; do as_pg "$PG_BIN/initdb" -D "$DIR/$d" -U postgres --auth=trust --no-sync >/dev/null; done
as_pg tee "$PGBACKREST_CONFIG" >/dev/null <<CONF
[global]
repo1-path=$DIR/repo
compress-type=lz4
process-max=$PROCESS_MAX
start-fast=y
log-level-console=warn
log-level-file=off
[bench]
pg1-path=$DIR/a
pg1-socket-path=$DIR
pg1-port=$PORT_A
CONF
start "$DIR/a" "$PORT_A"
as_pg pgbackrest stanza-create >/dev/null
echo "bench-restore: loading $ROWS rows with indexes ..." >&2
sql "$PORT_A" >/dev/null <<SQL
create table public.orders (id bigint primary key, customer_id int not null, status text not null, amount numeric(12,2) not null, note text, created_at timestamptz not null);
insert into public.orders select g, (g::bigint * 7919) % 100000, (array['new','paid','shipped','done'])[1 + g % 4], (g % 100000) / 100.0, md5(g::text), timestamptz '2026-01-01' + g * interval '1 second' from generate_series(1, $ROWS) g;
create index orders_customer on public.orders (customer_id, created_at);
create index orders_status on public.orders (status) where status <> 'done';
vacuum analyze public.orders;
SQL

# Seeds' method.
t=$(now); as_pg "$PG_BIN/pg_dump" -h "$DIR" -p "$PORT_A" -d postgres -f "$DIR/dump.sql"; dump_backup=$(since "$t")
dump_size=$(du -sb "$DIR/dump.sql" | cut -f1)
start "$DIR/c" "$PORT_C"
t=$(now); sql "$PORT_C" -q -f "$DIR/dump.sql" >/dev/null; dump_restore=$(since "$t")
dump_rows=$(sql "$PORT_C" -c 'select count(*) from public.orders')
as_pg "$PG_BIN/pg_ctl" -D "$DIR/c" -m fast -w stop >/dev/null

# This project's path.
t=$(now); as_pg pgbackrest backup --type=full; br_backup=$(since "$t")
br_size=$(du -sb "$DIR/repo/backup" | cut -f1)
t=$(now)
as_pg pgbackrest restore --pg1-path="$DIR/b" --archive-mode=off >/dev/null
start "$DIR/b" "$PORT_B"
br_restore=$(since "$t")
br_rows=$(sql "$PORT_B" -c 'select count(*) from public.orders')
if [ "$dump_rows" != "$ROWS" ] || [ "$br_rows" != "$ROWS" ]; then
  echo "bench-restore: row counts differ: dump $dump_rows, pgbackrest $br_rows, expected $ROWS" >&2
  exit 1
fi

mb() { awk -v b="$1" 'BEGIN { printf "%.0f MB", b / 1048576 }'; }
printf '\n%s rows, 2 secondary indexes, %s CPUs, pgBackRest process-max=%s\n\n' "$ROWS" "$(nproc)" "$PROCESS_MAX"
printf '| method | backup | restore to usable | size |\n|---|---|---|---|\n'
printf '| pg_dump > file.sql; psql < file.sql | %s s | %s s | %s |\n' "$dump_backup" "$dump_restore" "$(mb "$dump_size")"
printf '| pgBackRest full (lz4) + physical restore | %s s | %s s | %s |\n' "$br_backup" "$br_restore" "$(mb "$br_size")"
awk -v a="$dump_restore" -v b="$br_restore" 'BEGIN { printf "\nrestore speed-up: %.1fx\n", a / b }'
