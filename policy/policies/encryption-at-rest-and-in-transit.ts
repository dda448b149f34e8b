import { ResourceValidationPolicy } from "@pulumi/policy";
import { Props, asArray, asBool, get, isUnknown, show } from "./framework";

const SSE_ALGORITHMS = new Set(["aws:kms", "aws:kms:dsse", "AES256"]);
const CLOUD_SQL_TLS_MODES = new Set(["ENCRYPTED_ONLY", "TRUSTED_CLIENT_CERTIFICATE_REQUIRED"]);

/** A boolean field that must be true: reports unset, false and unknown alike. */
function mustBeTrue(props: Props, path: string[], what: string): string | undefined {
  const value = get(props, ...path);
  if (isUnknown(value)) return `${path.join(".")} is unknown at preview: cannot verify ${what}`;
  return asBool(value) === true ? undefined : `${path.join(".")} is ${show(value)}, so ${what} is off; set it to true`;
}

type Check = (props: Props) => (string | undefined)[];

/** What each data service must set, as far as the cloud lets us choose. */
const CHECKS: Record<string, Check> = {
  "aws:rds/instance:Instance": (p) => [mustBeTrue(p, ["storageEncrypted"], "encryption at rest")],
  "aws:rds/cluster:Cluster": (p) => [mustBeTrue(p, ["storageEncrypted"], "encryption at rest")],
  // Postgres on RDS enforces TLS through the parameter group; 15+ defaults to rds.force_ssl=1.
  "aws:rds/parameterGroup:ParameterGroup": (p) =>
    asArray(p.parameters)
      .filter((x) => get(x, "name") === "rds.force_ssl" && String(get(x, "value")) !== "1")
      .map((x) => `rds.force_ssl is ${show(get(x, "value"))}: clients may connect without TLS; set it to 1`),
  "aws:elasticache/replicationGroup:ReplicationGroup": (p) => [
    mustBeTrue(p, ["atRestEncryptionEnabled"], "encryption at rest"),
    mustBeTrue(p, ["transitEncryptionEnabled"], "TLS in transit"),
  ],
  "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration": (p) => sseProblems(p),
  "aws:s3/bucketServerSideEncryptionConfigurationV2:BucketServerSideEncryptionConfigurationV2": (p) => sseProblems(p),
  "aws:eks/cluster:Cluster": (p) => {
    const secrets = asArray(get(p, "encryptionConfig", "resources"));
    return secrets.includes("secrets") ? [] : ["encryptionConfig does not envelope-encrypt Kubernetes secrets with a KMS key; add resources: [\"secrets\"]"];
  },
  "gcp:sql/databaseInstance:DatabaseInstance": (p) => {
    const mode = get(p, "settings", "ipConfiguration", "sslMode");
    if (isUnknown(mode)) return ["settings.ipConfiguration.sslMode is unknown at preview: cannot verify TLS in transit"];
    return CLOUD_SQL_TLS_MODES.has(String(mode)) ? [] : [`settings.ipConfiguration.sslMode is ${show(mode)}: unencrypted connections are allowed; use ENCRYPTED_ONLY`];
  },
  "gcp:redis/instance:Instance": (p) => {
    const mode = p.transitEncryptionMode;
    if (isUnknown(mode)) return ["transitEncryptionMode is unknown at preview: cannot verify TLS in transit"];
    return mode === "SERVER_AUTHENTICATION" ? [] : [`transitEncryptionMode is ${show(mode)}: Redis traffic is not encrypted; use SERVER_AUTHENTICATION`];
  },
  "gcp:container/cluster:Cluster": (p) =>
    get(p, "databaseEncryption", "state") === "ENCRYPTED"
      ? []
      : [`databaseEncryption.state is ${show(get(p, "databaseEncryption", "state"))}: Kubernetes secrets are not encrypted with a Cloud KMS key; set ENCRYPTED with a keyName`],
};

function sseProblems(p: Props): string[] {
  const rules = asArray(p.rules);
  if (rules.length === 0) return ["has no rules"];
  return rules
    .map((r) => get(r, "applyServerSideEncryptionByDefault", "sseAlgorithm"))
    .filter((a) => !isUnknown(a) && !SSE_ALGORITHMS.has(String(a)))
    .map((a) => `sseAlgorithm ${show(a)} is not one of ${[...SSE_ALGORITHMS].join(", ")}`);
}

export const encryptionAtRestAndInTransit: ResourceValidationPolicy = {
  name: "encryption-at-rest-and-in-transit",
  description:
    "Data services encrypt at rest and in transit wherever the cloud lets us choose: RDS storage, ElastiCache at rest and TLS, S3 default encryption, " +
    "Postgres TLS (rds.force_ssl, Cloud SQL sslMode), Memorystore TLS, and Kubernetes Secrets in EKS/GKE etcd. GCS and Cloud SQL storage are always encrypted.",
  remediationSteps:
    "RDS: storageEncrypted: true (optionally kmsKeyId) and keep rds.force_ssl=1. ElastiCache: atRestEncryptionEnabled and transitEncryptionEnabled true. " +
    "S3: a BucketServerSideEncryptionConfiguration with aws:kms or AES256. Cloud SQL: settings.ipConfiguration.sslMode ENCRYPTED_ONLY. Memorystore: " +
    "transitEncryptionMode SERVER_AUTHENTICATION. EKS: encryptionConfig { resources: [\"secrets\"], provider.keyArn }; GKE: databaseEncryption ENCRYPTED with a key.",
  severity: "high",
  validateResource: (args, report) => {
    const check = CHECKS[args.type];
    if (!check) return;
    for (const problem of check(args.props)) if (problem) report(`${args.type} ${args.name}: ${problem}.`);
  },
};
