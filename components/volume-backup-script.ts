/**
 * The dev stack's Redis and Storage backups, rendered as text so that tests run the very same script
 * against a real redis-server, a real PostgreSQL and a real directory of objects.
 *
 * - redis: `redis-cli --rdb` asks the server over the network for a point-in-time RDB (what a
 *   replica receives on its first sync), so the job needs the password and no share of Redis's
 *   volume. A copy counts only once `redis-check-rdb` reads it to the end.
 * - storage: a gzipped tarball of Storage's objects directory, mounted read-only. A tarball counts
 *   only once gzip's check and a full listing pass and it lists every file tar saw at the source.
 *
 * Each kept copy lands in <BACKUP_DIR>/<kind>/daily/, becomes weekly too when due, and retention keeps
 * 7 daily and 4 weekly: the same shell functions as the Postgres dumps (backup-shell.ts). Each is
 * recorded in northstack_ops.backup_runs with kind 'redis' or 'storage', so BackupTooOld (per kind)
 * fires when either stops. A copy that fails its check is deleted, neither kept nor recorded.
 *
 * Off the host, when OFFSITE_BUCKET is set (northstack:backupOffsite*): each kept copy is uploaded
 * with the AWS CLI to s3://<bucket>/<OFFSITE_PREFIX>/<kind>/daily/, its stored size read back, copied
 * to weekly/ when the bucket's newest weekly copy is 7 or more days older, and each prefix keeps its
 * newest 7 and 4: the same rule as the volume, applied to the bucket's own listing, so a lost volume
 * never prunes the bucket. Every attempt is recorded as kind '<kind>-offsite', failed ones with
 * succeeded false, and a failure fails the run.
 */
import type { BackupRunKind } from "./backup-alerts";
import { BACKUP_RECORD_SQL, VOLUME_RETENTION, retentionShellFunctions, validateKeepCounts } from "./backup-shell";

/** What the job backs up; each is a `kind` in northstack_ops.backup_runs. */
export const VOLUME_BACKUP_KINDS = ["redis", "storage"] as const;
export type VolumeBackupKind = (typeof VOLUME_BACKUP_KINDS)[number];
/** The kind each copy's upload off the host is recorded as. */
export const OFFSITE_KINDS = {
  redis: "redis-offsite",
  storage: "storage-offsite",
} as const satisfies Record<VolumeBackupKind, BackupRunKind>;

export interface VolumeBackupScriptArgs {
  /** Daily copies kept of each kind. Default: 7. */
  readonly keepDaily?: number;
  /** Weekly copies kept of each kind. Default: 4. */
  readonly keepWeekly?: number;
  /** Seconds between runs in `loop` mode. Default: 86400. */
  readonly intervalSeconds?: number;
  /** What `once` backs up, in order. Default: redis and storage. */
  readonly kinds?: readonly VolumeBackupKind[];
}

