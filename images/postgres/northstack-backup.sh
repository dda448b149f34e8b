#!/bin/bash
# northstack base backups with pgBackRest, their manifests, and the restore drill.
# Usage: northstack-backup.sh once | loop | drill | check
#   once   stanza-create (idempotent), a full backup on FULL_DAY or a differential one otherwise, then a
#          restore point and a table manifest for the drill; expiry runs as part of the backup. With a
#          second repository configured (the off-host copy), the same backup there, as kind "offsite".
#   loop   `once` every day at BACKUP_HOUR (UTC) and `drill` after it, forever.
#   drill  restores the newest backup into a scratch directory, starts it socket-only on DRILL_PORT
#          (never reachable as production, never archiving), compares every table's rows and checksum
#          with the manifest, and records the drill, passed or failed, as kind "drill" in
#          northstack_ops.backup_runs, which the Postgres exporter reads.
#   check  exits non-zero unless the newest backup is younger than two days.
# pgBackRest reads PGBACKREST_CONFIG and PGBACKREST_STANZA; psql reads PGHOST (the socket directory),
# PGPORT and PGUSER. Backups and drills are recorded in northstack_ops.backup_runs; the base backup's
# own results also go to $NORTHSTACK_METRICS_FILE, which `check` reads.
set -euo pipefail

STATE_DIR=${NORTHSTACK_STATE_DIR:-/var/lib/pgbackrest/northstack}
METRICS_FILE=${NORTHSTACK_METRICS_FILE:-$STATE_DIR/metrics.prom}
MANIFEST_SQL=${NORTHSTACK_MANIFEST_SQL:-/usr/local/share/northstack/table-manifest.sql}
FULL_DAY=${FULL_DAY:-0}
BACKUP_HOUR=${BACKUP_HOUR:-3}
DRILL_PORT=${DRILL_PORT:-54329}
SCRATCH=${DRILL_SCRATCH:-/var/lib/pgbackrest/drill}
export PGBACKREST_STANZA=${PGBACKREST_STANZA:-main}

