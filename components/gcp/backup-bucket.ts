import * as gcp from "@pulumi/gcp";
import * as pulumi from "@pulumi/pulumi";
import { BACKUP_RETENTION } from "../retention";
import { ObjectStoreEndpoint } from "../endpoints";

/**
 * The GCS lifecycle rules that implement BACKUP_RETENTION (7 daily, 4 weekly versions of each fixed
 * key). `numNewerVersions: keep` deletes a version once `keep` newer ones exist, the live one
 * included. GCS deletes when any rule matches, so no age rule may cover these prefixes. Pure.
 */
export function gcsLifecycleRules(): gcp.types.input.storage.BucketLifecycleRule[] {
  return [
    ...BACKUP_RETENTION.prefixes.map(({ prefix, keep }) => ({
      action: { type: "Delete" },
      condition: { numNewerVersions: keep, matchesPrefixes: [prefix], withState: "ARCHIVED" },
    })),
    { action: { type: "AbortIncompleteMultipartUpload" }, condition: { age: 1 } },
  ];
}

/** A GCS location for a Canadian region (NORTHAMERICA-NORTHEAST1); refuses multi-regions like US or NAM4. Pure. */
export function gcsLocation(region: string): string {
  if (!/^northamerica-northeast[12]$/.test(region)) {
    throw new Error(
      `GCS bucket: region ${JSON.stringify(region)} is not allowed; allowed: northamerica-northeast1, northamerica-northeast2 (single Canadian regions, no multi-regions)`,
    );
  }
  return region.toUpperCase();
}

export interface GcsBackupBucketArgs {
  /** Region of the bucket. Required. */
  readonly region: string;
  /** Project id: prefixes the globally unique bucket names, and runs the transfer job. Required. */
  readonly projectId: pulumi.Input<string>;
  /** Project number, naming the Storage Transfer Service agent for the DR copy. Required with drRegion. */
  readonly projectNumber?: pulumi.Input<string>;
  /** Copy every object daily to a bucket in this region (northamerica-northeast2). Default: no copy. */
  readonly drRegion?: string;
  /** Allow `pulumi destroy` to delete a non-empty bucket. Default: false. */
  readonly forceDestroy?: boolean;
  /** CMEK key in `region` for new objects; Cloud Storage's service agent must be granted it. Default: Google-managed encryption. */
  readonly kmsKeyId?: pulumi.Input<string>;
  /** CMEK key in `drRegion` for the copy. Default: Google-managed encryption. */
  readonly drKmsKeyId?: pulumi.Input<string>;
  /** What the buckets wait for, such as the key grants. Default: nothing. */
  readonly dependsOn?: pulumi.Resource[];
}

export interface HardenedGcsBucketArgs {
  /** Project id, prefixing the globally unique bucket name. Required. */
  readonly projectId: pulumi.Input<string>;
  /** GCS location from gcsLocation. Required. */
  readonly location: string;
  /** Allow `pulumi destroy` to delete a non-empty bucket. Required. */
  readonly forceDestroy: boolean;
  /** Lifecycle rules. Required. */
  readonly lifecycleRules: gcp.types.input.storage.BucketLifecycleRule[];
  /** CMEK key in `location` for new objects. Default: Google-managed encryption. */
  readonly kmsKeyId?: pulumi.Input<string>;
  /** What the bucket waits for, such as the key grant. Default: nothing. */
  readonly dependsOn?: pulumi.Resource[];
}

/**
 * A GCS bucket hardened the northstack way, as a child of `parent`: one Canadian region, uniform
 * bucket-level access, public access prevention enforced, versioning, CMEK when a key is given, and
 * the given lifecycle. Named <project>-<stack>-<name>, since bucket names are global.
 */
export function hardenedGcsBucket(
  parent: pulumi.Resource,
  name: string,
  args: HardenedGcsBucketArgs,
): gcp.storage.Bucket {
  return new gcp.storage.Bucket(
    name,
    {
      name: pulumi.interpolate`${args.projectId}-${pulumi.getStack()}-${name}`,
      location: args.location,
      storageClass: "STANDARD",
      uniformBucketLevelAccess: true,
      publicAccessPrevention: "enforced",
      versioning: { enabled: true },
      lifecycleRules: args.lifecycleRules,
      encryption: args.kmsKeyId ? { defaultKmsKeyName: args.kmsKeyId } : undefined,
      forceDestroy: args.forceDestroy,
    },
    { parent, dependsOn: args.dependsOn },
  );
}

