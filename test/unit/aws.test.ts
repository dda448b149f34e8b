/**
 * The AWS managed data services, cluster and network, composed the way prod composes them (HA, DR)
 * and the way staging does (single-AZ, no DR), under mocks. Every data resource must sit in a
 * Canadian region through its explicit provider, be encrypted with the stack's KMS key and be
 * private; DR copies go to ca-west-1 only.
 */
import * as pulumi from "@pulumi/pulumi";
import {
  BackupBucket,
  denyInsecureTransportPolicy,
  s3BucketName,
  s3LifecycleRules,
  validateBackupBucketArgs,
} from "../../components/aws/backup-bucket";
import { BACKUP_RETENTION } from "../../components/retention";
import { EksCluster, eksKubeconfig, validateEksClusterArgs } from "../../components/aws/cluster";
import { EncryptionKey } from "../../components/aws/kms";
import { AwsNetwork, DataClientAccess, validateAwsNetworkArgs } from "../../components/aws/network";
import { subnetCidrs } from "../../components/cidr";
import { RdsPostgres, rdsPostgresParameters, validateRdsPostgresArgs } from "../../components/aws/postgres";
import { awsProviders, validateAwsRegions } from "../../components/aws/providers";
import { ElastiCacheRedis, validateElastiCacheRedisArgs } from "../../components/aws/redis";
import { MockRunResult, PlannedResource, SECRET_MARK, runUnderMocks } from "../../scripts/lib/mock-program";

type Obj = Record<string, unknown>;

/** Composes the AWS layer like stacks/aws.ts does, with or without the prod settings. */
function composeAws(prodLike: boolean) {
  const providers = awsProviders(prodLike ? "prod" : "staging");
  const primary = { provider: providers.primary };
  const network = new AwsNetwork("network", { vpcCidr: "10.40.0.0/16", natPerZone: prodLike }, primary);
  const key = new EncryptionKey("kms", {}, primary);
  const drKey = prodLike ? new EncryptionKey("kms-dr", {}, { provider: providers.dr }) : undefined;
  const password = pulumi.secret("postgres-password-for-tests");
  const postgres = new RdsPostgres(
    "postgres",
    {
      subnetIds: network.privateSubnetIds,
      securityGroupId: network.postgresSecurityGroupId,
      kmsKeyArn: key.arn,
      password,
      ha: prodLike,
      deletionProtection: prodLike,
      backupRetentionDays: prodLike ? 14 : 7,
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
      authToken: pulumi.secret("redis-token-for-tests-0123"),
      ha: prodLike,
    },
    primary,
  );
  const backups = new BackupBucket(
    "backups",
    {
      bucketName: "northstack-prod-backups-111122223333",
      drBucketName: drKey && "northstack-prod-backups-dr-111122223333",
      kmsKeyArn: key.arn,
      region: "ca-central-1",
      drProvider: drKey && providers.dr,
      drRegion: drKey && "ca-west-1",
      drKmsKeyArn: drKey?.arn,
    },
    primary,
  );
  const cluster = new EksCluster(
    "cluster",
    { subnetIds: network.privateSubnetIds, kmsKeyArn: key.arn, region: "ca-central-1" },
    primary,
  );
  new DataClientAccess(
    "network-data-access",
    { network, clientSecurityGroupId: cluster.clusterSecurityGroupId },
    primary,
  );
  return {
    postgresHost: postgres.endpoint.host,
    postgresPassword: postgres.endpoint.login.password,
    sslMode: postgres.endpoint.sslMode,
    redisHost: redis.endpoint.host,
    redisPassword: redis.endpoint.password,
    redisTls: redis.endpoint.tls,
    bucket: backups.endpoint.bucket,
    kubeconfig: cluster.kubeconfig,
  };
}

let prod: MockRunResult;
let staging: MockRunResult;

