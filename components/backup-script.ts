/**
 * The logical-backup script, rendered as text so that tests run the very same script against a real
 * PostgreSQL (and a stand-in `aws` for the object-store half).
 *
 * Every backup is restored before it counts, into a throwaway server that the job initialises in its
 * own scratch directory (never on the database it backs up), after the roles dumped beside it; its
 * row counts per table must equal those read in the dump's own snapshot. A dump becomes a weekly one
 * too when the newest weekly one is 7 or more days old.
 *
 * - dev (`once`, `loop`): dumps land on a volume under daily/ and weekly/, and the script keeps the
 *   newest `keepDaily` and `keepWeekly` of each.
 * - cloud stacks (`dump`, `upload`, then `record`): one CronJob pod dumps and verifies into a scratch
 *   directory (postgres image), uploads to the fixed keys daily/<db>.dump and weekly/<db>.dump in the
 *   versioned backup bucket with the AWS CLI (S3, or GCS's XML API); the bucket's lifecycle keeps the
 *   newest 7 and 4 versions (BACKUP_RETENTION), so retention counts backups, not days; then records
 *   the upload in the database (postgres image).
 *
 * Every kept backup is recorded in northstack_ops.backup_runs of the database it protects; the
 * Postgres exporter reads it (BACKUP_EXPORTER_QUERIES in backup-alerts.ts) for the backup-age alerts.
 */
import { BACKUP_POLICY } from "./db-roles";
import { BACKUP_RECORD_SQL, VOLUME_RETENTION, retentionShellFunctions } from "./backup-shell";

export interface BackupScriptArgs {
  /** Daily dumps kept. Default: 7. */
  readonly keepDaily?: number;
  /** Weekly dumps kept. Default: 4. */
  readonly keepWeekly?: number;
  /** Seconds between backups in `loop` mode. Default: 86400. */
  readonly intervalSeconds?: number;
}

