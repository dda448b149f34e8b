import * as aws from "@pulumi/aws";
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { BACKUP_RETENTION, BackupBucket, s3BucketName } from "../components/aws/backup-bucket";
import { EBS_CSI_PROVISIONER, EksCluster } from "../components/aws/cluster";
import { EncryptionKey } from "../components/aws/kms";
import { AwsNetwork, DataClientAccess } from "../components/aws/network";
import { RdsPostgres } from "../components/aws/postgres";
import { awsProviders } from "../components/aws/providers";
import { ElastiCacheRedis } from "../components/aws/redis";
import { StorageBucket } from "../components/aws/storage-bucket";
import { PodIdentityRole, backupWriterPolicy, objectStorePolicy } from "../components/aws/workload-identity";
import { NorthstackConfig } from "../components/config";
import { ObjectStoreEndpoint, PostgresEndpoint, RedisEndpoint } from "../components/endpoints";
import { GcsBackupBucket } from "../components/gcp/backup-bucket";
import { GkeAutopilot } from "../components/gcp/cluster";
import { GcpEncryptionKey, KeyUser } from "../components/gcp/kms";
import { GcpNetwork } from "../components/gcp/network";
import { CloudSqlPostgres } from "../components/gcp/postgres";
import { gcpContext } from "../components/gcp/providers";
import { MemorystoreRedis } from "../components/gcp/redis";
import { GCS_S3_ENDPOINT, HmacCredentials, gcpServiceAccountId } from "../components/gcp/storage-credentials";
import { GcsStorageBucket } from "../components/gcp/storage-bucket";
import { KubernetesRuntime } from "../components/runtime/kubernetes";
import { StackSecrets } from "../components/secrets";
import { BUCKET_USERS, application, egressClients } from "./application";

/** What the cloud layer hands the Kubernetes layer: the managed data services and a cluster. */
interface CloudFoundation {
  readonly postgres: PostgresEndpoint;
  readonly redis: RedisEndpoint;
  /** User files of Supabase Storage, with the storage workload's access. */
  readonly storage: ObjectStoreEndpoint;
  /** Database backups, with the backup job's access. */
  readonly backups: ObjectStoreEndpoint;
  readonly drBucket?: pulumi.Output<string>;
  /** Kubeconfig of the target cluster, a Pulumi secret. */
  readonly kubeconfig: pulumi.Output<string>;
  /** The cluster resources the Kubernetes provider waits for (nodes included). */
  readonly cluster?: pulumi.Resource;
  /** Where pods reach Postgres and Redis: the NetworkPolicy egress destinations. */
  readonly dataCidrs: string[];
  /** Node-local DNS resolvers the pods query besides the kube-dns pods. Default: none. */
  readonly dnsResolverCidrs?: string[];
  /** Annotations that give the gateway's LoadBalancer Service the right cloud load balancer. Default: none. */
  readonly loadBalancerAnnotations?: Record<string, string>;
  /** A StorageClass the stack must create for its volumes; default: the cluster's default class. */
  readonly storageClass?: { readonly provisioner: string; readonly parameters: Record<string, pulumi.Input<string>> };
}

/**
 * Checks what only a cloud stack needs, before this layer registers anything. parseConfig already
 * refuses these; the check keeps the composition honest when called with a hand-built config.
 */
export function validateCloudConfig(cfg: NorthstackConfig): void {
  const problems: string[] = [];
  if (cfg.cloud !== "aws" && cfg.cloud !== "gcp") problems.push(`northstack:cloud ${JSON.stringify(cfg.cloud)} is not allowed on ${cfg.environment}; allowed: aws, gcp`);
  if (cfg.kubernetes.cluster === "existing" && !cfg.secrets.kubeconfig) {
    problems.push("northstack:kubeconfig is missing; an existing cluster needs it (or set northstack:cluster to managed)");
  }
  if (cfg.cloud === "aws" && cfg.kubernetes.cluster === "existing" && !cfg.kubernetes.eksClusterName) {
    problems.push("northstack:eksClusterName is missing; on an existing EKS cluster, Pod Identity associations give Supabase Storage and the backup job their S3 access");
  }
  if (cfg.cloud === "gcp" && cfg.kubernetes.cluster === "managed" && cfg.network.vpcId) {
    problems.push("northstack:vpcId with cloud gcp and cluster managed: GKE needs the subnetwork the stack creates; leave vpcId empty or bring the cluster (cluster existing)");
  }
  if (!cfg.kubernetes.certManagerIssuer && !cfg.kubernetes.tlsSecretName) {
    problems.push("northstack:tlsSecretName is missing; the gateway serves TLS only, so name its certificate's Secret or set northstack:certManagerIssuer");
  }
  if (cfg.cloud === "aws") {
    try {
      // The longest of the stack's bucket names, with a 12-digit account id in place of the real one.
      s3BucketName(cfg.stack, "backups-dr", "000000000000");
    } catch (e) {
      problems.push((e as Error).message);
    }
  }
  if (problems.length) throw new Error(`${cfg.environment} stack: ${problems.join("; ")}`);
}