beforeAll(async () => {
  await jest.isolateModulesAsync(async () => {
    prod = await runUnderMocks({ stack: "prod", config: {}, program: () => composeAws(true) });
  });
  await jest.isolateModulesAsync(async () => {
    staging = await runUnderMocks({ stack: "staging", config: {}, program: () => composeAws(false) });
  });
});

const ofType = (run: MockRunResult, type: string) => run.resources.filter((r) => r.type === type);
const one = (run: MockRunResult, type: string) => {
  const found = ofType(run, type);
  expect({ type, count: found.length }).toEqual({ type, count: 1 });
  return found[0];
};
/** Region of the explicit provider a resource was registered with. */
function regionOf(run: MockRunResult, r: PlannedResource): string | undefined {
  if (!r.provider) return undefined;
  const urn = r.provider.slice(0, r.provider.lastIndexOf("::"));
  return run.resources.find((p) => p.urn === urn)?.inputs.region as string | undefined;
}
const byUrn = (run: MockRunResult, urn: string) => run.resources.find((r) => r.urn === urn);

describe("providers and regions", () => {
  test("every AWS resource is registered with an explicit provider in a Canadian region", () => {
    for (const run of [prod, staging]) {
      const awsResources = run.resources.filter((r) => r.custom && r.type.startsWith("aws:"));
      expect(awsResources.length).toBeGreaterThan(30);
      for (const r of awsResources) {
        expect({ r: r.name, type: r.type, region: regionOf(run, r) }).toEqual({
          r: r.name,
          type: r.type,
          region: expect.stringMatching(/^ca-(central|west)-1$/),
        });
      }
    }
  });

  test("only DR copies use ca-west-1, and staging has none", () => {
    const inWest = prod.resources
      .filter((r) => r.custom && r.type.startsWith("aws:") && regionOf(prod, r) === "ca-west-1")
      .map((r) => r.type);
    expect(new Set(inWest)).toEqual(
      new Set([
        "aws:kms/key:Key",
        "aws:kms/alias:Alias",
        "aws:rds/instanceAutomatedBackupsReplication:InstanceAutomatedBackupsReplication",
        "aws:s3/bucket:Bucket",
        "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock",
        "aws:s3/bucketOwnershipControls:BucketOwnershipControls",
        "aws:s3/bucketVersioning:BucketVersioning",
        "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
        "aws:s3/bucketPolicy:BucketPolicy",
        "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration",
      ]),
    );
    expect(staging.resources.filter((r) => regionOf(staging, r) === "ca-west-1")).toEqual([]);
  });

  test("providers carry the stack's default tags", () => {
    const provider = prod.resources.find((r) => r.type === "pulumi:providers:aws" && r.name === "aws-primary");
    expect(JSON.parse(String((provider?.inputs as Obj).defaultTags))).toEqual({
      tags: expect.objectContaining({ "northstack:stack": "prod" }),
    });
  });

  test("a region outside Canada is refused before any provider exists", () => {
    expect(() => validateAwsRegions("us-east-1", "ca-west-1")).toThrow(
      /region "us-east-1" is outside Canada; allowed aws regions: ca-central-1, ca-west-1/,
    );
    expect(() => validateAwsRegions("ca-central-1", "ca-central-1")).toThrow(/drRegion "ca-central-1" equals region/);
  });
});

describe("KMS", () => {
  test("customer-managed keys rotate", () => {
    for (const key of ofType(prod, "aws:kms/key:Key")) {
      expect(key.inputs).toEqual(
        expect.objectContaining({ enableKeyRotation: true, deletionWindowInDays: 30, keyUsage: "ENCRYPT_DECRYPT" }),
      );
    }
    expect(ofType(prod, "aws:kms/alias:Alias").map((a) => a.inputs.name)).toEqual([
      "alias/northstack/prod/kms",
      "alias/northstack/prod/kms-dr",
    ]);
  });
});

