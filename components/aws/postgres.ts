import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { PostgresEndpoint } from "../endpoints";
import { CRON_DATABASE, PRELOAD_LIBRARIES } from "../extensions";

export const RDS_MIN_BACKUP_RETENTION_DAYS = 7;

export interface RdsPostgresArgs {
  /** Private subnets in 2+ zones for the DB subnet group. Required. */
  readonly subnetIds: pulumi.Input<string>[];
  /** Security group admitting only the cluster on 5432. Required. */
  readonly securityGroupId: pulumi.Input<string>;
  /** Customer-managed KMS key for storage and Performance Insights. Required. */
  readonly kmsKeyArn: pulumi.Input<string>;
  /** Master password, a Pulumi secret. Required. */
  readonly password: pulumi.Input<string>;
  /** Instance class. Default: db.t4g.medium. */
  readonly instanceClass?: aws.rds.InstanceArgs["instanceClass"];
  /** Allocated gp3 storage in GiB; autoscaling may grow it to 4x. Default: 20. */
  readonly storageGb?: number;
  /** Multi-AZ standby in a second zone. Default: false. */
  readonly ha?: boolean;
  /** Deletion protection and a final snapshot on delete. Default: false. */
  readonly deletionProtection?: boolean;
  /** Days of automated backups (and so of point-in-time recovery), 7-35. Default: 7. */
  readonly backupRetentionDays?: number;
  /** Replicate automated backups (PITR included) to the DR region with this provider. Default: no replication. */
  readonly drProvider?: aws.Provider;
  /** KMS key in the DR region for the replicated backups; required with drProvider. */
  readonly drKmsKeyArn?: pulumi.Input<string>;
}

/** Throws with every problem in the arguments, before any resource is registered. */
export function validateRdsPostgresArgs(args: RdsPostgresArgs): void {
  const problems: string[] = [];
  const retention = args.backupRetentionDays ?? RDS_MIN_BACKUP_RETENTION_DAYS;
  if (!Number.isInteger(retention) || retention < RDS_MIN_BACKUP_RETENTION_DAYS || retention > 35) {
    problems.push(
      `backupRetentionDays ${retention} is not allowed; allowed: ${RDS_MIN_BACKUP_RETENTION_DAYS} to 35 (PITR needs automated backups)`,
    );
  }
  const storage = args.storageGb ?? 20;
  if (!Number.isInteger(storage) || storage < 20 || storage > 65536)
    problems.push(`storageGb ${storage} is not allowed; allowed: 20 to 65536 (gp3)`);
  if (args.subnetIds.length < 2)
    problems.push(`subnetIds has ${args.subnetIds.length} subnet(s); a DB subnet group needs 2+ in different zones`);
  if (Boolean(args.drProvider) !== Boolean(args.drKmsKeyArn))
    problems.push("drProvider and drKmsKeyArn: give both or neither");
  if (problems.length) throw new Error(`RDS Postgres: ${problems.join("; ")}`);
}

/**
 * Parameters Supabase needs on RDS: logical replication for realtime, TLS required of every client
 * (the endpoint says sslmode=require), and the preloaded libraries of the extension table
 * (components/extensions.ts). The RDS default group preloads pg_stat_statements only; pg_cron also
 * needs `cron.database_name`, the database the migrations run in.
 */
export function rdsPostgresParameters(): {
  name: string;
  value: string;
  applyMethod: "pending-reboot" | "immediate";
}[] {
  return [
    // Static parameter: takes effect on the next reboot, which creation includes.
    { name: "rds.logical_replication", value: "1", applyMethod: "pending-reboot" },
    { name: "rds.force_ssl", value: "1", applyMethod: "immediate" },
    // Static parameters as well: RDS refuses "immediate" for them.
    { name: "shared_preload_libraries", value: PRELOAD_LIBRARIES.join(","), applyMethod: "pending-reboot" },
    { name: "cron.database_name", value: CRON_DATABASE, applyMethod: "pending-reboot" },
  ];
}

/**
 * RDS for PostgreSQL 15, the managed twin of the dev Postgres container: private, encrypted with
 * the given KMS key, automated backups with point-in-time recovery, Multi-AZ when `ha`, and on prod
 * its automated backups replicated to the DR region.
 */
export class RdsPostgres extends pulumi.ComponentResource {
  readonly endpoint: PostgresEndpoint;
  readonly instanceArn: pulumi.Output<string>;

  constructor(name: string, args: RdsPostgresArgs, opts?: pulumi.ComponentResourceOptions) {
    validateRdsPostgresArgs(args);
    super("northstack:aws:Postgres", name, {}, opts);
    const deletionProtection = args.deletionProtection ?? false;
    const storageGb = args.storageGb ?? 20;

    const subnetGroup = new aws.rds.SubnetGroup(`${name}-subnets`, { subnetIds: args.subnetIds }, { parent: this });
    const parameterGroup = new aws.rds.ParameterGroup(
      `${name}-params`,
      {
        family: "postgres15",
        description: "northstack: logical replication for Supabase realtime, TLS required",
        parameters: rdsPostgresParameters(),
      },
      { parent: this },
    );
    const instance = new aws.rds.Instance(
      `${name}-db`,
      {
        engine: "postgres",
        engineVersion: "15",
        instanceClass: args.instanceClass ?? "db.t4g.medium",
        dbName: "postgres",
        username: "postgres",
        password: pulumi.secret(args.password),
        port: 5432,
        allocatedStorage: storageGb,
        maxAllocatedStorage: storageGb * 4,
        storageType: "gp3",
        storageEncrypted: true,
        kmsKeyId: args.kmsKeyArn,
        multiAz: args.ha ?? false,
        dbSubnetGroupName: subnetGroup.name,
        vpcSecurityGroupIds: [args.securityGroupId],
        publiclyAccessible: false,
        parameterGroupName: parameterGroup.name,
        backupRetentionPeriod: args.backupRetentionDays ?? RDS_MIN_BACKUP_RETENTION_DAYS,
        backupWindow: "07:00-08:00",
        maintenanceWindow: "sun:08:30-sun:09:30",
        copyTagsToSnapshot: true,
        deletionProtection,
        skipFinalSnapshot: !deletionProtection,
        finalSnapshotIdentifier: deletionProtection ? `${name}-${pulumi.getStack()}-final` : undefined,
        performanceInsightsEnabled: true,
        performanceInsightsKmsKeyId: args.kmsKeyArn,
        performanceInsightsRetentionPeriod: 7,
        enabledCloudwatchLogsExports: ["postgresql", "upgrade"],
        autoMinorVersionUpgrade: true,
        caCertIdentifier: "rds-ca-rsa2048-g1",
      },
      { parent: this },
    );

    if (args.drProvider && args.drKmsKeyArn) {
      new aws.rds.InstanceAutomatedBackupsReplication(
        `${name}-dr-backups`,
        {
          sourceDbInstanceArn: instance.arn,
          kmsKeyId: args.drKmsKeyArn,
          retentionPeriod: args.backupRetentionDays ?? RDS_MIN_BACKUP_RETENTION_DAYS,
        },
        { parent: this, provider: args.drProvider },
      );
    }

    this.instanceArn = instance.arn;
    this.endpoint = {
      host: instance.address,
      port: instance.port,
      database: "postgres",
      login: { user: "postgres", password: pulumi.secret(args.password) },
      sslMode: "require",
    };
    this.registerOutputs({ host: this.endpoint.host, port: this.endpoint.port });
  }
}
