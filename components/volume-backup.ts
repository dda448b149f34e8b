import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import { awsCliConfig, postgresEnv } from "./backup";
import { PostgresEndpoint, RedisEndpoint } from "./endpoints";
import { IMAGES } from "./images";
import { PGBACKREST_S3_PATH, PgBackRestS3Repo } from "./pgbackrest";
import { Runtime, buildLocally } from "./runtime/types";
import { VOLUME_BACKUP_KINDS, VolumeBackupKind, renderVolumeBackupScript } from "./volume-backup-script";
import { WorkloadSpec } from "./workload";

const SCRIPT = "/opt/northstack/volume-backup.sh";
const BACKUP_DIR = "/backups";
const STORAGE_MOUNT = "/mnt/storage-objects";
const AWS_CONFIG = "/etc/northstack/aws-config";
/** Redis (redis-cli, redis-check-rdb) beside Postgres's psql, tar and gzip; built, never pulled. */
const IMAGE_CONTEXT = path.resolve(__dirname, "..", "images", "volume-backup");

/** The off-host bucket (northstack:backupOffsite*), as pgBackRest's second repository gets it, with its keys. */
export type OffsiteBucket = PgBackRestS3Repo & {
  readonly accessKeyId: pulumi.Input<string>;
  readonly secretAccessKey: pulumi.Input<string>;
};

/**
 * Where the copies go in the off-host bucket: beside pgBackRest's repository path, never inside it
 * (pgBackRest owns everything under its path). "/pgbackrest" gives "pgbackrest-volumes". Pure.
 */
export function offsitePrefix(repoPath: string = PGBACKREST_S3_PATH): string {
  const trimmed = repoPath.replace(/^\/+|\/+$/g, "");
  return trimmed === "" ? "volumes" : `${trimmed}-volumes`;
}

export interface VolumeBackupArgs {
  /** Where the job runs: a runtime whose workloads can mount another's volume read-only (Docker). Required. */
  readonly runtime: Runtime;
  /** The Redis container to copy, over the network with its password. Default: none, no Redis copies. */
  readonly redis?: RedisEndpoint;
  /** Storage's objects volume, mounted read-only: the workload that owns it and the volume's name. Default: none, no Storage copies. */
  readonly storage?: { readonly workload: string; readonly volume: string };
  /** Where each kept copy is recorded (northstack_ops.backup_runs), with the recorder role's login. Required. */
  readonly postgres: PostgresEndpoint;
  /**
   * Also upload each kept copy to this bucket, under offsitePrefix(path), kept 7 daily and 4 weekly
   * there too, and record each upload as kind "<kind>-offsite". Default: none, copies stay on the host.
   */
  readonly offsite?: OffsiteBucket;
  /** Daily copies kept of each kind. Default: 7. */
  readonly keepDaily?: number;
  /** Weekly copies kept of each kind. Default: 4. */
  readonly keepWeekly?: number;
  /** Size of the backups volume in GiB. Default: 10. */
  readonly volumeGb?: number;
  /** Image with bash, redis-cli, redis-check-rdb, psql, tar, gzip and the AWS CLI. Default: images/volume-backup, built locally. */
  readonly image?: pulumi.Input<string>;
  /** Workloads that must exist first (the migrations, which create the record table). Default: none. */
  readonly dependsOn?: pulumi.Resource[];
}

/** What the job copies, from what it was given. */
export function volumeBackupKinds(args: Pick<VolumeBackupArgs, "redis" | "storage">): VolumeBackupKind[] {
  return VOLUME_BACKUP_KINDS.filter((k) => (k === "redis" ? args.redis : args.storage) !== undefined);
}

/** Checks the arguments before any resource is registered; throws once, naming every problem. */
export function validateVolumeBackupArgs(
  name: string,
  args: Pick<VolumeBackupArgs, "redis" | "storage" | "keepDaily" | "keepWeekly" | "volumeGb">,
): void {
  const problems: string[] = [];
  if (volumeBackupKinds(args).length === 0) problems.push("redis and storage are both absent; give at least one");
  for (const [key, value] of Object.entries({
    keepDaily: args.keepDaily,
    keepWeekly: args.keepWeekly,
    volumeGb: args.volumeGb,
  })) {
    if (value !== undefined && (!Number.isInteger(value) || value < 1))
      problems.push(`${key}: ${value} is not allowed; use an integer of at least 1`);
  }
  if (problems.length) throw new Error(`VolumeBackup ${JSON.stringify(name)}: ${problems.join("; ")}`);
}

