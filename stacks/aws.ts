/**
 * AWS, ca-central-1 (copies in ca-west-1 on prod):
 *
 *   providers ─> VPC (private subnets, data SGs) ─> KMS key
 *     ─> RDS Postgres 15 ─> ElastiCache Redis ─> S3 backups (─> S3 replica in ca-west-1)
 *     ─> (prod) S3 Redis snapshot exports ─> S3 replica in ca-west-1 ─> S3 user files ─> EKS
 *     ─> data SGs admit 5432/6379 from the EKS cluster SG (an existing cluster: from the VPC)
 *     ─> IAM roles for the storage, backup and Redis DR copy ServiceAccounts (EKS Pod Identity)
 */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { BackupBucket, s3BucketName } from "../components/aws/backup-bucket";
import { EBS_CSI_PROVISIONER, EksCluster } from "../components/aws/cluster";
import { EncryptionKey } from "../components/aws/kms";
import { AwsNetwork, DataClientAccess } from "../components/aws/network";
import { RdsPostgres } from "../components/aws/postgres";
import { awsProviders } from "../components/aws/providers";
import { ElastiCacheRedis } from "../components/aws/redis";
import { RedisExportBuckets, redisExportJobPolicy } from "../components/aws/redis-export";
import { StorageBucket } from "../components/aws/storage-bucket";
import {
  PodIdentityRole,
  backupReaderPolicy,
  backupWriterPolicy,
  objectStorePolicy,
} from "../components/aws/workload-identity";
import { BACKUP_RETENTION } from "../components/retention";
import { NorthstackConfig } from "../components/config";
import { StackSecrets } from "../components/secrets";
import { BUCKET_USERS } from "./application";
import { CloudFoundation, existingClusterKubeconfig } from "./cloud-foundation";

/** ServiceAccounts of the two workloads that use a bucket: cloud identities are bound to these names. */
const STORAGE_SERVICE_ACCOUNT = BUCKET_USERS.storage;
const BACKUP_SERVICE_ACCOUNT = BUCKET_USERS.backup;
const BACKUP_DRILL_SERVICE_ACCOUNT = BUCKET_USERS.backupDrill;
const REDIS_EXPORT_SERVICE_ACCOUNT = BUCKET_USERS.redisExport;

