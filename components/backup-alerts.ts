/**
 * Alerts for backups that stop, and the exporter query they read. Pure data: one of the rule groups
 * alertRuleGroups renders (components/alert-rules/); its promtool cases are in
 * test/integration/promtool/backup.test.yml.
 *
 * What is observable, and where it comes from:
 * - Logical dumps: every kept (verified, and on the cloud uploaded) dump is recorded by the backup
 *   job in northstack_ops.backup_runs of the database it protects (backup-script.ts). The Postgres
 *   exporter reads that table with BACKUP_EXPORTER_QUERIES (its --extend.query-path file, or
 *   PG_EXPORTER_EXTEND_QUERY_PATH), giving northstack_backup_last_success_timestamp_seconds{kind}.
 *   A job that never runs, fails, or cannot upload records nothing, so the age grows.
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

/** The postgres exporter's custom query over the table the backup job writes. */
export const BACKUP_EXPORTER_QUERIES = `# Rendered by northstack (components/backup-alerts.ts).
northstack_backup:
  query: >-
    SELECT kind,
      extract(epoch FROM max(finished_at))::float8 AS last_success_timestamp_seconds,
      (array_agg(duration_seconds ORDER BY finished_at DESC))[1]::float8 AS last_duration_seconds,
      (array_agg(size_bytes ORDER BY finished_at DESC))[1]::float8 AS last_size_bytes
    FROM northstack_ops.backup_runs GROUP BY kind
  metrics:
    - kind:
        usage: "LABEL"
        description: "What was backed up: dump (pg_dump with its roles, verified by a restore)"
    - last_success_timestamp_seconds:
        usage: "GAUGE"
        description: "When the newest kept backup of this kind finished"
    - last_duration_seconds:
        usage: "GAUGE"
        description: "How long the newest kept backup took, dump, restore check and upload"
    - last_size_bytes:
        usage: "GAUGE"
        description: "Size of the newest kept backup"
`;

export const BACKUP_ALERT_GROUP: RuleGroupSpec = {
  name: "northstack-backups",
  alerts: [
    {
      alert: "BackupTooOld",
      expr: `time() - max by (kind) (northstack_backup_last_success_timestamp_seconds) > ${BACKUP_MAX_AGE_HOURS} * 3600`,
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
