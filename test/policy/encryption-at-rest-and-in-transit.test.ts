import { encryptionAtRestAndInTransit as policy } from "../../policy/policies";
import { messages } from "./fixtures";

const rds = (props: Record<string, unknown>) => ({ type: "aws:rds/instance:Instance", name: "db", props: { engine: "postgres", ...props } });
const redis = (props: Record<string, unknown>) => ({ type: "aws:elasticache/replicationGroup:ReplicationGroup", name: "cache", props });
const cloudSql = (sslMode: unknown) => ({ type: "gcp:sql/databaseInstance:DatabaseInstance", name: "db", props: { settings: { tier: "db-f1", ipConfiguration: { sslMode } } } });

test("passes encrypted RDS, ElastiCache, Cloud SQL, Memorystore, S3 and cluster secrets", async () => {
  expect(await messages(policy, rds({ storageEncrypted: true }))).toEqual([]);
  expect(await messages(policy, redis({ atRestEncryptionEnabled: true, transitEncryptionEnabled: true }))).toEqual([]);
  expect(await messages(policy, cloudSql("ENCRYPTED_ONLY"))).toEqual([]);
  expect(await messages(policy, { type: "gcp:redis/instance:Instance", name: "r", props: { transitEncryptionMode: "SERVER_AUTHENTICATION" } })).toEqual([]);
  const sse = { rules: [{ applyServerSideEncryptionByDefault: { sseAlgorithm: "aws:kms", kmsMasterKeyId: "arn:aws:kms:ca-central-1:1:key/x" } }] };
  expect(await messages(policy, { type: "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration", name: "b", props: sse })).toEqual([]);
  expect(await messages(policy, { type: "aws:eks/cluster:Cluster", name: "eks", props: { encryptionConfig: { resources: ["secrets"], provider: { keyArn: "arn" } } } })).toEqual([]);
  expect(await messages(policy, { type: "gcp:container/cluster:Cluster", name: "gke", props: { databaseEncryption: { state: "ENCRYPTED", keyName: "k" } } })).toEqual([]);
});

test("rejects RDS storage that is not encrypted, or not known to be", async () => {
  expect(await messages(policy, rds({}))).toEqual(["aws:rds/instance:Instance db: storageEncrypted is unset, so encryption at rest is off; set it to true."]);
  expect(await messages(policy, rds({ storageEncrypted: false }))).toHaveLength(1);
  expect(await messages(policy, rds({ storageEncrypted: "[unknown]" }))).toEqual([expect.stringMatching(/unknown at preview: cannot verify encryption at rest/)]);
  expect(await messages(policy, { type: "aws:rds/cluster:Cluster", name: "aurora", props: {} })).toHaveLength(1);
});

test("rejects ElastiCache without TLS or at-rest encryption", async () => {
  expect(await messages(policy, redis({ atRestEncryptionEnabled: true }))).toEqual([expect.stringContaining("transitEncryptionEnabled is unset, so TLS in transit is off")]);
  expect(await messages(policy, redis({ transitEncryptionEnabled: true, atRestEncryptionEnabled: false }))).toEqual([expect.stringContaining("atRestEncryptionEnabled")]);
});

test("rejects Postgres that accepts plaintext connections", async () => {
  expect(await messages(policy, cloudSql("ALLOW_UNENCRYPTED_AND_ENCRYPTED"))).toEqual([expect.stringContaining("unencrypted connections are allowed")]);
  expect(await messages(policy, cloudSql(undefined))).toHaveLength(1);
  const params = { family: "postgres15", parameters: [{ name: "rds.force_ssl", value: "0" }] };
  expect(await messages(policy, { type: "aws:rds/parameterGroup:ParameterGroup", name: "pg", props: params })).toEqual([expect.stringContaining("rds.force_ssl is \"0\"")]);
});

test("rejects Memorystore without TLS, S3 with an unknown algorithm, and clusters whose secrets are not KMS-encrypted", async () => {
  expect(await messages(policy, { type: "gcp:redis/instance:Instance", name: "r", props: { transitEncryptionMode: "DISABLED" } })).toHaveLength(1);
  const sse = { rules: [{ applyServerSideEncryptionByDefault: { sseAlgorithm: "none" } }] };
  expect(await messages(policy, { type: "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration", name: "b", props: sse })).toHaveLength(1);
  expect(await messages(policy, { type: "aws:eks/cluster:Cluster", name: "eks", props: {} })).toEqual([expect.stringContaining("does not envelope-encrypt Kubernetes secrets")]);
  expect(await messages(policy, { type: "gcp:container/cluster:Cluster", name: "gke", props: { databaseEncryption: { state: "DECRYPTED" } } })).toHaveLength(1);
});
