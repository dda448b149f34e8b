import { PolicyResource } from "@pulumi/policy";
import {
  Finding,
  PolicyDefinition,
  Props,
  asArray,
  asBool,
  cannotVerify,
  finding,
  get,
  isUnknown,
  show,
  unknownFindings,
} from "../lib/framework";
import { bucketsCovered } from "./no-public-data-services";

const SSE_ALGORITHMS = new Set(["aws:kms", "aws:kms:dsse", "AES256"]);
const CLOUD_SQL_TLS_MODES = new Set(["ENCRYPTED_ONLY", "TRUSTED_CLIENT_CERTIFICATE_REQUIRED"]);
const S3_BUCKETS = new Set(["aws:s3/bucket:Bucket", "aws:s3/bucketV2:BucketV2"]);
const SSE_CONFIGS = new Set([
  "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
  "aws:s3/bucketServerSideEncryptionConfigurationV2:BucketServerSideEncryptionConfigurationV2",
]);
const BUCKET_POLICY = "aws:s3/bucketPolicy:BucketPolicy";
const RDS_INSTANCE = "aws:rds/instance:Instance";
const RDS_PARAMETER_GROUP = "aws:rds/parameterGroup:ParameterGroup";
/** RDS for PostgreSQL defaults rds.force_ssl to 1 from major version 15; 14 and older default to 0. */
const FORCE_SSL_DEFAULT_FROM = 15;
const FORCE_SSL_FIX =
  "use a parameter group that sets rds.force_ssl to 1 (or engine version 15 or later with the default)";
const TLS_ONLY_POLICY_FIX =
  'add a BucketPolicy with a statement { Effect: "Deny", Principal: "*", Action: "s3:*", Condition: { Bool: { "aws:SecureTransport": "false" } } } on the bucket and its objects';

/** A boolean field that must be true: reports unset and false; unknown is cannot verify. */
function mustBeTrue(props: Props, path: string[], what: string): Finding | undefined {
  const value = get(props, ...path);
  if (unknownFindings(props, [path.join(".")], what).length > 0) return cannotVerify(path.join("."), what);
  return asBool(value) === true
    ? undefined
    : finding(`${path.join(".")} is ${show(value)}, so ${what} is off`, `set ${path.join(".")}: true`);
}

type Check = (props: Props) => (Finding | undefined)[];

function sseProblems(p: Props): Finding[] {
  const what = "default encryption";
  const unknown = unknownFindings(p, ["rules[].applyServerSideEncryptionByDefault.sseAlgorithm"], what);
  const rules = asArray(p.rules);
  if (unknown.length === 0 && rules.length === 0)
    return [
      finding(
        "has no rules, so objects are not encrypted with a key of ours",
        'add a rule with applyServerSideEncryptionByDefault.sseAlgorithm "aws:kms"',
      ),
    ];
  return [
    ...unknown,
    ...rules
      .map((r) => get(r, "applyServerSideEncryptionByDefault", "sseAlgorithm"))
      .filter((a) => !isUnknown(a) && !SSE_ALGORITHMS.has(String(a)))
      .map((a) =>
        finding(
          `sseAlgorithm ${show(a)} is not one of ${[...SSE_ALGORITHMS].join(", ")}`,
          'set sseAlgorithm to "aws:kms" with the stack\'s KMS key',
        ),
      ),
  ];
}

/** The major version in "14.9", "15", "POSTGRES_15" or a parameter group family "postgres14". */
function majorVersion(text: unknown): number | undefined {
  const m = typeof text === "string" && !isUnknown(text) ? /(\d+)/.exec(text) : null;
  return m ? Number(m[1]) : undefined;
}