describe("network", () => {
  test("three zones of private subnets, none mapping public IPs", () => {
    const subnets = ofType(staging, "aws:ec2/subnet:Subnet");
    const privates = subnets.filter((s) => s.name.includes("private"));
    expect(privates.map((s) => s.inputs.cidrBlock)).toEqual(["10.40.0.0/19", "10.40.32.0/19", "10.40.64.0/19"]);
    expect(new Set(privates.map((s) => s.inputs.availabilityZone)).size).toBe(3);
    for (const s of subnets) expect(s.inputs.mapPublicIpOnLaunch).toBe(false);
  });

  test("one NAT gateway on staging, one per zone on prod", () => {
    expect(ofType(staging, "aws:ec2/natGateway:NatGateway")).toHaveLength(1);
    expect(ofType(prod, "aws:ec2/natGateway:NatGateway")).toHaveLength(3);
  });

  test("with a created EKS cluster the data security groups admit only its cluster security group, on their own port", () => {
    const rules = ofType(prod, "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule");
    const groupOf = (name: string) => ofType(prod, "aws:ec2/securityGroup:SecurityGroup").find((g) => g.name === name)!;
    expect(
      rules.map((r) => [
        r.inputs.securityGroupId,
        r.inputs.referencedSecurityGroupId,
        r.inputs.cidrIpv4,
        r.inputs.fromPort,
        r.inputs.toPort,
      ]),
    ).toEqual([
      [`${groupOf("network-postgres-sg").name}-id`, "cluster-eks-sg", undefined, 5432, 5432],
      [`${groupOf("network-redis-sg").name}-id`, "cluster-eks-sg", undefined, 6379, 6379],
    ]);
    // The id comes from the EKS cluster itself, as AWS reports it.
    expect(ofType(prod, "aws:eks/cluster:Cluster")[0].name).toBe("cluster-eks");
    for (const sg of ofType(prod, "aws:ec2/securityGroup:SecurityGroup")) {
      expect(sg.inputs.ingress).toBeUndefined();
      expect(sg.inputs.egress).toBeUndefined();
    }
  });

  test("subnetCidrs slices a VPC CIDR in order", () => {
    expect(subnetCidrs("10.40.0.0/16", 3, 8)[4]).toBe("10.40.128.0/19");
    expect(subnetCidrs("172.20.16.0/20", 2, 4)).toEqual([
      "172.20.16.0/22",
      "172.20.20.0/22",
      "172.20.24.0/22",
      "172.20.28.0/22",
    ]);
  });

  test("bad network arguments are named with the value and what is allowed", () => {
    expect(() => validateAwsNetworkArgs({ vpcCidr: "10.0.0.0/24" })).toThrow(
      /vpcCidr "10.0.0.0\/24" is smaller than \/20; allowed: \/16 to \/20/,
    );
    expect(() => validateAwsNetworkArgs({ vpcId: "vpc-1" })).toThrow(/give both or neither/);
    expect(() => validateAwsNetworkArgs({ vpcId: "vpc-1", privateSubnetIds: ["subnet-a"] })).toThrow(
      /at least two subnets/,
    );
    expect(() => validateAwsNetworkArgs({ zoneCount: 4 })).toThrow(/zoneCount 4 is not allowed; allowed: 2 or 3/);
  });
});

