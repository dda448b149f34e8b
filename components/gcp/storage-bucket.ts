import * as gcp from "@pulumi/gcp";
import * as pulumi from "@pulumi/pulumi";
import { STORAGE_NONCURRENT_DAYS } from "../retention";
import { ObjectStoreEndpoint } from "../endpoints";
import { gcsLocation, hardenedGcsBucket } from "./backup-bucket";

/** The GCS twin of the S3 storage lifecycle: live objects never expire, noncurrent versions after STORAGE_NONCURRENT_DAYS. Pure. */
export function gcsStorageLifecycleRules(): gcp.types.input.storage.BucketLifecycleRule[] {
  return [
    {
      action: { type: "Delete" },
      condition: { daysSinceNoncurrentTime: STORAGE_NONCURRENT_DAYS, withState: "ARCHIVED" },
    },
    { action: { type: "AbortIncompleteMultipartUpload" }, condition: { age: 7 } },
  ];
}

export interface GcsStorageBucketArgs {
  /** Region of the bucket. Required. */
  readonly region: string;
  /** Project id, prefixing the globally unique bucket name. Required. */
  readonly projectId: pulumi.Input<string>;
  /** CMEK key in `region`; Cloud Storage's service agent must be granted it. Default: Google-managed encryption. */
  readonly kmsKeyId?: pulumi.Input<string>;
  /** Allow `pulumi destroy` to delete a non-empty bucket. Default: false. */
  readonly forceDestroy?: boolean;
  /** What the bucket waits for, such as the key grant. Default: nothing. */
  readonly dependsOn?: pulumi.Resource[];
}

/**
 * The GCS bucket where Supabase Storage keeps user files, apart from the backup bucket so that user
 * files never meet the backup expiry: hardened like the backups (single Canadian region, uniform
 * access, public access prevention, versioning, CMEK) with gcsStorageLifecycleRules.
 */
export class GcsStorageBucket extends pulumi.ComponentResource {
  readonly bucket: pulumi.Output<string>;
  readonly endpoint: ObjectStoreEndpoint;

  constructor(name: string, args: GcsStorageBucketArgs, opts?: pulumi.ComponentResourceOptions) {
    const location = gcsLocation(args.region);
    super("northstack:gcp:StorageBucket", name, {}, opts);
    const bucket = hardenedGcsBucket(this, name, {
      projectId: args.projectId,
      location,
      forceDestroy: args.forceDestroy ?? false,
      lifecycleRules: gcsStorageLifecycleRules(),
      kmsKeyId: args.kmsKeyId,
      dependsOn: args.dependsOn,
    });
    this.bucket = bucket.name;
    this.endpoint = { kind: "gcs", bucket: this.bucket, region: args.region };
    this.registerOutputs({ bucket: this.bucket });
  }
}
