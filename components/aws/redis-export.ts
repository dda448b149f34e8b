/**
 * The copy of ElastiCache's daily snapshots in the DR region (ca-west-1): what exists in the cloud.
 * The scheduled job that fills it is components/redis-export.ts.
 *
 * ElastiCache copies snapshots only within their region; the way across is an export
 * (`CopySnapshot --target-bucket`) to an S3 bucket in the snapshot's region, which then replicates.
 * In the regions opened before 2019, ca-central-1 among them, ElastiCache writes the export as its
 * own AWS account, admitted by an ACL grant to its canonical user on the bucket: the export bucket
 * is the one bucket of the stack with ACLs enabled. For the same reason it is SSE-S3: ElastiCache's
 * account cannot use our KMS key. The export is transient there: the job copies it, SSE-KMS with
 * the stack key, to the fixed key `daily/redis.rdb`, whose newest 7 versions the lifecycle keeps
 * (the same count-based retention as the dumps, BACKUP_RETENTION), and only `daily/` replicates.
 *
 * ca-west-1 is an opt-in region, where ElastiCache reads a seed .rdb through a bucket policy for its
 * regional service principal instead of ACLs: the DR bucket stays ACL-free and SSE-KMS, and admits
 * ElastiCache to `restore/` only, where a restore copies the chosen version as SSE-S3.
 */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { REDIS_DR_KEY, REDIS_EXPORT_PREFIX } from "../redis-export";
import { BACKUP_RETENTION } from "../retention";
import {
  HardenedS3Bucket,
  KeptPrefix,
  denyInsecureTransportPolicy,
  hardenedS3Bucket,
  replicateBucket,
  s3LifecycleRules,
} from "./backup-bucket";

/** ElastiCache's canonical user, the grantee of exports in regions opened before 2019 (ca-central-1). */
export const ELASTICACHE_EXPORT_CANONICAL_ID = "540804c33a284a299d2547575ce1010f2312ef3da9b3a053c8bc45bf233e4353";
/** The bucket ACL permissions an export needs: list, write objects, read the ACL. */
export const ELASTICACHE_EXPORT_PERMISSIONS = ["READ", "WRITE", "READ_ACP"] as const;

/** The kept count of REDIS_DR_KEY's versions: the 7 daily copies of BACKUP_RETENTION. */
export const REDIS_DR_RETENTION: readonly KeptPrefix[] = BACKUP_RETENTION.prefixes.filter((p) => p.prefix === "daily/");
/** Where a restore in the DR region puts the version it seeds from, readable by ElastiCache there. */
export const REDIS_RESTORE_PREFIX = "restore/";

/**
 * Lifecycle of the export bucket: the kept versions of REDIS_DR_KEY; a transient export that a
 * failed run left behind goes after a day. Pure.
 */
export function redisExportLifecycleRules(): aws.types.input.s3.BucketLifecycleConfigurationRule[] {
  return [
    ...s3LifecycleRules(REDIS_DR_RETENTION),
    {
      id: "expire-transient-exports",
      status: "Enabled",
      filter: { prefix: REDIS_EXPORT_PREFIX },
      expiration: { days: 1 },
      noncurrentVersionExpiration: { noncurrentDays: 1 },
    },
  ];
}

/** Lifecycle of the DR bucket: the kept versions of REDIS_DR_KEY; restore copies go after a week. Pure. */
export function redisDrLifecycleRules(): aws.types.input.s3.BucketLifecycleConfigurationRule[] {
  return [
    ...s3LifecycleRules(REDIS_DR_RETENTION),
    {
      id: "expire-restore-copies",
      status: "Enabled",
      filter: { prefix: REDIS_RESTORE_PREFIX },
      expiration: { days: 7 },
      noncurrentVersionExpiration: { noncurrentDays: 1 },
    },
  ];
}

/** The export bucket's ACL: full control for its owner, the export permissions for ElastiCache. Pure. */
export function elastiCacheExportAcl(ownerId: string): aws.types.input.s3.BucketAclAccessControlPolicy {
  return {
    owner: { id: ownerId },
    grants: [
      { grantee: { type: "CanonicalUser", id: ownerId }, permission: "FULL_CONTROL" },
      ...ELASTICACHE_EXPORT_PERMISSIONS.map((permission) => ({
        grantee: { type: "CanonicalUser", id: ELASTICACHE_EXPORT_CANONICAL_ID },
        permission,
      })),
    ],
  };
}

/**
 * The DR bucket's policy statements after the TLS-only one: ElastiCache in `region` may read the
 * restore copies (and list and read the bucket's ACL, which a seed needs), on behalf of this account
 * only. Pure.
 */
