/**
 * Alerts for backups that stop, and the exporter query they read. Pure data: one of the rule groups
 * alertRuleGroups renders (components/alert-rules/); its promtool cases are in
 * test/integration/promtool/backup.test.yml (minutes) and backup-age.test.yml (days).
 *
 * What is observable, and where it comes from:
 * - Logical dumps: every kept (verified, and on the cloud uploaded) dump is recorded by the backup
 *   job in northstack_ops.backup_runs of the database it protects (backup-script.ts). The Postgres
 *   exporter reads that table with BACKUP_EXPORTER_QUERIES (its --extend.query-path file, or
 *   PG_EXPORTER_EXTEND_QUERY_PATH), giving northstack_backup_last_success_timestamp_seconds{kind}.
 *   A job that never runs, fails, or cannot upload records nothing, so the age grows.
 * - The Redis DR copy (prod on AWS, redis-export.ts) records every run as kind "redis-dr", failed
 *   ones with succeeded false: BackupTooOld covers it like any kind but "drill".
 * - Copies of the rest (dev): base backups, Redis and Storage copies and their uploads off the host
 *   are recorded the same way, each kind of BACKUP_RUN_KINDS on its own; a failed upload is recorded
 *   as failed, which does not make the age younger.
 * - Restore drills: the cloud drill CronJob (bucketDrillSpec in backup.ts) and dev's pgBackRest drill
 *   record every drill, passed or failed, as kind "drill" in the same table; the same query gives
 *   the age of the last good drill and the result of the last one.
 * - WAL archiving: the exporter's built-in pg_stat_archiver_archived_count and
 *   pg_stat_archiver_failed_count (names checked against prometheus-postgres-exporter on a real
 *   PostgreSQL 15 by test/integration/backup-alerts.test.ts). Failing archive_command attempts are the
 *   main rules' PostgresWalArchiveFailing / PostgresWalArchiverStuck; the rule here catches the case
 *   those cannot see: an archiver that neither succeeds nor fails (a hung archive command) while rows
 *   are being written.
 */
import type { RuleGroupSpec } from "./alert-rules/types";

/** Hours after which the newest recorded backup is too old: one daily run missed, plus slack for a slow run. */
export const BACKUP_MAX_AGE_HOURS = 26;
/** Hours after which the last passed restore drill is too old: the drills run daily, after the backup. */
export const BACKUP_DRILL_MAX_AGE_HOURS = 26;

/**
 * Every kind of run recorded in northstack_ops.backup_runs, and what it is. BackupTooOld watches each
 * kind but "drill" on its own, so a kind that stops being recorded fires for itself; the drill
 * alerts watch "drill".
 */
export const BACKUP_RUN_KINDS = {
  dump: "pg_dump with its roles, verified by a restore",
  base: "pgBackRest base backup on the host",
  offsite: "the same pgBackRest backup in the off-host bucket",
  redis: "Redis RDB copy, checked by redis-check-rdb (dev)",
  storage: "tarball of Storage's objects, listed back (dev)",
  "redis-offsite": "the Redis copy uploaded to the off-host bucket (dev)",
  "storage-offsite": "the Storage tarball uploaded to the off-host bucket (dev)",
  "redis-dr": "ElastiCache's newest snapshot, copied to the bucket that replicates to ca-west-1 (prod on AWS)",
  drill: "a restore drill",
} as const;
export type BackupRunKind = keyof typeof BACKUP_RUN_KINDS;

const KIND_HELP = Object.entries(BACKUP_RUN_KINDS)
  .map(([kind, what]) => `${kind} (${what})`)
  .join(", ");

