/**
 * A throwaway PostgreSQL 15 cluster for integration tests: a data directory initialised by initdb
 * as the `postgres` OS user (initdb refuses to run as root), started on a free TCP port on
 * 127.0.0.1 with its unix socket in the same directory, and removed on stop.
 *
 * initdb is the slowest part of a start, and every cluster of a run would produce the same
 * directory, so under the repo's jest config (NORTHSTACK_TEST_CACHE, test/global-setup.js) initdb
 * runs once per run and each cluster starts from a copy of its output, with a password of its own
 * set before the cluster is handed out. Copies share initdb's system identifier; each pgBackRest
 * test has a repository of its own, so nothing compares them.
 */
import { execFile, execFileSync } from "child_process";
import { randomBytes } from "crypto";
import * as fs from "fs";
import * as net from "net";
import * as os from "os";
import * as path from "path";
import { promisify } from "util";
import { Client, ClientConfig } from "pg";
import { testCacheDir } from "./scratch";

const execFileAsync = promisify(execFile);

export const PG_BIN = process.env.PG_BIN ?? "/usr/lib/postgresql/15/bin";

export interface PgClusterOptions {
  /** A postgresql.conf to start with (`-c config_file=`); port, socket and listen address are still ours. Default: initdb's. */
  readonly configText?: string;
}

export interface PgCluster {
  readonly host: string;
  readonly port: number;
  /** The cluster's superuser and its password (password auth over TCP, trust on the socket). */
  readonly superuser: string;
  readonly password: string;
  readonly database: string;
  readonly dir: string;
  readonly dataDir: string;
  /** The rendered config file in use, when `configText` was given. */
  readonly configFile?: string;
  /** node-postgres connection settings, as the superuser unless another user is given. */
  connection(user?: string, password?: string): ClientConfig;
  /** libpq PG* environment for tools such as psql, as the superuser. */
  libpqEnv(): Record<string, string>;
  /** Runs a server binary as the cluster's OS user, e.g. `postgres -C shared_buffers`. */
  runServerBinary(binary: string, args: string[]): string;
  /** Stops the server and deletes the directory. Safe to call twice. */
  stop(): Promise<void>;
}

const asRoot = typeof process.getuid === "function" && process.getuid() === 0;

