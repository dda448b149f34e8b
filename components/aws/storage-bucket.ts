import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { ObjectStoreEndpoint } from "../endpoints";
import { STORAGE_NONCURRENT_DAYS } from "../retention";
import { hardenedS3Bucket } from "./backup-bucket";

/**
 * Lifecycle of user files: current objects never expire; noncurrent versions go after
 * STORAGE_NONCURRENT_DAYS, then their leftover delete markers, and abandoned multipart uploads after a week. Pure.
 */
export function storageLifecycleRules(): aws.types.input.s3.BucketLifecycleConfigurationRule[] {
  return [
    {
      id: "noncurrent-and-cleanup",
      status: "Enabled",
      filter: {},
      noncurrentVersionExpiration: { noncurrentDays: STORAGE_NONCURRENT_DAYS },
      expiration: { expiredObjectDeleteMarker: true },
      abortIncompleteMultipartUpload: { daysAfterInitiation: 7 },
    },
  ];
}

export interface StorageBucketArgs {
  /** Bucket name, known at preview (see s3BucketName). Required. */
  readonly bucketName: pulumi.Input<string>;
  /** KMS key (in the bucket's region) for SSE-KMS. Required. */
  readonly kmsKeyArn: pulumi.Input<string>;
  /** The region of the provider in `opts`, reported in the endpoint. Required. */
  readonly region: string;
  /** Allow `pulumi destroy` to delete a non-empty bucket. Default: false. */
  readonly forceDestroy?: boolean;
}

/**
 * The S3 bucket where Supabase Storage keeps user files, apart from the backup bucket so that user
 * files never meet the backup expiry: hardened like the backups (versioning, SSE-KMS, public access
 * blocked, TLS-only) with the storageLifecycleRules.
 */
export class StorageBucket extends pulumi.ComponentResource {
  readonly bucket: pulumi.Output<string>;
  readonly arn: pulumi.Output<string>;
  readonly endpoint: ObjectStoreEndpoint;

  constructor(name: string, args: StorageBucketArgs, opts?: pulumi.ComponentResourceOptions) {
    super("northstack:aws:StorageBucket", name, {}, opts);
    const bucket = hardenedS3Bucket(this, name, {
      bucketName: args.bucketName,
      kmsKeyArn: args.kmsKeyArn,
      forceDestroy: args.forceDestroy ?? false,
      lifecycleRules: storageLifecycleRules(),
    });
    this.bucket = bucket.name;
    this.arn = bucket.arn;
    this.endpoint = { kind: "s3", bucket: this.bucket, region: args.region };
    this.registerOutputs({ bucket: this.bucket });
  }
}
