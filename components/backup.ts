import * as pulumi from "@pulumi/pulumi";
import { renderBackupScript } from "./backup-script";
import { PostgresEndpoint } from "./endpoints";
import { IMAGES } from "./images";
import { Runtime } from "./runtime/types";

export interface BackupArgs {
  readonly runtime: Runtime;
  /** Database to back up. */
  readonly postgres: PostgresEndpoint;
  /** Daily dumps kept. Default: 7. */
  readonly keepDaily?: number;
  /** Weekly dumps kept. Default: 4. */
  readonly keepWeekly?: number;
  /** Size of the backup volume in GiB. Default: 10. */
  readonly volumeGb?: number;
  /** Workloads that must exist first (the migrations). Default: none. */
  readonly dependsOn?: pulumi.Resource[];
}

/**
 * Logical backups to a local volume for the dev stack: a pg_dump every day, each one restored into a
 * scratch database before it is kept, with 7 daily and 4 weekly dumps retained. Cloud stacks rely
 * on the managed services' automated backups, PITR and DR copies instead.
 */
export class Backup extends pulumi.ComponentResource {
  constructor(name: string, args: BackupArgs, opts?: pulumi.ComponentResourceOptions) {
    super("northstack:data:Backup", name, {}, opts);
    const script = "/opt/northstack/backup.sh";
    args.runtime.deploy(
      {
        name,
        component: "backup",
        image: IMAGES.postgres.image,
        command: ["/bin/bash", script],
        args: ["loop"],
        env: {
          PGHOST: args.postgres.host,
          PGPORT: pulumi.interpolate`${args.postgres.port}`,
          PGUSER: args.postgres.adminUser,
          PGDATABASE: args.postgres.database,
          PGSSLMODE: args.postgres.sslMode,
          BACKUP_DIR: "/backups",
        },
        secretEnv: { PGPASSWORD: args.postgres.adminPassword },
        files: [{ path: script, content: renderBackupScript({ keepDaily: args.keepDaily, keepWeekly: args.keepWeekly }) }],
        volumes: [{ name: "backups", mountPath: "/backups", sizeGb: args.volumeGb ?? 10 }],
        scratch: [{ mountPath: "/tmp" }],
        // Healthy while the newest verified backup is recent; the first one runs at start.
        health: { exec: ["/bin/bash", script, "check"], intervalSeconds: 300, startSeconds: 600 },
        resources: { cpuMillis: 250, memoryMb: 256 },
        user: { uid: IMAGES.postgres.uid, gid: IMAGES.postgres.gid },
      },
      this,
      { dependsOn: args.dependsOn },
    );
    this.registerOutputs({});
  }
}
