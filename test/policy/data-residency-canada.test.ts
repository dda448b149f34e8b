import { StackResourceInput } from "../../policy/evaluate";
import { dataResidencyCanada as policy } from "../../policy/policies";
import { messages, stackViolations } from "./fixtures";

const provider = (cloud: "aws" | "gcp", props: Record<string, unknown>) => ({
  type: `pulumi:providers:${cloud}`,
  name: `${cloud}-primary`,
  props,
});

describe("providers", () => {
  test("pass in Canadian regions", async () => {
    expect(await messages(policy, provider("aws", { region: "ca-central-1" }))).toEqual([]);
    expect(await messages(policy, provider("aws", { region: "ca-west-1" }))).toEqual([]);
    expect(
      await messages(policy, provider("gcp", { region: "northamerica-northeast2", zone: "northamerica-northeast2-a" })),
    ).toEqual([]);
  });

  test("reject regions and zones outside Canada", async () => {
    expect(await messages(policy, provider("aws", { region: "us-east-1" }))).toEqual([
      'aws provider aws-primary: region "us-east-1" is outside the allowed aws locations (ca-central-1, ca-west-1); fix: use a Canadian aws location (ca-central-1, ca-west-1).',
    ]);
    expect(
      await messages(policy, provider("gcp", { region: "northamerica-northeast1", zone: "us-central1-a" })),
    ).toEqual([expect.stringContaining('zone "us-central1-a" is outside')]);
  });

  test("report a provider without a region, or with a region unknown at preview, as cannot verify", async () => {
    expect(await messages(policy, provider("aws", {}))).toEqual([
      expect.stringMatching(
        /has no region configured, so that the data stays in Canada cannot be verified; fix: set aws:region/,
      ),
    ]);
    expect(await messages(policy, provider("gcp", { project: "p" }))).toEqual([
      expect.stringMatching(/has no region configured, so .* cannot be verified; fix: set gcp:region/),
    ]);
    expect(await messages(policy, provider("aws", { region: "[unknown]" }))).toEqual([
      expect.stringMatching(/region is unknown at preview, so that the data stays in Canada cannot be verified/),
    ]);
  });

  test("honour the allowed regions from policy config", async () => {
    expect(
      await messages(policy, provider("aws", { region: "ca-west-1" }), {
        config: { allowedAwsRegions: ["ca-central-1"] },
      }),
    ).toHaveLength(1);
  });
});

