/**
 * What every backup script shares, as shell text: the Postgres dumps (backup-script.ts) and the
 * Redis and Storage copies (volume-backup-script.ts).
 *
 * Recording: each kept backup is one row in northstack_ops.backup_runs of the database, with its
 * kind; the Postgres exporter reads the table (backup-alerts.ts) and BackupTooOld fires per kind.
 *
 * Retention of backups kept on a volume (dev), one rule in one place: a backup lands in
 * `<root>/daily/`, becomes a weekly one too when the newest weekly one is 7 or more days old, and
 * each directory keeps its newest KEEP_DAILY and KEEP_WEEKLY backups. The counts are the buckets' (BACKUP_RETENTION), so a
 * volume keeps what a bucket's lifecycle keeps. The volume backup's off-host copies apply the same
 * functions (weekly_due, surplus) to a bucket's listing (volume-backup-script.ts).
 *
 * Contract with the scripts: names end in `-YYYY-MM-DD[THHMMSSZ].<ext>` so that they sort by day;
 * a backup's companion files are named `<backup>.<suffix>` and go with it; the script sets
 * KEEP_DAILY and KEEP_WEEKLY.
 */
import { BACKUP_RETENTION } from "./retention";

function keepOf(prefix: string): number {
  const slot = BACKUP_RETENTION.prefixes.find((p) => p.prefix === prefix);
  if (!slot) throw new Error(`BACKUP_RETENTION has no ${prefix} slot`);
  return slot.keep;
}

/** Backups a volume keeps by default: as many as the bucket lifecycle keeps. */
export const VOLUME_RETENTION = { keepDaily: keepOf("daily/"), keepWeekly: keepOf("weekly/") } as const;

/**
 * Records one backup run; psql variables kind, duration, size, object and succeeded (a drill, an
 * off-host upload and the Redis DR copy record failures too; a backup records only what it kept).
 * The migrations create the table (005_ops.sql). Any role that records runs may run it: the recorder
 * role may only insert (components/db-roles.ts); the backup role's sessions are read-only by
 * default, so the insert asks for READ WRITE.
 */
export const BACKUP_RECORD_SQL = `BEGIN READ WRITE;
INSERT INTO northstack_ops.backup_runs (kind, duration_seconds, size_bytes, object, succeeded) VALUES (:'kind', :'duration', :'size', :'object', :'succeeded');
COMMIT;`;

/**
 * Forgets runs older than the alerts and the runbooks ever look back. Only the backup role runs it,
 * after recording a dump: the recorder role may not read or delete rows.
 */
export const BACKUP_RUNS_PRUNE_SQL = `BEGIN READ WRITE;
DELETE FROM northstack_ops.backup_runs WHERE finished_at < now() - interval '400 days';
COMMIT;`;

/** Throws unless each count is a positive integer, naming the argument. */
export function validateKeepCounts(what: string, counts: Record<string, number>): void {
  const problems = Object.entries(counts)
    .filter(([, value]) => !Number.isInteger(value) || value < 1)
    .map(([name, value]) => `${name} ${value} must be a positive integer`);
  if (problems.length) throw new Error(`${what}: ${problems.join("; ")}`);
}

/** The shell functions, as text to paste into a bash script. Pure. */
export function retentionShellFunctions(): string {
  return `# The backup's calendar day; BACKUP_DATE overrides it so that retention can be exercised in tests.
backup_day() { date -u -d "\${BACKUP_DATE:-now}" +%Y-%m-%d; }
# Day and time, for object names that never repeat (a retried run must not overwrite).
backup_stamp() { date -u -d "\${BACKUP_DATE:-now}" +%Y-%m-%dT%H%M%SZ; }

# The day in a backup's name (<name>-YYYY-MM-DD[THHMMSSZ].<ext>), for each name on stdin.
days_of() { sed -nE 's/.*-([0-9]{4}-[0-9]{2}-[0-9]{2})(T[0-9]{6}Z)?\\.[a-z][a-z.]*$/\\1/p'; }

# True when a backup of day $1 should also become weekly, given the newest weekly day $2 (empty: none yet).
weekly_due() {
  local day=$1 newest=$2
  [ -z "$newest" ] || [ $(( ($(date -u -d "$day" +%s) - $(date -u -d "$newest" +%s)) / 86400 )) -ge 7 ]
}

# The names (or paths in one directory) on stdin beyond the newest $1: what retention deletes. Names
# sort by their day, so this is the rule for a volume's directories and a bucket's prefixes alike.
surplus() { sort | head -n "-$1"; }

# Keeps the newest $2 backups named like $3 (a find -name pattern) in directory $1; an older one
# goes with its companion files.
prune() {
  local dir=$1 keep=$2 pattern=$3 old
  find "$dir" -maxdepth 1 -name "$pattern" | surplus "$keep" | while read -r old; do rm -f -- "$old" "$old".*; done
}

# The newest day among the backups named like $2 in directory $1; empty when there are none.
newest_day() { find "$1" -maxdepth 1 -name "$2" | days_of | sort | tail -n 1; }

# Backup $2 has just landed in $1/daily (with its companion files): copies it to $1/weekly when a
# weekly one is due, then keeps the newest KEEP_DAILY and KEEP_WEEKLY backups named like $3.
keep_rotated() {
  local root=$1 file=$2 pattern=$3 companions=()
  mkdir -p "$root/weekly"
  if weekly_due "$(printf '%s\\n' "\${file##*/}" | days_of)" "$(newest_day "$root/weekly" "$pattern")"; then
    mapfile -t companions < <(compgen -G "$file.*" || true)
    cp -- "$file" "\${companions[@]}" "$root/weekly/"
  fi
  prune "$root/daily" "$KEEP_DAILY" "$pattern"
  prune "$root/weekly" "$KEEP_WEEKLY" "$pattern"
}
`;
}
