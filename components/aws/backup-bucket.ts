import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { BACKUP_RETENTION } from "../retention";
import { ObjectStoreEndpoint } from "../endpoints";

/** A prefix of fixed keys whose newest `keep` versions a bucket keeps (BACKUP_RETENTION explains why counts). */
export interface KeptPrefix {
  readonly prefix: string;
  readonly keep: number;
}

/** The S3 lifecycle rules that implement BACKUP_RETENTION, or the given counts. Pure. */
export function s3LifecycleRules(
  prefixes: readonly KeptPrefix[] = BACKUP_RETENTION.prefixes,
): aws.types.input.s3.BucketLifecycleConfigurationRule[] {
  return [
    // No rule expires current versions, and no catch-all noncurrent rule overlaps these: S3 applies
    // the earliest expiry of overlapping rules, which would bring back deletion by age.
    ...prefixes.map(({ prefix, keep }) => ({
      id: `keep-${keep}-${prefix.replace("/", "")}`,
      status: "Enabled",
      filter: { prefix },
      noncurrentVersionExpiration: {
        noncurrentDays: BACKUP_RETENTION.noncurrentDays,
        newerNoncurrentVersions: keep - 1,
      },
    })),
    {
      id: "abort-incomplete-uploads",
      status: "Enabled",
      filter: {},
      abortIncompleteMultipartUpload: { daysAfterInitiation: 1 },
    },
  ];
}

const S3_BUCKET_NAME = /^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$/;

/**
 * The stack's name for one of its S3 buckets: `northstack-<stack>-<purpose>-<account id>`, unique
 * across AWS because of the account id. A fixed name keeps the TLS-only bucket policy, which must
 * name the bucket, known at preview: an auto-name (and so the ARN) exists only after creation, and
 * the policy pack refuses a bucket policy it cannot read. Throws, naming the stack, when the result
 * is not a valid bucket name. Pure.
 */
export function s3BucketName(stack: string, purpose: string, accountId: string): string {
  const name = `northstack-${stack.toLowerCase().replace(/[^a-z0-9-]+/g, "-")}-${purpose}-${accountId}`;
  if (!S3_BUCKET_NAME.test(name) || name.includes("--")) {
    throw new Error(
      `S3 bucket name ${JSON.stringify(name)} for stack ${JSON.stringify(stack)} is not a valid bucket name (3-63 lower-case letters, digits and single '-'); use a shorter stack name`,
    );
  }
  return name;
}

/** Bucket policy refusing every request made without TLS, then the given statements. Pure. */
export function denyInsecureTransportPolicy(bucketArn: string, statements: readonly object[] = []): string {
  return JSON.stringify({
    Version: "2012-10-17",
    Statement: [
      {
        Sid: "DenyInsecureTransport",
        Effect: "Deny",
        Principal: "*",
        Action: "s3:*",
        Resource: [bucketArn, `${bucketArn}/*`],
        Condition: { Bool: { "aws:SecureTransport": "false" } },
      },
      ...statements,
    ],
  });
}

export interface BackupBucketArgs {
  /** Bucket name, known at preview (see s3BucketName). Required. */
  readonly bucketName: pulumi.Input<string>;
  /** KMS key (in the bucket's region) for SSE-KMS. Required. */
  readonly kmsKeyArn: pulumi.Input<string>;
  /** The region of the provider in `opts`, reported in the endpoint. Required. */
  readonly region: string;
  /** Replicate every object to a bucket created with this provider (the DR region). Default: no replica. */
  readonly drProvider?: aws.Provider;
  /** The DR provider's region, e.g. ca-west-1; required with drProvider. */
  readonly drRegion?: string;
  /** KMS key in the DR region for the replica bucket; required with drProvider. */
  readonly drKmsKeyArn?: pulumi.Input<string>;
  /** Name of the replica bucket; required with drProvider. */
  readonly drBucketName?: pulumi.Input<string>;
  /** Allow `pulumi destroy` to delete a non-empty bucket. Default: false. */
  readonly forceDestroy?: boolean;
}

/** Throws with every problem in the arguments, before any resource is registered. */
export function validateBackupBucketArgs(args: BackupBucketArgs): void {
  const dr = [args.drProvider, args.drRegion, args.drKmsKeyArn, args.drBucketName].filter(Boolean).length;
  const problems: string[] = [];
  if (dr !== 0 && dr !== 4) problems.push("drProvider, drRegion, drKmsKeyArn and drBucketName: give all four or none");
  if (args.drRegion !== undefined && args.drRegion === args.region) {
    problems.push(
      `drRegion ${JSON.stringify(args.drRegion)} equals region; the replica must be in the other Canadian region`,
    );
  }
  if (problems.length) throw new Error(`S3 backup bucket: ${problems.join("; ")}`);
}