const existingClusterKubeconfig = (cfg: NorthstackConfig): pulumi.Output<string> => pulumi.secret(cfg.secrets.kubeconfig ?? "");

/** Private address ranges: where an ingress controller's pods (the proxies Kong believes) get their addresses. */
const PRIVATE_CIDRS = ["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10"];

/** ServiceAccounts of the two workloads that use a bucket: cloud identities are bound to these names. */
const STORAGE_SERVICE_ACCOUNT = BUCKET_USERS.storage;
const BACKUP_SERVICE_ACCOUNT = BUCKET_USERS.backup;

/**
 * AWS, ca-central-1 (copies in ca-west-1 on prod):
 *
 *   providers ─> VPC (private subnets, data SGs) ─> KMS key
 *     ─> RDS Postgres 15 ─> ElastiCache Redis ─> S3 backups (─> S3 replica in ca-west-1) ─> S3 user files ─> EKS
 *     ─> data SGs admit 5432/6379 from the EKS cluster SG (an existing cluster: from the VPC)
 *     ─> IAM roles for the storage and backup ServiceAccounts (EKS Pod Identity)
 */
function awsFoundation(cfg: NorthstackConfig, secrets: StackSecrets): CloudFoundation {
  const { drCopies: withDr, requiresHa: multiZone } = cfg.profile;
  const providers = awsProviders(cfg.stack, cfg.region, cfg.drRegion);
  const primary = { provider: providers.primary };

  const network = new AwsNetwork(
    "network",
    { vpcCidr: cfg.network.vpcCidr, vpcId: cfg.network.vpcId || undefined, privateSubnetIds: cfg.network.privateSubnetIds, natPerZone: multiZone },
    primary,
  );
  const key = new EncryptionKey("kms", { purpose: `northstack ${cfg.stack}: data at rest` }, primary);
  const drKey = withDr ? new EncryptionKey("kms-dr", { purpose: `northstack ${cfg.stack}: DR copies` }, { provider: providers.dr }) : undefined;

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
  const files = new StorageBucket("storage", { bucketName: bucketName("storage"), kmsKeyArn: key.arn, region: cfg.region, forceDestroy: !cfg.deletionProtection }, primary);

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

  new DataClientAccess("network-data-access", { network, clientSecurityGroupId: cluster?.clusterSecurityGroupId }, primary);
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
  const storageRole = identity("storage-identity", STORAGE_SERVICE_ACCOUNT, pulumi.all([files.arn, key.arn]).apply(([bucket, kms]) => objectStorePolicy(bucket, kms)));
  const backupRole = identity(
    "backup-identity",
    BACKUP_SERVICE_ACCOUNT,
    pulumi.all([backups.arn, key.arn]).apply(([bucket, kms]) => backupWriterPolicy(bucket, kms, BACKUP_RETENTION.prefixes.map((p) => p.prefix), "weekly/")),
  );
  const podIdentityAccess = (serviceAccount: string, role: PodIdentityRole) => ({ serviceAccount: { name: serviceAccount, eksPodIdentity: true }, dependsOn: [role.association] });

  return {
    postgres: postgres.endpoint,
    redis: redis.endpoint,
    storage: { ...files.endpoint, access: podIdentityAccess(STORAGE_SERVICE_ACCOUNT, storageRole) },
    backups: { ...backups.endpoint, access: podIdentityAccess(BACKUP_SERVICE_ACCOUNT, backupRole) },
    drBucket: backups.drBucket,
    kubeconfig: cluster ? cluster.kubeconfig : existingClusterKubeconfig(cfg),
    cluster,
    dataCidrs: [network.vpcCidr],
    // An NLB rather than a Classic ELB, internet-facing: "nlb" is what the in-tree controller reads;
    // the scheme is what the AWS Load Balancer Controller reads (it defaults to internal) if installed.
    loadBalancerAnnotations: {
      "service.beta.kubernetes.io/aws-load-balancer-type": "nlb",
      "service.beta.kubernetes.io/aws-load-balancer-scheme": "internet-facing",
    },
    // A new EKS cluster's only class is unencrypted gp2; volumes get gp3 encrypted with the stack key.
    storageClass: cluster ? { provisioner: EBS_CSI_PROVISIONER, parameters: { type: "gp3", encrypted: "true", kmsKeyId: key.arn } } : undefined,
  };
}