describe("RDS Postgres", () => {
  test("prod: Multi-AZ, KMS-encrypted, private, protected, final snapshot, 14 days of PITR", () => {
    const db = one(prod, "aws:rds/instance:Instance");
    const keyArn = ":kms-key";
    expect(db.inputs).toEqual(
      expect.objectContaining({
        engine: "postgres",
        engineVersion: "15",
        multiAz: true,
        storageEncrypted: true,
        publiclyAccessible: false,
        deletionProtection: true,
        skipFinalSnapshot: false,
        finalSnapshotIdentifier: "postgres-prod-final",
        backupRetentionPeriod: 14,
        performanceInsightsEnabled: true,
        password: SECRET_MARK,
      }),
    );
    expect(String(db.inputs.kmsKeyId)).toContain(keyArn);
    expect(String(db.inputs.performanceInsightsKmsKeyId)).toContain(keyArn);
  });

  test("staging: single-AZ, no deletion protection, but still encrypted, private and 7 days of PITR", () => {
    const db = one(staging, "aws:rds/instance:Instance");
    expect(db.inputs).toEqual(
      expect.objectContaining({
        multiAz: false,
        deletionProtection: false,
        skipFinalSnapshot: true,
        storageEncrypted: true,
        publiclyAccessible: false,
        backupRetentionPeriod: 7,
      }),
    );
    expect(ofType(staging, "aws:rds/instanceAutomatedBackupsReplication:InstanceAutomatedBackupsReplication")).toEqual(
      [],
    );
  });

  test("the parameter group turns on logical replication, forces TLS and preloads pg_stat_statements and pg_cron", () => {
    const group = one(prod, "aws:rds/parameterGroup:ParameterGroup");
    expect(group.inputs.family).toBe("postgres15");
    const params = Object.fromEntries(
      (group.inputs.parameters as { name: string; value: string }[]).map((p) => [p.name, p.value]),
    );
    expect(params).toEqual({
      "rds.logical_replication": "1",
      "rds.force_ssl": "1",
      shared_preload_libraries: "pg_stat_statements,pg_cron",
      "cron.database_name": "postgres",
    });
    // Static parameters: RDS applies them only at a reboot.
    for (const name of ["rds.logical_replication", "shared_preload_libraries", "cron.database_name"])
      expect(rdsPostgresParameters().find((p) => p.name === name)?.applyMethod).toBe("pending-reboot");
  });

  test("prod replicates automated backups to ca-west-1 with the DR key", () => {
    const replication = one(prod, "aws:rds/instanceAutomatedBackupsReplication:InstanceAutomatedBackupsReplication");
    expect(regionOf(prod, replication)).toBe("ca-west-1");
    expect(String(replication.inputs.kmsKeyId)).toContain("kms-dr-key");
    expect(replication.inputs.retentionPeriod).toBe(14);
  });

  test("the endpoint requires TLS and keeps the password secret", () => {
    expect(prod.outputs.sslMode).toBe("require");
    expect(prod.outputs.postgresPassword).toBe(SECRET_MARK);
    expect(prod.outputs.postgresHost).toMatch(/rds\.amazonaws\.com$/);
  });

  test("bad arguments are refused with the value and the allowed range", () => {
    const base = { subnetIds: ["a", "b"], securityGroupId: "sg", kmsKeyArn: "k", password: "p" };
    expect(() => validateRdsPostgresArgs({ ...base, backupRetentionDays: 3 })).toThrow(
      /backupRetentionDays 3 is not allowed; allowed: 7 to 35/,
    );
    expect(() => validateRdsPostgresArgs({ ...base, subnetIds: ["a"] })).toThrow(/subnetIds has 1 subnet/);
    expect(() => validateRdsPostgresArgs({ ...base, drKmsKeyArn: "k2" })).toThrow(/drProvider and drKmsKeyArn/);
  });
});