export function elastiCacheSeedStatements(bucketArn: string, region: string, accountId: string): object[] {
  const principal = { Service: `${region}.elasticache-snapshot.amazonaws.com` };
  const condition = { StringEquals: { "aws:SourceAccount": accountId } };
  return [
    {
      Sid: "ElastiCacheListsForSeed",
      Effect: "Allow",
      Principal: principal,
      Action: ["s3:ListBucket", "s3:GetBucketAcl"],
      Resource: bucketArn,
      Condition: condition,
    },
    {
      Sid: "ElastiCacheReadsRestoreCopies",
      Effect: "Allow",
      Principal: principal,
      Action: "s3:GetObject",
      Resource: `${bucketArn}/${REDIS_RESTORE_PREFIX}*`,
      Condition: condition,
    },
  ];
}

export interface RedisExportJobScope {
  /** Region of the replication group and the export bucket. */
  readonly region: string;
  readonly accountId: string;
  /** The replication group whose automatic snapshots are exported. */
  readonly replicationGroupId: string;
  readonly bucketArn: string;
  /** The stack key the kept copies are encrypted with. */
  readonly kmsKeyArn: string;
}

/**
 * Least privilege for the export job. ElastiCache: read the group's snapshots, copy its automatic
 * ones to export copies of its own, delete those copies; CopySnapshot with a target bucket also
 * needs s3:ListAllMyBuckets (an account-level action: no resource narrower than "*") and the bucket's
 * location. S3: list and read the transient exports and delete their versions (nothing else may be
 * deleted: the lifecycle does the retention), write the kept key and read it back. Pure.
 */
export function redisExportJobPolicy(s: RedisExportJobScope): aws.iam.PolicyDocument {
  const snapshot = (name: string) => `arn:aws:elasticache:${s.region}:${s.accountId}:snapshot:${name}`;
  const exports = `${REDIS_EXPORT_PREFIX}${s.replicationGroupId}-`;
  return {
    Version: "2012-10-17",
    Statement: [
      { Sid: "DescribeSnapshots", Effect: "Allow", Action: "elasticache:DescribeSnapshots", Resource: snapshot("*") },
      {
        Sid: "ExportAutomaticSnapshots",
        Effect: "Allow",
        Action: "elasticache:CopySnapshot",
        Resource: [snapshot(`automatic.${s.replicationGroupId}-*`), snapshot(`${exports}*`)],
      },
      {
        Sid: "DeleteExportCopies",
        Effect: "Allow",
        Action: "elasticache:DeleteSnapshot",
        Resource: snapshot(`${exports}*`),
      },
      { Sid: "ExportFindsBuckets", Effect: "Allow", Action: "s3:ListAllMyBuckets", Resource: "*" },
      { Sid: "ExportBucketLocation", Effect: "Allow", Action: "s3:GetBucketLocation", Resource: s.bucketArn },
      {
        Sid: "ListExports",
        Effect: "Allow",
        Action: "s3:ListBucket",
        Resource: s.bucketArn,
        Condition: { StringLike: { "s3:prefix": [`${exports}*`] } },
      },
      {
        Sid: "ReadAndDropExports",
        Effect: "Allow",
        Action: ["s3:GetObject", "s3:DeleteObjectVersion"],
        Resource: `${s.bucketArn}/${exports}*`,
      },
      {
        Sid: "WriteKeptCopy",
        Effect: "Allow",
        Action: ["s3:PutObject", "s3:GetObject", "s3:AbortMultipartUpload"],
        Resource: `${s.bucketArn}/${REDIS_DR_KEY}`,
      },
      { Sid: "StackKey", Effect: "Allow", Action: ["kms:GenerateDataKey", "kms:Decrypt"], Resource: s.kmsKeyArn },
    ],
  };
}

export interface RedisExportBucketsArgs {
  /** Export bucket name (s3BucketName), in the replication group's region. Required. */
  readonly bucketName: pulumi.Input<string>;
  /** Its replica's name, in the DR region. Required. */
  readonly drBucketName: pulumi.Input<string>;
  /** The stack key in the primary region: the kept copies are SSE-KMS with it. Required. */
  readonly kmsKeyArn: pulumi.Input<string>;
  /** KMS key in the DR region for the replica bucket. Required. */
  readonly drKmsKeyArn: pulumi.Input<string>;
  /** The primary region, reported in the endpoint. Required. */
  readonly region: string;
  /** Provider of the DR region. Required. */
  readonly drProvider: aws.Provider;
  /** The DR provider's region (ElastiCache's seed principal there). Required. */
  readonly drRegion: string;
  /** Account that owns both buckets: only ElastiCache acting for it may read restore copies. Required. */
  readonly accountId: pulumi.Input<string>;
  /** Allow `pulumi destroy` to delete non-empty buckets. Default: false. */
  readonly forceDestroy?: boolean;
}