/** What each data service must set, as far as the cloud lets us choose. */
const CHECKS: Record<string, Check> = {
  [RDS_INSTANCE]: (p) => [mustBeTrue(p, ["storageEncrypted"], "encryption at rest")],
  "aws:rds/cluster:Cluster": (p) => [mustBeTrue(p, ["storageEncrypted"], "encryption at rest")],
  [RDS_PARAMETER_GROUP]: (p) => [
    ...unknownFindings(p, ["parameters[].name", "parameters[].value"], "TLS in transit"),
    ...asArray(p.parameters)
      .filter(
        (x) => get(x, "name") === "rds.force_ssl" && !isUnknown(get(x, "value")) && String(get(x, "value")) !== "1",
      )
      .map((x) =>
        finding(`rds.force_ssl is ${show(get(x, "value"))}: clients may connect without TLS`, "set rds.force_ssl to 1"),
      ),
  ],
  "aws:elasticache/replicationGroup:ReplicationGroup": (p) => {
    const mode = p.transitEncryptionMode;
    return [
      mustBeTrue(p, ["atRestEncryptionEnabled"], "encryption at rest"),
      mustBeTrue(p, ["transitEncryptionEnabled"], "TLS in transit"),
      isUnknown(mode) ? cannotVerify("transitEncryptionMode", "TLS in transit") : undefined,
      typeof mode === "string" && mode.toLowerCase() === "preferred"
        ? finding(
            'transitEncryptionMode is "preferred", which still accepts plaintext connections',
            'set transitEncryptionMode to "required" (or leave it unset)',
          )
        : undefined,
    ];
  },
  "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration": sseProblems,
  "aws:s3/bucketServerSideEncryptionConfigurationV2:BucketServerSideEncryptionConfigurationV2": sseProblems,
  "aws:eks/cluster:Cluster": (p) => {
    const unknown = unknownFindings(p, ["encryptionConfig.resources[]"], "envelope encryption of Kubernetes secrets");
    if (unknown.length > 0) return unknown;
    return asArray(get(p, "encryptionConfig", "resources")).includes("secrets")
      ? []
      : [
          finding(
            "encryptionConfig does not envelope-encrypt Kubernetes secrets with a KMS key",
            'set encryptionConfig { resources: ["secrets"], provider: { keyArn } }',
          ),
        ];
  },
  "gcp:sql/databaseInstance:DatabaseInstance": (p) => {
    const mode = get(p, "settings", "ipConfiguration", "sslMode");
    const unknown = unknownFindings(p, ["settings.ipConfiguration.sslMode"], "TLS in transit");
    if (unknown.length > 0) return unknown;
    return CLOUD_SQL_TLS_MODES.has(String(mode))
      ? []
      : [
          finding(
            `settings.ipConfiguration.sslMode is ${show(mode)}: unencrypted connections are allowed`,
            "set settings.ipConfiguration.sslMode: ENCRYPTED_ONLY",
          ),
        ];
  },
  "gcp:redis/instance:Instance": (p) => {
    if (isUnknown(p.transitEncryptionMode)) return [cannotVerify("transitEncryptionMode", "TLS in transit")];
    return p.transitEncryptionMode === "SERVER_AUTHENTICATION"
      ? []
      : [
          finding(
            `transitEncryptionMode is ${show(p.transitEncryptionMode)}: Redis traffic is not encrypted`,
            "set transitEncryptionMode: SERVER_AUTHENTICATION",
          ),
        ];
  },
  "gcp:redis/cluster:Cluster": (p) => {
    if (isUnknown(p.transitEncryptionMode)) return [cannotVerify("transitEncryptionMode", "TLS in transit")];
    return p.transitEncryptionMode === "TRANSIT_ENCRYPTION_MODE_SERVER_AUTHENTICATION"
      ? []
      : [
          finding(
            `transitEncryptionMode is ${show(p.transitEncryptionMode)}: Redis traffic is not encrypted`,
            "set transitEncryptionMode: TRANSIT_ENCRYPTION_MODE_SERVER_AUTHENTICATION",
          ),
        ];
  },
  "gcp:container/cluster:Cluster": (p) => {
    const what = "envelope encryption of Kubernetes secrets";
    const unknown = unknownFindings(p, ["databaseEncryption.state"], what);
    if (unknown.length > 0) return unknown;
    return get(p, "databaseEncryption", "state") === "ENCRYPTED"
      ? []
      : [
          finding(
            `databaseEncryption.state is ${show(get(p, "databaseEncryption", "state"))}: Kubernetes secrets are not encrypted with a Cloud KMS key`,
            "set databaseEncryption { state: ENCRYPTED, keyName }",
          ),
        ];
  },
};

