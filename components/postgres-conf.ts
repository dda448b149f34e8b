import { CRON_DATABASE, PRELOAD_LIBRARIES } from "./extensions";
import { archiveSettings, ArchiveSettingsArgs } from "./pgbackrest";

/**
 * postgresql.conf for the Postgres container, derived from the memory it is given. Pure, so that
 * tests can start a real PostgreSQL 15 with exactly these settings.
 */

/** Where the rendered file is mounted; the server is started with `-c config_file=` pointing here. */
export const POSTGRES_CONF_PATH = "/etc/postgresql/postgresql.conf";

export interface PostgresTuningArgs {
  /** Memory the container may use, in MiB (at least 256). */
  readonly memoryMb: number;
  /**
   * Archive every WAL segment with pgBackRest (components/pgbackrest.ts), at least once per
   * `archiveTimeoutSeconds`. Default: none, and then archive_mode is off: no archive is better than
   * one that reports success while keeping nothing.
   */
  readonly archive?: ArchiveSettingsArgs;
}

export type PostgresSettings = Readonly<Record<string, string | number>>;

/**
 * Settings sized from the instance memory: shared_buffers 25%, effective_cache_size 75%, work_mem
 * from what is left per connection, WAL settings for logical replication (Supabase Realtime reads
 * the WAL through a logical slot), the libraries the extension table preloads, and continuous
 * archiving when `archive` is given.
 */
export function postgresSettings(args: PostgresTuningArgs): PostgresSettings {
  const { memoryMb } = args;
  if (!Number.isInteger(memoryMb) || memoryMb < 256) {
    throw new Error(
      `postgres memoryMb ${JSON.stringify(memoryMb)} is not allowed; use an integer of at least 256 (MiB)`,
    );
  }
  const sharedBuffersMb = Math.floor(memoryMb / 4);
  const maxConnections = clamp(Math.round(memoryMb / 16), 100, 500);
  // Each connection may use a few sorts or hashes at once; size work_mem from what shared_buffers leaves.
  const workMemKb = clamp(Math.floor(((memoryMb - sharedBuffersMb) * 1024) / (maxConnections * 3)), 1024, 256 * 1024);
  return {
    listen_addresses: "*",
    port: 5432,
    max_connections: maxConnections,
    superuser_reserved_connections: 3,
    password_encryption: "scram-sha-256",

    shared_buffers: `${sharedBuffersMb}MB`,
    effective_cache_size: `${Math.floor((memoryMb * 3) / 4)}MB`,
    work_mem: `${workMemKb}kB`,
    maintenance_work_mem: `${clamp(Math.floor(memoryMb / 16), 16, 2048)}MB`,
    huge_pages: "try",
    random_page_cost: 1.1,
    effective_io_concurrency: 200,

    wal_level: "logical",
    wal_compression: "on",
    wal_buffers: "-1",
    max_wal_size: `${clamp(memoryMb * 2, 1024, 16384)}MB`,
    min_wal_size: "256MB",
    checkpoint_timeout: "15min",
    checkpoint_completion_target: 0.9,
    ...(args.archive ? archiveSettings(args.archive) : { archive_mode: "off" }),
    max_wal_senders: 10,
    max_replication_slots: 10,
    wal_keep_size: "512MB",

    // The extension table's preloads (components/extensions.ts); images/postgres installs pg_cron.
    shared_preload_libraries: PRELOAD_LIBRARIES.join(","),
    "cron.database_name": CRON_DATABASE,
    log_destination: "stderr",
    log_min_duration_statement: 1000,
    log_checkpoints: "on",
    log_lock_waits: "on",
    log_line_prefix: "%m [%p] %q%u@%d ",
    timezone: "UTC",
  };
}

/** Renders settings as postgresql.conf text: one `name = value` per line, strings single-quoted. */
export function renderPostgresConf(settings: PostgresSettings): string {
  const lines = Object.entries(settings).map(([name, value]) => {
    if (!/^[a-z_][a-z0-9_.]*$/.test(name))
      throw new Error(`postgres setting name ${JSON.stringify(name)} is not a valid parameter name`);
    return `${name} = ${typeof value === "number" ? String(value) : `'${value.replace(/'/g, "''")}'`}`;
  });
  return `# Rendered by northstack (components/postgres-conf.ts); edit the renderer, not this file.\n${lines.join("\n")}\n`;
}

function clamp(value: number, min: number, max: number): number {
  return Math.min(max, Math.max(min, value));
}
