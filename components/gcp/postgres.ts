import * as gcp from "@pulumi/gcp";
import * as pulumi from "@pulumi/pulumi";
import { checkRegion } from "../config/checks";
import { PostgresEndpoint } from "../endpoints";
import { CRON_DATABASE } from "../extensions";

export interface CloudSqlPostgresArgs {
  /** Region of the instance and its backups. Required. */
  readonly region: string;
  /** VPC network (with private services access) the private IP lives in. Required. */
  readonly networkId: pulumi.Input<string>;
  /** Password of the built-in `postgres` user, a Pulumi secret. Required. */
  readonly password: pulumi.Input<string>;
  /** CMEK key in the same region; Cloud SQL's service agent must be granted it. Default: Google-managed encryption. */
  readonly kmsKeyId?: pulumi.Input<string>;
  /** Machine tier. Default: db-custom-2-7680. */
  readonly tier?: gcp.types.input.sql.DatabaseInstanceSettings["tier"];
  /** SSD storage in GiB; grows automatically. Default: 20. */
  readonly storageGb?: number;
  /** REGIONAL availability (a standby in a second zone) instead of ZONAL. Default: false. */
  readonly ha?: boolean;
  /** Deletion protection in both Pulumi and the Cloud SQL API, and a final backup. Default: false. */
  readonly deletionProtection?: boolean;
  /** Automated backups kept, one a day, 7-365. Default: 7. */
  readonly backupRetentionDays?: number;
  /** What the instance waits for: the services peering and the key grant. Default: nothing. */
  readonly dependsOn?: pulumi.Resource[];
  /**
   * A cross-region read replica for disaster recovery, on the same private network, kept in step by
   * streaming replication and promotable if the primary region is lost. Default: none.
   */
  readonly drReplica?: {
    /** Its region: the other Canadian region. */
    readonly region: string;
    /** CMEK key in that region; Cloud SQL's service agent must be granted it. Default: Google-managed encryption. */
    readonly kmsKeyId?: pulumi.Input<string>;
    /** What it waits for, such as that key grant. Default: nothing. */
    readonly dependsOn?: pulumi.Resource[];
  };
}

/** Throws with every problem in the arguments, before any resource is registered. */
export function validateCloudSqlPostgresArgs(args: CloudSqlPostgresArgs): void {
  const problems: string[] = [];
  const retention = args.backupRetentionDays ?? 7;
  if (!Number.isInteger(retention) || retention < 7 || retention > 365)
    problems.push(`backupRetentionDays ${retention} is not allowed; allowed: 7 to 365`);
  const storage = args.storageGb ?? 20;
  if (!Number.isInteger(storage) || storage < 10 || storage > 65536)
    problems.push(`storageGb ${storage} is not allowed; allowed: 10 to 65536`);
  if (args.drReplica) {
    const problem = checkRegion("gcp", args.drReplica.region);
    if (problem) problems.push(`drReplica.region ${JSON.stringify(args.drReplica.region)} ${problem}`);
    else if (args.drReplica.region === args.region)
      problems.push(
        `drReplica.region ${JSON.stringify(args.drReplica.region)} equals region; the replica must be in the other Canadian region`,
      );
  }
  if (problems.length) throw new Error(`Cloud SQL Postgres: ${problems.join("; ")}`);
}

/**
 * Cloud SQL ENTERPRISE keeps 1 to 7 days of transaction logs, so that is the longest PITR window it
 * offers (ENTERPRISE_PLUS allows 35, but only on its own machine tiers).
 */
export const CLOUD_SQL_MAX_PITR_DAYS = 7;

/**
 * How a configured `backupRetentionDays` maps onto Cloud SQL. Pure.
 *
 * Chosen over refusing values above 7: refusing would force prod (14 days) down to 7 daily backups,
 * which keeps less than today. Instead every configured day is kept as a daily automated backup
 * (restore to that day's backup), and point-in-time recovery covers the last `pitrDays` of them.
 * `pitrCapped` is true when PITR is shorter than configured; the component then warns at plan time
 * and exports `pitrWindowDays`, so the gap is visible rather than silent.
 */
