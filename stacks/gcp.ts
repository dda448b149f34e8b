/**
 * GCP, northamerica-northeast1 (copies in northamerica-northeast2 on prod):
 *
 *   provider ─> VPC (subnetwork, Cloud NAT, private services access) ─> CMEK keys (-northeast1; -northeast2 on prod)
 *     ─> Cloud SQL Postgres 15 (─> read replica in -northeast2) ─> Memorystore Redis
 *     ─> GCS backups (─> daily copy to -northeast2) ─> GCS user files ─> GKE Autopilot
 *     ─> a service account and HMAC key per bucket user (storage, backup job)
 */
import * as pulumi from "@pulumi/pulumi";
import { NorthstackConfig } from "../components/config";
import { GcsBackupBucket } from "../components/gcp/backup-bucket";
import { GkeAutopilot } from "../components/gcp/cluster";
import { GcpEncryptionKey, KeyUser } from "../components/gcp/kms";
import { GcpNetwork } from "../components/gcp/network";
import { CloudSqlPostgres } from "../components/gcp/postgres";
import { gcpContext } from "../components/gcp/providers";
import { MemorystoreRedis } from "../components/gcp/redis";
import { GCS_S3_ENDPOINT, HmacCredentials, gcpServiceAccountId } from "../components/gcp/storage-credentials";
import { GcsStorageBucket } from "../components/gcp/storage-bucket";
import { StackSecrets } from "../components/secrets";
import { CloudFoundation, existingClusterKubeconfig } from "./cloud-foundation";

/** The GCP managed data services, buckets, HMAC credentials and (northstack:cluster managed) GKE Autopilot cluster. */
export function gcpFoundation(cfg: NorthstackConfig, secrets: StackSecrets): CloudFoundation {
  const withDr = cfg.profile.drCopies;
  const managedCluster = cfg.kubernetes.cluster === "managed";
  const gcp = gcpContext(cfg.stack, cfg.region, cfg.drRegion);
  const primary = { provider: gcp.provider };

  const network = new GcpNetwork(
    "network",
    { region: gcp.region, vpcCidr: cfg.network.vpcCidr, vpcId: cfg.network.vpcId || undefined },
    primary,
  );
  const keyUsers: KeyUser[] = [
    "sqladmin.googleapis.com",
    "redis.googleapis.com",
    "storage.googleapis.com",
    ...(managedCluster ? (["container.googleapis.com"] as const) : []),
  ];
  const key = new GcpEncryptionKey(
    "kms",
    { location: gcp.region, projectNumber: gcp.projectNumber, users: keyUsers },
    primary,
  );
  const drKey = withDr
    ? new GcpEncryptionKey(
        "kms-dr",
        {
          location: gcp.drRegion,
          projectNumber: gcp.projectNumber,
          users: ["sqladmin.googleapis.com", "storage.googleapis.com"],
        },
        primary,
      )
    : undefined;
  const readyForPrivateIps = [...network.privateServicesAccess, ...key.grants];

  const postgres = new CloudSqlPostgres(
    "postgres",
    {
      region: gcp.region,
      networkId: network.networkId,
      password: secrets.postgresPassword,
      kmsKeyId: key.id,
      tier: cfg.postgres.tier,
      storageGb: cfg.postgres.storageGb,
      ha: cfg.postgres.ha,
      deletionProtection: cfg.deletionProtection,
      backupRetentionDays: cfg.postgres.backupRetentionDays,
      dependsOn: readyForPrivateIps,
      drReplica: drKey && { region: gcp.drRegion, kmsKeyId: drKey.id, dependsOn: drKey.grants },
    },
    primary,
  );
  const redis = new MemorystoreRedis(
    "redis",
    {
      region: gcp.region,
      networkId: network.networkId,
      memoryMb: cfg.redis.memoryMb,
      ha: cfg.redis.ha,
      kmsKeyId: key.id,
      deletionProtection: cfg.deletionProtection,
      dependsOn: readyForPrivateIps,
    },
    primary,
  );
  const backups = new GcsBackupBucket(
    "backups",
    {
      region: gcp.region,
      drRegion: withDr ? gcp.drRegion : undefined,
      projectId: gcp.projectId,
      projectNumber: gcp.projectNumber,
      forceDestroy: !cfg.deletionProtection,
      kmsKeyId: key.id,
      drKmsKeyId: drKey?.id,
      dependsOn: [...key.grants, ...(drKey?.grants ?? [])],
    },
    primary,
  );
  const files = new GcsStorageBucket(
    "storage",
    {
      region: gcp.region,
      projectId: gcp.projectId,
      kmsKeyId: key.id,
      forceDestroy: !cfg.deletionProtection,
      dependsOn: key.grants,
    },
    primary,
  );
  // S3 clients sign SigV4 requests, which GKE Workload Identity cannot: each bucket user gets a service account with an HMAC key.
  const hmacAccess = (name: string, purpose: string, bucket: pulumi.Output<string>, roles: string[]) => {
    const credentials = new HmacCredentials(
      name,
      {
        accountId: gcpServiceAccountId(cfg.stack, purpose),
        description: `northstack ${cfg.stack}: ${purpose} (S3 API)`,
        bucket,
        roles,
      },
      primary,
    );
    return {
      endpoint: GCS_S3_ENDPOINT,
      forcePathStyle: true,
      credentials: { accessKeyId: credentials.accessKeyId, secretAccessKey: credentials.secretAccessKey },
    };
  };

  const cluster =
    managedCluster && network.subnetworkId
      ? new GkeAutopilot(
          "cluster",
          {
            region: gcp.region,
            networkId: network.networkId,
            subnetworkId: network.subnetworkId,
            kmsKeyId: key.id,
            publicAccessCidrs: cfg.kubernetes.apiAllowCidrs,
            deletionProtection: cfg.deletionProtection,
            dependsOn: key.grants,
          },
          primary,
        )
      : undefined;

  return {
    postgres: postgres.endpoint,
    redis: redis.endpoint,
    storage: {
      ...files.endpoint,
      access: hmacAccess("storage-credentials", "storage", files.bucket, ["roles/storage.objectUser"]),
    },
    // Write and list only: the backup job never reads or deletes; the bucket's lifecycle does the retention.
    backups: {
      ...backups.endpoint,
      access: hmacAccess("backup-credentials", "backup", backups.bucket, [
        "roles/storage.objectCreator",
        "roles/storage.legacyBucketReader",
      ]),
    },
    // Read objects only (storage.objects.get, no listing): the restore drill downloads the newest dump.
    backupDrill: {
      ...backups.endpoint,
      access: hmacAccess("backup-drill-credentials", "backup-drill", backups.bucket, [
        "roles/storage.legacyObjectReader",
      ]),
    },
    drBucket: backups.drBucket,
    kubeconfig: cluster ? cluster.kubeconfig : existingClusterKubeconfig(cfg),
    cluster,
    // Cloud SQL and Memorystore get their private IPs from the range peered for them.
    dataCidrs: [network.privateServicesCidr],
    dataCidrsReason: cfg.network.vpcId
      ? "an existing network: the stack did not reserve its private services range, so northstack:vpcCidr stands for it"
      : undefined,
    // Autopilot always runs NodeLocal DNSCache; with Cloud DNS pods resolve through the metadata server.
    dnsResolverCidrs: ["169.254.20.10/32", "169.254.169.254/32"],
  };
}