/** The AWS managed data services, buckets, IAM identities and (northstack:cluster managed) EKS cluster. */
export function awsFoundation(cfg: NorthstackConfig, secrets: StackSecrets): CloudFoundation {
  const { drCopies: withDr, requiresHa: multiZone } = cfg.profile;
  const providers = awsProviders(cfg.stack, cfg.region, cfg.drRegion);
  const primary = { provider: providers.primary };

  const network = new AwsNetwork(
    "network",
    {
      vpcCidr: cfg.network.vpcCidr,
      vpcId: cfg.network.vpcId || undefined,
      privateSubnetIds: cfg.network.privateSubnetIds,
      natPerZone: multiZone,
    },
    primary,
  );
  const key = new EncryptionKey("kms", { purpose: `northstack ${cfg.stack}: data at rest` }, primary);
  const drKey = withDr
    ? new EncryptionKey("kms-dr", { purpose: `northstack ${cfg.stack}: DR copies` }, { provider: providers.dr })
    : undefined;

  const postgres = new RdsPostgres(
    "postgres",
    {
      subnetIds: network.privateSubnetIds,
      securityGroupId: network.postgresSecurityGroupId,
      kmsKeyArn: key.arn,
      password: secrets.postgresPassword,
      instanceClass: cfg.postgres.instanceClass,
      storageGb: cfg.postgres.storageGb,
      ha: cfg.postgres.ha,
      deletionProtection: cfg.deletionProtection,
      backupRetentionDays: cfg.postgres.backupRetentionDays,
      drProvider: drKey && providers.dr,
      drKmsKeyArn: drKey?.arn,
    },
    primary,
  );
  const redis = new ElastiCacheRedis(
    "redis",
    {
      subnetIds: network.privateSubnetIds,
      securityGroupId: network.redisSecurityGroupId,
      kmsKeyArn: key.arn,
      authToken: secrets.redisPassword,
      nodeType: cfg.redis.nodeType,
      ha: cfg.redis.ha,
    },
    primary,
  );
  const accountId = aws.getCallerIdentityOutput({}, primary).accountId;
  const bucketName = (purpose: string) => accountId.apply((id) => s3BucketName(cfg.stack, purpose, id));
  const backups = new BackupBucket(
    "backups",
    {
      bucketName: bucketName("backups"),
      drBucketName: drKey && bucketName("backups-dr"),
      kmsKeyArn: key.arn,
      region: cfg.region,
      drProvider: drKey && providers.dr,
      drRegion: drKey && cfg.drRegion,
      drKmsKeyArn: drKey?.arn,
      forceDestroy: !cfg.deletionProtection,
    },
    primary,
  );
  // ElastiCache's daily snapshots, exported and replicated to the DR region (prod).
  const redisCopies =
    drKey &&
    new RedisExportBuckets(
      "redis-dr",
      {
        bucketName: bucketName("redis-export"),
        drBucketName: bucketName("redis-dr"),
        kmsKeyArn: key.arn,
        drKmsKeyArn: drKey.arn,
        region: cfg.region,
        drProvider: providers.dr,
        drRegion: cfg.drRegion,
        accountId,
        forceDestroy: !cfg.deletionProtection,
      },
      primary,
    );
  const files = new StorageBucket(
    "storage",
    {
      bucketName: bucketName("storage"),
      kmsKeyArn: key.arn,
      region: cfg.region,
      forceDestroy: !cfg.deletionProtection,
    },
    primary,
  );

  const cluster =
    cfg.kubernetes.cluster === "managed"
      ? new EksCluster(
          "cluster",
          {
            subnetIds: network.privateSubnetIds,
            kmsKeyArn: key.arn,
            region: cfg.region,
            nodes: multiZone ? { min: 3, desired: 3, max: 6 } : { min: 2, desired: 2, max: 4 },
            publicAccessCidrs: cfg.kubernetes.apiAllowCidrs,
            deletionProtection: cfg.deletionProtection,
          },
          primary,
        )
      : undefined;

  new DataClientAccess(
    "network-data-access",
    { network, clientSecurityGroupId: cluster?.clusterSecurityGroupId },
    primary,
  );
  // Each bucket user gets its own IAM role through EKS Pod Identity; the nodes get no S3 or KMS rights.
  const identity = (name: string, serviceAccount: string, policy: pulumi.Input<aws.iam.PolicyDocument>) =>
    new PodIdentityRole(
      name,
      {
        clusterName: cluster ? cluster.name : cfg.kubernetes.eksClusterName,
        namespace: cfg.kubernetes.namespace,
        serviceAccount,
        policy,
        dependsOn: cluster ? [cluster.podIdentityAgent] : [],
      },
      primary,
    );
  const storageRole = identity(
    "storage-identity",
    STORAGE_SERVICE_ACCOUNT,
    pulumi.all([files.arn, key.arn]).apply(([bucket, kms]) => objectStorePolicy(bucket, kms)),
  );
  const backupRole = identity(
    "backup-identity",
    BACKUP_SERVICE_ACCOUNT,
    pulumi.all([backups.arn, key.arn]).apply(([bucket, kms]) =>
      backupWriterPolicy(
        bucket,
        kms,
        BACKUP_RETENTION.prefixes.map((p) => p.prefix),
        "weekly/",
      ),
    ),
  );
  // The drill reads the daily dumps it restores, and nothing else.
  const backupDrillRole = identity(
    "backup-drill-identity",
    BACKUP_DRILL_SERVICE_ACCOUNT,
    pulumi.all([backups.arn, key.arn]).apply(([bucket, kms]) => backupReaderPolicy(bucket, kms, ["daily/"])),
  );
  const podIdentityAccess = (serviceAccount: string, role: PodIdentityRole) => ({
    serviceAccount: { name: serviceAccount, eksPodIdentity: true },
    dependsOn: [role.association],
  });
  const redisExportRole =
    redisCopies &&
    identity(
      "redis-dr-identity",
      REDIS_EXPORT_SERVICE_ACCOUNT,
      pulumi
        .all([accountId, redis.replicationGroupId, redisCopies.arn, key.arn])
        .apply(([account, group, bucket, kms]) =>
          redisExportJobPolicy({
            region: cfg.region,
            accountId: account,
            replicationGroupId: group,
            bucketArn: bucket,
            kmsKeyArn: kms,
          }),
        ),
    );

  return {
    postgres: postgres.endpoint,
    redis: redis.endpoint,
    storage: { ...files.endpoint, access: podIdentityAccess(STORAGE_SERVICE_ACCOUNT, storageRole) },
    backups: { ...backups.endpoint, access: podIdentityAccess(BACKUP_SERVICE_ACCOUNT, backupRole) },
    backupDrill: { ...backups.endpoint, access: podIdentityAccess(BACKUP_DRILL_SERVICE_ACCOUNT, backupDrillRole) },
    drBucket: backups.drBucket,
    redisExport:
      redisCopies && redisExportRole
        ? {
            replicationGroupId: redis.replicationGroupId,
            bucket: {
              kind: "s3",
              bucket: redisCopies.bucket,
              region: cfg.region,
              access: podIdentityAccess(REDIS_EXPORT_SERVICE_ACCOUNT, redisExportRole),
            },
            kmsKeyArn: key.arn,
            drBucket: redisCopies.drBucket,
          }
        : undefined,
    kubeconfig: cluster ? cluster.kubeconfig : existingClusterKubeconfig(cfg),
    cluster,
    // RDS and ElastiCache sit in the private subnets; in a VPC the stack did not create, it knows only the VPC's CIDR.
    dataCidrs: network.privateSubnetCidrs ?? [network.vpcCidr],
    dataCidrsReason: network.privateSubnetCidrs
      ? undefined
      : "an existing VPC: the stack knows its CIDR (northstack:vpcCidr) but not which subnets hold the data services",
    // An NLB rather than a Classic ELB, internet-facing: "nlb" is what the in-tree controller reads;
    // the scheme is what the AWS Load Balancer Controller reads (it defaults to internal) if installed.
    loadBalancerAnnotations: {
      "service.beta.kubernetes.io/aws-load-balancer-type": "nlb",
      "service.beta.kubernetes.io/aws-load-balancer-scheme": "internet-facing",
    },
    // A new EKS cluster's only class is unencrypted gp2; volumes get gp3 encrypted with the stack key.
    storageClass: cluster
      ? { provisioner: EBS_CSI_PROVISIONER, parameters: { type: "gp3", encrypted: "true", kmsKeyId: key.arn } }
      : undefined,
  };
}