/**
 * GCP, northamerica-northeast1 (copies in northamerica-northeast2 on prod):
 *
 *   provider ─> VPC (subnetwork, Cloud NAT, private services access) ─> CMEK keys (-northeast1; -northeast2 on prod)
 *     ─> Cloud SQL Postgres 15 (─> read replica in -northeast2) ─> Memorystore Redis
 *     ─> GCS backups (─> daily copy to -northeast2) ─> GCS user files ─> GKE Autopilot
 *     ─> a service account and HMAC key per bucket user (storage, backup job)
 */
function gcpFoundation(cfg: NorthstackConfig, secrets: StackSecrets): CloudFoundation {
  const withDr = cfg.profile.drCopies;
  const managedCluster = cfg.kubernetes.cluster === "managed";
  const gcp = gcpContext(cfg.stack, cfg.region, cfg.drRegion);
  const primary = { provider: gcp.provider };

  const network = new GcpNetwork("network", { region: gcp.region, vpcCidr: cfg.network.vpcCidr, vpcId: cfg.network.vpcId || undefined }, primary);
  const keyUsers: KeyUser[] = ["sqladmin.googleapis.com", "redis.googleapis.com", "storage.googleapis.com", ...(managedCluster ? (["container.googleapis.com"] as const) : [])];
  const key = new GcpEncryptionKey("kms", { location: gcp.region, projectNumber: gcp.projectNumber, users: keyUsers }, primary);
  const drKey = withDr
    ? new GcpEncryptionKey("kms-dr", { location: gcp.drRegion, projectNumber: gcp.projectNumber, users: ["sqladmin.googleapis.com", "storage.googleapis.com"] }, primary)
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
    { region: gcp.region, projectId: gcp.projectId, kmsKeyId: key.id, forceDestroy: !cfg.deletionProtection, dependsOn: key.grants },
    primary,
  );
  // S3 clients sign SigV4 requests, which GKE Workload Identity cannot: each bucket user gets a service account with an HMAC key.
  const hmacAccess = (name: string, purpose: string, bucket: pulumi.Output<string>, roles: string[]) => {
    const credentials = new HmacCredentials(
      name,
      { accountId: gcpServiceAccountId(cfg.stack, purpose), description: `northstack ${cfg.stack}: ${purpose} (S3 API)`, bucket, roles },
      primary,
    );
    return { endpoint: GCS_S3_ENDPOINT, forcePathStyle: true, credentials: { accessKeyId: credentials.accessKeyId, secretAccessKey: credentials.secretAccessKey } };
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
    storage: { ...files.endpoint, access: hmacAccess("storage-credentials", "storage", files.bucket, ["roles/storage.objectUser"]) },
    // Write and list only: the backup job never reads or deletes; the bucket's lifecycle does the retention.
    backups: { ...backups.endpoint, access: hmacAccess("backup-credentials", "backup", backups.bucket, ["roles/storage.objectCreator", "roles/storage.legacyBucketReader"]) },
    drBucket: backups.drBucket,
    kubeconfig: cluster ? cluster.kubeconfig : existingClusterKubeconfig(cfg),
    cluster,
    dataCidrs: [network.privateServicesCidr],
    // Autopilot always runs NodeLocal DNSCache; with Cloud DNS pods resolve through the metadata server.
    dnsResolverCidrs: ["169.254.20.10/32", "169.254.169.254/32"],
  };
}

/**
 * staging and prod: the dev system rendered to Kubernetes, with managed data services on the cloud
 * `northstack:cloud` selects, in Canada.
 *
 *   cloud foundation (above) ──> k8s provider ──> KubernetesRuntime (namespace, default-deny policies)
 *
 *   users ─TLS─> Kong (LoadBalancer on 443, or Ingress) ──> API ──────────┬──> managed Postgres 15 (RLS)
 *                                                └─> Supabase services ───┘    managed Redis (TLS + AUTH)
 *   migrations Job (labelled ConfigMap) ──> Postgres;   Prometheus ──> every metrics port
 *   Supabase Storage ──> user-files bucket;   backup CronJob (dump, verified restore) ──> backup bucket
 */