/**
 * The loop service that copies Redis and Storage's objects daily into its own backups volume: no
 * share of Redis's volume (the RDB comes over the network), Storage's mounted read-only, non-root,
 * every capability dropped, a read-only root file system. Healthy while every kind's newest kept copy
 * is recent. Pure.
 */
export function volumeBackupSpec(
  name: string,
  args: Omit<VolumeBackupArgs, "runtime" | "image" | "dependsOn">,
  image: pulumi.Input<string>,
): WorkloadSpec {
  validateVolumeBackupArgs(name, args);
  const kinds = volumeBackupKinds(args);
  const pg = args.postgres;
  const offsite = args.offsite;
  return {
    name,
    component: "backup",
    image,
    command: ["/bin/bash", SCRIPT],
    args: ["loop"],
    env: {
      ...postgresEnv(pg),
      BACKUP_DIR,
      ...(args.redis ? { REDIS_HOST: args.redis.host, REDIS_PORT: pulumi.interpolate`${args.redis.port}` } : {}),
      ...(args.storage ? { STORAGE_DIR: STORAGE_MOUNT } : {}),
      ...(offsite
        ? {
            OFFSITE_BUCKET: offsite.bucket,
            OFFSITE_ENDPOINT: offsite.endpoint,
            OFFSITE_PREFIX: offsitePrefix(offsite.path),
            OFFSITE_VERIFY_TLS: String(offsite.verifyTls !== false),
            AWS_CONFIG_FILE: AWS_CONFIG,
            AWS_PAGER: "",
            // The root file system is read-only; the CLI may keep its state under HOME.
            HOME: "/tmp",
          }
        : {}),
    },
    secretEnv: {
      PGPASSWORD: pg.login.password,
      // redis-cli reads the password from here, so it never shows on a command line or in `ps`.
      ...(args.redis ? { REDISCLI_AUTH: args.redis.password } : {}),
      // The AWS CLI's standard variables: never in a file, on a command line or in a log.
      ...(offsite
        ? {
            AWS_ACCESS_KEY_ID: pulumi.secret(offsite.accessKeyId),
            AWS_SECRET_ACCESS_KEY: pulumi.secret(offsite.secretAccessKey),
          }
        : {}),
    },
    files: [
      {
        path: SCRIPT,
        content: renderVolumeBackupScript({ keepDaily: args.keepDaily, keepWeekly: args.keepWeekly, kinds }),
      },
      ...(offsite
        ? [
            {
              path: AWS_CONFIG,
              content: awsCliConfig({ region: offsite.region }, offsite.uriStyle === "path" ? "path" : "virtual"),
            },
          ]
        : []),
    ],
    volumes: [{ name: "backups", mountPath: BACKUP_DIR, sizeGb: args.volumeGb ?? 10 }],
    readOnlyVolumesOf: args.storage
      ? [{ workload: args.storage.workload, volume: args.storage.volume, mountPath: STORAGE_MOUNT }]
      : [],
    scratch: [{ mountPath: "/tmp" }],
    // The first copies run at start and take seconds to minutes. Docker runs the first check one
    // interval after the start, and the runtime waits at most 180 s for healthy: so 60 s, not more.
    health: { exec: ["/bin/bash", SCRIPT, "check"], intervalSeconds: 60, startSeconds: 600 },
    resources: { cpuMillis: 250, memoryMb: 256 },
    user: { uid: IMAGES.postgres.uid, gid: IMAGES.postgres.gid },
    readOnlyRootFilesystem: true,
  };
}

/**
 * Daily copies of the data Postgres's backups do not hold, on a stack that runs it in containers:
 * a point-in-time RDB of Redis (checked by redis-check-rdb) and a tarball of Storage's objects
 * volume (read back before it counts), each kept 7 daily / 4 weekly and recorded for BackupTooOld;
 * with an off-host bucket, each also uploaded there, kept the same way, and recorded on its own.
 * Restores: `scripts/restore/restore.sh redis` and `storage` (docs/runbooks.md).
 */
export class VolumeBackup extends pulumi.ComponentResource {
  constructor(name: string, args: VolumeBackupArgs, opts?: pulumi.ComponentResourceOptions) {
    const { runtime, image, dependsOn, ...rest } = args;
    validateVolumeBackupArgs(name, rest);
    super("northstack:data:VolumeBackup", name, {}, opts);
    const built = image ?? buildLocally(runtime, name, `northstack/${name}`, IMAGE_CONTEXT, this);
    runtime.deploy(volumeBackupSpec(name, rest, built), this, { dependsOn });
    this.registerOutputs({});
  }
}