/** Does a bucket policy document deny every request that is not over TLS? Undefined when unknown. */
export function deniesInsecureTransport(document: unknown): boolean | undefined {
  if (isUnknown(document)) return undefined;
  let doc: unknown = document;
  if (typeof document === "string") {
    try {
      doc = JSON.parse(document);
    } catch {
      return false;
    }
  }
  const statements = asArray(get(doc, "Statement") ?? get(doc, "statements"));
  return statements.some((s) => {
    const effect = get(s, "Effect") ?? get(s, "effect");
    const principal = get(s, "Principal") ?? get(s, "principals");
    const action = get(s, "Action") ?? get(s, "actions");
    const secure = get(s, "Condition", "Bool", "aws:SecureTransport");
    const anyone = principal === "*" || get(principal, "AWS") === "*";
    const allActions = action === "s3:*" || asArray(action).includes("s3:*");
    return effect === "Deny" && anyone && allActions && String(secure) === "false";
  });
}

/** The settings that decide whether an RDS Postgres instance forces TLS. */
function rdsForceSslProblem(instance: PolicyResource, groups: readonly PolicyResource[]): Finding | undefined {
  const p = instance.props;
  if (isUnknown(p.engine)) return cannotVerify("engine", "TLS in transit");
  if (typeof p.engine !== "string" || !p.engine.startsWith("postgres")) return undefined;
  const groupName = p.parameterGroupName;
  if (groupName === undefined || (typeof groupName === "string" && groupName.startsWith("default."))) {
    const major = majorVersion(typeof groupName === "string" ? groupName : p.engineVersion);
    if (isUnknown(p.engineVersion) && groupName === undefined)
      return cannotVerify("engineVersion", "that rds.force_ssl defaults to 1");
    if (major === undefined)
      return finding(
        "engineVersion is unset and no parameter group is given, so rds.force_ssl is whatever the engine version RDS picks defaults to",
        `pin engineVersion to ${FORCE_SSL_DEFAULT_FROM} or later, or ${FORCE_SSL_FIX}`,
      );
    return major < FORCE_SSL_DEFAULT_FROM
      ? finding(
          `uses the default parameter group of PostgreSQL ${major}, where rds.force_ssl defaults to 0 and clients may connect without TLS`,
          FORCE_SSL_FIX,
        )
      : undefined;
  }
  // Unknown at preview: the group the name comes from (by property dependency, else by dependency).
  const byProperty = instance.propertyDependencies?.parameterGroupName ?? [];
  const candidates = isUnknown(groupName)
    ? (byProperty.length > 0 ? byProperty : (instance.dependencies ?? [])).filter((d) => d.type === RDS_PARAMETER_GROUP)
    : groups.filter((g) => g.props.name === groupName || g.name === groupName);
  if (candidates.length === 0) {
    return isUnknown(groupName)
      ? cannotVerify("parameterGroupName", "TLS in transit")
      : finding(
          `parameter group ${show(groupName)} is not managed by this stack, so rds.force_ssl cannot be verified`,
          `manage the parameter group in this stack and ${FORCE_SSL_FIX}`,
        );
  }
  for (const group of candidates) {
    // An explicit value is checked on the parameter group itself.
    if (asArray(group.props.parameters).some((x) => get(x, "name") === "rds.force_ssl")) continue;
    const major = majorVersion(group.props.family);
    if (major === undefined)
      return cannotVerify(`parameter group ${group.name} family`, "that rds.force_ssl defaults to 1");
    if (major < FORCE_SSL_DEFAULT_FROM)
      return finding(
        `parameter group ${group.name} (${show(group.props.family)}) does not set rds.force_ssl, which defaults to 0 before PostgreSQL ${FORCE_SSL_DEFAULT_FROM}`,
        FORCE_SSL_FIX,
      );
  }
  return undefined;
}