describe("ElastiCache Redis", () => {
  test("prod: two nodes with automatic failover and Multi-AZ, TLS, AUTH and KMS at rest", () => {
    const group = one(prod, "aws:elasticache/replicationGroup:ReplicationGroup");
    expect(group.inputs).toEqual(
      expect.objectContaining({
        numCacheClusters: 2,
        automaticFailoverEnabled: true,
        multiAzEnabled: true,
        transitEncryptionEnabled: true,
        transitEncryptionMode: "required",
        atRestEncryptionEnabled: true,
        authToken: SECRET_MARK,
      }),
    );
    expect(String(group.inputs.kmsKeyId)).toContain(":kms-key");
  });

  test("staging: one node, still TLS, AUTH and encrypted", () => {
    const group = one(staging, "aws:elasticache/replicationGroup:ReplicationGroup");
    expect(group.inputs).toEqual(
      expect.objectContaining({
        numCacheClusters: 1,
        automaticFailoverEnabled: false,
        transitEncryptionEnabled: true,
        atRestEncryptionEnabled: true,
        authToken: SECRET_MARK,
      }),
    );
  });

  test("the endpoint is rediss with a secret password", () => {
    expect(prod.outputs.redisTls).toBe(true);
    expect(prod.outputs.redisPassword).toBe(SECRET_MARK);
  });

  test("every stack keeps 7 days of daily Redis snapshots, and fewer is refused", () => {
    for (const run of [prod, staging]) {
      expect(one(run, "aws:elasticache/replicationGroup:ReplicationGroup").inputs).toEqual(
        expect.objectContaining({ snapshotRetentionLimit: 7, snapshotWindow: "06:00-07:00" }),
      );
    }
    expect(() =>
      validateElastiCacheRedisArgs({
        subnetIds: ["a", "b"],
        securityGroupId: "s",
        kmsKeyArn: "k",
        authToken: "t",
        snapshotRetentionDays: 1,
      }),
    ).toThrow(/snapshotRetentionDays 1 is not allowed; allowed: 7 to 35/);
  });

  test("HA without a replica is refused", () => {
    expect(() =>
      validateElastiCacheRedisArgs({
        subnetIds: ["a", "b"],
        securityGroupId: "s",
        kmsKeyArn: "k",
        authToken: "t",
        ha: true,
        nodes: 1,
      }),
    ).toThrow(/nodes 1 with ha: automatic failover needs a replica, so 2 to 6/);
  });
});

