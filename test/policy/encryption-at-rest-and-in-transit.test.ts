import { StackResourceInput } from "../../policy/evaluate";
import { encryptionAtRestAndInTransit as policy } from "../../policy/policies";
import { messages, stackViolations } from "./fixtures";

const rds = (props: Record<string, unknown>) => ({
  type: "aws:rds/instance:Instance",
  name: "db",
  props: { engine: "postgres", ...props },
});
const redis = (props: Record<string, unknown>) => ({
  type: "aws:elasticache/replicationGroup:ReplicationGroup",
  name: "cache",
  props,
});
const cloudSql = (sslMode: unknown) => ({
  type: "gcp:sql/databaseInstance:DatabaseInstance",
  name: "db",
  props: { settings: { tier: "db-f1", ipConfiguration: { sslMode } } },
});

test("passes encrypted RDS, ElastiCache, Cloud SQL, Memorystore, S3 and cluster secrets", async () => {
  expect(await messages(policy, rds({ storageEncrypted: true }))).toEqual([]);
  expect(await messages(policy, redis({ atRestEncryptionEnabled: true, transitEncryptionEnabled: true }))).toEqual([]);
  expect(await messages(policy, cloudSql("ENCRYPTED_ONLY"))).toEqual([]);
  expect(
    await messages(policy, {
      type: "gcp:redis/instance:Instance",
      name: "r",
      props: { transitEncryptionMode: "SERVER_AUTHENTICATION" },
    }),
  ).toEqual([]);
  const sse = {
    rules: [
      {
        applyServerSideEncryptionByDefault: {
          sseAlgorithm: "aws:kms",
          kmsMasterKeyId: "arn:aws:kms:ca-central-1:1:key/x",
        },
      },
    ],
  };
  expect(
    await messages(policy, {
      type: "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
      name: "b",
      props: sse,
    }),
  ).toEqual([]);
  expect(
    await messages(policy, {
      type: "aws:eks/cluster:Cluster",
      name: "eks",
      props: { encryptionConfig: { resources: ["secrets"], provider: { keyArn: "arn" } } },
    }),
  ).toEqual([]);
  expect(
    await messages(policy, {
      type: "gcp:container/cluster:Cluster",
      name: "gke",
      props: { databaseEncryption: { state: "ENCRYPTED", keyName: "k" } },
    }),
  ).toEqual([]);
});

test("rejects RDS storage that is not encrypted, or not known to be", async () => {
  expect(await messages(policy, rds({}))).toEqual([
    "aws:rds/instance:Instance db: storageEncrypted is unset, so encryption at rest is off; fix: set storageEncrypted: true.",
  ]);
  expect(await messages(policy, rds({ storageEncrypted: false }))).toHaveLength(1);
  expect(await messages(policy, rds({ storageEncrypted: "[unknown]" }))).toEqual([
    expect.stringMatching(/storageEncrypted is unknown at preview, so encryption at rest cannot be verified/),
  ]);
  expect(await messages(policy, { type: "aws:rds/cluster:Cluster", name: "aurora", props: {} })).toHaveLength(1);
});

test("rejects ElastiCache without TLS or at-rest encryption", async () => {
  expect(await messages(policy, redis({ atRestEncryptionEnabled: true }))).toEqual([
    expect.stringContaining("transitEncryptionEnabled is unset, so TLS in transit is off"),
  ]);
  expect(await messages(policy, redis({ transitEncryptionEnabled: true, atRestEncryptionEnabled: false }))).toEqual([
    expect.stringContaining("atRestEncryptionEnabled"),
  ]);
});

test("rejects Postgres that accepts plaintext connections", async () => {
  expect(await messages(policy, cloudSql("ALLOW_UNENCRYPTED_AND_ENCRYPTED"))).toEqual([
    expect.stringContaining("unencrypted connections are allowed"),
  ]);
  expect(await messages(policy, cloudSql(undefined))).toHaveLength(1);
  const params = { family: "postgres15", parameters: [{ name: "rds.force_ssl", value: "0" }] };
  expect(await messages(policy, { type: "aws:rds/parameterGroup:ParameterGroup", name: "pg", props: params })).toEqual([
    expect.stringContaining('rds.force_ssl is "0"'),
  ]);
});

test("rejects Memorystore without TLS, S3 with an unknown algorithm, and clusters whose secrets are not KMS-encrypted", async () => {
  expect(
    await messages(policy, {
      type: "gcp:redis/instance:Instance",
      name: "r",
      props: { transitEncryptionMode: "DISABLED" },
    }),
  ).toHaveLength(1);
  const sse = { rules: [{ applyServerSideEncryptionByDefault: { sseAlgorithm: "none" } }] };
  expect(
    await messages(policy, {
      type: "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
      name: "b",
      props: sse,
    }),
  ).toHaveLength(1);
  expect(await messages(policy, { type: "aws:eks/cluster:Cluster", name: "eks", props: {} })).toEqual([
    expect.stringContaining("does not envelope-encrypt Kubernetes secrets"),
  ]);
  expect(
    await messages(policy, {
      type: "gcp:container/cluster:Cluster",
      name: "gke",
      props: { databaseEncryption: { state: "DECRYPTED" } },
    }),
  ).toHaveLength(1);
});

