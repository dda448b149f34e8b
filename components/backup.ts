import * as pulumi from "@pulumi/pulumi";
import { renderBackupScript } from "./backup-script";
import { ObjectStoreEndpoint, PostgresEndpoint, PostgresLogin, s3ClientEnv, withLogin } from "./endpoints";
import { IMAGES } from "./images";
import { Runtime } from "./runtime/types";
import { InitStepSpec, WorkloadSpec } from "./workload";

export interface BackupArgs {
  readonly runtime: Runtime;
  /** Database to back up, with the backup role's login (read-only, components/db-roles.ts). Required. */
  readonly postgres: PostgresEndpoint;
  /** Daily dumps kept on the volume (dev). Default: 7. */
  readonly keepDaily?: number;
  /** Weekly dumps kept on the volume (dev). Default: 4. */
  readonly keepWeekly?: number;
  /** Size in GiB of the backup volume (dev) or of the scratch directory a dump passes through (bucket). Default: 10. */
  readonly volumeGb?: number;
  /** Workloads that must exist first (the migrations). Default: none. */
  readonly dependsOn?: pulumi.Resource[];
  /**
   * Upload each verified dump to this versioned bucket's fixed keys daily/<db>.dump and
   * weekly/<db>.dump, whose lifecycle keeps their newest 7 and 4 versions, from a scheduled job
   * (Kubernetes). Default: none, dumps stay on a volume (dev).
   */
  readonly bucket?: ObjectStoreEndpoint;
  /** When the bucket backup runs: five cron fields, UTC. Default: "30 6 * * *" (before the managed databases' 07:00 backup window). */
  readonly schedule?: string;
  /**
   * The restore drill's access to `bucket`: the same bucket, with an identity that may only read
   * objects. With it, a CronJob of its own restores the newest daily dump every day away from
   * production and records the result (bucketDrillSpec). Default: none, no drill (dev drills its
   * pgBackRest backups instead, components/pgbackrest.ts).
   */
  readonly drillBucket?: ObjectStoreEndpoint;
  /** When the drill runs: five cron fields, UTC. Default: "30 9 * * *" (three hours after the default backup). */
  readonly drillSchedule?: string;
  /**
   * The login the drill records its result with: the recorder role (components/db-roles.ts), which
   * may insert into northstack_ops.backup_runs and read nothing. Required with drillBucket.
   */
  readonly recorder?: PostgresLogin;
}

/** Checks the arguments before any resource is registered; throws once, naming every problem. */
export function validateBackupArgs(args: Pick<BackupArgs, "bucket" | "drillBucket" | "recorder">): void {
  const problems: string[] = [];
  if (args.drillBucket && !args.bucket)
    problems.push(
      "backup drillBucket: set without bucket; the drill restores what the backup uploads, so give both or neither",
    );
  if (args.drillBucket && !args.recorder)
    problems.push(
      "backup recorder: absent with drillBucket; the drill records its result as the recorder role, so give its login",
    );
  if (problems.length) throw new Error(problems.join("; "));
}

/** Where a bucket job's script and AWS CLI config are mounted; awsCliStep runs the script. */
export const SCRIPT = "/opt/northstack/backup.sh";
export const AWS_CONFIG = "/etc/northstack/aws-config";
const DUMP_DIR = "/backups";
const DRILL_DIR = "/drill";
/** The drill's workload (and Kubernetes ServiceAccount) name, from the backup's. */
export const drillWorkloadName = (backupName: string): string => `${backupName}-drill`;

/**
 * The AWS CLI's shared config for a bucket: its region, its addressing style (path-style when the
 * store needs it, or as `addressingStyle` says), and checksums only where an operation requires one
 * (CLI 2.23+ otherwise adds headers that GCS's XML API rejects; older versions ignore the keys). Pure.
 */
export function awsCliConfig(
  store: Pick<ObjectStoreEndpoint, "region" | "access">,
  addressingStyle?: "path" | "virtual",
): string {
  const lines = [
    "[default]",
    `region = ${store.region}`,
    "request_checksum_calculation = when_required",
    "response_checksum_validation = when_required",
  ];
  const style = addressingStyle ?? (store.access?.forcePathStyle ? "path" : undefined);
  if (style) lines.push("s3 =", `  addressing_style = ${style}`);
  return `${lines.join("\n")}\n`;
}

/** The libpq settings of every backup step that talks to the database, as the endpoint's login (backup or recorder role). */
export function postgresEnv(pg: PostgresEndpoint): Record<string, pulumi.Input<string>> {
  return {
    PGHOST: pg.host,
    PGPORT: pulumi.interpolate`${pg.port}`,
    PGUSER: pg.login.user,
    PGDATABASE: pg.database,
    PGSSLMODE: pg.sslMode,
    PGCONNECT_TIMEOUT: "10",
  };
}