describe("resources with their own location", () => {
  test("a per-resource region override (aws v7) is checked", async () => {
    expect(
      await messages(policy, { type: "aws:s3/bucket:Bucket", name: "b", props: { region: "ca-central-1" } }),
    ).toEqual([]);
    expect(await messages(policy, { type: "aws:s3/bucket:Bucket", name: "b", props: { region: "eu-west-1" } })).toEqual(
      [expect.stringContaining('region "eu-west-1" is outside')],
    );
    expect(
      await messages(policy, {
        type: "aws:rds/instance:Instance",
        name: "db",
        props: { availabilityZone: "us-west-2a" },
      }),
    ).toEqual([expect.stringContaining('availabilityZone "us-west-2a"')]);
    expect(
      await messages(policy, {
        type: "aws:rds/instance:Instance",
        name: "db",
        props: { availabilityZone: "ca-central-1d" },
      }),
    ).toEqual([]);
  });

  test("GCS multi-regions and dual-regions outside Canada are rejected", async () => {
    for (const location of ["US", "NAM4", "EU"]) {
      expect(await messages(policy, { type: "gcp:storage/bucket:Bucket", name: "media", props: { location } })).toEqual(
        [expect.stringContaining(`location "${location}" is outside`)],
      );
    }
    expect(
      await messages(policy, {
        type: "gcp:storage/bucket:Bucket",
        name: "media",
        props: { location: "NORTHAMERICA-NORTHEAST1" },
      }),
    ).toEqual([]);
    const custom = {
      location: "NORTHAMERICA-NORTHEAST1",
      customPlacementConfig: { dataLocations: ["NORTHAMERICA-NORTHEAST1", "US-EAST1"] },
    };
    expect(await messages(policy, { type: "gcp:storage/bucket:Bucket", name: "media", props: custom })).toEqual([
      expect.stringContaining("customPlacementConfig.dataLocations[1]"),
    ]);
  });

  test("Cloud SQL, its replicas and backups, Memorystore, GKE and KMS", async () => {
    const sql = {
      region: "northamerica-northeast1",
      settings: { backupConfiguration: { location: "us" }, locationPreference: { zone: "northamerica-northeast1-a" } },
    };
    expect(
      await messages(policy, { type: "gcp:sql/databaseInstance:DatabaseInstance", name: "db", props: sql }),
    ).toEqual([expect.stringContaining('settings.backupConfiguration.location "us"')]);
    const replica = { region: "us-east4", masterInstanceName: "db" };
    expect(
      await messages(policy, { type: "gcp:sql/databaseInstance:DatabaseInstance", name: "db-replica", props: replica }),
    ).toEqual([expect.stringContaining('region "us-east4"')]);
    expect(
      await messages(policy, {
        type: "gcp:redis/instance:Instance",
        name: "r",
        props: { region: "northamerica-northeast1", locationId: "us-central1-a" },
      }),
    ).toHaveLength(1);
    expect(
      await messages(policy, {
        type: "gcp:container/cluster:Cluster",
        name: "gke",
        props: { location: "northamerica-northeast1-b" },
      }),
    ).toEqual([]);
    expect(
      await messages(policy, { type: "gcp:kms/keyRing:KeyRing", name: "keys", props: { location: "global" } }),
    ).toEqual([expect.stringContaining('location "global"')]);
  });

  test("copy destinations: RDS backup replication region and AWS Backup copy actions", async () => {
    expect(
      await messages(policy, {
        type: "aws:rds/instanceAutomatedBackupsReplication:InstanceAutomatedBackupsReplication",
        name: "dr",
        props: { region: "us-west-2", sourceDbInstanceArn: "arn:aws:rds:ca-central-1:1:db:x" },
      }),
    ).toHaveLength(1);
    const plan = (arn: string) => ({
      type: "aws:backup/plan:Plan",
      name: "daily",
      props: { rules: [{ ruleName: "daily", copyActions: [{ destinationVaultArn: arn }] }] },
    });
    expect(await messages(policy, plan("arn:aws:backup:ca-west-1:111122223333:backup-vault:dr"))).toEqual([]);
    expect(await messages(policy, plan("arn:aws:backup:us-east-1:111122223333:backup-vault:dr"))).toEqual([
      expect.stringContaining('rules[0].copyActions[0].destinationVaultArn "us-east-1"'),
    ]);
    expect(await messages(policy, plan("[unknown]"))).toEqual([
      expect.stringMatching(
        /rules\[0\].copyActions\[0\].destinationVaultArn is unknown at preview, so .* cannot be verified/,
      ),
    ]);
    expect(
      await messages(policy, { type: "aws:backup/plan:Plan", name: "daily", props: { rules: "[unknown]" } }),
    ).toEqual([expect.stringContaining("rules is unknown at preview")]);
    expect(
      await messages(policy, {
        type: "aws:backup/plan:Plan",
        name: "daily",
        props: { rules: [{ copyActions: "[unknown]" }] },
      }),
    ).toEqual([expect.stringContaining("rules[0].copyActions is unknown at preview")]);
  });

  test("a location unknown at preview is cannot verify, never a pass", async () => {
    expect(
      await messages(policy, { type: "gcp:storage/bucket:Bucket", name: "media", props: { location: "[unknown]" } }),
    ).toEqual([
      "gcp:storage/bucket:Bucket media: location is unknown at preview, so that the data stays in Canada cannot be verified; fix: make location known at preview: set it from a literal or plain stack config rather than another resource's output.",
    ]);
  });

  test("ECR replication destinations", async () => {
    const ecr = (region: string) => ({
      type: "aws:ecr/replicationConfiguration:ReplicationConfiguration",
      name: "r",
      props: { replicationConfiguration: { rules: [{ destinations: [{ region, registryId: "1" }] }] } },
    });
    expect(await messages(policy, ecr("ca-west-1"))).toEqual([]);
    expect(await messages(policy, ecr("us-east-1"))).toEqual([
      expect.stringContaining('replicationConfiguration.rules[0].destinations[0].region "us-east-1" is outside'),
    ]);
  });

  test("Secret Manager automatic replication stores secrets anywhere", async () => {
    expect(
      await messages(policy, {
        type: "gcp:secretmanager/secret:Secret",
        name: "s",
        props: { replication: { auto: {} } },
      }),
    ).toHaveLength(1);
  });
});