export function cloudSqlBackupWindow(backupRetentionDays: number): {
  retainedBackups: number;
  pitrDays: number;
  pitrCapped: boolean;
} {
  const pitrDays = Math.min(backupRetentionDays, CLOUD_SQL_MAX_PITR_DAYS);
  return { retainedBackups: backupRetentionDays, pitrDays, pitrCapped: pitrDays < backupRetentionDays };
}

/** The plan-time warning when PITR covers fewer days than configured, or undefined. Pure. */
export function cloudSqlPitrNotice(backupRetentionDays: number): string | undefined {
  const backupWindow = cloudSqlBackupWindow(backupRetentionDays);
  if (!backupWindow.pitrCapped) return undefined;
  return (
    `backupRetentionDays: ${backupRetentionDays} exceeds Cloud SQL's ${CLOUD_SQL_MAX_PITR_DAYS}-day PITR window; ` +
    `${backupRetentionDays} daily backups are kept, point-in-time recovery covers the last ${backupWindow.pitrDays} days`
  );
}

/** Automated backups and PITR, stored in `region` (without a location Cloud SQL uses a multi-region outside Canada). Pure. */
export function cloudSqlBackupConfiguration(
  region: string,
  backupRetentionDays: number,
): gcp.types.input.sql.DatabaseInstanceSettingsBackupConfiguration {
  const backupWindow = cloudSqlBackupWindow(backupRetentionDays);
  return {
    enabled: true,
    pointInTimeRecoveryEnabled: true,
    location: region,
    startTime: "07:00",
    transactionLogRetentionDays: backupWindow.pitrDays,
    backupRetentionSettings: { retainedBackups: backupWindow.retainedBackups, retentionUnit: "COUNT" },
  };
}

/**
 * The commands that turn the DR replica into a primary that is backed up like the old one. Cloud SQL
 * refuses `backupConfiguration.enabled` on a read replica, so backups cannot be declared on it ahead
 * of time; they are switched on as the second step of the promotion. Pure; the runbook prints these.
 */
export function cloudSqlPromoteCommands(replicaName: string, drRegion: string, backupRetentionDays: number): string[] {
  const backupWindow = cloudSqlBackupWindow(backupRetentionDays);
  return [
    `gcloud sql instances promote-replica ${replicaName}`,
    `gcloud sql instances patch ${replicaName} --backup-start-time=07:00 --backup-location=${drRegion} --enable-point-in-time-recovery --retained-transaction-log-days=${backupWindow.pitrDays} --retained-backups-count=${backupWindow.retainedBackups}`,
  ];
}

/**
 * Database flags: logical decoding for Supabase realtime, and pg_cron from the extension table
 * (components/extensions.ts). Cloud SQL preloads pg_stat_statements itself and takes no
 * shared_preload_libraries flag; `cloudsql.enable_pg_cron` loads pg_cron, whose jobs live in
 * `cron.database_name`, the database the migrations run in. Pure.
 */
export function cloudSqlFlags(): { name: string; value: string }[] {
  return [
    { name: "cloudsql.logical_decoding", value: "on" },
    { name: "cloudsql.enable_pg_cron", value: "on" },
    { name: "cron.database_name", value: CRON_DATABASE },
  ];
}

/**
 * Cloud SQL for PostgreSQL 15, the managed twin of the dev Postgres container: private IP only,
 * TLS required, daily backups with point-in-time recovery kept in the instance's own region,
 * REGIONAL when `ha`, CMEK when a key is given, and with `drReplica` a read replica in the DR region
 * (the GCP counterpart of RDS's replicated automated backups).
 */
export class CloudSqlPostgres extends pulumi.ComponentResource {
  readonly endpoint: PostgresEndpoint;
  readonly connectionName: pulumi.Output<string>;
  /** Days of point-in-time recovery the instance actually keeps (at most 7 on Cloud SQL ENTERPRISE). */
  readonly pitrWindowDays: pulumi.Output<number>;
  /** Connection name of the DR replica, when there is one. */
  readonly drReplicaConnectionName?: pulumi.Output<string>;