export interface HardenedS3BucketArgs {
  /** Bucket name, known at preview so that the TLS-only policy is too. Required. */
  readonly bucketName: pulumi.Input<string>;
  /** KMS key (in the bucket's region) for SSE-KMS. Required. */
  readonly kmsKeyArn: pulumi.Input<string>;
  /** Allow `pulumi destroy` to delete a non-empty bucket. Required. */
  readonly forceDestroy: boolean;
  /** Lifecycle rules; they wait for versioning. Required. */
  readonly lifecycleRules: aws.types.input.s3.BucketLifecycleConfigurationRule[];
  /** Provider of the bucket's region. Default: the parent's. */
  readonly provider?: aws.Provider;
  /** Statements the bucket policy holds after the TLS-only one, given the bucket's ARN. Default: none. */
  readonly policyStatements?: (bucketArn: string) => pulumi.Output<object[]>;
}

/** A bucket made by hardenedS3Bucket. `name` and `arn` are known at preview, unlike the resource's outputs. */
export interface HardenedS3Bucket {
  readonly resource: aws.s3.Bucket;
  readonly versioning: aws.s3.BucketVersioning;
  readonly name: pulumi.Output<string>;
  readonly arn: pulumi.Output<string>;
}

/**
 * An S3 bucket hardened the northstack way, as children of `parent`: versioned, SSE-KMS with a bucket
 * key, all public access blocked, ACLs disabled, TLS-only, and the given lifecycle. The companion
 * resources name the bucket by its fixed name (and depend on it), so a preview, and the policy pack,
 * sees which bucket each one protects before the bucket exists.
 */
export function hardenedS3Bucket(parent: pulumi.Resource, name: string, args: HardenedS3BucketArgs): HardenedS3Bucket {
  const bucketName = pulumi.output(args.bucketName);
  const resource = new aws.s3.Bucket(
    name,
    { bucket: bucketName, forceDestroy: args.forceDestroy },
    { parent, provider: args.provider },
  );
  const opts = { parent, provider: args.provider, dependsOn: [resource] };
  new aws.s3.BucketPublicAccessBlock(
    `${name}-public-access`,
    {
      bucket: bucketName,
      blockPublicAcls: true,
      blockPublicPolicy: true,
      ignorePublicAcls: true,
      restrictPublicBuckets: true,
    },
    opts,
  );
  new aws.s3.BucketOwnershipControls(
    `${name}-ownership`,
    { bucket: bucketName, rule: { objectOwnership: "BucketOwnerEnforced" } },
    opts,
  );
  const versioning = new aws.s3.BucketVersioning(
    `${name}-versioning`,
    { bucket: bucketName, versioningConfiguration: { status: "Enabled" } },
    opts,
  );
  new aws.s3.BucketServerSideEncryptionConfiguration(
    `${name}-sse`,
    {
      bucket: bucketName,
      rules: [
        {
          applyServerSideEncryptionByDefault: { sseAlgorithm: "aws:kms", kmsMasterKeyId: args.kmsKeyArn },
          bucketKeyEnabled: true,
        },
      ],
    },
    opts,
  );
  const arn = bucketName.apply((n) => `arn:aws:s3:::${n}`);
  const statements = args.policyStatements;
  const policy = statements
    ? arn.apply((a) => statements(a).apply((more) => denyInsecureTransportPolicy(a, more)))
    : arn.apply((a) => denyInsecureTransportPolicy(a));
  new aws.s3.BucketPolicy(`${name}-tls-only`, { bucket: bucketName, policy }, opts);
  new aws.s3.BucketLifecycleConfiguration(
    `${name}-lifecycle`,
    { bucket: bucketName, rules: args.lifecycleRules },
    { ...opts, dependsOn: [resource, versioning] },
  );
  return { resource, versioning, name: bucketName, arn };
}

/**
 * The stack's S3 bucket for database backups (Supabase Storage has its own StorageBucket): hardened
 * by hardenedS3Bucket, with the BACKUP_RETENTION lifecycle. With a DR provider, a bucket hardened
 * the same way in the DR region receives a replica of every object version, and keeps the same count.
 */
export class BackupBucket extends pulumi.ComponentResource {
  readonly bucket: pulumi.Output<string>;
  readonly arn: pulumi.Output<string>;
  readonly drBucket?: pulumi.Output<string>;
  readonly endpoint: ObjectStoreEndpoint;