test("rejects ElastiCache in transitEncryptionMode preferred, which still accepts plaintext", async () => {
  expect(
    await messages(
      policy,
      redis({ atRestEncryptionEnabled: true, transitEncryptionEnabled: true, transitEncryptionMode: "preferred" }),
    ),
  ).toEqual([
    expect.stringMatching(
      /transitEncryptionMode is "preferred", which still accepts plaintext connections; fix: set transitEncryptionMode to "required"/,
    ),
  ]);
  expect(
    await messages(
      policy,
      redis({ atRestEncryptionEnabled: true, transitEncryptionEnabled: true, transitEncryptionMode: "required" }),
    ),
  ).toEqual([]);
});

test("Memorystore clusters need server-authenticated TLS", async () => {
  const cluster = (mode: unknown) => ({
    type: "gcp:redis/cluster:Cluster",
    name: "c",
    props: { transitEncryptionMode: mode },
  });
  expect(await messages(policy, cluster("TRANSIT_ENCRYPTION_MODE_SERVER_AUTHENTICATION"))).toEqual([]);
  expect(await messages(policy, cluster("TRANSIT_ENCRYPTION_MODE_DISABLED"))).toHaveLength(1);
  expect(await messages(policy, cluster(undefined))).toEqual([
    expect.stringContaining("transitEncryptionMode is unset: Redis traffic is not encrypted"),
  ]);
});

test("values unknown at preview are cannot verify with the right words, not 'no rules' or a state of [unknown]", async () => {
  const sse = (rules: unknown) => ({
    type: "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
    name: "b",
    props: { rules },
  });
  expect(await messages(policy, sse("[unknown]"))).toEqual([
    expect.stringContaining("rules is unknown at preview, so default encryption cannot be verified"),
  ]);
  expect(await messages(policy, sse([{ applyServerSideEncryptionByDefault: { sseAlgorithm: "[unknown]" } }]))).toEqual([
    expect.stringContaining("rules[0].applyServerSideEncryptionByDefault.sseAlgorithm is unknown"),
  ]);
  expect(await messages(policy, sse([]))).toEqual([expect.stringContaining("has no rules")]);
  expect(
    await messages(policy, {
      type: "gcp:container/cluster:Cluster",
      name: "gke",
      props: { databaseEncryption: "[unknown]" },
    }),
  ).toEqual([expect.stringContaining("databaseEncryption is unknown at preview")]);
  expect(
    await messages(policy, redis({ atRestEncryptionEnabled: true, transitEncryptionEnabled: "[unknown]" })),
  ).toEqual([expect.stringContaining("transitEncryptionEnabled is unknown at preview")]);
});