/** The postgres exporter's custom query over the table the backup job writes. */
export const BACKUP_EXPORTER_QUERIES = `# Rendered by northstack (components/backup-alerts.ts).
northstack_backup:
  query: >-
    SELECT kind,
      coalesce(extract(epoch FROM max(finished_at) FILTER (WHERE succeeded)), 0)::float8 AS last_success_timestamp_seconds,
      coalesce((array_agg(duration_seconds ORDER BY finished_at DESC) FILTER (WHERE succeeded))[1], 0)::float8 AS last_duration_seconds,
      coalesce((array_agg(size_bytes ORDER BY finished_at DESC) FILTER (WHERE succeeded))[1], 0)::float8 AS last_size_bytes,
      (array_agg(succeeded::int ORDER BY finished_at DESC))[1]::float8 AS last_run_success
    FROM northstack_ops.backup_runs GROUP BY kind
  metrics:
    - kind:
        usage: "LABEL"
        description: "What was backed up: ${KIND_HELP}"
    - last_success_timestamp_seconds:
        usage: "GAUGE"
        description: "When the newest kept backup (passed drill) of this kind finished; 0 when none has"
    - last_duration_seconds:
        usage: "GAUGE"
        description: "How long the newest kept backup (passed drill) took: dump, restore check and upload, or download, restore and comparison"
    - last_size_bytes:
        usage: "GAUGE"
        description: "Size of the newest kept backup (the dump a passed drill restored)"
    - last_run_success:
        usage: "GAUGE"
        description: "1 when the newest run of this kind succeeded; only drills, off-host uploads and redis-dr record failed runs"
`;

export const BACKUP_ALERT_GROUP: RuleGroupSpec = {
  name: "northstack-backups",
  alerts: [
    {
      alert: "BackupTooOld",
      expr: `time() - max by (kind) (northstack_backup_last_success_timestamp_seconds{kind!="drill"}) > ${BACKUP_MAX_AGE_HOURS} * 3600`,
      for: "15m",
      severity: "critical",
      summary: "The newest {{ $labels.kind }} backup is {{ $value | humanizeDuration }} old",
      description: `No ${"{{ $labels.kind }}"} backup has been kept for over ${BACKUP_MAX_AGE_HOURS} hours: the daily job is failing, not running, or cannot upload.`,
    },
    {
      alert: "BackupNeverRecorded",
      expr: "absent(northstack_backup_last_success_timestamp_seconds) and on () (max(pg_up) == 1)",
      for: `${BACKUP_MAX_AGE_HOURS}h`,
      severity: "critical",
      summary: "No backup has ever been recorded for this database",
      description: `The database has been reachable for ${BACKUP_MAX_AGE_HOURS} hours and northstack_ops.backup_runs holds no backup (or the exporter does not read it).`,
    },
    {
      alert: "BackupDrillTooOld",
      expr: `time() - max(northstack_backup_last_success_timestamp_seconds{kind="drill"}) > ${BACKUP_DRILL_MAX_AGE_HOURS} * 3600`,
      for: "15m",
      severity: "critical",
      summary: "The last passed restore drill is {{ $value | humanizeDuration }} old",
      description: `No restore drill has passed for over ${BACKUP_DRILL_MAX_AGE_HOURS} hours: drills fail, or stopped running. Until one passes, nothing shows that the newest backup restores.`,
    },
    {
      alert: "BackupDrillNeverRecorded",
      expr: 'absent(northstack_backup_last_success_timestamp_seconds{kind="drill"}) and on () count(northstack_backup_last_success_timestamp_seconds) > 0',
      for: `${BACKUP_DRILL_MAX_AGE_HOURS}h`,
      severity: "critical",
      summary: "Backups are recorded, but no restore drill has ever been",
      description: `Backups have been recorded for ${BACKUP_DRILL_MAX_AGE_HOURS} hours without a single restore drill, passed or failed: the drill is not running.`,
    },
    {
      alert: "BackupDrillFailed",
      expr: 'max(northstack_backup_last_run_success{kind="drill"}) == 0',
      for: "5m",
      severity: "critical",
      summary: "The last restore drill failed",
      description:
        "The newest backup did not download, did not restore, or restored with tables that differ from its manifest: it may not be usable in a disaster.",
    },
    {
      alert: "WalArchiveSilent",
      expr:
        "sum by (instance) (rate(pg_stat_database_tup_inserted[15m]) + rate(pg_stat_database_tup_updated[15m]) + rate(pg_stat_database_tup_deleted[15m])) > 0" +
        " and on (instance) (increase(pg_stat_archiver_archived_count[15m]) == 0 and pg_stat_archiver_archived_count > 0)" +
        " and on (instance) increase(pg_stat_archiver_failed_count[15m]) == 0",
      for: "5m",
      severity: "critical",
      summary: "Postgres on {{ $labels.instance }} has archived no WAL for 20 minutes while rows are written",
      description:
        "archive_timeout forces a WAL segment out every minute under writes, yet none was archived and none failed: the archive command hangs. Point-in-time recovery stops at the last archived segment.",
    },
  ],
};
