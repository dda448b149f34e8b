/**
 * A real PostgreSQL 15 that archives its WAL with pgBackRest, from the rendered postgresql.conf
 * archive settings and pgbackrest.conf, plus runners that act as the cluster's OS user. Fails,
 * never skips, when pgBackRest is missing.
 */
import { execFileSync, spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { Client } from "pg";
import { archiveSettings, renderPgBackRestConf } from "../../components/pgbackrest";
import { postgresSettings, renderPostgresConf } from "../../components/postgres-conf";
import { PG_BIN, PgCluster, startPgCluster } from "./pg-cluster";
import { BACKUP_ROLE, RECORDER_ROLE } from "../../components/db-roles";
import { OPS_MIGRATION } from "../../components/migrations";

const ROOT = path.join(__dirname, "..", "..");
export const BACKUP_SCRIPT = path.join(ROOT, "images", "postgres", "northstack-backup.sh");
export const MANIFEST_SQL = path.join(ROOT, "images", "postgres", "table-manifest.sql");
export const RESTORE_SCRIPT = path.join(ROOT, "scripts", "restore", "pgbackrest-restore.sh");
const asRoot = process.getuid?.() === 0;

export interface ArchivingCluster {
  readonly cluster: PgCluster;
  /** Scratch directory: repo/, state/ (manifests, metrics.prom), drill/, lock/. */
  readonly work: string;
  /** Copies of the backup and restore scripts and the manifest query, readable by the postgres user. */
  readonly scripts: { readonly backup: string; readonly restore: string; readonly manifest: string };
  readonly port: number;
  run(cmd: string, args: string[], env?: Record<string, string>): { code: number | null; out: string };
  /** `run`, throwing with the output unless it exits 0. */
  ok(cmd: string, args: string[], env?: Record<string, string>): string;
  query<T = Record<string, unknown>>(sql: string, params?: unknown[], port?: number): Promise<T[]>;
  /** Starts a server on `dataDir` with the cluster's config and waits until it has left recovery. */
  startServer(dataDir: string, port: number, socketDir: string): Promise<void>;
  /** The table manifest (images/postgres/table-manifest.sql) of the server on `port`, sorted. */
  manifest(port?: number): string[];
  stop(): Promise<void>;
}

export async function startArchivingCluster(archiveTimeoutSeconds: number): Promise<ArchivingCluster> {
  if (!/^pgBackRest 2\./.test(spawnSync("pgbackrest", ["version"], { encoding: "utf8" }).stdout ?? "")) {
    throw new Error("pgbackrest is not installed; install Debian's pgbackrest package (.ci/run does)");
  }
  const work = fs.mkdtempSync(path.join(os.tmpdir(), "northstack-pgbr-"));
  const repo = path.join(work, "repo");
  const conf = path.join(work, "pgbackrest.conf");
  fs.mkdirSync(repo);
  const settings = {
    ...postgresSettings({ memoryMb: 256 }),
    ...archiveSettings({ archiveTimeoutSeconds, configPath: conf }),
    min_wal_size: "32MB",
  };
  const cluster = await startPgCluster({ configText: renderPostgresConf(settings) });
  const port = cluster.port;
  fs.writeFileSync(
    conf,
    renderPgBackRestConf({
      pgPath: cluster.dataDir,
      socketPath: cluster.dir,
      pgPort: port,
      repoPath: repo,
      processMax: 2,
    }),
  );
  // The scripts run as the postgres user, who may not be able to read the checkout (CI clones into a
  // private directory): each run uses a copy in the scratch directory.
  const scripts = {
    backup: path.join(work, "bin", "northstack-backup.sh"),
    restore: path.join(work, "bin", "pgbackrest-restore.sh"),
    manifest: path.join(work, "bin", "table-manifest.sql"),
  };
  fs.mkdirSync(path.join(work, "bin"));
  fs.copyFileSync(BACKUP_SCRIPT, scripts.backup);
  fs.copyFileSync(RESTORE_SCRIPT, scripts.restore);
  fs.copyFileSync(MANIFEST_SQL, scripts.manifest);
  if (asRoot) execFileSync("chown", ["-R", "postgres:postgres", work]);

  const run = (cmd: string, args: string[], env: Record<string, string> = {}) => {
    const fullEnv: Record<string, string> = {
      PATH: `${PG_BIN}:/usr/bin:/bin`,
      PGBACKREST_CONFIG: conf,
      PGBACKREST_STANZA: "main",
      // Our own lock directory: pgBackRest's default, /tmp/pgbackrest, is shared by every stanza named main.
      PGBACKREST_LOCK_PATH: path.join(work, "lock"),
      PGHOST: cluster.dir,
      PGPORT: String(port),
      PGUSER: "postgres",
      PGDATABASE: "postgres",
      NORTHSTACK_STATE_DIR: path.join(work, "state"),
      NORTHSTACK_MANIFEST_SQL: scripts.manifest,
      DRILL_SCRATCH: path.join(work, "drill"),
      ...env,
    };
    const argv = asRoot
      ? ["-u", "postgres", "--", "env", ...Object.entries(fullEnv).map(([k, v]) => `${k}=${v}`), cmd, ...args]
      : args;
    const r = spawnSync(asRoot ? "runuser" : cmd, argv, {
      cwd: work,
      encoding: "utf8",
      env: asRoot ? { PATH: "/usr/sbin:/usr/bin:/sbin:/bin" } : { ...process.env, ...fullEnv },
      timeout: 300000,
    });
    return { code: r.status, out: `${r.stdout}${r.stderr}` };
  };
  const ok = (cmd: string, args: string[], env: Record<string, string> = {}) => {
    const r = run(cmd, args, env);
    if (r.code !== 0) throw new Error(`${cmd} ${args.join(" ")} exited ${r.code}:\n${r.out}`);
    return r.out;
  };
  const query = async <T>(sql: string, params: unknown[] = [], p = port): Promise<T[]> => {
    const client = new Client({ ...cluster.connection(), port: p });
    await client.connect();
    try {
      return (await client.query(sql, params)).rows as T[];
    } finally {
      await client.end();
    }
  };
  const startServer = async (dataDir: string, p: number, socketDir: string) => {
    const options = [
      `-c config_file=${cluster.configFile}`,
      `-c hba_file=${path.join(dataDir, "pg_hba.conf")}`,
      `-c port=${p}`,
      "-c listen_addresses=127.0.0.1",
      `-c unix_socket_directories=${socketDir}`,
    ].join(" ");
    const log = path.join(socketDir, `server-${p}.log`);
    const started = run(path.join(PG_BIN, "pg_ctl"), [
      "-D",
      dataDir,
      "-o",
      options,
      "-l",
      log,
      "-w",
      "-t",
      "120",
      "start",
    ]);
    if (started.code !== 0) {
      const tail = fs.existsSync(log) ? fs.readFileSync(log, "utf8").split("\n").slice(-15).join("\n") : "(no log)";
      throw new Error(`pg_ctl start on ${dataDir} exited ${started.code}:\n${started.out}\nserver log:\n${tail}`);
    }
    for (let i = 0; i < 240; i++) {
      try {
        const [{ recovering }] = await query<{ recovering: boolean }>(
          "select pg_is_in_recovery() as recovering",
          [],
          p,
        );
        if (!recovering) return;
      } catch {
        // still starting
      }
      await new Promise((r) => setTimeout(r, 250));
    }
    throw new Error(`restored server on ${p} never left recovery:\n${fs.readFileSync(log, "utf8")}`);
  };
  const manifest = (p = port) =>
    ok("psql", ["-X", "-At", "-v", "ON_ERROR_STOP=1", "-h", cluster.dir, "-p", String(p), "-f", scripts.manifest])
      .trim()
      .split("\n")
      .sort();

  ok("pgbackrest", ["stanza-create"]);
  // The table backups are recorded in, as the migrations create it.
  await query(`CREATE ROLE ${BACKUP_ROLE} NOLOGIN; CREATE ROLE ${RECORDER_ROLE} NOLOGIN; ${OPS_MIGRATION.sql}`);
  return {
    cluster,
    work,
    scripts,
    port,
    run,
    ok,
    query,
    startServer,
    manifest,
    stop: async () => {
      await cluster.stop();
      fs.rmSync(work, { recursive: true, force: true });
    },
  };
}
