/**
 * The object-storage building blocks under mocks: buckets for user files apart from backups, the
 * identities that reach them (EKS Pod Identity roles on AWS, HMAC keys of dedicated service accounts
 * on GCP), CMEK for GCS, and the Cloud SQL DR replica in northamerica-northeast2.
 */
import * as pulumi from "@pulumi/pulumi";
import { BACKUP_RETENTION } from "../../components/retention";
import { EksCluster } from "../../components/aws/cluster";
import { awsProviders } from "../../components/aws/providers";
import { StorageBucket, storageLifecycleRules } from "../../components/aws/storage-bucket";
import { STORAGE_NONCURRENT_DAYS } from "../../components/retention";
import {
  POD_IDENTITY_TRUST_POLICY,
  PodIdentityRole,
  backupWriterPolicy,
  objectStorePolicy,
  validatePodIdentityRoleArgs,
} from "../../components/aws/workload-identity";
import { GcsBackupBucket } from "../../components/gcp/backup-bucket";
import { GcpEncryptionKey } from "../../components/gcp/kms";
import { CloudSqlPostgres, validateCloudSqlPostgresArgs } from "../../components/gcp/postgres";
import { gcpContext } from "../../components/gcp/providers";
import {
  GCS_S3_ENDPOINT,
  HmacCredentials,
  gcpServiceAccountId,
  validateHmacCredentialsArgs,
} from "../../components/gcp/storage-credentials";
import { GcsStorageBucket, gcsStorageLifecycleRules } from "../../components/gcp/storage-bucket";
import { MockRunResult, PlannedResource, SECRET_MARK, runUnderMocks } from "../../scripts/lib/mock-program";

type Obj = Record<string, unknown>;

function composeAws() {
  const providers = awsProviders("prod");
  const primary = { provider: providers.primary };
  const files = new StorageBucket(
    "storage",
    {
      bucketName: "northstack-prod-storage-111122223333",
      kmsKeyArn: "arn:aws:kms:ca-central-1:111122223333:key/k",
      region: "ca-central-1",
    },
    primary,
  );
  const cluster = new EksCluster(
    "cluster",
    {
      subnetIds: ["subnet-a", "subnet-b"],
      kmsKeyArn: "arn:aws:kms:ca-central-1:111122223333:key/k",
      region: "ca-central-1",
    },
    primary,
  );
  new PodIdentityRole(
    "storage-identity",
    {
      clusterName: cluster.name,
      namespace: "northstack-prod",
      serviceAccount: "supabase-storage",
      policy: files.arn.apply((arn) => objectStorePolicy(arn, "arn:aws:kms:ca-central-1:111122223333:key/k")),
      dependsOn: [cluster.podIdentityAgent],
    },
    primary,
  );
  return { bucket: files.endpoint.bucket, kind: files.endpoint.kind };
}

function composeGcp() {
  const gcp = gcpContext("prod");
  const primary = { provider: gcp.provider };
  const key = new GcpEncryptionKey(
    "kms",
    {
      location: gcp.region,
      projectNumber: gcp.projectNumber,
      users: ["sqladmin.googleapis.com", "storage.googleapis.com"],
    },
    primary,
  );
  const drKey = new GcpEncryptionKey(
    "kms-dr",
    {
      location: gcp.drRegion,
      projectNumber: gcp.projectNumber,
      users: ["sqladmin.googleapis.com", "storage.googleapis.com"],
    },
    primary,
  );
  const files = new GcsStorageBucket(
    "storage",
    { region: gcp.region, projectId: gcp.projectId, kmsKeyId: key.id, dependsOn: key.grants },
    primary,
  );
  new GcsBackupBucket(
    "backups",
    {
      region: gcp.region,
      drRegion: gcp.drRegion,
      projectId: gcp.projectId,
      projectNumber: gcp.projectNumber,
      kmsKeyId: key.id,
      drKmsKeyId: drKey.id,
      dependsOn: [...key.grants, ...drKey.grants],
    },
    primary,
  );
  const credentials = new HmacCredentials(
    "storage-credentials",
    {
      accountId: gcpServiceAccountId("prod", "storage"),
      description: "storage",
      bucket: files.bucket,
      roles: ["roles/storage.objectUser"],
    },
    primary,
  );
  const postgres = new CloudSqlPostgres(
    "postgres",
    {
      region: gcp.region,
      networkId: "projects/p/global/networks/vpc",
      password: pulumi.secret("postgres-password-for-tests"),
      kmsKeyId: key.id,
      tier: "db-custom-4-15360",
      storageGb: 100,
      ha: true,
      deletionProtection: true,
      drReplica: { region: gcp.drRegion, kmsKeyId: drKey.id, dependsOn: drKey.grants },
    },
    primary,
  );
  return {
    accessKeyId: credentials.accessKeyId,
    secretAccessKey: credentials.secretAccessKey,
    replica: postgres.drReplicaConnectionName,
  };
}

