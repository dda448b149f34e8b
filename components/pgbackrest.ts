/**
 * Continuous WAL archiving and base backups for a self-hosted Postgres with pgBackRest. Pure
 * renderers: pgbackrest.conf, the postgresql.conf archive settings, and the schedule script the
 * database image runs beside the server.
 *
 * Why pgBackRest and not `pg_receivewal`: pgBackRest gives checksummed, parallel, compressed base
 * backups, a parallel delta restore (the RTO lever the benchmark measures), PITR by time, name or
 * LSN, and retention enforced by the tool itself, all with one binary Debian ships. `pg_receivewal`
 * streams with an RPO near zero, but everything else (retention, verification, restore,
 * PITR bookkeeping) would be our own script, and its replication slot fills the primary's disk when
 * the receiver is down. `archive_timeout` bounds pgBackRest's RPO to at most 60 s, which is the
 * target, so the stronger tool wins.
 *
 * Retention: pgBackRest counts backups, it does not count days. One backup a day, full on
 * `fullDay` and differential otherwise, with `repo1-retention-full = keepWeekly` and
 * `repo1-retention-diff = keepDaily` keeps exactly the last `keepDaily` daily restore points (full
 * backups count as differentials for differential retention) and `keepWeekly` weekly fulls; WAL is
 * kept back to the oldest full, so any moment of the last `keepWeekly` weeks can be restored.
 * test/integration/backup-pitr.test.ts checks this on a real pgBackRest over simulated weeks.
 */
import { PostgresSettings } from "./postgres-conf";

/** Where the image reads its pgBackRest config. */
export const PGBACKREST_CONF_PATH = "/etc/pgbackrest/pgbackrest.conf";
/** The repository: its own volume, never the database's. */
export const PGBACKREST_REPO_PATH = "/var/lib/pgbackrest";
export const PGBACKREST_STANZA = "main";

/** The repository's path inside its bucket when none is given. */
export const PGBACKREST_S3_PATH = "/pgbackrest";

/** An S3-compatible second repository for the off-host copy (a bucket in Canada, or MinIO on dev). */
export interface PgBackRestS3Repo {
  /** Bucket name. Required. */
  readonly bucket: string;
  /** Endpoint host, e.g. "s3.ca-central-1.amazonaws.com" or "minio.local:9000". Required. */
  readonly endpoint: string;
  /** Region the bucket lives in. Required. */
  readonly region: string;
  /** Path inside the bucket. Default: "/pgbackrest". */
  readonly path?: string;
  /** "path" for MinIO-style endpoints. Default: "host". */
  readonly uriStyle?: "host" | "path";
  /** Verify the endpoint's TLS certificate. Default: true. */
  readonly verifyTls?: boolean;
}

export interface PgBackRestArgs {
  /** The cluster's data directory. Required. */
  readonly pgPath: string;
  /** Unix socket directory of the server. Default: "/var/run/postgresql". */
  readonly socketPath?: string;
  /** Server port. Default: 5432. */
  readonly pgPort?: number;
  /** Repository path (a volume of its own). Default: PGBACKREST_REPO_PATH. */
  readonly repoPath?: string;
  /** Daily restore points kept. Default: 7. */
  readonly keepDaily?: number;
  /** Weekly full backups kept. Default: 4. */
  readonly keepWeekly?: number;
  /** Parallel processes for backups, which run beside the live server and compress. Default: 2. */
  readonly processMax?: number;
  /**
   * Parallel processes for restores (and the drill's), which wait on the disk far more than they
   * use a CPU. Default: 8.
   */
  readonly restoreProcessMax?: number;
  /** Off-host copy: every backup and WAL segment also goes to this bucket (keys from the environment). Default: none. */
  readonly s3?: PgBackRestS3Repo;
  /** Log directory; pgBackRest logs to the console only when absent. Default: none. */
  readonly logPath?: string;
}

/** Throws once, naming every bad argument. */
export function validatePgBackRestArgs(args: PgBackRestArgs): void {
  const problems: string[] = [];
  const positive = (key: string, value: number | undefined, max: number) => {
    if (value !== undefined && (!Number.isInteger(value) || value < 1 || value > max))
      problems.push(`backup ${key}: ${JSON.stringify(value)} is not allowed; use an integer from 1 to ${max}`);
  };
  positive("keepDaily", args.keepDaily, 9999999);
  positive("keepWeekly", args.keepWeekly, 9999999);
  positive("processMax", args.processMax, 64);
  positive("restoreProcessMax", args.restoreProcessMax, 64);
  positive("pgPort", args.pgPort, 65535);
  for (const [key, value] of Object.entries({
    pgPath: args.pgPath,
    repoPath: args.repoPath,
    socketPath: args.socketPath,
    logPath: args.logPath,
  })) {
    if (value !== undefined && !/^\/[A-Za-z0-9._/-]*$/.test(value))
      problems.push(
        `backup ${key}: ${JSON.stringify(value)} is not allowed; use an absolute path of letters, digits, '.', '_', '-' and '/'`,
      );
  }
  if (args.repoPath !== undefined && args.repoPath.replace(/\/+$/, "").startsWith(args.pgPath.replace(/\/+$/, ""))) {
    problems.push(
      `backup repoPath: ${JSON.stringify(args.repoPath)} is inside the data directory; the repository must live off the database's volume`,
    );
  }
  if (args.s3) {
    if (!/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(args.s3.bucket))
      problems.push(`backup s3.bucket: ${JSON.stringify(args.s3.bucket)} is not a bucket name`);
    if (!/^[A-Za-z0-9.-]+(:[0-9]+)?$/.test(args.s3.endpoint))
      problems.push(
        `backup s3.endpoint: ${JSON.stringify(args.s3.endpoint)} is not allowed; use host[:port] without a scheme`,
      );
    // A self-hosted S3-compatible store (MinIO on dev) names its region freely; a cloud bucket must be in Canada.
    const cloud = /amazonaws\.com|googleapis\.com/.test(args.s3.endpoint);
    if (cloud && !/^(ca-central-1|ca-west-1|northamerica-northeast[12])$/.test(args.s3.region)) {
      problems.push(
        `backup s3.region: ${JSON.stringify(args.s3.region)} is outside Canada; use ca-central-1, ca-west-1, northamerica-northeast1 or northamerica-northeast2`,
      );
    }
  }
  if (problems.length > 0) throw new Error(problems.join("\n"));
}