  constructor(name: string, args: CloudSqlPostgresArgs, opts?: pulumi.ComponentResourceOptions) {
    validateCloudSqlPostgresArgs(args);
    super("northstack:gcp:Postgres", name, {}, opts);
    const deletionProtection = args.deletionProtection ?? false;
    const retention = args.backupRetentionDays ?? 7;
    const notice = cloudSqlPitrNotice(retention);
    if (notice) pulumi.log.warn(notice, this);
    this.pitrWindowDays = pulumi.output(cloudSqlBackupWindow(retention).pitrDays);

    const instance = new gcp.sql.DatabaseInstance(
      `${name}-db`,
      {
        databaseVersion: "POSTGRES_15",
        region: args.region,
        rootPassword: pulumi.secret(args.password),
        encryptionKeyName: args.kmsKeyId,
        deletionProtection,
        settings: {
          tier: args.tier ?? "db-custom-2-7680",
          edition: "ENTERPRISE",
          availabilityType: args.ha ? "REGIONAL" : "ZONAL",
          diskType: "PD_SSD",
          diskSize: args.storageGb ?? 20,
          diskAutoresize: true,
          deletionProtectionEnabled: deletionProtection,
          ipConfiguration: {
            ipv4Enabled: false,
            privateNetwork: args.networkId,
            sslMode: "ENCRYPTED_ONLY",
            enablePrivatePathForGoogleCloudServices: false,
          },
          backupConfiguration: cloudSqlBackupConfiguration(args.region, retention),
          finalBackupConfig: deletionProtection ? { enabled: true, retentionDays: 30 } : undefined,
          databaseFlags: cloudSqlFlags(),
          insightsConfig: { queryInsightsEnabled: true },
          maintenanceWindow: { day: 7, hour: 8, updateTrack: "stable" },
        },
      },
      { parent: this, dependsOn: args.dependsOn },
    );

    if (args.drReplica) {
      const replica = new gcp.sql.DatabaseInstance(
        `${name}-dr`,
        {
          databaseVersion: "POSTGRES_15",
          region: args.drReplica.region,
          masterInstanceName: instance.name,
          encryptionKeyName: args.drReplica.kmsKeyId,
          deletionProtection,
          settings: {
            // The same size as the primary, so that a promoted replica carries the load.
            tier: args.tier ?? "db-custom-2-7680",
            edition: "ENTERPRISE",
            availabilityType: "ZONAL",
            diskType: "PD_SSD",
            diskSize: args.storageGb ?? 20,
            diskAutoresize: true,
            deletionProtectionEnabled: deletionProtection,
            ipConfiguration: {
              ipv4Enabled: false,
              privateNetwork: args.networkId,
              sslMode: "ENCRYPTED_ONLY",
              enablePrivatePathForGoogleCloudServices: false,
            },
            // The primary's flags, so that a promoted replica serves Supabase realtime unchanged. Backups
            // cannot be enabled on a replica; cloudSqlPromoteCommands switches them on at promotion.
            databaseFlags: cloudSqlFlags(),
            insightsConfig: { queryInsightsEnabled: true },
            maintenanceWindow: { day: 7, hour: 9, updateTrack: "stable" },
          },
        },
        { parent: this, dependsOn: args.drReplica.dependsOn },
      );
      this.drReplicaConnectionName = replica.connectionName;
    }

    this.connectionName = instance.connectionName;
    this.endpoint = {
      host: instance.privateIpAddress,
      port: pulumi.output(5432),
      database: "postgres",
      login: { user: "postgres", password: pulumi.secret(args.password) },
      sslMode: "require",
    };
    this.registerOutputs({
      host: this.endpoint.host,
      connectionName: this.connectionName,
      pitrWindowDays: this.pitrWindowDays,
      drReplicaConnectionName: this.drReplicaConnectionName,
    });
  }
}