/** argv that runs `binary` as the postgres OS user when we are root, else as ourselves. */
function asPostgres(binary: string, args: string[]): [string, string[]] {
  const full = path.join(PG_BIN, binary);
  return asRoot ? ["runuser", ["-u", "postgres", "--", full, ...args]] : [full, args];
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

const run = (binary: string, args: string[]): string => {
  const [cmd, argv] = asPostgres(binary, args);
  return execFileSync(cmd, argv, { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
};

/** initdb into `dataDir` (whose parent `dir` the postgres user owns) with `password` for the superuser. */
function initdb(dir: string, dataDir: string, password: string): void {
  const pwfile = path.join(dir, "pwfile");
  fs.writeFileSync(pwfile, `${password}\n`, { mode: 0o600 });
  if (asRoot) execFileSync("chown", ["-R", "postgres:postgres", dir]);
  run("initdb", [
    "-D",
    dataDir,
    "-U",
    "postgres",
    "--pwfile",
    pwfile,
    "--auth-local=trust",
    "--auth-host=scram-sha-256",
    "--encoding=UTF8",
    "--locale=C.UTF-8",
    "--no-sync",
  ]);
  fs.rmSync(pwfile);
}

/** The rows of `sql`, run as the cluster's superuser on `database`, over a connection of its own. */
export async function queryRows(cluster: PgCluster, sql: string, database = "postgres") {
  const client = new Client({ ...cluster.connection(), database });
  await client.connect();
  try {
    return (await client.query(sql)).rows;
  } finally {
    await client.end();
  }
}

/**
 * The run's initialised data directory, made on first use: initdb into a directory of our own, then
 * renamed into place, so that a concurrent worker sees all of it or nothing (a rename onto a
 * directory another worker has already put there fails, and ours is dropped).
 */
function templateDataDir(cacheDir: string): string {
  const template = path.join(cacheDir, "pg15-template");
  const dataDir = path.join(template, "data");
  if (fs.existsSync(dataDir)) return dataDir;
  const build = fs.mkdtempSync(path.join(cacheDir, "pg15-template-build-"));
  try {
    initdb(build, path.join(build, "data"), randomBytes(18).toString("base64url"));
    fs.renameSync(build, template);
  } catch (e) {
    if (!fs.existsSync(dataDir)) throw e;
  } finally {
    fs.rmSync(build, { recursive: true, force: true });
  }
  return dataDir;
}

export async function startPgCluster(options: PgClusterOptions = {}): Promise<PgCluster> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "northstack-pg-"));
  const dataDir = path.join(dir, "data");
  const password = randomBytes(18).toString("base64url");
  const cacheDir = testCacheDir();
  const fromTemplate = cacheDir !== undefined;
  if (fromTemplate) {
    // cp -a keeps the postgres user's ownership and the 0700 mode the server insists on.
    execFileSync("cp", ["-a", templateDataDir(cacheDir), dataDir]);
    if (asRoot) execFileSync("chown", ["postgres:postgres", dir]);
  } else {
    initdb(dir, dataDir, password);
  }

  let configFile: string | undefined;
  if (options.configText !== undefined) {
    configFile = path.join(dir, "postgresql.conf");
    fs.writeFileSync(configFile, options.configText);
    if (asRoot) execFileSync("chown", ["postgres:postgres", configFile]);
  }

  const port = await freePort();
  const serverOptions = [
    ...(configFile ? [`-c config_file=${configFile}`, `-c hba_file=${path.join(dataDir, "pg_hba.conf")}`] : []),
    `-c port=${port}`,
    "-c listen_addresses=127.0.0.1",
    `-c unix_socket_directories=${dir}`,
    "-c fsync=off",
  ].join(" ");
  const [cmd, argv] = asPostgres("pg_ctl", [
    "-D",
    dataDir,
    "-o",
    serverOptions,
    "-l",
    path.join(dir, "server.log"),
    "-w",
    "-t",
    "60",
    "start",
  ]);
  try {
    await execFileAsync(cmd, argv);
  } catch (e) {
    const log = fs.existsSync(path.join(dir, "server.log"))
      ? fs.readFileSync(path.join(dir, "server.log"), "utf8")
      : "";
    fs.rmSync(dir, { recursive: true, force: true });
    throw new Error(`postgres did not start: ${(e as Error).message}\n${log}`);
  }
  if (fromTemplate) {
    // A password of this cluster's own, set over the socket (trust) before the cluster is handed out.
    const client = new Client({ host: dir, port, user: "postgres", database: "postgres" });
    await client.connect();
    try {
      await client.query("SET password_encryption = 'scram-sha-256'");
      await client.query(`ALTER ROLE postgres PASSWORD '${password}'`);
    } finally {
      await client.end();
    }
  }

  let stopped = false;
  return {
    host: "127.0.0.1",
    port,
    superuser: "postgres",
    password,
    database: "postgres",
    dir,
    dataDir,
    configFile,
    connection: (user = "postgres", pass = password) => ({
      host: "127.0.0.1",
      port,
      user,
      password: pass,
      database: "postgres",
    }),
    libpqEnv: () => ({
      PGHOST: "127.0.0.1",
      PGPORT: String(port),
      PGUSER: "postgres",
      PGPASSWORD: password,
      PGDATABASE: "postgres",
      PGSSLMODE: "disable",
    }),
    runServerBinary: run,
    stop: async () => {
      if (stopped) return;
      stopped = true;
      const [stopCmd, stopArgv] = asPostgres("pg_ctl", ["-D", dataDir, "-m", "immediate", "-w", "stop"]);
      try {
        await execFileAsync(stopCmd, stopArgv);
      } finally {
        fs.rmSync(dir, { recursive: true, force: true });
      }
    },
  };
}