describe("S3 replication destinations (stack validation)", () => {
  const stack = (
    destination: string,
    replicaProvider: Record<string, unknown>,
    extra: Partial<StackResourceInput> = {},
    source = "northstack-backups",
  ): StackResourceInput[] => [
    { type: "pulumi:providers:aws", name: "dr", urn: "urn:dr", props: replicaProvider },
    {
      type: "aws:s3/bucket:Bucket",
      name: "backups",
      urn: "urn:src",
      props: { bucket: "northstack-backups" },
      provider: {
        type: "pulumi:providers:aws",
        name: "primary",
        urn: "urn:primary",
        props: { region: "ca-central-1" },
      },
    },
    {
      type: "aws:s3/bucket:Bucket",
      name: "backups-dr",
      urn: "urn:dst",
      props: { bucket: "northstack-backups-dr" },
      provider: { type: "pulumi:providers:aws", name: "dr", urn: "urn:dr", props: replicaProvider },
    },
    { type: "aws:kms/key:Key", name: "dr-key", urn: "urn:key", props: {} },
    {
      type: "aws:s3/bucketReplicationConfig:BucketReplicationConfig",
      name: "copy",
      urn: "urn:copy",
      props: { bucket: source, rules: [{ destination: { bucket: destination } }] },
      ...extra,
    },
  ];
  const run = (resources: StackResourceInput[]) => stackViolations(policy, resources);
  /** First preview: the source name and destination ARN are outputs of buckets not yet created. */
  const firstPreview = {
    propertyDependencies: { bucket: ["urn:src"], rules: ["urn:dst", "urn:key"] },
    dependencies: ["urn:src", "urn:dst", "urn:key"],
  };

  test("pass when the destination bucket is in a Canadian region, by name or, on the first preview, by property dependency", async () => {
    expect(await run(stack("arn:aws:s3:::northstack-backups-dr", { region: "ca-west-1" }))).toEqual([]);
    expect(await run(stack("[unknown]", { region: "ca-west-1" }, firstPreview, "[unknown]"))).toEqual([]);
  });

  test("reject a destination bucket outside Canada, found by ARN or, when unknown, by property dependency", async () => {
    const byArn = await run(stack("arn:aws:s3:::northstack-backups-dr", { region: "us-west-2" }));
    expect(byArn).toEqual([
      {
        message: expect.stringMatching(
          /copies to bucket backups-dr, whose region "us-west-2" is outside .*; fix: use a Canadian aws location/,
        ),
        urn: "urn:copy",
      },
    ]);
    const byDependency = await run(stack("[unknown]", { region: "us-west-2" }, firstPreview, "[unknown]"));
    expect(byDependency).toEqual([
      expect.objectContaining({ message: expect.stringContaining("copies to bucket backups-dr") }),
    ]);
  });

  test("report a destination that is not in the stack, or rules unknown at preview, as cannot verify", async () => {
    expect(await run(stack("arn:aws:s3:::somebody-elses-bucket", { region: "ca-west-1" }))).toEqual([
      expect.objectContaining({
        message: expect.stringContaining(
          "is not a bucket managed by this stack, so that the data stays in Canada cannot be verified",
        ),
      }),
    ]);
    expect(
      await run(
        stack(
          "[unknown]",
          { region: "ca-west-1" },
          { propertyDependencies: { bucket: ["urn:src"], rules: ["urn:key"] } },
          "[unknown]",
        ),
      ),
    ).toEqual([expect.objectContaining({ message: expect.stringContaining("is not a bucket managed by this stack") })]);
    expect(
      await run([
        ...stack("x", {}).slice(0, 4),
        {
          type: "aws:s3/bucketReplicationConfig:BucketReplicationConfig",
          name: "copy",
          urn: "urn:copy",
          props: { bucket: "b", rules: "[unknown]" },
        },
      ]),
    ).toEqual([
      expect.objectContaining({ message: expect.stringContaining("S3 replication copy: rules is unknown at preview") }),
    ]);
  });
});

describe("GCS transfer jobs (stack validation)", () => {
  const bucket = (name: string, location: string): StackResourceInput => ({
    type: "gcp:storage/bucket:Bucket",
    name,
    urn: `urn:${name}`,
    props: { name: `northstack-${name}`, location },
  });
  const job = (sink: string, extra: Partial<StackResourceInput> = {}): StackResourceInput => ({
    type: "gcp:storage/transferJob:TransferJob",
    name: "dr-copy",
    urn: "urn:job",
    props: { transferSpec: { gcsDataSource: { bucketName: "northstack-backups" }, gcsDataSink: { bucketName: sink } } },
    ...extra,
  });

  test("pass a copy to a Canadian bucket of the stack, by name or by property dependency", async () => {
    expect(
      await stackViolations(policy, [
        bucket("backups", "NORTHAMERICA-NORTHEAST1"),
        bucket("backups-dr", "NORTHAMERICA-NORTHEAST2"),
        job("northstack-backups-dr"),
      ]),
    ).toEqual([]);
    const unknownSink = job("[unknown]", { propertyDependencies: { transferSpec: ["urn:backups", "urn:backups-dr"] } });
    expect(
      await stackViolations(policy, [
        bucket("backups", "NORTHAMERICA-NORTHEAST1"),
        bucket("backups-dr", "NORTHAMERICA-NORTHEAST2"),
        unknownSink,
      ]),
    ).toEqual([]);
  });

  test("reject a sink outside Canada; a sink outside the stack cannot be verified", async () => {
    expect(
      await stackViolations(policy, [
        bucket("backups", "NORTHAMERICA-NORTHEAST1"),
        bucket("backups-dr", "US"),
        job("northstack-backups-dr"),
      ]),
    ).toEqual([
      { message: expect.stringContaining('copies to bucket backups-dr, whose region "US" is outside'), urn: "urn:job" },
    ]);
    expect(await stackViolations(policy, [bucket("backups", "NORTHAMERICA-NORTHEAST1"), job("someone-elses")])).toEqual(
      [expect.objectContaining({ message: expect.stringContaining("is not a bucket managed by this stack") })],
    );
  });
});
