/**
 * The logical-backup script the dev stack's backup container runs, rendered as text so that tests
 * run the very same script against a real PostgreSQL.
 *
 * Every backup is restored into a scratch database before it counts: a dump that cannot be restored
 * is not kept. Retention keeps the newest `keepDaily` daily dumps, and promotes a dump to weekly when
 * the newest weekly one is 7 or more days old, keeping the newest `keepWeekly` of those.
 */
export interface BackupScriptArgs {
  /** Daily dumps kept. Default: 7. */
  readonly keepDaily?: number;
  /** Weekly dumps kept. Default: 4. */
  readonly keepWeekly?: number;
  /** Seconds between backups in `loop` mode. Default: 86400. */
  readonly intervalSeconds?: number;
}

export function renderBackupScript(args: BackupScriptArgs = {}): string {
  const keepDaily = args.keepDaily ?? 7;
  const keepWeekly = args.keepWeekly ?? 4;
  const interval = args.intervalSeconds ?? 86400;
  for (const [name, value] of Object.entries({ keepDaily, keepWeekly, intervalSeconds: interval })) {
    if (!Number.isInteger(value) || value < 1) throw new Error(`backup ${name} ${value} must be a positive integer`);
  }
  return `#!/bin/bash
# northstack logical backups: pg_dump, a verified restore, then retention.
# Usage: backup.sh once | loop | check | prune | restore <archive> <database>
# Connection settings come from the libpq environment (PGHOST, PGPORT, PGUSER, PGPASSWORD, PGDATABASE).
set -euo pipefail

BACKUP_DIR=\${BACKUP_DIR:-/backups}
KEEP_DAILY=${keepDaily}
KEEP_WEEKLY=${keepWeekly}
INTERVAL_SECONDS=${interval}
DB=\${PGDATABASE:-postgres}

log() { printf '%s backup: %s\\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$*"; }

# The backup's calendar day; BACKUP_DATE overrides it so that retention can be exercised in tests.
backup_day() { date -u -d "\${BACKUP_DATE:-now}" +%Y-%m-%d; }

restore_into() {
  local archive=$1 target=$2
  createdb "$target"
  pg_restore --exit-on-error --no-owner --dbname="$target" "$archive"
}

verify() {
  local archive=$1 scratch tables
  scratch="northstack_restore_check_$$"
  dropdb --if-exists "$scratch" >/dev/null
  if ! restore_into "$archive" "$scratch"; then
    dropdb --if-exists "$scratch" >/dev/null || true
    log "restore check FAILED for $archive"
    return 1
  fi
  tables=$(psql --dbname="$scratch" -Atc "select count(*) from pg_tables where schemaname not in ('pg_catalog', 'information_schema')")
  dropdb "$scratch"
  if [ "$tables" -eq 0 ]; then
    log "restore check FAILED for $archive: no tables"
    return 1
  fi
  log "restore check passed for $archive: $tables tables"
}

prune() {
  local dir=$1 keep=$2
  find "$dir" -maxdepth 1 -name '*.dump' | sort | head -n "-$keep" | xargs -r rm -f --
}

newest_weekly_day() {
  find "$BACKUP_DIR/weekly" -maxdepth 1 -name '*.dump' | sort | tail -n 1 | sed -E 's/.*-([0-9]{4}-[0-9]{2}-[0-9]{2})\\.dump$/\\1/'
}

once() {
  local day archive newest
  day=$(backup_day)
  mkdir -p "$BACKUP_DIR/daily" "$BACKUP_DIR/weekly"
  archive="$BACKUP_DIR/daily/$DB-$day.dump"
  # Steps are checked one by one: in loop mode, "once || log" switches errexit off inside once.
  if ! pg_dump --format=custom --compress=6 --file="$archive.partial"; then
    rm -f "$archive.partial"
    log "pg_dump FAILED"
    return 1
  fi
  if ! verify "$archive.partial"; then
    rm -f "$archive.partial"
    return 1
  fi
  mv "$archive.partial" "$archive" || return 1
  newest=$(newest_weekly_day)
  if [ -z "$newest" ] || [ $(( ($(date -u -d "$day" +%s) - $(date -u -d "$newest" +%s)) / 86400 )) -ge 7 ]; then
    cp "$archive" "$BACKUP_DIR/weekly/"
  fi
  prune "$BACKUP_DIR/daily" "$KEEP_DAILY"
  prune "$BACKUP_DIR/weekly" "$KEEP_WEEKLY"
  date -u +%s > "$BACKUP_DIR/last-success"
  log "backup $archive kept"
}

# Healthy while the last verified backup is younger than two intervals.
check() {
  [ -f "$BACKUP_DIR/last-success" ] || { echo "no verified backup yet"; return 1; }
  local age=$(( $(date -u +%s) - $(cat "$BACKUP_DIR/last-success") ))
  [ "$age" -lt $(( 2 * INTERVAL_SECONDS )) ] || { echo "last verified backup is $age s old"; return 1; }
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
  prune) prune "$BACKUP_DIR/daily" "$KEEP_DAILY"; prune "$BACKUP_DIR/weekly" "$KEEP_WEEKLY" ;;
  restore)
    [ $# -eq 3 ] || { echo "usage: backup.sh restore <archive> <database>" >&2; exit 2; }
    restore_into "$2" "$3"
    log "restored $2 into database $3"
    ;;
  *) echo "usage: backup.sh once | loop | check | prune | restore <archive> <database>" >&2; exit 2 ;;
esac
`;
}
