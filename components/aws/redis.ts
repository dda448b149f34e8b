import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { RedisEndpoint } from "../endpoints";

export interface ElastiCacheRedisArgs {
  /** Private subnets in 2+ zones for the cache subnet group. Required. */
  readonly subnetIds: pulumi.Input<string>[];
  /** Security group admitting only the cluster on 6379. Required. */
  readonly securityGroupId: pulumi.Input<string>;
  /** Customer-managed KMS key for at-rest encryption. Required. */
  readonly kmsKeyArn: pulumi.Input<string>;
  /** AUTH token (16-128 printable characters), a Pulumi secret. Required. */
  readonly authToken: pulumi.Input<string>;
  /** Node type. Default: cache.t4g.small. */
  readonly nodeType?: aws.elasticache.ReplicationGroupArgs["nodeType"];
  /** A replica in another zone with automatic failover (Multi-AZ). Default: false. */
  readonly ha?: boolean;
  /** Nodes in the group (primary + replicas); at least 2 with `ha`. Default: 2 with ha, else 1. */
  readonly nodes?: number;
  /** Days of daily snapshots kept, 7 to 35 (the 7 daily copies every data store keeps). Default: 7. */
  readonly snapshotRetentionDays?: number;
}

/** Daily snapshots kept at the least: the 7 daily copies the backup policy asks of every data store. */
export const ELASTICACHE_MIN_SNAPSHOT_DAYS = 7;

/** Throws with every problem in the arguments, before any resource is registered. */
export function validateElastiCacheRedisArgs(args: ElastiCacheRedisArgs): void {
  const problems: string[] = [];
  const nodes = args.nodes ?? (args.ha ? 2 : 1);
  if (!Number.isInteger(nodes) || nodes < 1 || nodes > 6)
    problems.push(`nodes ${nodes} is not allowed; allowed: 1 to 6`);
  if (args.ha && nodes < 2) problems.push(`nodes ${nodes} with ha: automatic failover needs a replica, so 2 to 6`);
  if (args.subnetIds.length < 2 && args.ha)
    problems.push(`subnetIds has ${args.subnetIds.length} subnet(s); Multi-AZ needs 2+ in different zones`);
  const snapshots = args.snapshotRetentionDays ?? ELASTICACHE_MIN_SNAPSHOT_DAYS;
  if (!Number.isInteger(snapshots) || snapshots < ELASTICACHE_MIN_SNAPSHOT_DAYS || snapshots > 35) {
    problems.push(`snapshotRetentionDays ${snapshots} is not allowed; allowed: ${ELASTICACHE_MIN_SNAPSHOT_DAYS} to 35`);
  }
  if (problems.length) throw new Error(`ElastiCache Redis: ${problems.join("; ")}`);
}

/**
 * ElastiCache for Redis 7, the managed twin of the dev Redis container: a replication group with
 * TLS in transit, an AUTH token and KMS at-rest encryption; Multi-AZ with automatic failover when
 * `ha`. Clients connect with rediss:// to the primary endpoint. Daily snapshots are kept 7 days.
 *
 * ElastiCache copies snapshots only within their region; the copy in ca-west-1 is a scheduled export
 * to an S3 bucket that replicates there (aws/redis-export.ts, and the job in redis-export.ts).
 */
export class ElastiCacheRedis extends pulumi.ComponentResource {
  readonly endpoint: RedisEndpoint;
  /** The replication group's id, which names its snapshots. */
  readonly replicationGroupId: pulumi.Output<string>;

  constructor(name: string, args: ElastiCacheRedisArgs, opts?: pulumi.ComponentResourceOptions) {
    validateElastiCacheRedisArgs(args);
    super("northstack:aws:Redis", name, {}, opts);
    const ha = args.ha ?? false;

    const subnetGroup = new aws.elasticache.SubnetGroup(
      `${name}-subnets`,
      { subnetIds: args.subnetIds, description: "northstack Redis: private subnets" },
      { parent: this },
    );
    const group = new aws.elasticache.ReplicationGroup(
      `${name}-rg`,
      {
        description: `northstack ${pulumi.getStack()} Redis`,
        engine: "redis",
        engineVersion: "7.1",
        parameterGroupName: "default.redis7",
        nodeType: args.nodeType ?? "cache.t4g.small",
        port: 6379,
        numCacheClusters: args.nodes ?? (ha ? 2 : 1),
        automaticFailoverEnabled: ha,
        multiAzEnabled: ha,
        subnetGroupName: subnetGroup.name,
        securityGroupIds: [args.securityGroupId],
        transitEncryptionEnabled: true,
        transitEncryptionMode: "required",
        authToken: pulumi.secret(args.authToken),
        atRestEncryptionEnabled: true,
        kmsKeyId: args.kmsKeyArn,
        snapshotRetentionLimit: args.snapshotRetentionDays ?? ELASTICACHE_MIN_SNAPSHOT_DAYS,
        snapshotWindow: "06:00-07:00",
        maintenanceWindow: "sun:09:30-sun:10:30",
        autoMinorVersionUpgrade: true,
      },
      { parent: this },
    );

    this.endpoint = {
      host: group.primaryEndpointAddress,
      port: group.port.apply((p) => p ?? 6379),
      password: pulumi.secret(args.authToken),
      tls: true,
    };
    this.replicationGroupId = group.id;
    this.registerOutputs({
      host: this.endpoint.host,
      port: this.endpoint.port,
      replicationGroupId: this.replicationGroupId,
    });
  }
}
