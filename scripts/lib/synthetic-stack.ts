/**
 * A synthetic plan of any size for the policy benchmark: the mix of a real northstack stack (Docker
 * containers, Kubernetes workloads and migration ConfigMaps, RDS, S3, ElastiCache, Cloud SQL, GCS,
 * Memorystore, explicit providers, components), repeated with distinct names and distinct
 * migrations, with a violation planted every tenth repetition so that reporting is exercised too.
 */
import type { PlannedResource } from "./mock-program";
import { plannedResource } from "./planned-resource";

const STACK = "bench";
const resource = (
  type: string,
  name: string,
  inputs: Record<string, unknown>,
  extra: Partial<PlannedResource> = {},
): PlannedResource => plannedResource(STACK, type, name, inputs, extra);

const labels = (name: string, extra: Record<string, string> = {}) =>
  Object.entries({
    "app.kubernetes.io/name": name,
    "app.kubernetes.io/part-of": "northstack",
    "northstack.io/stack": STACK,
    ...extra,
  }).map(([label, value]) => ({ label, value }));

function dockerContainer(
  name: string,
  image: string,
  user: string,
  extra: Record<string, unknown> = {},
): Record<string, unknown> {
  return {
    name,
    image,
    user,
    securityOpts: ["no-new-privileges:true"],
    capabilities: { drops: ["ALL"], adds: [] },
    privileged: false,
    readOnly: true,
    memory: 256,
    cpus: "0.5",
    restart: "unless-stopped",
    healthcheck: { tests: ["CMD", "true"], interval: "10s" },
    labels: labels(name),
    ...extra,
  };
}

function migrations(i: number): Record<string, string> {
  return {
    "001_schema.sql": `CREATE TABLE public.orders_${i} (id bigint PRIMARY KEY, owner uuid NOT NULL, total numeric);
ALTER TABLE public.orders_${i} ENABLE ROW LEVEL SECURITY;
CREATE POLICY owner_reads ON public.orders_${i} FOR SELECT USING (owner = auth.uid());
CREATE TABLE private.audit_${i} (id bigint, at timestamptz DEFAULT now());`,
    "002_events.sql": `CREATE TABLE public.events_${i} (id bigint, at date) PARTITION BY RANGE (at);
CREATE TABLE public.events_${i}_2026 PARTITION OF public.events_${i} FOR VALUES FROM ('2026-01-01') TO ('2027-01-01');
ALTER TABLE public.events_${i} ENABLE ROW LEVEL SECURITY;
ALTER TABLE public.events_${i}_2026 ENABLE ROW LEVEL SECURITY;
CREATE POLICY owner_reads ON public.events_${i} FOR SELECT USING (true);
CREATE POLICY owner_reads ON public.events_${i}_2026 FOR SELECT USING (true);
CREATE VIEW public.order_totals_${i} WITH (security_invoker = true) AS SELECT owner, sum(total) FROM public.orders_${i} GROUP BY owner;`,
  };
}

function podTemplate(name: string, image: string, uid: number) {
  return {
    metadata: { labels: { "app.kubernetes.io/name": name } },
    spec: {
      securityContext: {
        runAsNonRoot: true,
        runAsUser: uid,
        runAsGroup: uid,
        seccompProfile: { type: "RuntimeDefault" },
      },
      containers: [
        {
          name,
          image,
          securityContext: {
            allowPrivilegeEscalation: false,
            readOnlyRootFilesystem: true,
            capabilities: { drop: ["ALL"] },
          },
          resources: { requests: { cpu: "100m", memory: "128Mi" }, limits: { cpu: "500m", memory: "256Mi" } },
          readinessProbe: { httpGet: { path: "/health", port: 8080 } },
          livenessProbe: { httpGet: { path: "/health", port: 8080 } },
        },
      ],
    },
  };
}

/** A bucket policy that refuses every request made without TLS. */
const tlsOnly = (bucket: string) =>
  JSON.stringify({
    Version: "2012-10-17",
    Statement: [
      {
        Sid: "DenyInsecureTransport",
        Effect: "Deny",
        Principal: "*",
        Action: "s3:*",
        Resource: [`arn:aws:s3:::${bucket}`, `arn:aws:s3:::${bucket}/*`],
        Condition: { Bool: { "aws:SecureTransport": "false" } },
      },
    ],
  });