describe("S3 backup bucket", () => {
  test("every bucket blocks all public access, enforces ownership, versions and encrypts with its region's key", () => {
    const buckets = ofType(prod, "aws:s3/bucket:Bucket");
    expect(buckets).toHaveLength(2);
    for (const bucket of buckets) {
      const about = (type: string) =>
        ofType(prod, type).find(
          (r) => String(r.inputs.bucket).includes(bucket.name) && regionOf(prod, r) === regionOf(prod, bucket),
        );
      expect(about("aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock")?.inputs).toEqual(
        expect.objectContaining({
          blockPublicAcls: true,
          blockPublicPolicy: true,
          ignorePublicAcls: true,
          restrictPublicBuckets: true,
        }),
      );
      expect(about("aws:s3/bucketVersioning:BucketVersioning")?.inputs.versioningConfiguration).toEqual({
        status: "Enabled",
      });
      const sse = (
        about("aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration")?.inputs
          .rules as Obj[]
      )[0];
      const byDefault = sse.applyServerSideEncryptionByDefault as Obj;
      expect(byDefault.sseAlgorithm).toBe("aws:kms");
      expect(String(byDefault.kmsMasterKeyId)).toContain(
        regionOf(prod, bucket) === "ca-west-1" ? "kms-dr-key" : ":kms-key",
      );
      const policy = JSON.parse(String(about("aws:s3/bucketPolicy:BucketPolicy")?.inputs.policy));
      expect(policy.Statement).toEqual([
        expect.objectContaining({ Effect: "Deny", Condition: { Bool: { "aws:SecureTransport": "false" } } }),
      ]);
      expect(bucket.inputs.acl).toBeUndefined();
    }
  });

  test("the lifecycle keeps the last 7 daily and 4 weekly versions, and never expires by age, so a failing job loses nothing", () => {
    for (const lifecycle of ofType(prod, "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration").filter(
      (l) => l.name.startsWith("backups"),
    )) {
      const rules = lifecycle.inputs.rules as Obj[];
      expect(rules.filter((r) => r.expiration)).toEqual([]);
      const kept = Object.fromEntries(
        rules
          .filter((r) => r.noncurrentVersionExpiration)
          .map((r) => [(r.filter as Obj).prefix, r.noncurrentVersionExpiration]),
      );
      // The current version plus 6 (daily) or 3 (weekly) noncurrent ones.
      expect(kept).toEqual({
        "daily/": { noncurrentDays: 1, newerNoncurrentVersions: 6 },
        "weekly/": { noncurrentDays: 1, newerNoncurrentVersions: 3 },
      });
      expect(rules.find((r) => r.abortIncompleteMultipartUpload)?.filter).toEqual({});
    }
    expect(BACKUP_RETENTION.prefixes.map((p) => p.keep)).toEqual([7, 4]);
    expect(s3LifecycleRules()).toHaveLength(3);
  });

  test("prod replicates every object to the ca-west-1 bucket only, re-encrypted with the DR key", () => {
    const replication = one(prod, "aws:s3/bucketReplicationConfig:BucketReplicationConfig");
    const rules = replication.inputs.rules as Obj[];
    expect(rules).toHaveLength(1);
    const destination = rules[0].destination as Obj;
    const drBucket = ofType(prod, "aws:s3/bucket:Bucket").find((b) => regionOf(prod, b) === "ca-west-1");
    expect(drBucket).toBeDefined();
    expect(String(destination.bucket)).toContain(drBucket?.name ?? "none");
    expect(String((destination.encryptionConfiguration as Obj).replicaKmsKeyId)).toContain("kms-dr-key");
    expect(regionOf(prod, replication)).toBe("ca-central-1");
    const dependsOnVersioning = replication.dependencies.map((u) => byUrn(prod, u)?.type);
    expect(dependsOnVersioning.filter((t) => t === "aws:s3/bucketVersioning:BucketVersioning")).toHaveLength(2);
    expect(ofType(staging, "aws:s3/bucketReplicationConfig:BucketReplicationConfig")).toEqual([]);
  });

  test("the TLS-only policy is valid JSON that covers the bucket and its objects", () => {
    const policy = JSON.parse(denyInsecureTransportPolicy("arn:aws:s3:::b"));
    expect(policy.Statement[0].Resource).toEqual(["arn:aws:s3:::b", "arn:aws:s3:::b/*"]);
  });

  test("a DR copy in the primary region is refused", () => {
    expect(() =>
      validateBackupBucketArgs({ bucketName: "b", kmsKeyArn: "k", region: "ca-central-1", drRegion: "ca-central-1" }),
    ).toThrow(/give all four or none.*equals region/);
  });

  test("bucket names are fixed per stack, purpose and account, and refused when S3 would refuse them", () => {
    expect(s3BucketName("prod", "backups-dr", "111122223333")).toBe("northstack-prod-backups-dr-111122223333");
    expect(s3BucketName("Team_Staging", "storage", "111122223333")).toBe(
      "northstack-team-staging-storage-111122223333",
    );
    expect(() => s3BucketName("a-stack-name-long-enough-to-overflow-s3", "backups-dr", "111122223333")).toThrow(
      /S3 bucket name "northstack-a-stack-name-long-enough-to-overflow-s3-backups-dr-111122223333" for stack "a-stack-name-long-enough-to-overflow-s3" is not a valid bucket name .*use a shorter stack name/,
    );
  });
});