/** Throws with the problem in the arguments, before any resource is registered. */
export function validateGcsBackupBucketArgs(args: GcsBackupBucketArgs): { location: string; drLocation?: string } {
  const location = gcsLocation(args.region);
  const drLocation = args.drRegion === undefined ? undefined : gcsLocation(args.drRegion);
  if (drLocation === location)
    throw new Error(
      `GCS backup bucket: drRegion ${JSON.stringify(args.drRegion)} equals region; the copy must be in the other Canadian region`,
    );
  if (drLocation !== undefined && !args.projectNumber)
    throw new Error("GCS backup bucket: drRegion needs projectNumber (it names the Storage Transfer Service agent)");
  return { location, drLocation };
}

/**
 * The stack's GCS bucket for database backups (Supabase Storage has its own), hardened by
 * hardenedGcsBucket with the BACKUP_RETENTION lifecycle. With `drRegion`, a bucket hardened the same way
 * there receives a daily Storage Transfer Service copy (changed objects only; deletions are not
 * propagated, so the DR side also follows its own lifecycle).
 */
export class GcsBackupBucket extends pulumi.ComponentResource {
  readonly bucket: pulumi.Output<string>;
  readonly drBucket?: pulumi.Output<string>;
  readonly endpoint: ObjectStoreEndpoint;

  constructor(name: string, args: GcsBackupBucketArgs, opts?: pulumi.ComponentResourceOptions) {
    const { location, drLocation } = validateGcsBackupBucketArgs(args);
    super("northstack:gcp:BackupBucket", name, {}, opts);

    const bucketArgs = {
      projectId: args.projectId,
      forceDestroy: args.forceDestroy ?? false,
      lifecycleRules: gcsLifecycleRules(),
      dependsOn: args.dependsOn,
    };
    const primary = hardenedGcsBucket(this, name, { ...bucketArgs, location, kmsKeyId: args.kmsKeyId });
    this.bucket = primary.name;

    if (drLocation && args.projectNumber) {
      const replica = hardenedGcsBucket(this, `${name}-dr`, {
        ...bucketArgs,
        location: drLocation,
        kmsKeyId: args.drKmsKeyId,
      });
      this.copyDaily(name, primary, replica, args.projectNumber, args.projectId);
      this.drBucket = replica.name;
    }

    this.endpoint = { kind: "gcs", bucket: this.bucket, region: args.region };
    this.registerOutputs({ bucket: this.bucket, drBucket: this.drBucket });
  }

  private copyDaily(
    name: string,
    source: gcp.storage.Bucket,
    sink: gcp.storage.Bucket,
    projectNumber: pulumi.Input<string>,
    projectId: pulumi.Input<string>,
  ): void {
    const agent = pulumi.interpolate`serviceAccount:project-${projectNumber}@storage-transfer-service.iam.gserviceaccount.com`;
    const grants = [
      new gcp.storage.BucketIAMMember(
        `${name}-transfer-reads`,
        { bucket: source.name, role: "roles/storage.objectViewer", member: agent },
        { parent: this },
      ),
      new gcp.storage.BucketIAMMember(
        `${name}-transfer-lists`,
        { bucket: source.name, role: "roles/storage.legacyBucketReader", member: agent },
        { parent: this },
      ),
      new gcp.storage.BucketIAMMember(
        `${name}-transfer-writes`,
        { bucket: sink.name, role: "roles/storage.objectAdmin", member: agent },
        { parent: this },
      ),
      new gcp.storage.BucketIAMMember(
        `${name}-transfer-sink`,
        { bucket: sink.name, role: "roles/storage.legacyBucketWriter", member: agent },
        { parent: this },
      ),
    ];
    new gcp.storage.TransferJob(
      `${name}-dr-copy`,
      {
        project: projectId,
        description: pulumi.interpolate`northstack ${pulumi.getStack()}: daily DR copy of ${source.name}`,
        transferSpec: {
          gcsDataSource: { bucketName: source.name },
          gcsDataSink: { bucketName: sink.name },
          transferOptions: { overwriteWhen: "DIFFERENT", deleteObjectsUniqueInSink: false },
        },
        schedule: {
          scheduleStartDate: { year: 2025, month: 1, day: 1 },
          startTimeOfDay: { hours: 9, minutes: 0, seconds: 0, nanos: 0 },
          repeatInterval: "86400s",
        },
        status: "ENABLED",
      },
      { parent: this, dependsOn: grants },
    );
  }
}