export function renderBackupScript(args: BackupScriptArgs = {}): string {
  const keepDaily = args.keepDaily ?? VOLUME_RETENTION.keepDaily;
  const keepWeekly = args.keepWeekly ?? VOLUME_RETENTION.keepWeekly;
  const interval = args.intervalSeconds ?? 86400;
  for (const [name, value] of Object.entries({ keepDaily, keepWeekly, intervalSeconds: interval })) {
    if (!Number.isInteger(value) || value < 1) throw new Error(`backup ${name} ${value} must be a positive integer`);
  }
  return `#!/bin/bash
# northstack logical backups: pg_dump, a verified restore, then retention.
# Usage: backup.sh once | loop | check | prune | restore <archive> <database> [<roles.sql>] | dump | upload | record
# Connection settings come from the libpq environment (PGHOST, PGPORT, PGUSER, PGPASSWORD, PGDATABASE);
# upload reads BACKUP_BUCKET, optionally BACKUP_S3_ENDPOINT, and the AWS CLI's own environment.
set -euo pipefail

BACKUP_DIR=\${BACKUP_DIR:-/backups}
KEEP_DAILY=${keepDaily}
KEEP_WEEKLY=${keepWeekly}
INTERVAL_SECONDS=${interval}
DB=\${PGDATABASE:-postgres}

# Each kept backup is recorded in the database it protects; the Postgres exporter reads the table
# (components/backup-alerts.ts) so that an alert fires when no backup has succeeded for too long.
RECORD_SQL="${BACKUP_RECORD_SQL}"

log() { printf '%s backup: %s\\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$*"; }

${retentionShellFunctions()}
# Roles the target cluster owns itself: the bootstrap superuser (the admin on every stack),
# PostgreSQL's pg_* roles and the managed services' own (rds*, cloudsql*). The backup role itself
# is kept: the dump's policies may name it.
RESERVED_ROLES="^(postgres|pg_.*|rds.*|cloudsql.*)$"

# The cluster's roles and memberships without passwords, minus the reserved roles, made re-runnable:
# a restore applies this first, so that the dump's owners, grants and policies find their roles.
dump_roles() {
  pg_dumpall --roles-only --no-role-passwords | awk -v reserved="$RESERVED_ROLES" '
    /^(CREATE|ALTER|COMMENT ON) ROLE / { role = $3; sub(/;$/, "", role); gsub(/"/, "", role); if (role ~ reserved) next }
    /^GRANT / { grantee = $0; sub(/.* TO /, "", grantee); sub(/ .*|;$/, "", grantee); gsub(/"/, "", grantee); if (grantee ~ reserved) next; sub(/ GRANTED BY [^;]*/, "") }
    # A managed service role granted to ours (rds_replication) exists only there; the migration job grants it again.
    /^GRANT (rds|cloudsql)/ { next }
    /^CREATE ROLE / { sub(/;$/, ""); print "DO $do$ BEGIN " $0 "; EXCEPTION WHEN duplicate_object THEN NULL; END $do$;"; next }
    /^(CREATE|ALTER|COMMENT|GRANT) / { print }'
}

# RLS tables the backup role has no read-all policy on, comma-separated.
UNCOVERED_SQL="select string_agg(format('%I.%I', n.nspname, c.relname), ', ') from pg_class c join pg_namespace n on n.oid = c.relnamespace where c.relkind in ('r', 'p') and c.relrowsecurity and n.nspname not in ('pg_catalog', 'information_schema') and not exists (select 1 from pg_policy p where p.polrelid = c.oid and p.polname = '${BACKUP_POLICY}')"

# Rows per user table, "schema.table|count" sorted, in the database the libpq environment names.
COUNT_ROWS_SQL="select format('select %L || ''|'' || count(*) from %I.%I;', schemaname || '.' || tablename, schemaname, tablename) from pg_tables where schemaname not in ('pg_catalog', 'information_schema') order by 1"
row_counts() { psql -X -q -At -v ON_ERROR_STOP=1 "$@" -c "$COUNT_ROWS_SQL" | psql -X -q -At -v ON_ERROR_STOP=1 "$@" | sort; }

# Applies the roles file $3 (when given) and restores archive $1 into a new database $2 of the
# cluster the libpq environment points at.
restore_into() {
  local archive=$1 target=$2 roles=\${3:-}
  if [ -n "$roles" ]; then psql -X -q -v ON_ERROR_STOP=1 --dbname=postgres -f "$roles" >/dev/null || return 1; fi
  createdb "$target" || return 1
  pg_restore --exit-on-error --no-owner --dbname="$target" "$archive"
}

# Restores archive $1 with roles $2 into a throwaway server initialised in this pod, never on the
# production instance, and compares its row counts per table with the manifest $3.
verify() {
  local archive=$1 roles=$2 manifest=$3 data rc=0
  [ -s "$manifest" ] || { log "restore check FAILED for $archive: no tables"; return 1; }
  data=$(mktemp -d "\${VERIFY_DIR:-$BACKUP_DIR}/verify-XXXXXX")
  (
    # errexit does not hold in a subshell whose status is tested, so every step is checked.
    initdb --pgdata="$data/db" --username=postgres --auth=trust --no-sync >/dev/null || exit 1
    pg_ctl --pgdata="$data/db" --log="$data/log" --wait --silent -o "-c port=5432 -c listen_addresses='' -c unix_socket_directories='$data' -c fsync=off" start || { cat "$data/log"; exit 1; }
    trap 'pg_ctl --pgdata="$data/db" --mode=immediate --wait --silent stop' EXIT
    export PGHOST=$data PGPORT=5432 PGUSER=postgres PGDATABASE=postgres PGSSLMODE=disable
    unset PGPASSWORD
    restore_into "$archive" restored "$roles" || exit 1
    row_counts --dbname=restored > "$data/restored.counts" || exit 1
    diff "$manifest" "$data/restored.counts" > "$data/diff" || { echo "row counts differ (manifest <, restored >):"; cat "$data/diff"; exit 1; }
  ) || rc=$?
  rm -rf "$data"
  if [ "$rc" -ne 0 ]; then
    log "restore check FAILED for $archive"
    return 1
  fi
  log "restore check passed for $archive: $(wc -l < "$manifest") tables, row counts equal"
}

# Dumps to $1 (with the roles beside it as $1.roles.sql) and keeps them only when they restore with
# the same row counts. The counts and the dump read one exported snapshot, so concurrent writes do
# not make them differ. Steps are checked one by one: in loop mode, "once || log" switches errexit
# off inside once.
dump_verified() {
  local archive=$1 snapshot line rc=0 row_security=() uncovered
  # pg_dump turns row security off and fails on any table RLS would filter. A role without BYPASSRLS
  # (on RDS and Cloud SQL nobody may grant it) reads through the ${BACKUP_POLICY} policy the
  # migrations put on every RLS table, with row security on; a table without that policy would be
  # dumped short, so it fails the backup instead.
  if [ "$(psql -X -q -At -c "select rolbypassrls from pg_roles where rolname = current_user")" != t ]; then
    row_security=(--enable-row-security)
    uncovered=$(psql -X -q -At -v ON_ERROR_STOP=1 -c "$UNCOVERED_SQL") || return 1
    if [ -n "$uncovered" ]; then
      log "pg_dump FAILED: $uncovered under row-level security without policy ${BACKUP_POLICY}; the next deploy's migration job adds it"
      return 1
    fi
  fi
  coproc SNAPSHOT { psql -X -q -At -v ON_ERROR_STOP=1; }
  echo "begin isolation level repeatable read read only; select pg_export_snapshot();" >&"\${SNAPSHOT[1]}"
  read -r -t 60 snapshot <&"\${SNAPSHOT[0]}" || snapshot=""
  if [ -z "$snapshot" ] || ! pg_dump "\${row_security[@]}" --snapshot="$snapshot" --format=custom --compress=6 --file="$archive.partial"; then
    rc=1
  else
    # The counts in the same transaction, hence the same snapshot; a sentinel marks their end.
    printf '%s \\gexec\nselect %s;\ncommit;\n' "$COUNT_ROWS_SQL" "'--end--'" >&"\${SNAPSHOT[1]}"
    # Not in a pipeline: a coprocess's descriptors do not reach subshells.
    : > "$archive.manifest"
    while true; do
      read -r -t 600 line <&"\${SNAPSHOT[0]}" || { rc=1; break; }
      [ "$line" = "--end--" ] && break
      printf '%s\n' "$line" >> "$archive.manifest"
    done
    sort -o "$archive.manifest" "$archive.manifest"
  fi
  local to_session=\${SNAPSHOT[1]}
  exec {to_session}>&-
  wait "$SNAPSHOT_PID" || rc=1
  if [ "$rc" -ne 0 ] || ! dump_roles > "$archive.roles.partial"; then
    rm -f "$archive.partial" "$archive.roles.partial" "$archive.manifest"
    log "pg_dump FAILED"
    return 1
  fi
  if ! verify "$archive.partial" "$archive.roles.partial" "$archive.manifest"; then
    rm -f "$archive.partial" "$archive.roles.partial" "$archive.manifest"
    return 1
  fi
  rm -f "$archive.manifest"
  mv "$archive.roles.partial" "$archive.roles.sql"
  mv "$archive.partial" "$archive"
}

once() {
  local day archive started
  started=$(date +%s)
  day=$(backup_day)
  mkdir -p "$BACKUP_DIR/daily" "$BACKUP_DIR/weekly"
  archive="$BACKUP_DIR/daily/$DB-$day.dump"
  dump_verified "$archive" || return 1
  keep_rotated "$BACKUP_DIR" "$archive" '*.dump'
  date -u +%s > "$BACKUP_DIR/last-success"
  record dump "$started" "$archive" || { log "backup $archive kept, but recording it FAILED"; return 1; }
  log "backup $archive kept"
}

# Cloud step 1: one verified dump into BACKUP_DIR (a scratch directory shared with the upload step).
dump() {
  local started
  started=$(date +%s)
  mkdir -p "$BACKUP_DIR"
  dump_verified "$BACKUP_DIR/$DB-$(backup_stamp).dump" || return 1
  # For the record step: the run's duration counts from here.
  echo "$started" > "$BACKUP_DIR/started"
  log "verified dump ready in $BACKUP_DIR"
}

aws_s3() { aws \${BACKUP_S3_ENDPOINT:+--endpoint-url "$BACKUP_S3_ENDPOINT"} s3 "$@"; }

# Cloud step 2: upload the verified dump to the fixed key daily/<db>.dump, and to weekly/<db>.dump
# when the current weekly version is 7 or more days old. The bucket is versioned and its lifecycle
# keeps the newest 7 and 4 versions of those keys, so a failed run removes nothing.
upload() {
  local dumps name day listing newest rc=0
  : "\${BACKUP_BUCKET:?BACKUP_BUCKET is not set}"
  shopt -s nullglob
  dumps=("$BACKUP_DIR"/*.dump)
  [ \${#dumps[@]} -eq 1 ] || { log "upload FAILED: expected one verified dump in $BACKUP_DIR, found \${#dumps[@]}"; return 1; }
  name=\${dumps[0]##*/}
  day=$(printf '%s\\n' "$name" | days_of)
  aws_s3 cp --only-show-errors "\${dumps[0]}.roles.sql" "s3://$BACKUP_BUCKET/daily/$DB.roles.sql"
  aws_s3 cp --only-show-errors "\${dumps[0]}" "s3://$BACKUP_BUCKET/daily/$DB.dump"
  log "uploaded s3://$BACKUP_BUCKET/daily/$DB.dump ($name)"
  # "ls" exits 1 when nothing matches (no weekly dump yet); anything above is an error. Its first
  # column is the current version's upload day.
  listing=$(aws_s3 ls "s3://$BACKUP_BUCKET/weekly/$DB.dump") || rc=$?
  [ "$rc" -le 1 ] || { log "listing weekly/ FAILED"; return 1; }
  newest=$(printf '%s\\n' "$listing" | awk -v key="$DB.dump" '$4 == key { print $1 }' | sort | tail -n 1)
  if weekly_due "$day" "$newest"; then
    aws_s3 cp --only-show-errors "\${dumps[0]}.roles.sql" "s3://$BACKUP_BUCKET/weekly/$DB.roles.sql"
    aws_s3 cp --only-show-errors "\${dumps[0]}" "s3://$BACKUP_BUCKET/weekly/$DB.dump"
    log "uploaded s3://$BACKUP_BUCKET/weekly/$DB.dump ($name)"
  fi
}

# Cloud step 3, after a successful upload: records the uploaded dump.
record_uploaded() {
  local dumps
  # In the CronJob pod the dump step holds PGPASSWORD, and one Secret per pod is keyed by variable name.
  if [ -n "\${RECORD_PGPASSWORD:-}" ]; then export PGPASSWORD=$RECORD_PGPASSWORD; fi
  shopt -s nullglob
  dumps=("$BACKUP_DIR"/*.dump)
  if [ \${#dumps[@]} -ne 1 ] || [ ! -f "$BACKUP_DIR/started" ]; then
    log "record FAILED: expected one uploaded dump and its start time in $BACKUP_DIR"
    return 1
  fi
  record dump "$(cat "$BACKUP_DIR/started")" "\${dumps[0]}"
  log "recorded \${dumps[0]##*/} in northstack_ops.backup_runs"
}

# Healthy while the last verified backup is younger than two intervals.
check() {
  [ -f "$BACKUP_DIR/last-success" ] || { echo "no verified backup yet"; return 1; }
  local age=$(( $(date -u +%s) - $(cat "$BACKUP_DIR/last-success") ))
  [ "$age" -lt $(( 2 * INTERVAL_SECONDS )) ] || { echo "last verified backup is $age s old"; return 1; }
}

# Records a kept backup: kind, seconds since the start stamp $2, size and name of dump $3.
record() {
  local kind=$1 started=$2 archive=$3
  printf '%s\n' "$RECORD_SQL" | psql -X -q -v ON_ERROR_STOP=1 -v kind="$kind" -v duration="$(( $(date +%s) - started ))" \
    -v size="$(stat -c %s "$archive")" -v object="\${archive##*/}" >/dev/null
}

case "\${1:-}" in
  once) once ;;
  loop)
    while true; do
      once || log "backup failed; retrying in $INTERVAL_SECONDS s"
      sleep "$INTERVAL_SECONDS"
    done
    ;;
  check) check ;;
  prune) prune "$BACKUP_DIR/daily" "$KEEP_DAILY" '*.dump'; prune "$BACKUP_DIR/weekly" "$KEEP_WEEKLY" '*.dump' ;;
  restore)
    [ $# -eq 3 ] || [ $# -eq 4 ] || { echo "usage: backup.sh restore <archive> <database> [<roles.sql>]" >&2; exit 2; }
    roles=\${4:-}
    [ -n "$roles" ] || [ ! -f "$2.roles.sql" ] || roles="$2.roles.sql"
    restore_into "$2" "$3" "$roles"
    log "restored $2 into database $3\${roles:+ after the roles in $roles}"
    ;;
  dump) dump ;;
  upload) upload ;;
  record) record_uploaded ;;
  *) echo "usage: backup.sh once | loop | check | prune | restore <archive> <database> [<roles.sql>] | dump | upload | record" >&2; exit 2 ;;
esac
`;
}