log() { printf '%s northstack-backup: %s\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$*" >&2; }

# The backup's day; BACKUP_DATE overrides it so that retention can be exercised over simulated weeks.
backup_day() { date -u -d "${BACKUP_DATE:-now}" +%Y-%m-%d; }
backup_type() { [ "$(date -u -d "$(backup_day)" +%w)" = "$FULL_DAY" ] && echo full || echo diff; }

# Labels, manifests and drills follow repository 1, the local one; repository 2, when configured, is
# the off-host copy (northstack:backupOffsite*).
newest_label() {
  pgbackrest --repo=1 info --output=json | grep -o '"label":"[^"]*"' | tail -n 1 | cut -d'"' -f4
}

offsite_configured() { grep -q '^repo2-' "${PGBACKREST_CONFIG:-/etc/pgbackrest/pgbackrest.conf}"; }

# The same backup into repository 2, so that the WAL it already receives has a base to restore from.
# Recorded as kind "offsite", so that BackupTooOld fires for it on its own when the copy stops.
offsite() {
  local type=$1 day=$2 started label
  started=$(date +%s)
  if ! pgbackrest --repo=2 backup --type="$type" --annotation="northstack-day=$day"; then
    log "off-host backup FAILED ($type, $day)"
    return 1
  fi
  label=$(pgbackrest --repo=2 info --output=json | grep -o '"label":"[^"]*"' | tail -n 1 | cut -d'"' -f4)
  record offsite "$started" "$label" true 2 || { log "off-host backup $label kept, but recording it FAILED"; return 1; }
  log "off-host backup $label ($type, $day) kept"
}

# One metric, replacing its previous value; the file is rewritten atomically for a textfile collector.
set_metric() {
  local name=$1 value=$2 help=$3 tmp
  mkdir -p "$(dirname "$METRICS_FILE")"
  tmp=$(mktemp "$METRICS_FILE.XXXXXX")
  if [ -f "$METRICS_FILE" ]; then grep -v "^\(# [A-Z]* \)\?$name " "$METRICS_FILE" >"$tmp" || true; fi
  printf '# HELP %s %s\n# TYPE %s gauge\n%s %s\n' "$name" "$help" "$name" "$name" "$value" >>"$tmp"
  chmod 0644 "$tmp"
  mv "$tmp" "$METRICS_FILE"
}

once() {
  local type day label started kept
  day=$(backup_day)
  type=$(backup_type)
  started=$(date +%s)
  mkdir -p "$STATE_DIR/manifests"
  pgbackrest stanza-create >/dev/null
  if ! pgbackrest backup --type="$type" --annotation="northstack-day=$day"; then
    set_metric northstack_backup_last_run_success 0 "1 when the last base backup succeeded."
    log "backup FAILED ($type, $day)"
    return 1
  fi
  label=$(newest_label)
  # The drill restores to this named point and expects exactly these tables; both are taken together.
  psql -X -At -v ON_ERROR_STOP=1 -c "SELECT pg_create_restore_point('northstack-$label')" >/dev/null
  psql -X -At -v ON_ERROR_STOP=1 -f "$MANIFEST_SQL" | LC_ALL=C sort >"$STATE_DIR/manifests/$label.txt"
  # `check` switches WAL and waits until the segment holding the restore point is in the repository:
  # until then a drill (or a real restore) to that point cannot reach it.
  pgbackrest check >/dev/null
  # Manifests follow the backups pgBackRest kept (expiry ran as part of the backup).
  kept=$(pgbackrest --repo=1 info --output=json | grep -o '"label":"[^"]*"' | cut -d'"' -f4)
  for f in "$STATE_DIR"/manifests/*.txt; do
    grep -qxF "$(basename "$f" .txt)" <<<"$kept" || rm -f "$f"
  done
  # The record the backup-age alerts read, through the Postgres exporter (components/backup-alerts.ts).
  if ! record base "$started" "$label" true; then
    set_metric northstack_backup_last_run_success 0 "1 when the last base backup succeeded."
    log "backup $label kept, but recording it in northstack_ops.backup_runs FAILED"
    return 1
  fi
  set_metric northstack_backup_last_run_success 1 "1 when the last base backup succeeded."
  set_metric northstack_backup_last_success_timestamp_seconds "$(date +%s)" "When the newest base backup finished."
  set_metric northstack_backup_duration_seconds "$(( $(date +%s) - started ))" "How long the newest base backup took."
  log "backup $label ($type, $day) kept with $(wc -l <"$STATE_DIR/manifests/$label.txt") tables in its manifest"
  if offsite_configured; then offsite "$type" "$day" || return 1; fi
}

# The size pgBackRest stored for backup $1 in repository $2 (default 1), in bytes.
repo_size() {
  pgbackrest --repo="${2:-1}" --set="$1" info --output=json | grep -o '"repository":{"delta":[0-9]*' | grep -o '[0-9]*$' || echo 0
}

# Records a run in northstack_ops.backup_runs, which the Postgres exporter turns into the metrics the
# backup and drill alerts read (components/backup-alerts.ts): kind $1, seconds since the stamp $2,
# backup label $3, whether it succeeded ($4: true or false; drills record failures too), and the
# repository that holds it ($5, default 1).
record() {
  local kind=$1 started=$2 label=$3 succeeded=$4 repo=${5:-1} size=0
  [ -z "$label" ] || size=$(repo_size "$label" "$repo")
  psql -X -q -v ON_ERROR_STOP=1 -v kind="$kind" -v duration="$(( $(date +%s) - started ))" -v size="${size:-0}" \
    -v object="${label:-none}" -v succeeded="$succeeded" >/dev/null <<'SQL'
INSERT INTO northstack_ops.backup_runs (kind, duration_seconds, size_bytes, object, succeeded) VALUES (:'kind', :'duration', :'size', :'object', :'succeeded');
DELETE FROM northstack_ops.backup_runs WHERE finished_at < now() - interval '400 days';
SQL
}

drill_stop() { pg_ctl -D "$SCRATCH/data" -m immediate -w stop >/dev/null 2>&1 || true; rm -rf "$SCRATCH"; }

drill() {
  local label started manifest result=0
  started=$(date +%s)
  label=$(newest_label)
  manifest="$STATE_DIR/manifests/$label.txt"
  if [ -z "$label" ] || [ ! -f "$manifest" ]; then log "drill FAILED: no backup with a manifest"; result=1; fi
  if [ "$result" -eq 0 ]; then
    drill_stop
    mkdir -p "$SCRATCH/data"
    chmod 0700 "$SCRATCH/data"
    # archive-mode=off: the copy never pushes WAL into the production repository.
    if pgbackrest restore --pg1-path="$SCRATCH/data" --set="$label" --type=name --target="northstack-$label" \
        --target-action=promote --archive-mode=off >/dev/null \
      && pg_ctl -D "$SCRATCH/data" -l "$SCRATCH/server.log" -w -t 600 \
        -o "-c port=$DRILL_PORT -c listen_addresses='' -c unix_socket_directories=$SCRATCH -c shared_preload_libraries='' -c config_file=$SCRATCH/data/postgresql.conf -c hba_file=$SCRATCH/data/pg_hba.conf" start >/dev/null; then
      for _ in $(seq 1 600); do
        # A server that stopped (recovery ended short of its target) will never promote.
        pg_ctl -D "$SCRATCH/data" status >/dev/null 2>&1 || break
        [ "$(psql -X -At -h "$SCRATCH" -p "$DRILL_PORT" -c 'SELECT pg_is_in_recovery()' 2>/dev/null)" = "f" ] && break
        sleep 1
      done
      if ! psql -X -At -v ON_ERROR_STOP=1 -h "$SCRATCH" -p "$DRILL_PORT" -f "$MANIFEST_SQL" | LC_ALL=C sort | diff "$manifest" - >&2; then
        log "drill FAILED: the restored copy of $label differs from its manifest (lines above)"
        result=1
      fi
    else
      log "drill FAILED: $label did not restore or start"
      [ -f "$SCRATCH/server.log" ] && tail -n 20 "$SCRATCH/server.log" >&2
      result=1
    fi
    drill_stop
  fi
  if ! record drill "$started" "$label" "$([ "$result" -eq 0 ] && echo true || echo false)"; then
    log "drill of ${label:-no backup} finished, but recording it in northstack_ops.backup_runs FAILED"
    return 1
  fi
  if [ "$result" -eq 0 ]; then
    log "drill passed: $label restored in $(( $(date +%s) - started )) s, every table equal to its manifest"
  fi
  return "$result"
}

check() {
  local last
  last=$(sed -n 's/^northstack_backup_last_success_timestamp_seconds //p' "$METRICS_FILE" 2>/dev/null)
  [ -n "$last" ] || { echo "no base backup yet"; return 1; }
  [ $(( $(date +%s) - last )) -lt 172800 ] || { echo "newest base backup is $(( $(date +%s) - last )) s old"; return 1; }
}

loop() {
  until pg_isready -q; do sleep 5; done
  local done_day=""
  while true; do
    if { [ "$(date -u +%Y-%m-%d)" != "$done_day" ] && [ "$(date -u +%-H)" -ge "$BACKUP_HOUR" ]; } || [ ! -f "$METRICS_FILE" ]; then
      # Each step in its own process, so that errexit holds inside it (an `if` would switch it off).
      if "$0" once; then
        done_day=$(date -u +%Y-%m-%d)
        "$0" drill || true
      fi
    fi
    sleep 300
  done
}

case "${1:-}" in
  once) once ;;
  loop) loop ;;
  drill) drill ;;
  check) check ;;
  *) echo "usage: northstack-backup.sh once | loop | drill | check" >&2; exit 2 ;;
esac
