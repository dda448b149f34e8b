import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import { PostgresEndpoint } from "./endpoints";
import { IMAGES } from "./images";
import {
  PGBACKREST_CONF_PATH,
  PGBACKREST_REPO_PATH,
  PgBackRestS3Repo,
  renderPgBackRestConf,
  validatePgBackRestArgs,
} from "./pgbackrest";
import { POSTGRES_CONF_PATH, postgresSettings, renderPostgresConf } from "./postgres-conf";
import { Runtime, buildLocally } from "./runtime/types";
import { WorkloadSpec } from "./workload";

export interface PostgresArgs {
  /** Where the container runs. Required. */
  readonly runtime: Runtime;
  /** Memory limit in MiB; postgresql.conf is tuned from it. Required (config default 1024). */
  readonly memoryMb: number;
  /** Size of the data volume in GiB. Required (config default 20). */
  readonly storageGb: number;
  /** Password of the `postgres` superuser, a secret. Required. */
  readonly password: pulumi.Input<string>;
  /** CPU limit in millicores. Default: 1000. */
  readonly cpuMillis?: number;
  /** Workloads allowed to connect (Kubernetes NetworkPolicy). Default: none listed. */
  readonly allowFrom?: string[];
  /** Continuous WAL archiving, daily base backups and restore drills with pgBackRest. Default: none (archive_mode off). */
  readonly backup?: PostgresBackupArgs;
  /**
   * A pinned image built from images/postgres (pgBackRest, pgvector, pg_cron) and pushed to a
   * registry. Default: built locally, which only the docker runtime can do.
   */
  readonly image?: string;
}

export interface PostgresBackupArgs {
  /** Daily restore points kept. Default: 7. */
  readonly keepDaily?: number;
  /** Weekly full backups kept. Default: 4. */
  readonly keepWeekly?: number;
  /** Size in GiB of the repository volume, which also holds the drill's scratch copy. Default: 3 × storageGb. */
  readonly repoGb?: number;
  /** Upper bound on the seconds of writes a lost volume can take with it. Default: 60. */
  readonly archiveTimeoutSeconds?: number;
  /** Hour (UTC) of the daily base backup and drill. Default: 3. */
  readonly hourUtc?: number;
  /** Off-host copy in an S3-compatible bucket. Default: none. */
  readonly s3?: PgBackRestS3Repo & {
    readonly accessKeyId: pulumi.Input<string>;
    readonly secretAccessKey: pulumi.Input<string>;
  };
}

const PORT = 5432;
const DATA_DIR = "/var/lib/postgresql/data";
const PGDATA = `${DATA_DIR}/pgdata`;
const SOCKET_DIR = "/var/run/postgresql";
const IMAGE_CONTEXT = path.resolve(__dirname, "..", "images", "postgres");

/** Throws, naming the argument, unless the sizes are usable. */
export function validatePostgresArgs(
  args: Pick<PostgresArgs, "memoryMb" | "storageGb" | "cpuMillis" | "backup">,
): void {
  postgresSettings({ memoryMb: args.memoryMb });
  if (!Number.isInteger(args.storageGb) || args.storageGb < 1) {
    throw new Error(
      `postgres storageGb ${JSON.stringify(args.storageGb)} is not allowed; use a positive integer (GiB)`,
    );
  }
  if (args.cpuMillis !== undefined && (!Number.isInteger(args.cpuMillis) || args.cpuMillis < 100)) {
    throw new Error(
      `postgres cpuMillis ${JSON.stringify(args.cpuMillis)} is not allowed; use an integer of at least 100`,
    );
  }
  if (args.backup) {
    validatePgBackRestArgs({
      pgPath: PGDATA,
      keepDaily: args.backup.keepDaily,
      keepWeekly: args.backup.keepWeekly,
      s3: args.backup.s3,
    });
    const { repoGb, hourUtc } = args.backup;
    if (repoGb !== undefined && (!Number.isInteger(repoGb) || repoGb < 1))
      throw new Error(`postgres backup.repoGb ${JSON.stringify(repoGb)} is not allowed; use a positive integer (GiB)`);
    if (hourUtc !== undefined && (!Number.isInteger(hourUtc) || hourUtc < 0 || hourUtc > 23))
      throw new Error(`postgres backup.hourUtc ${JSON.stringify(hourUtc)} is not allowed; use an integer from 0 to 23`);
  }
}

/**
 * The container spec: `image`, built from images/postgres, as uid 999, read-only root, data on a
 * volume. With `backup`, the pgBackRest repository on a volume of its own, and the schedule beside
 * the server (images/postgres/northstack-entrypoint.sh).
 */