  constructor(name: string, args: BackupBucketArgs, opts?: pulumi.ComponentResourceOptions) {
    validateBackupBucketArgs(args);
    super("northstack:aws:BackupBucket", name, {}, opts);
    const primary = this.hardenedBucket(name, args.bucketName, args.kmsKeyArn, args.forceDestroy ?? false);
    this.bucket = primary.name;
    this.arn = primary.arn;

    if (args.drProvider && args.drKmsKeyArn && args.drBucketName) {
      const replica = this.hardenedBucket(
        `${name}-dr`,
        args.drBucketName,
        args.drKmsKeyArn,
        args.forceDestroy ?? false,
        args.drProvider,
      );
      replicateBucket(this, name, {
        source: primary,
        replica,
        sourceKeyArn: args.kmsKeyArn,
        replicaKeyArn: args.drKmsKeyArn,
        description: "S3 replication of the northstack backup bucket to its DR copy",
      });
      this.drBucket = replica.name;
    }

    this.endpoint = { kind: "s3", bucket: this.bucket, region: args.region };
    this.registerOutputs({ bucket: this.bucket, drBucket: this.drBucket });
  }

  private hardenedBucket(
    name: string,
    bucketName: pulumi.Input<string>,
    kmsKeyArn: pulumi.Input<string>,
    forceDestroy: boolean,
    provider?: aws.Provider,
  ) {
    return hardenedS3Bucket(this, name, {
      bucketName,
      kmsKeyArn,
      forceDestroy,
      lifecycleRules: s3LifecycleRules(),
      provider,
    });
  }
}

export interface BucketReplicationArgs {
  /** The versioned source bucket. Required. */
  readonly source: HardenedS3Bucket;
  /** The versioned bucket in the DR region that receives every new version. Required. */
  readonly replica: HardenedS3Bucket;
  /** KMS key of the source's SSE-KMS objects. Required. */
  readonly sourceKeyArn: pulumi.Input<string>;
  /** KMS key (in the replica's region) the replicas are encrypted with. Required. */
  readonly replicaKeyArn: pulumi.Input<string>;
  /** The replication role's description. Required. */
  readonly description: string;
  /** Replicate only keys under this prefix. Default: every key. */
  readonly prefix?: string;
}

/**
 * S3 replication of `source` to `replica`, as children of `parent`: a role only S3 may assume, allowed
 * to read the source's versions and write replicas, and the replication rule (deletions replicate as
 * delete markers, so a replica keeps what the source's lifecycle keeps).
 */
export function replicateBucket(parent: pulumi.Resource, name: string, args: BucketReplicationArgs): void {
  const { source, replica, sourceKeyArn, replicaKeyArn } = args;
  const role = new aws.iam.Role(
    `${name}-replication`,
    {
      description: args.description,
      assumeRolePolicy: JSON.stringify({
        Version: "2012-10-17",
        Statement: [{ Effect: "Allow", Principal: { Service: "s3.amazonaws.com" }, Action: "sts:AssumeRole" }],
      }),
    },
    { parent },
  );
  new aws.iam.RolePolicy(
    `${name}-replication`,
    {
      role: role.id,
      policy: pulumi.jsonStringify({
        Version: "2012-10-17",
        Statement: [
          { Effect: "Allow", Action: ["s3:GetReplicationConfiguration", "s3:ListBucket"], Resource: source.arn },
          {
            Effect: "Allow",
            Action: ["s3:GetObjectVersionForReplication", "s3:GetObjectVersionAcl", "s3:GetObjectVersionTagging"],
            Resource: pulumi.interpolate`${source.arn}/*`,
          },
          {
            Effect: "Allow",
            Action: ["s3:ReplicateObject", "s3:ReplicateDelete", "s3:ReplicateTags"],
            Resource: pulumi.interpolate`${replica.arn}/*`,
          },
          { Effect: "Allow", Action: ["kms:Decrypt"], Resource: sourceKeyArn },
          { Effect: "Allow", Action: ["kms:Encrypt", "kms:GenerateDataKey"], Resource: replicaKeyArn },
        ],
      }),
    },
    { parent },
  );
  new aws.s3.BucketReplicationConfig(
    `${name}-replication`,
    {
      bucket: source.name,
      role: role.arn,
      rules: [
        {
          id: "dr-copy",
          status: "Enabled",
          filter: args.prefix === undefined ? {} : { prefix: args.prefix },
          deleteMarkerReplication: { status: "Enabled" },
          sourceSelectionCriteria: { sseKmsEncryptedObjects: { status: "Enabled" } },
          // STANDARD: backups expire within a month, and STANDARD_IA bills 30 days per object.
          destination: {
            bucket: replica.arn,
            storageClass: "STANDARD",
            encryptionConfiguration: { replicaKmsKeyId: replicaKeyArn },
          },
        },
      ],
    },
    { parent, dependsOn: [source.resource, source.versioning, replica.resource, replica.versioning] },
  );
}