/** pgbackrest.conf: repo1 on its own volume, optional repo2 in a bucket, and the retention above. */
export function renderPgBackRestConf(args: PgBackRestArgs): string {
  validatePgBackRestArgs(args);
  const keepDaily = args.keepDaily ?? 7;
  const keepWeekly = args.keepWeekly ?? 4;
  const global: string[] = [
    `repo1-path=${args.repoPath ?? PGBACKREST_REPO_PATH}`,
    `repo1-retention-full=${keepWeekly}`,
    "repo1-retention-full-type=count",
    `repo1-retention-diff=${keepDaily}`,
    // lz4: a restore waits on the disk, not on decompression, so lz4 restored as fast as uncompressed
    // files from half the space; zst took a third less space again but twice as long to restore.
    "compress-type=lz4",
    `process-max=${args.processMax ?? 2}`,
    // An immediate checkpoint: the backup starts now, not at the next scheduled checkpoint.
    "start-fast=y",
    // Restores only rewrite files whose checksum differs, so restoring over the old directory is quick.
    "delta=y",
    args.logPath ? `log-path=${args.logPath}` : "log-level-file=off",
    "log-level-console=info",
  ];
  if (args.s3) {
    global.push(
      "repo2-type=s3",
      `repo2-path=${args.s3.path ?? PGBACKREST_S3_PATH}`,
      `repo2-s3-bucket=${args.s3.bucket}`,
      `repo2-s3-endpoint=${args.s3.endpoint}`,
      `repo2-s3-region=${args.s3.region}`,
      `repo2-s3-uri-style=${args.s3.uriStyle ?? "host"}`,
      // Keys come from the environment (PGBACKREST_REPO2_S3_KEY, PGBACKREST_REPO2_S3_KEY_SECRET), never this file.
      "repo2-s3-key-type=shared",
      `repo2-storage-verify-tls=${args.s3.verifyTls === false ? "n" : "y"}`,
      `repo2-retention-full=${keepWeekly}`,
      "repo2-retention-full-type=count",
      `repo2-retention-diff=${keepDaily}`,
    );
  }
  // Restore-only settings (the drill's restores too), measured with scripts/bench-restore.sh's data
  // at 4 million rows on 2 CPUs. A restore writes every file of the cluster and fsyncs each one, so
  // it waits on fsync latency, not on a CPU: 8 processes wrote the files twice as fast as 2, 16 no
  // faster, 32 slower.
  const restore = [
    `process-max=${args.restoreProcessMax ?? 8}`,
    // The restored server starts as after a crash and, by default, opens and fsyncs every file of
    // the data directory again, one by one: seconds on a cluster pgBackRest has just synced. syncfs
    // flushes the file system once (Linux, PostgreSQL 14+); measured 4 to 5 s less on 4 million rows.
    // pgBackRest writes it into postgresql.auto.conf, where it also speeds up later crash recoveries.
    "recovery-option=recovery_init_sync_method=syncfs",
  ];
  const stanza = [
    `pg1-path=${args.pgPath}`,
    `pg1-socket-path=${args.socketPath ?? "/var/run/postgresql"}`,
    `pg1-port=${args.pgPort ?? 5432}`,
  ];
  return `# Rendered by northstack (components/pgbackrest.ts); edit the renderer, not this file.\n[global]\n${global.join("\n")}\n\n[global:restore]\n${restore.join("\n")}\n\n[${PGBACKREST_STANZA}]\n${stanza.join("\n")}\n`;
}

export interface ArchiveSettingsArgs {
  /** Seconds after which a partly filled WAL segment is archived anyway: the RPO bound under light load. Default: 60. */
  readonly archiveTimeoutSeconds?: number;
  /** pgbackrest.conf location. Default: PGBACKREST_CONF_PATH. */
  readonly configPath?: string;
}

/**
 * postgresql.conf settings that archive every WAL segment into the repository. archive_timeout
 * forces a segment switch at least once a minute under any write load, so at most
 * `archiveTimeoutSeconds` of committed work is lost with the data directory.
 */
export function archiveSettings(args: ArchiveSettingsArgs = {}): PostgresSettings {
  const timeout = args.archiveTimeoutSeconds ?? 60;
  if (!Number.isInteger(timeout) || timeout < 1 || timeout > 60) {
    throw new Error(
      `backup archiveTimeoutSeconds: ${JSON.stringify(timeout)} is not allowed; use an integer from 1 to 60 (the RPO target is 60 s)`,
    );
  }
  const config = args.configPath ?? PGBACKREST_CONF_PATH;
  return {
    archive_mode: "on",
    archive_command: `pgbackrest --config=${config} --stanza=${PGBACKREST_STANZA} archive-push %p`,
    archive_timeout: `${timeout}s`,
  };
}
