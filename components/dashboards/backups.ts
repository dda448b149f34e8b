/**
 * Backups: the age, duration and size of the newest kept backup of each kind (the backup record
 * the Postgres exporter reads, backup-alerts.ts), and WAL archiving. The logs show the backup job's
 * own lines and the restore drill's verdict.
 */
import { BACKUP_MAX_AGE_HOURS } from "../backup-alerts";
import { graph, labelVariable, logLines, row, single, stackDashboard, streams, walArchiverQueries } from "./panels";

const kind = 'kind=~"$kind"';
const pg = 'instance=~"$instance"';
const maxAgeSeconds = BACKUP_MAX_AGE_HOURS * 3600;

export function backupsDashboard(stack: string) {
  return stackDashboard(
    stack,
    "backups",
    "backups",
    "The newest backup of each kind, its duration and size, WAL archiving, and the backup and drill logs.",
  )
    .withVariable(labelVariable("instance", "instance", "pg_up", { title: "Postgres exporter" }))
    .withVariable(labelVariable("kind", "kind", "northstack_backup_last_success_timestamp_seconds", { title: "Kind" }))
    .withRow(row("Backups"))
    .withPanel(
      single(
        "Oldest newest-backup",
        "s",
        {
          expr: `max(time() - max by (kind) (northstack_backup_last_success_timestamp_seconds{${kind}}))`,
        },
        {
          description: `Age of the newest kept backup, for the kind that is furthest behind; BackupTooOld pages past ${BACKUP_MAX_AGE_HOURS} hours.`,
          thresholds: [
            [null, "green"],
            [maxAgeSeconds, "red"],
          ],
        },
      ),
    )
    .withPanel(
      single(
        "WAL archive failures (24h)",
        "short",
        {
          expr: `sum(increase(pg_stat_archiver_failed_count{${pg}}[24h]))`,
        },
        {
          thresholds: [
            [null, "green"],
            [1, "red"],
          ],
        },
      ),
    )
    .withPanel(
      single(
        "WAL segments archived (1h)",
        "short",
        {
          expr: `sum(increase(pg_stat_archiver_archived_count{${pg}}[1h]))`,
        },
        { description: "Zero while rows are written means the archive command hangs (WalArchiveSilent)." },
      ),
    )
    .withPanel(
      single(
        "Backup kinds recorded",
        "short",
        {
          expr: "count(northstack_backup_last_success_timestamp_seconds) or vector(0)",
        },
        {
          description: "0: no backup was ever recorded, or the exporter cannot read the record (BackupNeverRecorded).",
          thresholds: [
            [null, "red"],
            [1, "green"],
          ],
        },
      ),
    )
    .withPanel(
      graph(
        "Newest backup age by kind",
        "s",
        [
          {
            expr: `time() - max by (kind) (northstack_backup_last_success_timestamp_seconds{${kind}})`,
            legend: "{{kind}}",
          },
        ],
        { width: 8 },
      ),
    )
    .withPanel(
      graph(
        "Newest backup duration by kind",
        "s",
        [{ expr: `max by (kind) (northstack_backup_last_duration_seconds{${kind}})`, legend: "{{kind}}" }],
        {
          width: 8,
          description: "For a dump: the dump, the restore into a scratch database that checks it, and the upload.",
        },
      ),
    )
    .withPanel(
      graph(
        "Newest backup size by kind",
        "bytes",
        [{ expr: `max by (kind) (northstack_backup_last_size_bytes{${kind}})`, legend: "{{kind}}" }],
        { width: 8 },
      ),
    )
    .withRow(row("WAL archiving"))
    .withPanel(
      graph("WAL archiver", "short", walArchiverQueries(pg), {
        description:
          "PostgresWalArchiveFailing warns on any failure; PostgresWalArchiverStuck pages when nothing is archived.",
      }),
    )
    .withPanel(
      graph("Rows written (what the archive must keep up with)", "ops", [
        {
          expr:
            `sum by (instance) (rate(pg_stat_database_tup_inserted{${pg}}[$__rate_interval]) + rate(pg_stat_database_tup_updated{${pg}}[$__rate_interval])` +
            ` + rate(pg_stat_database_tup_deleted{${pg}}[$__rate_interval]))`,
          legend: "{{instance}}",
        },
      ]),
    )
    .withRow(row("Logs"))
    .withPanel(
      logLines("Backup job logs", streams('workload=~"backup(-.+)?"'), {
        description: "The dump, its restore check, the upload and the record, step by step.",
      }),
    )
    .withPanel(
      logLines("Restore checks and drills", `${streams()} |~ "(restore check|drill) (passed|FAILED)"`, {
        description:
          "Each dump is restored into a scratch database and compared table by table before it is kept (the restore check); on dev, pgBackRest's daily drill restores the newest base backup. Their verdicts, newest first.",
      }),
    );
}