/**
 * The AWS CLI step of a bucket pod: the script's `step` (upload, fetch, or another job's step)
 * against `store`, with the step's own `env` (its scratch directory) before the CLI's settings.
 */
export function awsCliStep(
  name: string,
  step: string,
  store: ObjectStoreEndpoint,
  env: Record<string, pulumi.Input<string>>,
): InitStepSpec {
  const client = s3ClientEnv(store);
  const endpoint = store.access?.endpoint;
  return {
    name,
    image: IMAGES.awsCli.image,
    command: ["/bin/bash", SCRIPT],
    args: [step],
    env: {
      ...client.env,
      ...env,
      BACKUP_BUCKET: store.bucket,
      ...(endpoint ? { BACKUP_S3_ENDPOINT: endpoint } : {}),
      AWS_CONFIG_FILE: AWS_CONFIG,
      AWS_PAGER: "",
      HOME: "/home/backup",
    },
    secretEnv: client.secretEnv,
    resources: { cpuMillis: 250, memoryMb: 256 },
    user: { uid: IMAGES.awsCli.uid, gid: IMAGES.awsCli.gid },
  };
}

/**
 * The bucket backup as one CronJob pod of three steps, each run only when the one before succeeded:
 * the postgres image dumps the database and its roles and restores them into a throwaway server
 * initialised in the pod's scratch volume (never on the production instance) before they count; the
 * AWS CLI uploads them; the postgres image records the upload in northstack_ops.backup_runs, which
 * the backup-age alerts read. A dump that does not restore is never uploaded or recorded. Pure.
 */
export function bucketBackupSpec(
  name: string,
  args: BackupArgs & { readonly bucket: ObjectStoreEndpoint },
): WorkloadSpec {
  const pg = args.postgres;
  const pgEnv = { ...postgresEnv(pg), BACKUP_DIR: DUMP_DIR };
  return {
    name,
    component: "backup",
    kind: "cron",
    schedule: args.schedule ?? "30 6 * * *",
    // Last, once the upload has succeeded: the record the backup-age alerts read.
    image: IMAGES.postgres.image,
    command: ["/bin/bash", SCRIPT],
    args: ["record"],
    env: pgEnv,
    // The backup role's own login: it may insert into northstack_ops.backup_runs and nothing else.
    // The pod's containers share one Secret keyed by variable name, and the dump step holds PGPASSWORD.
    secretEnv: { RECORD_PGPASSWORD: pg.login.password },
    init: [
      {
        name: `${name}-dump`,
        image: IMAGES.postgres.image,
        command: ["/bin/bash", SCRIPT],
        args: ["dump"],
        env: pgEnv,
        secretEnv: { PGPASSWORD: pg.login.password },
        resources: { cpuMillis: 500, memoryMb: 512 },
        user: { uid: IMAGES.postgres.uid, gid: IMAGES.postgres.gid },
      },
      awsCliStep(`${name}-upload`, "upload", args.bucket, { BACKUP_DIR: DUMP_DIR }),
    ],
    files: [
      { path: SCRIPT, content: renderBackupScript({ keepDaily: args.keepDaily, keepWeekly: args.keepWeekly }) },
      { path: AWS_CONFIG, content: awsCliConfig(args.bucket) },
    ],
    scratch: [
      { mountPath: DUMP_DIR, sizeMb: (args.volumeGb ?? 10) * 1024 },
      { mountPath: "/home/backup" },
      { mountPath: "/tmp" },
    ],
    resources: { cpuMillis: 100, memoryMb: 128 },
    user: { uid: IMAGES.postgres.uid, gid: IMAGES.postgres.gid },
    serviceAccount: args.bucket.access?.serviceAccount,
  };
}

/**
 * The restore drill as one CronJob pod of two steps: the AWS CLI, with an identity that may only read
 * the bucket, downloads the newest daily dump, its roles and its manifest; the postgres image checks
 * them against the manifest's hashes, restores them into a throwaway server initialised in the pod's
 * scratch volume (never the production instance), compares rows and checksum per table with the
 * manifest, and records the drill, passed or failed, with its duration in northstack_ops.backup_runs
 * as the recorder role (the only thing it writes to production; it reads nothing there). The
 * exporter turns that record into northstack_backup_* metrics {kind="drill"}, which the drill alerts
 * read. Pure.
 */