export function renderVolumeBackupScript(args: VolumeBackupScriptArgs = {}): string {
  const keepDaily = args.keepDaily ?? VOLUME_RETENTION.keepDaily;
  const keepWeekly = args.keepWeekly ?? VOLUME_RETENTION.keepWeekly;
  const interval = args.intervalSeconds ?? 86400;
  validateKeepCounts("volume backup", { keepDaily, keepWeekly, intervalSeconds: interval });
  const kinds = args.kinds ?? VOLUME_BACKUP_KINDS;
  const unknown = kinds.filter((k) => !VOLUME_BACKUP_KINDS.includes(k));
  if (kinds.length === 0 || unknown.length > 0)
    throw new Error(
      `volume backup kinds: ${JSON.stringify(kinds)} is not allowed; name one or more of ${VOLUME_BACKUP_KINDS.join(", ")}`,
    );
  return `#!/bin/bash
# northstack Redis and Storage backups: a copy, its check, then retention and a record.
# Usage: volume-backup.sh once | loop | check | redis | storage
# redis reads REDIS_HOST, REDIS_PORT and REDISCLI_AUTH (redis-cli takes the password from there, never
# from its command line); storage reads STORAGE_DIR; recording uses the libpq environment. With
# OFFSITE_BUCKET set, each kept copy also goes there: OFFSITE_ENDPOINT (host[:port], https),
# OFFSITE_PREFIX, OFFSITE_VERIFY_TLS (true or false); the AWS CLI reads the region and addressing style
# from AWS_CONFIG_FILE and the keys from AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY.
set -euo pipefail

BACKUP_DIR=\${BACKUP_DIR:-/backups}
KEEP_DAILY=${keepDaily}
KEEP_WEEKLY=${keepWeekly}
INTERVAL_SECONDS=${interval}
KINDS=(${kinds.join(" ")})
OFFSITE_BUCKET=\${OFFSITE_BUCKET:-}
declare -A OFFSITE_KIND=(${VOLUME_BACKUP_KINDS.map((k) => `[${k}]=${OFFSITE_KINDS[k]}`).join(" ")})

RECORD_SQL="${BACKUP_RECORD_SQL}"

log() { printf '%s volume-backup: %s\\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$*"; }

${retentionShellFunctions()}
# Records a run of kind $1, started at epoch $2, of file $3 stored as object $4; succeeded $5 (default true).
record() {
  local kind=$1 started=$2 file=$3 object=$4 succeeded=\${5:-true}
  printf '%s\\n' "$RECORD_SQL" | psql -X -q -v ON_ERROR_STOP=1 -v kind="$kind" -v duration="$(( $(date +%s) - started ))" \\
    -v size="$(stat -c %s "$file")" -v object="$object" -v succeeded="$succeeded" >/dev/null
}

# The AWS CLI against the off-host endpoint, over https; OFFSITE_VERIFY_TLS=false skips the certificate check.
offsite_aws() {
  local tls=()
  [ "\${OFFSITE_VERIFY_TLS:-true}" = true ] || tls=(--no-verify-ssl)
  aws --endpoint-url "https://$OFFSITE_ENDPOINT" "\${tls[@]}" "$@"
}

# The objects under prefix $1/ as "<tier>/<name> <size>", for the names in daily/ and weekly/ that
# match the pattern $2: one request (the CLI follows the pages), which also gives each stored size.
offsite_listing() {
  local rows key size
  rows=$(offsite_aws s3api list-objects-v2 --bucket "$OFFSITE_BUCKET" --prefix "$1/" --query 'Contents[].[Key,Size]' --output text) || return 1
  while read -r key size; do
    key=\${key#"$1/"}
    # shellcheck disable=SC2053 # $2 is a pattern
    if [[ $key == daily/$2 || $key == weekly/$2 ]] && [[ \${key#*/} != */* ]]; then printf '%s %s\\n' "$key" "$size"; fi
  done <<< "$rows"
}

# Fails, naming it, unless listing $1 holds <tier>/<name> $2 with the size of file $3.
offsite_stored() {
  local stored
  stored=$(printf '%s\\n' "$1" | awk -v key="$2" '$1 == key { print $2 }')
  [ "$stored" = "$(stat -c %s "$3")" ] || { echo "$2 is stored with \${stored:-no} bytes, not $(stat -c %s "$3")"; return 1; }
}

# Deletes the keys on stdin (one per line), up to 1000 per request (S3's limit); fails on any key
# the store did not delete.
offsite_delete() {
  local objects errors
  while read -r objects; do
    errors=$(offsite_aws s3api delete-objects --bucket "$OFFSITE_BUCKET" --delete "{\\"Objects\\":[$objects],\\"Quiet\\":true}" \\
      --query 'Errors[].[Key,Code]' --output text) || return 1
    [ -z "$errors" ] || [ "$errors" = None ] || { echo "not deleted: $errors"; return 1; }
  done < <(awk 'NF { printf "%s{\\"Key\\":\\"%s\\"}", (n % 1000 ? "," : (n ? "\\n" : "")), $0; n++ } END { if (n) printf "\\n" }')
}

# Copy $2 (kept on the volume) into prefix $1's daily/ and, when due, weekly/, then the bucket's
# retention over the objects named like $3, with the volume's functions (weekly_due, surplus). The
# listing after the uploads gives the stored sizes, checked against the file's, and what to prune, so
# a failed upload never prunes: a plain day costs three requests (upload, list, delete), whatever
# the number of objects pruned.
offsite_copy() {
  local root=$1 file=$2 pattern=$3 name=\${2##*/} listing weekly
  offsite_aws s3 cp --only-show-errors "$file" "s3://$OFFSITE_BUCKET/$root/daily/$name" || return 1
  listing=$(offsite_listing "$root" "$pattern") || return 1
  weekly=$(printf '%s\\n' "$listing" | sed -n 's|^weekly/\\([^ ]*\\) .*|\\1|p')
  if weekly_due "$(printf '%s\\n' "$name" | days_of)" "$(printf '%s\\n' "$weekly" | days_of | sort | tail -n 1)"; then
    offsite_aws s3 cp --only-show-errors "$file" "s3://$OFFSITE_BUCKET/$root/weekly/$name" || return 1
    listing=$(offsite_listing "$root" "$pattern") || return 1
    offsite_stored "$listing" "weekly/$name" "$file" || return 1
  fi
  offsite_stored "$listing" "daily/$name" "$file" || return 1
  {
    printf '%s\\n' "$listing" | sed -n 's|^daily/\\([^ ]*\\) .*|\\1|p' | surplus "$KEEP_DAILY" | sed "s|^|$root/daily/|"
    printf '%s\\n' "$listing" | sed -n 's|^weekly/\\([^ ]*\\) .*|\\1|p' | surplus "$KEEP_WEEKLY" | sed "s|^|$root/weekly/|"
  } | offsite_delete
}

# Kind $1's copy $2, named like $3, off the host; recorded as the kind's off-host kind, failed or not.
offsite_kind() {
  local kind=$1 file=$2 pattern=$3 started root errors
  started=$(date +%s)
  root="\${OFFSITE_PREFIX:?OFFSITE_PREFIX is not set}/$kind"
  : "\${OFFSITE_ENDPOINT:?OFFSITE_ENDPOINT is not set}"
  errors=$(mktemp)
  if offsite_copy "$root" "$file" "$pattern" >"$errors" 2>&1; then
    rm -f "$errors"
    record "\${OFFSITE_KIND[$kind]}" "$started" "$file" "$root/daily/\${file##*/}" true ||
      { log "$kind: uploaded to s3://$OFFSITE_BUCKET/$root/daily/, but recording it FAILED"; return 1; }
    log "$kind: s3://$OFFSITE_BUCKET/$root/daily/\${file##*/} uploaded and its size read back; the bucket keeps $KEEP_DAILY daily and $KEEP_WEEKLY weekly"
    return 0
  fi
  # The CLI's own messages name the operation and the store's error, never the keys.
  log "$kind: off-host copy to s3://$OFFSITE_BUCKET/$root FAILED: $(grep -v -e Warning -e 'warnings.warn' "$errors" | tail -n 3)"
  rm -f "$errors"
  record "\${OFFSITE_KIND[$kind]}" "$started" "$file" "$root/daily/\${file##*/}" false ||
    log "$kind: recording the failed off-host copy FAILED too"
  return 1
}

# A point-in-time RDB from the server, checked to its end by redis-check-rdb, into $1.
copy_redis() {
  local out=$1 report
  : "\${REDIS_HOST:?REDIS_HOST is not set}"
  redis-cli -h "$REDIS_HOST" -p "\${REDIS_PORT:-6379}" --no-auth-warning --rdb "$out" >/dev/null 2>"$out.log" || {
    log "redis: redis-cli --rdb FAILED: $(tail -n 3 "$out.log")"; rm -f "$out.log"; return 1; }
  rm -f "$out.log"
  report=$(redis-check-rdb "$out" 2>&1) || { log "redis: redis-check-rdb FAILED for the copy: $(printf '%s' "$report" | tail -n 3)"; return 1; }
  log "redis: RDB checked, $(printf '%s\\n' "$report" | sed -nE 's/.*\\[info\\] ([0-9]+) keys read.*/\\1/p') keys"
}

# A gzipped tarball of STORAGE_DIR into $1, with every file tar read listed back from the archive.
copy_storage() {
  local out=$1 rc=0
  : "\${STORAGE_DIR:?STORAGE_DIR is not set}"
  [ -d "$STORAGE_DIR" ] || { log "storage: $STORAGE_DIR is not a directory"; return 1; }
  # GNU tar exits 1 when a file changed while it was read: that copy is not consistent, so it fails.
  # The directory's entries rather than ".": a restore then leaves the volume's root directory as it is.
  find "$STORAGE_DIR" -mindepth 1 -maxdepth 1 -printf '%P\\0' |
    tar --create --gzip --file="$out" --directory="$STORAGE_DIR" --verbose --numeric-owner --null --files-from=- > "$out.read" || rc=$?
  if [ "$rc" -ne 0 ]; then log "storage: tar FAILED (exit $rc)"; rm -f "$out.read"; return 1; fi
  if ! gzip --test "$out" || ! tar --list --gzip --file="$out" > "$out.listed"; then
    log "storage: the tarball does not read back"; rm -f "$out.read" "$out.listed"; return 1
  fi
  if ! diff <(sort "$out.read") <(sort "$out.listed") >/dev/null; then
    log "storage: the tarball lists other entries than were read"; rm -f "$out.read" "$out.listed"; return 1
  fi
  log "storage: tarball checked, $(wc -l < "$out.listed") entries"
  rm -f "$out.read" "$out.listed"
}

# One copy of kind $1: made into daily/ as a partial file, checked, renamed, rotated, recorded.
backup_kind() {
  local kind=$1 started day root file ext
  started=$(date +%s)
  day=$(backup_day)
  root=$BACKUP_DIR/$kind
  case "$kind" in
    redis) ext=rdb ;;
    storage) ext=tar.gz ;;
    *) log "unknown kind $kind"; return 1 ;;
  esac
  mkdir -p "$root/daily" "$root/weekly"
  file="$root/daily/$kind-$day.$ext"
  if ! "copy_$kind" "$file.partial"; then
    rm -f "$file.partial"
    log "$kind: copy FAILED; nothing kept or recorded"
    return 1
  fi
  mv -- "$file.partial" "$file"
  keep_rotated "$root" "$file" "$kind-*.$ext"
  date -u +%s > "$root/last-success"
  record "$kind" "$started" "$file" "$kind/daily/\${file##*/}" || { log "$kind: $file kept, but recording it FAILED"; return 1; }
  log "$kind: $file kept ($(stat -c %s "$file") bytes in $(( $(date +%s) - started )) s)"
  if [ -n "$OFFSITE_BUCKET" ]; then offsite_kind "$kind" "$file" "$kind-*.$ext" || return 1; fi
}

# Every kind, each tried even when another fails; fails when any failed.
once() {
  local kind rc=0
  for kind in "\${KINDS[@]}"; do backup_kind "$kind" || rc=1; done
  return "$rc"
}

# Healthy while every kind's last kept copy is younger than two intervals.
check() {
  local kind age
  for kind in "\${KINDS[@]}"; do
    [ -f "$BACKUP_DIR/$kind/last-success" ] || { echo "no $kind copy kept yet"; return 1; }
    age=$(( $(date -u +%s) - $(cat "$BACKUP_DIR/$kind/last-success") ))
    [ "$age" -lt $(( 2 * INTERVAL_SECONDS )) ] || { echo "last $kind copy is $age s old"; return 1; }
  done
}

case "\${1:-}" in
  once) once ;;
  loop)
    while true; do
      once || log "a backup failed; retrying in $INTERVAL_SECONDS s"
      sleep "$INTERVAL_SECONDS"
    done
    ;;
  check) check ;;
  redis|storage) backup_kind "$1" ;;
  *) echo "usage: volume-backup.sh once | loop | check | redis | storage" >&2; exit 2 ;;
esac
`;
}