describe("EKS", () => {
  test("private API endpoint only, Secrets encrypted with the stack key, audit logs on", () => {
    const cluster = one(prod, "aws:eks/cluster:Cluster");
    const vpc = cluster.inputs.vpcConfig as Obj;
    expect(vpc).toEqual(expect.objectContaining({ endpointPrivateAccess: true, endpointPublicAccess: false }));
    expect(vpc.publicAccessCidrs).toBeUndefined();
    const encryption = cluster.inputs.encryptionConfig as { provider: { keyArn: string }; resources: string[] };
    expect(encryption.resources).toEqual(["secrets"]);
    expect(encryption.provider.keyArn).toContain(":kms-key");
    expect(cluster.inputs.enabledClusterLogTypes).toEqual(expect.arrayContaining(["audit"]));
    expect(cluster.inputs.name).toBe("northstack-prod");
  });

  test("nodes run in the private subnets with IMDSv2 (hop limit 1) and encrypted volumes", () => {
    const nodes = one(prod, "aws:eks/nodeGroup:NodeGroup");
    const privateSubnets = ofType(prod, "aws:ec2/subnet:Subnet")
      .filter((s) => s.name.includes("private"))
      .map((s) => `${s.name}-id`);
    expect(nodes.inputs.subnetIds).toEqual(privateSubnets);
    const template = one(prod, "aws:ec2/launchTemplate:LaunchTemplate").inputs;
    expect(template.metadataOptions).toEqual(
      expect.objectContaining({ httpTokens: "required", httpPutResponseHopLimit: 1 }),
    );
    expect((template.blockDeviceMappings as { ebs: Obj }[])[0].ebs.encrypted).toBe("true");
  });

  test("the VPC CNI enforces NetworkPolicies", () => {
    const cni = ofType(prod, "aws:eks/addon:Addon").find((a) => a.inputs.addonName === "vpc-cni");
    expect(JSON.parse(String(cni?.inputs.configurationValues))).toEqual({ enableNetworkPolicy: "true" });
  });

  test("the EBS CSI driver gets its role through Pod Identity, with use of the stack key", () => {
    const driver = ofType(prod, "aws:eks/addon:Addon").find((a) => a.inputs.addonName === "aws-ebs-csi-driver");
    expect((driver?.inputs.podIdentityAssociations as Obj[])[0]).toEqual(
      expect.objectContaining({ serviceAccount: "ebs-csi-controller-sa" }),
    );
    const trust = JSON.parse(
      String(ofType(prod, "aws:iam/role:Role").find((r) => r.name === "cluster-ebs-csi")?.inputs.assumeRolePolicy),
    );
    expect(trust.Statement[0].Principal).toEqual({ Service: "pods.eks.amazonaws.com" });
    const keyPolicy = JSON.parse(
      String(
        ofType(prod, "aws:iam/rolePolicy:RolePolicy").find((r) => r.name === "cluster-ebs-csi-kms")?.inputs.policy,
      ),
    );
    for (const statement of keyPolicy.Statement) expect(statement.Resource).toContain(":kms-key");
  });

  test("the kubeconfig is a secret and authenticates with aws eks get-token", () => {
    expect(prod.outputs.kubeconfig).toBe(SECRET_MARK);
    const config = JSON.parse(eksKubeconfig("northstack-prod", "https://x.eks.amazonaws.com", "Q0E=", "ca-central-1"));
    expect(config.users[0].user.exec).toEqual(
      expect.objectContaining({
        command: "aws",
        args: ["eks", "get-token", "--cluster-name", "northstack-prod", "--region", "ca-central-1", "--output", "json"],
      }),
    );
    expect(Object.keys(config.users[0].user)).toEqual(["exec"]);
  });

  test("a public endpoint open to the world is refused", () => {
    expect(() =>
      validateEksClusterArgs({
        subnetIds: ["a", "b"],
        kmsKeyArn: "k",
        region: "ca-central-1",
        publicAccessCidrs: ["0.0.0.0/0"],
      }),
    ).toThrow(/publicAccessCidrs "0.0.0.0\/0" opens the API server to every address/);
    expect(() =>
      validateEksClusterArgs({
        subnetIds: ["a", "b"],
        kmsKeyArn: "k",
        region: "ca-central-1",
        nodes: { min: 3, desired: 2, max: 4 },
      }),
    ).toThrow(/min <= desired <= max/);
  });
});

test("a component with a bad argument registers nothing", async () => {
  let error: unknown;
  let run: MockRunResult | undefined;
  await jest.isolateModulesAsync(async () => {
    run = await runUnderMocks({
      stack: "staging",
      config: {},
      program: () => {
        try {
          new RdsPostgres("postgres", {
            subnetIds: ["a", "b"],
            securityGroupId: "sg",
            kmsKeyArn: "k",
            password: "p",
            backupRetentionDays: 1,
          });
        } catch (e) {
          error = e;
        }
      },
    });
  });
  expect(String(error)).toMatch(/RDS Postgres: backupRetentionDays 1 is not allowed/);
  expect(run?.resources.filter((r) => r.type !== "pulumi:pulumi:Stack")).toEqual([]);
});