export function bucketDrillSpec(
  name: string,
  args: BackupArgs & { readonly drillBucket: ObjectStoreEndpoint; readonly recorder: PostgresLogin },
): WorkloadSpec {
  // The drill reads nothing from production: it only records its result, as the recorder role.
  const pg = withLogin(args.postgres, args.recorder);
  const store = args.drillBucket;
  const drillName = drillWorkloadName(name);
  return {
    name: drillName,
    component: "backup",
    kind: "cron",
    schedule: args.drillSchedule ?? "30 9 * * *",
    image: IMAGES.postgres.image,
    command: ["/bin/bash", SCRIPT],
    args: ["drill"],
    env: { ...postgresEnv(pg), DRILL_DIR },
    // The recorder role's login: it may insert into northstack_ops.backup_runs and read nothing.
    secretEnv: { PGPASSWORD: pg.login.password },
    init: [awsCliStep(`${drillName}-fetch`, "fetch", store, { PGDATABASE: pg.database, DRILL_DIR })],
    files: [
      { path: SCRIPT, content: renderBackupScript({ keepDaily: args.keepDaily, keepWeekly: args.keepWeekly }) },
      { path: AWS_CONFIG, content: awsCliConfig(store) },
    ],
    // The dump and the restored copy of the database.
    scratch: [
      { mountPath: DRILL_DIR, sizeMb: 2 * (args.volumeGb ?? 10) * 1024 },
      { mountPath: "/home/backup" },
      { mountPath: "/tmp" },
    ],
    resources: { cpuMillis: 500, memoryMb: 512 },
    user: { uid: IMAGES.postgres.uid, gid: IMAGES.postgres.gid },
    serviceAccount: store.access?.serviceAccount,
  };
}

/**
 * Logical backups: a pg_dump and the roles every day, each pair restored into a throwaway server in
 * the job before it is kept, with 7 daily and 4 weekly dumps retained. On dev a loop service keeps them on a volume; with
 * a `bucket` (cloud stacks) a daily CronJob uploads them to the backup bucket, whose lifecycle does
 * the retention. They complement the managed services' automated backups, PITR and DR copies with
 * a portable, verified copy.
 */
export class Backup extends pulumi.ComponentResource {
  constructor(name: string, args: BackupArgs, opts?: pulumi.ComponentResourceOptions) {
    validateBackupArgs(args);
    super("northstack:data:Backup", name, {}, opts);
    if (args.bucket) {
      const bucket = args.bucket;
      args.runtime.deploy(bucketBackupSpec(name, { ...args, bucket }), this, {
        dependsOn: [...(args.dependsOn ?? []), ...(bucket.access?.dependsOn ?? [])],
      });
      if (args.drillBucket && args.recorder)
        this.deployDrill(name, { ...args, drillBucket: args.drillBucket, recorder: args.recorder });
      this.registerOutputs({});
      return;
    }
    args.runtime.deploy(
      {
        name,
        component: "backup",
        image: IMAGES.postgres.image,
        command: ["/bin/bash", SCRIPT],
        args: ["loop"],
        env: {
          PGHOST: args.postgres.host,
          PGPORT: pulumi.interpolate`${args.postgres.port}`,
          PGUSER: args.postgres.login.user,
          PGDATABASE: args.postgres.database,
          PGSSLMODE: args.postgres.sslMode,
          BACKUP_DIR: "/backups",
        },
        secretEnv: { PGPASSWORD: args.postgres.login.password },
        files: [
          { path: SCRIPT, content: renderBackupScript({ keepDaily: args.keepDaily, keepWeekly: args.keepWeekly }) },
        ],
        volumes: [{ name: "backups", mountPath: "/backups", sizeGb: args.volumeGb ?? 10 }],
        scratch: [{ mountPath: "/tmp" }],
        // Healthy while the newest verified backup is recent; the first one runs at start.
        health: { exec: ["/bin/bash", SCRIPT, "check"], intervalSeconds: 300, startSeconds: 600 },
        resources: { cpuMillis: 250, memoryMb: 256 },
        user: { uid: IMAGES.postgres.uid, gid: IMAGES.postgres.gid },
      },
      this,
      { dependsOn: args.dependsOn },
    );
    this.registerOutputs({});
  }

  private deployDrill(
    name: string,
    args: BackupArgs & { readonly drillBucket: ObjectStoreEndpoint; readonly recorder: PostgresLogin },
  ): void {
    args.runtime.deploy(bucketDrillSpec(name, args), this, {
      dependsOn: [...(args.dependsOn ?? []), ...(args.drillBucket.access?.dependsOn ?? [])],
    });
  }
}