export function cloudStack(cfg: NorthstackConfig, secrets: StackSecrets) {
  validateCloudConfig(cfg);
  const foundation = cfg.cloud === "aws" ? awsFoundation(cfg, secrets) : gcpFoundation(cfg, secrets);

  const provider = new k8s.Provider(
    "k8s",
    { kubeconfig: foundation.kubeconfig, enableServerSideApply: true },
    { dependsOn: foundation.cluster ? [foundation.cluster] : [] },
  );
  const storageClassName = foundation.storageClass ? `${cfg.kubernetes.namespace}-encrypted` : undefined;
  if (foundation.storageClass) {
    // Volume claims that come first wait (WaitForFirstConsumer) until the class exists.
    new k8s.storage.v1.StorageClass(
      "k8s-volumes",
      {
        metadata: { name: storageClassName, labels: { "app.kubernetes.io/part-of": "northstack", "northstack.io/stack": cfg.stack } },
        provisioner: foundation.storageClass.provisioner,
        parameters: foundation.storageClass.parameters,
        reclaimPolicy: cfg.deletionProtection ? "Retain" : "Delete",
        volumeBindingMode: "WaitForFirstConsumer",
        allowVolumeExpansion: true,
      },
      { provider },
    );
  }
  const exposure = cfg.kubernetes.exposure;
  const clients = egressClients(cfg);
  const runtime = new KubernetesRuntime("k8s", {
    stack: cfg.stack,
    provider,
    namespace: cfg.kubernetes.namespace,
    exposure,
    publicHost: exposure === "ingress" ? cfg.kubernetes.ingressHost : new URL(cfg.gateway.publicUrl).hostname,
    ingressClassName: cfg.kubernetes.ingressClassName,
    certManagerIssuer: cfg.kubernetes.certManagerIssuer || undefined,
    tlsSecretName: cfg.kubernetes.tlsSecretName || undefined,
    ingressControllerNamespace: cfg.kubernetes.ingressControllerNamespace,
    loadBalancerAnnotations: foundation.loadBalancerAnnotations,
    dnsResolverCidrs: foundation.dnsResolverCidrs,
    dataServices: [
      { name: "postgres", cidrs: foundation.dataCidrs, port: foundation.postgres.port, clients: clients.postgres },
      { name: "redis", cidrs: foundation.dataCidrs, port: foundation.redis.port, clients: clients.redis },
    ],
    publicHttpsClients: clients.publicHttps,
    // Prometheus runs in the stack's own namespace.
    monitoringNamespace: cfg.monitoring.enabled ? cfg.kubernetes.namespace : undefined,
    storageClassName,
  });

  const { supabase, kong, monitoring } = application(cfg, secrets, {
    runtime,
    postgres: foundation.postgres,
    redis: foundation.redis,
    storage: foundation.storage,
    backupBucket: foundation.backups,
    supabaseReplicas: cfg.supabase.replicas,
    extraServiceReplicas: { replicas: cfg.api.replicas, maxReplicas: cfg.api.maxReplicas },
    kong: {
      // A load balancer passes TCP through, so Kong terminates TLS; behind an Ingress the controller does.
      servesTls: exposure === "loadbalancer",
      // The NetworkPolicy admits the proxy port only from the ingress controller's namespace, so the
      // X-Forwarded-For it sets is the client's address; only private (pod) addresses are believed.
      trustedProxyCidrs: exposure === "ingress" ? PRIVATE_CIDRS : undefined,
      replicas: cfg.api.replicas,
    },
  });

  const hostAndPort = (endpoint: { host: pulumi.Output<string>; port: pulumi.Output<number> }) =>
    pulumi.secret(pulumi.interpolate`${endpoint.host}:${endpoint.port}`);
  return {
    gatewayUrl: kong.url,
    // Where DNS for the gateway's host must point: the load balancer or Ingress address.
    gatewayAddress: kong.address,
    databaseEndpoint: hostAndPort(foundation.postgres),
    redisEndpoint: hostAndPort(foundation.redis),
    backupBucket: foundation.backups.bucket,
    storageBucket: foundation.storage.bucket,
    drBackupBucket: foundation.drBucket ?? "none",
    namespace: runtime.namespace,
    cloud: cfg.cloud,
    region: cfg.region,
    anonKey: supabase.anonKey,
    serviceRoleKey: supabase.serviceRoleKey,
    grafanaAdminPassword: monitoring?.grafanaAdminPassword ?? pulumi.secret("disabled"),
  };
}