/** One repetition: 29 resources. */
function unit(i: number): PlannedResource[] {
  const planted = i % 10 === 9;
  const component = resource("northstack:app:ApiService", `api-${i}`, {}, { custom: false });
  const awsProvider = resource("pulumi:providers:aws", `aws-dr-${i}`, { region: "ca-west-1" });
  const bucket = resource("aws:s3/bucket:Bucket", `backups-${i}`, {
    bucket: `northstack-backups-${i}`,
    region: "ca-central-1",
  });
  const replica = resource(
    "aws:s3/bucket:Bucket",
    `backups-dr-${i}`,
    { bucket: `northstack-backups-dr-${i}` },
    { provider: `${awsProvider.urn}::id` },
  );
  const rds = {
    identifier: `northstack-${i}`,
    engine: "postgres",
    engineVersion: "15",
    storageEncrypted: true,
    publiclyAccessible: false,
    backupRetentionPeriod: 7,
    deletionProtection: true,
    skipFinalSnapshot: false,
    finalSnapshotIdentifier: `northstack-${i}-final`,
  };
  return [
    component,
    resource(
      "docker:index/container:Container",
      `api-${i}`,
      dockerContainer(`api-${i}`, "ghcr.io/northstack/api:0.1.0", planted ? "0:0" : "10001:10001"),
      { parent: component.urn },
    ),
    resource(
      "docker:index/container:Container",
      `postgres-${i}`,
      dockerContainer(`postgres-${i}`, "postgres:15.8-alpine", "70:70", {
        ports: [{ internal: 5432, external: 15432 + i, ip: "127.0.0.1" }],
      }),
    ),
    resource(
      "docker:index/container:Container",
      `migrate-${i}`,
      dockerContainer(`migrate-${i}`, "postgres:15.8-alpine", "70:70", {
        restart: "no",
        labels: labels(`migrate-${i}`, { "northstack.io/migrations": "true" }),
        uploads: Object.entries(migrations(i)).map(([file, content]) => ({ file: `/migrations/${file}`, content })),
      }),
    ),
    resource("kubernetes:apps/v1:Deployment", `api-${i}`, {
      metadata: { name: `api-${i}` },
      spec: { replicas: 2, template: podTemplate(`api-${i}`, "ghcr.io/northstack/api:0.1.0", 10001) },
    }),
    resource("kubernetes:apps/v1:StatefulSet", `kong-${i}`, {
      metadata: { name: `kong-${i}` },
      spec: { replicas: 1, template: podTemplate(`kong-${i}`, planted ? "kong:latest" : "kong:3.9.1", 1000) },
    }),
    resource("kubernetes:batch/v1:CronJob", `backup-${i}`, {
      metadata: { name: `backup-${i}` },
      spec: {
        schedule: "0 3 * * *",
        jobTemplate: { spec: { template: podTemplate(`backup-${i}`, "postgres:15.8-alpine", 70) } },
      },
    }),
    resource("kubernetes:core/v1:ConfigMap", `migrations-${i}`, {
      metadata: { name: `migrations-${i}`, labels: { "northstack.io/migrations": "true" } },
      data: migrations(i),
    }),
    resource("kubernetes:core/v1:Secret", `api-env-${i}`, {
      metadata: { name: `api-env-${i}` },
      stringData: { DATABASE_URL: "postgres://..." },
    }),
    resource("kubernetes:core/v1:Service", `api-${i}`, {
      metadata: { name: `api-${i}` },
      spec: { ports: [{ port: 80, targetPort: 8080 }] },
    }),
    resource("aws:rds/instance:Instance", `postgres-${i}`, rds),
    bucket,
    resource("aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock", `backups-${i}`, {
      bucket: bucket.inputs.bucket,
      blockPublicAcls: true,
      blockPublicPolicy: true,
      ignorePublicAcls: true,
      restrictPublicBuckets: true,
    }),
    resource("aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration", `backups-${i}`, {
      bucket: bucket.inputs.bucket,
      rules: [{ applyServerSideEncryptionByDefault: { sseAlgorithm: "aws:kms" } }],
    }),
    resource("aws:s3/bucketPolicy:BucketPolicy", `backups-${i}`, {
      bucket: bucket.inputs.bucket,
      policy: tlsOnly(String(bucket.inputs.bucket)),
    }),
    awsProvider,
    replica,
    resource(
      "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
      `backups-dr-${i}`,
      {
        bucket: replica.inputs.bucket,
        rules: [{ applyServerSideEncryptionByDefault: { sseAlgorithm: "aws:kms" } }],
      },
      { provider: `${awsProvider.urn}::id` },
    ),
    resource(
      "aws:s3/bucketPolicy:BucketPolicy",
      `backups-dr-${i}`,
      { bucket: replica.inputs.bucket, policy: tlsOnly(String(replica.inputs.bucket)) },
      { provider: `${awsProvider.urn}::id` },
    ),
    resource(
      "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock",
      `backups-dr-${i}`,
      {
        bucket: replica.inputs.bucket,
        blockPublicAcls: true,
        blockPublicPolicy: true,
        ignorePublicAcls: true,
        restrictPublicBuckets: true,
      },
      { provider: `${awsProvider.urn}::id` },
    ),
    resource("aws:s3/bucketReplicationConfig:BucketReplicationConfig", `backups-${i}`, {
      bucket: bucket.inputs.bucket,
      role: "arn:aws:iam::111122223333:role/replication",
      rules: [{ id: "dr", status: "Enabled", destination: { bucket: `arn:aws:s3:::${replica.inputs.bucket}` } }],
    }),
    resource("aws:elasticache/replicationGroup:ReplicationGroup", `redis-${i}`, {
      description: "redis",
      atRestEncryptionEnabled: true,
      transitEncryptionEnabled: true,
    }),
    resource("gcp:sql/databaseInstance:DatabaseInstance", `postgres-gcp-${i}`, {
      region: "northamerica-northeast1",
      databaseVersion: "POSTGRES_15",
      deletionProtection: true,
      settings: {
        tier: "db-custom-2-7680",
        deletionProtectionEnabled: true,
        finalBackupConfig: { enabled: true, retentionDays: 30 },
        ipConfiguration: {
          ipv4Enabled: false,
          sslMode: "ENCRYPTED_ONLY",
          privateNetwork: "projects/p/global/networks/n",
        },
        backupConfiguration: {
          enabled: true,
          pointInTimeRecoveryEnabled: true,
          backupRetentionSettings: { retainedBackups: 7 },
        },
      },
    }),
    resource("gcp:storage/bucket:Bucket", `media-${i}`, {
      name: `northstack-media-${i}`,
      location: planted ? "US" : "NORTHAMERICA-NORTHEAST1",
      uniformBucketLevelAccess: true,
      publicAccessPrevention: "enforced",
    }),
    resource("gcp:storage/bucket:Bucket", `media-dr-${i}`, {
      name: `northstack-media-dr-${i}`,
      location: "NORTHAMERICA-NORTHEAST2",
      uniformBucketLevelAccess: true,
      publicAccessPrevention: "enforced",
    }),
    resource("gcp:storage/transferJob:TransferJob", `media-dr-${i}`, {
      transferSpec: {
        gcsDataSource: { bucketName: `northstack-media-${i}` },
        gcsDataSink: { bucketName: `northstack-media-dr-${i}` },
      },
    }),
    resource("gcp:redis/instance:Instance", `redis-gcp-${i}`, {
      region: "northamerica-northeast1",
      memorySizeGb: 1,
      transitEncryptionMode: "SERVER_AUTHENTICATION",
      authEnabled: true,
    }),
    resource("random:index/randomPassword:RandomPassword", `password-${i}`, { length: 32, special: false }),
    resource("docker:index/network:Network", `network-${i}`, { name: `northstack-${i}`, driver: "bridge" }),
  ];
}

/** A plan of exactly `n` resources. */
export function syntheticStack(n: number): PlannedResource[] {
  const resources: PlannedResource[] = [];
  for (let i = 0; resources.length < n; i++) resources.push(...unit(i));
  return resources.slice(0, n);
}