export const encryptionAtRestAndInTransit: PolicyDefinition = {
  name: "encryption-at-rest-and-in-transit",
  description:
    "Data services encrypt at rest and in transit wherever the cloud lets us choose: RDS storage and forced TLS (rds.force_ssl, explicit or by default), " +
    "ElastiCache at rest and required TLS, every S3 bucket with a default-encryption configuration and a TLS-only bucket policy, Cloud SQL sslMode, " +
    "Memorystore (instance and cluster) TLS, and Kubernetes Secrets in EKS/GKE etcd. GCS and Cloud SQL storage are always encrypted.",
  remediationSteps:
    "RDS: storageEncrypted: true (optionally kmsKeyId) and rds.force_ssl=1 (a parameter group, or PostgreSQL 15+ whose default is 1). ElastiCache: " +
    'atRestEncryptionEnabled and transitEncryptionEnabled true, transitEncryptionMode not "preferred". S3: a BucketServerSideEncryptionConfiguration ' +
    "with aws:kms (or AES256) and a BucketPolicy denying aws:SecureTransport=false for every bucket. Cloud SQL: settings.ipConfiguration.sslMode " +
    "ENCRYPTED_ONLY. Memorystore: transitEncryptionMode SERVER_AUTHENTICATION (cluster: TRANSIT_ENCRYPTION_MODE_SERVER_AUTHENTICATION). EKS: " +
    'encryptionConfig { resources: ["secrets"], provider.keyArn }; GKE: databaseEncryption ENCRYPTED with a key.',
  severity: "high",
  validateResource: (args, report) => {
    const check = CHECKS[args.type];
    if (!check) return;
    for (const problem of check(args.props)) if (problem) report(`${args.type} ${args.name}`, problem);
  },
  validateStack: (args, report) => {
    const buckets = args.resources.filter((r) => S3_BUCKETS.has(r.type));
    const encrypted = new Set(
      args.resources.filter((r) => SSE_CONFIGS.has(r.type)).flatMap((r) => bucketsCovered(r, buckets)),
    );
    const documents = new Map<PolicyResource, unknown[]>();
    for (const p of args.resources.filter((r) => r.type === BUCKET_POLICY)) {
      for (const b of bucketsCovered(p, buckets)) documents.set(b, [...(documents.get(b) ?? []), p.props.policy]);
    }
    for (const bucket of buckets) {
      const subject = `S3 bucket ${bucket.name}`;
      const inlineSse = get(
        bucket.props,
        "serverSideEncryptionConfiguration",
        "rule",
        "applyServerSideEncryptionByDefault",
        "sseAlgorithm",
      );
      if (!encrypted.has(bucket) && !SSE_ALGORITHMS.has(String(inlineSse))) {
        report(
          subject,
          finding(
            "has no server-side encryption configuration in this stack",
            'add a BucketServerSideEncryptionConfiguration for it with sseAlgorithm "aws:kms" and the stack\'s KMS key',
          ),
          bucket.urn,
        );
      }
      const verdicts = [
        ...(documents.get(bucket) ?? []),
        ...(bucket.props.policy !== undefined ? [bucket.props.policy] : []),
      ].map(deniesInsecureTransport);
      if (verdicts.includes(true)) continue;
      if (verdicts.includes(undefined))
        report(subject, cannotVerify("its bucket policy document", "that it denies requests without TLS"), bucket.urn);
      else
        report(
          subject,
          finding(
            "has no bucket policy denying requests without TLS (aws:SecureTransport = false)",
            TLS_ONLY_POLICY_FIX,
          ),
          bucket.urn,
        );
    }
    const groups = args.resources.filter((r) => r.type === RDS_PARAMETER_GROUP);
    for (const instance of args.resources.filter((r) => r.type === RDS_INSTANCE)) {
      const problem = rdsForceSslProblem(instance, groups);
      if (problem) report(`${RDS_INSTANCE} ${instance.name}`, problem, instance.urn);
    }
  },
};