describe("stack: every S3 bucket has default encryption and a TLS-only policy; RDS Postgres forces TLS", () => {
  const tlsOnly = JSON.stringify({
    Version: "2012-10-17",
    Statement: [
      {
        Effect: "Deny",
        Principal: "*",
        Action: "s3:*",
        Resource: ["arn:aws:s3:::b", "arn:aws:s3:::b/*"],
        Condition: { Bool: { "aws:SecureTransport": "false" } },
      },
    ],
  });
  const bucket: StackResourceInput = { type: "aws:s3/bucket:Bucket", name: "b", urn: "urn:b", props: { bucket: "b" } };
  const sse = (props: Record<string, unknown> = { bucket: "b" }): StackResourceInput => ({
    type: "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
    name: "b-sse",
    props: { rules: [{ applyServerSideEncryptionByDefault: { sseAlgorithm: "aws:kms" } }], ...props },
  });
  const bucketPolicy = (policy: unknown, props: Record<string, unknown> = { bucket: "b" }): StackResourceInput => ({
    type: "aws:s3/bucketPolicy:BucketPolicy",
    name: "b-tls",
    props: { policy, ...props },
  });

  test("passes a bucket with both, named or (first preview) by property dependency", async () => {
    expect(await stackViolations(policy, [bucket, sse(), bucketPolicy(tlsOnly)])).toEqual([]);
    const firstPreview = { propertyDependencies: { bucket: ["urn:b"] } };
    expect(
      await stackViolations(policy, [
        bucket,
        { ...sse({ bucket: "[unknown]" }), ...firstPreview },
        { ...bucketPolicy(tlsOnly, { bucket: "[unknown]" }), ...firstPreview },
      ]),
    ).toEqual([]);
  });

  test("rejects a bucket without encryption configuration or TLS-only policy; an unknown policy document is cannot verify", async () => {
    expect(await stackViolations(policy, [bucket])).toEqual([
      {
        message: expect.stringMatching(
          /^S3 bucket b: has no server-side encryption configuration in this stack; fix: /,
        ),
        urn: "urn:b",
      },
      {
        message: expect.stringMatching(
          /^S3 bucket b: has no bucket policy denying requests without TLS .*; fix: add a BucketPolicy/,
        ),
        urn: "urn:b",
      },
    ]);
    const allowAll = JSON.stringify({ Statement: [{ Effect: "Allow", Principal: "*", Action: "s3:GetObject" }] });
    expect(await stackViolations(policy, [bucket, sse(), bucketPolicy(allowAll)])).toEqual([
      expect.objectContaining({ message: expect.stringContaining("has no bucket policy denying") }),
    ]);
    expect(await stackViolations(policy, [bucket, sse(), bucketPolicy("[unknown]")])).toEqual([
      expect.objectContaining({ message: expect.stringContaining("its bucket policy document is unknown at preview") }),
    ]);
  });

  const instance = (props: Record<string, unknown>): StackResourceInput => ({
    type: "aws:rds/instance:Instance",
    name: "db",
    urn: "urn:db",
    props: { engine: "postgres", storageEncrypted: true, ...props },
  });
  const group = (family: string, parameters: unknown[] = []): StackResourceInput => ({
    type: "aws:rds/parameterGroup:ParameterGroup",
    name: "pg",
    urn: "urn:pg",
    props: { name: "pg", family, parameters },
  });

  test("RDS Postgres with the default parameter group forces TLS only from version 15", async () => {
    expect(await stackViolations(policy, [instance({ engineVersion: "15.7" })])).toEqual([]);
    expect(await stackViolations(policy, [instance({ engineVersion: "16" })])).toEqual([]);
    expect(await stackViolations(policy, [instance({ engineVersion: "14.12" })])).toEqual([
      {
        message: expect.stringMatching(
          /default parameter group of PostgreSQL 14, where rds.force_ssl defaults to 0 .*; fix: use a parameter group that sets rds.force_ssl to 1/,
        ),
        urn: "urn:db",
      },
    ]);
    expect(await stackViolations(policy, [instance({ parameterGroupName: "default.postgres13" })])).toHaveLength(1);
    expect(await stackViolations(policy, [instance({})])).toEqual([
      expect.objectContaining({ message: expect.stringContaining("engineVersion is unset") }),
    ]);
    expect(await stackViolations(policy, [instance({ engine: "mysql" })])).toEqual([]);
  });

  test("RDS Postgres with a parameter group of the stack: its family's default unless it sets rds.force_ssl", async () => {
    expect(
      await stackViolations(policy, [group("postgres14"), instance({ engineVersion: "14", parameterGroupName: "pg" })]),
    ).toEqual([
      expect.objectContaining({
        message: expect.stringContaining('parameter group pg ("postgres14") does not set rds.force_ssl'),
      }),
    ]);
    expect(
      await stackViolations(policy, [
        group("postgres14", [{ name: "rds.force_ssl", value: "1" }]),
        instance({ engineVersion: "14", parameterGroupName: "pg" }),
      ]),
    ).toEqual([]);
    expect(
      await stackViolations(policy, [group("postgres15"), instance({ engineVersion: "15", parameterGroupName: "pg" })]),
    ).toEqual([]);
    const firstPreview = {
      ...instance({ engineVersion: "14", parameterGroupName: "[unknown]" }),
      propertyDependencies: { parameterGroupName: ["urn:pg"] },
    };
    expect(await stackViolations(policy, [group("postgres14"), firstPreview])).toHaveLength(1);
    const withoutPropertyDependencies = {
      ...instance({ engineVersion: "14", parameterGroupName: "[unknown]" }),
      dependencies: ["urn:pg"],
    };
    expect(
      await stackViolations(policy, [
        group("postgres14", [{ name: "rds.force_ssl", value: "1" }]),
        withoutPropertyDependencies,
      ]),
    ).toEqual([]);
    expect(await stackViolations(policy, [instance({ engineVersion: "15", parameterGroupName: "[unknown]" })])).toEqual(
      [expect.objectContaining({ message: expect.stringContaining("parameterGroupName is unknown at preview") })],
    );
    expect(
      await stackViolations(policy, [instance({ engineVersion: "14", parameterGroupName: "shared-params" })]),
    ).toEqual([
      expect.objectContaining({
        message: expect.stringContaining('parameter group "shared-params" is not managed by this stack'),
      }),
    ]);
  });
});