/** Throws with every problem in the arguments, before any resource is registered. */
export function validateRedisExportBucketsArgs(args: Pick<RedisExportBucketsArgs, "region" | "drRegion">): void {
  if (args.region === args.drRegion) {
    throw new Error(
      `Redis export buckets: drRegion ${JSON.stringify(args.drRegion)} equals region; the replica must be in the other Canadian region`,
    );
  }
}

/**
 * The export bucket (primary region, ACLs for ElastiCache, SSE-S3, versioned, private, TLS-only)
 * replicating `daily/` to a hardened SSE-KMS bucket in the DR region; both keep the newest 7
 * versions of REDIS_DR_KEY.
 */
export class RedisExportBuckets extends pulumi.ComponentResource {
  readonly bucket: pulumi.Output<string>;
  readonly arn: pulumi.Output<string>;
  readonly drBucket: pulumi.Output<string>;

  constructor(name: string, args: RedisExportBucketsArgs, opts?: pulumi.ComponentResourceOptions) {
    validateRedisExportBucketsArgs(args);
    super("northstack:aws:RedisExportBuckets", name, {}, opts);
    const forceDestroy = args.forceDestroy ?? false;
    const source = this.exportBucket(name, args.bucketName, forceDestroy);
    const accountId = pulumi.output(args.accountId);
    const replica = hardenedS3Bucket(this, `${name}-dr`, {
      bucketName: args.drBucketName,
      kmsKeyArn: args.drKmsKeyArn,
      forceDestroy,
      lifecycleRules: redisDrLifecycleRules(),
      provider: args.drProvider,
      policyStatements: (arn) => accountId.apply((id) => elastiCacheSeedStatements(arn, args.drRegion, id)),
    });
    replicateBucket(this, name, {
      source,
      replica,
      sourceKeyArn: args.kmsKeyArn,
      replicaKeyArn: args.drKmsKeyArn,
      description: "S3 replication of the northstack Redis snapshot copies to the DR region",
      prefix: "daily/",
    });
    this.bucket = source.name;
    this.arn = source.arn;
    this.drBucket = replica.name;
    this.registerOutputs({ bucket: this.bucket, drBucket: this.drBucket });
  }

  private exportBucket(name: string, bucketName: pulumi.Input<string>, forceDestroy: boolean): HardenedS3Bucket {
    const nameOut = pulumi.output(bucketName);
    const resource = new aws.s3.Bucket(name, { bucket: nameOut, forceDestroy }, { parent: this });
    const opts = { parent: this, dependsOn: [resource] };
    // Grants to a canonical user are not public: every public-access setting stays on.
    const publicAccess = new aws.s3.BucketPublicAccessBlock(
      `${name}-public-access`,
      {
        bucket: nameOut,
        blockPublicAcls: true,
        blockPublicPolicy: true,
        ignorePublicAcls: true,
        restrictPublicBuckets: true,
      },
      opts,
    );
    // ACLs enabled, and an object written with bucket-owner-full-control becomes the stack's.
    const ownership = new aws.s3.BucketOwnershipControls(
      `${name}-ownership`,
      { bucket: nameOut, rule: { objectOwnership: "BucketOwnerPreferred" } },
      opts,
    );
    const owner = aws.s3.getCanonicalUserIdOutput({ parent: this });
    new aws.s3.BucketAcl(
      `${name}-elasticache-grant`,
      { bucket: nameOut, accessControlPolicy: owner.id.apply(elastiCacheExportAcl) },
      { parent: this, dependsOn: [resource, ownership, publicAccess] },
    );
    const versioning = new aws.s3.BucketVersioning(
      `${name}-versioning`,
      { bucket: nameOut, versioningConfiguration: { status: "Enabled" } },
      opts,
    );
    new aws.s3.BucketServerSideEncryptionConfiguration(
      `${name}-sse`,
      { bucket: nameOut, rules: [{ applyServerSideEncryptionByDefault: { sseAlgorithm: "AES256" } }] },
      opts,
    );
    const arn = nameOut.apply((n) => `arn:aws:s3:::${n}`);
    new aws.s3.BucketPolicy(
      `${name}-tls-only`,
      { bucket: nameOut, policy: arn.apply((a) => denyInsecureTransportPolicy(a)) },
      opts,
    );
    new aws.s3.BucketLifecycleConfiguration(
      `${name}-lifecycle`,
      { bucket: nameOut, rules: redisExportLifecycleRules() },
      { parent: this, dependsOn: [resource, versioning] },
    );
    return { resource, versioning, name: nameOut, arn };
  }
}