let aws: MockRunResult;
let gcp: MockRunResult;
beforeAll(async () => {
  await jest.isolateModulesAsync(async () => {
    aws = await runUnderMocks({ stack: "prod", config: {}, program: composeAws });
  });
  await jest.isolateModulesAsync(async () => {
    gcp = await runUnderMocks({ stack: "prod", config: { "gcp:project": "northstack-test" }, program: composeGcp });
  });
});

const ofType = (run: MockRunResult, type: string) => run.resources.filter((r) => r.type === type);
const named = (run: MockRunResult, type: string, name: string) =>
  ofType(run, type).find((r) => r.name === name) as PlannedResource;
const byUrn = (run: MockRunResult, urn: string) => run.resources.find((r) => r.urn === urn);

describe("S3 bucket for user files", () => {
  test("is hardened like the backup bucket: versioned, SSE-KMS with the stack key, public access blocked, ACLs off, TLS only", () => {
    expect(
      named(aws, "aws:s3/bucketVersioning:BucketVersioning", "storage-versioning").inputs.versioningConfiguration,
    ).toEqual({ status: "Enabled" });
    const sse = named(
      aws,
      "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
      "storage-sse",
    ).inputs.rules as Obj[];
    expect(sse).toEqual([
      {
        applyServerSideEncryptionByDefault: {
          sseAlgorithm: "aws:kms",
          kmsMasterKeyId: "arn:aws:kms:ca-central-1:111122223333:key/k",
        },
        bucketKeyEnabled: true,
      },
    ]);
    expect(
      named(aws, "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock", "storage-public-access").inputs,
    ).toEqual(
      expect.objectContaining({
        blockPublicAcls: true,
        blockPublicPolicy: true,
        ignorePublicAcls: true,
        restrictPublicBuckets: true,
      }),
    );
    expect(
      named(aws, "aws:s3/bucketOwnershipControls:BucketOwnershipControls", "storage-ownership").inputs.rule,
    ).toEqual({ objectOwnership: "BucketOwnerEnforced" });
    expect(String(named(aws, "aws:s3/bucketPolicy:BucketPolicy", "storage-tls-only").inputs.policy)).toContain(
      '"aws:SecureTransport":"false"',
    );
    expect(aws.outputs).toEqual({ bucket: "northstack-prod-storage-111122223333", kind: "s3" });
  });

  test("never expires current objects: only noncurrent versions (30 days), stale delete markers and abandoned uploads", () => {
    const rules = named(aws, "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration", "storage-lifecycle")
      .inputs.rules as Obj[];
    expect(rules).toEqual(storageLifecycleRules());
    expect(rules).toHaveLength(1);
    expect(rules[0]).toEqual(
      expect.objectContaining({
        filter: {},
        noncurrentVersionExpiration: { noncurrentDays: STORAGE_NONCURRENT_DAYS },
        expiration: { expiredObjectDeleteMarker: true },
        abortIncompleteMultipartUpload: { daysAfterInitiation: 7 },
      }),
    );
    expect(STORAGE_NONCURRENT_DAYS).toBe(30);
    expect(JSON.stringify(rules)).not.toMatch(/"days":|daily\/|weekly\//);
  });
});

describe("EKS Pod Identity", () => {
  test("the role trusts only the Pod Identity service, and the association binds it to one namespace/ServiceAccount", () => {
    const role = named(aws, "aws:iam/role:Role", "storage-identity-role");
    expect(JSON.parse(String(role.inputs.assumeRolePolicy))).toEqual({
      Version: "2012-10-17",
      Statement: [
        {
          Effect: "Allow",
          Principal: { Service: "pods.eks.amazonaws.com" },
          Action: ["sts:AssumeRole", "sts:TagSession"],
        },
      ],
    });
    const association = named(
      aws,
      "aws:eks/podIdentityAssociation:PodIdentityAssociation",
      "storage-identity-association",
    );
    expect(association.inputs).toEqual(
      expect.objectContaining({
        clusterName: "northstack-prod",
        namespace: "northstack-prod",
        serviceAccount: "supabase-storage",
        roleArn: expect.stringContaining("storage-identity-role"),
      }),
    );
  });

  test("the association waits for the cluster's Pod Identity agent add-on, which the EBS CSI driver shares", () => {
    const association = named(
      aws,
      "aws:eks/podIdentityAssociation:PodIdentityAssociation",
      "storage-identity-association",
    );
    const waitsFor = association.dependencies.map((urn) => byUrn(aws, urn)?.name);
    expect(waitsFor).toEqual(expect.arrayContaining(["cluster-pod-identity", "storage-identity-policy"]));
    expect(
      ofType(aws, "aws:eks/addon:Addon").filter((a) => a.inputs.addonName === "eks-pod-identity-agent"),
    ).toHaveLength(1);
    expect(named(aws, "aws:iam/role:Role", "cluster-ebs-csi").inputs.assumeRolePolicy).toBe(POD_IDENTITY_TRUST_POLICY);
  });

  test("Storage may read, write and delete objects of its bucket only, and use its key for SSE-KMS only", () => {
    const policy = JSON.parse(
      String(named(aws, "aws:iam/rolePolicy:RolePolicy", "storage-identity-policy").inputs.policy),
    );
    // The mocks' ARN of the storage bucket.
    const bucketArn = "arn:aws:s3:::northstack-prod-storage-111122223333";
    expect(policy).toEqual(objectStorePolicy(bucketArn, "arn:aws:kms:ca-central-1:111122223333:key/k"));
    const resources = (policy.Statement as { Resource: string }[]).map((s) => s.Resource);
    expect(resources).toEqual([bucketArn, `${bucketArn}/*`, "arn:aws:kms:ca-central-1:111122223333:key/k"]);
    expect(JSON.stringify(policy)).not.toMatch(/"\*"|s3:\*|kms:\*/);
  });

  test("the backup writer puts dumps under daily/ and weekly/ and lists weekly/ only: no reads, no deletes", () => {
    const policy = backupWriterPolicy(
      "arn:aws:s3:::b",
      "arn:aws:kms:ca-central-1:1:key/k",
      BACKUP_RETENTION.prefixes.map((p) => p.prefix),
      "weekly/",
    );
    const actions = (policy.Statement as { Action: string | string[] }[]).flatMap((s) => [s.Action].flat());
    expect(actions.sort()).toEqual([
      "kms:Decrypt",
      "kms:GenerateDataKey",
      "s3:AbortMultipartUpload",
      "s3:ListBucket",
      "s3:PutObject",
    ]);
    const statements = policy.Statement as { Sid: string; Resource: unknown; Condition?: unknown }[];
    expect(statements.find((s) => s.Sid === "WriteDumps")?.Resource).toEqual([
      "arn:aws:s3:::b/daily/*",
      "arn:aws:s3:::b/weekly/*",
    ]);
    expect(statements.find((s) => s.Sid === "ListPrefix")?.Condition).toEqual({
      StringLike: { "s3:prefix": ["weekly/", "weekly/*"] },
    });
  });

  test("names that are not DNS labels are refused before anything is registered", () => {
    expect(() => validatePodIdentityRoleArgs({ namespace: "Prod", serviceAccount: "storage" })).toThrow(
      /namespace "Prod" is not a DNS label/,
    );
    expect(() => validatePodIdentityRoleArgs({ namespace: "prod", serviceAccount: "supabase_storage" })).toThrow(
      /serviceAccount "supabase_storage" is not a DNS label/,
    );
  });
});

describe("GCS bucket for user files", () => {
  test("single Canadian region, uniform access, public access prevention, versioning and CMEK, after the key grant", () => {
    const bucket = named(gcp, "gcp:storage/bucket:Bucket", "storage");
    expect(bucket.inputs).toEqual(
      expect.objectContaining({
        name: "northstack-test-prod-storage",
        location: "NORTHAMERICA-NORTHEAST1",
        uniformBucketLevelAccess: true,
        publicAccessPrevention: "enforced",
        versioning: { enabled: true },
        encryption: { defaultKmsKeyName: expect.stringContaining("kms-key") },
      }),
    );
    expect(bucket.dependencies.map((urn) => byUrn(gcp, urn)?.name)).toContain("kms-storage");
  });

  test("never deletes live objects: only noncurrent versions after 30 days and abandoned multipart uploads", () => {
    const rules = named(gcp, "gcp:storage/bucket:Bucket", "storage").inputs.lifecycleRules as {
      action: Obj;
      condition: Obj;
    }[];
    expect(rules).toEqual(gcsStorageLifecycleRules());
    expect(rules.filter((r) => (r.action as Obj).type === "Delete").map((r) => r.condition)).toEqual([
      { daysSinceNoncurrentTime: 30, withState: "ARCHIVED" },
    ]);
  });

  test("the backup buckets use the key of their own region", () => {
    expect((named(gcp, "gcp:storage/bucket:Bucket", "backups").inputs.encryption as Obj).defaultKmsKeyName).toEqual(
      expect.stringMatching(/^kms-key/),
    );
    expect((named(gcp, "gcp:storage/bucket:Bucket", "backups-dr").inputs.encryption as Obj).defaultKmsKeyName).toEqual(
      expect.stringMatching(/^kms-dr-key/),
    );
    expect(named(gcp, "gcp:kms/keyRing:KeyRing", "kms-dr-ring").inputs.location).toBe("northamerica-northeast2");
  });

  test("the Cloud Storage agent, looked up from the service, may use each key", () => {
    const members = ofType(gcp, "gcp:kms/cryptoKeyIAMMember:CryptoKeyIAMMember").filter((m) =>
      m.name.endsWith("-storage"),
    );
    expect(members.map((m) => [m.name, m.inputs.member])).toEqual([
      ["kms-storage", "serviceAccount:service-123456789012@gs-project-accounts.iam.gserviceaccount.com"],
      ["kms-dr-storage", "serviceAccount:service-123456789012@gs-project-accounts.iam.gserviceaccount.com"],
    ]);
  });
});

describe("GCS HMAC credentials", () => {
  test("a dedicated service account holds objectUser on the storage bucket only, and its HMAC key is a secret", () => {
    const account = named(gcp, "gcp:serviceaccount/account:Account", "storage-credentials-sa");
    expect(account.inputs.accountId).toBe("ns-prod-storage");
    const grants = ofType(gcp, "gcp:storage/bucketIAMMember:BucketIAMMember").filter((g) =>
      g.name.startsWith("storage-credentials"),
    );
    expect(grants.map((g) => [g.inputs.bucket, g.inputs.role, g.inputs.member])).toEqual([
      [
        "northstack-test-prod-storage",
        "roles/storage.objectUser",
        "serviceAccount:ns-prod-storage@northstack-plan.iam.gserviceaccount.com",
      ],
    ]);
    expect(ofType(gcp, "gcp:projects/iAMMember:IAMMember")).toEqual([]);
    expect(named(gcp, "gcp:storage/hmacKey:HmacKey", "storage-credentials-hmac").inputs.serviceAccountEmail).toBe(
      "ns-prod-storage@northstack-plan.iam.gserviceaccount.com",
    );
    expect(gcp.outputs).toEqual(expect.objectContaining({ accessKeyId: SECRET_MARK, secretAccessKey: SECRET_MARK }));
    expect(GCS_S3_ENDPOINT).toBe("https://storage.googleapis.com");
  });

  test("account ids stay valid for long stack names, and bad roles or ids are refused", () => {
    expect(gcpServiceAccountId("staging", "backup")).toBe("ns-staging-backup");
    expect(gcpServiceAccountId("customer-acceptance-canada", "storage")).toMatch(/^ns-[0-9a-f]{8}-storage$/);
    expect(() => gcpServiceAccountId("prod", "a-purpose-that-is-far-too-long")).toThrow(
      /purpose "a-purpose-that-is-far-too-long" is too long/,
    );
    expect(() => validateHmacCredentialsArgs({ accountId: "ns-prod-storage", roles: ["roles/owner"] })).toThrow(
      /role "roles\/owner" is not allowed; only roles\/storage\.\* roles/,
    );
    expect(() => validateHmacCredentialsArgs({ accountId: "NS", roles: [] })).toThrow(
      /accountId "NS" is not allowed.*roles is empty/,
    );
  });
});

describe("Cloud SQL DR replica", () => {
  const replica = () => named(gcp, "gcp:sql/databaseInstance:DatabaseInstance", "postgres-dr");

  test("replicates the primary into northamerica-northeast2, private, TLS-only, protected, with the DR region's key", () => {
    expect(replica().inputs).toEqual(
      expect.objectContaining({
        databaseVersion: "POSTGRES_15",
        region: "northamerica-northeast2",
        masterInstanceName: "postgres-db",
        deletionProtection: true,
        encryptionKeyName: expect.stringMatching(/^kms-dr-key/),
      }),
    );
    const settings = replica().inputs.settings as Obj;
    expect(settings).toEqual(
      expect.objectContaining({ tier: "db-custom-4-15360", diskSize: 100, deletionProtectionEnabled: true }),
    );
    expect(settings.ipConfiguration).toEqual({
      ipv4Enabled: false,
      privateNetwork: "projects/p/global/networks/vpc",
      sslMode: "ENCRYPTED_ONLY",
      enablePrivatePathForGoogleCloudServices: false,
    });
    expect(replica().dependencies.map((urn) => byUrn(gcp, urn)?.name)).toEqual(
      expect.arrayContaining(["kms-dr-sqladmin"]),
    );
    expect(gcp.outputs.replica).toEqual(expect.stringContaining("postgres-dr"));
  });

  test("nothing the stack stores is outside Canada", () => {
    for (const r of gcp.resources.filter((x) => x.custom && x.type.startsWith("gcp:"))) {
      for (const field of ["region", "location"]) {
        const value = r.inputs[field];
        if (value !== undefined)
          expect({ r: r.name, value: String(value).toLowerCase() }).toEqual({
            r: r.name,
            value: expect.stringMatching(/^northamerica-northeast[12]$/),
          });
      }
    }
  });

  test("a replica outside Canada or in the primary's region is refused", () => {
    const base = { region: "northamerica-northeast1", networkId: "n", password: "p" };
    expect(() => validateCloudSqlPostgresArgs({ ...base, drReplica: { region: "us-central1" } })).toThrow(
      /drReplica.region "us-central1" is outside Canada/,
    );
    expect(() => validateCloudSqlPostgresArgs({ ...base, drReplica: { region: "northamerica-northeast1" } })).toThrow(
      /drReplica.region "northamerica-northeast1" equals region/,
    );
  });
});