export function postgresSpec(
  name: string,
  args: Omit<PostgresArgs, "runtime">,
  image: pulumi.Input<string>,
): WorkloadSpec {
  validatePostgresArgs(args);
  const backup = args.backup;
  const { s3 } = backup ?? {};
  return {
    name,
    component: "database",
    image,
    args: ["postgres", "-c", `config_file=${POSTGRES_CONF_PATH}`],
    ports: [{ name: "postgres", port: PORT }],
    env: {
      POSTGRES_USER: "postgres",
      POSTGRES_DB: "postgres",
      // A subdirectory, because a fresh volume's root may hold lost+found and initdb wants an empty directory.
      PGDATA,
      ...(backup
        ? {
            PGBACKREST_CONFIG: PGBACKREST_CONF_PATH,
            PGHOST: SOCKET_DIR,
            PGUSER: "postgres",
            BACKUP_HOUR: String(backup.hourUtc ?? 3),
          }
        : {}),
    },
    secretEnv: {
      POSTGRES_PASSWORD: args.password,
      ...(s3
        ? {
            PGBACKREST_REPO2_S3_KEY: pulumi.secret(s3.accessKeyId),
            PGBACKREST_REPO2_S3_KEY_SECRET: pulumi.secret(s3.secretAccessKey),
          }
        : {}),
    },
    files: [
      {
        path: POSTGRES_CONF_PATH,
        content: renderPostgresConf(
          postgresSettings({
            memoryMb: args.memoryMb,
            archive: backup ? { archiveTimeoutSeconds: backup.archiveTimeoutSeconds } : undefined,
          }),
        ),
      },
      ...(backup
        ? [
            {
              path: PGBACKREST_CONF_PATH,
              content: renderPgBackRestConf({
                pgPath: PGDATA,
                socketPath: SOCKET_DIR,
                pgPort: PORT,
                keepDaily: backup.keepDaily,
                keepWeekly: backup.keepWeekly,
                s3,
              }),
            },
          ]
        : []),
    ],
    volumes: [
      { name: "data", mountPath: DATA_DIR, sizeGb: args.storageGb },
      // Off the database's volume: losing the data volume must not lose its backups.
      ...(backup
        ? [{ name: "backrest", mountPath: PGBACKREST_REPO_PATH, sizeGb: backup.repoGb ?? 3 * args.storageGb }]
        : []),
    ],
    // pgBackRest keeps its lock files under /tmp.
    scratch: [
      { mountPath: SOCKET_DIR, sizeMb: 8 },
      { mountPath: "/tmp", sizeMb: 64 },
    ],
    // Over TCP: the image's first-boot initialisation runs a socket-only server that must not count as ready.
    health: {
      exec: ["pg_isready", "-h", "127.0.0.1", "-p", String(PORT), "-U", "postgres"],
      tcp: { port: PORT },
      intervalSeconds: 5,
      startSeconds: 30,
    },
    resources: { cpuMillis: args.cpuMillis ?? 1000, memoryMb: args.memoryMb },
    user: { uid: IMAGES.postgres.uid, gid: IMAGES.postgres.gid },
    readOnlyRootFilesystem: true,
    allowFrom: args.allowFrom,
  };
}

/**
 * Postgres 15 in a container: the dev twin of RDS / Cloud SQL. Exposes the same `PostgresEndpoint`;
 * its `host` is the runtime's, which on Docker resolves only once the container is healthy, so
 * whatever connects to it waits for it.
 */
export class Postgres extends pulumi.ComponentResource {
  readonly endpoint: PostgresEndpoint;

  constructor(name: string, args: PostgresArgs, opts?: pulumi.ComponentResourceOptions) {
    if (args.image === undefined && !args.runtime.buildImage) {
      throw new Error(
        `postgres image: none given, but the ${args.runtime.kind} runtime cannot build images/postgres; push it to a registry and give its pinned name`,
      );
    }
    validatePostgresArgs(args);
    super("northstack:data:Postgres", name, {}, opts);
    const { runtime, ...rest } = args;
    // Always images/postgres: postgresql.conf preloads pg_cron, which the official image lacks.
    const image = args.image ?? buildLocally(runtime, name, `northstack/${name}-pgbackrest`, IMAGE_CONTEXT, this);
    const deployed = runtime.deploy(postgresSpec(name, rest, image), this);
    this.endpoint = {
      host: deployed.host,
      port: pulumi.output(PORT),
      database: "postgres",
      login: { user: "postgres", password: pulumi.secret(args.password) },
      sslMode: "disable",
    };
    this.registerOutputs({ host: this.endpoint.host, port: this.endpoint.port });
  }
}
