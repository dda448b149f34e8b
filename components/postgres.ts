import * as pulumi from "@pulumi/pulumi";
import { PostgresEndpoint } from "./endpoints";
import { IMAGES } from "./images";
import { POSTGRES_CONF_PATH, postgresSettings, renderPostgresConf } from "./postgres-conf";
import { Runtime } from "./runtime/types";
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
}

const PORT = 5432;
const DATA_DIR = "/var/lib/postgresql/data";

/** Throws, naming the argument, unless the sizes are usable. */
export function validatePostgresArgs(args: Pick<PostgresArgs, "memoryMb" | "storageGb" | "cpuMillis">): void {
  postgresSettings({ memoryMb: args.memoryMb });
  if (!Number.isInteger(args.storageGb) || args.storageGb < 1) {
    throw new Error(`postgres storageGb ${JSON.stringify(args.storageGb)} is not allowed; use a positive integer (GiB)`);
  }
  if (args.cpuMillis !== undefined && (!Number.isInteger(args.cpuMillis) || args.cpuMillis < 100)) {
    throw new Error(`postgres cpuMillis ${JSON.stringify(args.cpuMillis)} is not allowed; use an integer of at least 100`);
  }
}

/** The container spec: official PostgreSQL 15 image as uid 999, read-only root, data on a volume. */
export function postgresSpec(name: string, args: Omit<PostgresArgs, "runtime">): WorkloadSpec {
  validatePostgresArgs(args);
  return {
    name,
    component: "database",
    image: IMAGES.postgres.image,
    args: ["postgres", "-c", `config_file=${POSTGRES_CONF_PATH}`],
    ports: [{ name: "postgres", port: PORT }],
    env: {
      POSTGRES_USER: "postgres",
      POSTGRES_DB: "postgres",
      // A subdirectory, because a fresh volume's root may hold lost+found and initdb wants an empty directory.
      PGDATA: `${DATA_DIR}/pgdata`,
    },
    secretEnv: { POSTGRES_PASSWORD: args.password },
    files: [{ path: POSTGRES_CONF_PATH, content: renderPostgresConf(postgresSettings({ memoryMb: args.memoryMb })) }],
    volumes: [{ name: "data", mountPath: DATA_DIR, sizeGb: args.storageGb }],
    scratch: [{ mountPath: "/var/run/postgresql", sizeMb: 8 }, { mountPath: "/tmp", sizeMb: 64 }],
    // Over TCP: the image's first-boot initialisation runs a socket-only server that must not count as ready.
    health: { exec: ["pg_isready", "-h", "127.0.0.1", "-p", String(PORT), "-U", "postgres"], tcp: { port: PORT }, intervalSeconds: 5, startSeconds: 30 },
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
    super("northstack:data:Postgres", name, {}, opts);
    const { runtime, ...rest } = args;
    const deployed = runtime.deploy(postgresSpec(name, rest), this);
    this.endpoint = {
      host: deployed.host,
      port: pulumi.output(PORT),
      database: "postgres",
      adminUser: "postgres",
      adminPassword: pulumi.secret(args.password),
      sslMode: "disable",
    };
    this.registerOutputs({ host: this.endpoint.host, port: this.endpoint.port });
  }
}
